//! The SSE event size limit (`ClientBuilder::max_sse_event_bytes`), over loopback: every
//! stream family, async and blocking, stops at an event over the client's limit with a typed
//! error that names the limit and where the event starts, and keeps what came before it.

use std::path::PathBuf;

use futures::StreamExt;
use openai_sdk::streaming::EventStream;
use openai_sdk::testing::{Chunking, Reply, ScriptedServer};
use openai_sdk::{types, Client, Error, StreamErrorKind};
use serde_json::{json, Value};

const LIMIT: usize = 16 * 1024;

fn client(server: &ScriptedServer, limit: Option<usize>) -> Client {
    let mut b = Client::builder()
        .api_key("sk-test")
        .base_url(server.base_url())
        .max_retries(0);
    if let Some(limit) = limit {
        b = b.max_sse_event_bytes(limit);
    }
    b.build().unwrap()
}

fn fixture(dir: &str, name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir)
        .join(name);
    std::fs::read(path).unwrap()
}

/// The first `n` events of a recorded stream (LF line endings), with their blank lines.
fn first_events(body: &[u8], n: usize) -> Vec<u8> {
    let text = String::from_utf8(body.to_vec())
        .unwrap()
        .replace("\r\n", "\n");
    let mut out = String::new();
    for frame in text.split("\n\n").filter(|f| !f.trim().is_empty()).take(n) {
        out.push_str(frame);
        out.push_str("\n\n");
    }
    out.into_bytes()
}

fn chat_chunk(content: &str) -> String {
    let chunk = json!({"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
        "choices": [{"index": 0, "delta": {"content": content}}]});
    format!("data: {chunk}\n\n")
}

/// A stream body: `prefix`, then an event with a big data line; the byte offset where that
/// line starts (the one over the limit).
fn with_big_event(prefix: Vec<u8>, event_line: &str, data: String) -> (Vec<u8>, u64) {
    let offset = (prefix.len() + event_line.len()) as u64;
    let mut body = prefix;
    body.extend_from_slice(format!("{event_line}data: {data}\n\n").as_bytes());
    (body, offset)
}

fn chat_body(size: usize) -> (Vec<u8>, u64) {
    let prefix = format!("{}{}", chat_chunk("Hel"), chat_chunk("lo"));
    let big = chat_chunk(&"x".repeat(size));
    let big = big.trim_start_matches("data: ").trim_end().to_owned();
    with_big_event(prefix.into_bytes(), "", big)
}

fn responses_body() -> (Vec<u8>, u64) {
    let prefix = first_events(
        &fixture("responses", "responses_text_format_and_function_call.sse"),
        2,
    );
    let data = json!({"type": "response.output_text.delta", "sequence_number": 2,
        "item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": "y".repeat(4 * LIMIT)});
    with_big_event(
        prefix,
        "event: response.output_text.delta\n",
        data.to_string(),
    )
}

fn assistants_body() -> (Vec<u8>, u64) {
    let prefix = first_events(&fixture("assistants", "assistants_text_message.sse"), 2);
    let data = json!({"id": "msg_1", "object": "thread.message.delta",
        "delta": {"content": [{"index": 0, "type": "text", "text": {"value": "z".repeat(4 * LIMIT)}}]}});
    with_big_event(prefix, "event: thread.message.delta\n", data.to_string())
}

/// The error of an event over the limit: kind, limit, setting and where.
fn assert_too_large(e: &Error, offset: u64, event: u64) {
    match e {
        Error::Stream {
            kind: StreamErrorKind::TooLarge,
            event: got_event,
            offset: got_offset,
            message,
        } => {
            assert_eq!(*got_offset, Some(offset), "{e}");
            assert_eq!(*got_event, Some(event), "{e}");
            assert!(message.contains(&LIMIT.to_string()), "{e}");
            assert!(message.contains("max_sse_event_bytes"), "{e}");
            let text = e.to_string();
            assert!(text.contains(&format!("byte offset {offset}")), "{text}");
        }
        other => panic!("expected an event-too-large error, got {other:?}"),
    }
}

fn chat_request() -> types::CreateChatCompletionRequest {
    serde_json::from_value(json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}]}))
        .unwrap()
}

