//! Streams over HTTP: the transport-free byte pipeline, and its async and blocking
//! wrappers.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::{Stream, StreamExt};

use super::completion::ParsedChatCompletion;
use super::events::ChatCompletionStreamEvent;
use super::snapshot::{ChatCompletionSnapshot, ParseOptions};
use super::state::ChatCompletionStreamState;
use crate::streaming::driver::{BodyStream, Pump, Step};
use crate::streaming::frames::{Frames, Payload};
use crate::streaming::TypedEvents;
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

    pub(crate) fn set_request_id(&mut self, id: Option<String>) {
        self.frames.request_id = id;
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

    fn push(&mut self, bytes: &[u8]) {
        self.frames.push(bytes);
    }

    fn push_message(&mut self, data: String) {
        self.frames.push_message(data);
    }

    fn end_of_input(&mut self, transport_error: Option<String>) {
        self.frames.end_of_input(transport_error);
    }

    fn set_max_event_size(&mut self, limit: usize) {
        self.frames.set_max_event_size(limit);
    }

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
        let metadata = self.inner.metadata.clone();
        self.inner
            .pump
            .state
            .final_completion()
            .map(|c| c.with_metadata(Some(metadata)))
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

    crate::streaming::response_metadata_methods!(inner);
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
    inner: BodyStream<TypedEvents<CreateChatCompletionStreamResponse>>,
}

impl std::fmt::Debug for ChatCompletionChunkStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatCompletionChunkStream")
            .finish_non_exhaustive()
    }
}

impl ChatCompletionChunkStream {
    pub(crate) fn new(response: reqwest::Response) -> Self {
        let pipeline = TypedEvents::new(
            "chat completion chunk",
            crate::error::request_id(response.headers()),
        );
        ChatCompletionChunkStream {
            inner: BodyStream::new(response, pipeline),
        }
    }

    crate::streaming::response_metadata_methods!(inner);
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
    use std::sync::Arc;

    use super::ChatEventPipeline;
    use crate::chat::{
        ChatCompletionSnapshot, ChatCompletionStreamEvent, ChatCompletionStreamState, ParseOptions,
        ParsedChatCompletion,
    };
    use crate::streaming::driver::BlockingBody;
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
        body: BlockingBody<ChatEventPipeline>,
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
                body: BlockingBody::new(response, pipeline),
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
            let metadata = self.body.metadata.clone();
            self.body
                .pump
                .state()
                .final_completion()
                .map(|c| c.with_metadata(Some(metadata)))
        }

        /// The completion accumulated so far.
        pub fn current_snapshot(&self) -> Option<Arc<ChatCompletionSnapshot>> {
            self.body.pump.state().snapshot()
        }

        /// The state machine.
        pub fn state(&self) -> &ChatCompletionStreamState {
            self.body.pump.state()
        }

        crate::streaming::response_metadata_methods!(body);
    }

    impl Iterator for BlockingChatCompletionStream {
        type Item = Result<ChatCompletionStreamEvent, Error>;

        fn next(&mut self) -> Option<Self::Item> {
            self.body.next_item()
        }
    }
}
