//! Fault injection over loopback: the scripted server breaks the transport in the ways real
//! networks do, and each case checks three things:
//! 1. the outcome is typed (the `Error` variant and kind, never a panic or a silent end);
//! 2. the snapshot accumulated before the fault stays readable;
//! 3. memory stays bounded: a counting global allocator in this test binary records the peak
//!    number of live heap bytes (client and server together), and the case asserts it stays
//!    under a bound proportional to the largest single event, not to the stream's length.
//!
//! The cases run one at a time (a lock), so the peak of one is not mixed with another's.
//! No wall-clock assertion anywhere: requests are counted, retry delays are read from the
//! `on_retry` hook with the waits skipped, the stall is detected by the read timeout firing.
//!
//! Chat streams are covered here; the Responses and Assistants streams get the same cases by
//! adding a `stream` closure for them (see `chat_stream` below).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use openai_sdk::chat::{ChatCompletionStream, ChatCompletionStreamEvent};
use openai_sdk::retry::RetryEvent;
use openai_sdk::testing::{Chunking, Fault, Reply, ScriptedServer, SseEvent};
use openai_sdk::types::CreateChatCompletionRequest;
use openai_sdk::{Client, ClientBuilder, Error, StreamErrorKind};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------
// The counting allocator.

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to `System` unchanged; only counters are updated.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // Counted as the new block before the old one goes: the true transient peak of
            // a moving realloc.
            grew(new_size);
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// One case at a time, so that peaks are not mixed.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Peak live bytes above the level at the time it was created.
struct PeakMeter {
    base: usize,
}

impl PeakMeter {
    fn start() -> PeakMeter {
        let base = LIVE.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        PeakMeter { base }
    }

    fn peak(&self) -> usize {
        PEAK.load(Ordering::Relaxed).saturating_sub(self.base)
    }
}

const MB: usize = 1024 * 1024;

// ---------------------------------------------------------------------------------------
// Helpers.

fn request() -> CreateChatCompletionRequest {
    serde_json::from_value(
        json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}),
    )
    .unwrap()
}

fn chunk(content: &str) -> Value {
    json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
           "choices": [{"index": 0, "delta": {"content": content}}]})
}

fn builder(server: &ScriptedServer) -> ClientBuilder {
    ClientBuilder::empty()
        .api_key("sk-test")
        .base_url(server.base_url())
        .http_client(reqwest::Client::builder().no_proxy().build().unwrap())
}

async fn chat_stream(client: &Client) -> Result<ChatCompletionStream, Error> {
    client.chat().stream(request()).await
}

/// Reads the stream to its end without keeping events; returns the number of events, the
/// error that ended it (if any), and whether the stream ended (`None`) after that error.
async fn drain(stream: &mut ChatCompletionStream) -> (usize, Option<Error>) {
    let mut events = 0;
    while let Some(item) = stream.next().await {
        match item {
            Ok(_) => events += 1,
            Err(e) => {
                assert!(stream.next().await.is_none(), "items after the error {e}");
                return (events, Some(e));
            }
        }
    }
    (events, None)
}

// ---------------------------------------------------------------------------------------
// The cases.

#[tokio::test]
async fn connection_drop_mid_chunk_is_a_typed_incomplete_error() {
    let _serial = SERIAL.lock().await;
    let server = ScriptedServer::start().await;
    let mut body = Vec::new();
    for piece in ["Hel", "lo", " wor", "ld"] {
        body.extend_from_slice(&SseEvent::from(chunk(piece)).to_bytes());
    }
    let third = body
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w == b"\n\n")
        .nth(1)
        .unwrap()
        .0
        + 2;
    // HTTP chunks of 7 bytes, and the connection dropped inside one of them, inside the
    // third event's JSON.
    let cut = if (third + 31) % 7 == 0 {
        third + 32
    } else {
        third + 31
    };
    server.post("/v1/chat/completions").respond(
        Reply::sse_raw(body)
            .chunking(Chunking::Fixed(7))
            .fault(Fault::DropAfter(cut)),
    );
    let meter = PeakMeter::start();
    let client = builder(&server).build().unwrap();
    let mut stream = chat_stream(&client).await.unwrap();
    let (events, error) = drain(&mut stream).await;
    assert_eq!(events, 4, "two chunks, one content.delta each");
    match error.expect("a typed error") {
        Error::Stream {
            kind: StreamErrorKind::Incomplete,
            offset: Some(offset),
            ..
        } => assert_eq!(offset, third as u64),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(stream.current_snapshot().unwrap().content(0), Some("Hello"));
    assert!(meter.peak() < MB, "peak {} bytes", meter.peak());
}