fn responses_request() -> types::CreateResponse {
    serde_json::from_value(json!({"model": "m", "input": "Hi"})).unwrap()
}

fn thread_and_run() -> types::CreateThreadAndRunRequest {
    serde_json::from_value(json!({"assistant_id": "asst_oracle"})).unwrap()
}

#[tokio::test]
async fn chat_streams_stop_at_an_event_over_the_limit_and_keep_the_snapshot() {
    let server = ScriptedServer::start().await;
    let (body, offset) = chat_body(4 * LIMIT);
    server
        .post("/v1/chat/completions")
        .respond(Reply::sse_raw(body).chunking(Chunking::Fixed(1000)));
    let c = client(&server, Some(LIMIT));

    let mut stream = c.chat().stream(chat_request()).await.unwrap();
    let mut error = None;
    while let Some(event) = stream.next().await {
        if let Err(e) = event {
            error = Some(e);
        }
    }
    assert_too_large(&error.unwrap(), offset, 2);
    assert_eq!(stream.current_snapshot().unwrap().content(0), Some("Hello"));

    // The raw chunk stream (a typed event stream) too.
    let mut chunks = c.chat().create_stream(chat_request()).await.unwrap();
    let mut got = Vec::new();
    while let Some(chunk) = chunks.next().await {
        got.push(chunk.map(|_| ()));
    }
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got[0].is_ok() && got[1].is_ok());
    assert_too_large(got[2].as_ref().unwrap_err(), offset, 2);
}

#[tokio::test]
async fn the_default_limit_reads_large_events_and_a_larger_setting_too() {
    let server = ScriptedServer::start().await;
    // 4 x 16 KiB: over the small limit, far under the default (64 MiB).
    let (body, _) = chat_body(4 * LIMIT);
    let mut body = body;
    body.extend_from_slice(b"data: [DONE]\n\n");
    server
        .post("/v1/chat/completions")
        .respond_all([Reply::sse_raw(body.clone()), Reply::sse_raw(body)]);
    for c in [client(&server, None), client(&server, Some(8 * LIMIT))] {
        let mut stream = c.chat().stream(chat_request()).await.unwrap();
        while let Some(event) = stream.next().await {
            event.unwrap();
        }
        let content = stream.current_snapshot().unwrap().content(0).unwrap().len();
        assert_eq!(content, 5 + 4 * LIMIT);
    }
}

#[tokio::test]
async fn responses_assistants_and_generic_streams_use_the_limit() {
    let server = ScriptedServer::start().await;
    let (body, responses_offset) = responses_body();
    server
        .post("/v1/responses")
        .respond(Reply::sse_raw(body).chunking(Chunking::Fixed(777)));
    let (body, assistants_offset) = assistants_body();
    server
        .post("/v1/threads/runs")
        .respond(Reply::sse_raw(body).chunking(Chunking::Fixed(777)));
    let (body, generic_offset) = chat_body(4 * LIMIT);
    server
        .post("/v1/some/new/stream")
        .respond(Reply::sse_raw(body));
    let c = client(&server, Some(LIMIT));

    let mut stream = c.responses().stream(responses_request()).await.unwrap();
    let mut results = Vec::new();
    while let Some(event) = stream.next().await {
        results.push(event.map(|_| ()));
    }
    assert!(results[..results.len() - 1].iter().all(Result::is_ok));
    assert_too_large(
        results.last().unwrap().as_ref().unwrap_err(),
        responses_offset,
        2,
    );
    assert_eq!(
        stream.current_snapshot().unwrap().id(),
        Some("resp_oracle1")
    );

    let mut stream = c
        .assistants()
        .create_thread_and_run_stream(&thread_and_run())
        .await
        .unwrap();
    let mut results = Vec::new();
    while let Some(event) = stream.next().await {
        results.push(event.map(|_| ()));
    }
    assert!(results[..results.len() - 1].iter().all(Result::is_ok));
    assert_too_large(
        results.last().unwrap().as_ref().unwrap_err(),
        assistants_offset,
        2,
    );
    assert_eq!(
        stream.state().run_json().unwrap()["id"],
        Value::from("run_abc123")
    );

    let mut events = c
        .stream_events::<Value>(reqwest::Method::POST, "/some/new/stream", Some(&json!({})))
        .await
        .unwrap();
    let mut results = Vec::new();
    while let Some(event) = events.next().await {
        results.push(event);
    }
    assert_eq!(results.len(), 3, "{results:?}");
    assert_eq!(
        results[0].as_ref().unwrap()["choices"][0]["delta"]["content"],
        "Hel"
    );
    assert_too_large(results[2].as_ref().unwrap_err(), generic_offset, 2);
}

