//! Retries that could repeat a side effect, over loopback: every attempt of one call sends
//! the same `Idempotency-Key`, and `RetryPolicy::retry_after_send(false)` does not send a
//! request other than GET again after a timeout (it may have been done already).

use std::time::Duration;

use openai_sdk::retry::RetryPolicy;
use openai_sdk::testing::{Reply, ScriptedServer};
use openai_sdk::{types, Client, ClientBuilder, Error};
use serde_json::json;

const PREFIX: &str = "openai-sdk-rust-retry-";

fn completion() -> serde_json::Value {
    json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
           "choices": [{"index": 0, "finish_reason": "stop", "logprobs": null,
                        "message": {"role": "assistant", "content": "Hi", "refusal": null}}]})
}

fn request() -> types::CreateChatCompletionRequest {
    serde_json::from_value(json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}]}))
        .unwrap()
}

fn client(server: &ScriptedServer, policy: RetryPolicy) -> Client {
    ClientBuilder::empty()
        .api_key("k")
        .base_url(server.base_url())
        .retry_policy(policy)
        .skip_retry_waits()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap()
}

fn keys(server: &ScriptedServer, path: &str) -> Vec<Option<String>> {
    server
        .requests_to(path)
        .iter()
        .map(|r| r.header("idempotency-key").map(str::to_owned))
        .collect()
}

/// The one key all `keys` share, checked to be ours.
fn one_key(keys: &[Option<String>]) -> String {
    let first = keys[0].clone().expect("an Idempotency-Key header");
    assert!(first.starts_with(PREFIX), "{first}");
    // `openai-sdk-rust-retry-` and a version 4 UUID.
    let uuid = &first[PREFIX.len()..];
    assert_eq!(uuid.len(), 36, "{uuid}");
    assert_eq!(&uuid[14..15], "4", "{uuid}");
    for k in keys {
        assert_eq!(k.as_deref(), Some(first.as_str()));
    }
    first
}

#[tokio::test]
async fn every_attempt_of_a_call_sends_the_same_key_and_calls_differ() {
    let server = ScriptedServer::start().await;
    server.post("/v1/chat/completions").respond_all([
        Reply::openai_error(500, "server_error", "boom"),
        Reply::openai_error(503, "server_error", "busy"),
        Reply::json(200, completion()),
        Reply::json(200, completion()),
    ]);
    let c = client(&server, RetryPolicy::default());
    c.create_chat_completion(&request()).await.unwrap();
    let first = keys(&server, "/v1/chat/completions");
    assert_eq!(first.len(), 3);
    let k1 = one_key(&first);
    c.create_chat_completion(&request()).await.unwrap();
    let all = keys(&server, "/v1/chat/completions");
    let k2 = one_key(&all[3..]);
    assert_ne!(k1, k2, "a new call has a new key");
}

#[tokio::test]
async fn a_timed_out_post_is_retried_with_the_same_key_by_default() {
    let server = ScriptedServer::start().await;
    server.post("/v1/chat/completions").respond_all([
        Reply::never(),
        Reply::never(),
        Reply::json(200, completion()),
    ]);
    let c = client(&server, RetryPolicy::default());
    c.create_chat_completion(&request()).await.unwrap();
    let sent = keys(&server, "/v1/chat/completions");
    assert_eq!(sent.len(), 3);
    one_key(&sent);
}

#[tokio::test]
async fn the_safe_policy_does_not_resend_a_post_that_timed_out() {
    let server = ScriptedServer::start().await;
    server
        .post("/v1/chat/completions")
        .respond_all([Reply::never(), Reply::json(200, completion())]);
    let c = client(&server, RetryPolicy::default().retry_after_send(false));
    let e = c.create_chat_completion(&request()).await.unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e:?}");
    assert_eq!(server.request_count_to("/v1/chat/completions"), 1);
}

