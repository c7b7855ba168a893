//! The OpenAI framing, on top of the WHATWG decoding of [`sse`](super::sse): `data: [DONE]`
//! ends a stream, `{"error": ...}` payloads and `event: error` are API errors, empty data
//! is an error ([`classify`], [`OpenAiDecoder`]); and [`Frames`], the numbered payloads of
//! one connection with end-of-input and transport-error handling, which every stream
//! family's pipeline reads. [`Payload::locate`] is the one place an error learns which
//! event, and which byte of the stream, it came from.

use std::fmt;
use std::sync::LazyLock;

use bytes::Bytes;
use memchr::memmem::Finder;
use serde_json::Value;

use super::driver::Step;
use super::sse::{SseDecoder, SseError, SseFrame, StreamEnd};
use crate::error::{ApiError, StreamErrorKind};
use crate::Error;

/// The message used when an error payload carries no usable `message`
/// (the same text as the reference SDK).
const DEFAULT_ERROR_MESSAGE: &str = "An error occurred during streaming";

/// An error sent by the server inside an event stream.
///
/// Built from a payload `{"error": {...}}` (the fields come from the inner object) or
/// from the data of an `event: error` without an `error` key (the fields come from the
/// payload itself, as the Responses and Assistants APIs send them).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiErrorPayload {
    /// The error's `message`; `"An error occurred during streaming"` when it has none
    /// (the reference SDK's wording). An error that is a bare JSON string, or an
    /// `event: error` whose data is not JSON, uses that text.
    pub message: String,
    /// The error's `type`, when it is a string.
    pub r#type: Option<String>,
    /// The error's `code`; a numeric code is given as its decimal text.
    pub code: Option<String>,
    /// The error's `param`, when it is a string.
    pub param: Option<String>,
    /// The whole data of the event, as parsed JSON (a JSON string holding the text when
    /// the data of an `event: error` is not JSON). Nothing is lost.
    pub raw: Value,
}

impl fmt::Display for ApiErrorPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        let details = [
            ("type", &self.r#type),
            ("code", &self.code),
            ("param", &self.param),
        ];
        let mut first = true;
        for (name, value) in details {
            if let Some(value) = value {
                f.write_str(if first { " (" } else { ", " })?;
                write!(f, "{name}: {value}")?;
                first = false;
            }
        }
        if !first {
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl ApiErrorPayload {
    /// Builds the payload from the parsed data of an event. Returns `None` when the
    /// data is not an error: it has no truthy top-level `error` (Python truthiness:
    /// `null`, `false`, `0`, `""`, `[]` and `{}` are not errors) and `error_event` is
    /// false. With `error_event` (the event was `event: error`) it always returns an
    /// error.
    pub fn from_json(raw: Value, error_event: bool) -> Option<Self> {
        let inner = raw
            .get("error")
            .filter(|error| crate::parsing::is_truthy(error));
        let source = match inner {
            Some(error) => error,
            None if error_event => &raw,
            None => return None,
        };
        let field = |name: &str| source.get(name).and_then(Value::as_str).map(str::to_owned);
        let message = source
            .get("message")
            .and_then(Value::as_str)
            .or_else(|| source.as_str())
            .filter(|message| !message.is_empty())
            .unwrap_or(DEFAULT_ERROR_MESSAGE)
            .to_owned();
        let code = match source.get("code") {
            Some(Value::String(code)) => Some(code.clone()),
            Some(Value::Number(code)) => Some(code.to_string()),
            _ => None,
        };
        let r#type = field("type");
        let param = field("param");
        Some(ApiErrorPayload {
            message,
            r#type,
            code,
            param,
            raw,
        })
    }
}

/// What an event means under the OpenAI streaming conventions; see [`classify`].
#[derive(Debug, Clone, PartialEq)]
pub enum OpenAiFrame<'a> {
    /// A payload for the caller to decode: `data` is JSON text (not validated here).
    Payload {
        /// The `event:` name (`thread.run.created`, `response.output_text.delta`, ...),
        /// `None` for chat completion chunks.
        event: Option<&'a str>,
        /// The JSON text.
        data: &'a str,
    },
    /// `data: [DONE]`: the stream is over; ignore anything after it.
    Done,
    /// The server reported an error.
    ApiError(ApiErrorPayload),
    /// The data is empty (or only whitespace), which is not valid JSON; the reference
    /// SDK raises `JSONDecodeError` here.
    EmptyData,
}

/// Finds `"error"` in payloads; built once.
static ERROR_KEY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"error\""));

