//! The examples end like command-line tools: their logic (each example's own code,
//! included here from `examples/`) runs against the scripted loopback server, and its
//! outcome goes through the examples' `support/cli.rs`, which turns it into the exit status
//! and what stderr shows. A reply cut at the length limit is printed with a note and
//! status 0; an error is `error: <Display>` (one or two lines) and status 1, never a
//! `Debug` dump.

#![cfg(all(feature = "chat", feature = "models", feature = "responses"))]
// Each example brings its own copy of `support/cli.rs` and `support/live.rs`, as it does
// when it is built alone.
#![allow(clippy::duplicate_mod)]

use openai_sdk::testing::{Reply, ScriptedServer};
use openai_sdk::Client;
use serde_json::{json, Value};

#[allow(dead_code)] // `exit`: the examples' `main`
#[path = "../../examples/support/cli.rs"]
mod cli;

#[allow(dead_code)]
#[path = "../../examples/chat_stream.rs"]
mod chat_stream;

#[allow(dead_code)]
#[path = "../../examples/models.rs"]
mod models;

#[allow(dead_code)]
#[path = "../../examples/structured_outputs.rs"]
mod structured_outputs;

#[allow(dead_code)]
#[path = "../../examples/responses_tools.rs"]
mod responses_tools;

#[allow(dead_code)]
#[path = "../../examples/escape_hatches.rs"]
mod escape_hatches;

/// What a run of an example shows: stdout, stderr, exit status.
struct Shown {
    out: String,
    err: String,
    status: u8,
}

impl Shown {
    /// Runs an example's logic writing to `out`, then ends it as its `main` does.
    async fn of<F>(run: impl FnOnce(Vec<u8>) -> F) -> Shown
    where
        F: std::future::Future<Output = (Vec<u8>, cli::Outcome)>,
    {
        let (out, outcome) = run(Vec::new()).await;
        let mut err = Vec::new();
        let status = cli::status(outcome, &mut err);
        Shown {
            out: String::from_utf8(out).unwrap(),
            err: String::from_utf8(err).unwrap(),
            status,
        }
    }

    /// An error ending: status 1, one or two lines on stderr starting with `error: `,
    /// nothing that looks like a `Debug` dump.
    fn assert_error_ending(&self) {
        assert_eq!(self.status, 1, "stderr: {}", self.err);
        let lines: Vec<&str> = self.err.lines().collect();
        assert!(
            (1..=2).contains(&lines.len()),
            "one or two lines: {:?}",
            self.err
        );
        assert!(lines[0].starts_with("error: "), "{:?}", self.err);
        for debug in [
            "Api(",
            "ApiError {",
            "Connection {",
            "Some(",
            "Box<",
            "Error {",
        ] {
            assert!(!self.err.contains(debug), "a Debug dump: {:?}", self.err);
        }
    }
}

fn plain_answer(text: &str, finish: &str) -> Value {
    json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "llama",
           "choices": [{"index": 0, "finish_reason": finish, "logprobs": null,
                        "message": {"role": "assistant", "content": text}}],
           "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}})
}

async fn chat_stream(client: &Client) -> Shown {
    Shown::of(|mut out| async move {
        let outcome =
            chat_stream::stream_reply(client, "llama", "Tell me about Rust", &mut out).await;
        (out, outcome)
    })
    .await
}

/// The README's first command against a server that stops at its token limit (as
/// llama.cpp's `llama-server` does): the text, the note, the usage, status 0.
#[tokio::test]
async fn chat_stream_at_the_length_limit_prints_the_text_a_note_and_the_usage() {
    let server = ScriptedServer::start().await;
    for (finish, note) in [
        ("length", "(stopped: length limit)"),
        ("content_filter", "(stopped: content filter)"),
    ] {
        server.clear_routes();
        server
            .post("/v1/chat/completions")
            .respond(Reply::chat_stream_of(&plain_answer(
                "Rust is a systems programming",
                finish,
            )));
        let shown = chat_stream(&server.client()).await;
        assert_eq!(shown.status, 0, "stderr: {}", shown.err);
        assert_eq!(shown.err, "");
        assert_eq!(
            shown.out,
            format!(
                "Rust is a systems programming\n{note}\nusage: 9 prompt + 4 completion = 13 tokens\n"
            )
        );
    }

    // A reply that ends normally has no note.
    server.clear_routes();
    server
        .post("/v1/chat/completions")
        .respond(Reply::chat_stream_of(&plain_answer(
            "Rust is fast.",
            "stop",
        )));
    let shown = chat_stream(&server.client()).await;
    assert_eq!(shown.status, 0);
    assert_eq!(
        shown.out,
        "Rust is fast.\nusage: 9 prompt + 4 completion = 13 tokens\n"
    );
}

