//! Response streams over HTTP: the transport-free byte pipeline, the async stream (with
//! resumption of background responses) and the blocking one.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::{Stream, StreamExt};

use super::events::ResponseStreamEvent;
use super::snapshot::{ParsedResponse, ResponseParseOptions, ResponseSnapshot};
use super::state::ResponseStreamState;
use crate::error::StreamErrorKind;
use crate::streaming::{BodyStream, Frames, Payload, Pump, Resume, Step};
use crate::{Client, Error};

/// How many times in a row a dropped background stream is resumed without receiving a
/// new event before the drop is reported (see [`ResponseStream::max_resumes`]).
pub const DEFAULT_MAX_RESUMES: u32 = 3;

/// SSE bytes in, response stream events out, with no I/O: used by the async and
/// blocking streams, the `replay` example and the benchmarks.
///
/// A pipeline carries its [`ResponseStreamState`] across connections:
/// [`reconnect`](Self::reconnect) starts reading a new connection's bytes (a resumed
/// background stream) with the snapshot and `sequence_number` check intact.
///
/// ```
/// use openai_sdk::responses::ResponseEventPipeline;
///
/// let mut pipeline = ResponseEventPipeline::new(Default::default());
/// pipeline.push(b"event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,");
/// pipeline.push(b"\"response\":{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"in_progress\",\"output\":[]}}\n\n");
/// pipeline.end_of_input();
/// let event = pipeline.next_event().unwrap()?;
/// assert_eq!(event.event_type(), "response.created");
/// // The connection ended before `response.completed`: a typed error.
/// assert!(pipeline.next_event().unwrap().is_err());
/// assert_eq!(pipeline.state().snapshot().unwrap().id(), Some("resp_1"));
/// # Ok::<(), openai_sdk::Error>(())
/// ```
#[derive(Debug)]
pub struct ResponseEventPipeline {
    frames: Frames,
    state: ResponseStreamState,
    pending: Option<Error>,
    connections: u32,
}

impl ResponseEventPipeline {
    /// A pipeline whose state parses what `options` asks for.
    pub fn new(options: ResponseParseOptions) -> Self {
        ResponseEventPipeline {
            frames: Frames::without_done(None),
            state: ResponseStreamState::with_options(options),
            pending: None,
            connections: 1,
        }
    }

    /// Feeds bytes of the event stream, split anywhere.
    pub fn push(&mut self, bytes: &[u8]) {
        self.frames.push(bytes);
    }

    /// Marks the end of the current connection's bytes.
    pub fn end_of_input(&mut self) {
        self.end_with(None);
    }

    /// Starts reading the bytes of a new connection (a resumed stream: the events must
    /// continue the `sequence_number`s), keeping the state. Bytes of an event the previous
    /// connection cut are dropped.
    pub fn reconnect(&mut self) {
        let request_id = self.frames.request_id.take();
        self.frames = Frames::without_done(request_id);
        self.connections += 1;
    }

    /// The next event or error; `None` when more input is needed or the stream is over.
    /// A connection that ended before the final event gives an error (from which
    /// [`reconnect`](Self::reconnect) can carry on).
    pub fn next_event(&mut self) -> Option<Result<ResponseStreamEvent, Error>> {
        self.step().into_next()
    }

    /// The state (snapshot, final response).
    pub fn state(&self) -> &ResponseStreamState {
        &self.state
    }

    /// How many connections the pipeline has read (1 + the resumptions).
    pub fn connections(&self) -> u32 {
        self.connections
    }

    pub(crate) fn set_request_id(&mut self, id: Option<String>) {
        self.frames.request_id = id;
    }

    pub(crate) fn end_with(&mut self, transport_error: Option<String>) {
        self.frames.end_of_input(transport_error);
    }

    /// Where a dropped stream can resume: the id of a background response and the last
    /// `sequence_number` handled.
    pub(crate) fn resume_point(&self) -> Option<(String, i64)> {
        if self.state.is_finished() {
            return None;
        }
        let snapshot = self.state.snapshot()?;
        if !snapshot.is_background() {
            return None;
        }
        Some((
            snapshot.id()?.to_owned(),
            self.state.last_sequence_number()?,
        ))
    }

