//! [`EventStream`]: a stream of server-sent events decoded into one type (the raw chat
//! chunks, audio transcription events, any endpoint without a stream helper).

use std::marker::PhantomData;

use serde::de::DeserializeOwned;

use super::driver::{Pump, Step};
use super::frames::{Frames, Payload};
use super::pipeline::{Described, PipelineStream};
use crate::error::snippet;
use crate::Error;

/// Bytes in, events of one type out: each SSE event's data decoded as a `T` (the pipeline
/// of an [`EventStream`]; public in a private module, so it can be named by the alias but
/// not from outside the crate).
#[derive(Debug)]
pub struct TypedEvents<T> {
    pub(crate) frames: Frames,
    what: &'static str,
    _item: PhantomData<fn() -> T>,
}

impl<T> TypedEvents<T> {
    /// `what` names an event in errors ("chat completion chunk").
    pub(crate) fn new(what: &'static str, request_id: Option<String>) -> Self {
        let frames = Frames::new(request_id);
        TypedEvents {
            frames,
            what,
            _item: PhantomData,
        }
    }
}

impl<T: DeserializeOwned> Pump for TypedEvents<T> {
    type Item = T;

    crate::streaming::frames_input!(end_of_input);

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
                Step::Error(Error::Decode {
                    what: format!("{} #{number} (ending at byte {end_offset})", self.what),
                    path: crate::error::json_path_at(frame.data.as_bytes(), &e),
                    message: e.to_string(),
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
///
/// Made by [`EventStream::new`] from a response you got yourself, and by the SDK for the
/// raw chat chunks
// A link when the chat family is built, a plain name otherwise.
#[cfg_attr(
    feature = "chat",
    doc = "([`ChatCompletionChunkStream`](crate::chat::ChatCompletionChunkStream))"
)]
#[cfg_attr(not(feature = "chat"), doc = "(`chat::ChatCompletionChunkStream`)")]
/// and the streams with no helper of their own.
pub type EventStream<T> = PipelineStream<TypedEvents<T>>;

impl<T: DeserializeOwned> PipelineStream<TypedEvents<T>> {
    /// Reads `response` as an event stream of `T`s; `what` names an event in errors
    /// ("transcription event #3 (ending at byte 812)"). For endpoints this SDK has no
    /// stream helper for, with a response you got yourself. The largest event accepted is
    /// the client's [`max_sse_event_bytes`](crate::ClientBuilder::max_sse_event_bytes)
    /// when the client sent the request, else
    /// [`DEFAULT_MAX_EVENT_SIZE`](crate::sse::DEFAULT_MAX_EVENT_SIZE); set it with
    /// [`max_event_bytes`](Self::max_event_bytes).
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
        PipelineStream::from_response(response, TypedEvents::new(what, None))
    }

    /// Sets the largest event the stream accepts, in bytes: the data of one server-sent
    /// event, and any one line of the stream (it replaces the client's
    /// [`max_sse_event_bytes`](crate::ClientBuilder::max_sse_event_bytes) for this stream).
    /// An event over it ends the stream with [`Error::Stream`] of kind
    /// [`TooLarge`](crate::StreamErrorKind::TooLarge), with the limit, the event's number
    /// and the byte offset where it starts. Set it before reading the first event.
    ///
    /// ```no_run
    /// # async fn run(response: reqwest::Response) {
    /// use openai_sdk::streaming::EventStream;
    /// let events = EventStream::<serde_json::Value>::new(response, "event")
    ///     .max_event_bytes(1024 * 1024);
    /// # drop(events);
    /// # }
    /// ```
    pub fn max_event_bytes(mut self, limit: usize) -> Self {
        self.pump_mut().set_max_event_size(limit);
        self
    }
}

impl<T> Described for TypedEvents<T> {
    const NAME: &'static str = "EventStream";

    fn describe(&self, out: &mut std::fmt::DebugStruct<'_, '_>) {
        out.field("what", &self.what);
    }
}
