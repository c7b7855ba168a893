//! [`EventStream`]: a stream of server-sent events decoded into one type (the raw chat
//! chunks, audio transcription events, any endpoint without a stream helper).

use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use serde::de::DeserializeOwned;

use super::driver::{BodyStream, Pump, Step};
use super::frames::{Frames, Payload};
use crate::error::snippet;
use crate::Error;

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
    metadata: crate::ResponseMetadata,
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
        let metadata = crate::ResponseMetadata::of(&response);
        EventStream {
            inner: BodyStream::new(response, pump),
            metadata,
        }
    }
}

impl<T> EventStream<T> {
    /// The answer's `x-request-id`.
    pub fn request_id(&self) -> Option<&str> {
        self.metadata.request_id()
    }

    /// The answer's headers (they arrived before the stream was returned).
    pub fn headers(&self) -> &reqwest::header::HeaderMap {
        self.metadata.headers()
    }

    /// The answer's status and headers, with the typed views (rate limits, ...).
    pub fn metadata(&self) -> &crate::ResponseMetadata {
        &self.metadata
    }
}

impl<T: DeserializeOwned> Stream for EventStream<T> {
    type Item = Result<T, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.inner).poll_next(cx)
    }
}