    /// What the pipeline has next; a connection that ended before the final event is
    /// [`Step::Dropped`].
    pub(crate) fn step(&mut self) -> Step<ResponseStreamEvent> {
        if self.frames.finished {
            return Step::End;
        }
        if let Some(e) = self.pending.take() {
            self.frames.finished = true;
            return Step::Error(e);
        }
        let Payload {
            frame,
            number,
            end_offset,
        } = match self.frames.next() {
            Step::Item(payload) => payload,
            // The input ended between two events, before the final one.
            Step::End if !self.frames.saw_done() && !self.state.is_finished() => {
                let (events, offset) = self.frames.position();
                return Step::Dropped(Error::Stream {
                    kind: StreamErrorKind::NoFinalEvent,
                    event: Some(events),
                    offset: Some(offset),
                    message: format!(
                        "the stream ended after {} events without `response.completed`",
                        self.state.events_handled()
                    ),
                });
            }
            // Cut after the final event: nothing is missing.
            Step::Dropped(_) if self.state.is_finished() => return Step::End,
            Step::End => return Step::End,
            Step::NeedInput => return Step::NeedInput,
            Step::Error(e) => return Step::Error(e),
            Step::Recoverable(e) => return Step::Recoverable(e),
            Step::Dropped(e) => return Step::Dropped(e),
        };
        match self.state.handle_json(frame.data) {
            Ok(event) => {
                self.pending = self.state.terminal_error();
                Step::Item(event)
            }
            Err(e) => {
                self.frames.finished = true;
                Step::Error(match e {
                    Error::Stream { kind, message, .. } => Error::Stream {
                        kind,
                        event: Some(number),
                        offset: Some(end_offset),
                        message: if self.connections > 1 {
                            format!("{message} (connection {})", self.connections)
                        } else {
                            message
                        },
                    },
                    other => other,
                })
            }
        }
    }
}

/// A [`ResponseEventPipeline`] that resumes a dropped background stream (the [`Pump`]
/// of both the async and the blocking stream).
#[derive(Debug)]
struct Resuming {
    pipeline: ResponseEventPipeline,
    client: Option<Client>,
    max_resumes: u32,
    resumes_left: u32,
}

impl Resuming {
    fn new(
        request_id: Option<String>,
        options: ResponseParseOptions,
        client: Option<Client>,
    ) -> Self {
        let mut pipeline = ResponseEventPipeline::new(options);
        pipeline.set_request_id(request_id);
        Resuming {
            pipeline,
            client,
            max_resumes: DEFAULT_MAX_RESUMES,
            resumes_left: DEFAULT_MAX_RESUMES,
        }
    }

    fn set_max_resumes(&mut self, n: u32) {
        self.max_resumes = n;
        self.resumes_left = n;
    }
}

impl Pump for Resuming {
    type Item = ResponseStreamEvent;

    fn push(&mut self, bytes: &[u8]) {
        self.pipeline.push(bytes);
    }

    fn end_of_input(&mut self, transport_error: Option<String>) {
        self.pipeline.end_with(transport_error);
    }

    fn step(&mut self) -> Step<ResponseStreamEvent> {
        let step = self.pipeline.step();
        if let Step::Item(_) = step {
            self.resumes_left = self.max_resumes;
        }
        step
    }

    /// `GET /responses/{id}?stream=true&starting_after=<last sequence_number>`, for a
    /// background response, at most `max_resumes` times without a new event.
    fn resume(&mut self, error: &Error) -> Option<Resume> {
        let client = self.client.as_ref()?;
        let (id, after) = self.pipeline.resume_point()?;
        // An id the server sent: one that would not be its own path segment is not resumed.
        let segment = crate::codegen_support::path_param("id", &id).ok()?;
        self.resumes_left = self.resumes_left.checked_sub(1)?;
        tracing::debug!(response = %id, starting_after = after, %error, "resuming the response stream");
        Some(Resume {
            client: client.clone(),
            path: format!("/responses/{segment}"),
            query: vec![
                ("stream", "true".to_owned()),
                ("starting_after", after.to_string()),
            ],
        })
    }

    fn reconnected(&mut self, request_id: Option<String>) {
        self.pipeline.reconnect();
        self.pipeline.set_request_id(request_id);
    }
}

