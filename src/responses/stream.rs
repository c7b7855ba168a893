//! Response streams: the transport-free byte pipeline, the async stream (over HTTP, with
//! resumption of background responses, or over a Responses WebSocket lane) and the
//! blocking one.

use std::sync::Arc;

use super::events::ResponseStreamEvent;
use super::snapshot::{ParsedResponse, ResponseParseOptions, ResponseSnapshot};
use super::state::ResponseStreamState;
use crate::error::StreamErrorKind;
use crate::streaming::driver::{Pump, Resume, Step};
use crate::streaming::frames::Frames;
use crate::streaming::pipeline::Described;
use crate::streaming::PipelineStream;
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

    /// Like [`push`](Self::push), without copying: the events are read from `bytes` in
    /// place (only an event line split between two pushes is copied).
    pub fn push_bytes(&mut self, bytes: bytes::Bytes) {
        self.frames.push_bytes(bytes);
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
        let limit = self.frames.max_event_size();
        self.frames = Frames::without_done(request_id);
        self.frames.set_max_event_size(limit);
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

    /// The state, the pipeline dropped.
    pub fn into_state(self) -> ResponseStreamState {
        self.state
    }

    /// The final response, taking the pipeline (see
    /// [`ResponseStreamState::into_final_response`]: moved, not copied).
    pub fn into_final_response(self) -> Result<ParsedResponse, Error> {
        self.state.into_final_response()
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
        let payload = match self.frames.next() {
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
        let at = payload.at();
        match self.state.handle_json(payload.frame.data) {
            Ok(event) => {
                self.pending = self.state.terminal_error();
                Step::Item(event)
            }
            Err(e) => {
                self.frames.finished = true;
                Step::Error(match at.locate(e) {
                    Error::Stream {
                        kind,
                        event,
                        offset,
                        message,
                    } if self.connections > 1 => Error::Stream {
                        kind,
                        event,
                        offset,
                        message: format!("{message} (connection {})", self.connections),
                    },
                    other => other,
                })
            }
        }
    }
}

/// A [`ResponseEventPipeline`] that resumes a dropped background stream (the [`Pump`]
/// of both the async and the blocking stream; public in a private module, so the
/// blocking stream's alias can name it but no one outside the crate can).
#[derive(Debug)]
pub struct Resuming {
    pipeline: ResponseEventPipeline,
    client: Option<Client>,
    max_resumes: u32,
    resumes_left: u32,
}

impl Resuming {
    /// The request id is set by the stream that reads the answer
    /// ([`Pump::set_request_id`]).
    fn new(options: ResponseParseOptions, client: Option<Client>) -> Self {
        Resuming {
            pipeline: ResponseEventPipeline::new(options),
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

impl Described for Resuming {
    const NAME: &'static str = "ResponseStream";

    fn describe(&self, out: &mut std::fmt::DebugStruct<'_, '_>) {
        out.field("events", &self.pipeline.state.events_handled())
            .field("connections", &self.pipeline.connections);
    }
}

impl Pump for Resuming {
    type Item = ResponseStreamEvent;

    fn push(&mut self, bytes: &[u8]) {
        self.pipeline.push(bytes);
    }

    fn push_bytes(&mut self, bytes: bytes::Bytes) {
        self.pipeline.push_bytes(bytes);
    }

    fn push_message(&mut self, data: String) {
        self.pipeline.frames.push_message(data);
    }

    fn end_of_input(&mut self, transport_error: Option<String>) {
        self.pipeline.end_with(transport_error);
    }

    fn set_max_event_size(&mut self, limit: usize) {
        self.pipeline.frames.set_max_event_size(limit);
    }

    fn set_request_id(&mut self, id: Option<String>) {
        self.pipeline.set_request_id(id);
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

/// The pipeline of a [`ResponseStream`]: an HTTP body's SSE through a [`Resuming`]
/// pipeline, or the messages of a Responses WebSocket lane (feature `responses-ws`). Both
/// feed the same state. Public in a private module (sealed), as [`Resuming`] is.
#[derive(Debug)]
pub enum ResponsePump {
    /// Over HTTP (SSE), resumed when a background response's connection drops.
    Http(Box<Resuming>),
    /// Over a Responses WebSocket: one lane's messages, one event each.
    #[cfg(feature = "responses-ws")]
    Ws(Box<super::ws::WsLane>),
}

/// `$body` with `$p` bound to the pipeline of either transport.
macro_rules! on_lane {
    ($pump:expr, $p:ident => $body:expr) => {
        match $pump {
            ResponsePump::Http($p) => $body,
            #[cfg(feature = "responses-ws")]
            ResponsePump::Ws($p) => $body,
        }
    };
}

impl Described for ResponsePump {
    const NAME: &'static str = "ResponseStream";

    fn describe(&self, out: &mut std::fmt::DebugStruct<'_, '_>) {
        match self {
            ResponsePump::Http(http) => http.describe(out),
            #[cfg(feature = "responses-ws")]
            ResponsePump::Ws(lane) => {
                out.field("events", &lane.state().events_handled())
                    .field("connections", &1u32);
            }
        }
    }
}

impl Pump for ResponsePump {
    type Item = ResponseStreamEvent;

    fn push(&mut self, bytes: &[u8]) {
        on_lane!(self, p => p.push(bytes))
    }

    fn push_bytes(&mut self, bytes: bytes::Bytes) {
        on_lane!(self, p => p.push_bytes(bytes))
    }

    fn push_message(&mut self, data: String) {
        on_lane!(self, p => p.push_message(data))
    }

    fn push_binary(&mut self, bytes: bytes::Bytes) {
        on_lane!(self, p => p.push_binary(bytes))
    }

    fn end_of_input(&mut self, transport_error: Option<String>) {
        on_lane!(self, p => p.end_of_input(transport_error))
    }

    fn step(&mut self) -> Step<ResponseStreamEvent> {
        on_lane!(self, p => p.step())
    }

    fn set_max_event_size(&mut self, limit: usize) {
        on_lane!(self, p => p.set_max_event_size(limit))
    }

    fn set_request_id(&mut self, id: Option<String>) {
        on_lane!(self, p => p.set_request_id(id))
    }

    fn failed(&mut self, error: Error) -> Option<Error> {
        on_lane!(self, p => p.failed(error))
    }

    fn resume(&mut self, error: &Error) -> Option<Resume> {
        on_lane!(self, p => p.resume(error))
    }

    fn reconnected(&mut self, request_id: Option<String>) {
        on_lane!(self, p => p.reconnected(request_id))
    }
}

/// A streamed response: a [`Stream`](futures::Stream) of [`ResponseStreamEvent`]s with the accumulated
/// snapshot and the final response. Made by
/// [`Responses::stream`](super::Responses::stream), or over a Responses WebSocket by
/// `ResponsesConnection::stream` (feature `responses-ws`): the same events, snapshot and
/// final response.
///
/// **Resumption.** When the response runs in the background (`background: true`) and the
/// connection drops before the final event, the stream asks for the rest with
/// `GET /responses/{id}?stream=true&starting_after=<last sequence_number>` and carries
/// on: no event is repeated or lost (the `sequence_number`s are checked). It tries at
/// most [`max_resumes`](Self::max_resumes) times in a row without a new event; a resume
/// the server refuses is its [`Error::Api`]. A stream over a WebSocket is not resumed.
///
/// A body that stalls longer than the client's read timeout is not a drop: the stream
/// ends with [`Error::Timeout`].
///
/// **Metadata.** [`metadata`](Self::metadata), [`headers`](Self::headers) and
/// [`request_id`](Self::request_id) are those of the answer that started the stream: the
/// HTTP answer, or over a WebSocket the handshake's (`101 Switching Protocols`, with the
/// connection's `x-request-id`).
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
/// println!("request {:?}", stream.request_id());
/// while let Some(event) = stream.next().await {
///     if let ResponseStreamEvent::OutputTextDelta { delta, .. } = event? {
///         print!("{delta}");
///     }
/// }
/// let response = stream.final_response().await?;
/// println!("\n{}", response.output_text());
/// # Ok(()) }
/// ```
pub type ResponseStream = PipelineStream<ResponsePump>;

/// The methods of a [`ResponseStream`] besides those of every stream.
impl PipelineStream<ResponsePump> {
    /// A stream reading the SSE body of `response`; a dropped background response is
    /// resumed through `client`.
    pub(crate) fn with_options(
        response: reqwest::Response,
        options: ResponseParseOptions,
        client: Option<Client>,
    ) -> Self {
        PipelineStream::from_response(
            response,
            ResponsePump::Http(Box::new(Resuming::new(options, client))),
        )
    }

    /// Sets how many times in a row a dropped background stream is resumed without a new
    /// event (default [`DEFAULT_MAX_RESUMES`]; 0 turns resumption off). A stream over a
    /// WebSocket is not resumed.
    pub fn max_resumes(mut self, n: u32) -> Self {
        match self.pump_mut() {
            ResponsePump::Http(http) => http.set_max_resumes(n),
            #[cfg(feature = "responses-ws")]
            ResponsePump::Ws(_) => {}
        }
        self
    }

    /// Reads the rest of the stream and returns the final response (see
    /// [`ResponseStreamState::final_response`]).
    pub async fn final_response(&mut self) -> Result<ParsedResponse, Error> {
        self.until_done().await?;
        self.state().final_response()
    }

    /// [`final_response`](Self::final_response), taking the stream: the response parsed
    /// from `response.completed` is moved out instead of copied (see
    /// [`ResponseStreamState::into_final_response`]).
    pub async fn into_final_response(mut self) -> Result<ParsedResponse, Error> {
        self.until_done().await?;
        match self.into_pump() {
            ResponsePump::Http(http) => http.pipeline.into_final_response(),
            #[cfg(feature = "responses-ws")]
            ResponsePump::Ws(lane) => lane.into_state().into_final_response(),
        }
    }

    /// The response accumulated so far (`None` before `response.created`); also
    /// readable after an error.
    pub fn current_snapshot(&self) -> Option<Arc<ResponseSnapshot>> {
        self.state().snapshot()
    }

    /// The state machine.
    pub fn state(&self) -> &ResponseStreamState {
        match self.pump() {
            ResponsePump::Http(http) => http.pipeline.state(),
            #[cfg(feature = "responses-ws")]
            ResponsePump::Ws(lane) => lane.state(),
        }
    }

    /// How many connections were read (1 + the resumptions; 1 over a WebSocket).
    pub fn connections(&self) -> u32 {
        match self.pump() {
            ResponsePump::Http(http) => http.pipeline.connections(),
            #[cfg(feature = "responses-ws")]
            ResponsePump::Ws(_) => 1,
        }
    }
}

#[cfg(feature = "blocking")]
pub use self::blocking::BlockingResponseStream;
#[cfg(feature = "blocking")]
pub(crate) use crate::streaming::driver::send_blocking as blocking_send;

#[cfg(feature = "blocking")]
mod blocking {
    use std::sync::Arc;

    use super::Resuming;
    use crate::responses::{
        ParsedResponse, ResponseParseOptions, ResponseSnapshot, ResponseStreamState,
    };
    use crate::streaming::BlockingPipelineStream;
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
    pub type BlockingResponseStream = BlockingPipelineStream<Resuming>;

    /// The methods of a [`BlockingResponseStream`] besides those of every stream.
    impl BlockingPipelineStream<Resuming> {
        pub(crate) fn with_options(
            response: reqwest::blocking::Response,
            options: ResponseParseOptions,
            client: Option<Client>,
        ) -> Self {
            BlockingPipelineStream::from_response(response, Resuming::new(options, client))
        }

        /// See [`ResponseStream::max_resumes`](super::ResponseStream::max_resumes).
        pub fn max_resumes(mut self, n: u32) -> Self {
            self.pump_mut().set_max_resumes(n);
            self
        }

        /// Reads the rest of the stream and returns the final response.
        pub fn final_response(&mut self) -> Result<ParsedResponse, Error> {
            self.until_done()?;
            self.state().final_response()
        }

        /// [`final_response`](Self::final_response), taking the stream: the response parsed
        /// from `response.completed` is moved out instead of copied.
        pub fn into_final_response(mut self) -> Result<ParsedResponse, Error> {
            self.until_done()?;
            self.into_pump().pipeline.into_final_response()
        }

        /// The response accumulated so far.
        pub fn current_snapshot(&self) -> Option<Arc<ResponseSnapshot>> {
            self.state().snapshot()
        }

        /// The state machine.
        pub fn state(&self) -> &ResponseStreamState {
            self.pump().pipeline.state()
        }

        /// How many connections were read (1 + the resumptions).
        pub fn connections(&self) -> u32 {
            self.pump().pipeline.connections()
        }
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::{ResponsePump, ResponseStream, Resuming};
    use crate::responses::ResponseStreamEvent;
    use crate::streaming::driver::{Input, Source, SourceError};
    use crate::streaming::PipelineStream;

    /// A stream fed by another transport than an HTTP body (whole messages, one event
    /// each) through the HTTP pipeline.
    fn message_stream(source: Box<dyn Source>) -> ResponseStream {
        PipelineStream::from_source(
            source,
            ResponsePump::Http(Box::new(Resuming::new(Default::default(), None))),
            crate::ResponseMetadata::new(reqwest::StatusCode::OK, Default::default()),
        )
    }

    /// The seam for a non-HTTP transport: whole messages, one event each, give the same
    /// events and final response as the SSE body.
    #[test]
    fn a_stream_fed_by_messages() {
        let messages = [
            r#"{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","object":"response","status":"in_progress","output":[]}}"#,
            r#"{"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"id":"msg_1","type":"message","role":"assistant","status":"in_progress","content":[]}}"#,
            r#"{"type":"response.content_part.added","sequence_number":2,"item_id":"msg_1","output_index":0,"content_index":0,"part":{"type":"output_text","text":"","annotations":[]}}"#,
            r#"{"type":"response.output_text.delta","sequence_number":3,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hi"}"#,
            r#"{"type":"response.completed","sequence_number":4,"response":{"id":"resp_1","object":"response","status":"completed","output":[{"id":"msg_1","type":"message","role":"assistant","status":"completed","content":[{"type":"output_text","text":"Hi","annotations":[]}]}]}}"#,
        ];
        let source = futures::stream::iter(
            messages.map(|m| Ok::<_, SourceError>(Input::Message(m.to_owned()))),
        );
        let mut stream = message_stream(Box::new(source));
        let events = futures::executor::block_on(async {
            let mut types = Vec::new();
            while let Some(event) = stream.next().await {
                let event = event.expect("every message is a valid event");
                if let ResponseStreamEvent::OutputTextDelta { snapshot, .. } = &event {
                    assert_eq!(snapshot.to_string(), "Hi");
                }
                types.push(event.event_type().to_owned());
            }
            types
        });
        assert_eq!(
            events,
            [
                "response.created",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.completed"
            ]
        );
        let response = futures::executor::block_on(stream.final_response()).unwrap();
        assert_eq!(response.output_text(), "Hi");
    }

    /// A message transport that breaks before the final event is a typed error that says
    /// which event it reached, as a cut HTTP body is.
    #[test]
    fn a_message_source_that_breaks() {
        let source = futures::stream::iter(vec![
            Ok(Input::Message(
                r#"{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","object":"response","status":"in_progress","output":[]}}"#.to_owned(),
            )),
            Err(SourceError::Broken("the socket closed".into())),
        ]);
        let mut stream = message_stream(Box::new(source));
        let items: Vec<_> = futures::executor::block_on(async {
            let mut items = Vec::new();
            while let Some(item) = stream.next().await {
                items.push(item);
            }
            items
        });
        assert_eq!(items.len(), 2);
        assert!(items[0].is_ok());
        let error = items[1].as_ref().unwrap_err().to_string();
        assert!(error.contains("the socket closed"), "{error}");
    }
}
