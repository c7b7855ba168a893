//! Responses over a WebSocket: sends `response.create` with the model and the prompt as
//! input, prints the text deltas as they arrive, then a newline.
//!
//! ```text
//! cargo run --example responses_ws --features responses-ws -- "Write a haiku about Rust"
//! ```
//!
//! With `OPENAI_API_KEY` or `OPENAI_BASE_URL` set it talks to the API (or to that base URL),
//! with the model from `OPENAI_MODEL` (default `gpt-4o-mini`). Without either it starts the
//! SDK's scripted WebSocket server (`openai_sdk::testing::ScriptedWsServer`), which answers
//! with the events of a recorded stream (`tests/fixtures/responses/dotnet_responses_CanStreamBackgroundResponses.sse`,
//! recorded by openai-dotnet's test suite) with an event of an unknown type and unknown
//! fields mixed in, so it runs offline; that recording answers every prompt the same way.
//!
//! An error is printed to stderr as one or two lines (`error: ...`), with exit status 1.

use std::io::Write;
use std::process::ExitCode;

use futures::StreamExt;
use openai_sdk::responses::ResponseStreamEvent;
use openai_sdk::testing::{ScriptedWsServer, WsAction};
use openai_sdk::Client;
use serde_json::{json, Value};

/// The recorded stream served when no API key is set.
const RECORDING: &str =
    include_str!("../tests/fixtures/responses/dotnet_responses_CanStreamBackgroundResponses.sse");

#[path = "support/cli.rs"]
mod cli;

#[tokio::main]
async fn main() -> ExitCode {
    cli::exit(run().await)
}

async fn run() -> cli::Outcome {
    let mut prompt = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    if prompt.trim().is_empty() {
        prompt = "Write a haiku about Rust".into();
    }
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
    let (client, _server) = if set("OPENAI_API_KEY") || set("OPENAI_BASE_URL") {
        (Client::new()?, None)
    } else {
        let server = offline_server().await;
        eprintln!("(no OPENAI_API_KEY or OPENAI_BASE_URL: offline, a recorded stream from a local WebSocket server)");
        (server.client(), Some(server))
    };
    let model = std::env::var("OPENAI_MODEL").unwrap_or_else(|_| "gpt-4o-mini".into());
    stream_text(&client, &model, &prompt, &mut std::io::stdout()).await
}

/// Sends `prompt` over a WebSocket and writes the text deltas as they arrive.
pub async fn stream_text(
    client: &Client,
    model: &str,
    prompt: &str,
    out: &mut dyn Write,
) -> cli::Outcome {
    let connection = client.responses().connect().await?;
    let request = serde_json::from_value(json!({"model": model, "input": prompt}))?;
    let mut stream = connection.stream(request).await?;
    while let Some(event) = stream.next().await {
        match event? {
            ResponseStreamEvent::OutputTextDelta { delta, .. } => {
                write!(out, "{delta}")?;
                out.flush()?;
            }
            ResponseStreamEvent::Completed { .. } => break,
            _ => {}
        }
    }
    writeln!(out)?;
    Ok(())
}

/// The offline server: each `data:` payload of the recording is one WebSocket message,
/// with an event of a type this SDK does not know and a field it does not know added.
async fn offline_server() -> ScriptedWsServer {
    let mut actions = Vec::new();
    for line in RECORDING.lines() {
        let Some(data) = line.strip_prefix("data: ") else {
            continue;
        };
        let Ok(mut event) = serde_json::from_str::<Value>(data) else {
            continue;
        };
        if event["type"] == "response.output_text.delta" {
            event["obfuscation"] = json!("a field this SDK does not know");
            if actions.len() == 6 {
                actions.push(WsAction::send(
                    json!({"type": "response.something_new", "detail": {"x": 1}}),
                ));
            }
        }
        actions.push(WsAction::send(event));
    }
    let server = ScriptedWsServer::start().await;
    server.on("response.create").reply(actions);
    server
}
