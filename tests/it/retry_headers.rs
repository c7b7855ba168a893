//! Hostile retry headers over loopback: whatever a server puts in `retry-after-ms`,
//! `Retry-After` or `x-should-retry`, on a 2xx or a 429, the client neither panics nor waits
//! longer than its bounds (`retry-after-ms: 1e23` once panicked in `Duration::from_secs_f64`,
//! on every response). Async and blocking paths. Delays are the ones the client reports
//! through `on_retry`; the waits themselves are skipped.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use openai_sdk::retry::{RetryEvent, MAX_SERVER_DELAY};
use openai_sdk::testing::{Reply, ScriptedServer};
use openai_sdk::{Client, ClientBuilder};
use serde_json::json;

/// Values no server should send, and one it may (`250`).
const VALUES: &[&str] = &[
    "1e23",
    "1e308",
    "-1e308",
    "inf",
    "-inf",
    "NaN",
    "-1",
    "",
    "   ",
    "é",
    "½ s",
    "18446744073709551616",
    "0x10",
    "Fri, 31 Dec 9999 23:59:59 GMT",
    "Thu, 01 Jan 1970 00:00:00 GMT",
];

fn hostile(reply: Reply, value: &str) -> Reply {
    reply
        .header("retry-after-ms", value)
        .header("retry-after", value)
        .header("x-should-retry", value)
}

fn models() -> Reply {
    Reply::json(200, json!({"object": "list", "data": []}))
}

fn client(server: &ScriptedServer) -> (Client, Arc<Mutex<Vec<RetryEvent>>>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let client = ClientBuilder::empty()
        .api_key("k")
        .base_url(server.base_url())
        .skip_retry_waits()
        .on_retry(move |e| sink.lock().unwrap().push(e.clone()))
        .build()
        .unwrap();
    (client, events)
}

/// The client's own backoff for the first retry: 0.5 s with up to 25 % taken off.
fn is_first_backoff(delay: Duration) -> bool {
    (Duration::from_millis(375)..=Duration::from_millis(500)).contains(&delay)
}

#[tokio::test]
async fn any_header_value_on_a_2xx_or_a_429_gives_a_bounded_delay_or_is_ignored() {
    let server = ScriptedServer::start().await;
    for value in VALUES {
        server.clear_routes();
        server
            .get("/v1/models")
            .respond(hostile(
                Reply::openai_error(429, "rate_limit", "slow down"),
                value,
            ))
            .respond(hostile(models(), value));
        let (client, events) = client(&server);
        let before = server.request_count_to("/v1/models");
        client
            .list_models()
            .await
            .unwrap_or_else(|e| panic!("{value:?}: {e}"));
        assert_eq!(
            server.request_count_to("/v1/models") - before,
            2,
            "{value:?}"
        );
        let events = events.lock().unwrap().clone();
        assert_eq!(events.len(), 1, "{value:?}");
        let delay = events[0].delay;
        assert!(delay <= MAX_SERVER_DELAY, "{value:?}: {delay:?}");
        // Only the HTTP date in the past is a valid delay (zero); the rest are ignored.
        if value.starts_with("Thu") {
            assert_eq!(delay, Duration::ZERO, "{value:?}");
        } else {
            assert!(is_first_backoff(delay), "{value:?}: {delay:?}");
        }
    }
}

#[tokio::test]
async fn a_huge_retry_after_ms_falls_back_to_a_valid_retry_after() {
    let server = ScriptedServer::start().await;
    server
        .get("/v1/models")
        .respond(
            Reply::openai_error(429, "rate_limit", "slow down")
                .header("retry-after-ms", "1e23")
                .header("retry-after", "3"),
        )
        .respond(models().header("retry-after-ms", "1e23"));
    let (client, events) = client(&server);
    client.list_models().await.unwrap();
    let delays: Vec<Duration> = events.lock().unwrap().iter().map(|e| e.delay).collect();
    assert_eq!(delays, vec![Duration::from_secs(3)]);
}

#[cfg(feature = "blocking")]
#[test]
fn the_blocking_path_bounds_them_too() {
    let server = ScriptedServer::start_blocking();
    let sse = Reply::chat_stream_of(&json!({"id": "c1", "object": "chat.completion",
        "created": 1, "model": "gpt-4o", "choices": [{"index": 0, "finish_reason": "stop",
        "message": {"role": "assistant", "content": "Hello there"}}]}));
    for value in VALUES {
        server.clear_routes();
        let route = server.post("/v1/chat/completions").respond_all([
            hostile(Reply::openai_error(429, "rate_limit", "slow down"), value),
            hostile(sse.clone(), value),
        ]);
        let (client, events) = client(&server);
        let request = serde_json::from_value(json!({"model": "gpt-4o",
            "messages": [{"role": "user", "content": "hi"}]}))
        .unwrap();
        let mut stream = client
            .chat()
            .stream_blocking(request)
            .unwrap_or_else(|e| panic!("{value:?}: {e}"));
        let events_seen = (&mut stream).collect::<Result<Vec<_>, _>>().unwrap();
        assert!(!events_seen.is_empty());
        assert_eq!(route.calls(), 2, "{value:?}");
        let events = events.lock().unwrap().clone();
        assert_eq!(events.len(), 1, "{value:?}");
        assert!(events[0].delay <= MAX_SERVER_DELAY, "{value:?}");
        if !value.starts_with("Thu") {
            assert!(is_first_backoff(events[0].delay), "{value:?}");
        }
    }
}
