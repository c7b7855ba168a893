//! The drivers: they feed a transport-free pipeline (a [`Pump`]) from its input and hand
//! its items and errors on. [`BodyStream`] reads an async [`Source`] (an HTTP body, or any
//! other transport), [`BlockingBody`] a blocking HTTP body; both resume a dropped stream
//! when the pump says how ([`Pump::resume`]).
//!
//! Every SSE event is logged at `trace` level (its number, type, size and data) under the
//! request's span; the request itself, and so the key, never is.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, Stream, StreamExt};

use crate::Error;

/// What a pipeline has next.
pub enum Step<T> {
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
    #[cfg_attr(
        not(any(feature = "chat", feature = "responses", feature = "assistants")),
        allow(dead_code)
    )]
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

/// The largest SSE event the stream of a response accepts
/// ([`ClientBuilder::max_sse_event_bytes`](crate::ClientBuilder::max_sse_event_bytes)):
/// the client puts it in the extensions of every response it sends, and the drivers
/// ([`BodyStream::new`], [`BlockingBody::new`]) hand it to their pump. A response the
/// client did not send has none, and the decoder's default applies.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MaxEventSize(pub(crate) usize);

/// Something that turns input into items: a stream family's event pipeline, or a typed
/// event decoder ([`TypedEvents`](super::typed::TypedEvents)). The drivers
/// ([`BodyStream`], [`BlockingBody`]) feed it a body's bytes (or a message transport's
/// payloads) and hand its items and errors on.
///
/// Public in a private module (sealed): it bounds the impls of the public
/// [`PipelineStream`](super::PipelineStream), but no one outside the crate can name or
/// implement it.
pub trait Pump {
    type Item;
    /// Bytes of the event stream, split anywhere.
    fn push(&mut self, bytes: &[u8]);
    /// Like `push`, for bytes the pump may keep and read in place (a body's chunks).
    fn push_bytes(&mut self, bytes: bytes::Bytes) {
        self.push(&bytes);
    }
    /// One whole payload from a transport that frames its messages itself
    /// ([`Input::Message`]).
    fn push_message(&mut self, data: String);
    /// The body ended, cleanly or with a transport error.
    fn end_of_input(&mut self, transport_error: Option<String>);
    fn step(&mut self) -> Step<Self::Item>;
    /// Sets the largest SSE event (or line) the pump's decoder accepts, in bytes.
    fn set_max_event_size(&mut self, limit: usize);
    /// The `x-request-id` of the answer whose body the pump reads (for errors and logs).
    fn set_request_id(&mut self, id: Option<String>);

    /// A binary message from a transport that frames its messages itself
    /// ([`Input::Binary`]). The event streams are JSON text, so by default the input is
    /// broken there: the pump sees the end of its input with that transport error.
    fn push_binary(&mut self, bytes: Bytes) {
        self.end_of_input(Some(format!(
            "a binary message of {} bytes in a stream of text events",
            bytes.len()
        )));
    }

