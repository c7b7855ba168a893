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
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, Stream, StreamExt};
use serde::de::DeserializeOwned;

use crate::error::{snippet, ApiError, StreamErrorKind};
use crate::sse::{OpenAiDecoder, SseError, SseFrame, StreamEnd};
use crate::Error;

/// What a pipeline has next.
pub(crate) enum Step<T> {
    Item(T),
    /// An error that ends the stream (the driver closes the body).
    Error(Error),
    /// An error the stream goes on after (an unknown Assistants event, say).
    #[cfg_attr(not(feature = "assistants"), allow(dead_code))]
    Recoverable(Error),
    NeedInput,
    End,
    /// The connection ended before the stream's final event: the driver asks the pump to
    /// [`resume`](Pump::resume), else returns the error.
    Dropped(Error),
}

impl<T> Step<T> {
    /// As a pipeline's public `next_event` gives it: the item or the error, `None` when
    /// more input is needed or the stream is over.
    pub(crate) fn into_next(self) -> Option<Result<T, Error>> {
        match self {
            Step::Item(item) => Some(Ok(item)),
            Step::Error(e) | Step::Recoverable(e) | Step::Dropped(e) => Some(Err(e)),
            Step::NeedInput | Step::End => None,
        }
    }

    /// `Ok` with the item, or the same step for a pump of other items (one that wraps
    /// another, like a family's pipeline around [`Frames`]).
    pub(crate) fn into_item<U>(self) -> Result<T, Step<U>> {
        Err(match self {
            Step::Item(item) => return Ok(item),
            Step::Error(e) => Step::Error(e),
            Step::Recoverable(e) => Step::Recoverable(e),
            Step::Dropped(e) => Step::Dropped(e),
            Step::NeedInput => Step::NeedInput,
            Step::End => Step::End,
        })
    }
}

/// A payload frame with where it was.
pub(crate) struct Payload {
    pub(crate) frame: SseFrame,
    pub(crate) number: u64,
    pub(crate) end_offset: u64,
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

/// Something that turns bytes into items: a stream family's event pipeline, or a typed
/// event decoder ([`TypedEvents`]). The drivers ([`BodyStream`], [`BlockingBody`]) feed
/// it a body's bytes and hand its items and errors on.
pub(crate) trait Pump {
    type Item;
    fn push(&mut self, bytes: &[u8]);
    /// The body ended, cleanly or with a transport error.
    fn end_of_input(&mut self, transport_error: Option<String>);
    fn step(&mut self) -> Step<Self::Item>;

    /// The body stalled past the read timeout: by default the driver returns the
    /// [`Error::Timeout`] as the stream's last item. A pump that reports errors itself (to
    /// an event handler) takes it and returns `None`; it then gives it from `step`.
    fn timed_out(&mut self, error: Error) -> Option<Error> {
        Some(error)
    }

    /// After [`Step::Dropped`]: the request that picks the stream up again, or `None` to
    /// end it with `error`.
    fn resume(&mut self, error: &Error) -> Option<Resume> {
        let _ = error;
        None
    }

    /// The answer to [`resume`](Self::resume) arrived: its body is read from now on.
    fn reconnected(&mut self, request_id: Option<String>) {
        let _ = request_id;
    }
}

/// A `GET` that resumes a dropped stream (see [`Pump::resume`]), sent by the driver with
/// the client's headers and auth.
#[cfg_attr(not(feature = "responses"), allow(dead_code))]
pub(crate) struct Resume {
    pub(crate) client: crate::Client,
    pub(crate) path: String,
    pub(crate) query: Vec<(&'static str, String)>,
}

impl Resume {
    async fn send(self) -> Result<reqwest::Response, Error> {
        let request = self
            .client
            .request(reqwest::Method::GET, &self.path)?
            .query(&self.query)
            .header(reqwest::header::ACCEPT, "text/event-stream");
        // The request that started the stream carried the extra body fields.
        self.client.send_followup(request).await
    }

