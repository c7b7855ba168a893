//! Retries with backoff, and the tracing span around every request.
//!
//! The policy follows the official SDKs: by default two retries, for connection errors and
//! for HTTP 408, 409, 429 and 5xx. The server can steer it: `x-should-retry: true|false`
//! forces the decision, `retry-after-ms` and `Retry-After` (seconds or an HTTP date) set
//! the delay when it is reasonable (at most 60 s); otherwise the delay grows
//! exponentially from 0.5 s to at most 8 s, with up to 25 % jitter taken off.
//!
//! A request other than `GET`/`HEAD` carries an `Idempotency-Key` header, made once per
//! call (`openai-sdk-rust-retry-<uuid>`, unless the request already has one), so every
//! attempt of the call sends the same key. Timeouts are retried like connection errors, as
//! in the official SDKs; [`RetryPolicy::retry_after_send`]`(false)` retries such a request
//! only when nothing was sent or the server answered.
//!
//! A request whose body cannot be replayed (an upload streamed from a reader) is sent once.
//! Streams are retried only until their response headers arrive: once a stream has
//! yielded an event, it is never sent again.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;
use tracing::Instrument;

/// What the client does when a request fails in a way that may pass on a second try.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Retries after the first attempt (default 2).
    pub max_retries: u32,
    /// The first backoff delay (default 0.5 s).
    pub initial_delay: Duration,
    /// The longest backoff delay (default 8 s).
    pub max_delay: Duration,
    /// Compute and report delays but do not wait them out (for tests; see
    /// `ClientBuilder::skip_retry_waits` with the `testing` feature).
    pub(crate) skip_waits: bool,
    /// Whether a request other than `GET`/`HEAD` is retried after an error raised once it
    /// may have reached the server (a read timeout, a connection reset mid-answer), default
    /// `true` as in the official SDKs. See [`retry_after_send`](Self::retry_after_send).
    pub retry_after_send: bool,
}

impl RetryPolicy {
    /// A policy with `max_retries` retries and the default backoff.
    pub fn new(max_retries: u32) -> Self {
        RetryPolicy {
            max_retries,
            ..Self::default()
        }
    }
    /// Whether a request other than `GET`/`HEAD` is retried after a transport error that
    /// happened once the request may have reached the server: a timeout while waiting for
    /// the answer, or the connection failing after the request was written.
    ///
    /// `true` (the default, as in the official SDKs): such a request is sent again, with the
    /// same `Idempotency-Key` header on every attempt so that a server that honours it does
    /// the work once. `false`: it is retried only when nothing was sent (the connection
    /// could not be opened) or the server answered (429, 5xx, ...); a create that timed out
    /// fails with [`Error::Timeout`](crate::Error::Timeout) instead of possibly running
    /// twice. `GET` and `HEAD` requests are retried either way.
    ///
    /// ```
    /// use openai_sdk::retry::RetryPolicy;
    /// let client = openai_sdk::ClientBuilder::empty()
    ///     .api_key("k")
    ///     .retry_policy(RetryPolicy::default().retry_after_send(false))
    ///     .build()
    ///     .unwrap();
    /// # let _ = client;
    /// ```
    #[must_use]
    pub fn retry_after_send(mut self, retry: bool) -> Self {
        self.retry_after_send = retry;
        self
    }

    /// Sets the backoff bounds.
    #[must_use]
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_delay = initial;
        self.max_delay = max;
        self
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 2,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            skip_waits: false,
            retry_after_send: true,
        }
    }
}

/// One retry about to happen, as reported to [`ClientBuilder::on_retry`](crate::ClientBuilder::on_retry).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RetryEvent {
    /// The attempt that failed, from 1.
    pub attempt: u32,
    /// How long the client waits before the next attempt.
    pub delay: Duration,
    /// The status that failed, or `None` for a connection error.
    pub status: Option<u16>,
    /// Why: the status, or the connection error's message.
    pub reason: String,
}

