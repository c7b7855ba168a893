//! What the SDK logs: a span per request (method, path, status, request id, retries), each
//! stream event at trace level, and never the API key.
#![cfg(feature = "chat")]

use futures::StreamExt;
use openai_sdk::testing::{Reply, ScriptedServer};
use openai_sdk::Client;
use serde_json::json;

#[tokio::test(flavor = "current_thread")]
async fn requests_and_stream_events_are_logged_without_the_key() {
    let captured = crate::common::Logs::capture();

    let server = ScriptedServer::start().await;
    let chunk = |delta: serde_json::Value, finish: serde_json::Value| {
        json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    let body = format!(
        "data: {}\n\ndata: {}\n\ndata: [DONE]\n\n",
        chunk(json!({"role": "assistant", "content": "Hel"}), json!(null)),
        chunk(json!({"content": "lo"}), json!("stop")),
    );
    server
        .post("/v1/chat/completions")
        .respond(Reply::sse_raw(body).header("x-request-id", "req_trace_1"));
    let key = "sk-very-secret-key-1234";
    let client = Client::builder()
        .api_key(key)
        .base_url(server.base_url())
        .build()
        .unwrap();
    let request = serde_json::from_value(
        json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}]}),
    )
    .unwrap();
    let mut stream = client.chat().stream(request).await.unwrap();
    while let Some(event) = stream.next().await {
        event.unwrap();
    }
    drop(stream);

    let logs = captured.text();
    assert!(!logs.contains(key), "the key was logged:\n{logs}");
    assert!(
        !logs.contains("very-secret"),
        "part of the key was logged:\n{logs}"
    );
    let events: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("stream event"))
        .collect();
    assert_eq!(events.len(), 2, "{logs}");
    assert!(
        events
            .iter()
            .all(|l| l.contains("TRACE") && l.contains("request_id=\"req_trace_1\"")),
        "{logs}"
    );
    assert!(
        events[0].contains("event=0") && events[0].contains("\"Hel\""),
        "{}",
        events[0]
    );
    assert!(
        events[1].contains("event=1") && events[1].contains("\"lo\""),
        "{}",
        events[1]
    );
    // The request's span frames what happens while it is sent.
    assert!(
        logs.contains("openai.request{method=POST path=/v1/chat/completions"),
        "{logs}"
    );
}

/// The request's span records its outcome: status, request id and the number of retries,
/// printed when the span closes; each retry is an event with its attempt, delay and reason.
#[tokio::test(flavor = "current_thread")]
async fn the_request_span_records_status_request_id_and_retries() {
    let captured =
        crate::common::Logs::with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE);

    let server = ScriptedServer::start().await;
    server
        .get("/v1/models")
        .respond(Reply::openai_error(503, "server_error", "busy").header("retry-after-ms", "5"))
        .respond(
            Reply::json(200, json!({"object": "list", "data": []}))
                .header("x-request-id", "req_span_2"),
        );
    server.get("/v1/models/missing").respond(
        Reply::openai_error(404, "invalid_request_error", "no such model")
            .header("x-request-id", "req_span_404"),
    );
    let client = Client::builder()
        .api_key("sk-span-secret")
        .base_url(server.base_url())
        .build()
        .unwrap();
    client.list_models().await.unwrap();
    assert!(client.retrieve_model("missing").await.is_err());

    let logs = captured.text();
    assert!(!logs.contains("sk-span-secret"), "{logs}");
    let retrying: Vec<&str> = logs.lines().filter(|l| l.contains("retrying")).collect();
    assert_eq!(retrying.len(), 1, "{logs}");
    assert!(
        retrying[0].contains("attempt=1") && retrying[0].contains("delay_ms=5"),
        "{}",
        retrying[0]
    );
    assert!(
        retrying[0].contains("503"),
        "the reason names the status: {}",
        retrying[0]
    );
    let closed: Vec<&str> = logs.lines().filter(|l| l.contains("close")).collect();
    assert_eq!(closed.len(), 2, "{logs}");
    for (line, path, status, id, retries) in [
        (
            closed[0],
            "path=/v1/models ",
            "status=200",
            "request_id=\"req_span_2\"",
            "retries=1",
        ),
        (
            closed[1],
            "path=/v1/models/missing",
            "status=404",
            "request_id=\"req_span_404\"",
            "retries=0",
        ),
    ] {
        assert!(line.contains("openai.request{method=GET"), "{line}");
        for field in [path, status, id, retries] {
            assert!(line.contains(field), "{field} missing from {line}");
        }
    }
}
