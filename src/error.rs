//! The one error type of the SDK.

use std::fmt;

use serde::Deserialize;

/// Everything that can go wrong when calling the API.
///
/// Each variant's `Display` reads well on its own: it says what failed and where.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The API answered with an error status.
    #[error("{0}")]
    Api(Box<ApiError>),

    /// The request could not reach the server, or the connection broke.
    #[error("connection error: {message}")]
    Connection {
        /// What happened.
        message: String,
        /// The transport error, when there is one.
        #[source]
        source: Option<reqwest::Error>,
    },

    /// The request or the stream took longer than its timeout.
    #[error("timed out: {message}")]
    Timeout {
        /// Which timeout fired.
        message: String,
    },

    /// A response body did not match the type expected for it.
    #[error("could not decode {what} at `{path}`: {message}; body starts with: {snippet}")]
    Decode {
        /// The type or object being decoded.
        what: String,
        /// The JSON path where decoding failed (`.` for the root).
        path: String,
        /// The decoder's message.
        message: String,
        /// The first bytes of the body, lossily decoded.
        snippet: String,
    },

    /// The SDK refused to send a request that cannot be valid.
    #[error("invalid request: {0}")]
    InvalidRequest(String),

    /// The client is misconfigured (missing key, bad base URL, bad header value).
    #[error("client configuration: {0}")]
    Config(String),

    /// An event stream could not be read: bad framing or UTF-8, an event cut off by the
    /// connection closing, a chunk that is not JSON, or a chunk that cannot be merged into
    /// the accumulated snapshot. Says what went wrong and where in the stream.
    #[error("{}", fmt_stream_error(*kind, *event, *offset, message))]
    Stream {
        /// What kind of problem.
        kind: StreamErrorKind,
        /// The 0-based number of the event (SSE frame) at fault, when known.
        event: Option<u64>,
        /// The byte offset in the stream where the problem is, when known.
        offset: Option<u64>,
        /// What happened, in words.
        message: String,
    },

    /// The model stopped at the token limit: a chat choice with `finish_reason: "length"`
    /// when its output was to be parsed (a plain chat stream that stops there ends
    /// normally), or a Responses API response that is incomplete with
    /// `incomplete_details.reason: "max_output_tokens"`. The message says which.
    #[error("{}", stop_message(completion, "length"))]
    LengthFinishReason {
        /// The completion (chat, in the reference shape) or the response (Responses API)
        /// as it was when it stopped, as JSON.
        completion: Box<serde_json::Value>,
    },

    /// The content filter stopped the model: a chat choice with
    /// `finish_reason: "content_filter"` when its output was to be parsed, or a Responses
    /// API response that is incomplete with `incomplete_details.reason: "content_filter"`.
    #[error("{}", stop_message(completion, "content_filter"))]
    ContentFilterFinishReason {
        /// The completion (chat, in the reference shape) or the response (Responses API)
        /// as it was when it stopped, as JSON.
        completion: Box<serde_json::Value>,
    },

    /// Model output that should be JSON (structured content, or the arguments of a strict
    /// function tool) does not parse.
    #[error("{what} does not parse as JSON{}: {message}", if *partial { " (partial parse, mid-stream)" } else { "" })]
    Parse {
        /// What was parsed, e.g. `the content of choice 0`.
        what: String,
        /// Whether this was the partial (mid-stream) parse; otherwise the final, strict one.
        partial: bool,
        /// Whether the text is function-call arguments (otherwise message content).
        arguments: bool,
        /// The parser's message, with the position.
        message: String,
    },

    /// Model output that should be a value of a given type (structured content, or the
    /// arguments of a strict function tool) is not JSON, or is JSON that does not fit the
    /// type. Says where (the JSON path) and keeps the raw text.
    #[error("{0}")]
    Validation(Box<ValidationError>),

    /// A Rust type (or a runtime JSON schema) cannot be made into a strict JSON schema, so
    /// the request was not sent. Names the type and the path in its schema.
    #[error("no strict JSON schema for `{type_name}`: {source}")]
    Schema {
        /// The Rust type (or the schema's name, for a runtime schema).
        type_name: String,
        /// What cannot be expressed, and where.
        source: Box<crate::parsing::StrictSchemaError>,
    },

    /// The model called a tool that the request did not give it.
    #[error("{what} names the tool `{name}`, which the request did not give (tools: {known})")]
    UnknownTool {
        /// Which tool call, e.g. `tool call 0 of choice 0`.
        what: String,
        /// The name the model used.
        name: String,
        /// The function tools of the request, comma-separated.
        known: String,
    },

    /// An answer was larger than [`ClientBuilder::max_response_bytes`](crate::ClientBuilder::max_response_bytes).
    #[error(
        "the answer is larger than the limit of {limit} bytes (ClientBuilder::max_response_bytes)"
    )]
    ResponseTooLarge {
        /// The limit, in bytes.
        limit: u64,
    },

    /// A webhook delivery failed verification (feature `webhooks`): a header is missing, its
    /// timestamp is out of tolerance, or no signature matches.
    #[error("webhook verification failed: {0}")]
    Webhook(#[from] WebhookError),

    /// The server closed a WebSocket (Realtime, Responses over a WebSocket) with a close
    /// frame whose code is not `1000` (normal), or closed it in the middle of a response.
    #[error("the server closed the WebSocket with code {code}{}", if reason.is_empty() { String::new() } else { format!(": {reason}") })]
    WebSocketClosed {
        /// The close code (RFC 6455 section 7.4; `1005` when the frame had none).
        code: u16,
        /// The close reason the server gave (may be empty).
        reason: String,
    },

    /// Auto-pagination ([`Paginator`](crate::pagination::Paginator)) was sent a cursor it
    /// had already followed: the server's pages form a cycle, which would never end. The
    /// items of every page read are given before this error.
    #[error("pagination stopped: page {pages} names the cursor {cursor:?} again (a cycle)")]
    PaginationCycle {
        /// The cursor that came back.
        cursor: String,
        /// Pages read, the one that named the cursor again included.
        pages: u64,
    },

    /// The server answered with a status the operation does not document.
    #[error("unexpected HTTP {status} from {url}: {snippet}")]
    UnexpectedStatus {
        /// The HTTP status.
        status: u16,
        /// The request URL, with credentials redacted ([`redact_url`]).
        url: String,
        /// The first bytes of the body.
        snippet: String,
    },
}

