//! Run streams over HTTP: the transport-free pipeline, and its async and blocking
//! wrappers.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};

use super::handler::{AssistantEventHandler, Message, NoHandler, Run, RunStep, View};
use super::state::AssistantStreamState;
use crate::error::StreamErrorKind;
use crate::sse::{OpenAiDecoder, StreamEnd};
use crate::types;
use crate::Error;

/// SSE bytes in, typed run stream events out (with the handler's callbacks fired), no
/// I/O. Used by the async and blocking streams and the `replay` example.
///
/// Errors end the stream, except an unknown event type or a delta for an object never
/// created: those are returned and the stream goes on (the event is kept in
/// [`AssistantStreamState::unhandled_events`]). Every error is given to the handler's
/// `on_exception` first. A stream that ends without a final run status gives a
/// [`StreamErrorKind::Unfinished`] error; one that does gets `on_end`.
///
/// ```
/// use openai_sdk::assistants::AssistantEventPipeline;
///
/// let mut pipeline = AssistantEventPipeline::new();
/// pipeline.push(b"event: thread.run.created\ndata: {\"id\":\"run_1\",\"object\":\"thread.run\",\"status\":\"queued\"}\n\n");
/// pipeline.push(b"event: thread.run.completed\ndata: {\"id\":\"run_1\",\"object\":\"thread.run\",\"status\":\"completed\"}\n\n");
/// pipeline.push(b"event: done\ndata: [DONE]\n\n");
/// pipeline.end_of_input();
/// let mut n = 0;
/// while let Some(event) = pipeline.next_event() {
///     event?;
///     n += 1;
/// }
/// assert_eq!(n, 2);
/// assert_eq!(pipeline.state().final_status(), Some("completed"));
/// # Ok::<(), openai_sdk::Error>(())
/// ```
#[derive(Debug)]
pub struct AssistantEventPipeline<H = NoHandler> {
    decoder: OpenAiDecoder,
    frames: u64,
    eof: Option<StreamEnd>,
    finished: bool,
    request_id: Option<String>,
    state: AssistantStreamState,
    handler: H,
    queue: VecDeque<Result<types::AssistantStreamEvent, Error>>,
}

impl AssistantEventPipeline<NoHandler> {
    /// A pipeline with no handler.
    pub fn new() -> Self {
        Self::with_handler(NoHandler)
    }
}

impl Default for AssistantEventPipeline<NoHandler> {
    fn default() -> Self {
        Self::new()
    }
}

/// What the pipeline has next.
pub(crate) enum Step<T> {
    Item(Result<T, Error>),
    NeedInput,
    End,
}

impl<H: AssistantEventHandler> AssistantEventPipeline<H> {
    /// A pipeline that fires `handler`'s callbacks.
    pub fn with_handler(handler: H) -> Self {
        AssistantEventPipeline {
            decoder: OpenAiDecoder::new(),
            frames: 0,
            eof: None,
            finished: false,
            request_id: None,
            state: AssistantStreamState::new(),
            handler,
            queue: VecDeque::new(),
        }
    }

    /// Replaces the handler (before any event is read, or between events).
    pub fn replace_handler<H2: AssistantEventHandler>(
        self,
        handler: H2,
    ) -> (AssistantEventPipeline<H2>, H) {
        let AssistantEventPipeline {
            decoder,
            frames,
            eof,
            finished,
            request_id,
            state,
            handler: old,
            queue,
        } = self;
        (
            AssistantEventPipeline {
                decoder,
                frames,
                eof,
                finished,
                request_id,
                state,
                handler,
                queue,
            },
            old,
        )
    }

    pub(crate) fn set_request_id(&mut self, id: Option<String>) {
        self.request_id = id;
    }