#[tokio::test]
async fn the_safe_policy_still_retries_answers_connect_errors_and_gets() {
    let server = ScriptedServer::start().await;
    // The server answered: retried.
    server.post("/v1/chat/completions").respond_all([
        Reply::openai_error(429, "rate_limit", "slow down"),
        Reply::json(200, completion()),
    ]);
    // A GET that timed out: harmless to send again.
    server.get("/v1/models").respond_all([
        Reply::never(),
        Reply::json(200, json!({"object": "list", "data": []})),
    ]);
    let c = client(&server, RetryPolicy::default().retry_after_send(false));
    c.create_chat_completion(&request()).await.unwrap();
    assert_eq!(server.request_count_to("/v1/chat/completions"), 2);
    c.list_models().await.unwrap();
    assert_eq!(server.request_count_to("/v1/models"), 2);
    assert_eq!(
        keys(&server, "/v1/models"),
        vec![None, None],
        "GET has no key"
    );

    // Nothing listens on the port of a server that is gone: a connect error, retried.
    let gone = ScriptedServer::start().await;
    let base = gone.base_url();
    drop(gone);
    let retries = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let seen = retries.clone();
    let c = ClientBuilder::empty()
        .api_key("k")
        .base_url(base)
        .retry_policy(RetryPolicy::new(2).retry_after_send(false))
        .skip_retry_waits()
        .on_retry(move |_| {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        })
        .build()
        .unwrap();
    let e = c.create_chat_completion(&request()).await.unwrap_err();
    assert!(matches!(e, Error::Connection { .. }), "{e:?}");
    assert_eq!(retries.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_key_the_caller_set_wins() {
    let server = ScriptedServer::start().await;
    server.post("/v1/chat/completions").respond_all([
        Reply::openai_error(500, "server_error", "boom"),
        Reply::json(200, completion()),
    ]);
    let c = ClientBuilder::empty()
        .api_key("k")
        .base_url(server.base_url())
        .header("Idempotency-Key", "my-key-1")
        .skip_retry_waits()
        .build()
        .unwrap();
    c.create_chat_completion(&request()).await.unwrap();
    assert_eq!(
        keys(&server, "/v1/chat/completions"),
        vec![Some("my-key-1".to_owned()), Some("my-key-1".to_owned())]
    );
}

#[tokio::test]
async fn the_request_options_key_wins_on_every_attempt() {
    let server = ScriptedServer::start().await;
    server.post("/v1/chat/completions").respond_all([
        Reply::openai_error(500, "server_error", "boom"),
        Reply::json(200, completion()),
    ]);
    let c = client(&server, RetryPolicy::default())
        .with_options(openai_sdk::RequestOptions::new().idempotency_key("order-42"));
    c.create_chat_completion(&request()).await.unwrap();
    assert_eq!(
        keys(&server, "/v1/chat/completions"),
        vec![Some("order-42".to_owned()), Some("order-42".to_owned())]
    );
}

#[tokio::test]
async fn a_rebuilt_multipart_request_keeps_its_key() {
    let server = ScriptedServer::start().await;
    server.post("/v1/files").respond_all([
        Reply::openai_error(500, "server_error", "boom"),
        Reply::json(
            200,
            json!({"id": "file-1", "object": "file", "bytes": 2, "created_at": 1,
                   "filename": "a.jsonl", "purpose": "batch", "status": "uploaded"}),
        ),
    ]);
    let c = client(&server, RetryPolicy::default());
    let body = types::CreateFileRequest {
        file: openai_sdk::multipart::FilePart::bytes("a.jsonl", b"{}".to_vec()),
        purpose: types::CreateFileRequestPurpose::Batch,
        expires_after: None,
        extra: Default::default(),
    };
    c.create_file(&body).await.unwrap();
    let sent = keys(&server, "/v1/files");
    assert_eq!(sent.len(), 2);
    one_key(&sent);
}

#[cfg(feature = "blocking")]
#[test]
fn the_blocking_client_sends_one_key_per_call() {
    let server = ScriptedServer::start_blocking();
    server.post("/v1/chat/completions").respond_all([
        Reply::openai_error(500, "server_error", "boom"),
        Reply::sse_raw("data: [DONE]\n\n"),
    ]);
    let c = client(&server, RetryPolicy::default());
    let stream = c.chat().stream_blocking(request()).unwrap();
    drop(stream);
    let sent = keys(&server, "/v1/chat/completions");
    assert_eq!(sent.len(), 2);
    one_key(&sent);
}
