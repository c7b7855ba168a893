//! Credentials stay out of what the SDK shows (error texts, `Debug`, the retry log and the
//! `on_retry` reason, `RecordedRequest`'s `Debug`), and connection errors say why they
//! happened (connection refused, DNS failure, TLS), over real sockets on loopback.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use openai_sdk::retry::RetryEvent;
use openai_sdk::testing::{Reply, ScriptedServer};
use openai_sdk::{Client, ClientBuilder, Error};
use serde_json::json;

const PASSWORD: &str = "pw-in-the-base-url-5678";
const USER: &str = "user-in-the-base-url";

/// A loopback port nothing listens on (bound, then closed).
fn closed_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr
}

fn client_for(
    base_url: &str,
    http: reqwest::Client,
    retries: u32,
) -> (Client, Arc<Mutex<Vec<RetryEvent>>>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let client = ClientBuilder::empty()
        .api_key("sk-test")
        .base_url(base_url)
        .http_client(http)
        .max_retries(retries)
        .skip_retry_waits()
        .on_retry(move |e| sink.lock().unwrap().push(e.clone()))
        .build()
        .unwrap();
    (client, events)
}

fn no_proxy() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

fn assert_no_credentials(text: &str) {
    assert!(!text.contains(PASSWORD), "the password leaks: {text}");
    assert!(!text.contains(USER), "the user name leaks: {text}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_refused_connection_says_so_and_shows_no_credentials() {
    let captured = crate::common::Logs::capture();

    let addr = closed_port();
    let base = format!("http://{USER}:{PASSWORD}@{addr}/v1");
    let (client, events) = client_for(&base, no_proxy(), 1);
    let error = client.list_models().await.unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, Error::Connection { .. }), "{error:?}");
    assert!(
        text.to_lowercase().contains("connection refused"),
        "the cause is missing: {text}"
    );
    assert!(text.contains(&addr.to_string()), "{text}");
    assert_no_credentials(&text);
    assert_no_credentials(&format!("{error:?}"));

    // The retry: reported and logged with its cause, without the credentials.
    let events = events.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    assert!(
        events[0]
            .reason
            .to_lowercase()
            .contains("connection refused"),
        "{}",
        events[0].reason
    );
    assert_no_credentials(&events[0].reason);
    let log = captured.text();
    assert!(log.contains("retrying"), "{log}");
    assert_no_credentials(&log);
}

#[cfg(feature = "blocking")]
#[test]
fn the_blocking_path_says_so_too() {
    let addr = closed_port();
    let base = format!("http://{USER}:{PASSWORD}@{addr}/v1");
    let (client, events) = client_for(&base, no_proxy(), 1);
    let request = serde_json::from_value(
        json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
    )
    .unwrap();
    let error = client.chat().stream_blocking(request).unwrap_err();
    let text = error.to_string();
    assert!(
        text.to_lowercase().contains("connection refused"),
        "the cause is missing: {text}"
    );
    assert_no_credentials(&text);
    assert_no_credentials(&format!("{error:?}"));
    let events = events.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    assert_no_credentials(&events[0].reason);
}

/// A resolver that knows no host, as a DNS failure.
struct NoSuchHost;

impl reqwest::dns::Resolve for NoSuchHost {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move { Err(format!("no such host: {host} (test resolver)").into()) })
    }
}

#[tokio::test]
async fn a_dns_failure_says_so() {
    let http = reqwest::Client::builder()
        .no_proxy()
        .dns_resolver(Arc::new(NoSuchHost))
        .build()
        .unwrap();
    let base = format!("http://{USER}:{PASSWORD}@api.example.invalid/v1");
    let (client, _) = client_for(&base, http, 0);
    let error = client.list_models().await.unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("no such host: api.example.invalid (test resolver)"),
        "the cause is missing: {text}"
    );
    assert!(text.contains("dns error"), "{text}");
    assert_no_credentials(&text);
}

#[tokio::test]
async fn a_tls_failure_says_so() {
    // TLS to a server that speaks plain HTTP: the handshake fails.
    let server = ScriptedServer::start().await;
    server
        .get("/v1/models")
        .respond(Reply::json(200, json!({"object": "list", "data": []})));
    let base = format!("https://{USER}:{PASSWORD}@{}/v1", server.addr());
    let (client, _) = client_for(&base, no_proxy(), 0);
    let error = client.list_models().await.unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, Error::Connection { .. }), "{error:?}");
    // reqwest alone says only "error sending request for url (...)"; the causes follow it.
    let (head, causes) = text
        .split_once(": client error (Connect): ")
        .unwrap_or_else(|| panic!("no cause chain: {text}"));
    assert!(
        head.starts_with("connection error: error sending request for url"),
        "{text}"
    );
    assert!(
        [
            "corrupt",
            "tls",
            "handshake",
            "certificate",
            "InvalidContentType"
        ]
        .iter()
        .any(|w| causes.to_lowercase().contains(&w.to_lowercase())),
        "not a TLS cause: {text}"
    );
    assert_no_credentials(&text);
}

#[tokio::test]
async fn an_invalid_base_url_is_shown_without_its_credentials() {
    let error = ClientBuilder::empty()
        .api_key("sk-test")
        .base_url(format!("ftp://{USER}:{PASSWORD}@example.com/v1"))
        .build()
        .unwrap_err();
    let text = error.to_string();
    assert!(text.contains("http:// or https://"), "{text}");
    assert!(text.contains("example.com"), "{text}");
    assert_no_credentials(&text);
}

#[tokio::test]
async fn recorded_requests_do_not_print_secrets_in_debug() {
    let server = ScriptedServer::start().await;
    server
        .get("/v1/models")
        .respond(Reply::json(200, json!({"object": "list", "data": []})));
    no_proxy()
        .get(server.url("/v1/models?api-key=sk-query-secret&limit=2"))
        .bearer_auth("sk-bearer-secret")
        .header("api-key", "sk-azure-secret")
        .header("ocp-apim-subscription-key", "sk-apim-secret")
        .header("x-request-tag", "visible")
        .send()
        .await
        .unwrap();
    let request = server.last_request().unwrap();
    // The values are there for assertions...
    assert_eq!(
        request.header("authorization"),
        Some("Bearer sk-bearer-secret")
    );
    // ... but not in the Debug output.
    let debug = format!("{request:?}");
    for secret in [
        "sk-query-secret",
        "sk-bearer-secret",
        "sk-azure-secret",
        "sk-apim-secret",
    ] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
    assert!(
        debug.contains("\"authorization\": \"[redacted]\""),
        "{debug}"
    );
    assert!(debug.contains("api-key=[redacted]&limit=2"), "{debug}");
    assert!(debug.contains("visible"), "{debug}");
}
