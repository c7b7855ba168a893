//! Streams over HTTP: the transport-free byte pipeline, and its async and blocking
//! wrappers.

use std::collections::VecDeque;
use std::sync::Arc;

use super::completion::ParsedChatCompletion;
use super::events::ChatCompletionStreamEvent;
use super::snapshot::{ChatCompletionSnapshot, ParseOptions};
use super::state::ChatCompletionStreamState;
use crate::streaming::driver::{Pump, Step};
use crate::streaming::frames::{Frames, Payload};
use crate::streaming::pipeline::Described;
use crate::streaming::typed::TypedEvents;
use crate::streaming::PipelineStream;
use crate::types::CreateChatCompletionStreamResponse;
use crate::Error;

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

    /// Like [`push`](Self::push), without copying: the events are read from `bytes` in
    /// place (only an event line split between two pushes is copied).
    pub fn push_bytes(&mut self, bytes: bytes::Bytes) {
        self.frames.push_bytes(bytes);
    }

    /// Marks the end of the input.
    pub fn end_of_input(&mut self) {
        self.frames.end_of_input(None);
    }

    /// The next event or error; `None` when more input is needed or the stream is over
    /// (after an error, `None` follows).
    pub fn next_event(&mut self) -> Option<Result<ChatCompletionStreamEvent, Error>> {
        self.step().into_next()
    }

    /// The state (snapshot, final completion).
    pub fn state(&self) -> &ChatCompletionStreamState {
        &self.state
    }

    /// The state, the pipeline dropped.
    pub fn into_state(self) -> ChatCompletionStreamState {
        self.state
    }

    /// The final completion, taking the pipeline: see
    /// [`ChatCompletionStreamState::into_final_completion`] (no copy of the content parsed
    /// at `content.done`). Call it once the input is over.
    pub fn into_final_completion(self) -> Result<ParsedChatCompletion, Error> {
        self.state.into_final_completion()
    }

    fn handle(&mut self, payload: Payload) -> Result<(), Error> {
        let at = payload.at();
        self.state
            .handle_chunk_text(payload.frame.data, true, &mut self.queue)
            .map(|_| ())
            .map_err(|e| at.locate(e))
    }
}

impl Pump for ChatEventPipeline {
    type Item = ChatCompletionStreamEvent;

    crate::streaming::frames_input!(end_of_input);

    fn step(&mut self) -> Step<ChatCompletionStreamEvent> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Step::Item(event);
            }
            match self.frames.next().into_item() {
                Ok(payload) => {
                    if let Err(e) = self.handle(payload) {
                        self.frames.finished = true;
                        return Step::Error(e);
                    }
                }
                Err(step) => return step,
            }
        }
    }
}

/// A streamed chat completion: a [`Stream`](futures::Stream) of [`ChatCompletionStreamEvent`]s, with the
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
pub type ChatCompletionStream = PipelineStream<ChatEventPipeline>;

impl Described for ChatEventPipeline {
    const NAME: &'static str = "ChatCompletionStream";

    fn describe(&self, out: &mut std::fmt::DebugStruct<'_, '_>) {
        out.field("chunks", &self.state.chunks_handled());
    }
}

/// The methods of a [`ChatCompletionStream`] besides those of every stream.
impl PipelineStream<ChatEventPipeline> {
    pub(crate) fn with_options(response: reqwest::Response, options: ParseOptions) -> Self {
        PipelineStream::from_response(response, ChatEventPipeline::new(options))
    }

    /// Reads the rest of the stream, then parses the accumulated completion (see
    /// [`ChatCompletionStreamState::final_completion`]).
    pub async fn final_completion(&mut self) -> Result<ParsedChatCompletion, Error> {
        self.until_done().await?;
        let metadata = self.metadata().clone();
        self.state()
            .final_completion()
            .map(|c| c.with_metadata(Some(metadata)))
    }

    /// [`final_completion`](Self::final_completion), taking the stream: the content parsed
    /// at `content.done` moves into the completion instead of being copied (see
    /// [`ChatCompletionStreamState::into_final_completion`]).
    pub async fn into_final_completion(mut self) -> Result<ParsedChatCompletion, Error> {
        self.until_done().await?;
        let metadata = self.metadata().clone();
        self.into_pump()
            .into_final_completion()
            .map(|c| c.with_metadata(Some(metadata)))
    }

    /// The completion accumulated so far (`None` before the first chunk); also readable
    /// after an error.
    pub fn current_snapshot(&self) -> Option<Arc<ChatCompletionSnapshot>> {
        self.state().snapshot()
    }

    /// The state machine.
    pub fn state(&self) -> &ChatCompletionStreamState {
        &self.pump().state
    }
}

/// The raw stream of typed chunks, made by [`Chat::create_stream`](super::Chat::create_stream):
/// an [`EventStream`](crate::streaming::EventStream) of
/// [`CreateChatCompletionStreamResponse`]s. Every chunk is yielded as
/// decoded (also those a [`ChatCompletionStream`] skips); feed them to a
/// [`ChatCompletionStreamState`] to accumulate them yourself.
pub type ChatCompletionChunkStream =
    PipelineStream<TypedEvents<CreateChatCompletionStreamResponse>>;

#[cfg(feature = "blocking")]
pub use self::blocking::BlockingChatCompletionStream;

#[cfg(feature = "blocking")]
mod blocking {
    use std::sync::Arc;

    use super::ChatEventPipeline;
    use crate::chat::{
        ChatCompletionSnapshot, ChatCompletionStreamState, ParseOptions, ParsedChatCompletion,
    };
    use crate::streaming::BlockingPipelineStream;
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
    pub type BlockingChatCompletionStream = BlockingPipelineStream<ChatEventPipeline>;

    /// The methods of a [`BlockingChatCompletionStream`] besides those of every stream.
    impl BlockingPipelineStream<ChatEventPipeline> {
        pub(crate) fn with_options(
            response: reqwest::blocking::Response,
            options: ParseOptions,
        ) -> Self {
            BlockingPipelineStream::from_response(response, ChatEventPipeline::new(options))
        }

        /// Reads the rest of the stream, then parses the accumulated completion.
        pub fn final_completion(&mut self) -> Result<ParsedChatCompletion, Error> {
            self.until_done()?;
            let metadata = self.metadata().clone();
            self.state()
                .final_completion()
                .map(|c| c.with_metadata(Some(metadata)))
        }

        /// [`final_completion`](Self::final_completion), taking the stream: the content
        /// parsed at `content.done` moves into the completion instead of being copied.
        pub fn into_final_completion(mut self) -> Result<ParsedChatCompletion, Error> {
            self.until_done()?;
            let metadata = self.metadata().clone();
            self.into_pump()
                .into_final_completion()
                .map(|c| c.with_metadata(Some(metadata)))
        }

        /// The completion accumulated so far.
        pub fn current_snapshot(&self) -> Option<Arc<ChatCompletionSnapshot>> {
            self.state().snapshot()
        }

        /// The state machine.
        pub fn state(&self) -> &ChatCompletionStreamState {
            self.pump().state()
        }
    }
}