/// Called before each retry (for metrics and tests).
pub type RetryHook = std::sync::Arc<dyn Fn(&RetryEvent) + Send + Sync>;

/// Whether a status is worth a retry, unless the server says otherwise.
pub(crate) fn retryable_status(status: u16) -> bool {
    matches!(status, 408 | 409 | 429) || status >= 500
}

/// The longest delay a server can ask for through `retry-after-ms` or `Retry-After`; a
/// longer (or invalid) one is ignored and the client's own backoff applies instead.
pub const MAX_SERVER_DELAY: Duration = Duration::from_secs(60);

/// The server's say on retrying: `x-should-retry: true|false` (surrounding whitespace
/// allowed); `None` when the header is absent or says anything else.
///
/// ```
/// use openai_sdk::retry::should_retry_header;
/// use reqwest::header::{HeaderMap, HeaderValue};
///
/// let mut headers = HeaderMap::new();
/// headers.insert("x-should-retry", HeaderValue::from_static("false"));
/// assert_eq!(should_retry_header(&headers), Some(false));
/// headers.insert("x-should-retry", HeaderValue::from_static("maybe"));
/// assert_eq!(should_retry_header(&headers), None);
/// ```
pub fn should_retry_header(h: &HeaderMap) -> Option<bool> {
    match h.get("x-should-retry")?.to_str().ok()?.trim() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// The delay a response's headers ask for before the next attempt, as the client reads them:
/// `retry-after-ms` (milliseconds, a decimal number), else `Retry-After` (seconds, or an
/// HTTP date compared with `now`; a date in the past means no delay).
///
/// Any header value gives a delay of at most [`MAX_SERVER_DELAY`] or `None`: negative,
/// infinite, NaN, huge, empty, non-ASCII or malformed values are ignored (the client then
/// uses its own backoff). This never panics.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use openai_sdk::retry::server_delay;
/// use reqwest::header::{HeaderMap, HeaderValue};
///
/// let mut headers = HeaderMap::new();
/// headers.insert("retry-after-ms", HeaderValue::from_static("1e23"));
/// headers.insert("retry-after", HeaderValue::from_static("2"));
/// // The huge `retry-after-ms` is ignored; `Retry-After` is used.
/// assert_eq!(server_delay(&headers, SystemTime::now()), Some(Duration::from_secs(2)));
/// ```
pub fn server_delay(h: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if let Some(ms) = h
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        && let Some(d) = bounded_secs(ms / 1000.0)
    {
        return Some(d);
    }
    let ra = h.get("retry-after")?.to_str().ok()?.trim();
    if let Ok(secs) = ra.parse::<f64>() {
        return bounded_secs(secs);
    }
    let when = httpdate::parse_http_date(ra).ok()?;
    let d = when.duration_since(now).unwrap_or(Duration::ZERO);
    (d <= MAX_SERVER_DELAY).then_some(d)
}

/// `secs` as a duration if it is a number from 0 to [`MAX_SERVER_DELAY`]: checked before the
/// conversion, which panics on values that do not fit a `Duration`.
fn bounded_secs(secs: f64) -> Option<Duration> {
    if !(secs >= 0.0 && secs <= MAX_SERVER_DELAY.as_secs_f64()) {
        return None;
    }
    // `abs`: `-0` is a valid zero.
    Duration::try_from_secs_f64(secs.abs()).ok()
}

/// Exponential backoff for retry number `retry` (0 for the first), jitter taken off. Any
/// policy gives a delay (`Duration::MAX` bounds saturate, they do not panic).
pub(crate) fn backoff(policy: &RetryPolicy, retry: u32, jitter: f64) -> Duration {
    let factor = 1u32 << retry.min(30);
    let base = policy
        .initial_delay
        .saturating_mul(factor)
        .min(policy.max_delay);
    // A quarter at most is taken off, so the product fits; `try_` only guards the conversion.
    let off = Duration::try_from_secs_f64(base.as_secs_f64() * 0.25 * jitter.clamp(0.0, 1.0))
        .unwrap_or(Duration::ZERO);
    base.saturating_sub(off)
}

fn jitter() -> f64 {
    // Cheap and good enough to spread clients apart: no need for a random-number crate.
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    f64::from(nanos % 1000) / 1000.0
}

/// Whether to retry after an answer, its status, a reason for the logs and the delay the
/// server asks for.
fn answer_decision(
    status: u16,
    headers: &HeaderMap,
) -> (bool, Option<u16>, String, Option<Duration>) {
    let retry = should_retry_header(headers).unwrap_or_else(|| retryable_status(status));
    let delay = server_delay(headers, SystemTime::now());
    (
        retry && !(200..300).contains(&status),
        Some(status),
        format!("HTTP {status}"),
        delay,
    )
}

/// Whether to retry after a transport error (connection, timeout, request not sent).
/// `GET` and `HEAD` change nothing on the server: sending them twice is harmless.
fn is_safe(method: &reqwest::Method) -> bool {
    *method == reqwest::Method::GET || *method == reqwest::Method::HEAD
}

/// The header that lets the server recognize attempts of one call.
pub(crate) const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// A fresh key for one call: `openai-sdk-rust-retry-` and 128 random bits as a UUID.
///
/// Unique, not secret: the bits come from std's per-process random hasher keys, a counter
/// and the clock, so no random-number crate is needed.
pub(crate) fn new_idempotency_key() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let half = |salt: u64| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(salt);
        h.write_u64(n);
        h.write_u128(nanos);
        h.finish()
    };
    let (a, b) = (half(0x5eed_0001), half(0x5eed_0002));
    // UUID version 4 layout.
    let a = (a & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_4000;
    let b = (b & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    format!(
        "openai-sdk-rust-retry-{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

/// Gives a request other than `GET`/`HEAD` its `Idempotency-Key`, once per call so that
/// every attempt carries the same one: a key the request already has (from
/// `RequestOptions::idempotency_key` or a default header) wins, else a fresh one. Returns
/// the key, for requests rebuilt between attempts.
pub(crate) fn idempotency_key(
    method: &reqwest::Method,
    headers: &mut HeaderMap,
) -> Option<reqwest::header::HeaderValue> {
    if is_safe(method) {
        return None;
    }
    if let Some(existing) = headers.get(IDEMPOTENCY_KEY) {
        return Some(existing.clone());
    }
    let value = reqwest::header::HeaderValue::from_str(&new_idempotency_key()).ok()?;
    headers.insert(IDEMPOTENCY_KEY, value.clone());
    Some(value)
}

fn error_decision(
    policy: &RetryPolicy,
    method: &reqwest::Method,
    e: &reqwest::Error,
) -> (bool, Option<u16>, String, Option<Duration>) {
    // A connect error (a connect timeout included) means nothing reached the server.
    let may_have_been_sent = !e.is_connect();
    let allowed = policy.retry_after_send || is_safe(method) || !may_have_been_sent;
    (
        allowed && (e.is_connect() || e.is_timeout() || e.is_request()),
        None,
        // With its causes, and without credentials a base URL may carry.
        crate::error::transport_message(e),
        None,
    )
}

/// The delay before retry number `attempt` (the server's, else backoff with jitter),
/// logged and reported to the hook.
fn announce(
    policy: &RetryPolicy,
    hook: Option<&RetryHook>,
    attempt: u32,
    server_delay: Option<Duration>,
    status: Option<u16>,
    reason: String,
) -> Duration {
    let delay = server_delay.unwrap_or_else(|| backoff(policy, attempt - 1, jitter()));
    let event = RetryEvent {
        attempt,
        delay,
        status,
        reason,
    };
    tracing::info!(attempt, delay_ms = delay.as_millis() as u64, reason = %event.reason, "retrying");
    if let Some(h) = hook {
        h(&event);
    }
    delay
}

fn request_span(method: &reqwest::Method, url: &reqwest::Url) -> tracing::Span {
    tracing::info_span!(
        "openai.request",
        method = %method,
        path = %url.path(),
        status = tracing::field::Empty,
        request_id = tracing::field::Empty,
        retries = tracing::field::Empty,
    )
}

fn record_outcome(
    span: &tracing::Span,
    status: Option<u16>,
    headers: Option<&HeaderMap>,
    retries: u32,
) {
    if let Some(status) = status {
        span.record("status", status);
    }
    if let Some(id) = headers
        .and_then(|h| h.get("x-request-id"))
        .and_then(|v| v.to_str().ok())
    {
        span.record("request_id", id);
    }
    span.record("retries", retries);
}

/// The blocking form of [`execute`] (feature `blocking`): the same policy, decisions,
/// hook and tracing span; the waits block the thread.
#[cfg(feature = "blocking")]
pub(crate) fn execute_blocking(
    http: &reqwest::blocking::Client,
    policy: &RetryPolicy,
    hook: Option<&RetryHook>,
    auth: Option<&crate::client::Config>,
    first: reqwest::blocking::Request,
) -> reqwest::Result<reqwest::blocking::Response> {
    let span = request_span(first.method(), first.url());
    let _entered = span.enter();
    let mut request = first;
    let method = request.method().clone();
    idempotency_key(&method, request.headers_mut());
    let mut attempt: u32 = 1;
    loop {
        let spare = if attempt <= policy.max_retries {
            request.try_clone()
        } else {
            None
        };
        let result = http.execute(request);
        let (retry, status, reason, delay) = match &result {
            Ok(resp) => answer_decision(resp.status().as_u16(), resp.headers()),
            Err(e) => error_decision(policy, &method, e),
        };
        let spare = spare.and_then(|mut again| {
            let auth = auth.filter(|c| retry && c.asks_providers());
            match auth.map(|c| c.reauthorize_blocking(&mut again)) {
                Some(Err(e)) => {
                    not_reauthorized(&e);
                    None
                }
                _ => Some(again),
            }
        });
        if let (true, Some(again)) = (retry && attempt <= policy.max_retries, spare) {
            let delay = announce(policy, hook, attempt, delay, status, reason);
            drop(result);
            if !policy.skip_waits {
                std::thread::sleep(delay);
            }
            request = again;
            attempt += 1;
            continue;
        }
        let headers = result.as_ref().ok().map(|r| r.headers());
        record_outcome(&span, status, headers, attempt - 1);
        return result;
    }
}

/// Sends `request` with the client's retry policy, inside a tracing span that records the
/// method, path, status, request id and retry count (never the key). A request whose body
/// cannot be cloned (a stream) is sent once.
///
/// With `auth`, a token provider is asked again before each retry (the first attempt was
/// authorized by `Config::prepare`); when it fails, the retry is not made.
pub(crate) async fn execute(
    http: &reqwest::Client,
    policy: &RetryPolicy,
    hook: Option<&RetryHook>,
    auth: Option<&crate::client::Config>,
    request: reqwest::Request,
) -> reqwest::Result<reqwest::Response> {
    execute_with(http, policy, hook, auth, request, None).await
}

/// A token provider failed before a retry: the retry is not made, and the previous
/// attempt's outcome is returned.
fn not_reauthorized(e: &crate::Error) {
    tracing::warn!(error = %e, "not retried: the token provider failed");
}

/// Builds the request again for a retry, or `None` when it cannot.
pub(crate) type Rebuild<'a> = Box<
    dyn FnMut() -> Pin<Box<dyn Future<Output = Option<reqwest::Request>> + Send + 'a>> + Send + 'a,
>;

#[cfg(sends_forms)]
/// Like [`execute`], for requests rebuilt on each attempt (multipart forms, whose bodies
/// are streams).
pub(crate) async fn execute_rebuilt(
    http: &reqwest::Client,
    policy: &RetryPolicy,
    hook: Option<&RetryHook>,
    first: reqwest::Request,
    rebuild: Rebuild<'_>,
) -> reqwest::Result<reqwest::Response> {
    // The rebuilt request goes through `Config::prepare` again, provider included.
    execute_with(http, policy, hook, None, first, Some(rebuild)).await
}

// No async closures here: their futures defeat the `Send` inference of every caller.
async fn execute_with(
    http: &reqwest::Client,
    policy: &RetryPolicy,
    hook: Option<&RetryHook>,
    auth: Option<&crate::client::Config>,
    first: reqwest::Request,
    mut rebuild: Option<Rebuild<'_>>,
) -> reqwest::Result<reqwest::Response> {
    let span = request_span(first.method(), first.url());
    let fut = async {
        let mut request = first;
        let method = request.method().clone();
        let key = idempotency_key(&method, request.headers_mut());
        let mut attempt: u32 = 1;
        loop {
            let spare = if rebuild.is_none() && attempt <= policy.max_retries {
                request.try_clone()
            } else {
                None
            };
            let result = http.execute(request).await;
            let (retry, status, reason, delay) = match &result {
                Ok(resp) => answer_decision(resp.status().as_u16(), resp.headers()),
                Err(e) => error_decision(policy, &method, e),
            };
            if retry && attempt <= policy.max_retries {
                let again = match rebuild.as_mut() {
                    Some(make) => make().await.map(|mut r| {
                        if let Some(k) = &key {
                            r.headers_mut().insert(IDEMPOTENCY_KEY, k.clone());
                        }
                        r
                    }),
                    None => spare,
                };
                let again = match (again, auth.filter(|c| c.asks_providers())) {
                    (Some(mut again), Some(c)) => match c.reauthorize(&mut again).await {
                        Ok(()) => Some(again),
                        Err(e) => {
                            not_reauthorized(&e);
                            None
                        }
                    },
                    (again, _) => again,
                };
                if let Some(again) = again {
                    let delay = announce(policy, hook, attempt, delay, status, reason);
                    drop(result);
                    if !policy.skip_waits {
                        tokio::time::sleep(delay).await;
                    }
                    request = again;
                    attempt += 1;
                    continue;
                }
            }
            let headers = result.as_ref().ok().map(|r| r.headers());
            record_outcome(&tracing::Span::current(), status, headers, attempt - 1);
            return result;
        }
    };
    fut.instrument(span).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn server_delays() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            server_delay(&headers(&[("retry-after-ms", "250")]), now),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            server_delay(&headers(&[("retry-after", "2")]), now),
            Some(Duration::from_secs(2))
        );
        let date = httpdate::fmt_http_date(now + Duration::from_secs(5));
        assert_eq!(
            server_delay(&headers(&[("retry-after", &date)]), now),
            Some(Duration::from_secs(5))
        );
        // Unreasonable or invalid values fall back to backoff.
        assert_eq!(
            server_delay(&headers(&[("retry-after", "3600")]), now),
            None
        );
        assert_eq!(
            server_delay(&headers(&[("retry-after", "soon")]), now),
            None
        );
        assert_eq!(
            server_delay(&headers(&[("retry-after-ms", "-5")]), now),
            None
        );
        assert_eq!(server_delay(&headers(&[]), now), None);
    }

    #[test]
    fn any_header_value_gives_a_bounded_delay_or_none() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let values: &[&[u8]] = &[
            b"1e23",
            b"1e308",
            b"-1e308",
            b"inf",
            b"-inf",
            b"infinity",
            b"NaN",
            b"nan",
            b"-1",
            b"-0",
            b"",
            b"  ",
            b"60000.0000001",
            b"1e-400",
            b"0x10",
            b"\xe9",
            "\u{e9}".as_bytes(),
            b"\xff\xfe",
            b"18446744073709551616",
            b"9999999999999999999999",
            b"60.5",
        ];
        for value in values {
            let value = HeaderValue::from_bytes(value).unwrap();
            for name in ["retry-after-ms", "retry-after"] {
                let mut h = HeaderMap::new();
                h.insert(name, value.clone());
                if let Some(d) = server_delay(&h, now) {
                    assert!(d <= MAX_SERVER_DELAY, "{name}: {value:?} gave {d:?}");
                }
                h.insert("x-should-retry", value.clone());
                assert_eq!(should_retry_header(&h), None, "{value:?}");
            }
            // A bad `retry-after-ms` falls back to `Retry-After`.
            let mut h = HeaderMap::new();
            h.insert("retry-after-ms", value.clone());
            h.insert("retry-after", HeaderValue::from_static("3"));
            let d = server_delay(&h, now).unwrap();
            assert!(d <= MAX_SERVER_DELAY, "{value:?} gave {d:?}");
        }
        let one =
            |name: &'static str, value: &'static str| server_delay(&headers(&[(name, value)]), now);
        for bad in ["1e23", "1e308", "inf", "NaN", "-1", "", "60001", "abc"] {
            assert_eq!(one("retry-after-ms", bad), None, "{bad}");
        }
        assert_eq!(one("retry-after-ms", "60000"), Some(MAX_SERVER_DELAY));
        assert_eq!(one("retry-after-ms", "-0"), Some(Duration::ZERO));
        assert_eq!(
            one("retry-after-ms", " 1.5 "),
            Some(Duration::from_micros(1500))
        );
        for bad in ["1e308", "NaN", "-1", "61", "inf"] {
            assert_eq!(one("retry-after", bad), None, "{bad}");
        }
        assert_eq!(one("retry-after", "60"), Some(MAX_SERVER_DELAY));
        assert_eq!(
            one("retry-after", "Thu, 01 Jan 1970 00:00:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(one("retry-after", "Fri, 31 Dec 9999 23:59:59 GMT"), None);
        let h = headers(&[("retry-after-ms", "1e23"), ("retry-after", "2")]);
        assert_eq!(server_delay(&h, now), Some(Duration::from_secs(2)));
    }

    #[test]
    fn backoff_saturates_instead_of_panicking() {
        let huge = RetryPolicy::default().backoff(Duration::MAX, Duration::MAX);
        assert_eq!(backoff(&huge, 0, 0.0), Duration::MAX);
        assert!(backoff(&huge, 30, 1.0) >= Duration::MAX / 4 * 3);
        assert!(backoff(&huge, u32::MAX, f64::NAN) > Duration::ZERO);
        let capped = RetryPolicy::default().backoff(Duration::from_secs(1), Duration::MAX);
        assert_eq!(
            backoff(&capped, u32::MAX, 0.0),
            Duration::from_secs(1 << 30)
        );
        let zero = RetryPolicy::default().backoff(Duration::ZERO, Duration::ZERO);
        assert_eq!(backoff(&zero, 5, 0.5), Duration::ZERO);
        // An initial delay above the maximum is capped by it.
        let inverted =
            RetryPolicy::default().backoff(Duration::from_secs(10), Duration::from_secs(1));
        assert_eq!(backoff(&inverted, 0, 0.0), Duration::from_secs(1));
    }

    #[test]
    fn backoff_grows_and_caps() {
        let p = RetryPolicy::default();
        assert_eq!(backoff(&p, 0, 0.0), Duration::from_millis(500));
        assert_eq!(backoff(&p, 1, 0.0), Duration::from_secs(1));
        assert_eq!(backoff(&p, 10, 0.0), Duration::from_secs(8));
        assert_eq!(backoff(&p, 0, 1.0), Duration::from_millis(375));
    }

    #[test]
    fn statuses() {
        for s in [408, 409, 429, 500, 502, 503] {
            assert!(retryable_status(s), "{s}");
        }
        for s in [400, 401, 403, 404, 422] {
            assert!(!retryable_status(s), "{s}");
        }
        assert_eq!(
            should_retry_header(&headers(&[("x-should-retry", "false")])),
            Some(false)
        );
    }
}
