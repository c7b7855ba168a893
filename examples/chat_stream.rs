//! Streams a chat reply to a prompt, printing the text as it arrives and the token usage
//! at the end.
//!
//! ```text
//! cargo run --example chat_stream -- "Write a haiku about Rust"
//! ```
//!
//! With `OPENAI_API_KEY` or `OPENAI_BASE_URL` set it talks to the API (or to that base URL),
//! with the model from `OPENAI_MODEL` (default `gpt-4o-mini`). Without either it starts the
//! SDK's scripted loopback server (`openai_sdk::testing`) and replays a recorded stream
//! (`tests/fixtures/chat/chat_basic_content.sse`, recorded by openai-python's test suite), so
//! it runs offline; that recording answers every prompt the same way.
//!
//! It ends like a command-line tool: a reply cut short (the length limit, the content
//! filter) is printed with a note such as `(stopped: length limit)` and exits 0; an error is
//! printed to stderr as one or two lines (`error: ...`) and exits 1.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use futures::StreamExt;
use openai_sdk::chat::ChatCompletionStreamEvent;
use openai_sdk::testing::{Chunking, Reply};
use openai_sdk::Client;
use serde_json::json;

#[path = "support/cli.rs"]
mod cli;
#[path = "support/live.rs"]
mod live;

/// The recorded stream served when no API key is set.
const RECORDING: &[u8] = include_bytes!("../tests/fixtures/chat/chat_basic_content.sse");

#[tokio::main]
async fn main() -> ExitCode {
    cli::exit(run().await)
}

async fn run() -> cli::Outcome {
    let mut prompt = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    if prompt.trim().is_empty() {
        prompt = "What's the weather like in SF?".into();
    }
    let live::ExampleClient { client, _server } = live::client("a recorded stream", |server| {
        server.post("/v1/chat/completions").respond(
            Reply::sse_raw(RECORDING)
                .chunking(Chunking::Events)
                .chunk_delay(Duration::from_millis(25)),
        );
    })
    .await?;
    let model = std::env::var("OPENAI_MODEL").unwrap_or_else(|_| "gpt-4o-mini".into());
    stream_reply(&client, &model, &prompt, &mut std::io::stdout()).await
}

/// Streams the reply to `prompt`: its text as it arrives, a note when the model stopped
/// before it was done, then the token usage.
pub async fn stream_reply(
    client: &Client,
    model: &str,
    prompt: &str,
    out: &mut dyn Write,
) -> cli::Outcome {
    let request = serde_json::from_value(json!({
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "stream_options": {"include_usage": true},
    }))?;
    let mut stream = client.chat().stream(request).await?;
    while let Some(event) = stream.next().await {
        match event? {
            ChatCompletionStreamEvent::ContentDelta { delta, .. }
            | ChatCompletionStreamEvent::RefusalDelta { delta, .. } => {
                write!(out, "{delta}")?;
                out.flush()?;
            }
            _ => {}
        }
    }
    writeln!(out)?;
    // A plain stream that stops early ends normally: the reason is in the completion.
    let completion = stream.final_completion().await?;
    let stopped = completion
        .choices
        .first()
        .and_then(|c| c.finish_reason.as_deref());
    match stopped {
        Some("length") => writeln!(out, "(stopped: length limit)")?,
        Some("content_filter") => writeln!(out, "(stopped: content filter)")?,
        _ => {}
    }
    match completion.usage() {
        Some(usage) => writeln!(
            out,
            "usage: {} prompt + {} completion = {} tokens",
            usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]
        )?,
        None => writeln!(out, "usage: not reported")?,
    }
    Ok(())
}