/// A streamed response: a [`Stream`] of [`ResponseStreamEvent`]s with the accumulated
/// snapshot and the final response. Made by
/// [`Responses::stream`](super::Responses::stream).
///
/// **Resumption.** When the response runs in the background (`background: true`) and the
/// connection drops before the final event, the stream asks for the rest with
/// `GET /responses/{id}?stream=true&starting_after=<last sequence_number>` and carries
/// on: no event is repeated or lost (the `sequence_number`s are checked). It tries at
/// most [`max_resumes`](Self::max_resumes) times in a row without a new event; a resume
/// the server refuses is its [`Error::Api`].
///
/// A body that stalls longer than the client's read timeout is not a drop: the stream
/// ends with [`Error::Timeout`].
///
/// ```no_run
/// # async fn run() -> Result<(), openai_sdk::Error> {
/// use futures::StreamExt;
/// use openai_sdk::responses::ResponseStreamEvent;
///
/// let client = openai_sdk::Client::new()?;
/// let request = serde_json::from_value(serde_json::json!({
///     "model": "gpt-4o-mini", "input": "Write a haiku", "background": true,
/// })).unwrap();
/// let mut stream = client.responses().stream(request).await?;
/// while let Some(event) = stream.next().await {
///     if let ResponseStreamEvent::OutputTextDelta { delta, .. } = event? {
///         print!("{delta}");
///     }
/// }
/// let response = stream.final_response().await?;
/// println!("\n{}", response.output_text());
/// # Ok(()) }
/// ```
pub struct ResponseStream {
    inner: Source,
}

/// Where a [`ResponseStream`]'s events come from: an HTTP body (SSE), or a lane of a
/// Responses WebSocket (feature `responses-ws`). Both feed the same state.
enum Source {
    Http(Box<BodyStream<Resuming>>),
    #[cfg(feature = "responses-ws")]
    Ws(Box<super::ws::WsLane>),
}

impl std::fmt::Debug for ResponseStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseStream")
            .field("events", &self.state().events_handled())
            .field("connections", &self.connections())
            .finish_non_exhaustive()
    }
}

impl ResponseStream {
    /// The status and headers of the HTTP answer that started the stream, with the typed
    /// views (rate limits, ...); `None` for a stream over a WebSocket.
    pub fn metadata(&self) -> Option<&crate::ResponseMetadata> {
        match &self.inner {
            Source::Http(body) => Some(&body.metadata),
            #[cfg(feature = "responses-ws")]
            Source::Ws(_) => None,
        }
    }

    /// The `x-request-id` of the answer that started the stream.
    pub fn request_id(&self) -> Option<&str> {
        self.metadata()?.request_id()
    }

    /// The headers of the HTTP answer that started the stream (`None` over a WebSocket).
    pub fn headers(&self) -> Option<&reqwest::header::HeaderMap> {
        self.metadata().map(crate::ResponseMetadata::headers)
    }

    pub(crate) fn new(
        response: reqwest::Response,
        options: ResponseParseOptions,
        client: Option<Client>,
    ) -> Self {
        let pump = Resuming::new(
            crate::error::request_id(response.headers()),
            options,
            client,
        );
        ResponseStream {
            inner: Source::Http(Box::new(BodyStream::new(response, pump))),
        }
    }

    /// A stream of the events of one Responses WebSocket lane.
    #[cfg(feature = "responses-ws")]
    pub(crate) fn from_ws(lane: super::ws::WsLane) -> Self {
        ResponseStream {
            inner: Source::Ws(Box::new(lane)),
        }
    }

    /// Sets how many times in a row a dropped background stream is resumed without a new
    /// event (default [`DEFAULT_MAX_RESUMES`]; 0 turns resumption off). A stream over a
    /// WebSocket is not resumed.
    pub fn max_resumes(mut self, n: u32) -> Self {
        match &mut self.inner {
            Source::Http(body) => body.pump.set_max_resumes(n),
            #[cfg(feature = "responses-ws")]
            Source::Ws(_) => {}
        }
        self
    }

    /// Reads the stream to its end, dropping the events; the first error stops it.
    pub async fn until_done(&mut self) -> Result<&mut Self, Error> {
        while let Some(event) = self.next().await {
            event?;
        }
        Ok(self)
    }

    /// Reads the rest of the stream and returns the final response (see
    /// [`ResponseStreamState::final_response`]).
    pub async fn final_response(&mut self) -> Result<ParsedResponse, Error> {
        self.until_done().await?;
        self.state().final_response()
    }

    /// The response accumulated so far (`None` before `response.created`); also
    /// readable after an error.
    pub fn current_snapshot(&self) -> Option<Arc<ResponseSnapshot>> {
        self.state().snapshot()
    }

