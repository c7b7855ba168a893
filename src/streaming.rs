//! Server-sent event streams over HTTP, shared by every stream family: the OpenAI framing
//! of [`sse`](crate::sse) with end-of-input and transport-error handling, the drivers that
//! feed a transport-free pipeline from an async or a blocking body, and [`EventStream`], a
//! stream of events decoded into one generated type (used for the raw chat chunks and
//! for audio transcription streams).
//!
//! Every SSE event is logged at `trace` level (its number, type, size and data) under the
//! request's span; the request itself, and so the key, never is.

use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use serde::de::DeserializeOwned;

use crate::error::{snippet, ApiError, StreamErrorKind};
use crate::sse::{OpenAiDecoder, SseError, SseFrame, StreamEnd};
use crate::Error;

/// What a pipeline has next.
pub(crate) enum Step<T> {
    Item(T),
    Error(Error),
    NeedInput,
    End,
}

/// A payload frame with where it was.
pub(crate) struct Payload {
    pub(crate) frame: SseFrame,
    pub(crate) number: u64,
    pub(crate) end_offset: u64,
}

/// SSE frames with the OpenAI conventions, end-of-input and transport-error handling.
#[derive(Debug, Default)]
pub(crate) struct Frames {
    decoder: OpenAiDecoder,
    frames: u64,
    eof: Option<StreamEnd>,
    transport_error: Option<String>,
    pub(crate) finished: bool,
    pub(crate) request_id: Option<String>,
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
            message: format!("a line or event is larger than {limit} bytes"),
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
                Step::Error(sse_error(e, self.request_id.clone()))
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
                    Step::Error(Error::Stream {
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
                        return Step::Error(Error::Connection {
                            message: format!("the stream broke after {} events: {t}", self.frames),
                            source: None,
                        });
                    }
                    tracing::warn!(
                        events = self.frames,
                        "the event stream ended without `data: [DONE]`"
                    );
                    Step::End
                }
            },
        }
    }

    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.decoder.push(bytes);
    }

    pub(crate) fn end_of_input(&mut self, transport_error: Option<String>) {
        if self.eof.is_none() {
            self.transport_error = transport_error;
            self.eof = Some(self.decoder.finish());
        }
    }
}

/// Something that turns bytes into items: a stream family's event pipeline, or a typed
/// event decoder ([`TypedEvents`]).
pub(crate) trait Pump {
    type Item;
    fn push(&mut self, bytes: &[u8]);
    fn end_of_input(&mut self, transport_error: Option<String>);
    fn step(&mut self) -> Step<Self::Item>;
}

/// Bytes in, events of one type out: each SSE event's data decoded as a `T`.
#[derive(Debug)]
pub(crate) struct TypedEvents<T> {
    pub(crate) frames: Frames,
    what: &'static str,
    _item: PhantomData<fn() -> T>,
}

impl<T> TypedEvents<T> {
    /// `what` names an event in errors ("chat completion chunk").
    pub(crate) fn new(what: &'static str, request_id: Option<String>) -> Self {
        let frames = Frames { request_id, ..Frames::default() };
        TypedEvents { frames, what, _item: PhantomData }
    }
}

impl<T: DeserializeOwned> Pump for TypedEvents<T> {
    type Item = T;

    fn push(&mut self, bytes: &[u8]) {
        self.frames.push(bytes);
    }

    fn end_of_input(&mut self, transport_error: Option<String>) {
        self.frames.end_of_input(transport_error);
    }

    fn step(&mut self) -> Step<T> {
        match self.frames.next() {
            Step::Item(Payload { frame, number, end_offset }) => match serde_json::from_str::<T>(&frame.data) {
                Ok(item) => Step::Item(item),
                Err(e) => {
                    self.frames.finished = true;
                    let (path, message) = crate::error::json_path::<T>(frame.data.as_bytes())
                        .unwrap_or_else(|| (".".into(), e.to_string()));
                    Step::Error(Error::Decode {
                        what: format!("{} #{number} (ending at byte {end_offset})", self.what),
                        path,
                        message,
                        snippet: snippet(frame.data.as_bytes()),
                    })
                }
            },
            Step::Error(e) => Step::Error(e),
            Step::NeedInput => Step::NeedInput,
            Step::End => Step::End,
        }
    }
}

/// A stream of server-sent events decoded into one type `T` (a generated event union, for
/// instance), with the SDK's stream rules: `data: [DONE]` ends it, an error event or
/// `{"error": ...}` payload is [`Error::Api`], a connection that closes mid-event is
/// [`Error::Stream`], an event that does not decode is [`Error::Decode`] with its number,
/// byte offset and JSON path. The first error ends the stream. Dropping it closes the
/// response.
pub struct EventStream<T> {
    inner: BodyStream<TypedEvents<T>>,
}

impl<T> std::fmt::Debug for EventStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream").field("what", &self.inner.pump.what).finish_non_exhaustive()
    }
}