/// Classifies one frame under the OpenAI conventions (the reference SDK's rules):
///
/// - data starting with `[DONE]` → [`OpenAiFrame::Done`];
/// - empty or whitespace-only data → [`OpenAiFrame::EmptyData`];
/// - `event: error`, or a JSON object with a truthy top-level `error` →
///   [`OpenAiFrame::ApiError`]. `event: error` is always an error, also without an
///   `error` key or when its data is not JSON (the reference passes such events on);
/// - anything else → [`OpenAiFrame::Payload`], not parsed.
///
/// Cost: the data is parsed only when the event is `event: error` or when the bytes
/// `"error"` occur in it (one `memmem` scan); an ordinary chunk is never parsed here.
/// A key spelled with escapes (`"\u0065rror"`) is not detected.
///
/// ```
/// use openai_sdk::sse::{classify, OpenAiFrame, SseFrame};
///
/// let frame = SseFrame { data: r#"{"error":{"message":"overloaded","type":"server_error"}}"#.into(), ..Default::default() };
/// let OpenAiFrame::ApiError(error) = classify(&frame) else { panic!("not an error") };
/// assert_eq!(error.message, "overloaded");
/// assert_eq!(error.r#type.as_deref(), Some("server_error"));
///
/// let frame = SseFrame { data: r#"{"choices":[]}"#.into(), ..Default::default() };
/// assert_eq!(classify(&frame), OpenAiFrame::Payload { event: None, data: r#"{"choices":[]}"# });
/// ```
pub fn classify(frame: &SseFrame) -> OpenAiFrame<'_> {
    let data = frame.data.as_str();
    if data.starts_with("[DONE]") {
        return OpenAiFrame::Done;
    }
    if data.trim_ascii().is_empty() {
        return OpenAiFrame::EmptyData;
    }
    let event = frame.event.as_deref();
    let error_event = event == Some("error");
    if error_event || ERROR_KEY.find(data.as_bytes()).is_some() {
        match serde_json::from_str::<Value>(data) {
            Ok(value) => {
                if let Some(error) = ApiErrorPayload::from_json(value, error_event) {
                    return OpenAiFrame::ApiError(error);
                }
            }
            Err(_) if error_event => {
                return OpenAiFrame::ApiError(ApiErrorPayload {
                    message: data.to_owned(),
                    r#type: None,
                    code: None,
                    param: None,
                    raw: Value::String(data.to_owned()),
                });
            }
            // Not JSON: the caller's decoder reports it.
            Err(_) => {}
        }
    }
    OpenAiFrame::Payload { event, data }
}

/// An [`SseDecoder`] with the OpenAI conventions applied (see [`classify`]).
///
/// [`next_event`](Self::next_event) yields only payload frames; `frame.data` is the
/// JSON text to deserialize. `[DONE]` ends the stream (then `None` forever, later
/// input ignored, [`finish`](Self::finish) reports [`StreamEnd::Clean`]). An API
/// error or empty data is returned once as [`SseError::Api`] / [`SseError::EmptyData`]
/// and also ends the stream, as in the reference SDK.
///
/// ```
/// use openai_sdk::sse::{OpenAiDecoder, SseError};
///
/// let mut decoder = OpenAiDecoder::new();
/// decoder.push(b"data: {\"error\":{\"message\":\"rate limited\",\"code\":429}}\n\n");
/// match decoder.next_event() {
///     Some(Err(SseError::Api { payload, event_number: 0, .. })) => {
///         assert_eq!(payload.message, "rate limited");
///         assert_eq!(payload.code.as_deref(), Some("429"));
///     }
///     other => panic!("unexpected {other:?}"),
/// }
/// assert!(decoder.next_event().is_none());
/// ```
#[derive(Debug, Clone, Default)]
pub struct OpenAiDecoder {
    sse: SseDecoder,
    state: OpenAiState,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum OpenAiState {
    #[default]
    Streaming,
    Done,
    Failed,
}

impl OpenAiDecoder {
    /// A decoder with the default limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// Wraps a configured [`SseDecoder`] (e.g. one with another size limit).
    pub fn with_decoder(sse: SseDecoder) -> Self {
        OpenAiDecoder {
            sse,
            state: OpenAiState::Streaming,
        }
    }