/// The kinds of [`Error::Stream`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamErrorKind {
    /// The bytes are not valid UTF-8.
    InvalidUtf8,
    /// A line or an event is larger than the decoder's limit.
    TooLarge,
    /// The connection closed in the middle of an event.
    Incomplete,
    /// An event's data is empty or not the JSON expected.
    InvalidJson,
    /// A chunk could not be merged into the snapshot (e.g. a list delta entry that is not
    /// an object, or a choice without an integer `index`).
    InvalidChunk,
    /// A list entry of a delta has no `index` key, so it cannot be merged.
    MissingIndex,
    /// An event whose type this SDK does not know (its data is kept by the stream state).
    UnknownEvent,
    /// A delta for an object (message, run step) the stream never created.
    UnknownObject,
    /// The stream ended before it gave what was asked: no final status, no run, no message.
    Unfinished,
    /// An event came out of order: before the item or part it belongs to, before the
    /// stream's first event, or with a `sequence_number` not after the previous one.
    OutOfOrder,
    /// The stream ended without its final event (e.g. `response.completed`).
    NoFinalEvent,
    /// The response ended incomplete (`response.incomplete`) for a reason other than the
    /// token limit or the content filter (those are [`Error::LengthFinishReason`] and
    /// [`Error::ContentFilterFinishReason`]).
    ResponseIncomplete,
}

impl fmt::Display for StreamErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StreamErrorKind::InvalidUtf8 => "invalid UTF-8",
            StreamErrorKind::TooLarge => "event too large",
            StreamErrorKind::Incomplete => "connection closed mid-event",
            StreamErrorKind::InvalidJson => "invalid JSON",
            StreamErrorKind::InvalidChunk => "invalid chunk",
            StreamErrorKind::MissingIndex => "list entry without index",
            StreamErrorKind::UnknownEvent => "unknown event type",
            StreamErrorKind::UnknownObject => "delta for an unknown object",
            StreamErrorKind::Unfinished => "stream unfinished",
            StreamErrorKind::OutOfOrder => "event out of order",
            StreamErrorKind::NoFinalEvent => "no final event",
            StreamErrorKind::ResponseIncomplete => "response incomplete",
        })
    }
}

fn fmt_stream_error(
    kind: StreamErrorKind,
    event: Option<u64>,
    offset: Option<u64>,
    message: &str,
) -> String {
    let mut s = format!("stream error ({kind})");
    match (event, offset) {
        (Some(e), Some(o)) => s.push_str(&format!(" in event #{e} at byte offset {o}")),
        (Some(e), None) => s.push_str(&format!(" in event #{e}")),
        (None, Some(o)) => s.push_str(&format!(" at byte offset {o}")),
        (None, None) => {}
    }
    s.push_str(": ");
    s.push_str(message);
    s
}

/// The message of [`Error::LengthFinishReason`] (`finish_reason` `length`) and
/// [`Error::ContentFilterFinishReason`] (`content_filter`): what stopped the model, where,
/// and what it means. A Responses API response says it is incomplete and why (from
/// `incomplete_details.reason`); a chat completion names the choices that stopped, whose
/// output could not be parsed (chat raises these only when there was something to parse).
fn stop_message(completion: &serde_json::Value, finish_reason: &str) -> String {
    use serde_json::Value;
    let usage = match completion.get("usage") {
        Some(u) if !u.is_null() => format!("; usage: {u}"),
        _ => String::new(),
    };
    let is_response = completion.get("object").and_then(Value::as_str) == Some("response")
        || (completion.get("choices").is_none() && completion.get("incomplete_details").is_some());
    if is_response {
        let reason = completion
            .get("incomplete_details")
            .and_then(|d| d.get("reason"))
            .and_then(Value::as_str);
        let why = match reason {
            Some("max_output_tokens") => "the output token limit (`max_output_tokens`) was reached",
            Some("content_filter") => "the content filter stopped the output",
            Some(_) => "the response stopped early",
            None => "no reason given",
        };
        let id = completion
            .get("id")
            .and_then(Value::as_str)
            .map(|id| format!(" {id}"))
            .unwrap_or_default();
        let reason = reason.map_or("none".to_owned(), |r| format!("\"{r}\""));
        return format!(
            "the response{id} is incomplete: {why} (incomplete_details.reason {reason}){usage}"
        );
    }
    let stopped: Vec<String> = completion
        .get("choices")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|c| c.get("finish_reason").and_then(Value::as_str) == Some(finish_reason))
        .map(|c| {
            c.get("index")
                .and_then(Value::as_i64)
                .unwrap_or(0)
                .to_string()
        })
        .collect();
    let which = match stopped.len() {
        0 => "the completion".to_owned(),
        1 => format!("choice {}", stopped[0]),
        _ => format!("choices {}", stopped.join(", ")),
    };
    let what = if finish_reason == "length" {
        "stopped at the length limit"
    } else {
        "was stopped by the content filter"
    };
    let its = if stopped.len() > 1 { "their" } else { "its" };
    format!(
        "{which} {what} (finish_reason \"{finish_reason}\"), so {its} output could not be parsed{usage}"
    )
}

/// An error answer from the API, with everything it said.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status, or `None` for an error sent inside a stream.
    pub status: Option<u16>,
    /// The error's `type`, such as `invalid_request_error`.
    pub r#type: Option<String>,
    /// The error's `code`, such as `rate_limit_exceeded`.
    pub code: Option<String>,
    /// The request parameter the error is about.
    pub param: Option<String>,
    /// The human-readable message (or the start of a non-JSON body).
    pub message: String,
    /// The `x-request-id` header, to quote to OpenAI support.
    pub request_id: Option<String>,
    /// The whole error body, when it was JSON.
    pub body: Option<serde_json::Value>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(s) => write!(f, "API error (HTTP {s}")?,
            None => write!(f, "API error (in stream")?,
        }
        if let Some(t) = &self.r#type {
            write!(f, ", {t}")?;
        }
        if let Some(c) = &self.code {
            write!(f, ", code {c}")?;
        }
        if let Some(p) = &self.param {
            write!(f, ", param {p}")?;
        }
        write!(f, "): {}", self.message)?;
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        Ok(())
    }
}