impl<T: DeserializeOwned> EventStream<T> {
    /// Reads `response` as an event stream of `T`s; `what` names an event in errors
    /// ("transcription event #3 (ending at byte 812)"). For endpoints this SDK has no
    /// stream helper for, with a response you got yourself.
    ///
    /// ```no_run
    /// # async fn run(response: reqwest::Response) {
    /// use futures::StreamExt;
    /// let mut events = openai_sdk::streaming::EventStream::<serde_json::Value>::new(response, "event");
    /// while let Some(event) = events.next().await {
    ///     println!("{:?}", event);
    /// }
    /// # }
    /// ```
    pub fn new(response: reqwest::Response, what: &'static str) -> Self {
        let pump = TypedEvents::new(what, crate::error::request_id(response.headers()));
        EventStream { inner: BodyStream::new(response, pump) }
    }
}

impl<T: DeserializeOwned> Stream for EventStream<T> {
    type Item = Result<T, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.inner).poll_next(cx)
    }
}

/// Drives a [`Pump`] from an async body.
pub(crate) struct BodyStream<P> {
    body: Option<BoxStream<'static, reqwest::Result<Bytes>>>,
    pub(crate) pump: P,
    /// Set once a timeout ended the stream (the pump is not told; nothing follows).
    timed_out: bool,
}

impl<P> BodyStream<P> {
    pub(crate) fn new(response: reqwest::Response, pump: P) -> Self {
        BodyStream {
            body: Some(response.bytes_stream().boxed()),
            pump,
            timed_out: false,
        }
    }
}

/// A transport error with its causes (reqwest's own message for a body error is only
/// "error decoding response body").
fn transport_message(e: &reqwest::Error) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

impl<P: Pump + Unpin> Stream for BodyStream<P> {
    type Item = Result<P::Item, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.timed_out {
            return Poll::Ready(None);
        }
        loop {
            match this.pump.step() {
                Step::Item(item) => return Poll::Ready(Some(Ok(item))),
                Step::Error(e) => {
                    this.body = None;
                    return Poll::Ready(Some(Err(e)));
                }
                Step::End => {
                    this.body = None;
                    return Poll::Ready(None);
                }
                Step::NeedInput => {
                    let Some(body) = this.body.as_mut() else {
                        this.pump.end_of_input(None);
                        continue;
                    };
                    match body.poll_next_unpin(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Some(Ok(bytes))) => this.pump.push(&bytes),
                        Poll::Ready(Some(Err(e))) if e.is_timeout() => {
                            // The read (or whole-request) timeout fired mid-body: a typed
                            // timeout, not a broken connection.
                            this.body = None;
                            this.timed_out = true;
                            return Poll::Ready(Some(Err(Error::Timeout {
                                message: format!("reading the event stream: {}", transport_message(&e)),
                            })));
                        }
                        Poll::Ready(Some(Err(e))) => {
                            this.body = None;
                            this.pump.end_of_input(Some(e.to_string()));
                        }
                        Poll::Ready(None) => {
                            this.body = None;
                            this.pump.end_of_input(None);
                        }
                    }
                }
            }
        }
    }
}


/// Drives a [`Pump`] from a blocking body (feature `blocking`).
#[cfg(feature = "blocking")]
#[cfg_attr(not(feature = "chat"), allow(dead_code))]
pub(crate) struct BlockingBody<P> {
    response: Option<reqwest::blocking::Response>,
    pub(crate) pump: P,
    buf: Vec<u8>,
    /// Set once a timeout ended the stream: nothing follows.
    timed_out: bool,
}

#[cfg(feature = "blocking")]
#[cfg_attr(not(feature = "chat"), allow(dead_code))]
impl<P: Pump> BlockingBody<P> {
    pub(crate) fn new(response: reqwest::blocking::Response, pump: P) -> Self {
        BlockingBody { response: Some(response), pump, buf: vec![0; 16 * 1024], timed_out: false }
    }

    /// The next item, reading from the body as needed; `None` at the end. After an error
    /// the response is closed.
    pub(crate) fn next_item(&mut self) -> Option<Result<P::Item, Error>> {
        use std::io::Read;
        if self.timed_out {
            return None;
        }
        loop {
            match self.pump.step() {
                Step::Item(e) => return Some(Ok(e)),
                Step::Error(e) => {
                    self.response = None;
                    return Some(Err(e));
                }
                Step::End => {
                    self.response = None;
                    return None;
                }
                Step::NeedInput => {
                    let Some(response) = self.response.as_mut() else {
                        self.pump.end_of_input(None);
                        continue;
                    };
                    match response.read(&mut self.buf) {
                        Ok(0) => {
                            self.response = None;
                            self.pump.end_of_input(None);
                        }
                        Ok(n) => {
                            let bytes = self.buf.get(..n).unwrap_or_default();
                            self.pump.push(bytes);
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) if is_timeout(&e) => {
                            // The read timeout fired mid-body: a typed timeout.
                            self.response = None;
                            self.timed_out = true;
                            return Some(Err(Error::Timeout { message: format!("reading the event stream: {e}") }));
                        }
                        Err(e) => {
                            self.response = None;
                            self.pump.end_of_input(Some(e.to_string()));
                        }
                    }
                }
            }
        }
    }
}

/// Whether a blocking read error is a timeout (`reqwest::blocking` reports its read timeout
/// as an I/O error wrapping the reqwest error, or as `TimedOut`).
#[cfg(feature = "blocking")]
#[cfg_attr(not(feature = "chat"), allow(dead_code))]
fn is_timeout(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::TimedOut
        || e.get_ref()
            .and_then(|inner| inner.downcast_ref::<reqwest::Error>())
            .is_some_and(reqwest::Error::is_timeout)
}
