//! What a scripted route answers: [`Reply`], and how its body is delivered
//! ([`Chunking`], [`Fault`], [`Gate`]); SSE bodies are built from [`SseEvent`]s.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use tokio::sync::Semaphore;

/// One scripted HTTP response: status, headers, body, and how the body is delivered.
///
/// A `Reply` is a plain value: build it with one of the constructors, adjust it with the
/// builder methods, and hand it to [`Route::respond`](super::Route::respond).
///
/// By default the whole body is written at once with a `content-length` header. As soon as
/// the body is cut into several pieces ([`Reply::chunking`]), delayed ([`Reply::chunk_delay`]),
/// gated ([`Reply::gate`]) or faulted ([`Reply::fault`]), it is sent with chunked transfer
/// encoding instead, each piece flushed on its own, so the bytes really arrive in pieces.
///
/// ```
/// use openai_sdk::testing::{Chunking, Reply, SseEvent};
/// use serde_json::json;
/// use std::time::Duration;
///
/// // A JSON body.
/// let ok = Reply::json(200, json!({"id": "chatcmpl-1", "object": "chat.completion"}));
/// // A rate limit with a retry hint.
/// let limited = Reply::openai_error(429, "rate_limit_exceeded", "slow down").header("retry-after", "2");
/// // An event stream, one event per network write, 10 ms apart.
/// let stream = Reply::sse_events([json!({"choices": []}).into(), SseEvent::done()])
///     .chunking(Chunking::Events)
///     .chunk_delay(Duration::from_millis(10));
/// # let _ = (ok, limited, stream);
/// ```
#[derive(Clone, Debug)]
pub struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Bytes,
    pub(crate) chunking: Chunking,
    pub(crate) header_delay: Option<Duration>,
    pub(crate) chunk_delay: Option<Duration>,
    pub(crate) faults: Vec<Fault>,
    pub(crate) gate: Option<Gate>,
    pub(crate) content_length: Option<bool>,
    pub(crate) never: bool,
}