impl ApiError {
    /// Builds an API error from an error body (`{"error": {...}}`), or from whatever the
    /// server sent when it is not JSON, such as an HTML page from a proxy.
    pub fn from_body(status: Option<u16>, request_id: Option<String>, body: &[u8]) -> Self {
        #[derive(Deserialize)]
        struct Envelope {
            error: Option<serde_json::Value>,
        }
        let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
        let inner = parsed
            .as_ref()
            .and_then(|v| serde_json::from_value::<Envelope>(v.clone()).ok())
            .and_then(|e| e.error)
            .or_else(|| parsed.clone().filter(|v| v.get("message").is_some()));
        let field = |k: &str| -> Option<String> {
            inner.as_ref().and_then(|e| e.get(k)).and_then(|v| match v {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Null => None,
                other => Some(other.to_string()),
            })
        };
        // RFC 7807 problem documents (`title`, `detail`), as some gateways and mock servers send.
        let problem = || {
            let p = parsed.as_ref()?;
            let detail = p.get("detail").and_then(|v| v.as_str());
            let title = p.get("title").and_then(|v| v.as_str());
            match (title, detail) {
                (Some(t), Some(d)) => Some(format!("{t}: {d}")),
                (t, d) => t.or(d).map(str::to_owned),
            }
        };
        let message = field("message").or_else(problem).unwrap_or_else(|| {
            if body.is_empty() {
                "(empty body)".to_owned()
            } else {
                snippet(body)
            }
        });
        ApiError {
            status,
            r#type: field("type"),
            code: field("code"),
            param: field("param"),
            message,
            request_id,
            body: parsed,
        }
    }
}

impl Error {
    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(e) => e.status,
            Error::UnexpectedStatus { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The API error, if this is one.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// HTTP 429: rate limited or out of quota.
    pub fn is_rate_limited(&self) -> bool {
        self.status() == Some(429)
    }

    /// HTTP 401 or 403: the key is missing, wrong, or lacks permission.
    pub fn is_auth(&self) -> bool {
        matches!(self.status(), Some(401 | 403))
    }

    /// HTTP 404.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// A timeout of any kind.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
    }

    /// The request id the server gave, if any.
    pub fn request_id(&self) -> Option<&str> {
        self.api_error().and_then(|e| e.request_id.as_deref())
    }

    /// The name of the exception class the reference Python SDK raises for this error
    /// (`APIError`, `LengthFinishReasonError`, `ValueError`, ...), for conformance reports.
    ///
    /// ```
    /// let e = openai_sdk::Error::InvalidRequest("`f` is not strict".into());
    /// assert_eq!(e.reference_class(), "ValueError");
    /// ```
    pub fn reference_class(&self) -> &'static str {
        match self {
            Error::Api(_)
            | Error::UnexpectedStatus { .. }
            | Error::ResponseTooLarge { .. }
            | Error::PaginationCycle { .. } => "APIError",
            Error::Connection { .. } | Error::WebSocketClosed { .. } => "APIConnectionError",
            Error::Timeout { .. } => "APITimeoutError",
            Error::Decode { .. } => "ValidationError",
            Error::InvalidRequest(_) | Error::Config(_) => "ValueError",
            Error::Stream { kind, .. } => match kind {
                StreamErrorKind::InvalidJson => "JSONDecodeError",
                StreamErrorKind::MissingIndex
                | StreamErrorKind::UnknownObject
                | StreamErrorKind::Unfinished
                | StreamErrorKind::OutOfOrder
                | StreamErrorKind::NoFinalEvent => "RuntimeError",
                StreamErrorKind::InvalidChunk => "TypeError",
                _ => "APIError",
            },
            Error::LengthFinishReason { .. } => "LengthFinishReasonError",
            Error::ContentFilterFinishReason { .. } => "ContentFilterFinishReasonError",
            Error::Parse { partial: true, .. } => "ValueError",
            Error::Parse {
                arguments: true, ..
            } => "JSONDecodeError",
            Error::Parse { .. } => "ValidationError",
            Error::Validation(v) if v.arguments && v.not_json => "JSONDecodeError",
            Error::Validation(_) => "ValidationError",
            Error::Schema { source, .. } => source.reference_error_class(),
            Error::UnknownTool { .. } => "ValueError",
            Error::Webhook(WebhookError::MissingSecret | WebhookError::MissingHeader { .. }) => {
                "ValueError"
            }
            Error::Webhook(_) => "InvalidWebhookSignatureError",
        }
    }

    /// The error for a transport failure: its message has the whole cause chain (connection
    /// refused, DNS failure, TLS) and any URL in it is redacted ([`redact_url`]); the URL
    /// kept in the source is redacted too, so `Debug` shows no credentials either.
    pub(crate) fn from_reqwest(mut e: reqwest::Error) -> Self {
        let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(&e);
        while let Some(s) = source {
            if let Some(BodyTooLarge(limit)) = s.downcast_ref::<BodyTooLarge>() {
                return Error::ResponseTooLarge { limit: *limit };
            }
            source = s.source();
        }
        if let Some(url) = e.url_mut() {
            redact_url(url);
        }
        let message = transport_message(&e);
        if e.is_timeout() {
            Error::Timeout { message }
        } else {
            Error::Connection {
                message,
                source: Some(e),
            }
        }
    }
}