#[tokio::test]
async fn a_500_then_a_200_is_retried_and_streams() {
    let _serial = SERIAL.lock().await;
    let server = ScriptedServer::start().await;
    server
        .post("/v1/chat/completions")
        .respond(Reply::openai_error(500, "server_error", "boom"))
        .respond(Reply::sse_events([
            SseEvent::from(chunk("Hi")),
            SseEvent::done(),
        ]));
    let retries = Arc::new(Mutex::new(Vec::<RetryEvent>::new()));
    let sink = retries.clone();
    let meter = PeakMeter::start();
    let client = builder(&server)
        .skip_retry_waits()
        .on_retry(move |e| sink.lock().unwrap().push(e.clone()))
        .build()
        .unwrap();
    let mut stream = chat_stream(&client).await.unwrap();
    let (events, error) = drain(&mut stream).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(events, 2);
    assert_eq!(stream.current_snapshot().unwrap().content(0), Some("Hi"));
    assert_eq!(server.request_count_to("/v1/chat/completions"), 2);
    let retries = retries.lock().unwrap().clone();
    assert_eq!(retries.len(), 1);
    assert_eq!(retries[0].status, Some(500));
    assert!(meter.peak() < MB, "peak {} bytes", meter.peak());
}

#[tokio::test]
async fn a_429_with_retry_after_waits_as_told_then_streams() {
    let _serial = SERIAL.lock().await;
    let server = ScriptedServer::start().await;
    server
        .post("/v1/chat/completions")
        .respond(
            Reply::openai_error(429, "rate_limit_error", "slow down").header("retry-after", "3"),
        )
        .respond(Reply::sse_events([
            SseEvent::from(chunk("ok")),
            SseEvent::done(),
        ]));
    let retries = Arc::new(Mutex::new(Vec::<RetryEvent>::new()));
    let sink = retries.clone();
    let meter = PeakMeter::start();
    let client = builder(&server)
        .skip_retry_waits()
        .on_retry(move |e| sink.lock().unwrap().push(e.clone()))
        .build()
        .unwrap();
    let mut stream = chat_stream(&client).await.unwrap();
    let (events, error) = drain(&mut stream).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(events, 2);
    let retries = retries.lock().unwrap().clone();
    assert_eq!(retries.len(), 1);
    assert_eq!(retries[0].status, Some(429));
    assert_eq!(retries[0].delay, Duration::from_secs(3));
    assert_eq!(server.request_count_to("/v1/chat/completions"), 2);

    // With retries off, the 429 itself is the typed outcome.
    server.clear_routes();
    server.post("/v1/chat/completions").respond(
        Reply::openai_error(429, "rate_limit_error", "slow down").header("retry-after", "3"),
    );
    let no_retry = builder(&server).max_retries(0).build().unwrap();
    let e = chat_stream(&no_retry).await.unwrap_err();
    assert!(e.is_rate_limited(), "{e:?}");
    assert_eq!(e.status(), Some(429));
    assert!(meter.peak() < MB, "peak {} bytes", meter.peak());
}

#[tokio::test]
async fn a_stall_longer_than_the_read_timeout_is_a_timeout_error() {
    let _serial = SERIAL.lock().await;
    let server = ScriptedServer::start().await;
    let mut body = Vec::new();
    body.extend_from_slice(&SseEvent::from(chunk("Hel")).to_bytes());
    body.extend_from_slice(&SseEvent::from(chunk("lo")).to_bytes());
    let first = SseEvent::from(chunk("Hel")).to_bytes().len();
    server
        .post("/v1/chat/completions")
        .respond(Reply::sse_raw(body).fault(Fault::StallAfter {
            bytes: first,
            // Far longer than the read timeout: the test never waits for it to end (the
            // server is dropped at the end of the test).
            duration: Duration::from_secs(3600),
        }));
    let meter = PeakMeter::start();
    let http = reqwest::Client::builder()
        .no_proxy()
        .read_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let client = ClientBuilder::empty()
        .api_key("sk-test")
        .base_url(server.base_url())
        .http_client(http)
        .build()
        .unwrap();
    let mut stream = chat_stream(&client).await.unwrap();
    let (events, error) = drain(&mut stream).await;
    assert_eq!(
        events, 2,
        "the chunk before the stall, and its content.delta"
    );
    let error = error.expect("the stall must end the stream with an error");
    assert!(error.is_timeout(), "expected a timeout, got {error:?}");
    assert_eq!(stream.current_snapshot().unwrap().content(0), Some("Hel"));
    assert!(meter.peak() < MB, "peak {} bytes", meter.peak());
}