impl Reply {
    /// A reply with the given status, no headers and an empty body.
    ///
    /// ```
    /// use openai_sdk::testing::Reply;
    /// let reply = Reply::status(429).header("retry-after", "2");
    /// assert_eq!(reply.status_code(), 429);
    /// ```
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
            chunking: Chunking::Whole,
            header_delay: None,
            chunk_delay: None,
            faults: Vec::new(),
            gate: None,
            content_length: None,
            never: false,
        }
    }

    /// A JSON reply (`content-type: application/json`) with `value` serialized as its body.
    ///
    /// If `value` cannot be serialized, the reply becomes a 500 whose error message says why.
    ///
    /// ```
    /// use openai_sdk::testing::Reply;
    /// let reply = Reply::json(200, serde_json::json!({"object": "list", "data": []}));
    /// let body: serde_json::Value = serde_json::from_slice(reply.body_bytes()).unwrap();
    /// assert_eq!(body, serde_json::json!({"data": [], "object": "list"}));
    /// ```
    pub fn json(status: u16, value: impl Serialize) -> Reply {
        match serde_json::to_vec(&value) {
            Ok(body) => Reply::status(status)
                .header("content-type", "application/json")
                .body(body),
            Err(err) => Reply::script_error(format!("could not serialize the JSON reply: {err}")),
        }
    }

    /// A `text/plain; charset=utf-8` reply.
    ///
    /// ```
    /// use openai_sdk::testing::Reply;
    /// let reply = Reply::text(502, "Bad Gateway");
    /// assert_eq!(reply.body_bytes(), &b"Bad Gateway"[..]);
    /// ```
    pub fn text(status: u16, text: impl Into<String>) -> Reply {
        Reply::status(status)
            .header("content-type", "text/plain; charset=utf-8")
            .body(text.into())
    }

    /// A reply with a raw body and no content type (add one with [`Reply::header`]).
    ///
    /// ```
    /// use openai_sdk::testing::Reply;
    /// let reply = Reply::bytes(200, vec![0u8, 1, 2]).header("content-type", "application/octet-stream");
    /// assert_eq!(reply.body_bytes().len(), 3);
    /// ```
    pub fn bytes(status: u16, body: impl Into<Bytes>) -> Reply {
        Reply::status(status).body(body)
    }

    /// An error in the OpenAI API's shape:
    /// `{"error": {"message": ..., "type": ..., "param": null, "code": null}}`.
    ///
    /// ```
    /// use openai_sdk::testing::Reply;
    /// let reply = Reply::openai_error(401, "invalid_request_error", "Incorrect API key provided");
    /// let body: serde_json::Value = serde_json::from_slice(reply.body_bytes()).unwrap();
    /// assert_eq!(body["error"]["type"], "invalid_request_error");
    /// ```
    pub fn openai_error(status: u16, error_type: &str, message: &str) -> Reply {
        Reply::status(status)
            .header("content-type", "application/json")
            .body(error_body(message, error_type, None))
    }

    /// A server-sent event stream (`200`, `content-type: text/event-stream`) made of `events`.
    ///
    /// Anything that converts into an [`SseEvent`] works: a [`serde_json::Value`] becomes a
    /// `data:` line with the compact JSON, a `&str` or `String` becomes raw `data:` lines.
    ///
    /// ```
    /// use openai_sdk::testing::{Reply, SseEvent};
    /// use serde_json::json;
    /// let reply = Reply::sse_events([
    ///     SseEvent::from(json!({"delta": "Hel"})),
    ///     SseEvent::from(json!({"delta": "lo"})),
    ///     SseEvent::done(),
    /// ]);
    /// assert_eq!(
    ///     reply.body_bytes(),
    ///     &b"data: {\"delta\":\"Hel\"}\n\ndata: {\"delta\":\"lo\"}\n\ndata: [DONE]\n\n"[..]
    /// );
    /// ```
    pub fn sse_events<E: Into<SseEvent>>(events: impl IntoIterator<Item = E>) -> Reply {
        let mut body = Vec::new();
        for event in events {
            event.into().write_to(&mut body);
        }
        Reply::sse_raw(body)
    }

    /// A server-sent event stream whose body is exactly `body` (it is not checked or reframed).
    ///
    /// ```
    /// use openai_sdk::testing::Reply;
    /// let reply = Reply::sse_raw("event: ping\ndata: {}\n\n");
    /// assert_eq!(reply.header_value("content-type"), Some("text/event-stream"));
    /// ```
    pub fn sse_raw(body: impl Into<Bytes>) -> Reply {
        Reply::status(200)
            .header("content-type", "text/event-stream")
            .header("cache-control", "no-cache")
            .body(body)
    }

    /// An event stream whose body is the content of the file at `path` (read now).
    ///
    /// If the file cannot be read, the reply becomes a 500 whose error message names the file;
    /// use [`Reply::try_sse_file`] to get the I/O error instead.
    ///
    /// ```
    /// use openai_sdk::testing::Reply;
    /// let path = std::env::temp_dir().join("openai-sdk-doc-sse-file.sse");
    /// std::fs::write(&path, "data: [DONE]\n\n").unwrap();
    /// let reply = Reply::sse_file(&path);
    /// assert_eq!(reply.body_bytes(), &b"data: [DONE]\n\n"[..]);
    /// ```
    pub fn sse_file(path: impl AsRef<Path>) -> Reply {
        Reply::try_sse_file(path.as_ref()).unwrap_or_else(|err| {
            Reply::script_error(format!(
                "could not read SSE fixture {}: {err}",
                path.as_ref().display()
            ))
        })
    }

    /// Like [`Reply::sse_file`], but returns the I/O error if the file cannot be read.
    ///
    /// ```
    /// use openai_sdk::testing::Reply;
    /// assert!(Reply::try_sse_file("/definitely/not/here.sse").is_err());
    /// ```
    pub fn try_sse_file(path: impl AsRef<Path>) -> std::io::Result<Reply> {
        Ok(Reply::sse_raw(std::fs::read(path)?))
    }

    /// A `200` JSON reply whose body is the content of the file at `path` (read now, not parsed).
    ///
    /// If the file cannot be read, the reply becomes a 500 whose error message names the file;
    /// use [`Reply::try_json_file`] to get the I/O error instead.
    ///
    /// ```
    /// use openai_sdk::testing::Reply;
    /// let path = std::env::temp_dir().join("openai-sdk-doc-json-file.json");
    /// std::fs::write(&path, r#"{"object":"list","data":[]}"#).unwrap();
    /// let reply = Reply::json_file(&path);
    /// assert_eq!(reply.header_value("content-type"), Some("application/json"));
    /// ```
    pub fn json_file(path: impl AsRef<Path>) -> Reply {
        Reply::try_json_file(path.as_ref()).unwrap_or_else(|err| {
            Reply::script_error(format!(
                "could not read JSON fixture {}: {err}",
                path.as_ref().display()
            ))
        })
    }

    /// Like [`Reply::json_file`], but returns the I/O error if the file cannot be read.
    ///
    /// ```
    /// use openai_sdk::testing::Reply;
    /// assert!(Reply::try_json_file("/definitely/not/here.json").is_err());
    /// ```
    pub fn try_json_file(path: impl AsRef<Path>) -> std::io::Result<Reply> {
        Ok(Reply::status(200)
            .header("content-type", "application/json")
            .body(std::fs::read(path)?))
    }

    /// A reply that never comes: the server reads the request and then sends nothing, ever,
    /// keeping the connection open (until the client gives up or the server is dropped).
    ///
    /// Use it to test client timeouts.
    ///
    /// ```
    /// use openai_sdk::testing::Reply;
    /// let reply = Reply::never();
    /// # let _ = reply;
    /// ```
    pub fn never() -> Reply {
        Reply {
            never: true,
            ..Reply::status(200)
        }
    }

    /// A "reply" that closes the connection right after reading the request, without sending
    /// any response (the client sees a connection error, not an HTTP status).
    ///
    /// Same as `Reply::status(200).fault(Fault::CloseBeforeHeaders)`.
    ///
    /// ```
    /// use openai_sdk::testing::Reply;
    /// let reply = Reply::close_connection();
    /// # let _ = reply;
    /// ```
    pub fn close_connection() -> Reply {
        Reply::status(200).fault(Fault::CloseBeforeHeaders)
    }

    /// A 500 describing a mistake in the test script itself (used when a fixture is missing,
    /// a route has no replies left, ...).
    pub(crate) fn script_error(message: String) -> Reply {
        Reply::status(500)
            .header("content-type", "application/json")
            .body(error_body(
                &format!("openai-sdk testing: {message}"),
                "scripted_server_error",
                None,
            ))
    }

    /// Sets a response header, replacing any earlier value of the same (case-insensitive) name.
    ///
    /// Invalid names or values are not rejected here; the server answers such a reply with a
    /// 500 whose message names the bad header.
    ///
    /// ```
    /// use openai_sdk::testing::Reply;
    /// let reply = Reply::status(429).header("retry-after", "2").header("Retry-After", "3");
    /// assert_eq!(reply.header_value("retry-after"), Some("3"));
    /// ```
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Reply {
        let name = name.into();
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
        self.headers.push((name, value.into()));
        self
    }

    /// Adds a response header, keeping earlier values of the same name (for repeated headers).
    ///
    /// ```
    /// use openai_sdk::testing::Reply;
    /// let reply = Reply::status(200).append_header("x-a", "1").append_header("x-a", "2");
    /// assert_eq!(reply.header_value("x-a"), Some("1"));
    /// ```
    pub fn append_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Replaces the body.
    ///
    /// ```
    /// use openai_sdk::testing::Reply;
    /// let reply = Reply::status(200).body("hello");
    /// assert_eq!(reply.body_bytes(), &b"hello"[..]);
    /// ```
    pub fn body(mut self, body: impl Into<Bytes>) -> Reply {
        self.body = body.into();
        self
    }

    /// Replaces the status code.
    ///
    /// ```
    /// use openai_sdk::testing::Reply;
    /// let reply = Reply::sse_raw("data: [DONE]\n\n").with_status(201);
    /// assert_eq!(reply.status_code(), 201);
    /// ```
    pub fn with_status(mut self, status: u16) -> Reply {
        self.status = status;
        self
    }

    /// Sets how the body is cut into separately written pieces (default [`Chunking::Whole`]).
    ///
    /// ```
    /// use openai_sdk::testing::{Chunking, Reply};
    /// let reply = Reply::sse_raw("data: 1\n\ndata: 2\n\n").chunking(Chunking::Fixed(3));
    /// # let _ = reply;
    /// ```
    pub fn chunking(mut self, chunking: Chunking) -> Reply {
        self.chunking = chunking;
        self
    }

    /// Waits `delay` after reading the request before sending the status and headers.
    ///
    /// ```
    /// use openai_sdk::testing::Reply;
    /// use std::time::Duration;
    /// let slow = Reply::json(200, serde_json::json!({})).delay_headers(Duration::from_millis(50));
    /// # let _ = slow;
    /// ```
    pub fn delay_headers(mut self, delay: Duration) -> Reply {
        self.header_delay = Some(delay);
        self
    }

    /// Waits `delay` between consecutive body pieces (not before the first one).
    ///
    /// ```
    /// use openai_sdk::testing::{Chunking, Reply};
    /// use std::time::Duration;
    /// let reply = Reply::sse_raw("data: 1\n\ndata: 2\n\n")
    ///     .chunking(Chunking::Events)
    ///     .chunk_delay(Duration::from_millis(20));
    /// # let _ = reply;
    /// ```
    pub fn chunk_delay(mut self, delay: Duration) -> Reply {
        self.chunk_delay = Some(delay);
        self
    }

    /// Adds a failure to inject while serving this reply (several faults can be combined;
    /// the first one that ends the body wins).
    ///
    /// ```
    /// use openai_sdk::testing::{Fault, Reply};
    /// use std::time::Duration;
    /// let reply = Reply::sse_raw("data: 1\n\ndata: 2\n\n")
    ///     .fault(Fault::StallAfter { bytes: 9, duration: Duration::from_millis(100) })
    ///     .fault(Fault::DropAfter(12));
    /// # let _ = reply;
    /// ```
    pub fn fault(mut self, fault: Fault) -> Reply {
        self.faults.push(fault);
        self
    }

    /// Makes every body piece wait for one permit of `gate` before it is sent, so the test
    /// decides exactly when each piece goes out (the headers are sent without waiting).
    ///
    /// ```
    /// use openai_sdk::testing::{Chunking, Gate, Reply};
    /// let gate = Gate::new();
    /// let reply = Reply::sse_raw("data: 1\n\ndata: 2\n\n").chunking(Chunking::Events).gate(&gate);
    /// gate.release(1); // lets the first event out
    /// # let _ = reply;
    /// ```
    pub fn gate(mut self, gate: &Gate) -> Reply {
        self.gate = Some(gate.clone());
        self
    }

    /// Forces (`true`) or forbids (`false`) a `content-length` header.
    ///
    /// By default the header is sent only when the body goes out in one undisturbed piece.
    /// With `true`, a body cut into pieces still announces its full length (and a
    /// [`Fault::DropAfter`] then looks like a truncated fixed-length body); with `false`,
    /// even a whole body uses chunked transfer encoding.
    ///
    /// ```
    /// use openai_sdk::testing::{Fault, Reply};
    /// let truncated = Reply::json(200, serde_json::json!({"a": 1}))
    ///     .content_length(true)
    ///     .fault(Fault::DropAfter(4));
    /// # let _ = truncated;
    /// ```
    pub fn content_length(mut self, send: bool) -> Reply {
        self.content_length = Some(send);
        self
    }

    /// The status code this reply sends.
    ///
    /// ```
    /// use openai_sdk::testing::Reply;
    /// assert_eq!(Reply::status(404).status_code(), 404);
    /// ```
    pub fn status_code(&self) -> u16 {
        self.status
    }

    /// The first value of the named response header (case-insensitive), if set.
    ///
    /// ```
    /// use openai_sdk::testing::Reply;
    /// assert_eq!(Reply::sse_raw("").header_value("Content-Type"), Some("text/event-stream"));
    /// ```
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body bytes.
    ///
    /// ```
    /// use openai_sdk::testing::Reply;
    /// assert!(Reply::status(204).body_bytes().is_empty());
    /// ```
    pub fn body_bytes(&self) -> &Bytes {
        &self.body
    }

    /// Whether the body is sent in one undisturbed write.
    pub(crate) fn is_plain(&self) -> bool {
        self.chunk_delay.is_none()
            && self.gate.is_none()
            && self
                .faults
                .iter()
                .all(|f| matches!(f, Fault::CloseBeforeHeaders))
            && self.chunking.sizes(&self.body).len() <= 1
    }
}

