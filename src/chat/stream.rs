//! Streams over HTTP: the transport-free byte pipeline, and its async and blocking
//! wrappers.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};

use super::events::ChatCompletionStreamEvent;
use super::snapshot::{ChatCompletionSnapshot, ParseOptions, ParsedChatCompletion};
use super::state::ChatCompletionStreamState;
use crate::error::{snippet, ApiError, StreamErrorKind};
use crate::sse::{OpenAiDecoder, SseError, SseFrame, StreamEnd};
use crate::types::CreateChatCompletionStreamResponse;
use crate::Error;

/// What a pipeline has next.
pub(crate) enum Step<T> {
    Item(T),
    Error(Error),
    NeedInput,
    End,
}

/// A payload frame with where it was.
struct Payload {
    frame: SseFrame,
    number: u64,
    end_offset: u64,
}

/// SSE frames with the OpenAI conventions, end-of-input and transport-error handling.
#[derive(Debug, Default)]
struct Frames {
    decoder: OpenAiDecoder,
    frames: u64,
    eof: Option<StreamEnd>,
    transport_error: Option<String>,
    finished: bool,
    request_id: Option<String>,
}

fn sse_error(e: SseError, request_id: Option<String>) -> Error {
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
            message: "the event has empty data where a JSON chunk was expected".into(),
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
    fn next(&mut self) -> Step<Payload> {
        if self.finished {
            return Step::End;
        }
        match self.decoder.next_event() {
            Some(Ok(frame)) => {
                let number = self.frames;
                self.frames += 1;
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

    fn push(&mut self, bytes: &[u8]) {
        self.decoder.push(bytes);
    }

    fn end_of_input(&mut self, transport_error: Option<String>) {
        if self.eof.is_none() {
            self.transport_error = transport_error;
            self.eof = Some(self.decoder.finish());
        }
    }
}

/// Something that turns bytes into items: the chat event pipeline or the raw chunk one.
pub(crate) trait Pump {
    type Item;
    fn push(&mut self, bytes: &[u8]);
    fn end_of_input(&mut self, transport_error: Option<String>);
    fn step(&mut self) -> Step<Self::Item>;
}

/// SSE bytes in, chat stream events out, with no I/O. Used by the async and blocking
/// streams, the `replay` example and the benchmarks.
///
/// ```
/// use openai_sdk::chat::ChatEventPipeline;
///
/// let mut pipeline = ChatEventPipeline::new(Default::default());
/// pipeline.push(b"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":0,\"model\":\"m\",");
/// pipeline.push(b"\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: [DONE]\n\n");
/// pipeline.end_of_input();
/// let mut types = Vec::new();
/// while let Some(event) = pipeline.next_event() {
///     types.push(event?.event_type());
/// }
/// assert_eq!(types, ["chunk", "content.delta"]);
/// assert_eq!(pipeline.state().snapshot().unwrap().content(0), Some("Hi"));
/// # Ok::<(), openai_sdk::Error>(())
/// ```
#[derive(Debug)]
pub struct ChatEventPipeline {
    frames: Frames,
    state: ChatCompletionStreamState,
    queue: VecDeque<ChatCompletionStreamEvent>,
}

impl ChatEventPipeline {
    /// A pipeline whose state parses what `options` asks for.
    pub fn new(options: ParseOptions) -> Self {
        ChatEventPipeline {
            frames: Frames::default(),
            state: ChatCompletionStreamState::with_options(options),
            queue: VecDeque::new(),
        }
    }

    /// Feeds bytes of the event stream, split anywhere.
    pub fn push(&mut self, bytes: &[u8]) {
        self.frames.push(bytes);
    }

    /// Marks the end of the input.
    pub fn end_of_input(&mut self) {
        self.frames.end_of_input(None);
    }

    /// The next event or error; `None` when more input is needed or the stream is over
    /// (after an error, `None` follows).
    pub fn next_event(&mut self) -> Option<Result<ChatCompletionStreamEvent, Error>> {
        match self.step() {
            Step::Item(e) => Some(Ok(e)),
            Step::Error(e) => Some(Err(e)),
            Step::NeedInput | Step::End => None,
        }
    }

    /// The state (snapshot, final completion).
    pub fn state(&self) -> &ChatCompletionStreamState {
        &self.state
    }

    pub(crate) fn set_request_id(&mut self, id: Option<String>) {
        self.frames.request_id = id;
    }

    fn handle(&mut self, payload: Payload) -> Result<(), Error> {
        let Payload {
            frame,
            number,
            end_offset,
        } = payload;
        self.state
            .handle_chunk_text(frame.data, true, &mut self.queue)
            .map(|_| ())
            .map_err(|e| match e {
                Error::Stream {
                    kind,
                    event: None,
                    offset: None,
                    message,
                } => Error::Stream {
                    kind,
                    event: Some(number),
                    offset: Some(end_offset),
                    message,
                },
                other => other,
            })
    }
}

impl Pump for ChatEventPipeline {
    type Item = ChatCompletionStreamEvent;

    fn push(&mut self, bytes: &[u8]) {
        self.frames.push(bytes);
    }

    fn end_of_input(&mut self, transport_error: Option<String>) {
        self.frames.end_of_input(transport_error);
    }

    fn step(&mut self) -> Step<ChatCompletionStreamEvent> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Step::Item(event);
            }
            match self.frames.next() {
                Step::Item(payload) => {
                    if let Err(e) = self.handle(payload) {
                        self.frames.finished = true;
                        return Step::Error(e);
                    }
                }
                Step::Error(e) => return Step::Error(e),
                Step::NeedInput => return Step::NeedInput,
                Step::End => return Step::End,
            }
        }
    }
}