#[tokio::test]
async fn an_error_event_mid_stream_is_a_typed_api_error() {
    let _serial = SERIAL.lock().await;
    let server = ScriptedServer::start().await;
    let mut events: Vec<SseEvent> = (0..100)
        .map(|i| SseEvent::from(chunk(&format!("{i},"))))
        .collect();
    events.push(
        SseEvent::from(json!({"error": {"message": "overloaded", "type": "server_error", "code": "overloaded"}}))
            .event("error"),
    );
    events.push(SseEvent::from(chunk("never")));
    server
        .post("/v1/chat/completions")
        .respond(Reply::sse_events(events).chunking(Chunking::Random {
            seed: 3,
            min: 1,
            max: 50,
        }));
    let meter = PeakMeter::start();
    let client = builder(&server).build().unwrap();
    let mut stream = chat_stream(&client).await.unwrap();
    let (count, error) = drain(&mut stream).await;
    assert_eq!(count, 200);
    let error = error.expect("an error");
    let api = error.api_error().expect("an API error");
    assert_eq!(api.message, "overloaded");
    assert_eq!(api.code.as_deref(), Some("overloaded"));
    let expected: String = (0..100).map(|i| format!("{i},")).collect();
    assert_eq!(
        stream.current_snapshot().unwrap().content(0),
        Some(expected.as_str())
    );
    assert!(meter.peak() < MB, "peak {} bytes", meter.peak());
}

#[tokio::test]
async fn a_single_10_mb_chunk_streams_with_memory_a_small_multiple_of_its_size() {
    let _serial = SERIAL.lock().await;
    const SIZE: usize = 10 * 1000 * 1000;
    let server = ScriptedServer::start().await;
    let big = "a".repeat(SIZE);
    let body = [
        SseEvent::from(chunk(&big)).to_bytes(),
        SseEvent::from(chunk("!")).to_bytes(),
        SseEvent::done().to_bytes(),
    ]
    .concat();
    drop(big);
    server
        .post("/v1/chat/completions")
        .respond(Reply::sse_raw(body).chunking(Chunking::Whole));
    let meter = PeakMeter::start();
    let client = builder(&server).build().unwrap();
    let mut stream = chat_stream(&client).await.unwrap();
    let mut seen = 0;
    while let Some(event) = stream.next().await {
        if let ChatCompletionStreamEvent::ContentDelta { delta, .. } = event.unwrap() {
            seen += delta.len();
        }
    }
    assert_eq!(seen, SIZE + 1);
    let snapshot = stream.current_snapshot().unwrap();
    assert_eq!(snapshot.content(0).map(str::len), Some(SIZE + 1));
    drop(snapshot);
    // Held at once at worst: the raw line in the decoder (and its growth), the event's data,
    // the decoded content, the snapshot's content and the delta. Measured about 4.6-4.7x; the
    // bound is a constant factor of the event, not of anything else.
    let peak = meter.peak();
    eprintln!("10 MB chunk: peak {peak} bytes");
    assert!(peak < 8 * SIZE, "peak {peak} bytes for a {SIZE}-byte event");
}

#[tokio::test]
async fn a_million_tiny_chunks_stream_in_bounded_memory() {
    let _serial = SERIAL.lock().await;
    const CHUNKS: usize = 1_000_000;
    let server = ScriptedServer::start().await;
    let one =
        SseEvent::from(json!({"choices": [{"index": 0, "delta": {"content": "x"}}]})).to_bytes();
    let mut body = Vec::with_capacity(one.len() * CHUNKS + 64);
    body.extend_from_slice(&SseEvent::from(chunk("")).to_bytes());
    for _ in 0..CHUNKS {
        body.extend_from_slice(&one);
    }
    body.extend_from_slice(&SseEvent::done().to_bytes());
    let body_len = body.len();
    server
        .post("/v1/chat/completions")
        .respond(Reply::sse_raw(body).chunking(Chunking::Fixed(16 * 1024)));
    let meter = PeakMeter::start();
    let client = builder(&server).build().unwrap();
    let mut stream = chat_stream(&client).await.unwrap();
    let mut deltas = 0;
    while let Some(event) = stream.next().await {
        if let ChatCompletionStreamEvent::ContentDelta { .. } = event.unwrap() {
            deltas += 1;
        }
    }
    assert_eq!(deltas, CHUNKS + 1);
    let snapshot = stream.current_snapshot().unwrap();
    assert_eq!(snapshot.content(0).map(str::len), Some(CHUNKS));
    drop(snapshot);
    // The content is 1 MB (2 MB of capacity at most); the body is ~40x that and is never held.
    let peak = meter.peak();
    eprintln!("a million chunks ({body_len} bytes): peak {peak} bytes");
    assert!(
        peak < 8 * MB,
        "peak {peak} bytes for a {body_len}-byte body with 1 MB of content"
    );
}

