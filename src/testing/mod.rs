//! Offline testing: a scripted HTTP server on loopback, fixture replay, and a recording proxy.
//!
//! Enabled by the `testing` cargo feature. Add it to the dev-dependencies of the crate that
//! uses this SDK:
//!
//! ```toml
//! [dev-dependencies]
//! openai-sdk = { version = "0.1", features = ["testing"] }
//! ```
//!
//! # Testing your code offline
//!
//! 1. Start a [`ScriptedServer`] in the test. It listens on `127.0.0.1` on a free port and
//!    speaks real HTTP/1.1, so the code under test runs unchanged: only its base URL changes,
//!    to [`ScriptedServer::base_url`] (`http://127.0.0.1:PORT/v1`).
//! 2. Script what each route answers with [`ScriptedServer::route`] (or `get`/`post`/`delete`)
//!    and [`Reply`]: JSON, an event stream, an error status with headers. Give a route several
//!    replies to script retries (`500` then `200`) or polling (`in_progress` then `completed`).
//! 3. Shape the delivery to reproduce network conditions: cut bodies into pieces
//!    ([`Chunking`]), delay them, hold each piece at a [`Gate`] until the test lets it go, or
//!    inject a [`Fault`] (drop the connection mid-body, stall, never answer).
//! 4. Assert on what the code sent ([`ScriptedServer::requests`]: method, path, query,
//!    headers, body) and on connection behaviour ([`ScriptedServer::stats`],
//!    [`ScriptedServer::wait_for_disconnect`]).
//!
//! Requests no route matches get a `404` with an OpenAI-shaped error body
//! (`{"error": {"message": "no scripted route for POST /v1/x", "type": "invalid_request_error", ...}}`)
//! and are recorded too. Dropping the server stops it and closes its connections.
//!
//! ```
//! use openai_sdk::testing::{Reply, ScriptedServer};
//! use serde_json::json;
//!
//! #[tokio::main]
//! async fn main() {
//!     let server = ScriptedServer::start().await;
//!     server
//!         .post("/v1/chat/completions")
//!         .respond(Reply::openai_error(500, "server_error", "The server had an error"))
//!         .respond(Reply::json(200, json!({"id": "chatcmpl-1", "object": "chat.completion", "choices": []})));
//!
//!     // The code under test would be given `server.base_url()`; a tiny retry loop stands in.
//!     let client = reqwest::Client::new();
//!     let url = format!("{}/chat/completions", server.base_url());
//!     let mut attempts = 0;
//!     let body: serde_json::Value = loop {
//!         attempts += 1;
//!         let response = client.post(&url).json(&json!({"model": "gpt-4o-mini"})).send().await.unwrap();
//!         if response.status().is_success() {
//!             break response.json().await.unwrap();
//!         }
//!     };
//!
//!     assert_eq!(attempts, 2);
//!     assert_eq!(body["id"], "chatcmpl-1");
//!     assert_eq!(server.request_count_to("/v1/chat/completions"), 2);
//! }
//! ```
//!
//! # Streams
//!
//! [`Reply::sse_events`] builds an event stream; [`Chunking::Events`] sends one event per
//! write, and a [`Gate`] makes the test decide when each piece leaves, so "the first event is
//! delivered before the second one exists" can be asserted without clocks. Pieces use chunked
//! transfer encoding and are flushed one by one.
//!
//! To prove that dropping a stream closes the connection, drop it mid-body and call
//! [`ScriptedServer::wait_for_disconnect`]: the server notices the client leaving before the
//! body was complete.
//!
//! # Fixtures: replay and record
//!
//! A [`RecordedExchange`] is a small JSON manifest (`*.exchange.json`: method, path, status,
//! headers, body file). [`ScriptedServer::load_fixtures`] turns a directory of them into
//! routes; [`Reply::sse_file`] and [`Reply::json_file`] serve a single file.
//!
//! To make fixtures from the real API, run the code once through a [`RecordingProxy`]: it
//! forwards to the upstream, streams the answers back, and writes each exchange in the same
//! format, with credentials removed ([`is_secret_name`] headers, secret query values,
//! `client_secret`s and whatever a [`RecordingProxy::redact_bodies`] hook removes), in files
//! only their owner can read.
//!
//! # Blocking clients and time
//!
//! [`ScriptedServer::start_blocking`] runs the server on its own thread and runtime, so tests
//! of blocking code need no runtime; `*_blocking` waits go with it.
//!
//! Never assert on wall-clock durations. The `wait_*` methods take a timeout only as a failure
//! guard: they return as soon as the awaited event happens. To order events, hold body pieces
//! at a [`Gate`]. To check delays, start the server with [`ScriptedServer::start`] inside a
//! test whose Tokio clock is paused (`#[tokio::test(start_paused = true)]`): its delays and
//! stalls then run on the virtual clock, so a scripted 30-second delay takes no real time and
//! shows up as `tokio::time::Instant::elapsed()`. Under a paused clock the `wait_*` timeouts
//! are virtual too, and the clock jumps ahead whenever the runtime has nothing ready to do,
//! so give them generous values.

mod fixture;
mod proxy;
mod record;
mod reply;
mod route;
mod server;
mod synth;
#[cfg(feature = "websocket")]
mod ws;

pub use fixture::{ExchangeRequest, FixtureError, RecordedExchange, MANIFEST_SUFFIX};
pub use hyper::{HeaderMap, Method};
pub use proxy::{is_secret_name, FixtureBody, RecordingProxy, REDACTED_HEADERS, SECRET_NAME_PARTS};
pub use record::{Disconnect, DisconnectPhase, RecordedRequest, ServerStats};
pub use reply::{Chunking, Fault, Gate, Reply, SseEvent};
pub use route::{Exhausted, Route};
pub use server::ScriptedServer;
#[cfg(feature = "websocket")]
pub use ws::{
    ClientFrame, ClientFrameKind, ScriptedWsServer, WsAction, WsDisconnect, WsHandshake, WsRule,
};

#[cfg(test)]
mod tests {
    fn send_sync<T: Send + Sync>() {}

    #[test]
    fn handles_can_be_shared_across_threads() {
        send_sync::<super::ScriptedServer>();
        send_sync::<super::RecordingProxy>();
        send_sync::<super::Route>();
        send_sync::<super::Reply>();
        send_sync::<super::Gate>();
        send_sync::<super::RecordedRequest>();
    }
}