    /// Feeds the next bytes of the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.decoder.push(bytes);
    }

    /// Says the input is over.
    pub fn end_of_input(&mut self) {
        if self.eof.is_none() {
            self.eof = Some(self.decoder.finish());
        }
    }

    /// Ends the stream with a transport error (given to the handler, then returned).
    pub fn fail(&mut self, error: Error) {
        if !self.finished {
            self.eof.get_or_insert(StreamEnd::Clean);
            self.finished = true;
            self.queue.push_back(Err(error));
        }
    }

    /// The next event or error; `None` when more input is needed or the stream is over.
    pub fn next_event(&mut self) -> Option<Result<types::AssistantStreamEvent, Error>> {
        match self.step() {
            Step::Item(item) => Some(item),
            Step::NeedInput | Step::End => None,
        }
    }

    /// The state (snapshots, current run, unhandled events).
    pub fn state(&self) -> &AssistantStreamState {
        &self.state
    }

    /// The handler.
    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// The handler, mutably.
    pub fn handler_mut(&mut self) -> &mut H {
        &mut self.handler
    }

    /// Gives the handler back.
    pub fn into_handler(self) -> H {
        self.handler
    }

    fn report(&mut self, error: Error) -> Step<types::AssistantStreamEvent> {
        if error.is_timeout() {
            self.handler.on_timeout();
        }
        self.handler.on_exception(&error);
        Step::Item(Err(error))
    }

    pub(crate) fn step(&mut self) -> Step<types::AssistantStreamEvent> {
        if let Some(item) = self.queue.pop_front() {
            return match item {
                Ok(event) => Step::Item(Ok(event)),
                Err(e) => self.report(e),
            };
        }
        if self.finished {
            return Step::End;
        }
        match self.decoder.next_event() {
            Some(Ok(frame)) => {
                let number = self.frames;
                self.frames += 1;
                let offset = self.decoder.sse().offset();
                let name = frame.event.as_deref().unwrap_or("message");
                let locate = |e: Error| match e {
                    Error::Stream {
                        kind,
                        event: None,
                        offset: None,
                        message,
                    } => Error::Stream {
                        kind,
                        event: Some(number),
                        offset: Some(offset),
                        message,
                    },
                    other => other,
                };
                match self
                    .state
                    .handle_event(name, &frame.data, &mut self.handler)
                {
                    Ok((event, after)) => {
                        if let Some(e) = after {
                            self.finished = true;
                            self.queue.push_back(Err(locate(e)));
                        }
                        Step::Item(Ok(event))
                    }
                    Err(e) => {
                        let recoverable = matches!(
                            e,
                            Error::Stream {
                                kind: StreamErrorKind::UnknownEvent
                                    | StreamErrorKind::UnknownObject,
                                ..
                            }
                        );
                        if !recoverable {
                            self.finished = true;
                        }
                        self.report(locate(e))
                    }
                }
            }
            Some(Err(e)) => {
                self.finished = true;
                let e = crate::streaming::sse_error(e, self.request_id.clone());
                self.report(e)
            }
            None if self.decoder.is_done() => self.finish(),
            None => match &self.eof {
                None => Step::NeedInput,
                Some(StreamEnd::Incomplete {
                    offset,
                    pending_bytes,
                    ..
                }) => {
                    self.finished = true;
                    let e = Error::Stream {
                        kind: StreamErrorKind::Incomplete,
                        event: Some(self.frames),
                        offset: Some(*offset),
                        message: format!(
                            "the connection closed in the middle of an event ({pending_bytes} bytes of it received)"
                        ),
                    };
                    self.report(e)
                }
                Some(StreamEnd::Clean) => self.finish(),
            },
        }
    }

    fn finish(&mut self) -> Step<types::AssistantStreamEvent> {
        self.finished = true;
        match self.state.check_end() {
            Ok(()) => {
                self.handler.on_end();
                Step::End
            }
            Err(e) => self.report(e),
        }
    }
}

