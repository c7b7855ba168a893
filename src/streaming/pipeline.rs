//! [`PipelineStream`] and [`BlockingPipelineStream`]: the one public stream type over
//! every family's pipeline. What every stream does (be a [`Stream`] or an [`Iterator`],
//! give the metadata of the answer that started it, [`until_done`](PipelineStream::until_done))
//! is written here once; what a family adds (its snapshot, final object, handler) is an
//! inherent impl of `PipelineStream<ItsPipeline>` next to the pipeline, and the family's
//! public name is a type alias (`chat::ChatCompletionStream` is
//! `PipelineStream<ChatEventPipeline>`).

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::{Stream, StreamExt};

use super::driver::{BodyStream, Pump, Source};
use crate::Error;

/// What a stream's `Debug` says about its pipeline: the family's public stream name and a
/// few counters. Implemented by every pipeline a public stream wraps (sealed: the trait is
/// not reachable from outside the crate).
pub trait Described {
    /// The public (async) name of a stream over this pipeline (`"ChatCompletionStream"`).
    const NAME: &'static str;

    /// Adds the pipeline's fields worth showing (counters, not the data).
    fn describe(&self, out: &mut std::fmt::DebugStruct<'_, '_>) {
        let _ = out;
    }
}

/// A stream of a family's events, read from an HTTP response (or another transport's
/// messages) through the family's pipeline `P`. The SDK's streams are this type under the
/// family's name: `chat::ChatCompletionStream` (`P` = `chat::ChatEventPipeline`),
/// `assistants::AssistantStream`, `responses::ResponseStream` (over HTTP or a Responses
/// WebSocket), [`EventStream<T>`](crate::streaming::EventStream) (each event decoded as a
/// `T`) and `chat::ChatCompletionChunkStream`.
///
/// It is a [`Stream`] of `Result<event, Error>`: the first error that ends the stream is
/// its last item. The methods here are those of every family; a family's own (its
/// snapshot, its final object) are listed on its alias. Dropping it closes the response
/// (the connection is not reused for a body not read to its end).
pub struct PipelineStream<P> {
    inner: BodyStream<P>,
}

impl<P: Pump> PipelineStream<P> {
    /// A stream reading the body of `response` through `pump`, with the request id and the
    /// event size limit the client put on the response.
    pub(crate) fn from_response(response: reqwest::Response, mut pump: P) -> Self {
        pump.set_request_id(crate::error::request_id(response.headers()));
        PipelineStream {
            inner: BodyStream::new(response, pump),
        }
    }

    /// A stream reading `source` (another transport than an HTTP body: a WebSocket's
    /// messages, see [`Source`]) through `pump`; `metadata` is the answer that opened the
    /// transport, whose request id the pump's errors carry.
    #[cfg_attr(not(any(test, feature = "responses-ws")), allow(dead_code))]
    pub(crate) fn from_source(
        source: Box<dyn Source>,
        mut pump: P,
        metadata: crate::ResponseMetadata,
    ) -> Self {
        pump.set_request_id(metadata.request_id().map(str::to_owned));
        PipelineStream {
            inner: BodyStream::from_source(source, pump, metadata),
        }
    }
}

impl<P> PipelineStream<P> {
    /// The pipeline.
    #[cfg_attr(
        not(any(feature = "chat", feature = "responses", feature = "assistants")),
        allow(dead_code)
    )]
    pub(crate) fn pump(&self) -> &P {
        &self.inner.pump
    }

    /// The pipeline, mutably.
    pub(crate) fn pump_mut(&mut self) -> &mut P {
        &mut self.inner.pump
    }

    /// The pipeline, the stream dropped.
    #[cfg_attr(
        not(any(feature = "assistants", feature = "chat", feature = "responses")),
        allow(dead_code)
    )]
    pub(crate) fn into_pump(self) -> P {
        self.inner.pump
    }

    /// The same stream with its pipeline changed (an Assistants stream's new handler).
    #[cfg_attr(not(feature = "assistants"), allow(dead_code))]
    pub(crate) fn map_pump<Q>(self, f: impl FnOnce(P) -> Q) -> PipelineStream<Q> {
        PipelineStream {
            inner: self.inner.map_pump(f),
        }
    }

    super::response_metadata_methods!(inner);
}

