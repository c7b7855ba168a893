//! Run streams over HTTP: the transport-free pipeline, and its async and blocking
//! wrappers.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;

use super::handler::{AssistantEventHandler, Message, NoHandler, Run, RunStep, View};
use super::state::AssistantStreamState;
use crate::error::StreamErrorKind;
use crate::streaming::driver::{Pump, Step};
use crate::streaming::frames::Frames;
use crate::streaming::pipeline::Described;
use crate::streaming::PipelineStream;
use crate::types;
use crate::Error;

/// SSE bytes in, typed run stream events out (with the handler's callbacks fired), no
/// I/O. Used by the async and blocking streams and the `replay` example.
///
/// Errors end the stream, except an unknown event type or a delta for an object never
/// created: those are returned and the stream goes on (the event is kept in
/// [`AssistantStreamState::unhandled_events`]). Every error is given to the handler's
/// `on_exception` first. A stream that ends without a final run status gives a
/// [`StreamErrorKind::Unfinished`] error. Every stream's end gives `on_end` once: after
/// its last event, or after the `on_exception` of the error that ended it.
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
    frames: Frames,
    state: AssistantStreamState,
    handler: H,
    queue: VecDeque<Result<types::AssistantStreamEvent, Error>>,
    /// `on_end` was fired.
    ended: bool,
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

impl<H: AssistantEventHandler> AssistantEventPipeline<H> {
    /// A pipeline that fires `handler`'s callbacks.
    pub fn with_handler(handler: H) -> Self {
        AssistantEventPipeline {
            frames: Frames::default(),
            state: AssistantStreamState::new(),
            handler,
            queue: VecDeque::new(),
            ended: false,
        }
    }

    /// Replaces the handler (before any event is read, or between events).
    pub fn replace_handler<H2: AssistantEventHandler>(
        self,
        handler: H2,
    ) -> (AssistantEventPipeline<H2>, H) {
        let AssistantEventPipeline {
            frames,
            state,
            handler: old,
            queue,
            ended,
        } = self;
        (
            AssistantEventPipeline {
                frames,
                state,
                handler,
                queue,
                ended,
            },
            old,
        )
    }

    /// Feeds the next bytes of the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.frames.push(bytes);
    }

    /// Like [`push`](Self::push), without copying: the events are read from `bytes` in
    /// place (only an event line split between two pushes is copied).
    pub fn push_bytes(&mut self, bytes: bytes::Bytes) {
        self.frames.push_bytes(bytes);
    }

    /// Says the input is over.
    pub fn end_of_input(&mut self) {
        self.frames.end_of_input(None);
    }

    /// Ends the stream with a transport error (given to the handler, then returned).
    pub fn fail(&mut self, error: Error) {
        if !self.frames.finished {
            self.frames.finished = true;
            self.queue.push_back(Err(error));
        }
    }

    /// The next event or error; `None` when more input is needed or the stream is over.
    pub fn next_event(&mut self) -> Option<Result<types::AssistantStreamEvent, Error>> {
        self.step().into_next()
    }

    /// The state (snapshots, current run, unhandled events).
    pub fn state(&self) -> &AssistantStreamState {
        &self.state
    }

    /// How many unhandled events the state keeps with their data (see
    /// [`AssistantStreamState::set_max_unhandled_events`]).
    pub fn max_unhandled_events(mut self, max: usize) -> Self {
        self.state.set_max_unhandled_events(max);
        self
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
        if self.frames.finished {
            // The error ended the stream.
            self.end();
            Step::Error(error)
        } else {
            Step::Recoverable(error)
        }
    }

    /// Fires `on_end`, once: the stream is over (the reference's `finally`).
    fn end(&mut self) {
        if !self.ended {
            self.ended = true;
            self.handler.on_end();
        }
    }

    pub(crate) fn step(&mut self) -> Step<types::AssistantStreamEvent> {
        if let Some(item) = self.queue.pop_front() {
            return match item {
                Ok(event) => Step::Item(event),
                Err(e) => self.report(e),
            };
        }
        if self.frames.finished {
            return Step::End;
        }
        let payload = match self.frames.next() {
            Step::Item(payload) => payload,
            // `data: [DONE]`, or the end of the input between two events.
            Step::End => return self.finish(),
            Step::NeedInput => return Step::NeedInput,
            // The framing failed (the stream is over): an `error` event, bad UTF-8, a
            // connection closed mid-event...
            Step::Error(e) | Step::Recoverable(e) | Step::Dropped(e) => return self.report(e),
        };
        let (at, frame) = (payload.at(), payload.frame);
        let name = frame.event.as_deref().unwrap_or("message");
        match self
            .state
            .handle_event(name, &frame.data, &mut self.handler)
        {
            Ok((event, after)) => {
                if let Some(e) = after {
                    self.frames.finished = true;
                    self.queue.push_back(Err(at.locate(e)));
                }
                Step::Item(event)
            }
            Err(e) => {
                let recoverable = matches!(
                    e,
                    Error::Stream {
                        kind: StreamErrorKind::UnknownEvent | StreamErrorKind::UnknownObject,
                        ..
                    }
                );
                if !recoverable {
                    self.frames.finished = true;
                }
                self.report(at.locate(e))
            }
        }
    }

    fn finish(&mut self) -> Step<types::AssistantStreamEvent> {
        self.frames.finished = true;
        match self.state.check_end() {
            Ok(()) => {
                self.end();
                Step::End
            }
            Err(e) => self.report(e),
        }
    }
}