/// A transport error's message followed by its causes, `: `-separated ("error sending
/// request for url (…): client error (Connect): tcp connect error: Connection refused"),
/// with the URL redacted. reqwest's own message names neither the cause nor a safe URL.
pub(crate) fn transport_message(e: &reqwest::Error) -> String {
    let mut message = e.to_string();
    if let Some(url) = e.url() {
        let shown = url.as_str();
        let mut safe = url.clone();
        redact_url(&mut safe);
        if safe.as_str() != shown {
            message = message.replace(shown, safe.as_str());
        }
    }
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let text = cause.to_string();
        // Some layers repeat their cause's text in their own; say it once.
        if !text.is_empty() && !message.ends_with(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

/// Removes credentials from a URL before it is shown in an error or a log line: the user
/// name and password become `redacted`, so does every query value (names are kept) and the
/// fragment.
///
/// ```
/// let mut url = reqwest::Url::parse("https://user:pw@example.com/v1/chat?api-key=sk-1&x=2#frag").unwrap();
/// openai_sdk::error::redact_url(&mut url);
/// assert_eq!(url.as_str(), "https://redacted:redacted@example.com/v1/chat?api-key=redacted&x=redacted#redacted");
/// ```
pub fn redact_url(url: &mut reqwest::Url) {
    const R: &str = "redacted";
    if !url.username().is_empty() {
        let _ = url.set_username(R);
    }
    if url.password().is_some() {
        let _ = url.set_password(Some(R));
    }
    if url.query().is_some() {
        let names: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
        if names.is_empty() {
            url.set_query(Some(R));
        } else {
            url.query_pairs_mut()
                .clear()
                .extend_pairs(names.iter().map(|k| (k.as_str(), R)));
        }
    }
    if url.fragment().is_some() {
        url.set_fragment(Some(R));
    }
}

/// [`redact_url`] for a URL held as text; of text that does not parse as a URL, the query,
/// the fragment and everything before its last `@` (after any `scheme://`) are hidden.
pub(crate) fn redact_url_text(text: &str) -> String {
    match reqwest::Url::parse(text) {
        Ok(mut url) => {
            redact_url(&mut url);
            url.to_string()
        }
        Err(_) => {
            let no_query = text.split(['?', '#']).next().unwrap_or("");
            let (scheme, rest) = match no_query.split_once("://") {
                Some((scheme, rest)) => (format!("{scheme}://"), rest),
                None => (String::new(), no_query),
            };
            match rest.rsplit_once('@') {
                Some((_, host)) => format!("{scheme}redacted@{host}"),
                None => format!("{scheme}{rest}"),
            }
        }
    }
}

#[cfg(test)]
mod redaction_tests {
    use super::*;

    #[test]
    fn urls_lose_their_credentials() {
        let shown = |text: &str| {
            let mut url = reqwest::Url::parse(text).unwrap();
            redact_url(&mut url);
            url.to_string()
        };
        assert_eq!(
            shown("https://u:p@h.example/v1/x?api-key=sk-1&api-version=2024&flag"),
            "https://redacted:redacted@h.example/v1/x?api-key=redacted&api-version=redacted&flag=redacted"
        );
        assert_eq!(
            shown("https://token@h.example/v1"),
            "https://redacted@h.example/v1"
        );
        assert_eq!(
            shown("http://h.example/v1?"),
            "http://h.example/v1?redacted"
        );
        assert_eq!(
            shown("http://h.example/v1#sk-2"),
            "http://h.example/v1#redacted"
        );
        assert_eq!(shown("http://h.example/v1"), "http://h.example/v1");

        assert_eq!(
            redact_url_text("https://u:sk-3@h.example/v1?key=sk-4"),
            "https://redacted:redacted@h.example/v1?key=redacted"
        );
        // Text that is not a URL: the user info and the query are cut.
        assert_eq!(
            redact_url_text("ftp//u:sk-5@h ex/v1?key=sk-6"),
            "redacted@h ex/v1"
        );
        assert_eq!(
            redact_url_text("weird://u:sk-7@[bad/v1?key=sk-8"),
            "weird://redacted@[bad/v1"
        );
    }

    #[test]
    fn unexpected_statuses_show_a_redacted_url() {
        let e = from_parts(
            302,
            "https://u:sk-9@h.example/v1/files?token=sk-10".into(),
            None,
            b"moved",
        );
        let text = e.to_string();
        assert!(!text.contains("sk-9") && !text.contains("sk-10"), "{text}");
        assert!(
            text.contains("https://redacted:redacted@h.example/v1/files?token=redacted"),
            "{text}"
        );
        assert!(!format!("{e:?}").contains("sk-"), "{e:?}");
    }
}

/// The details of [`Error::Validation`]: model output that is not JSON, or does not fit
/// the type asked for.
///
/// ```
/// use openai_sdk::error::ValidationError;
///
/// #[derive(Debug, serde::Deserialize)]
/// struct Step { output: String }
/// #[derive(Debug, serde::Deserialize)]
/// struct Math { steps: Vec<Step> }
///
/// let raw = r#"{"steps": [{"output": "x = 1"}, {"output": 2}]}"#;
/// let e = ValidationError::parse::<Math>(raw, "the content of choice 0", false).unwrap_err();
/// assert_eq!(e.path, "steps[1].output");
/// assert!(!e.not_json);
/// assert_eq!(e.raw, raw);
/// assert!(e.to_string().contains("steps[1].output"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValidationError {
    /// What was parsed, e.g. `the content of choice 0`.
    pub what: String,
    /// The type it should fit (a Rust type name, or `JSON` for a runtime schema).
    pub target: String,
    /// The JSON path where it failed (`.` for the root), e.g. `steps[2].output`.
    pub path: String,
    /// The parser's or the deserializer's message.
    pub message: String,
    /// The text as the model sent it.
    pub raw: String,
    /// Whether the text is function-call arguments (otherwise message content).
    pub arguments: bool,
    /// Whether the text is not JSON at all (otherwise it is JSON of the wrong shape).
    pub not_json: bool,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.not_json {
            write!(
                f,
                "{} is not valid JSON (at `{}`, as `{}`): {}",
                self.what, self.path, self.target, self.message
            )?;
        } else {
            write!(
                f,
                "{} does not fit `{}` at `{}`: {}",
                self.what, self.target, self.path, self.message
            )?;
        }
        let shown: String = self.raw.chars().take(200).collect();
        let more = if shown.len() < self.raw.len() {
            "…"
        } else {
            ""
        };
        write!(f, "; the text starts with: {shown}{more}")
    }
}