    #[cfg(feature = "blocking")]
    fn send_blocking(self) -> Result<reqwest::blocking::Response, Error> {
        self.client.send_blocking_with(
            reqwest::Method::GET,
            &self.path,
            &self.query,
            &[("accept", "text/event-stream")],
            None,
            crate::client::BodyExtras::Skip,
        )
    }
}

/// Sends a blocking request for an event stream through the client's common path
/// ([`Client::send_blocking_with`](crate::Client)): headers and auth, request options,
/// retries until the answer's headers; an error status is [`Error::Api`].
#[cfg(feature = "blocking")]
#[cfg_attr(not(any(feature = "chat", feature = "responses")), allow(dead_code))]
pub(crate) fn send_blocking(
    client: &crate::Client,
    method: reqwest::Method,
    path: &str,
    query: &[(&str, String)],
    body: Option<&serde_json::Value>,
) -> Result<reqwest::blocking::Response, Error> {
    send_blocking_with(client, method, path, query, &[], body)
}

/// [`send_blocking`] with `extra` headers (the Assistants beta header).
#[cfg(feature = "blocking")]
#[cfg_attr(
    not(any(feature = "chat", feature = "responses", feature = "assistants")),
    allow(dead_code)
)]
pub(crate) fn send_blocking_with(
    client: &crate::Client,
    method: reqwest::Method,
    path: &str,
    query: &[(&str, String)],
    extra: &[(&'static str, &'static str)],
    body: Option<&serde_json::Value>,
) -> Result<reqwest::blocking::Response, Error> {
    let mut headers: Vec<(&str, &str)> = vec![("accept", "text/event-stream")];
    headers.extend(extra.iter().copied());
    client.send_blocking_with(
        method,
        path,
        query,
        &headers,
        body,
        crate::client::BodyExtras::Apply,
    )
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
        let frames = Frames {
            request_id,
            ..Frames::default()
        };
        TypedEvents {
            frames,
            what,
            _item: PhantomData,
        }
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
        let Payload {
            frame,
            number,
            end_offset,
        } = match self.frames.next().into_item() {
            Ok(payload) => payload,
            Err(step) => return step,
        };
        match serde_json::from_str::<T>(&frame.data) {
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
        f.debug_struct("EventStream")
            .field("what", &self.inner.pump.what)
            .finish_non_exhaustive()
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
        EventStream {
            inner: BodyStream::new(response, pump),
        }
    }
}

/// `request_id()`, `headers()` and `metadata()` of a stream whose driver is `$($body)+`.
macro_rules! response_metadata_methods {
    ($($body:tt)+) => {
        /// The `x-request-id` of the answer that started the stream (its headers arrived
        /// before the stream was returned).
        pub fn request_id(&self) -> Option<&str> {
            self.$($body)+.metadata.request_id()
        }

        /// The headers of the answer that started the stream.
        pub fn headers(&self) -> &reqwest::header::HeaderMap {
            self.$($body)+.metadata.headers()
        }

        /// The status and headers of the answer that started the stream, with the typed
        /// views ([`rate_limits`](crate::ResponseMetadata::rate_limits), ...).
        pub fn metadata(&self) -> &crate::ResponseMetadata {
            &self.$($body)+.metadata
        }
    };
}
pub(crate) use response_metadata_methods;

impl<T> EventStream<T> {
    response_metadata_methods!(inner);
}

impl<T: DeserializeOwned> Stream for EventStream<T> {
    type Item = Result<T, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.inner).poll_next(cx)
    }
}

/// Drives a [`Pump`] from an async body: items and errors are handed on, a stall past the
/// read timeout is [`Error::Timeout`], and a dropped connection the pump can
/// [`resume`](Pump::resume) is picked up again with a new request.
pub(crate) struct BodyStream<P> {
    body: Option<BoxStream<'static, reqwest::Result<Bytes>>>,
    pub(crate) pump: P,
    /// The status and headers of the answer that started the stream.
    pub(crate) metadata: crate::ResponseMetadata,
    /// A resumption request under way.
    connecting: Option<BoxFuture<'static, Result<reqwest::Response, Error>>>,
    /// Set once a timeout ended the stream (the pump is not told; nothing follows).
    timed_out: bool,
}

impl<P> BodyStream<P> {
    pub(crate) fn new(response: reqwest::Response, pump: P) -> Self {
        BodyStream {
            metadata: crate::ResponseMetadata::of(&response),
            body: Some(response.bytes_stream().boxed()),
            pump,
            connecting: None,
            timed_out: false,
        }
    }

    /// The same driver with its pump changed (an Assistants stream's new handler).
    #[cfg_attr(not(feature = "assistants"), allow(dead_code))]
    pub(crate) fn map_pump<Q>(self, f: impl FnOnce(P) -> Q) -> BodyStream<Q> {
        BodyStream {
            metadata: self.metadata,
            body: self.body,
            pump: f(self.pump),
            connecting: self.connecting,
            timed_out: self.timed_out,
        }
    }
}

/// A transport error with its causes (reqwest's own message for a body error is only
/// "error decoding response body"), any URL in it redacted.
fn transport_message(e: &reqwest::Error) -> String {
    crate::error::transport_message(e)
}