/// `EventStream::new` over a response you got yourself (the client put no limit on it):
/// the default limit applies until `max_event_bytes` sets one, and a limit set on the
/// stream replaces the client's.
#[tokio::test]
async fn an_event_stream_takes_its_own_limit() {
    let server = ScriptedServer::start().await;
    let (body, offset) = chat_body(4 * LIMIT);
    let mut whole = body.clone();
    whole.extend_from_slice(b"data: [DONE]\n\n");
    server.post("/v1/raw/stream").respond_all([
        Reply::sse_raw(whole.clone()),
        Reply::sse_raw(body).chunking(Chunking::Fixed(1000)),
        Reply::sse_raw(whole),
    ]);
    let http = reqwest::Client::new();
    let url = format!("{}/raw/stream", server.base_url());

    // No limit set: the default (64 MiB) reads the 64 KiB event.
    let response = http.post(&url).send().await.unwrap();
    let events: Vec<_> = EventStream::<Value>::new(response, "raw event")
        .collect()
        .await;
    assert_eq!(events.len(), 3, "{events:?}");
    let big = &events[2].as_ref().unwrap()["choices"][0]["delta"]["content"];
    assert_eq!(big.as_str().map(str::len), Some(4 * LIMIT));

    // A limit on the stream: the event over it ends the stream with the typed error.
    let response = http.post(&url).send().await.unwrap();
    let events: Vec<_> = EventStream::<Value>::new(response, "raw event")
        .max_event_bytes(LIMIT)
        .collect()
        .await;
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(events[0].is_ok() && events[1].is_ok());
    let e = events[2].as_ref().unwrap_err();
    assert_too_large(e, offset, 2);
    assert!(
        e.to_string().contains("EventStream::max_event_bytes"),
        "{e}"
    );

    // It replaces the limit the client put on the response.
    let c = client(&server, Some(LIMIT));
    let events: Vec<_> = c
        .stream_events::<Value>(reqwest::Method::POST, "/raw/stream", Some(&json!({})))
        .await
        .unwrap()
        .max_event_bytes(8 * LIMIT)
        .collect()
        .await;
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(events.iter().all(Result::is_ok), "{events:?}");
}

#[cfg(feature = "blocking")]
#[test]
fn blocking_streams_use_the_limit() {
    let server = ScriptedServer::start_blocking();
    let (body, chat_offset) = chat_body(4 * LIMIT);
    server
        .post("/v1/chat/completions")
        .respond(Reply::sse_raw(body).chunking(Chunking::Fixed(1000)));
    let (body, responses_offset) = responses_body();
    server.post("/v1/responses").respond(Reply::sse_raw(body));
    let (body, assistants_offset) = assistants_body();
    server
        .post("/v1/threads/runs")
        .respond(Reply::sse_raw(body));
    let c = client(&server, Some(LIMIT));

    let mut stream = c.chat().stream_blocking(chat_request()).unwrap();
    let last = stream.by_ref().last().unwrap();
    assert_too_large(&last.unwrap_err(), chat_offset, 2);
    assert_eq!(stream.current_snapshot().unwrap().content(0), Some("Hello"));

    let mut stream = c.responses().stream_blocking(responses_request()).unwrap();
    let last = stream.by_ref().last().unwrap();
    assert_too_large(&last.unwrap_err(), responses_offset, 2);
    assert_eq!(
        stream.current_snapshot().unwrap().id(),
        Some("resp_oracle1")
    );

    let mut stream = c
        .assistants()
        .create_thread_and_run_stream_blocking(&thread_and_run())
        .unwrap();
    let last = stream.by_ref().last().unwrap();
    assert_too_large(&last.unwrap_err(), assistants_offset, 2);
    assert_eq!(
        stream.state().run_json().unwrap()["id"],
        Value::from("run_abc123")
    );
}