/// An Assistants run stream: a [`Stream`] of the generated
/// [`AssistantStreamEvent`](crate::types::AssistantStreamEvent)s, with the accumulated
/// run, messages and run steps, and an optional [`AssistantEventHandler`] whose
/// callbacks fire as events are read. Made by
/// [`Assistants::create_run_stream`](super::Assistants::create_run_stream) and friends.
///
/// Dropping it closes the response.
///
/// ```no_run
/// # async fn run() -> Result<(), openai_sdk::Error> {
/// use futures::StreamExt;
///
/// let client = openai_sdk::Client::new()?;
/// let request = serde_json::from_value(serde_json::json!({"assistant_id": "asst_123"})).unwrap();
/// let stream = client.assistants().create_run_stream("thread_123", &request).await?;
/// let mut text = stream.text_deltas();
/// while let Some(delta) = text.next().await {
///     print!("{}", delta?);
/// }
/// # Ok(()) }
/// ```
pub struct AssistantStream<H = NoHandler> {
    body: Option<BoxStream<'static, reqwest::Result<Bytes>>>,
    pipeline: AssistantEventPipeline<H>,
}

impl<H> std::fmt::Debug for AssistantStream<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssistantStream")
            .field("events", &self.pipeline.state.events_handled())
            .finish_non_exhaustive()
    }
}

impl AssistantStream<NoHandler> {
    pub(crate) fn new(response: reqwest::Response) -> Self {
        let mut pipeline = AssistantEventPipeline::new();
        pipeline.set_request_id(crate::error::request_id(response.headers()));
        AssistantStream {
            body: Some(response.bytes_stream().boxed()),
            pipeline,
        }
    }
}

impl<H: AssistantEventHandler> AssistantStream<H> {
    /// The same stream, firing `handler`'s callbacks from now on.
    pub fn with_handler<H2: AssistantEventHandler>(self, handler: H2) -> AssistantStream<H2> {
        let (pipeline, _) = self.pipeline.replace_handler(handler);
        AssistantStream {
            body: self.body,
            pipeline,
        }
    }

    /// Reads the stream to its end (firing the callbacks); the first error stops it.
    pub async fn until_done(&mut self) -> Result<&mut Self, Error>
    where
        H: Unpin,
    {
        while let Some(event) = self.next().await {
            event?;
        }
        Ok(self)
    }

    /// Reads the rest of the stream, then returns the run as of its last event.
    pub async fn final_run(&mut self) -> Result<Run, Error>
    where
        H: Unpin,
    {
        self.until_done().await?;
        self.pipeline.state.final_run()
    }

    /// Reads the rest of the stream, then returns every run step (finished steps with
    /// their final data).
    pub async fn final_run_steps(&mut self) -> Result<Vec<RunStep>, Error>
    where
        H: Unpin,
    {
        self.until_done().await?;
        self.pipeline.state.final_run_steps()
    }

    /// Reads the rest of the stream, then returns every message it created.
    pub async fn final_messages(&mut self) -> Result<Vec<Message>, Error>
    where
        H: Unpin,
    {
        self.until_done().await?;
        self.pipeline.state.final_messages()
    }

    /// The last event read.
    pub fn current_event(&self) -> Option<&types::AssistantStreamEvent> {
        self.pipeline.state.current_event()
    }

    /// The run as of the last run event (decoded from its JSON, see [`state`](Self::state)).
    pub fn current_run(&self) -> Option<View<'_, types::RunObject>> {
        self.pipeline.state.current_run()
    }

    /// The message being streamed, as accumulated.
    pub fn current_message_snapshot(&self) -> Option<View<'_, types::MessageObject>> {
        self.pipeline.state.current_message_snapshot()
    }

    /// The run step in progress, as accumulated.
    pub fn current_run_step_snapshot(&self) -> Option<View<'_, types::RunStepObject>> {
        self.pipeline.state.current_run_step_snapshot()
    }

    /// The state (JSON snapshots, unhandled events); readable after an error too.
    pub fn state(&self) -> &AssistantStreamState {
        &self.pipeline.state
    }

    /// The handler.
    pub fn handler(&self) -> &H {
        &self.pipeline.handler
    }

    /// The handler, mutably.
    pub fn handler_mut(&mut self) -> &mut H {
        &mut self.pipeline.handler
    }

    /// Gives the handler back (dropping the stream).
    pub fn into_handler(self) -> H {
        self.pipeline.handler
    }

    /// A stream of the text fragments of the messages (every `on_text_delta`'s value);
    /// errors are passed on. [`TextDeltas::into_inner`] gives the run stream back.
    pub fn text_deltas(self) -> TextDeltas<H> {
        TextDeltas {
            stream: self,
            pending: VecDeque::new(),
        }
    }
}