#[tokio::test]
async fn chat_stream_errors_end_with_their_display_and_status_1() {
    let server = ScriptedServer::start().await;
    server.post("/v1/chat/completions").respond(
        Reply::openai_error(401, "invalid_request_error", "Incorrect API key provided")
            .header("x-request-id", "req_401"),
    );
    let shown = chat_stream(&server.client()).await;
    shown.assert_error_ending();
    assert_eq!(
        shown.err,
        "error: API error (HTTP 401, invalid_request_error): Incorrect API key provided [request id req_401]\n"
    );
    assert_eq!(shown.out, "");

    // Nothing listens: the connection error, and the root cause on the second line.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let client = Client::builder()
        .api_key("sk-test")
        .base_url(format!("http://{closed}/v1"))
        .http_client(reqwest::Client::builder().no_proxy().build().unwrap())
        .max_retries(0)
        .build()
        .unwrap();
    let shown = chat_stream(&client).await;
    shown.assert_error_ending();
    assert!(
        shown.err.starts_with("error: connection error: "),
        "{}",
        shown.err
    );
    // The root cause is shown: in the message itself (transport errors carry their cause
    // chain), or on a second line `caused by: ...`.
    assert!(
        shown.err.to_lowercase().contains("connection refused"),
        "{}",
        shown.err
    );
    assert!(shown.err.contains(&closed.to_string()), "{}", shown.err);
}

#[tokio::test]
async fn models_lists_and_ends_with_the_error_display_on_failure() {
    let server = ScriptedServer::start().await;
    server.get("/v1/models").respond(Reply::json(
        200,
        json!({"object": "list", "data": [
            {"id": "gpt-4o", "object": "model", "created": 1, "owned_by": "openai"}]}),
    ));
    let client = &server.client();
    let shown = Shown::of(|mut out| async move {
        let outcome = models::list_models(client, &mut out).await;
        (out, outcome)
    })
    .await;
    assert_eq!(shown.status, 0);
    assert!(shown.out.ends_with("1 models\n"), "{}", shown.out);

    server.clear_routes();
    server
        .get("/v1/models")
        .respond(Reply::text(502, "<html>Bad Gateway</html>"));
    let shown = Shown::of(|mut out| async move {
        let outcome = models::list_models(client, &mut out).await;
        (out, outcome)
    })
    .await;
    shown.assert_error_ending();
    assert_eq!(
        shown.err,
        "error: API error (HTTP 502): <html>Bad Gateway</html>\n"
    );
}