impl<P: Pump + Unpin> Stream for BodyStream<P> {
    type Item = Result<P::Item, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.timed_out {
            return Poll::Ready(None);
        }
        loop {
            if let Some(connecting) = this.connecting.as_mut() {
                let response = match connecting.poll_unpin(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(response) => response,
                };
                this.connecting = None;
                match response {
                    Ok(response) => {
                        this.pump
                            .reconnected(crate::error::request_id(response.headers()));
                        this.body = Some(response.bytes_stream().boxed());
                    }
                    Err(e) => return Poll::Ready(Some(Err(e))),
                }
            }
            match this.pump.step() {
                Step::Item(item) => return Poll::Ready(Some(Ok(item))),
                Step::Recoverable(e) => return Poll::Ready(Some(Err(e))),
                Step::Error(e) => {
                    this.body = None;
                    return Poll::Ready(Some(Err(e)));
                }
                Step::End => {
                    this.body = None;
                    return Poll::Ready(None);
                }
                Step::Dropped(e) => {
                    this.body = None;
                    match this.pump.resume(&e) {
                        Some(resume) => this.connecting = Some(resume.send().boxed()),
                        None => return Poll::Ready(Some(Err(e))),
                    }
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
                            let error = Error::Timeout {
                                message: format!(
                                    "reading the event stream: {}",
                                    transport_message(&e)
                                ),
                            };
                            if let Some(error) = this.pump.timed_out(error) {
                                this.timed_out = true;
                                return Poll::Ready(Some(Err(error)));
                            }
                        }
                        Poll::Ready(Some(Err(e))) => {
                            this.body = None;
                            this.pump.end_of_input(Some(transport_message(&e)));
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

/// Drives a [`Pump`] from a blocking body (feature `blocking`), as [`BodyStream`] does
/// from an async one.
#[cfg(feature = "blocking")]
#[cfg_attr(
    not(any(feature = "chat", feature = "responses", feature = "assistants")),
    allow(dead_code)
)]
pub(crate) struct BlockingBody<P> {
    response: Option<reqwest::blocking::Response>,
    pub(crate) pump: P,
    /// The status and headers of the answer that started the stream.
    pub(crate) metadata: crate::ResponseMetadata,
    buf: Vec<u8>,
    /// Set once a timeout ended the stream: nothing follows.
    timed_out: bool,
}

#[cfg(feature = "blocking")]
#[cfg_attr(
    not(any(feature = "chat", feature = "responses", feature = "assistants")),
    allow(dead_code)
)]
impl<P: Pump> BlockingBody<P> {
    pub(crate) fn new(response: reqwest::blocking::Response, pump: P) -> Self {
        BlockingBody {
            metadata: crate::ResponseMetadata::of_blocking(&response),
            response: Some(response),
            pump,
            buf: vec![0; 16 * 1024],
            timed_out: false,
        }
    }

    /// The same driver with its pump changed (an Assistants stream's new handler).
    #[cfg_attr(not(feature = "assistants"), allow(dead_code))]
    pub(crate) fn map_pump<Q>(self, f: impl FnOnce(P) -> Q) -> BlockingBody<Q> {
        BlockingBody {
            metadata: self.metadata,
            response: self.response,
            pump: f(self.pump),
            buf: self.buf,
            timed_out: self.timed_out,
        }
    }

    /// The next item, reading from the body as needed; `None` at the end. After an error
    /// that ends the stream the response is closed.
    pub(crate) fn next_item(&mut self) -> Option<Result<P::Item, Error>> {
        use std::io::Read;
        if self.timed_out {
            return None;
        }
        loop {
            match self.pump.step() {
                Step::Item(e) => return Some(Ok(e)),
                Step::Recoverable(e) => return Some(Err(e)),
                Step::Error(e) => {
                    self.response = None;
                    return Some(Err(e));
                }
                Step::End => {
                    self.response = None;
                    return None;
                }
                Step::Dropped(e) => {
                    self.response = None;
                    let Some(resume) = self.pump.resume(&e) else {
                        return Some(Err(e));
                    };
                    match resume.send_blocking() {
                        Ok(response) => {
                            self.pump
                                .reconnected(crate::error::request_id(response.headers()));
                            self.response = Some(response);
                        }
                        Err(e) => return Some(Err(e)),
                    }
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
                            let error = Error::Timeout {
                                message: format!("reading the event stream: {e}"),
                            };
                            if let Some(error) = self.pump.timed_out(error) {
                                self.timed_out = true;
                                return Some(Err(error));
                            }
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
#[cfg_attr(
    not(any(feature = "chat", feature = "responses", feature = "assistants")),
    allow(dead_code)
)]
fn is_timeout(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::TimedOut
        || e.get_ref()
            .and_then(|inner| inner.downcast_ref::<reqwest::Error>())
            .is_some_and(reqwest::Error::is_timeout)
}
