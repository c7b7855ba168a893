//! A Realtime session over a WebSocket: sends the prompt as a user message, asks for a
//! text response, prints the text deltas as they arrive, then a newline.
//!
//! ```text
//! cargo run --example realtime --features realtime -- "Say hello in French"
//! ```
//!
//! With `OPENAI_API_KEY` or `OPENAI_BASE_URL` set it talks to the API (or to that base URL),
//! with the model from `OPENAI_MODEL` (default `gpt-realtime`). Without either it starts
//! the SDK's scripted WebSocket server (`openai_sdk::testing::ScriptedWsServer`), which
//! answers with a scripted session (including an event of a type and fields this SDK does
//! not know, which the example passes over), so it runs offline.
//!
//! An error is printed to stderr as one or two lines (`error: ...`), with exit status 1.

use std::io::Write;
use std::process::ExitCode;

use futures::StreamExt;
use openai_sdk::testing::{ScriptedWsServer, WsAction};
use openai_sdk::types::RealtimeServerEvent;
use openai_sdk::Client;
use serde_json::json;

#[path = "support/cli.rs"]
mod cli;

#[tokio::main]
async fn main() -> ExitCode {
    cli::exit(run().await)
}

async fn run() -> cli::Outcome {
    let mut prompt = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    if prompt.trim().is_empty() {
        prompt = "Say hello in French".into();
    }
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
    let (client, _server) = if set("OPENAI_API_KEY") || set("OPENAI_BASE_URL") {
        (Client::new()?, None)
    } else {
        let server = offline_server().await;
        eprintln!("(no OPENAI_API_KEY or OPENAI_BASE_URL: offline, a scripted session from a local WebSocket server)");
        (server.client(), Some(server))
    };
    let model = std::env::var("OPENAI_MODEL").unwrap_or_else(|_| "gpt-realtime".into());
    session(&client, &model, &prompt, &mut std::io::stdout()).await
}

/// Sends `prompt` as a user message in a Realtime session and writes the text deltas.
pub async fn session(
    client: &Client,
    model: &str,
    prompt: &str,
    out: &mut dyn Write,
) -> cli::Outcome {
    let mut connection = client.realtime().connect(model).await?;
    connection.send_user_text(prompt).await?;
    connection
        .create_response_with(json!({"output_modalities": ["text"]}))
        .await?;

    while let Some(event) = connection.next().await {
        match event? {
            RealtimeServerEvent::ResponseTextDelta(e) => {
                write!(out, "{}", e.delta)?;
                out.flush()?;
            }
            RealtimeServerEvent::ResponseAudioTranscriptDelta(e) => {
                write!(out, "{}", e.delta)?;
                out.flush()?;
            }
            RealtimeServerEvent::ResponseDone(_) => break,
            _ => {}
        }
    }
    writeln!(out)?;
    Ok(())
}

/// The offline session: `session.created` on connect; for `response.create`, a text
/// response in three deltas, with an event of an unknown type and unknown fields mixed in.
async fn offline_server() -> ScriptedWsServer {
    let server = ScriptedWsServer::start().await;
    server.on_connect([WsAction::send(json!({
        "type": "session.created", "event_id": "event_0",
        "session": {"type": "realtime", "object": "realtime.session", "id": "sess_offline", "model": "gpt-realtime"},
    }))]);
    let id = "resp_offline";
    let delta = |event_id: &str, text: &str| {
        WsAction::send(json!({
            "type": "response.output_text.delta", "event_id": event_id, "response_id": id,
            "item_id": "item_1", "output_index": 0, "content_index": 0, "delta": text,
            "obfuscation": "a field this SDK does not know",
        }))
    };
    server.on("response.create").reply([
        WsAction::send(json!({"type": "response.created", "event_id": "event_1",
            "response": {"id": id, "object": "realtime.response", "status": "in_progress", "output": []}})),
        WsAction::send(json!({"type": "response.output_item.added", "event_id": "event_2", "response_id": id, "output_index": 0,
            "item": {"id": "item_1", "type": "message", "role": "assistant", "status": "in_progress", "content": []}})),
        WsAction::send(json!({"type": "response.content_part.added", "event_id": "event_3", "response_id": id,
            "item_id": "item_1", "output_index": 0, "content_index": 0, "part": {"type": "text", "text": ""}})),
        delta("event_4", "Bonjour"),
        WsAction::send(json!({"type": "response.something_new", "event_id": "event_5", "detail": {"x": 1}})),
        delta("event_6", " tout le"),
        delta("event_7", " monde !"),
        WsAction::send(json!({"type": "response.output_text.done", "event_id": "event_8", "response_id": id,
            "item_id": "item_1", "output_index": 0, "content_index": 0, "text": "Bonjour tout le monde !"})),
        WsAction::send(json!({"type": "response.done", "event_id": "event_9",
            "response": {"id": id, "object": "realtime.response", "status": "completed", "output_modalities": ["text"],
                "output": [{"id": "item_1", "type": "message", "role": "assistant", "status": "completed",
                    "content": [{"type": "output_text", "text": "Bonjour tout le monde !"}]}]}})),
    ]);
    server
}
