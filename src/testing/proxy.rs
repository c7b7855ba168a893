//! Record mode: a loopback proxy that forwards to a real upstream and writes what it sees as
//! fixtures ([`RecordedExchange`] manifests plus body files).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming};
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::fixture::{
    create_private_dir, is_framing_header, write_private, ExchangeRequest, RecordedExchange,
};
use super::reply::error_body;
use super::server::{lock, BoxError};

/// Headers never written to recorded fixtures (request or response), compared
/// case-insensitively: credentials, account identifiers and cookies.
pub const REDACTED_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "api-key",
    "x-api-key",
    "openai-organization",
    "openai-project",
    "cookie",
    "set-cookie",
];

/// Request headers not forwarded upstream: hop-by-hop headers, `host` (set for the upstream)
/// and `accept-encoding` (so the recorded bodies are plain, readable bytes).
const NOT_FORWARDED: &[&str] = &[
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "accept-encoding",
];

/// Parts of a header or query parameter name that mark it as a credential, compared
/// case-insensitively: `api-key`, `ocp-apim-subscription-key`, `x-goog-api-key`,
/// `access_token`, `client_secret`, `x-amz-signature`, `www-authenticate`, ... all match.
pub const SECRET_NAME_PARTS: &[&str] = &[
    "key",
    "token",
    "secret",
    "auth",
    "signature",
    "password",
    "cookie",
];

/// Whether a header or query parameter of this name is kept out of recorded fixtures (and
/// out of [`RecordedRequest`](super::RecordedRequest)'s `Debug`): one of
/// [`REDACTED_HEADERS`], or a name containing one of [`SECRET_NAME_PARTS`]. The rate-limit
/// counters the API sends (`x-ratelimit-*-tokens`) are not credentials and are kept.
///
/// ```
/// use openai_sdk::testing::is_secret_name;
///
/// for name in ["Authorization", "api-key", "Ocp-Apim-Subscription-Key", "x-goog-api-key", "access_token", "sig-signature"] {
///     assert!(is_secret_name(name), "{name}");
/// }
/// for name in ["content-type", "x-request-id", "x-ratelimit-remaining-tokens", "limit", "openai-processing-ms"] {
///     assert!(!is_secret_name(name), "{name}");
/// }
/// ```
pub fn is_secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if REDACTED_HEADERS.contains(&lower.as_str()) {
        return true;
    }
    !lower.starts_with("x-ratelimit-") && SECRET_NAME_PARTS.iter().any(|p| lower.contains(p))
}

fn is_redacted(name: &str) -> bool {
    is_secret_name(name)
}

/// `%XX` escapes and `+` of a query component decoded (lossily, for name matching only).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A raw query string with the value of every secret parameter ([`is_secret_name`], after
/// percent-decoding the name) replaced by `*`, which a replayed route matches with any
/// value. The other pairs are kept byte for byte.
pub(crate) fn redact_query(query: &str) -> String {
    redact_query_as(query, "*")
}