/// The text fragments of a run stream's messages: made by
/// [`AssistantStream::text_deltas`].
#[derive(Debug)]
pub struct TextDeltas<H = NoHandler> {
    stream: AssistantStream<H>,
    pending: VecDeque<String>,
}

impl<H> TextDeltas<H> {
    /// The run stream (its state, handler and the rest of its events).
    pub fn into_inner(self) -> AssistantStream<H> {
        self.stream
    }

    /// The run stream's state so far.
    pub fn state(&self) -> &AssistantStreamState {
        &self.stream.pipeline.state
    }
}

impl<H: AssistantEventHandler + Unpin> Stream for TextDeltas<H> {
    type Item = Result<String, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(text) = this.pending.pop_front() {
                return Poll::Ready(Some(Ok(text)));
            }
            match Pin::new(&mut this.stream).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(Some(Ok(_))) => this.pending.extend(
                    this.stream
                        .pipeline
                        .state
                        .last_text_deltas()
                        .iter()
                        .cloned(),
                ),
            }
        }
    }
}

impl<H: AssistantEventHandler + Unpin> Stream for AssistantStream<H> {
    type Item = Result<types::AssistantStreamEvent, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match this.pipeline.step() {
                Step::Item(item) => {
                    if item.is_err() && this.pipeline.finished {
                        this.body = None;
                    }
                    return Poll::Ready(Some(item));
                }
                Step::End => {
                    this.body = None;
                    return Poll::Ready(None);
                }
                Step::NeedInput => {
                    let Some(body) = this.body.as_mut() else {
                        this.pipeline.end_of_input();
                        continue;
                    };
                    match body.poll_next_unpin(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Some(Ok(bytes))) => this.pipeline.push(&bytes),
                        Poll::Ready(Some(Err(e))) => {
                            this.body = None;
                            this.pipeline.fail(Error::from_reqwest(e));
                        }
                        Poll::Ready(None) => {
                            this.body = None;
                            this.pipeline.end_of_input();
                        }
                    }
                }
            }
        }
    }
}

#[cfg(feature = "blocking")]
pub use self::blocking::BlockingAssistantStream;

#[cfg(feature = "blocking")]
mod blocking {
    use std::io::Read;

    use super::{AssistantEventPipeline, Step};
    use crate::assistants::{
        AssistantEventHandler, AssistantStreamState, Message, NoHandler, Run, RunStep, View,
    };
    use crate::types;
    use crate::Error;

    /// The blocking [`AssistantStream`](super::AssistantStream): an [`Iterator`] of
    /// events with the same methods (feature `blocking`). Must not be used inside an
    /// async runtime.
    pub struct BlockingAssistantStream<H = NoHandler> {
        response: Option<reqwest::blocking::Response>,
        pipeline: AssistantEventPipeline<H>,
        buf: Vec<u8>,
    }

