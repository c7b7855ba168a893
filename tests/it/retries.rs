//! Retries over loopback: attempts are counted by the server, delays are the ones the client
//! asked for (reported through `on_retry`; the waits are skipped), never wall clocks. The
//! waits themselves are checked on Tokio's paused clock, where a sleep takes no real time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use openai_sdk::client::RequestOptions;
use openai_sdk::retry::RetryEvent;
use openai_sdk::testing::{Fault, Reply, ScriptedServer};
use openai_sdk::{Client, ClientBuilder};
use serde_json::json;

fn models() -> Reply {
    Reply::json(200, json!({"object": "list", "data": []}))
}

fn client(
    server: &ScriptedServer,
    configure: impl FnOnce(ClientBuilder) -> ClientBuilder,
) -> (Client, Arc<Mutex<Vec<RetryEvent>>>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let b = ClientBuilder::empty()
        .api_key("k")
        .base_url(server.base_url())
        .skip_retry_waits()
        .on_retry(move |e| sink.lock().unwrap().push(e.clone()));
    (configure(b).build().unwrap(), events)
}

#[tokio::test]
async fn a_500_then_a_200_is_retried_with_backoff() {
    let server = ScriptedServer::start().await;
    server
        .get("/v1/models")
        .respond(Reply::openai_error(500, "server_error", "boom"))
        .respond(models());
    let (c, events) = client(&server, |b| b);
    c.list_models().await.unwrap();
    assert_eq!(server.request_count_to("/v1/models"), 2);
    let ev = events.lock().unwrap().clone();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].status, Some(500));
    assert_eq!(ev[0].attempt, 1);
    // 0.5 s with up to 25 % jitter taken off.
    assert!(
        ev[0].delay <= Duration::from_millis(500) && ev[0].delay >= Duration::from_millis(375),
        "{:?}",
        ev[0].delay
    );
}

#[tokio::test]
async fn retry_after_headers_set_the_delay() {
    let server = ScriptedServer::start().await;
    server
        .get("/v1/models")
        .respond(Reply::openai_error(429, "rate_limit", "slow down").header("retry-after", "2"))
        .respond(
            Reply::openai_error(429, "rate_limit", "slow down").header("retry-after-ms", "250"),
        )
        .respond(models());
    let (c, events) = client(&server, |b| b);
    c.list_models().await.unwrap();
    let delays: Vec<Duration> = events.lock().unwrap().iter().map(|e| e.delay).collect();
    assert_eq!(
        delays,
        vec![Duration::from_secs(2), Duration::from_millis(250)]
    );
    assert_eq!(server.request_count_to("/v1/models"), 3);
}

#[tokio::test]
async fn an_invalid_retry_after_falls_back_to_backoff() {
    let server = ScriptedServer::start().await;
    server
        .get("/v1/models")
        .respond(Reply::openai_error(429, "rate_limit", "x").header("retry-after", "whenever"))
        .respond(models());
    let (c, events) = client(&server, |b| b);
    c.list_models().await.unwrap();
    let d = events.lock().unwrap()[0].delay;
    assert!(
        d <= Duration::from_millis(500) && d >= Duration::from_millis(375),
        "{d:?}"
    );
}

#[tokio::test]
async fn the_server_can_forbid_or_force_a_retry() {
    let server = ScriptedServer::start().await;
    server
        .get("/v1/models")
        .respond(Reply::openai_error(503, "server_error", "no").header("x-should-retry", "false"));
    let (c, events) = client(&server, |b| b);
    let e = c.list_models().await.unwrap_err();
    assert_eq!(e.status(), Some(503));
    assert_eq!(server.request_count_to("/v1/models"), 1);
    assert!(events.lock().unwrap().is_empty());

    let server = ScriptedServer::start().await;
    server
        .get("/v1/models")
        .respond(
            Reply::openai_error(400, "invalid_request_error", "try again")
                .header("x-should-retry", "true"),
        )
        .respond(models());
    let (c, _) = client(&server, |b| b);
    c.list_models().await.unwrap();
    assert_eq!(server.request_count_to("/v1/models"), 2);
}

#[tokio::test]
async fn retries_stop_after_the_configured_count() {
    let server = ScriptedServer::start().await;
    server
        .get("/v1/models")
        .respond(Reply::openai_error(502, "server_error", "bad gateway"));
    let (c, events) = client(&server, |b| b);
    let e = c.list_models().await.unwrap_err();
    assert_eq!(e.status(), Some(502));
    assert_eq!(
        server.request_count_to("/v1/models"),
        3,
        "two retries by default"
    );
    assert_eq!(events.lock().unwrap().len(), 2);

    server.clear_requests();
    let (c, _) = client(&server, |b| b.max_retries(5));
    c.list_models().await.unwrap_err();
    assert_eq!(server.request_count_to("/v1/models"), 6);

    server.clear_requests();
    let once = c.with_options(RequestOptions::new().max_retries(0));
    once.list_models().await.unwrap_err();
    assert_eq!(
        server.request_count_to("/v1/models"),
        1,
        "per-request override"
    );
}