/// How a body is cut into pieces, each written (and flushed) separately.
///
/// Pieces are sent as separate HTTP chunks, so a client never receives two pieces in one
/// body frame; with a [`Reply::chunk_delay`] or a [`Gate`] they also arrive at different times.
///
/// ```
/// use openai_sdk::testing::Chunking;
/// let body = b"data: 1\n\ndata: 22\n\n";
/// assert_eq!(body.len(), 19);
/// assert_eq!(Chunking::Whole.sizes(body), vec![19]);
/// assert_eq!(Chunking::Fixed(8).sizes(body), vec![8, 8, 3]);
/// assert_eq!(Chunking::Explicit(vec![1, 0, 2]).sizes(body), vec![1, 2, 16]);
/// assert_eq!(Chunking::Events.sizes(body), vec![9, 10]);
/// assert_eq!(Chunking::Events.sizes(b"data: a\r\n\r\ndata: b"), vec![11, 7]);
/// let random = Chunking::Random { seed: 7, min: 1, max: 5 };
/// assert_eq!(random.sizes(body), random.sizes(body)); // same seed, same cuts
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Chunking {
    /// The whole body in one piece.
    #[default]
    Whole,
    /// Pieces of `n` bytes (the last may be shorter); `Fixed(0)` behaves like `Whole`.
    Fixed(usize),
    /// Pieces of pseudo-random sizes between `min` and `max` bytes (inclusive), drawn from a
    /// generator seeded with `seed`: the same seed always cuts the same body the same way.
    /// A `min` of 0 counts as 1, and `min` and `max` are swapped if `min > max`.
    Random {
        /// Seed of the deterministic generator.
        seed: u64,
        /// Smallest piece, in bytes.
        min: usize,
        /// Largest piece, in bytes.
        max: usize,
    },
    /// Pieces of exactly these sizes, in order; zero sizes are skipped, sizes beyond the end of
    /// the body are cut short, and any bytes left after the listed sizes form one last piece.
    Explicit(Vec<usize>),
    /// One piece per server-sent event: the body is cut after every blank line
    /// (`\n\n`, `\r\n\r\n` or `\r\r`).
    Events,
}