/// Bytes in, typed chunks out (the raw stream).
#[derive(Debug, Default)]
pub(crate) struct ChunkPipeline {
    frames: Frames,
}

impl Pump for ChunkPipeline {
    type Item = CreateChatCompletionStreamResponse;

    fn push(&mut self, bytes: &[u8]) {
        self.frames.push(bytes);
    }

    fn end_of_input(&mut self, transport_error: Option<String>) {
        self.frames.end_of_input(transport_error);
    }

    fn step(&mut self) -> Step<CreateChatCompletionStreamResponse> {
        match self.frames.next() {
            Step::Item(Payload {
                frame,
                number,
                end_offset,
            }) => match serde_json::from_str::<CreateChatCompletionStreamResponse>(&frame.data) {
                Ok(chunk) => Step::Item(chunk),
                Err(e) => {
                    self.frames.finished = true;
                    let (path, message) = crate::error::json_path::<
                        CreateChatCompletionStreamResponse,
                    >(frame.data.as_bytes())
                    .unwrap_or_else(|| (".".into(), e.to_string()));
                    let _ = (number, end_offset);
                    Step::Error(Error::Decode {
                        what: format!(
                            "chat completion chunk #{number} (ending at byte {end_offset})"
                        ),
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

/// Drives a [`Pump`] from an async body.
pub(crate) struct BodyStream<P> {
    body: Option<BoxStream<'static, reqwest::Result<Bytes>>>,
    pump: P,
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
                                message: format!(
                                    "reading the event stream: {}",
                                    transport_message(&e)
                                ),
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

/// A streamed chat completion: a [`Stream`] of [`ChatCompletionStreamEvent`]s, with the
/// accumulated snapshot and the final completion. Made by
/// [`Chat::stream`](super::Chat::stream).
///
/// Dropping it closes the response (the connection is not reused for a body not read to
/// its end).
///
/// ```no_run
/// # async fn run() -> Result<(), openai_sdk::Error> {
/// use futures::StreamExt;
/// use openai_sdk::chat::ChatCompletionStreamEvent;
///
/// let client = openai_sdk::Client::new()?;
/// let request = serde_json::from_value(serde_json::json!({
///     "model": "gpt-4o-mini",
///     "messages": [{"role": "user", "content": "Say hello"}],
/// })).unwrap();
/// let mut stream = client.chat().stream(request).await?;
/// while let Some(event) = stream.next().await {
///     if let ChatCompletionStreamEvent::ContentDelta { delta, .. } = event? {
///         print!("{delta}");
///     }
/// }
/// let completion = stream.final_completion().await?;
/// println!("\n{:?}", completion.usage());
/// # Ok(()) }
/// ```
pub struct ChatCompletionStream {
    inner: BodyStream<ChatEventPipeline>,
}

impl std::fmt::Debug for ChatCompletionStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatCompletionStream")
            .field("chunks", &self.inner.pump.state.chunks_handled())
            .finish_non_exhaustive()
    }
}

impl ChatCompletionStream {
    pub(crate) fn new(response: reqwest::Response, options: ParseOptions) -> Self {
        let mut pipeline = ChatEventPipeline::new(options);
        pipeline.set_request_id(crate::error::request_id(response.headers()));
        ChatCompletionStream {
            inner: BodyStream::new(response, pipeline),
        }
    }

    /// Reads the stream to its end, dropping the events; the first error stops it.
    pub async fn until_done(&mut self) -> Result<&mut Self, Error> {
        while let Some(event) = self.next().await {
            event?;
        }
        Ok(self)
    }

    /// Reads the rest of the stream, then parses the accumulated completion (see
    /// [`ChatCompletionStreamState::final_completion`]).
    pub async fn final_completion(&mut self) -> Result<ParsedChatCompletion, Error> {
        self.until_done().await?;
        self.inner.pump.state.final_completion()
    }

    /// The completion accumulated so far (`None` before the first chunk); also readable
    /// after an error.
    pub fn current_snapshot(&self) -> Option<Arc<ChatCompletionSnapshot>> {
        self.inner.pump.state.snapshot()
    }

    /// The state machine.
    pub fn state(&self) -> &ChatCompletionStreamState {
        &self.inner.pump.state
    }
}

impl Stream for ChatCompletionStream {
    type Item = Result<ChatCompletionStreamEvent, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.inner).poll_next(cx)
    }
}

/// The raw stream of typed chunks, made by [`Chat::create_stream`](super::Chat::create_stream).
/// Every chunk is yielded as decoded (also those a [`ChatCompletionStream`] skips); feed
/// them to a [`ChatCompletionStreamState`] to accumulate them yourself.
pub struct ChatCompletionChunkStream {
    inner: BodyStream<ChunkPipeline>,
}

impl std::fmt::Debug for ChatCompletionChunkStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatCompletionChunkStream")
            .finish_non_exhaustive()
    }
}

impl ChatCompletionChunkStream {
    pub(crate) fn new(response: reqwest::Response) -> Self {
        let mut pipeline = ChunkPipeline::default();
        pipeline.frames.request_id = crate::error::request_id(response.headers());
        ChatCompletionChunkStream {
            inner: BodyStream::new(response, pipeline),
        }
    }
}

impl Stream for ChatCompletionChunkStream {
    type Item = Result<CreateChatCompletionStreamResponse, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.inner).poll_next(cx)
    }
}