/// The pipeline as the shared drivers' pump: a transport error or a stall past the read
/// timeout ends the stream through the handler's `on_exception` (and `on_timeout`).
impl<H: AssistantEventHandler> Pump for AssistantEventPipeline<H> {
    type Item = types::AssistantStreamEvent;

    crate::streaming::frames_input!();

    fn end_of_input(&mut self, transport_error: Option<String>) {
        match transport_error {
            None => AssistantEventPipeline::end_of_input(self),
            Some(message) => self.fail(Error::Connection {
                message,
                source: None,
            }),
        }
    }

    fn step(&mut self) -> Step<types::AssistantStreamEvent> {
        AssistantEventPipeline::step(self)
    }

    fn failed(&mut self, error: Error) -> Option<Error> {
        self.fail(error);
        None
    }
}

/// An Assistants run stream: a [`Stream`] of the generated
/// [`AssistantStreamEvent`](crate::types::AssistantStreamEvent)s, with the accumulated
/// run, messages and run steps, and an optional [`AssistantEventHandler`] whose
/// callbacks fire as events are read. Made by
/// [`Assistants::create_run_stream`](super::Assistants::create_run_stream) and friends.
///
/// Dropping it closes the response. A body that stalls longer than the client's read
/// timeout ends the stream with [`Error::Timeout`] (the handler's `on_timeout`, then
/// `on_exception`).
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
pub type AssistantStream<H = NoHandler> = PipelineStream<AssistantEventPipeline<H>>;

impl<H> Described for AssistantEventPipeline<H> {
    const NAME: &'static str = "AssistantStream";

    fn describe(&self, out: &mut std::fmt::DebugStruct<'_, '_>) {
        out.field("events", &self.state.events_handled());
    }
}

impl PipelineStream<AssistantEventPipeline<NoHandler>> {
    pub(crate) fn without_handler(response: reqwest::Response) -> Self {
        PipelineStream::from_response(response, AssistantEventPipeline::new())
    }
}

/// The methods of an [`AssistantStream`] besides those of every stream.
impl<H: AssistantEventHandler> PipelineStream<AssistantEventPipeline<H>> {
    /// How many unhandled events the stream's state keeps with their data (default
    /// [`DEFAULT_MAX_UNHANDLED_EVENTS`](crate::assistants::DEFAULT_MAX_UNHANDLED_EVENTS),
    /// 256); later ones are counted
    /// ([`AssistantStreamState::unhandled_events_dropped`]). Each one is also an error item
    /// of the stream, which goes on after it.
    pub fn max_unhandled_events(mut self, max: usize) -> Self {
        self.pump_mut().state.set_max_unhandled_events(max);
        self
    }

    /// The same stream, firing `handler`'s callbacks from now on.
    pub fn with_handler<H2: AssistantEventHandler>(self, handler: H2) -> AssistantStream<H2> {
        self.map_pump(|pipeline| pipeline.replace_handler(handler).0)
    }

    /// Reads the rest of the stream, then returns the run as of its last event.
    pub async fn final_run(&mut self) -> Result<Run, Error>
    where
        H: Unpin,
    {
        self.until_done().await?;
        self.state().final_run()
    }

    /// Reads the rest of the stream, then returns every run step (finished steps with
    /// their final data).
    pub async fn final_run_steps(&mut self) -> Result<Vec<RunStep>, Error>
    where
        H: Unpin,
    {
        self.until_done().await?;
        self.state().final_run_steps()
    }

    /// Reads the rest of the stream, then returns every message it created.
    pub async fn final_messages(&mut self) -> Result<Vec<Message>, Error>
    where
        H: Unpin,
    {
        self.until_done().await?;
        self.state().final_messages()
    }

    /// The last event read.
    pub fn current_event(&self) -> Option<&types::AssistantStreamEvent> {
        self.state().current_event()
    }

