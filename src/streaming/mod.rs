//! The stream layer, shared by every stream family (chat, Responses, Assistants, typed
//! event streams). Input flows through it in one direction:
//!
//! 1. [`sse`](crate::sse) (`streaming/sse.rs`): bytes → WHATWG `text/event-stream`
//!    frames, with no I/O;
//! 2. `frames.rs`: the OpenAI framing of one connection: `data: [DONE]`, error payloads,
//!    empty data, end of input mid-event, transport errors, and the number and end
//!    offset of every payload (`Frames`, `Payload`); the one place that stamps an error
//!    with where it happened (`Payload::locate`);
//! 3. a family's pipeline (`chat::ChatEventPipeline`, `responses::ResponseEventPipeline`,
//!    `assistants::AssistantEventPipeline`, or [`EventStream`]'s typed decode): payloads
//!    → its transport-free state machine → events with snapshots. Pipelines implement
//!    the `Pump` protocol (`driver.rs`: push input, take `Step`s);
//! 4. `driver.rs`: drives a pump from its input and hands the items on: `BodyStream`
//!    (async) reads a `Source` (an HTTP body, or another transport's whole messages),
//!    `BlockingBody` a blocking body; both resume a dropped stream when the pump knows
//!    how (background responses);
//! 5. `pipeline.rs`: the public stream over a driver, [`PipelineStream`] (and its blocking
//!    twin): `Stream`/`Iterator`, the answer's metadata and `until_done`, written once.
//!    Each family's public stream is an alias of it with the family's methods added
//!    (`chat::ChatCompletionStream = PipelineStream<ChatEventPipeline>`).
//!
//! A non-HTTP transport plugs in at step 4: a `Source` giving `Input::Message` payloads
//! feeds a pipeline, so the family's events, snapshot and public stream type are the same
//! as over HTTP. The Responses WebSocket does so: a lane's messages go through its own
//! pump (the WebSocket's `error` event, close codes) into the same state, and the stream
//! is the same `responses::ResponseStream`.

pub(crate) mod driver;
pub(crate) mod frames;
pub(crate) mod pipeline;
pub(crate) mod sse;
pub(crate) mod typed;

#[cfg(feature = "blocking")]
pub use pipeline::BlockingPipelineStream;
pub use pipeline::PipelineStream;
pub use typed::EventStream;

/// `request_id()`, `headers()` and `metadata()` of a stream whose driver is `$($body)+`
/// (a `BodyStream` or `BlockingBody`, which keep the metadata of the answer that started
/// the stream).
macro_rules! response_metadata_methods {
    ($($body:tt)+) => {
        /// The `x-request-id` of the answer that started the stream (its headers arrived
        /// before the stream was returned).
        pub fn request_id(&self) -> Option<&str> {
            self.$($body)+.metadata.request_id()
        }

        /// The headers of the answer that started the stream.
        pub fn headers(&self) -> &reqwest::header::HeaderMap {
            self.$($body)+.metadata.headers()
        }

        /// The status and headers of the answer that started the stream, with the typed
        /// views ([`rate_limits`](crate::ResponseMetadata::rate_limits), ...).
        pub fn metadata(&self) -> &crate::ResponseMetadata {
            &self.$($body)+.metadata
        }
    };
}
pub(crate) use response_metadata_methods;

/// The traits of a text view into a stream's snapshot (a `TextSnapshot`), all through its
/// `as_str()`: `Deref<Target = str>`, `Display`, `PartialEq` with `str` and `&str`, and a
/// `Debug` that shows the text (not the whole snapshot it points into).
#[cfg(any(feature = "chat", feature = "responses"))]
macro_rules! text_view {
    ($view:ty) => {
        impl ::std::ops::Deref for $view {
            type Target = str;
            fn deref(&self) -> &str {
                self.as_str()
            }
        }

        impl ::std::fmt::Debug for $view {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Debug::fmt(self.as_str(), f)
            }
        }

        impl ::std::fmt::Display for $view {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<str> for $view {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $view {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}
#[cfg(any(feature = "chat", feature = "responses"))]
pub(crate) use text_view;

/// The [`Pump`](driver::Pump) methods that hand a body's input to the pump's
/// [`Frames`](frames::Frames) in `self.frames` unchanged; with `end_of_input`, its end too.
/// (A pump that does more with its input writes these methods itself.)
macro_rules! frames_input {
    () => {
        fn push(&mut self, bytes: &[u8]) {
            self.frames.push(bytes);
        }

        fn push_bytes(&mut self, bytes: bytes::Bytes) {
            self.frames.push_bytes(bytes);
        }

        fn push_message(&mut self, data: String) {
            self.frames.push_message(data);
        }

        fn set_max_event_size(&mut self, limit: usize) {
            self.frames.set_max_event_size(limit);
        }

        fn set_request_id(&mut self, id: Option<String>) {
            self.frames.request_id = id;
        }
    };
    (end_of_input) => {
        crate::streaming::frames_input!();

        fn end_of_input(&mut self, transport_error: Option<String>) {
            self.frames.end_of_input(transport_error);
        }
    };
}
pub(crate) use frames_input;