impl<P: Pump + Unpin> PipelineStream<P> {
    /// Reads the stream to its end, dropping the events; the first error stops it.
    pub async fn until_done(&mut self) -> Result<&mut Self, Error> {
        while let Some(event) = self.next().await {
            event?;
        }
        Ok(self)
    }
}

impl<P: Pump + Unpin> Stream for PipelineStream<P> {
    type Item = Result<P::Item, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

impl<P: Described> std::fmt::Debug for PipelineStream<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = f.debug_struct(P::NAME);
        self.inner.pump.describe(&mut out);
        out.finish_non_exhaustive()
    }
}

#[cfg(feature = "blocking")]
pub use self::blocking::BlockingPipelineStream;

#[cfg(feature = "blocking")]
mod blocking {
    use super::Described;
    use crate::streaming::driver::{BlockingBody, Pump};
    use crate::Error;

    /// The blocking [`PipelineStream`](super::PipelineStream) (feature `blocking`): an
    /// [`Iterator`] of a family's events read from a blocking HTTP response, with the same
    /// methods. Every blocking stream helper is one, under the family's name
    // A link when the chat family is built, a plain name otherwise.
    #[cfg_attr(
        feature = "chat",
        doc = "([`BlockingChatCompletionStream`](crate::chat::BlockingChatCompletionStream), ...)."
    )]
    #[cfg_attr(
        not(feature = "chat"),
        doc = "(`chat::BlockingChatCompletionStream`, ...)."
    )]
    ///
    /// Like `reqwest::blocking`, it must not be created or used inside an async runtime.
    /// Dropping it closes the response.
    pub struct BlockingPipelineStream<P> {
        body: BlockingBody<P>,
    }

    impl<P: Pump> BlockingPipelineStream<P> {
        /// A stream reading the body of `response` through `pump`, with the request id and
        /// the event size limit the client put on the response.
        #[cfg_attr(
            not(any(feature = "chat", feature = "responses", feature = "assistants")),
            allow(dead_code)
        )]
        pub(crate) fn from_response(response: reqwest::blocking::Response, mut pump: P) -> Self {
            pump.set_request_id(crate::error::request_id(response.headers()));
            BlockingPipelineStream {
                body: BlockingBody::new(response, pump),
            }
        }

        /// The same stream with its pipeline changed (an Assistants stream's new handler).
        #[cfg_attr(not(feature = "assistants"), allow(dead_code))]
        pub(crate) fn map_pump<Q>(self, f: impl FnOnce(P) -> Q) -> BlockingPipelineStream<Q> {
            BlockingPipelineStream {
                body: self.body.map_pump(f),
            }
        }

        /// Reads the stream to its end, dropping the events; the first error stops it.
        pub fn until_done(&mut self) -> Result<&mut Self, Error> {
            for event in self.by_ref() {
                event?;
            }
            Ok(self)
        }
    }

    impl<P> BlockingPipelineStream<P> {
        /// The pipeline.
        #[cfg_attr(
            not(any(feature = "chat", feature = "responses", feature = "assistants")),
            allow(dead_code)
        )]
        pub(crate) fn pump(&self) -> &P {
            &self.body.pump
        }

        /// The pipeline, mutably.
        #[cfg_attr(
            not(any(feature = "responses", feature = "assistants")),
            allow(dead_code)
        )]
        pub(crate) fn pump_mut(&mut self) -> &mut P {
            &mut self.body.pump
        }

        /// The pipeline, the stream dropped.
        #[cfg_attr(
            not(any(feature = "assistants", feature = "chat", feature = "responses")),
            allow(dead_code)
        )]
        pub(crate) fn into_pump(self) -> P {
            self.body.pump
        }

        crate::streaming::response_metadata_methods!(body);
    }

    impl<P: Pump> Iterator for BlockingPipelineStream<P> {
        type Item = Result<P::Item, Error>;

        fn next(&mut self) -> Option<Self::Item> {
            self.body.next_item()
        }
    }

    impl<P: Described> std::fmt::Debug for BlockingPipelineStream<P> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            let mut out = f.debug_struct(&format!("Blocking{}", P::NAME));
            self.body.pump.describe(&mut out);
            out.finish_non_exhaustive()
        }
    }
}