/// [`redact_query`] with `marker` in place of the secret values.
pub(crate) fn redact_query_as(query: &str, marker: &str) -> String {
    query
        .split('&')
        .map(|pair| {
            let name = pair.split_once('=').map_or(pair, |(name, _)| name);
            if is_secret_name(&percent_decode(name)) || is_secret_name(name) {
                format!("{name}={marker}")
            } else {
                pair.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A body about to be written to a fixture, as [`RecordingProxy::redact_bodies`]'s hook sees
/// it.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct FixtureBody<'a> {
    /// The request method (`"POST"`).
    pub method: &'a str,
    /// The request path, without the query (`"/v1/realtime/client_secrets"`).
    pub path: &'a str,
    /// `None` for the request body; the response status for the response body.
    pub status: Option<u16>,
    /// The bytes (after the built-in redaction).
    pub body: &'a [u8],
}

type BodyRedactor = Arc<dyn Fn(&FixtureBody<'_>) -> Option<Vec<u8>> + Send + Sync>;

/// The built-in body redaction (see [`RecordingProxy::redact_bodies`]): `Some` when
/// something was replaced.
fn redact_known_secrets(body: &FixtureBody<'_>) -> Option<Vec<u8>> {
    const REDACTED: &str = "REDACTED";
    let mut value: serde_json::Value = serde_json::from_slice(body.body).ok()?;
    let mut changed = false;
    if body.status.is_some()
        && body
            .path
            .trim_end_matches('/')
            .ends_with("/realtime/client_secrets")
        && let Some(secret) = value.get_mut("value").filter(|v| v.is_string())
    {
        *secret = REDACTED.into();
        changed = true;
    }
    // The JSON was parsed by serde_json, so it is at most 128 levels deep.
    let mut stack = vec![&mut value];
    while let Some(node) = stack.pop() {
        match node {
            serde_json::Value::Object(map) => {
                for (key, member) in map.iter_mut() {
                    if key == "client_secret" {
                        let secret = match member {
                            serde_json::Value::Object(inner) => inner.get_mut("value"),
                            other => Some(other),
                        };
                        if let Some(secret) = secret.filter(|s| s.is_string()) {
                            *secret = REDACTED.into();
                            changed = true;
                        }
                    } else {
                        stack.push(member);
                    }
                }
            }
            serde_json::Value::Array(items) => stack.extend(items.iter_mut()),
            _ => {}
        }
    }
    changed.then(|| serde_json::to_vec(&value).unwrap_or_else(|_| body.body.to_vec()))
}

/// A recording proxy on `127.0.0.1`: point the code under test at
/// [`base_url`](RecordingProxy::base_url), and every exchange is forwarded to the upstream,
/// streamed back to the client as it arrives, and written to the output directory in the
/// [`RecordedExchange`] format that [`ScriptedServer::load_fixtures`](super::ScriptedServer::load_fixtures)
/// replays.
///
/// Each exchange is written as `NNNN-METHOD-PATH.exchange.json` with
/// `NNNN-METHOD-PATH.response.body` (and `.request.body` when the request had a body);
/// numbering continues after the highest number already in the directory. The files are
/// written when the upstream body ends, before the client sees the end of the body — or,
/// if the client leaves early, when it leaves (marked `"complete": false`).
///
/// Credentials are forwarded but never written: headers named in [`REDACTED_HEADERS`] or
/// matching [`SECRET_NAME_PARTS`] ([`is_secret_name`]: `authorization`, `api-key`,
/// `ocp-apim-subscription-key`, `x-goog-api-key`, cookies, ...) are left out, the values of
/// query parameters with such names are recorded as `*` (which replay matches with any
/// value), and bodies go through a redaction hook ([`redact_bodies`](Self::redact_bodies);
/// `client_secret` values are redacted by default). The files are created readable by
/// their owner only (mode 0600, directories 0700, on Unix).
/// Requests are forwarded without `accept-encoding`, so bodies are recorded uncompressed.
///
/// The upstream is reached with `reqwest`; an `https` upstream needs a TLS feature of
/// `reqwest` enabled somewhere in the build (this crate's `testing` feature enables none).
///
/// ```
/// use openai_sdk::testing::{RecordingProxy, Reply, ScriptedServer};
///
/// #[tokio::main]
/// async fn main() {
///     // The "real" upstream is another scripted server here; in record mode it would be
///     // the actual API.
///     let upstream = ScriptedServer::start().await;
///     upstream.get("/v1/models").respond(Reply::json(200, serde_json::json!({"data": []})));
///
///     let dir = std::env::temp_dir().join(format!("openai-sdk-doc-proxy-{}", std::process::id()));
///     let proxy = RecordingProxy::start(&upstream.base_url(), &dir).await.unwrap();
///     let body = reqwest::Client::new()
///         .get(format!("{}/models", proxy.base_url()))
///         .bearer_auth("sk-secret")
///         .send().await.unwrap()
///         .text().await.unwrap();
///     assert_eq!(body, r#"{"data":[]}"#);
///
///     let manifest = std::fs::read_to_string(&proxy.exchanges()[0]).unwrap();
///     assert!(!manifest.contains("sk-secret"));
///
///     // Replay offline.
///     let replay = ScriptedServer::start().await;
///     replay.load_fixtures(&dir).unwrap();
///     # std::fs::remove_dir_all(&dir).unwrap();
/// }
/// ```
pub struct RecordingProxy {
    shared: Arc<ProxyShared>,
    addr: SocketAddr,
    base_path: String,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for RecordingProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordingProxy")
            .field("addr", &self.addr)
            .field("upstream", &self.shared.upstream.as_str())
            .field("out_dir", &self.shared.out_dir)
            .finish()
    }
}

impl Drop for RecordingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct ProxyShared {
    upstream: reqwest::Url,
    client: reqwest::Client,
    out_dir: PathBuf,
    next_number: AtomicUsize,
    written: Mutex<Vec<PathBuf>>,
    write_errors: Mutex<Vec<String>>,
    redactor: Mutex<Option<BodyRedactor>>,
    version: watch::Sender<u64>,
}

impl ProxyShared {
    fn changed(&self) {
        self.version.send_modify(|v| *v = v.wrapping_add(1));
    }
}

impl RecordingProxy {
    /// Starts a proxy on the current Tokio runtime that forwards to `upstream_base_url`
    /// (for example `https://api.openai.com/v1`) and records into `out_dir` (created if
    /// missing).
    ///
    /// Request paths are forwarded unchanged to the upstream's origin, so the proxy's
    /// [`base_url`](Self::base_url) has the same path as `upstream_base_url`.
    ///
    /// ```
    /// use openai_sdk::testing::{RecordingProxy, ScriptedServer};
    /// # #[tokio::main] async fn main() {
    /// let upstream = ScriptedServer::start().await;
    /// let dir = std::env::temp_dir().join("openai-sdk-doc-proxy-start");
    /// let proxy = RecordingProxy::start(&upstream.base_url(), &dir).await.unwrap();
    /// assert!(proxy.base_url().ends_with("/v1"));
    /// # }
    /// ```
    pub async fn start(
        upstream_base_url: &str,
        out_dir: impl AsRef<Path>,
    ) -> std::io::Result<RecordingProxy> {
        let invalid =
            |message: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, message);
        let upstream = reqwest::Url::parse(upstream_base_url)
            .map_err(|err| invalid(format!("invalid upstream URL {upstream_base_url:?}: {err}")))?;
        if !matches!(upstream.scheme(), "http" | "https") || upstream.host_str().is_none() {
            return Err(invalid(format!(
                "the upstream URL must be http(s)://host/...: {upstream_base_url:?}"
            )));
        }
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|err| std::io::Error::other(format!("not inside a Tokio runtime: {err}")))?;
        let out_dir = out_dir.as_ref().to_path_buf();
        create_private_dir(&out_dir)?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(std::io::Error::other)?;
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let base_path = upstream.path().trim_end_matches('/').to_string();
        let shared = Arc::new(ProxyShared {
            upstream,
            client,
            next_number: AtomicUsize::new(highest_number(&out_dir) + 1),
            out_dir,
            written: Mutex::new(Vec::new()),
            write_errors: Mutex::new(Vec::new()),
            redactor: Mutex::new(None),
            version: watch::Sender::new(0),
        });
        let task = runtime.spawn(proxy_accept_loop(listener, Arc::clone(&shared)));
        Ok(RecordingProxy {
            shared,
            addr,
            base_path,
            task,
        })
    }

    /// The socket address the proxy listens on.
    ///
    /// ```
    /// # use openai_sdk::testing::{RecordingProxy, ScriptedServer};
    /// # #[tokio::main] async fn main() {
    /// # let upstream = ScriptedServer::start().await;
    /// # let proxy = RecordingProxy::start(&upstream.base_url(), std::env::temp_dir().join("openai-sdk-doc-proxy-addr")).await.unwrap();
    /// assert!(proxy.addr().ip().is_loopback());
    /// # }
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL to give the client: `http://127.0.0.1:PORT` plus the upstream base path.
    ///
    /// ```
    /// # use openai_sdk::testing::{RecordingProxy, ScriptedServer};
    /// # #[tokio::main] async fn main() {
    /// # let upstream = ScriptedServer::start().await;
    /// # let proxy = RecordingProxy::start(&upstream.base_url(), std::env::temp_dir().join("openai-sdk-doc-proxy-base")).await.unwrap();
    /// assert_eq!(proxy.base_url(), format!("http://{}/v1", proxy.addr()));
    /// # }
    /// ```
    pub fn base_url(&self) -> String {
        format!("http://{}{}", self.addr, self.base_path)
    }

    /// The full proxy URL of an absolute `path` (a missing leading `/` is added).
    ///
    /// ```
    /// # use openai_sdk::testing::{RecordingProxy, ScriptedServer};
    /// # #[tokio::main] async fn main() {
    /// # let upstream = ScriptedServer::start().await;
    /// # let proxy = RecordingProxy::start(&upstream.base_url(), std::env::temp_dir().join("openai-sdk-doc-proxy-url")).await.unwrap();
    /// assert_eq!(proxy.url("/v1/models"), format!("{}/models", proxy.base_url()));
    /// # }
    /// ```
    pub fn url(&self, path: &str) -> String {
        if path.starts_with('/') {
            format!("http://{}{}", self.addr, path)
        } else {
            format!("http://{}/{}", self.addr, path)
        }
    }

    /// The directory exchanges are written to.
    ///
    /// ```
    /// # use openai_sdk::testing::{RecordingProxy, ScriptedServer};
    /// # #[tokio::main] async fn main() {
    /// # let upstream = ScriptedServer::start().await;
    /// let dir = std::env::temp_dir().join("openai-sdk-doc-proxy-dir");
    /// let proxy = RecordingProxy::start(&upstream.base_url(), &dir).await.unwrap();
    /// assert_eq!(proxy.out_dir(), dir.as_path());
    /// # }
    /// ```
    pub fn out_dir(&self) -> &Path {
        &self.shared.out_dir
    }

    /// The manifests written so far, in the order they were written.
    ///
    /// ```
    /// # use openai_sdk::testing::{RecordingProxy, ScriptedServer};
    /// # #[tokio::main] async fn main() {
    /// # let upstream = ScriptedServer::start().await;
    /// # let proxy = RecordingProxy::start(&upstream.base_url(), std::env::temp_dir().join("openai-sdk-doc-proxy-ex")).await.unwrap();
    /// for manifest in proxy.exchanges() {
    ///     println!("recorded {}", manifest.display());
    /// }
    /// # }
    /// ```
    pub fn exchanges(&self) -> Vec<PathBuf> {
        lock(&self.shared.written).clone()
    }

    /// Errors met while writing fixtures (an exchange that could not be written is still
    /// forwarded to the client).
    ///
    /// ```
    /// # use openai_sdk::testing::{RecordingProxy, ScriptedServer};
    /// # #[tokio::main] async fn main() {
    /// # let upstream = ScriptedServer::start().await;
    /// # let proxy = RecordingProxy::start(&upstream.base_url(), std::env::temp_dir().join("openai-sdk-doc-proxy-err")).await.unwrap();
    /// assert!(proxy.write_errors().is_empty());
    /// # }
    /// ```
    pub fn write_errors(&self) -> Vec<String> {
        lock(&self.shared.write_errors).clone()
    }

    /// Sets a hook that may rewrite each body before it is written to a fixture (the client
    /// still gets the body unchanged): return `Some(bytes)` to write those instead, `None`
    /// to keep the body. It runs for the request body (`status` is `None`) and for the
    /// response body, after the built-in redaction (see below); a later call replaces the
    /// hook.
    ///
    /// Built in, always: in JSON bodies, the string of every `client_secret` member (or its
    /// `value`, when it is an object) becomes `"REDACTED"`, and so does the top-level `value`
    /// of a `/realtime/client_secrets` answer: those are credentials a browser could use.
    ///
    /// ```
    /// use openai_sdk::testing::{RecordingProxy, ScriptedServer};
    /// # #[tokio::main] async fn main() {
    /// # let upstream = ScriptedServer::start().await;
    /// let dir = std::env::temp_dir().join("openai-sdk-doc-proxy-redact");
    /// let proxy = RecordingProxy::start(&upstream.base_url(), &dir)
    ///     .await
    ///     .unwrap()
    ///     .redact_bodies(|body| {
    ///         // Hide an e-mail address the test account's answers contain.
    ///         let text = std::str::from_utf8(body.body).ok()?;
    ///         text.contains("me@example.com")
    ///             .then(|| text.replace("me@example.com", "user@example.com").into_bytes())
    ///     });
    /// # let _ = proxy;
    /// # }
    /// ```
    #[must_use]
    pub fn redact_bodies(
        self,
        hook: impl Fn(&FixtureBody<'_>) -> Option<Vec<u8>> + Send + Sync + 'static,
    ) -> Self {
        *lock(&self.shared.redactor) = Some(Arc::new(hook));
        self
    }

    /// Waits until at least `count` exchanges have been written; `false` on timeout.
    ///
    /// ```
    /// # use openai_sdk::testing::{RecordingProxy, ScriptedServer};
    /// # #[tokio::main] async fn main() {
    /// # let upstream = ScriptedServer::start().await;
    /// # let proxy = RecordingProxy::start(&upstream.base_url(), std::env::temp_dir().join("openai-sdk-doc-proxy-wait")).await.unwrap();
    /// assert!(proxy.wait_for_exchanges(0, std::time::Duration::ZERO).await);
    /// # }
    /// ```
    pub async fn wait_for_exchanges(&self, count: usize, timeout: Duration) -> bool {
        let mut changes = self.shared.version.subscribe();
        let wait = async {
            loop {
                if lock(&self.shared.written).len() >= count {
                    return;
                }
                if changes.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::time::timeout(timeout, wait).await.is_ok()
    }
}

/// The highest `NNNN-` prefix among the files of `dir` (0 if none).
fn highest_number(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().to_str()?.to_string();
            let (number, _) = name.split_once('-')?;
            number.parse::<usize>().ok()
        })
        .max()
        .unwrap_or(0)
}

/// `post-v1-chat-completions` for `POST /v1/chat/completions`.
fn slug(method: &str, path: &str) -> String {
    let mut slug = method.to_ascii_lowercase();
    for c in path.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    slug.chars().take(80).collect()
}

async fn proxy_accept_loop(listener: TcpListener, shared: Arc<ProxyShared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let shared = Arc::clone(&shared);
                    connections.spawn(async move {
                        let service = service_fn(move |request| proxy_handle(Arc::clone(&shared), request));
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

fn header_pairs(headers: &HeaderMap, keep: impl Fn(&str) -> bool) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| keep(name.as_str()))
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

fn proxy_error(status: StatusCode, message: String) -> Response<RecordingBody> {
    let mut response = Response::new(RecordingBody::Fixed(Some(error_body(
        &message,
        "recording_proxy_error",
        None,
    ))));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

async fn proxy_handle(
    shared: Arc<ProxyShared>,
    request: Request<Incoming>,
) -> Result<Response<RecordingBody>, BoxError> {
    let (parts, incoming) = request.into_parts();
    let request_body = incoming.collect().await?.to_bytes();

    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    let mut target = shared.upstream.clone();
    target.set_query(None);
    target.set_fragment(None);
    let target = format!(
        "{}{}",
        target.origin().ascii_serialization(),
        path_and_query
    );

    let mut forwarded = HeaderMap::new();
    for (name, value) in &parts.headers {
        if !NOT_FORWARDED
            .iter()
            .any(|h| name.as_str().eq_ignore_ascii_case(h))
        {
            forwarded.append(name.clone(), value.clone());
        }
    }
    let upstream_response = match shared
        .client
        .request(parts.method.clone(), &target)
        .headers(forwarded)
        .body(request_body.clone())
        .send()
        .await
    {
        Ok(response) => response,
        Err(err) => {
            return Ok(proxy_error(
                StatusCode::BAD_GATEWAY,
                format!(
                    "the recording proxy could not reach {}: {}",
                    crate::error::redact_url_text(&target),
                    crate::error::transport_message(&err)
                ),
            ))
        }
    };

    let status = upstream_response.status();
    let upstream_headers = upstream_response.headers().clone();
    let number = shared.next_number.fetch_add(1, Ordering::SeqCst);
    let stem = format!(
        "{number:04}-{}",
        slug(parts.method.as_str(), parts.uri.path())
    );

    let mut exchange =
        RecordedExchange::new(parts.method.as_str(), parts.uri.path(), status.as_u16());
    exchange.query = parts.uri.query().map(redact_query);
    exchange.headers = header_pairs(&upstream_headers, |name| {
        !is_redacted(name) && !is_framing_header(name)
    });
    exchange.request = Some(ExchangeRequest {
        headers: header_pairs(&parts.headers, |name| {
            !is_redacted(name) && !NOT_FORWARDED.contains(&name)
        }),
        body_file: None,
    });

    let mut response = Response::new(RecordingBody::Upstream(Box::new(Upstream {
        stream: Box::pin(upstream_response.bytes_stream()),
        collected: Vec::new(),
        record: Some(PendingRecord {
            shared: Arc::clone(&shared),
            stem,
            exchange,
            request_body,
        }),
    })));
    *response.status_mut() = status;
    for (name, value) in &upstream_headers {
        if !is_framing_header(name.as_str()) {
            response
                .headers_mut()
                .append(HeaderName::clone(name), value.clone());
        }
    }
    Ok(response)
}

/// An exchange waiting for its response body to end before it is written.
struct PendingRecord {
    shared: Arc<ProxyShared>,
    stem: String,
    exchange: RecordedExchange,
    request_body: Bytes,
}

impl PendingRecord {
    fn finish(mut self, response_body: &[u8], complete: bool) {
        let dir = self.shared.out_dir.clone();
        let hook = lock(&self.shared.redactor).clone();
        let redact = |status: Option<u16>, body: &[u8]| -> Vec<u8> {
            let mut view = FixtureBody {
                method: &self.exchange.method,
                path: &self.exchange.path,
                status,
                body,
            };
            let known = redact_known_secrets(&view);
            if let Some(known) = &known {
                view.body = known;
            }
            match hook.as_ref().and_then(|hook| hook(&view)) {
                Some(replaced) => replaced,
                None => view.body.to_vec(),
            }
        };
        let request_body = redact(None, &self.request_body);
        let response_body = redact(Some(self.exchange.status), response_body);
        let result = (|| -> Result<PathBuf, String> {
            if !request_body.is_empty() {
                let file = format!("{}.request.body", self.stem);
                write_private(&dir.join(&file), &request_body)
                    .map_err(|e| format!("{}: {e}", dir.join(&file).display()))?;
                if let Some(request) = &mut self.exchange.request {
                    request.body_file = Some(file);
                }
            }
            let file = format!("{}.response.body", self.stem);
            write_private(&dir.join(&file), &response_body)
                .map_err(|e| format!("{}: {e}", dir.join(&file).display()))?;
            self.exchange.body_file = Some(file);
            self.exchange.complete = complete;
            self.exchange
                .write_manifest(&dir, &self.stem)
                .map_err(|e| e.to_string())
        })();
        match result {
            Ok(path) => lock(&self.shared.written).push(path),
            Err(err) => lock(&self.shared.write_errors).push(err),
        }
        self.shared.changed();
    }
}

struct Upstream {
    stream: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    collected: Vec<u8>,
    record: Option<PendingRecord>,
}

/// The body the proxy sends back: either its own error, or the upstream body, passed through
/// piece by piece and recorded.
enum RecordingBody {
    Fixed(Option<Bytes>),
    Upstream(Box<Upstream>),
}

impl Body for RecordingBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            RecordingBody::Fixed(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            RecordingBody::Upstream(upstream) => loop {
                match upstream.stream.as_mut().poll_next(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Some(Ok(data))) => {
                        if data.is_empty() {
                            continue;
                        }
                        upstream.collected.extend_from_slice(&data);
                        return Poll::Ready(Some(Ok(Frame::data(data))));
                    }
                    Poll::Ready(Some(Err(err))) => {
                        if let Some(record) = upstream.record.take() {
                            record.finish(&upstream.collected, false);
                        }
                        return Poll::Ready(Some(Err(err.into())));
                    }
                    Poll::Ready(None) => {
                        if let Some(record) = upstream.record.take() {
                            record.finish(&upstream.collected, true);
                        }
                        return Poll::Ready(None);
                    }
                }
            },
        }
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        if let Some(record) = self.record.take() {
            record.finish(&self.collected, false);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn slugs_are_file_name_safe() {
        assert_eq!(
            super::slug("POST", "/v1/chat/completions"),
            "post-v1-chat-completions"
        );
        assert_eq!(
            super::slug("GET", "/v1/files/file_abc/content"),
            "get-v1-files-file_abc-content"
        );
        assert_eq!(super::slug("GET", "/"), "get");
    }
}