impl Chunking {
    /// The sizes of the pieces this chunking cuts `body` into (empty for an empty body).
    ///
    /// ```
    /// use openai_sdk::testing::Chunking;
    /// assert_eq!(Chunking::Fixed(2).sizes(b"abcde"), vec![2, 2, 1]);
    /// assert!(Chunking::Fixed(2).sizes(b"").is_empty());
    /// ```
    pub fn sizes(&self, body: &[u8]) -> Vec<usize> {
        let len = body.len();
        if len == 0 {
            return Vec::new();
        }
        match self {
            Chunking::Whole | Chunking::Fixed(0) => vec![len],
            Chunking::Fixed(n) => {
                let mut sizes = vec![*n; len / n];
                if !len.is_multiple_of(*n) {
                    sizes.push(len % n);
                }
                sizes
            }
            Chunking::Random { seed, min, max } => {
                let (mut lo, mut hi) = (*min, *max);
                if lo > hi {
                    std::mem::swap(&mut lo, &mut hi);
                }
                let lo = lo.max(1);
                let hi = hi.max(lo);
                let span = (hi - lo) as u64 + 1;
                let mut rng = SplitMix64(*seed);
                let mut left = len;
                let mut sizes = Vec::new();
                while left > 0 {
                    let pick = lo + (rng.next() % span) as usize;
                    let size = pick.min(left);
                    sizes.push(size);
                    left -= size;
                }
                sizes
            }
            Chunking::Explicit(list) => {
                let mut left = len;
                let mut sizes = Vec::new();
                for &size in list {
                    if left == 0 {
                        break;
                    }
                    if size == 0 {
                        continue;
                    }
                    let size = size.min(left);
                    sizes.push(size);
                    left -= size;
                }
                if left > 0 {
                    sizes.push(left);
                }
                sizes
            }
            Chunking::Events => {
                let mut sizes = Vec::new();
                let mut start = 0;
                let mut i = 0;
                while i < len {
                    let end = if body[i..].starts_with(b"\r\n\r\n") {
                        Some(i + 4)
                    } else if body[i..].starts_with(b"\n\n") || body[i..].starts_with(b"\r\r") {
                        Some(i + 2)
                    } else {
                        None
                    };
                    match end {
                        Some(end) => {
                            sizes.push(end - start);
                            start = end;
                            i = end;
                        }
                        None => i += 1,
                    }
                }
                if start < len {
                    sizes.push(len - start);
                }
                sizes
            }
        }
    }
}