impl std::error::Error for ValidationError {}

impl ValidationError {
    /// Parses `raw` as a `T` in one pass, with the JSON path of the first problem: syntax
    /// (`not_json`) or shape. `what` says what the text is, for the message.
    pub fn parse<T: serde::de::DeserializeOwned>(
        raw: &str,
        what: &str,
        arguments: bool,
    ) -> Result<T, Box<ValidationError>> {
        // The common case, a text that fits, without the path tracking (which costs several
        // times the parse itself); the path is worked out only for a text that fails.
        if let Ok(value) = serde_json::from_str::<T>(raw) {
            return Ok(value);
        }
        let mut de = serde_json::Deserializer::from_str(raw);
        let result = serde_path_to_error::deserialize::<_, T>(&mut de)
            .map_err(|e| (known_path(e.path()), e.into_inner()))
            .and_then(|v| de.end().map(|()| v).map_err(|e| (".".to_owned(), e)));
        result.map_err(|(path, e)| {
            Box::new(ValidationError {
                what: what.to_owned(),
                target: short_type_name::<T>(),
                path,
                not_json: e.is_syntax() || e.is_eof(),
                message: e.to_string(),
                raw: raw.to_owned(),
                arguments,
            })
        })
    }

    /// Parses `raw` as JSON (strictly: one value, nothing after it but whitespace).
    pub fn json(
        raw: &str,
        what: &str,
        arguments: bool,
    ) -> Result<serde_json::Value, Box<ValidationError>> {
        if let Ok(value) = serde_json::from_str(raw) {
            return Ok(value);
        }
        let mut de = serde_json::Deserializer::from_str(raw);
        let result = serde_path_to_error::deserialize::<_, serde_json::Value>(&mut de)
            .map_err(|e| (known_path(e.path()), e.into_inner()))
            .and_then(|v| de.end().map(|()| v).map_err(|e| (".".to_owned(), e)));
        result.map_err(|(path, e)| {
            Box::new(ValidationError {
                what: what.to_owned(),
                target: "JSON".into(),
                path,
                message: e.to_string(),
                raw: raw.to_owned(),
                arguments,
                not_json: true,
            })
        })
    }

    /// Deserializes a value parsed from `raw` as a `T`. The path comes from re-reading
    /// `raw` (exact); if `raw` is not that value's text, from the value.
    pub fn fit<T: serde::de::DeserializeOwned>(
        value: &serde_json::Value,
        raw: &str,
        what: &str,
        arguments: bool,
    ) -> Result<T, Box<ValidationError>> {
        match Self::parse::<T>(raw, what, arguments) {
            Err(e) if e.not_json => {}
            other => return other,
        }
        serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
            Box::new(ValidationError {
                what: what.to_owned(),
                target: short_type_name::<T>(),
                path: e.path().to_string(),
                message: e.into_inner().to_string(),
                raw: raw.to_owned(),
                arguments,
                not_json: false,
            })
        })
    }
}

/// The path without a last segment that is not known (an error while reading a map's
/// next key, e.g. the text ends after a comma): the path of the map itself.
fn known_path(path: &serde_path_to_error::Path) -> String {
    let text = path.to_string();
    match text.strip_suffix('?') {
        Some("") => ".".to_owned(),
        Some(rest) => rest.strip_suffix('.').unwrap_or(rest).to_owned(),
        None => text,
    }
}

/// `a::B<c::D>` → `B<D>`.
pub(crate) fn short_type_name<T: ?Sized>() -> String {
    let full = std::any::type_name::<T>();
    let mut out = String::with_capacity(full.len());
    let mut segment = String::new();
    for c in full.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            segment.push(c);
        } else {
            out.push_str(segment.rsplit("::").next().unwrap_or(""));
            segment.clear();
            out.push(c);
        }
    }
    out.push_str(segment.rsplit("::").next().unwrap_or(""));
    out
}

/// The error of a body cut at the client's size limit, found again by
/// [`Error::from_reqwest`] in the transport error's sources.
#[derive(Debug)]
pub(crate) struct BodyTooLarge(pub(crate) u64);

impl std::fmt::Display for BodyTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the body is larger than {} bytes", self.0)
    }
}

impl std::error::Error for BodyTooLarge {}

/// Why a webhook delivery was refused (see `webhooks::WebhookVerifier`). The messages
/// match the Python SDK's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// No secret was given (`ClientBuilder::webhook_secret`, `OPENAI_WEBHOOK_SECRET`).
    #[error("the webhook secret must either be set using the env var, OPENAI_WEBHOOK_SECRET, with ClientBuilder::webhook_secret, or given to WebhookVerifier::new")]
    MissingSecret,
    /// The secret starts with `whsec_` but the rest is not base64, or its key is empty
    /// (`""` or `"whsec_"`: an empty HMAC key would let anyone sign deliveries).
    #[error("invalid webhook secret: {message}")]
    InvalidSecret {
        /// What is wrong with it.
        message: String,
    },
    /// A required header is absent.
    #[error("could not find {name} header")]
    MissingHeader {
        /// The header's name (`webhook-id`, `webhook-timestamp` or `webhook-signature`).
        name: &'static str,
    },
    /// `webhook-timestamp` is not a whole number of seconds.
    #[error("invalid webhook timestamp format: {value:?}")]
    InvalidTimestamp {
        /// The header's value.
        value: String,
    },
    /// The delivery is older than the tolerance: a replay, or a clock far off.
    #[error(
        "webhook timestamp is too old: {timestamp} is more than {tolerance:?} before now ({now})"
    )]
    TimestampTooOld {
        /// The delivery's timestamp (Unix seconds).
        timestamp: i64,
        /// The local clock (Unix seconds).
        now: i64,
        /// The tolerance in force.
        tolerance: std::time::Duration,
    },
    /// The delivery's timestamp is further in the future than the tolerance.
    #[error(
        "webhook timestamp is too new: {timestamp} is more than {tolerance:?} after now ({now})"
    )]
    TimestampTooNew {
        /// The delivery's timestamp (Unix seconds).
        timestamp: i64,
        /// The local clock (Unix seconds).
        now: i64,
        /// The tolerance in force.
        tolerance: std::time::Duration,
    },
    /// None of the signatures in `webhook-signature` is the expected one: the body, the
    /// headers or the secret differ from what was signed.
    #[error("the given webhook signature does not match the expected signature ({candidates} signature(s) tried)")]
    NoMatchingSignature {
        /// How many signatures the header held.
        candidates: usize,
    },
}