/// Structured outputs cut at the length limit cannot be parsed: the error says so, on
/// one line.
#[tokio::test]
async fn structured_outputs_at_the_length_limit_says_what_happened() {
    let server = ScriptedServer::start().await;
    let cut = plain_answer(r#"{"steps": [{"explanation": "Subtract 31"#, "length");
    server
        .post("/v1/chat/completions")
        .respond(Reply::json(200, cut));
    let client = &server.client();
    let shown = Shown::of(|mut out| async move {
        let outcome = structured_outputs::solve(client, "gpt-4o", "8x + 31 = 2", &mut out).await;
        (out, outcome)
    })
    .await;
    shown.assert_error_ending();
    assert_eq!(
        shown.err,
        "error: choice 0 stopped at the length limit (finish_reason \"length\"), so its output could not be parsed; usage: {\"prompt_tokens\":9,\"completion_tokens\":4,\"total_tokens\":13}\n"
    );
}

#[tokio::test]
async fn responses_tools_ends_with_the_error_display_on_failure() {
    let server = ScriptedServer::start().await;
    server.post("/v1/responses").respond(Reply::openai_error(
        429,
        "rate_limit_error",
        "Rate limit reached",
    ));
    let client = &server.client();
    let shown = Shown::of(|mut out| async move {
        let outcome = responses_tools::weather_loop(client, "gpt-4o-mini", &mut out).await;
        (out, outcome)
    })
    .await;
    shown.assert_error_ending();
    assert_eq!(
        shown.err,
        "error: API error (HTTP 429, rate_limit_error): Rate limit reached\n"
    );
}

#[test]
fn an_error_whose_message_hides_its_cause_gets_a_second_line() {
    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("reading the config")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
    let mut err = Vec::new();
    let status = cli::status(
        Err(Box::new(Outer(std::io::Error::other("permission denied")))),
        &mut err,
    );
    assert_eq!(status, 1);
    assert_eq!(
        String::from_utf8(err).unwrap(),
        "error: reading the config\ncaused by: permission denied\n"
    );
}

/// A closed port: what a client meets when nothing listens.
#[cfg(all(feature = "responses-ws", feature = "realtime"))]
fn closed_port_client() -> (Client, std::net::SocketAddr) {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let client = Client::builder()
        .api_key("sk-test")
        .base_url(format!("http://{closed}/v1"))
        .http_client(reqwest::Client::builder().no_proxy().build().unwrap())
        .max_retries(0)
        .build()
        .unwrap();
    (client, closed)
}

#[cfg(feature = "responses-ws")]
#[allow(dead_code)]
#[path = "../../examples/responses_ws.rs"]
mod responses_ws;

#[cfg(feature = "realtime")]
#[allow(dead_code)]
#[path = "../../examples/realtime.rs"]
mod realtime;

/// The WebSocket examples end the same way when the connection cannot be made.
#[cfg(all(feature = "responses-ws", feature = "realtime"))]
#[tokio::test]
async fn the_websocket_examples_end_with_the_error_display_when_nothing_listens() {
    let (client, closed) = closed_port_client();
    let client = &client;
    let shown = Shown::of(|mut out| async move {
        let outcome = responses_ws::stream_text(client, "gpt-4o-mini", "hi", &mut out).await;
        (out, outcome)
    })
    .await;
    shown.assert_error_ending();
    assert!(
        shown.err.contains(&closed.port().to_string()),
        "{}",
        shown.err
    );
    let shown = Shown::of(|mut out| async move {
        let outcome = realtime::session(client, "gpt-realtime", "hi", &mut out).await;
        (out, outcome)
    })
    .await;
    shown.assert_error_ending();
    assert!(
        shown.err.contains(&closed.port().to_string()),
        "{}",
        shown.err
    );
}

/// `escape_hatches` offline (its own scripted server): the typed completion's request id,
/// rate limit and unknown fields (top level and nested, from `extra`), the stream's request
/// id and text, and the generic call, one `name: value` line each, exactly as the issue
/// lists them. The server answers only when the header, query and body probes arrived.
#[tokio::test]
async fn escape_hatches_prints_its_seven_lines() {
    let server = ScriptedServer::start().await;
    escape_hatches::script(&server);
    let client = &server.client();
    let shown = Shown::of(|mut out| async move {
        let outcome = escape_hatches::probe(client, "gpt-4o-mini", &mut out).await;
        (out, outcome)
    })
    .await;
    assert_eq!(shown.status, 0, "stderr: {}", shown.err);
    assert_eq!(
        shown.out,
        "request_id: req_probe_1\n\
         ratelimit_remaining_requests: 499\n\
         unknown_field: {\"added\":\"after the spec\",\"n\":42}\n\
         unknown_nested: {\"depth\":[1,{\"two\":2}]}\n\
         stream_request_id: req_probe_stream\n\
         stream_text: Hello from the probe server.\n\
         generic: {\"hello\":\"world\"}\n"
    );
    // Both chat requests carried the three probes (the server refuses them otherwise).
    let chats = server.requests_to("/v1/chat/completions");
    assert_eq!(chats.len(), 2);
    for request in &chats {
        assert_eq!(request.header("x-probe-header"), Some("probe-1"));
    }
    // The lines mean something: the same request without the extras is refused.
    let request: openai_sdk::types::CreateChatCompletionRequest = serde_json::from_value(
        json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}),
    )
    .unwrap();
    let refused = client.create_chat_completion(&request).await.unwrap_err();
    assert_eq!(refused.status(), Some(400));
    assert!(refused.to_string().contains("x-probe-header"), "{refused}");
}
