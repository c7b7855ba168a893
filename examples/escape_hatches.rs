//! The escape hatches for an API that moves faster than its spec: per-request extras,
//! response metadata, fields the spec does not know, and a generic call.
//!
//! ```text
//! cargo run --example escape_hatches
//! ```
//!
//! With `OPENAI_API_KEY` or `OPENAI_BASE_URL` set it talks to the API (or to that base URL),
//! with the model from `OPENAI_MODEL` (default `gpt-4o-mini`). Without either it starts the
//! SDK's scripted loopback server (`openai_sdk::testing`), which answers only when the three
//! probes (header, query, body field) arrived, and sends fields the spec does not have.
//!
//! It prints one `name: value` line per step:
//! `request_id`, `ratelimit_remaining_requests`, `unknown_field`, `unknown_nested` (a typed
//! chat completion with extras), `stream_request_id`, `stream_text` (the chat stream with the
//! same extras), and `generic` (`POST /probe/echo`, read as `serde_json::Value`).
//! `tests/it/examples_cli.rs` runs it offline and checks the lines.
//!
//! An error is printed to stderr as one or two lines (`error: ...`), with exit status 1.

use std::io::Write;
use std::process::ExitCode;

use futures::StreamExt;
use openai_sdk::chat::ChatCompletionStreamEvent;
use openai_sdk::testing::{RecordedRequest, Reply, ScriptedServer};
use openai_sdk::{types, Client, RequestOptions, ResponseExt};
use serde_json::{json, Value};

#[path = "support/cli.rs"]
mod cli;
#[path = "support/live.rs"]
mod live;

/// The offline server's answers: a completion with fields the spec does not know, the
/// same completion streamed, and an echo.
pub fn script(server: &ScriptedServer) {
    server.post("/v1/chat/completions").respond_with(|request| {
        if let Err(missing) = probes_arrived(request) {
            return Reply::openai_error(400, "invalid_request_error", &missing);
        }
        let completion = json!({
            "id": "chatcmpl-probe", "object": "chat.completion", "created": 1_767_000_000,
            "model": "gpt-4o-mini",
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": null,
                         "message": {"role": "assistant", "content": "Hello from the probe server.",
                                     "refusal": null, "probe_nested": {"depth": [1, {"two": 2}]}}}],
            "probe_unknown": {"added": "after the spec", "n": 42},
        });
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let reply = if body["stream"] == true {
            Reply::chat_stream_of(&completion).header("x-request-id", "req_probe_stream")
        } else {
            Reply::json(200, completion).header("x-request-id", "req_probe_1")
        };
        reply
            .header("x-ratelimit-limit-requests", "500")
            .header("x-ratelimit-remaining-requests", "499")
            .header("x-ratelimit-reset-requests", "120ms")
    });
    server.post("/v1/probe/echo").respond_with(|request| {
        Reply::json(
            200,
            serde_json::from_slice::<Value>(&request.body).unwrap_or_default(),
        )
    });
}

/// The offline server refuses a request without the three probes.
fn probes_arrived(request: &RecordedRequest) -> Result<(), String> {
    let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
    let query = request.query.as_deref().unwrap_or("");
    if request.header("x-probe-header") != Some("probe-1") {
        return Err("the x-probe-header header did not arrive".into());
    }
    if !query.split('&').any(|p| p == "probe=1") {
        return Err(format!("the probe query did not arrive (query: {query:?})"));
    }
    if body["probe_body"] != json!({"nested": [1, 2]}) {
        return Err("the probe_body field did not arrive".into());
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    cli::exit(run().await)
}

async fn run() -> cli::Outcome {
    let live::ExampleClient { client, _server } =
        live::client("answers with unknown fields", script).await?;
    let model = std::env::var("OPENAI_MODEL").unwrap_or_else(|_| "gpt-4o-mini".into());
    probe(&client, &model, &mut std::io::stdout()).await
}

/// The three steps, one `name: value` line each on `out`.
pub async fn probe(client: &Client, model: &str, out: &mut dyn Write) -> cli::Outcome {
    let request: types::CreateChatCompletionRequest = serde_json::from_value(json!({
        "model": model,
        "messages": [{"role": "user", "content": "Say hello in five words."}],
    }))?;
    let probing = client.with_options(
        RequestOptions::new()
            .header("x-probe-header", "probe-1")
            .query("probe", "1")
            .body_field("probe_body", json!({"nested": [1, 2]})),
    );

    // 1. A typed chat completion with the extras; the fields the spec does not know are
    //    kept in `extra`, at every depth.
    let completion = probing.create_chat_completion(&request).await?;
    writeln!(
        out,
        "request_id: {}",
        completion.request_id().unwrap_or("(none)")
    )?;
    let remaining = completion.rate_limits().requests.remaining;
    writeln!(
        out,
        "ratelimit_remaining_requests: {}",
        remaining.map_or_else(|| "(none)".to_owned(), |n| n.to_string())
    )?;
    writeln!(out, "unknown_field: {}", completion.extra["probe_unknown"])?;
    let message = &completion
        .choices
        .first()
        .ok_or("the completion has no choices")?
        .message;
    writeln!(out, "unknown_nested: {}", message.extra["probe_nested"])?;

    // 2. The chat stream with the same extras.
    let mut stream = probing.chat().stream(request).await?;
    writeln!(
        out,
        "stream_request_id: {}",
        stream.request_id().unwrap_or("(none)")
    )?;
    let mut text = String::new();
    while let Some(event) = stream.next().await {
        if let ChatCompletionStreamEvent::ContentDelta { delta, .. } = event? {
            text.push_str(&delta);
        }
    }
    writeln!(out, "stream_text: {text}")?;

    // 3. A generic call of a path the spec does not have, read as JSON.
    let echoed = client
        .post::<_, Value>("/probe/echo", &json!({"hello": "world"}))
        .await?;
    writeln!(out, "generic: {}", echoed.into_inner())?;
    Ok(())
}