/// The first 512 bytes of a body, lossily decoded, for error messages.
pub(crate) fn snippet(body: &[u8]) -> String {
    const MAX: usize = 512;
    let cut = body.len().min(MAX);
    let mut s = String::from_utf8_lossy(&body[..cut]).into_owned();
    if body.len() > MAX {
        s.push('…');
    }
    s
}

/// The JSON path of the value at which decoding `text` failed with `err`, from the position
/// serde_json gives (`a[1].b`; `.` for the top level or when there is no position), in the
/// notation of `serde_path_to_error`.
///
/// One scan of the text up to that position, with no second decode: a re-decode that tracks
/// the path would compile every decoded type's `Deserialize` a second time (with
/// `serde_path_to_error` that was about a fifth of the crate's compiled functions).
pub(crate) fn json_path_at(text: &[u8], err: &serde_json::Error) -> String {
    if err.line() == 0 {
        return ".".to_owned();
    }
    // serde_json's column is the number of bytes of the line read before the position.
    let mut start = 0;
    for _ in 1..err.line() {
        match memchr::memchr(b'\n', &text[start..]) {
            Some(i) => start += i + 1,
            None => break,
        }
    }
    let end = (start + err.column()).min(text.len());
    path_before(&text[..end])
}

/// The path of the value being read (or just read) at the end of `text`, a JSON text cut
/// anywhere.
fn path_before(text: &[u8]) -> String {
    enum Frame {
        /// A map: the key of the member being read; `None` between members.
        Map { key: Option<String>, want_key: bool },
        /// A sequence: the index of the element; `started` once it has begun.
        Seq { index: usize, started: bool },
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    // A value begins here: an element of the innermost sequence has started.
    fn value_starts(stack: &mut [Frame]) {
        if let Some(Frame::Seq { started, .. }) = stack.last_mut() {
            *started = true;
        }
    }
    while i < text.len() {
        match text[i] {
            b'{' => {
                value_starts(&mut stack);
                stack.push(Frame::Map {
                    key: None,
                    want_key: true,
                });
                i += 1;
            }
            b'[' => {
                value_starts(&mut stack);
                stack.push(Frame::Seq {
                    index: 0,
                    started: false,
                });
                i += 1;
            }
            b'}' | b']' => {
                stack.pop();
                i += 1;
            }
            b',' => {
                match stack.last_mut() {
                    Some(Frame::Seq { index, started }) => {
                        *index += 1;
                        *started = false;
                    }
                    Some(Frame::Map { key, want_key }) => {
                        *key = None;
                        *want_key = true;
                    }
                    None => {}
                }
                i += 1;
            }
            b'"' => {
                let begin = i;
                i += 1;
                while i < text.len() {
                    match text[i] {
                        b'\\' => i += 2,
                        b'"' => break,
                        _ => i += 1,
                    }
                }
                let end = (i + 1).min(text.len());
                i = end;
                match stack.last_mut() {
                    Some(Frame::Map { key, want_key }) if *want_key => {
                        *want_key = false;
                        let raw = &text[begin..end];
                        *key = Some(serde_json::from_slice::<String>(raw).unwrap_or_else(|_| {
                            // A key cut by the end of the text: what there is of it.
                            String::from_utf8_lossy(raw.get(1..).unwrap_or_default())
                                .trim_end_matches('"')
                                .to_owned()
                        }));
                    }
                    _ => value_starts(&mut stack),
                }
            }
            b' ' | b'\t' | b'\n' | b'\r' | b':' => i += 1,
            _ => {
                // A number or a literal.
                value_starts(&mut stack);
                while i < text.len()
                    && !matches!(text[i], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                {
                    i += 1;
                }
            }
        }
    }
    let mut path = String::new();
    for frame in &stack {
        match frame {
            Frame::Map { key: Some(key), .. } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            Frame::Seq {
                index,
                started: true,
            } => {
                path.push('[');
                path.push_str(&index.to_string());
                path.push(']');
            }
            _ => {}
        }
    }
    if path.is_empty() {
        path.push('.');
    }
    path
}

/// Converts the generated client's error into ours, reading the body of an error answer.
#[cfg_attr(not(feature = "full"), allow(dead_code))] // unused by the generated code of some feature sets
pub(crate) async fn from_generated<E>(e: progenitor_client::Error<E>) -> Error {
    use progenitor_client::Error as G;
    match e {
        G::InvalidRequest(s) => Error::InvalidRequest(s),
        G::CommunicationError(e) | G::InvalidUpgrade(e) | G::ResponseBodyError(e) => {
            Error::from_reqwest(e)
        }
        G::ErrorResponse(rv) => Error::Api(Box::new(ApiError {
            status: Some(rv.status().as_u16()),
            r#type: None,
            code: None,
            param: None,
            message: "error response".into(),
            request_id: request_id(rv.headers()),
            body: None,
        })),
        G::InvalidResponsePayload(bytes, err) => Error::Decode {
            what: "the response body".into(),
            path: json_path_at(&bytes, &err),
            message: err.to_string(),
            snippet: snippet(&bytes),
        },
        G::UnexpectedResponse(resp) => from_response(resp).await,
        G::Custom(s) => Error::Config(s),
    }
}

/// Turns an error answer into `Error::Api` (or `UnexpectedStatus` for a non-error status).
pub(crate) async fn from_response(resp: reqwest::Response) -> Error {
    let status = resp.status().as_u16();
    let url = resp.url().to_string();
    let rid = request_id(resp.headers());
    let body = match read_capped(resp, MAX_ERROR_BODY).await {
        Ok(b) => b,
        Err(e) => return Error::from_reqwest(e),
    };
    from_parts(status, url, rid, &body)
}

/// How much of an error answer is read: enough for any message; a proxy's endless error
/// page is cut there.
pub const MAX_ERROR_BODY: usize = 1024 * 1024;

/// Reads at most [`MAX_ERROR_BODY`] bytes of a blocking error answer and drops the rest.
#[cfg(feature = "blocking")]
#[cfg_attr(not(feature = "chat"), allow(dead_code))]
pub(crate) fn read_error_body_blocking(
    resp: reqwest::blocking::Response,
) -> Result<Vec<u8>, Error> {
    use std::io::Read;
    let mut body = Vec::new();
    resp.take(MAX_ERROR_BODY as u64)
        .read_to_end(&mut body)
        .map_err(|e| Error::Connection {
            message: format!("reading the error answer: {e}"),
            source: None,
        })?;
    Ok(body)
}

/// Reads at most `cap` bytes of a body and drops the rest (closing the connection).
async fn read_capped(mut resp: reqwest::Response, cap: usize) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        let room = cap - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= cap {
            break;
        }
    }
    Ok(body)
}