/// A small deterministic generator (SplitMix64), so seeded chunkings are reproducible
/// across platforms and versions.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// A failure injected while serving a [`Reply`].
///
/// Byte offsets count body bytes (not headers or chunk framing); an offset past the end of the
/// body counts as the end of the body.
///
/// ```
/// use openai_sdk::testing::{Fault, Reply};
/// use std::time::Duration;
/// // Send 10 body bytes, then close the connection without finishing the body.
/// let dropped = Reply::sse_raw("data: {\"a\": 1}\n\n").fault(Fault::DropAfter(10));
/// // Send 10 bytes, go quiet for a second, then send the rest.
/// let stalled = Reply::sse_raw("data: {\"a\": 1}\n\n")
///     .fault(Fault::StallAfter { bytes: 10, duration: Duration::from_secs(1) });
/// # let _ = (dropped, stalled);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Send this many body bytes, then close the connection abruptly: no terminating chunk,
    /// so the client sees an incomplete body.
    DropAfter(usize),
    /// Send `bytes` body bytes, then send nothing for `duration`, then carry on.
    StallAfter {
        /// Body bytes sent before the stall.
        bytes: usize,
        /// How long nothing is sent.
        duration: Duration,
    },
    /// Send this many body bytes, then nothing more, ever, keeping the connection open.
    HangAfter(usize),
    /// Close the connection after reading the request, before sending any status line.
    CloseBeforeHeaders,
}

