//! A two-tool loop with the Responses API, streamed: the model asks for the weather, then
//! converts the temperature, then answers; every round's events are printed as they come.
//!
//! ```text
//! cargo run --example responses_tools                  # offline, against a scripted server
//! OPENAI_API_KEY=... [OPENAI_BASE_URL=...] cargo run --example responses_tools
//! ```
//!
//! Without `OPENAI_API_KEY` or `OPENAI_BASE_URL` the example starts the crate's scripted loopback server
//! (feature `testing`) with three answers, each streamed event by event: a `get_weather`
//! call, a `convert_temperature` call, and the final text.
//! (`client.responses().run_tools(...)` is the same loop without streaming.)
//!
//! An error is printed to stderr as one or two lines (`error: ...`), with exit status 1.

use std::io::Write;
use std::process::ExitCode;

use futures::StreamExt;
use openai_sdk::responses::ResponseStreamEvent;
use openai_sdk::testing::Reply;
use openai_sdk::tools::ToolLoopEvent;
use openai_sdk::tools::Tools;
use openai_sdk::Client;
use serde_json::json;

#[path = "support/cli.rs"]
mod cli;
#[path = "support/live.rs"]
mod live;

/// The weather in a city.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct GetWeather {
    /// The city, e.g. "Paris".
    city: String,
}

/// Converts a temperature between Celsius and Fahrenheit.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct ConvertTemperature {
    value: f64,
    /// `"c"` or `"f"`: the unit to convert to.
    to: String,
}

/// A complete response, streamed as the API streams it.
fn answer(id: &str, output: serde_json::Value) -> Reply {
    Reply::responses_stream_of(
        &json!({"id": id, "object": "response", "created_at": 0, "status": "completed",
        "model": "gpt-4o-mini", "output": output}),
    )
}

fn call(id: &str, name: &str, arguments: serde_json::Value) -> serde_json::Value {
    json!({"type": "function_call", "id": format!("fc_{id}"), "call_id": format!("call_{id}"),
        "name": name, "arguments": arguments.to_string(), "status": "completed"})
}

#[tokio::main]
async fn main() -> ExitCode {
    cli::exit(run().await)
}

async fn run() -> cli::Outcome {
    let live::ExampleClient { client, _server } = live::client("three scripted streamed answers", |server| {
        server
            .post("/v1/responses")
            .respond(answer("resp_1", json!([call("1", "get_weather", json!({"city": "Paris"}))])))
            .respond(answer("resp_2", json!([call("2", "convert_temperature", json!({"value": 18.0, "to": "f"}))])))
            .respond(answer("resp_3", json!([{"type": "message", "id": "msg_3", "role": "assistant", "status": "completed",
                "content": [{"type": "output_text", "text": "It is 18°C (64.4°F) in Paris.", "annotations": []}]}])));
    })
    .await?;
    let model = std::env::var("OPENAI_MODEL").unwrap_or_else(|_| "gpt-4o-mini".into());
    weather_loop(&client, &model, &mut std::io::stdout()).await
}

/// Runs the two-tool loop, writing every round's text, tool calls and the outcome.
pub async fn weather_loop(client: &Client, model: &str, out: &mut dyn Write) -> cli::Outcome {
    let tools = Tools::new()
        .tool("get_weather", "The current temperature in a city, in Celsius", |a: GetWeather| async move {
            Ok::<_, String>(json!({"city": a.city, "celsius": 18.0}))
        })?
        .tool("convert_temperature", "Converts a temperature to Celsius (c) or Fahrenheit (f)", |a: ConvertTemperature| async move {
            match a.to.as_str() {
                "f" => Ok(json!({"fahrenheit": a.value * 9.0 / 5.0 + 32.0})),
                "c" => Ok(json!({"celsius": (a.value - 32.0) * 5.0 / 9.0})),
                other => Err(format!("unknown unit {other:?}")),
            }
        })?
        .max_rounds(5);

    let request = serde_json::from_value(json!({
        "model": model,
        "input": "What is the temperature in Paris in Fahrenheit? Use get_weather, then convert_temperature.",
    }))?;
    let mut run = client.responses().run_tools_stream(request, tools)?;
    while let Some(event) = run.next().await {
        match event? {
            ToolLoopEvent::RoundStarted { round } => writeln!(out, "-- round {round}")?,
            ToolLoopEvent::Event(ResponseStreamEvent::OutputTextDelta { delta, .. }) => {
                write!(out, "{delta}")?;
                out.flush()?;
            }
            ToolLoopEvent::ToolOutput { call, .. } => {
                writeln!(out, "{}({}) -> {}", call.name, call.arguments, call.output)?
            }
            ToolLoopEvent::Done(run) => writeln!(
                out,
                "\n(rounds: {}, finished: {})",
                run.rounds, run.finished
            )?,
            _ => {}
        }
    }
    Ok(())
}