/// The error for an answer already read: `Error::Api` for an error status, else
/// `UnexpectedStatus`. Shared by the async and blocking paths.
pub(crate) fn from_parts(
    status: u16,
    url: String,
    request_id: Option<String>,
    body: &[u8],
) -> Error {
    if status >= 400 {
        Error::Api(Box::new(ApiError::from_body(
            Some(status),
            request_id,
            body,
        )))
    } else {
        Error::UnexpectedStatus {
            status,
            url: redact_url_text(&url),
            snippet: snippet(body),
        }
    }
}

pub(crate) fn request_id(h: &reqwest::header::HeaderMap) -> Option<String> {
    h.get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Reads a JSON answer: an error status becomes `Error::Api`, a body that does not decode
/// becomes `Error::Decode` with its JSON path.
#[cfg_attr(not(feature = "full"), allow(dead_code))] // used by some API groups only
pub(crate) async fn decode_json<R: serde::de::DeserializeOwned>(
    resp: reqwest::Response,
) -> Result<progenitor_client::ResponseValue<R>, Error> {
    let status = resp.status();
    if !status.is_success() {
        return Err(from_response(resp).await);
    }
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.map_err(Error::from_reqwest)?;
    let what = std::any::type_name::<R>()
        .rsplit("::")
        .next()
        .unwrap_or("body");
    decode_bytes(&bytes, what).map(|v| progenitor_client::ResponseValue::new(v, status, headers))
}

/// Decodes a JSON body into `R`; on failure, [`Error::Decode`] naming `what`, with the JSON
/// path (or, for a body that is not UTF-8, the byte offset of the first bad byte).
///
/// The body is read as text (`from_str`), as the stream layer reads events: one serde_json
/// reader for every generated type, so its `Deserialize` is compiled once for it rather than
/// for bytes too (a few percent of the crate's peak build memory).
pub(crate) fn decode_bytes<R: serde::de::DeserializeOwned>(
    bytes: &[u8],
    what: &str,
) -> Result<R, Error> {
    let text = std::str::from_utf8(bytes).map_err(|e| Error::Decode {
        what: what.to_owned(),
        path: ".".to_owned(),
        message: format!("the body is not UTF-8 (at byte {})", e.valid_up_to()),
        snippet: snippet(bytes),
    })?;
    serde_json::from_str(text).map_err(|e| Error::Decode {
        what: what.to_owned(),
        path: json_path_at(bytes, &e),
        message: e.to_string(),
        snippet: snippet(bytes),
    })
}

/// Decodes a JSON value into `T`, with the path of a failure (`what` may be a full type
/// path: its last segment names it).
#[cfg_attr(
    not(any(feature = "assistants", feature = "files", feature = "embeddings")),
    allow(dead_code)
)]
pub(crate) fn decode_value<T: serde::de::DeserializeOwned>(
    json: &serde_json::Value,
    what: &str,
) -> Result<T, Error> {
    T::deserialize(json).map_err(|e| {
        let text = json.to_string();
        Error::Decode {
            what: what.rsplit("::").next().unwrap_or(what).to_owned(),
            path: value_path::<T>(&text),
            message: e.to_string(),
            snippet: snippet(text.as_bytes()),
        }
    })
}

/// The JSON path at which `text`, a value that did not decode as `T`, fails: its text decoded
/// again, as text as the generated methods decode a body (so no code is added for a type
/// that a method also returns), the path read from the position of the error.
pub(crate) fn value_path<T: serde::de::DeserializeOwned>(text: &str) -> String {
    match serde_json::from_str::<T>(text) {
        Err(e) => json_path_at(text.as_bytes(), &e),
        Ok(_) => ".".to_owned(),
    }
}