/// A gate that body pieces wait at: each piece of a gated [`Reply`] takes one permit before
/// it is sent. The test hands out permits with [`Gate::release`] (or lifts the gate for good
/// with [`Gate::open`]), so it controls exactly when each piece leaves the server — no clocks.
///
/// Clones share the same permits.
///
/// ```
/// use openai_sdk::testing::{Chunking, Gate, Reply, ScriptedServer};
///
/// #[tokio::main]
/// async fn main() {
///     let server = ScriptedServer::start().await;
///     let gate = Gate::new();
///     server
///         .get("/v1/stream")
///         .respond(Reply::sse_raw("data: 1\n\ndata: 2\n\n").chunking(Chunking::Events).gate(&gate));
///
///     let mut response = reqwest::get(server.url("/v1/stream")).await.unwrap();
///     gate.release(1);
///     // Only the first event has been sent, so that is all the client can read.
///     assert_eq!(response.chunk().await.unwrap().unwrap(), "data: 1\n\n");
///     gate.release(1);
///     assert_eq!(response.chunk().await.unwrap().unwrap(), "data: 2\n\n");
///     assert!(response.chunk().await.unwrap().is_none());
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Gate {
    permits: Arc<Semaphore>,
}

impl Default for Gate {
    fn default() -> Gate {
        Gate::new()
    }
}