#[cfg(feature = "blocking")]
pub use self::blocking::BlockingChatCompletionStream;

#[cfg(feature = "blocking")]
mod blocking {
    use std::io::Read;
    use std::sync::Arc;

    use super::{ChatEventPipeline, Pump, Step};
    use crate::chat::{
        ChatCompletionSnapshot, ChatCompletionStreamEvent, ChatCompletionStreamState, ParseOptions,
        ParsedChatCompletion,
    };
    use crate::Error;

    /// The blocking version of [`ChatCompletionStream`](super::ChatCompletionStream): an
    /// [`Iterator`] of events with the same methods (feature `blocking`). Made by
    /// [`Chat::stream_blocking`](crate::chat::Chat::stream_blocking). Dropping it closes
    /// the response.
    ///
    /// Like `reqwest::blocking`, it must not be created or used inside an async runtime.
    ///
    /// ```no_run
    /// # fn run() -> Result<(), openai_sdk::Error> {
    /// use openai_sdk::chat::ChatCompletionStreamEvent;
    ///
    /// let client = openai_sdk::Client::new()?;
    /// let request = serde_json::from_value(serde_json::json!({
    ///     "model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello"}],
    /// })).unwrap();
    /// let mut stream = client.chat().stream_blocking(request)?;
    /// for event in &mut stream {
    ///     if let ChatCompletionStreamEvent::ContentDelta { delta, .. } = event? {
    ///         print!("{delta}");
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub struct BlockingChatCompletionStream {
        response: Option<reqwest::blocking::Response>,
        pipeline: ChatEventPipeline,
        buf: Vec<u8>,
        /// Set once a timeout ended the stream: nothing follows.
        timed_out: bool,
    }

