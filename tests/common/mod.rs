//! Shared helpers of the integration tests: request bodies for the scripted server, and the
//! helpers of the tests that run against the Prism mock server (`tests/it/prism.rs`).
//! A client of the scripted server is `ScriptedServer::client()` (no retries, no proxy).
//!
//! Prism serves OpenAI's OpenAPI spec and validates every request against it: a request
//! that violates the spec gets a 422 listing the violations. With `Prefer: dynamic=true`
//! it answers with random bodies that fit the response schema (with extra properties),
//! which probes the forward compatibility of our types.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt as _;

use openai_sdk::{Client, Error, ResponseValue};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The base URL of the running Prism server, from `PRISM_URL`.
///
/// Panics when it is not set: these tests never skip silently.
pub fn prism_url() -> String {
    match std::env::var("PRISM_URL") {
        Ok(url) if !url.trim().is_empty() => url.trim().trim_end_matches('/').to_owned(),
        _ => panic!(
            "PRISM_URL is not set. These tests need the Prism mock server of the OpenAPI spec: \
             run `.ci/prism.sh start` (it installs and starts Prism and prints its URL), then \
             `export PRISM_URL=http://127.0.0.1:4010` and run \
             `cargo test --features full --test it prism::` again."
        ),
    }
}

/// How many times each operation is called with `Prefer: dynamic=true` (at least 3;
/// `PRISM_DYNAMIC_ROUNDS` raises it for a longer fuzzing run).
pub fn dynamic_rounds() -> usize {
    std::env::var("PRISM_DYNAMIC_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(3)
}

/// A client of the Prism server at `base_url`; `dynamic` adds `Prefer: dynamic=true`.
/// It does not retry: the tests see every answer as it came.
pub fn client(base_url: &str, dynamic: bool) -> Client {
    let mut b = Client::builder()
        .api_key("sk-prism-test")
        .base_url(base_url)
        .max_retries(0)
        .timeout(Duration::from_secs(60));
    if dynamic {
        b = b.header("prefer", "dynamic=true");
    }
    b.build().expect("building the client")
}

/// A request body of type `T`, built from JSON (for the request types with dozens of
/// optional fields). Fails when the JSON does not fit `T`, or when `T` would not send it
/// back unchanged (a typo in a field name would otherwise be dropped silently).
#[track_caller]
pub fn body<T: DeserializeOwned + Serialize>(json: serde_json::Value) -> T {
    let name = std::any::type_name::<T>();
    let value: T = match serde_path_to_error::deserialize(&json) {
        Ok(v) => v,
        Err(e) => panic!(
            "the test's JSON for {name} does not fit the type at `{}`: {}",
            e.path(),
            e.inner()
        ),
    };
    let back = serde_json::to_value(&value).expect("serializing a request body");
    assert_eq!(
        back, json,
        "{name} does not serialize back to the JSON it was built from"
    );
    value
}

/// What went wrong, with everything that helps: for an API error the whole body (Prism's
/// list of violations), for a decode error the path and the start of the body.
pub fn describe(e: &Error) -> String {
    const MAX_VIOLATIONS: usize = 12;
    let Error::Api(api) = e else {
        return e.to_string();
    };
    let status = api.status.map_or_else(|| "-".to_owned(), |s| s.to_string());
    let Some(body) = &api.body else {
        return format!("HTTP {status}: {}", api.message);
    };
    // Prism's 422: {"title": "Invalid request", "validation": [{"location": [...], "message": ...}]}
    let Some(violations) = body.get("validation").and_then(|v| v.as_array()) else {
        return format!("HTTP {status}: {body}");
    };
    let mut s = format!("HTTP {status} from Prism, the request violates the spec:");
    for v in violations.iter().take(MAX_VIOLATIONS) {
        let location = v["location"].as_array().map(|l| {
            l.iter()
                .map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join(".")
        });
        let _ = write!(
            s,
            "\n      {}: {}",
            location.unwrap_or_default(),
            v["message"].as_str().unwrap_or_default()
        );
    }
    if violations.len() > MAX_VIOLATIONS {
        let _ = write!(
            s,
            "\n      ... and {} more",
            violations.len() - MAX_VIOLATIONS
        );
    }
    s
}

/// Runs operations against a static and a dynamic Prism client and collects failures, so
/// that one run reports every failing operation.
pub struct Harness {
    fixed: Client,
    dynamic: Client,
    rounds: usize,
    /// API group -> operations called.
    pub covered: BTreeMap<&'static str, Vec<&'static str>>,
    /// One line per failed call.
    pub failures: Vec<String>,
    /// Static answers that failed as expected because the spec's own example is wrong.
    pub known: Vec<String>,
    calls: usize,
    prism_crashes: usize,
}

/// Prism's generator of random bodies (json-schema-faker 0.5) now and then crashes on the
/// spec's schemas and answers 500 `{"type": ".../prism/errors#UNKNOWN", "title":
/// "TypeError: Cannot read properties of undefined (reading 'items') at shouldClean ..."}`.
/// That is a bug of Prism, not of the request or the SDK: such a call is tried again.
const PRISM_CRASH_RETRIES: usize = 5;

fn is_prism_crash(e: &Error) -> bool {
    let Error::Api(api) = e else { return false };
    api.status == Some(500)
        && api
            .body
            .as_ref()
            .and_then(|b| b.get("type"))
            .and_then(|t| t.as_str())
            == Some("https://stoplight.io/prism/errors#UNKNOWN")
}

/// A static answer of Prism that is the spec's example, which does not fit the spec's own
/// schema: the decode must fail at `path` (and the run says so). When the spec gets fixed
/// the call succeeds and the harness asks to drop the exception.
#[derive(Clone, Copy)]
pub struct BadSpecExample {
    /// Where the example breaks the schema (a prefix of the decode error's path).
    pub path: &'static str,
    /// What is wrong with the example.
    pub why: &'static str,
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

impl Harness {
    /// A harness for the Prism server at `PRISM_URL`.
    pub fn new() -> Self {
        let url = prism_url();
        Harness {
            fixed: client(&url, false),
            dynamic: client(&url, true),
            rounds: dynamic_rounds(),
            covered: BTreeMap::new(),
            failures: Vec::new(),
            known: Vec::new(),
            calls: 0,
            prism_crashes: 0,
        }
    }

    /// Calls `op` once plainly and `rounds` times with `Prefer: dynamic=true`. Each call
    /// must answer 2xx with a body that decodes (the client decodes it: a body that does
    /// not fit the types is an `Error::Decode`).
    pub async fn check<T, F, Fut>(&mut self, group: &'static str, op: &'static str, call: F)
    where
        F: Fn(Client) -> Fut,
        Fut: Future<Output = Result<ResponseValue<T>, Error>>,
    {
        self.run(group, op, None, call).await;
    }

    /// Like [`check`](Self::check) for an operation whose static answer is a wrong example
    /// of the spec: the static call must fail to decode at `bad.path`; the dynamic calls
    /// (bodies generated from the schema) must all succeed.
    pub async fn check_bad_example<T, F, Fut>(
        &mut self,
        group: &'static str,
        op: &'static str,
        bad: BadSpecExample,
        call: F,
    ) where
        F: Fn(Client) -> Fut,
        Fut: Future<Output = Result<ResponseValue<T>, Error>>,
    {
        self.run(group, op, Some(bad), call).await;
    }

    async fn run<T, F, Fut>(
        &mut self,
        group: &'static str,
        op: &'static str,
        bad: Option<BadSpecExample>,
        call: F,
    ) where
        F: Fn(Client) -> Fut,
        Fut: Future<Output = Result<ResponseValue<T>, Error>>,
    {
        self.covered.entry(group).or_default().push(op);
        let mut runs = vec![("static".to_owned(), self.fixed.clone())];
        for i in 1..=self.rounds {
            runs.push((format!("dynamic #{i}"), self.dynamic.clone()));
        }
        for (mode, client) in runs {
            self.calls += 1;
            let expect_bad = bad.filter(|_| mode == "static");
            // A panic (such as a request body the test built wrong) is one more failure,
            // not the end of the run.
            let mut outcome = AssertUnwindSafe(call(client.clone())).catch_unwind().await;
            let mut retries = 0;
            while retries < PRISM_CRASH_RETRIES
                && matches!(&outcome, Ok(Err(e)) if is_prism_crash(e))
            {
                retries += 1;
                self.prism_crashes += 1;
                outcome = AssertUnwindSafe(call(client.clone())).catch_unwind().await;
            }
            // The failure, and whether the request itself was invalid (then it is the same
            // in every mode and one report is enough).
            let (failure, invalid_request) = match (outcome, expect_bad) {
                (Ok(Ok(rv)), None) if rv.status().is_success() => continue,
                (Ok(Ok(rv)), None) => (format!("HTTP {}", rv.status()), false),
                (Ok(Err(Error::Decode { path, .. })), Some(b)) if path.starts_with(b.path) => {
                    self.known.push(format!(
                        "{group}/{op} [{mode}]: the spec's example is wrong at `{path}`: {}",
                        b.why
                    ));
                    continue;
                }
                (Ok(Ok(_)), Some(b)) => (
                    format!(
                        "decoded, but the spec's example was expected to be wrong at `{}` ({}): \
                         if the spec was fixed, call `check` instead of `check_bad_example`",
                        b.path, b.why
                    ),
                    false,
                ),
                (Ok(Err(e)), _) => {
                    let hint = match e.status() {
                        // Prism answers the spec's own 4xx example when the request is
                        // invalid and the operation documents such a status.
                        Some(s @ 400..=499) if s != 422 => {
                            " (Prism answers the spec's documented error \
                            when a request is invalid; its `sl-violations` header lists why, \
                            e.g. `curl -i` the same request)"
                        }
                        _ => "",
                    };
                    (
                        format!("{}{hint}", describe(&e)),
                        e.status().is_some_and(|s| (400..500).contains(&s)),
                    )
                }
                (Err(panic), _) => {
                    let msg = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                        .unwrap_or_default();
                    self.failures
                        .push(format!("{group}/{op} [{mode}]: panicked: {msg}"));
                    break;
                }
            };
            self.failures
                .push(format!("{group}/{op} [{mode}]: {failure}"));
            if invalid_request {
                break;
            }
        }
    }

    /// How many operations were checked.
    pub fn operations(&self) -> usize {
        self.covered.values().map(Vec::len).sum()
    }

    /// A summary: the coverage, the known bugs of the spec's examples, how many failures.
    pub fn report(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{} operations in {} groups, {} calls ({} dynamic rounds each; {} more after Prism crashed), \
             {} failures",
            self.operations(),
            self.covered.len(),
            self.calls,
            self.rounds,
            self.prism_crashes,
            self.failures.len()
        );
        for (group, ops) in &self.covered {
            let _ = writeln!(s, "  {group} ({}): {}", ops.len(), ops.join(", "));
        }
        if !self.known.is_empty() {
            let _ = writeln!(
                s,
                "known bugs of the spec's examples (static answers only):"
            );
            for k in &self.known {
                let _ = writeln!(s, "  - {k}");
            }
        }
        s
    }
}

/// The chat request the scripted-server tests send (the prompt of the recorded fixtures),
/// with the top-level fields of `extra` (a JSON object) added or replaced.
#[track_caller]
pub fn chat_request(extra: serde_json::Value) -> openai_sdk::types::CreateChatCompletionRequest {
    let base = serde_json::json!({"model": "gpt-4o-2024-08-06",
        "messages": [{"role": "user", "content": "What's the weather like in SF?"}]});
    serde_json::from_value(merged(base, extra)).expect("a chat request")
}

/// The Responses request the scripted-server tests send, with the top-level fields of
/// `extra` (a JSON object) added or replaced.
#[track_caller]
pub fn responses_request(extra: serde_json::Value) -> openai_sdk::types::CreateResponse {
    let base = serde_json::json!({"model": "gpt-4o-2024-08-06",
        "input": "What's the weather like in Paris?"});
    serde_json::from_value(merged(base, extra)).expect("a Responses request")
}

/// `base` with the top-level fields of `extra` added or replaced.
#[track_caller]
pub fn merged(mut base: serde_json::Value, extra: serde_json::Value) -> serde_json::Value {
    match (&mut base, extra) {
        (serde_json::Value::Object(b), serde_json::Value::Object(e)) => b.extend(e),
        (_, e) => panic!("extra fields must be a JSON object, not {e}"),
    }
    base
}

/// Only a guard against hanging forever: every wait returns as soon as its event happens.
pub const WAIT: Duration = Duration::from_secs(20);

/// A bare reqwest client (no proxy), for the tests that talk to the scripted server or the
/// recording proxy without the SDK.
pub fn raw_client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// A directory under the system temp dir, named after the test and the process, removed
/// (with its content) when dropped.
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    /// The path of a directory that does not exist yet (whatever an earlier run left there is
    /// removed), for code that must create it.
    pub fn absent(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("openai-sdk-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        TempDir(dir)
    }

    /// A fresh, empty directory.
    pub fn empty(name: &str) -> TempDir {
        let dir = TempDir::absent(name);
        std::fs::create_dir_all(dir.path()).unwrap();
        dir
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Every `tracing` record of the current thread, as the `fmt` subscriber writes them (all
/// levels, no colours), from `Logs::capture()` until the value is dropped. For
/// `current_thread` tests: the subscriber is the thread's default.
pub struct Logs {
    buf: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

#[derive(Clone)]
struct LogWriter(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    pub fn capture() -> Logs {
        Logs::with_span_events(tracing_subscriber::fmt::format::FmtSpan::NONE)
    }

    /// [`Logs::capture`], also writing the span events `spans` names (e.g. `CLOSE`: a span's
    /// fields when it ends).
    pub fn with_span_events(spans: tracing_subscriber::fmt::format::FmtSpan) -> Logs {
        let buf = std::sync::Arc::default();
        let writer = LogWriter(std::sync::Arc::clone(&buf));
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_span_events(spans)
            .with_writer(move || writer.clone())
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        Logs { buf, _guard: guard }
    }

    /// What was logged so far.
    pub fn text(&self) -> String {
        String::from_utf8(self.buf.lock().unwrap().clone()).unwrap()
    }
}

/// Reads a stream up to its first error: how many items came before it, and the error.
/// Panics when the stream ends without one.
#[track_caller]
pub fn until_error<S, T>(stream: &mut S) -> impl Future<Output = (usize, Error)> + '_
where
    S: futures::Stream<Item = Result<T, Error>> + Unpin,
{
    use futures::StreamExt as _;
    let caller = std::panic::Location::caller();
    async move {
        let mut items = 0;
        loop {
            match stream.next().await {
                Some(Ok(_)) => items += 1,
                Some(Err(e)) => return (items, e),
                None => panic!("{caller}: the stream ended after {items} items without an error"),
            }
        }
    }
}

/// [`until_error`] for a blocking stream (an iterator).
#[track_caller]
pub fn until_error_blocking<T>(stream: impl Iterator<Item = Result<T, Error>>) -> (usize, Error) {
    let mut items = 0;
    for item in stream {
        match item {
            Ok(_) => items += 1,
            Err(e) => return (items, e),
        }
    }
    panic!("the stream ended after {items} items without an error")
}

/// Cut `text` into deltas of `sizes` chars each (cycled), for streaming a text in pieces.
pub fn cut(text: &str, sizes: &[usize]) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut k = 0;
    let mut s = 0;
    while k < chars.len() {
        let n = sizes
            .get(s % sizes.len().max(1))
            .copied()
            .unwrap_or(1)
            .max(1);
        s += 1;
        let end = (k + n).min(chars.len());
        out.push(chars[k..end].iter().collect());
        k = end;
    }
    out
}