    /// Changes the size limit of the underlying decoder (see
    /// [`SseDecoder::with_max_event_size`]).
    pub(crate) fn set_max_event_size(&mut self, limit: usize) {
        self.sse.set_max_event_size(limit);
    }

    /// Feeds the next chunk of the stream; ignored once the stream is done or failed.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.state == OpenAiState::Streaming {
            self.sse.push(bytes);
        }
    }

    /// Like [`push`](Self::push), without copying (see [`SseDecoder::push_bytes`]).
    pub fn push_bytes(&mut self, bytes: Bytes) {
        if self.state == OpenAiState::Streaming {
            self.sse.push_bytes(bytes);
        }
    }

    /// Feeds one whole event from a transport that frames its messages itself (a
    /// WebSocket's text message): it goes through the same rules as a decoded SSE frame.
    pub(crate) fn push_message(&mut self, event: Option<String>, data: String) {
        if self.state == OpenAiState::Streaming {
            self.sse.push_frame(SseFrame {
                event,
                data,
                ..SseFrame::default()
            });
        }
    }

    /// The next payload frame, an error, or `None` when more input is needed or the
    /// stream is over (check [`is_done`](Self::is_done)).
    pub fn next_event(&mut self) -> Option<Result<SseFrame, SseError>> {
        if self.state != OpenAiState::Streaming {
            return None;
        }
        let (frame, position) = match self.sse.next_frame_with_position()? {
            Ok(item) => item,
            Err(error) => {
                self.state = OpenAiState::Failed;
                self.sse.discard();
                return Some(Err(error));
            }
        };
        let error = match classify(&frame) {
            OpenAiFrame::Payload { .. } => return Some(Ok(frame)),
            OpenAiFrame::Done => {
                self.state = OpenAiState::Done;
                // Drop whatever was pushed after [DONE].
                self.sse.discard();
                return None;
            }
            OpenAiFrame::ApiError(payload) => SseError::Api {
                event_number: position.number,
                offset: position.offset,
                payload: Box::new(payload),
            },
            OpenAiFrame::EmptyData => SseError::EmptyData {
                event_number: position.number,
                offset: position.offset,
            },
        };
        self.state = OpenAiState::Failed;
        self.sse.discard();
        Some(Err(error))
    }

    /// An iterator that drains the events available now (see
    /// [`next_event`](Self::next_event)).
    pub fn events(&mut self) -> Events<'_> {
        Events { decoder: self }
    }

    /// True once `data: [DONE]` has been seen.
    pub fn is_done(&self) -> bool {
        self.state == OpenAiState::Done
    }

    /// Marks the end of the input. [`StreamEnd::Clean`] after `[DONE]` or after an
    /// error was returned; otherwise as [`SseDecoder::finish`] (a stream may also end
    /// cleanly without `[DONE]`, as the Responses API streams do).
    ///
    /// Events not drained yet stay available from [`next_event`](Self::next_event).
    /// If one of them ends the stream (`[DONE]`, an error), the stream ended there and
    /// the answer is [`StreamEnd::Clean`] whatever followed.
    pub fn finish(&mut self) -> StreamEnd {
        if self.state != OpenAiState::Streaming {
            return StreamEnd::Clean;
        }
        let end = self.sse.finish();
        let ends_earlier = self.sse.any_queued(|item| match item {
            Ok((frame, _)) => !matches!(classify(frame), OpenAiFrame::Payload { .. }),
            Err(_) => true,
        });
        if ends_earlier {
            StreamEnd::Clean
        } else {
            end
        }
    }

    /// The underlying frame decoder (for [`SseDecoder::last_event_id`] and friends).
    pub fn sse(&self) -> &SseDecoder {
        &self.sse
    }
}

/// Iterator over the events an [`OpenAiDecoder`] has ready; see [`OpenAiDecoder::events`].
#[derive(Debug)]
pub struct Events<'a> {
    decoder: &'a mut OpenAiDecoder,
}