/// Reads a text answer (such as an SDP answer).
#[cfg_attr(not(feature = "realtime"), allow(dead_code))]
pub(crate) async fn read_text(
    resp: reqwest::Response,
) -> Result<progenitor_client::ResponseValue<String>, Error> {
    let status = resp.status();
    if !status.is_success() {
        return Err(from_response(resp).await);
    }
    let headers = resp.headers().clone();
    let text = resp.text().await.map_err(Error::from_reqwest)?;
    Ok(progenitor_client::ResponseValue::new(text, status, headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_that_is_not_utf8_is_a_decode_error_with_its_offset() {
        let body = b"{\"id\": \"ab\xff\"}";
        let e = decode_bytes::<serde_json::Value>(body, "Thing").unwrap_err();
        match e {
            Error::Decode {
                what,
                path,
                message,
                ..
            } => {
                assert_eq!(what, "Thing");
                assert_eq!(path, ".");
                assert_eq!(message, "the body is not UTF-8 (at byte 10)");
            }
            other => panic!("{other:?}"),
        }
        let ok: serde_json::Value = decode_bytes(br#"{"id": "\u00e9"}"#, "Thing").unwrap();
        assert_eq!(ok["id"], "\u{e9}");
    }

    #[test]
    fn api_error_from_json_body() {
        let body = br#"{"error":{"message":"Bad key","type":"invalid_request_error","code":"invalid_api_key","param":null}}"#;
        let e = ApiError::from_body(Some(401), Some("req_1".into()), body);
        assert_eq!(e.message, "Bad key");
        assert_eq!(e.code.as_deref(), Some("invalid_api_key"));
        assert_eq!(e.param, None);
        let shown = Error::Api(Box::new(e)).to_string();
        assert_eq!(
            shown,
            "API error (HTTP 401, invalid_request_error, code invalid_api_key): Bad key [request id req_1]"
        );
    }

    #[test]
    fn api_error_from_a_problem_document() {
        let body = br#"{"type":"https://example/errors#UNPROCESSABLE","title":"Invalid request","status":422,"detail":"body must have property 'messages'"}"#;
        let e = ApiError::from_body(Some(422), None, body);
        assert_eq!(
            e.message,
            "Invalid request: body must have property 'messages'"
        );
        assert!(e.body.is_some());
    }

    #[test]
    fn api_error_from_html_body_keeps_a_snippet() {
        let e = ApiError::from_body(Some(502), None, b"<html><body>Bad Gateway</body></html>");
        assert_eq!(e.message, "<html><body>Bad Gateway</body></html>");
        assert!(e.body.is_none());
        let empty = ApiError::from_body(Some(500), None, b"");
        assert_eq!(empty.message, "(empty body)");
    }

    #[test]
    fn finish_reason_errors_say_what_stopped_where() {
        let chat = serde_json::json!({"object": "chat.completion", "choices": [
            {"index": 0, "finish_reason": "stop"},
            {"index": 1, "finish_reason": "length"},
            {"index": 2, "finish_reason": "length"}],
            "usage": {"total_tokens": 3}});
        let e = Error::LengthFinishReason {
            completion: Box::new(chat),
        };
        assert_eq!(
            e.to_string(),
            r#"choices 1, 2 stopped at the length limit (finish_reason "length"), so their output could not be parsed; usage: {"total_tokens":3}"#
        );
        let chat =
            serde_json::json!({"choices": [{"index": 0, "finish_reason": "content_filter"}]});
        let e = Error::ContentFilterFinishReason {
            completion: Box::new(chat),
        };
        assert_eq!(
            e.to_string(),
            r#"choice 0 was stopped by the content filter (finish_reason "content_filter"), so its output could not be parsed"#
        );
        // A response (Responses API): incomplete, and why; no word of parsing.
        let response = serde_json::json!({"object": "response", "status": "incomplete",
            "incomplete_details": {"reason": "max_output_tokens"}, "usage": {"output_tokens": 16}});
        let e = Error::LengthFinishReason {
            completion: Box::new(response),
        };
        assert_eq!(
            e.to_string(),
            r#"the response is incomplete: the output token limit (`max_output_tokens`) was reached (incomplete_details.reason "max_output_tokens"); usage: {"output_tokens":16}"#
        );
        let e = Error::ContentFilterFinishReason {
            completion: Box::new(serde_json::json!({"id": "resp_9", "incomplete_details": null})),
        };
        assert_eq!(
            e.to_string(),
            "the response resp_9 is incomplete: no reason given (incomplete_details.reason none)"
        );
    }

    #[test]
    fn decode_path_names_the_field() {
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        struct T {
            a: Vec<U>,
        }
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        struct U {
            b: i64,
        }
        let text = br#"{"a":[{"b":1},{"b":"x"}]}"#;
        let e = serde_json::from_slice::<T>(text).err().unwrap();
        assert_eq!(json_path_at(text, &e), "a[1].b");
        assert!(e.to_string().contains("invalid type"), "{e}");
    }

    /// The path read from serde_json's error position is the path `serde_path_to_error` finds
    /// by decoding again, for the shapes a body takes.
    #[test]
    fn json_path_at_agrees_with_a_path_tracking_decode() {
        use std::collections::BTreeMap;
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Outer {
            a: Vec<Inner>,
            #[serde(default)]
            m: BTreeMap<String, Inner>,
            #[serde(default)]
            e: Option<Kind>,
        }
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Inner {
            b: i64,
        }
        #[derive(serde::Deserialize, Debug)]
        enum Kind {
            #[serde(rename = "x")]
            X,
        }
        fn check<T: serde::de::DeserializeOwned + std::fmt::Debug>(text: &str, expected: &str) {
            let e = serde_json::from_str::<T>(text).unwrap_err();
            let tracked = {
                let mut de = serde_json::Deserializer::from_str(text);
                let e = serde_path_to_error::deserialize::<_, T>(&mut de).unwrap_err();
                known_path(e.path())
            };
            assert_eq!(json_path_at(text.as_bytes(), &e), expected, "{text}: {e}");
            assert_eq!(tracked, expected, "{text}: path_to_error");
        }
        check::<Outer>(r#"{"a":[{"b":1},{"b":"x"}]}"#, "a[1].b");
        check::<Outer>(r#"{"a":[{"b":1},{}]}"#, "a[1]");
        check::<Outer>(r#"{"a":[],"m":{"k\"ey":{"b":true}}}"#, "m.k\"ey.b");
        check::<Outer>(
            "{\n  \"a\": [\n    {\"b\": 1},\n    {\"b\": null}\n  ]\n}",
            "a[1].b",
        );
        check::<Outer>(r#"{"a":[],"e":"y"}"#, "e");
        check::<Outer>(r#"{"a":{}}"#, "a");
        check::<Outer>(r#"{"m":{},"a":[{"b":[1,2]}]}"#, "a[0].b");
        check::<Outer>(r#"{"m":{}}"#, ".");
        check::<Vec<Inner>>(r#"[{"b":1},{"b":"2"}]"#, "[1].b");
        check::<Vec<Vec<Inner>>>(r#"[[],[{"b":1},{"b":1.5}]]"#, "[1][1].b");
    }
}