    /// The input stopped with an error that ends the stream and is not a dropped
    /// connection: the body stalled past the read timeout ([`Error::Timeout`]), or the
    /// transport failed with a typed error of its own ([`SourceError::Failed`]: a
    /// WebSocket's close code, say). By default the driver returns it as the stream's last
    /// item. A pump that reports errors itself (to an event handler) takes it and returns
    /// `None`; it then gives it from `step`.
    fn failed(&mut self, error: Error) -> Option<Error> {
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
pub struct Resume {
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
#[cfg_attr(not(feature = "responses"), allow(dead_code))]
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
    not(any(feature = "responses", feature = "assistants")),
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

/// One piece of a stream's input, as a [`Source`] gives it.
#[derive(Debug)]
pub(crate) enum Input {
    /// Bytes of a `text/event-stream` body, split anywhere.
    Bytes(Bytes),
    /// One whole event payload (its JSON text) from a transport that frames its messages
    /// itself, such as a WebSocket text message. A pipeline over the OpenAI framing
    /// numbers and classifies it (`[DONE]`, `{"error": ...}`) exactly as a decoded SSE
    /// event; the Responses WebSocket's own pump reads it as that API's message (its
    /// `error` event). A source gives either bytes or messages, not both.
    #[cfg_attr(not(any(test, feature = "responses-ws")), allow(dead_code))]
    Message(String),
    /// A binary message from such a transport (see [`Pump::push_binary`]).
    #[cfg_attr(not(feature = "responses-ws"), allow(dead_code))]
    Binary(Bytes),
}

/// Why a [`Source`] stopped before its end.
#[derive(Debug)]
pub(crate) enum SourceError {
    /// Nothing arrived within the read timeout: the stream ends with
    /// [`Error::Timeout`] carrying this message (not resumed).
    Timeout(String),
    /// The transport broke: the pump sees the end of its input with this message (a
    /// dropped stream, which it may [`resume`](Pump::resume)).
    Broken(String),
    /// The transport failed with a typed error of its own (a WebSocket closed with a code
    /// other than normal, a lane refused): the stream ends with it as it is (see
    /// [`Pump::failed`]), not resumed.
    #[cfg_attr(not(feature = "responses-ws"), allow(dead_code))]
    Failed(Error),
}

/// Where a [`BodyStream`]'s input comes from: an HTTP body ([`http_source`]), or any
/// other transport. This is the seam for a stream fed from something other than an
/// HTTP response (a WebSocket): give [`Input::Message`]s, one per event, and the
/// family's pipeline, snapshot and public stream type stay the same. Every
/// `Stream<Item = Result<Input, SourceError>> + Send + Unpin` is a source.
pub(crate) trait Source: Send {
    /// The next piece of input; `None` when the transport ended cleanly.
    fn poll_input(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Input, SourceError>>>;
}

impl<S> Source for S
where
    S: Stream<Item = Result<Input, SourceError>> + Send + Unpin,
{
    fn poll_input(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Input, SourceError>>> {
        self.poll_next_unpin(cx)
    }
}

/// The body of an HTTP response as a [`Source`] of SSE bytes: a body error that is the
/// read (or whole-request) timeout is [`SourceError::Timeout`], any other
/// [`SourceError::Broken`].
pub(crate) fn http_source(response: reqwest::Response) -> Box<dyn Source> {
    Box::new(response.bytes_stream().map(|chunk| match chunk {
        Ok(bytes) => Ok(Input::Bytes(bytes)),
        Err(e) if e.is_timeout() => Err(SourceError::Timeout(format!(
            "reading the event stream: {}",
            transport_message(&e)
        ))),
        Err(e) => Err(SourceError::Broken(transport_message(&e))),
    }))
}

/// Drives a [`Pump`] from an async [`Source`]: items and errors are handed on, a stall
/// past the read timeout is [`Error::Timeout`], and a dropped connection the pump can
/// [`resume`](Pump::resume) is picked up again with a new request.
pub(crate) struct BodyStream<P> {
    body: Option<Box<dyn Source>>,
    pub(crate) pump: P,
    /// The status and headers of the answer that started the stream.
    pub(crate) metadata: crate::ResponseMetadata,
    /// A resumption request under way.
    connecting: Option<BoxFuture<'static, Result<reqwest::Response, Error>>>,
    /// Set once a timeout or a transport's typed error ended the stream and was handed on
    /// ([`Pump::failed`]): nothing follows.
    failed: bool,
}

impl<P> BodyStream<P> {
    /// A driver reading the body of `response`, with the event size limit the client put
    /// on it ([`MaxEventSize`]).
    pub(crate) fn new(response: reqwest::Response, mut pump: P) -> Self
    where
        P: Pump,
    {
        if let Some(MaxEventSize(limit)) = response.extensions().get::<MaxEventSize>() {
            pump.set_max_event_size(*limit);
        }
        let metadata = crate::ResponseMetadata::of(&response);
        Self::from_source(http_source(response), pump, metadata)
    }

    /// A driver reading `source` (see [`Source`]); `metadata` is what the answer that
    /// started the stream said besides its body.
    pub(crate) fn from_source(
        source: Box<dyn Source>,
        pump: P,
        metadata: crate::ResponseMetadata,
    ) -> Self {
        BodyStream {
            metadata,
            body: Some(source),
            pump,
            connecting: None,
            failed: false,
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
            failed: self.failed,
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
        if this.failed {
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
                        this.body = Some(http_source(response));
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
                    let error = match body.poll_input(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Some(Ok(input))) => {
                            match input {
                                Input::Bytes(bytes) => this.pump.push_bytes(bytes),
                                Input::Message(data) => this.pump.push_message(data),
                                Input::Binary(bytes) => this.pump.push_binary(bytes),
                            }
                            continue;
                        }
                        Poll::Ready(Some(Err(SourceError::Broken(message)))) => {
                            this.body = None;
                            this.pump.end_of_input(Some(message));
                            continue;
                        }
                        Poll::Ready(None) => {
                            this.body = None;
                            this.pump.end_of_input(None);
                            continue;
                        }
                        Poll::Ready(Some(Err(SourceError::Timeout(message)))) => {
                            Error::Timeout { message }
                        }
                        Poll::Ready(Some(Err(SourceError::Failed(error)))) => error,
                    };
                    // The read (or whole-request) timeout fired mid-body, or the transport
                    // failed with a typed error of its own: not a broken connection, so
                    // not resumed.
                    this.body = None;
                    if let Some(error) = this.pump.failed(error) {
                        this.failed = true;
                        return Poll::Ready(Some(Err(error)));
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
    /// Set once a timeout ended the stream and was handed on: nothing follows.
    failed: bool,
}

#[cfg(feature = "blocking")]
#[cfg_attr(
    not(any(feature = "chat", feature = "responses", feature = "assistants")),
    allow(dead_code)
)]
impl<P: Pump> BlockingBody<P> {
    /// A driver reading the body of `response`, with the event size limit the client put
    /// on it ([`MaxEventSize`]).
    pub(crate) fn new(response: reqwest::blocking::Response, mut pump: P) -> Self {
        if let Some(MaxEventSize(limit)) = response.extensions().get::<MaxEventSize>() {
            pump.set_max_event_size(*limit);
        }
        BlockingBody {
            metadata: crate::ResponseMetadata::of_blocking(&response),
            response: Some(response),
            pump,
            buf: vec![0; 16 * 1024],
            failed: false,
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
            failed: self.failed,
        }
    }

    /// The next item, reading from the body as needed; `None` at the end. After an error
    /// that ends the stream the response is closed.
    pub(crate) fn next_item(&mut self) -> Option<Result<P::Item, Error>> {
        use std::io::Read;
        if self.failed {
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
                            if let Some(error) = self.pump.failed(error) {
                                self.failed = true;
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