impl Iterator for Events<'_> {
    type Item = Result<SseFrame, SseError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.decoder.next_event()
    }
}

/// A payload frame with where it was.
pub(crate) struct Payload {
    pub(crate) frame: SseFrame,
    pub(crate) number: u64,
    pub(crate) end_offset: u64,
}

#[cfg_attr(
    not(any(feature = "chat", feature = "responses", feature = "assistants")),
    allow(dead_code)
)]
impl Payload {
    /// Where the payload was, to [`locate`](At::locate) errors with.
    pub(crate) fn at(&self) -> At {
        At {
            number: self.number,
            end_offset: self.end_offset,
        }
    }
}

/// Where a payload was in its stream: its event number and the byte offset where it ends.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(
    not(any(feature = "chat", feature = "responses", feature = "assistants")),
    allow(dead_code)
)]
pub(crate) struct At {
    pub(crate) number: u64,
    pub(crate) end_offset: u64,
}

#[cfg_attr(
    not(any(feature = "chat", feature = "responses", feature = "assistants")),
    allow(dead_code)
)]
impl At {
    /// Says where a stream error found while handling this payload was. The state
    /// machines know neither the event number nor the offset (they see one payload at a
    /// time), so they leave `offset` empty and this is the one place that fills both in;
    /// other errors pass unchanged.
    pub(crate) fn locate(self, error: Error) -> Error {
        match error {
            Error::Stream {
                kind,
                event: _,
                offset: None,
                message,
            } => Error::Stream {
                kind,
                event: Some(self.number),
                offset: Some(self.end_offset),
                message,
            },
            other => other,
        }
    }
}

/// SSE frames with the OpenAI conventions, end-of-input and transport-error handling. A
/// connection that ends in the middle of an event, or breaks, is [`Step::Dropped`]; one
/// that ends between two events is [`Step::End`] (with a warning unless `no_done` says
/// the API sends no `data: [DONE]`).
#[derive(Debug, Default)]
pub(crate) struct Frames {
    decoder: OpenAiDecoder,
    frames: u64,
    eof: Option<StreamEnd>,
    transport_error: Option<String>,
    pub(crate) finished: bool,
    pub(crate) request_id: Option<String>,
    /// The stream ends without `data: [DONE]` (Responses): no warning when it does.
    no_done: bool,
}

/// The SDK error for an SSE decoding error (an `event: error` or `{"error": ...}` payload
/// is [`Error::Api`]).
pub(crate) fn sse_error(e: SseError, request_id: Option<String>) -> Error {
    match e {
        SseError::InvalidUtf8 { offset } => Error::Stream {
            kind: StreamErrorKind::InvalidUtf8,
            event: None,
            offset: Some(offset),
            message: "the event stream is not valid UTF-8".into(),
        },
        SseError::EventTooLarge { offset, limit } => Error::Stream {
            kind: StreamErrorKind::TooLarge,
            event: None,
            offset: Some(offset),
            message: format!(
                "the line or event data starting there is larger than the limit of {limit} bytes (ClientBuilder::max_sse_event_bytes, or EventStream::max_event_bytes); the events before it were read"
            ),
        },
        SseError::EmptyData {
            event_number,
            offset,
        } => Error::Stream {
            kind: StreamErrorKind::InvalidJson,
            event: Some(event_number),
            offset: Some(offset),
            message: "the event has empty data where JSON was expected".into(),
        },
        SseError::Api { payload, .. } => Error::Api(Box::new(ApiError {
            status: None,
            r#type: payload.r#type,
            code: payload.code,
            param: payload.param,
            message: payload.message,
            request_id,
            body: Some(payload.raw),
        })),
        SseError::IncompleteEvent {
            offset,
            pending_bytes,
        } => Error::Stream {
            kind: StreamErrorKind::Incomplete,
            event: None,
            offset: Some(offset),
            message: format!(
                "the stream ended in the middle of an event ({pending_bytes} bytes of it received)"
            ),
        },
    }
}

impl Frames {
    /// Frames of a stream whose response had `request_id` (for errors and logs).
    pub(crate) fn new(request_id: Option<String>) -> Self {
        Frames {
            request_id,
            ..Frames::default()
        }
    }