    /// The state machine.
    pub fn state(&self) -> &ResponseStreamState {
        match &self.inner {
            Source::Http(body) => &body.pump.pipeline.state,
            #[cfg(feature = "responses-ws")]
            Source::Ws(lane) => lane.pipeline.state(),
        }
    }

    /// How many connections were read (1 + the resumptions; 1 over a WebSocket).
    pub fn connections(&self) -> u32 {
        match &self.inner {
            Source::Http(body) => body.pump.pipeline.connections,
            #[cfg(feature = "responses-ws")]
            Source::Ws(_) => 1,
        }
    }
}

impl Stream for ResponseStream {
    type Item = Result<ResponseStreamEvent, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match &mut self.inner {
            Source::Http(body) => body.poll_next_unpin(cx),
            #[cfg(feature = "responses-ws")]
            Source::Ws(lane) => lane.poll_next(cx),
        }
    }
}

#[cfg(feature = "blocking")]
pub use self::blocking::BlockingResponseStream;
#[cfg(feature = "blocking")]
pub(crate) use crate::streaming::send_blocking as blocking_send;

#[cfg(feature = "blocking")]
mod blocking {
    use std::sync::Arc;

    use super::Resuming;
    use crate::responses::{
        ParsedResponse, ResponseParseOptions, ResponseSnapshot, ResponseStreamEvent,
        ResponseStreamState,
    };
    use crate::streaming::BlockingBody;
    use crate::{Client, Error};

    /// The blocking version of [`ResponseStream`](super::ResponseStream) (feature
    /// `blocking`): an [`Iterator`] of events with the same methods, and the same
    /// resumption of background responses. Made by
    /// [`Responses::stream_blocking`](crate::responses::Responses::stream_blocking).
    /// Like `reqwest::blocking`, it must not be used inside an async runtime.
    ///
    /// ```no_run
    /// # fn run() -> Result<(), openai_sdk::Error> {
    /// use openai_sdk::responses::ResponseStreamEvent;
    ///
    /// let client = openai_sdk::Client::new()?;
    /// let request = serde_json::from_value(serde_json::json!({"model": "gpt-4o-mini", "input": "Hi"})).unwrap();
    /// let mut stream = client.responses().stream_blocking(request)?;
    /// for event in &mut stream {
    ///     if let ResponseStreamEvent::OutputTextDelta { delta, .. } = event? {
    ///         print!("{delta}");
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub struct BlockingResponseStream {
        body: BlockingBody<Resuming>,
    }

    impl std::fmt::Debug for BlockingResponseStream {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("BlockingResponseStream")
                .finish_non_exhaustive()
        }
    }

    impl BlockingResponseStream {
        crate::streaming::response_metadata_methods!(body);

        pub(crate) fn new(
            response: reqwest::blocking::Response,
            options: ResponseParseOptions,
            client: Option<Client>,
        ) -> Self {
            let pump = Resuming::new(
                crate::error::request_id(response.headers()),
                options,
                client,
            );
            BlockingResponseStream {
                body: BlockingBody::new(response, pump),
            }
        }

        /// See [`ResponseStream::max_resumes`](super::ResponseStream::max_resumes).
        pub fn max_resumes(mut self, n: u32) -> Self {
            self.body.pump.set_max_resumes(n);
            self
        }

        /// Reads the stream to its end, dropping the events; the first error stops it.
        pub fn until_done(&mut self) -> Result<&mut Self, Error> {
            for event in self.by_ref() {
                event?;
            }
            Ok(self)
        }

        /// Reads the rest of the stream and returns the final response.
        pub fn final_response(&mut self) -> Result<ParsedResponse, Error> {
            self.until_done()?;
            self.body.pump.pipeline.state().final_response()
        }

        /// The response accumulated so far.
        pub fn current_snapshot(&self) -> Option<Arc<ResponseSnapshot>> {
            self.body.pump.pipeline.state().snapshot()
        }

        /// The state machine.
        pub fn state(&self) -> &ResponseStreamState {
            self.body.pump.pipeline.state()
        }

        /// How many connections were read (1 + the resumptions).
        pub fn connections(&self) -> u32 {
            self.body.pump.pipeline.connections()
        }
    }

    impl Iterator for BlockingResponseStream {
        type Item = Result<ResponseStreamEvent, Error>;

        fn next(&mut self) -> Option<Self::Item> {
            self.body.next_item()
        }
    }
}