    impl<H> std::fmt::Debug for BlockingAssistantStream<H> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("BlockingAssistantStream")
                .finish_non_exhaustive()
        }
    }

    impl BlockingAssistantStream<NoHandler> {
        pub(crate) fn new(response: reqwest::blocking::Response) -> Self {
            let mut pipeline = AssistantEventPipeline::new();
            pipeline.set_request_id(crate::error::request_id(response.headers()));
            BlockingAssistantStream {
                response: Some(response),
                pipeline,
                buf: vec![0; 16 * 1024],
            }
        }
    }

    impl<H: AssistantEventHandler> BlockingAssistantStream<H> {
        /// The same stream, firing `handler`'s callbacks from now on.
        pub fn with_handler<H2: AssistantEventHandler>(
            self,
            handler: H2,
        ) -> BlockingAssistantStream<H2> {
            let (pipeline, _) = self.pipeline.replace_handler(handler);
            BlockingAssistantStream {
                response: self.response,
                pipeline,
                buf: self.buf,
            }
        }

        /// Reads the stream to its end; the first error stops it.
        pub fn until_done(&mut self) -> Result<&mut Self, Error> {
            for event in self.by_ref() {
                event?;
            }
            Ok(self)
        }

        /// Reads the rest of the stream, then returns the final run.
        pub fn final_run(&mut self) -> Result<Run, Error> {
            self.until_done()?;
            self.pipeline.state().final_run()
        }

        /// Reads the rest of the stream, then returns every run step.
        pub fn final_run_steps(&mut self) -> Result<Vec<RunStep>, Error> {
            self.until_done()?;
            self.pipeline.state().final_run_steps()
        }

        /// Reads the rest of the stream, then returns every message.
        pub fn final_messages(&mut self) -> Result<Vec<Message>, Error> {
            self.until_done()?;
            self.pipeline.state().final_messages()
        }

        /// The last event read.
        pub fn current_event(&self) -> Option<&types::AssistantStreamEvent> {
            self.pipeline.state().current_event()
        }

        /// The run as of the last run event.
        pub fn current_run(&self) -> Option<View<'_, types::RunObject>> {
            self.pipeline.state().current_run()
        }

        /// The message being streamed.
        pub fn current_message_snapshot(&self) -> Option<View<'_, types::MessageObject>> {
            self.pipeline.state().current_message_snapshot()
        }

        /// The run step in progress.
        pub fn current_run_step_snapshot(&self) -> Option<View<'_, types::RunStepObject>> {
            self.pipeline.state().current_run_step_snapshot()
        }

        /// The state.
        pub fn state(&self) -> &AssistantStreamState {
            self.pipeline.state()
        }

        /// The handler.
        pub fn handler(&self) -> &H {
            self.pipeline.handler()
        }

        /// Gives the handler back.
        pub fn into_handler(self) -> H {
            self.pipeline.into_handler()
        }

        /// An iterator of the text fragments of the messages.
        pub fn text_deltas(mut self) -> impl Iterator<Item = Result<String, Error>> {
            let mut pending = std::collections::VecDeque::new();
            std::iter::from_fn(move || loop {
                if let Some(text) = pending.pop_front() {
                    return Some(Ok(text));
                }
                match self.next()? {
                    Ok(_) => {
                        pending.extend(self.pipeline.state().last_text_deltas().iter().cloned())
                    }
                    Err(e) => return Some(Err(e)),
                }
            })
        }
    }

    impl<H: AssistantEventHandler> Iterator for BlockingAssistantStream<H> {
        type Item = Result<types::AssistantStreamEvent, Error>;

        fn next(&mut self) -> Option<Self::Item> {
            loop {
                match self.pipeline.step() {
                    Step::Item(item) => return Some(item),
                    Step::End => {
                        self.response = None;
                        return None;
                    }
                    Step::NeedInput => {
                        let Some(response) = self.response.as_mut() else {
                            self.pipeline.end_of_input();
                            continue;
                        };
                        match response.read(&mut self.buf) {
                            Ok(0) => {
                                self.response = None;
                                self.pipeline.end_of_input();
                            }
                            Ok(n) => {
                                let bytes = self.buf.get(..n).unwrap_or_default();
                                self.pipeline.push(bytes);
                            }
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                            Err(e) => {
                                self.response = None;
                                let error = if e.kind() == std::io::ErrorKind::TimedOut {
                                    Error::Timeout {
                                        message: e.to_string(),
                                    }
                                } else {
                                    Error::Connection {
                                        message: e.to_string(),
                                        source: None,
                                    }
                                };
                                self.pipeline.fail(error);
                            }
                        }
                    }
                }
            }
        }
    }
}