    /// Frames of a stream that ends without `data: [DONE]` (Responses).
    #[cfg_attr(not(feature = "responses"), allow(dead_code))]
    pub(crate) fn without_done(request_id: Option<String>) -> Self {
        Frames {
            request_id,
            no_done: true,
            ..Frames::default()
        }
    }

    #[inline]
    pub(crate) fn next(&mut self) -> Step<Payload> {
        if self.finished {
            return Step::End;
        }
        match self.decoder.next_event() {
            Some(Ok(frame)) => {
                let number = self.frames;
                self.frames += 1;
                // Never the request or its headers: only what the server streamed.
                tracing::trace!(
                    request_id = self.request_id.as_deref(),
                    event = number,
                    event_type = frame.event_type(),
                    bytes = frame.data.len(),
                    data = %frame.data,
                    "stream event"
                );
                Step::Item(Payload {
                    frame,
                    number,
                    end_offset: self.decoder.sse().offset(),
                })
            }
            Some(Err(e)) => {
                self.finished = true;
                let too_large = matches!(e, SseError::EventTooLarge { .. });
                let mut error = sse_error(e, self.request_id.clone());
                if let (true, Error::Stream { event, .. }) = (too_large, &mut error) {
                    // The event that was too large is the next one.
                    *event = Some(self.frames);
                }
                Step::Error(error)
            }
            None if self.decoder.is_done() => {
                self.finished = true;
                Step::End
            }
            None => match self.eof {
                None => Step::NeedInput,
                Some(StreamEnd::Incomplete {
                    offset,
                    pending_bytes,
                    ..
                }) => {
                    self.finished = true;
                    let cause = match self.transport_error.take() {
                        Some(t) => format!("; the connection failed: {t}"),
                        None => String::new(),
                    };
                    Step::Dropped(Error::Stream {
                        kind: StreamErrorKind::Incomplete,
                        event: Some(self.frames),
                        offset: Some(offset),
                        message: format!(
                            "the connection closed in the middle of an event ({pending_bytes} bytes of it received){cause}"
                        ),
                    })
                }
                Some(StreamEnd::Clean) => {
                    self.finished = true;
                    if let Some(t) = self.transport_error.take() {
                        return Step::Dropped(Error::Connection {
                            message: format!("the stream broke after {} events: {t}", self.frames),
                            source: None,
                        });
                    }
                    if !self.no_done {
                        tracing::warn!(
                            events = self.frames,
                            "the event stream ended without `data: [DONE]`"
                        );
                    }
                    Step::End
                }
            },
        }
    }

    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.decoder.push(bytes);
    }

    pub(crate) fn push_bytes(&mut self, bytes: Bytes) {
        self.decoder.push_bytes(bytes);
    }

    /// The largest event (or line) accepted, in bytes.
    #[cfg_attr(not(feature = "responses"), allow(dead_code))]
    pub(crate) fn max_event_size(&self) -> usize {
        self.decoder.sse().max_event_size()
    }

    /// Sets the largest event (or line) accepted, in bytes
    /// ([`ClientBuilder::max_sse_event_bytes`](crate::ClientBuilder::max_sse_event_bytes)).
    pub(crate) fn set_max_event_size(&mut self, limit: usize) {
        self.decoder.set_max_event_size(limit);
    }

    /// Feeds one whole payload from a message transport (see
    /// [`Input::Message`](super::driver::Input::Message)).
    pub(crate) fn push_message(&mut self, data: String) {
        self.decoder.push_message(None, data);
    }

    /// Whether the stream ended with `data: [DONE]`.
    #[cfg_attr(not(feature = "responses"), allow(dead_code))]
    pub(crate) fn saw_done(&self) -> bool {
        self.decoder.is_done()
    }

    /// How many events were read, and the byte offset reached.
    #[cfg_attr(not(feature = "responses"), allow(dead_code))]
    pub(crate) fn position(&self) -> (u64, u64) {
        (self.frames, self.decoder.sse().offset())
    }

    pub(crate) fn end_of_input(&mut self, transport_error: Option<String>) {
        if self.eof.is_none() {
            self.transport_error = transport_error;
            self.eof = Some(self.decoder.finish());
        }
    }
}