#[tokio::test]
async fn errors_that_a_retry_cannot_fix_are_not_retried() {
    let server = ScriptedServer::start().await;
    server
        .get("/v1/models")
        .respond(Reply::openai_error(401, "invalid_request_error", "bad key"));
    let (c, _) = client(&server, |b| b);
    assert!(c.list_models().await.unwrap_err().is_auth());
    assert_eq!(server.request_count_to("/v1/models"), 1);
}

#[tokio::test]
async fn a_dropped_connection_is_retried() {
    let server = ScriptedServer::start().await;
    server
        .get("/v1/models")
        .respond(models().fault(Fault::CloseBeforeHeaders))
        .respond(models());
    let (c, events) = client(&server, |b| b);
    c.list_models().await.unwrap();
    let ev = events.lock().unwrap().clone();
    assert_eq!(ev.len(), 1);
    assert_eq!(
        ev[0].status, None,
        "a connection error has no status: {:?}",
        ev[0]
    );
}

#[tokio::test]
async fn hand_written_operations_retry_too() {
    let server = ScriptedServer::start().await;
    server
        .post("/v1/files")
        .respond(Reply::openai_error(500, "server_error", "boom"))
        .respond(Reply::json(200, json!({"id": "file-1", "object": "file", "bytes": 1, "created_at": 1, "filename": "a.txt", "purpose": "assistants", "status": "processed"})));
    let (c, _) = client(&server, |b| b);
    let f = c
        .create_file(&openai_sdk::types::CreateFileRequest {
            file: openai_sdk::multipart::FilePart::bytes("a.txt", &b"a"[..]),
            purpose: openai_sdk::types::CreateFileRequestPurpose::Assistants,
            expires_after: None,
            extra: Default::default(),
        })
        .await
        .unwrap();
    assert_eq!(f.id, "file-1");
    assert_eq!(server.request_count_to("/v1/files"), 2);
}

/// The client really sleeps, for exactly the delay the server asked for, before the next
/// attempt: on Tokio's paused clock the sleeps take no real time but advance the clock by
/// their length (the server runs on the same runtime, so nothing else moves the clock).
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_waits_are_slept_on_the_clock() {
    let server = ScriptedServer::start().await;
    server
        .get("/v1/models")
        .respond(
            Reply::openai_error(429, "rate_limit", "slow down").header("retry-after-ms", "1500"),
        )
        .respond(Reply::openai_error(429, "rate_limit", "slow down").header("retry-after", "7"))
        .respond(models());
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let c = ClientBuilder::empty()
        .api_key("k")
        .base_url(server.base_url())
        .on_retry(move |_| sink.lock().unwrap().push(tokio::time::Instant::now()))
        .build()
        .unwrap();
    let start = tokio::time::Instant::now();
    c.list_models().await.unwrap();
    let end = tokio::time::Instant::now();
    assert_eq!(server.request_count_to("/v1/models"), 3);
    let announced = events.lock().unwrap().clone();
    assert_eq!(announced.len(), 2);
    // From each announcement to the next attempt's answer: the server's delay, to the
    // millisecond (loopback I/O takes no time on the paused clock).
    let first_wait = announced[1] - announced[0];
    let second_wait = end - announced[1];
    assert!(
        first_wait >= Duration::from_millis(1500) && first_wait < Duration::from_millis(1510),
        "{first_wait:?}"
    );
    assert!(
        second_wait >= Duration::from_secs(7) && second_wait < Duration::from_millis(7010),
        "{second_wait:?}"
    );
    assert!(announced[0] - start < Duration::from_millis(10));
}

/// Without a server delay, the client sleeps the backoff it announced.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_backoff_is_slept_on_the_clock() {
    let server = ScriptedServer::start().await;
    server
        .get("/v1/models")
        .respond(Reply::openai_error(500, "server_error", "boom"))
        .respond(Reply::openai_error(500, "server_error", "boom"))
        .respond(models());
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let c = ClientBuilder::empty()
        .api_key("k")
        .base_url(server.base_url())
        .on_retry(move |e| sink.lock().unwrap().push(e.delay))
        .build()
        .unwrap();
    let start = tokio::time::Instant::now();
    c.list_models().await.unwrap();
    let waited = start.elapsed();
    let delays: Vec<Duration> = events.lock().unwrap().clone();
    assert_eq!(delays.len(), 2);
    // 0.5 s then 1 s, each with up to 25 % jitter taken off.
    assert!(delays[0] >= Duration::from_millis(375) && delays[0] <= Duration::from_millis(500));
    assert!(delays[1] >= Duration::from_millis(750) && delays[1] <= Duration::from_secs(1));
    let slept: Duration = delays.iter().sum();
    assert!(
        waited >= slept && waited < slept + Duration::from_millis(10),
        "waited {waited:?}, announced {slept:?}"
    );
}