impl Gate {
    /// A closed gate with no permits.
    ///
    /// ```
    /// let gate = openai_sdk::testing::Gate::new();
    /// # let _ = gate;
    /// ```
    pub fn new() -> Gate {
        Gate {
            permits: Arc::new(Semaphore::new(0)),
        }
    }

    /// Lets `pieces` more body pieces through.
    ///
    /// ```
    /// let gate = openai_sdk::testing::Gate::new();
    /// gate.release(2);
    /// ```
    pub fn release(&self, pieces: usize) {
        let room = Semaphore::MAX_PERMITS.saturating_sub(self.permits.available_permits());
        self.permits.add_permits(pieces.min(room));
    }

    /// Opens the gate for good: every piece, now and later, goes through without waiting.
    ///
    /// ```
    /// let gate = openai_sdk::testing::Gate::new();
    /// gate.open();
    /// ```
    pub fn open(&self) {
        self.permits.close();
    }

    /// Waits for one permit (or for the gate to be opened).
    pub(crate) async fn pass(self) {
        if let Ok(permit) = self.permits.acquire_owned().await {
            permit.forget();
        }
    }
}

/// One server-sent event, written as `event:`/`id:`/`retry:`/`data:` lines and a blank line.
///
/// ```
/// use openai_sdk::testing::SseEvent;
/// use serde_json::json;
/// let event = SseEvent::json(&json!({"type": "response.created"})).event("response.created");
/// assert_eq!(
///     event.to_bytes(),
///     "event: response.created\ndata: {\"type\":\"response.created\"}\n\n"
/// );
/// assert_eq!(SseEvent::data("a\nb").to_bytes(), "data: a\ndata: b\n\n");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SseEvent {
    event: Option<String>,
    id: Option<String>,
    retry: Option<u64>,
    data: Option<String>,
    comment: Option<String>,
}

impl SseEvent {
    /// An event whose data is `data` (one `data:` line per line of `data`).
    ///
    /// ```
    /// assert_eq!(openai_sdk::testing::SseEvent::data("hi").to_bytes(), "data: hi\n\n");
    /// ```
    pub fn data(data: impl Into<String>) -> SseEvent {
        SseEvent {
            event: None,
            id: None,
            retry: None,
            data: Some(data.into()),
            comment: None,
        }
    }

    /// An event whose data is `value` as compact JSON (or, if it cannot be serialized,
    /// a JSON string describing the error).
    ///
    /// ```
    /// let event = openai_sdk::testing::SseEvent::json(&serde_json::json!({"a": 1}));
    /// assert_eq!(event.to_bytes(), "data: {\"a\":1}\n\n");
    /// ```
    pub fn json(value: &impl Serialize) -> SseEvent {
        let data = serde_json::to_string(value).unwrap_or_else(|err| {
            serde_json::Value::String(format!("openai-sdk testing: unserializable event: {err}"))
                .to_string()
        });
        SseEvent::data(data)
    }

    /// The `data: [DONE]` sentinel that ends OpenAI's chat completion streams.
    ///
    /// ```
    /// assert_eq!(openai_sdk::testing::SseEvent::done().to_bytes(), "data: [DONE]\n\n");
    /// ```
    pub fn done() -> SseEvent {
        SseEvent::data("[DONE]")
    }