/// The blocking stream: the whole-request timeout firing mid-body is a typed timeout too.
#[cfg(feature = "blocking")]
#[test]
fn blocking_stream_stall_past_the_timeout_is_a_timeout_error() {
    let _serial = SERIAL.blocking_lock();
    let server = ScriptedServer::start_blocking();
    let first = SseEvent::from(chunk("Hel")).to_bytes();
    let body = [first.clone(), SseEvent::from(chunk("lo")).to_bytes()].concat();
    server
        .post("/v1/chat/completions")
        .respond(Reply::sse_raw(body).fault(Fault::StallAfter {
            bytes: first.len(),
            duration: Duration::from_secs(3600),
        }));
    let meter = PeakMeter::start();
    let client = ClientBuilder::empty()
        .api_key("sk-test")
        .base_url(server.base_url())
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    let mut stream = client.chat().stream_blocking(request()).unwrap();
    let mut events = 0;
    let error = loop {
        match stream.next().expect("an error before the end") {
            Ok(_) => events += 1,
            Err(e) => break e,
        }
    };
    assert!(stream.next().is_none());
    assert_eq!(events, 2);
    assert!(error.is_timeout(), "expected a timeout, got {error:?}");
    assert_eq!(stream.current_snapshot().unwrap().content(0), Some("Hel"));
    assert!(meter.peak() < MB, "peak {} bytes", meter.peak());
}

// ---------------------------------------------------------------------------------------
// No leaks: abandoning a stream closes its connection, and the server sees it. (Dropping an
// async stream mid-body is `dropping_the_stream_closes_the_connection` in chat_stream.rs.)

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn dropping_the_stream_future_before_the_headers_closes_the_connection() {
    let _serial = SERIAL.lock().await;
    let server = ScriptedServer::start().await;
    server.post("/v1/chat/completions").respond(Reply::never());
    let client = builder(&server).build().unwrap();
    // Boxed, so that `drop` below really drops the future (a stack pin would outlive it).
    let mut pending = Box::pin(chat_stream(&client));
    tokio::select! {
        result = &mut pending => panic!("the server never answers, got {result:?}"),
        seen = server.wait_for_requests(1, WAIT) => assert!(seen, "the request never arrived"),
    }
    assert!(server.disconnects().is_empty());
    drop(pending);
    assert!(
        server.wait_for_disconnect(WAIT).await,
        "the server did not see the client leave"
    );
    let disconnects = server.disconnects();
    assert_eq!(disconnects.len(), 1);
    assert_eq!(
        disconnects[0].phase,
        openai_sdk::testing::DisconnectPhase::BeforeHeaders
    );
}

#[cfg(feature = "blocking")]
#[test]
fn dropping_a_blocking_stream_halfway_closes_the_connection() {
    let _serial = SERIAL.blocking_lock();
    let server = ScriptedServer::start_blocking();
    let gate = openai_sdk::testing::Gate::new();
    let events: Vec<SseEvent> = (0..10)
        .map(|i| SseEvent::from(chunk(&i.to_string())))
        .collect();
    server.post("/v1/chat/completions").respond(
        Reply::sse_events(events)
            .chunking(Chunking::Events)
            .gate(&gate),
    );
    gate.release(2);
    let client = ClientBuilder::empty()
        .api_key("sk-test")
        .base_url(server.base_url())
        .build()
        .unwrap();
    let mut stream = client.chat().stream_blocking(request()).unwrap();
    assert_eq!(stream.next().unwrap().unwrap().event_type(), "chunk");
    assert!(server.disconnects().is_empty());
    drop(stream);
    assert!(
        server.wait_for_disconnect_blocking(WAIT),
        "the server did not see the client leave"
    );
    assert!(matches!(
        server.disconnects()[0].phase,
        openai_sdk::testing::DisconnectPhase::MidBody { .. }
    ));
}