    impl std::fmt::Debug for BlockingChatCompletionStream {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("BlockingChatCompletionStream")
                .finish_non_exhaustive()
        }
    }

    impl BlockingChatCompletionStream {
        pub(crate) fn new(response: reqwest::blocking::Response, options: ParseOptions) -> Self {
            let mut pipeline = ChatEventPipeline::new(options);
            pipeline.set_request_id(crate::error::request_id(response.headers()));
            BlockingChatCompletionStream {
                response: Some(response),
                pipeline,
                buf: vec![0; 16 * 1024],
                timed_out: false,
            }
        }

        /// Reads the stream to its end, dropping the events; the first error stops it.
        pub fn until_done(&mut self) -> Result<&mut Self, Error> {
            for event in self.by_ref() {
                event?;
            }
            Ok(self)
        }

        /// Reads the rest of the stream, then parses the accumulated completion.
        pub fn final_completion(&mut self) -> Result<ParsedChatCompletion, Error> {
            self.until_done()?;
            self.pipeline.state().final_completion()
        }

        /// The completion accumulated so far.
        pub fn current_snapshot(&self) -> Option<Arc<ChatCompletionSnapshot>> {
            self.pipeline.state().snapshot()
        }

        /// The state machine.
        pub fn state(&self) -> &ChatCompletionStreamState {
            self.pipeline.state()
        }
    }

    impl Iterator for BlockingChatCompletionStream {
        type Item = Result<ChatCompletionStreamEvent, Error>;

        fn next(&mut self) -> Option<Self::Item> {
            if self.timed_out {
                return None;
            }
            loop {
                match self.pipeline.step() {
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
                            Pump::end_of_input(&mut self.pipeline, None);
                            continue;
                        };
                        match response.read(&mut self.buf) {
                            Ok(0) => {
                                self.response = None;
                                Pump::end_of_input(&mut self.pipeline, None);
                            }
                            Ok(n) => {
                                let bytes = self.buf.get(..n).unwrap_or_default();
                                Pump::push(&mut self.pipeline, bytes);
                            }
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                            Err(e) if is_timeout(&e) => {
                                // The read timeout fired mid-body: a typed timeout.
                                self.response = None;
                                self.timed_out = true;
                                return Some(Err(Error::Timeout {
                                    message: format!("reading the event stream: {e}"),
                                }));
                            }
                            Err(e) => {
                                self.response = None;
                                Pump::end_of_input(&mut self.pipeline, Some(e.to_string()));
                            }
                        }
                    }
                }
            }
        }
    }

    /// Whether a read error is a timeout (`reqwest::blocking` reports its read timeout as an
    /// I/O error wrapping the reqwest error, or as `TimedOut`).
    fn is_timeout(e: &std::io::Error) -> bool {
        e.kind() == std::io::ErrorKind::TimedOut
            || e.get_ref()
                .and_then(|inner| inner.downcast_ref::<reqwest::Error>())
                .is_some_and(reqwest::Error::is_timeout)
    }
}