    /// A comment line (`: text`), which SSE clients must ignore (servers send them as keep-alives).
    ///
    /// ```
    /// assert_eq!(openai_sdk::testing::SseEvent::comment("ping").to_bytes(), ": ping\n\n");
    /// ```
    pub fn comment(text: impl Into<String>) -> SseEvent {
        SseEvent {
            event: None,
            id: None,
            retry: None,
            data: None,
            comment: Some(text.into()),
        }
    }

    /// Sets the `event:` name.
    ///
    /// ```
    /// let event = openai_sdk::testing::SseEvent::data("{}").event("thread.run.created");
    /// assert_eq!(event.to_bytes(), "event: thread.run.created\ndata: {}\n\n");
    /// ```
    pub fn event(mut self, name: impl Into<String>) -> SseEvent {
        self.event = Some(name.into());
        self
    }

    /// Sets the `id:` field.
    ///
    /// ```
    /// let event = openai_sdk::testing::SseEvent::data("{}").id("7");
    /// assert_eq!(event.to_bytes(), "id: 7\ndata: {}\n\n");
    /// ```
    pub fn id(mut self, id: impl Into<String>) -> SseEvent {
        self.id = Some(id.into());
        self
    }

    /// Sets the `retry:` field (milliseconds).
    ///
    /// ```
    /// let event = openai_sdk::testing::SseEvent::data("x").retry(1500);
    /// assert_eq!(event.to_bytes(), "retry: 1500\ndata: x\n\n");
    /// ```
    pub fn retry(mut self, millis: u64) -> SseEvent {
        self.retry = Some(millis);
        self
    }

    /// The event's wire form, ending with the blank line.
    ///
    /// ```
    /// assert_eq!(openai_sdk::testing::SseEvent::data("x").to_bytes(), "data: x\n\n");
    /// ```
    pub fn to_bytes(&self) -> Bytes {
        let mut out = Vec::new();
        self.write_to(&mut out);
        Bytes::from(out)
    }

    fn write_to(&self, out: &mut Vec<u8>) {
        if let Some(comment) = &self.comment {
            for line in split_lines(comment) {
                out.extend_from_slice(b": ");
                out.extend_from_slice(line.as_bytes());
                out.push(b'\n');
            }
        }
        if let Some(event) = &self.event {
            out.extend_from_slice(b"event: ");
            out.extend_from_slice(event.as_bytes());
            out.push(b'\n');
        }
        if let Some(id) = &self.id {
            out.extend_from_slice(b"id: ");
            out.extend_from_slice(id.as_bytes());
            out.push(b'\n');
        }
        if let Some(retry) = self.retry {
            out.extend_from_slice(format!("retry: {retry}\n").as_bytes());
        }
        if let Some(data) = &self.data {
            for line in split_lines(data) {
                out.extend_from_slice(b"data: ");
                out.extend_from_slice(line.as_bytes());
                out.push(b'\n');
            }
        }
        out.push(b'\n');
    }
}

fn split_lines(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
}

impl From<serde_json::Value> for SseEvent {
    fn from(value: serde_json::Value) -> SseEvent {
        SseEvent::json(&value)
    }
}

impl From<&str> for SseEvent {
    fn from(data: &str) -> SseEvent {
        SseEvent::data(data)
    }
}

impl From<String> for SseEvent {
    fn from(data: String) -> SseEvent {
        SseEvent::data(data)
    }
}

impl fmt::Display for SseEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}

/// An OpenAI-shaped error body.
pub(crate) fn error_body(
    message: &str,
    error_type: &str,
    extra: Option<(&str, serde_json::Value)>,
) -> Bytes {
    let mut error = serde_json::json!({
        "message": message,
        "type": error_type,
        "param": null,
        "code": null,
    });
    if let (Some((key, value)), Some(map)) = (extra, error.as_object_mut()) {
        map.insert(key.to_string(), value);
    }
    Bytes::from(serde_json::json!({ "error": error }).to_string())
}
