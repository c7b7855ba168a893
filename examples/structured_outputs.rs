//! Structured Outputs: the math tutor of OpenAI's guide. The model's answer comes back as
//! a `MathResponse`, first with `client.chat().parse::<MathResponse>(...)`, then streamed
//! with `parse_stream`, printing the steps as the partial parse grows.
//!
//! ```text
//! cargo run --example structured_outputs -- "how can I solve 8x + 31 = 2?"
//! ```
//!
//! With `OPENAI_API_KEY` set it talks to the API (or to `OPENAI_BASE_URL`), with the model
//! from `OPENAI_MODEL` (default `gpt-4o-2024-08-06`). Without a key it starts the SDK's
//! scripted loopback server (`openai_sdk::testing`) and serves a hand-made answer
//! (`tests/fixtures/chat_parse/math_tutor.{json,sse}`, written by `gen_math_tutor.py` there
//! in the shape of a recorded gpt-4o stream), so it runs offline; that answer is the same
//! for every prompt.
//!
//! An error is printed to stderr as one or two lines (`error: ...`), with exit status 1.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use futures::StreamExt;
use openai_sdk::chat::ChatCompletionStreamEvent;
use openai_sdk::testing::{Chunking, Reply};
use openai_sdk::Client;
use serde::Deserialize;
use serde_json::json;

#[path = "support/cli.rs"]
mod cli;
#[path = "support/live.rs"]
mod live;

/// One step of the solution.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct Step {
    /// What is done in this step, in words.
    explanation: String,
    /// The equation after this step.
    output: String,
}

/// A worked solution to a math problem, step by step.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct MathResponse {
    steps: Vec<Step>,
    final_answer: String,
}

const STREAM: &[u8] = include_bytes!("../tests/fixtures/chat_parse/math_tutor.sse");
const COMPLETION: &[u8] = include_bytes!("../tests/fixtures/chat_parse/math_tutor.json");

#[tokio::main]
async fn main() -> ExitCode {
    cli::exit(run().await)
}

async fn run() -> cli::Outcome {
    let mut prompt = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    if prompt.trim().is_empty() {
        prompt = "how can I solve 8x + 31 = 2?".into();
    }
    let live::ExampleClient { client, _server } = live::client("a scripted answer", |server| {
        // The same path answers both calls: a JSON completion, or a stream when asked.
        server.post("/v1/chat/completions").respond_with(|request| {
            let streamed = request.json().is_ok_and(|body| body["stream"] == true);
            if streamed {
                Reply::sse_raw(STREAM)
                    .chunking(Chunking::Events)
                    .chunk_delay(Duration::from_millis(10))
            } else {
                Reply::bytes(200, COMPLETION).header("content-type", "application/json")
            }
        });
    })
    .await?;
    let model = std::env::var("OPENAI_MODEL").unwrap_or_else(|_| "gpt-4o-2024-08-06".into());
    solve(&client, &model, &prompt, &mut std::io::stdout()).await
}

/// Asks for a worked solution of `prompt` twice (one typed answer, then streamed) and
/// writes the steps.
pub async fn solve(
    client: &Client,
    model: &str,
    prompt: &str,
    out: &mut dyn Write,
) -> cli::Outcome {
    let request = || {
        serde_json::from_value(json!({
            "model": model,
            "messages": [
                {"role": "system", "content": "You are a helpful math tutor. Guide the user through the solution step by step."},
                {"role": "user", "content": prompt},
            ],
        }))
    };

    // 1. One request, one typed answer.
    let completion = client.chat().parse::<MathResponse>(request()?).await?;
    let message = &completion.choices[0].message;
    match &message.parsed {
        Some(math) => {
            for (i, step) in math.steps.iter().enumerate() {
                writeln!(out, "{}. {}\n   {}", i + 1, step.explanation, step.output)?;
            }
            writeln!(out, "answer: {}", math.final_answer)?;
        }
        None => writeln!(
            out,
            "the model refused: {}",
            message.refusal.as_deref().unwrap_or("")
        )?,
    }

    // 2. Streamed: the partial parse shows each step as soon as its output is complete.
    writeln!(out, "\nstreamed:")?;
    let mut stream = client
        .chat()
        .parse_stream::<MathResponse>(request()?)
        .await?;
    let mut shown = 0;
    while let Some(event) = stream.next().await {
        match event? {
            ChatCompletionStreamEvent::ContentDelta { parsed, .. } => {
                let partial = parsed.to_value();
                let steps = partial["steps"].as_array().map_or(&[][..], Vec::as_slice);
                // A step is complete once the next one starts (or the answer does).
                let complete = if partial.get("final_answer").is_some() {
                    steps.len()
                } else {
                    steps.len().saturating_sub(1)
                };
                for step in steps.iter().take(complete).skip(shown) {
                    writeln!(
                        out,
                        "  step {}: {}",
                        shown + 1,
                        step["output"].as_str().unwrap_or("")
                    )?;
                    shown += 1;
                }
            }
            ChatCompletionStreamEvent::ContentDone {
                parsed: Some(math), ..
            } => {
                writeln!(
                    out,
                    "  done: {} steps, answer {}",
                    math.steps.len(),
                    math.final_answer
                )?;
            }
            ChatCompletionStreamEvent::RefusalDone { refusal, .. } => {
                writeln!(out, "  refused: {refusal}")?
            }
            _ => {}
        }
    }
    let completion = stream.final_completion().await?;
    if let Some(usage) = completion.usage() {
        writeln!(out, "usage: {} tokens", usage["total_tokens"])?;
    }
    Ok(())
}