    /// The run as of the last run event (decoded from its JSON, see [`state`](Self::state)).
    pub fn current_run(&self) -> Option<View<'_, types::RunObject>> {
        self.state().current_run()
    }

    /// The message being streamed, as accumulated.
    pub fn current_message_snapshot(&self) -> Option<View<'_, types::MessageObject>> {
        self.state().current_message_snapshot()
    }

    /// The run step in progress, as accumulated.
    pub fn current_run_step_snapshot(&self) -> Option<View<'_, types::RunStepObject>> {
        self.state().current_run_step_snapshot()
    }

    /// The state (JSON snapshots, unhandled events); readable after an error too.
    pub fn state(&self) -> &AssistantStreamState {
        &self.pump().state
    }

    /// The handler.
    pub fn handler(&self) -> &H {
        &self.pump().handler
    }

    /// The handler, mutably.
    pub fn handler_mut(&mut self) -> &mut H {
        &mut self.pump_mut().handler
    }

    /// Gives the handler back (dropping the stream).
    pub fn into_handler(self) -> H {
        self.into_pump().handler
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
        &self.stream.pump().state
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
                Poll::Ready(Some(Ok(_))) => this
                    .pending
                    .extend(this.stream.pump().state.last_text_deltas().iter().cloned()),
            }
        }
    }
}

#[cfg(feature = "blocking")]
pub use self::blocking::BlockingAssistantStream;

#[cfg(feature = "blocking")]
mod blocking {
    use super::AssistantEventPipeline;
    use crate::assistants::{
        AssistantEventHandler, AssistantStreamState, Message, NoHandler, Run, RunStep, View,
    };
    use crate::streaming::BlockingPipelineStream;
    use crate::types;
    use crate::Error;

    /// The blocking [`AssistantStream`](super::AssistantStream): an [`Iterator`] of
    /// events with the same methods (feature `blocking`). Must not be used inside an
    /// async runtime.
    pub type BlockingAssistantStream<H = NoHandler> =
        BlockingPipelineStream<AssistantEventPipeline<H>>;

    impl BlockingPipelineStream<AssistantEventPipeline<NoHandler>> {
        pub(crate) fn without_handler(response: reqwest::blocking::Response) -> Self {
            BlockingPipelineStream::from_response(response, AssistantEventPipeline::new())
        }
    }

    /// The methods of a [`BlockingAssistantStream`] besides those of every stream.
    impl<H: AssistantEventHandler> BlockingPipelineStream<AssistantEventPipeline<H>> {
        /// See [`AssistantStream::max_unhandled_events`](super::AssistantStream::max_unhandled_events).
        pub fn max_unhandled_events(mut self, max: usize) -> Self {
            self.pump_mut().state.set_max_unhandled_events(max);
            self
        }

        /// The same stream, firing `handler`'s callbacks from now on.
        pub fn with_handler<H2: AssistantEventHandler>(
            self,
            handler: H2,
        ) -> BlockingAssistantStream<H2> {
            self.map_pump(|pipeline| pipeline.replace_handler(handler).0)
        }

        /// Reads the rest of the stream, then returns the final run.
        pub fn final_run(&mut self) -> Result<Run, Error> {
            self.until_done()?;
            self.state().final_run()
        }

        /// Reads the rest of the stream, then returns every run step.
        pub fn final_run_steps(&mut self) -> Result<Vec<RunStep>, Error> {
            self.until_done()?;
            self.state().final_run_steps()
        }

        /// Reads the rest of the stream, then returns every message.
        pub fn final_messages(&mut self) -> Result<Vec<Message>, Error> {
            self.until_done()?;
            self.state().final_messages()
        }

        /// The last event read.
        pub fn current_event(&self) -> Option<&types::AssistantStreamEvent> {
            self.state().current_event()
        }

        /// The run as of the last run event.
        pub fn current_run(&self) -> Option<View<'_, types::RunObject>> {
            self.state().current_run()
        }

        /// The message being streamed.
        pub fn current_message_snapshot(&self) -> Option<View<'_, types::MessageObject>> {
            self.state().current_message_snapshot()
        }

        /// The run step in progress.
        pub fn current_run_step_snapshot(&self) -> Option<View<'_, types::RunStepObject>> {
            self.state().current_run_step_snapshot()
        }

        /// The state.
        pub fn state(&self) -> &AssistantStreamState {
            self.pump().state()
        }

        /// The handler.
        pub fn handler(&self) -> &H {
            self.pump().handler()
        }

        /// Gives the handler back.
        pub fn into_handler(self) -> H {
            self.into_pump().into_handler()
        }

        /// An iterator of the text fragments of the messages.
        pub fn text_deltas(mut self) -> impl Iterator<Item = Result<String, Error>> {
            let mut pending = std::collections::VecDeque::new();
            std::iter::from_fn(move || loop {
                if let Some(text) = pending.pop_front() {
                    return Some(Ok(text));
                }
                match self.next()? {
                    Ok(_) => pending.extend(self.state().last_text_deltas().iter().cloned()),
                    Err(e) => return Some(Err(e)),
                }
            })
        }
    }
}
