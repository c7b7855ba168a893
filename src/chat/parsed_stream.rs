//! The typed parse streams of [`Chat::parse_stream`](super::Chat::parse_stream): a
//! [`ChatCompletionStream`] whose `content.done` carries the user's type.

use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::{Stream, StreamExt};
use serde::de::DeserializeOwned;

use super::completion::ParsedChatCompletion;
use super::events::ChatCompletionStreamEvent;
use super::snapshot::{ChatCompletionSnapshot, ParsedValue};
use super::state::ChatCompletionStreamState;
use super::stream::ChatCompletionStream;
use crate::error::ValidationError;
use crate::Error;

/// A streamed [`Chat::parse`](super::Chat::parse): the events of a
/// [`ChatCompletionStream`] with `content.done`'s `parsed` deserialized into `T` (`None`
/// when the model refused). Made by [`Chat::parse_stream`](super::Chat::parse_stream).
///
/// Content that does not fit `T` ends the stream with [`Error::Validation`] (the JSON path,
/// the raw content).
pub struct ParsedChatCompletionStream<T> {
    inner: ChatCompletionStream,
    failed: bool,
    _type: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for ParsedChatCompletionStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParsedChatCompletionStream")
            .field("inner", &self.inner)
            .field("type", &std::any::type_name::<T>())
            .finish()
    }
}

/// `content.done`'s `parsed` as a `T`.
pub(crate) fn typed_done<T: DeserializeOwned>(
    choice: i64,
    content: &str,
    parsed: ParsedValue,
) -> Result<Option<T>, Error> {
    let what = || format!("the content of choice {choice}");
    match parsed {
        ParsedValue::None => Ok(None),
        ParsedValue::Complete(value) => ValidationError::fit::<T>(&value, content, &what(), false)
            .map(Some)
            .map_err(Error::Validation),
        ParsedValue::Partial(p) => {
            ValidationError::fit::<T>(&p.to_value(), content, &what(), false)
                .map(Some)
                .map_err(Error::Validation)
        }
    }
}

impl<T: DeserializeOwned> ParsedChatCompletionStream<T> {
    /// The `x-request-id` of the answer that started the stream.
    pub fn request_id(&self) -> Option<&str> {
        self.inner.request_id()
    }

    /// The headers of the answer that started the stream.
    pub fn headers(&self) -> &reqwest::header::HeaderMap {
        self.inner.headers()
    }

    /// The status and headers of the answer that started the stream.
    pub fn metadata(&self) -> &crate::ResponseMetadata {
        self.inner.metadata()
    }

    pub(crate) fn new(inner: ChatCompletionStream) -> Self {
        ParsedChatCompletionStream {
            inner,
            failed: false,
            _type: PhantomData,
        }
    }

    /// Reads the stream to its end, dropping the events; the first error stops it.
    pub async fn until_done(&mut self) -> Result<&mut Self, Error> {
        while let Some(event) = self.next().await {
            event?;
        }
        Ok(self)
    }

    /// Reads the rest of the stream, then parses the accumulated completion into a
    /// [`ParsedChatCompletion<T>`].
    pub async fn final_completion(&mut self) -> Result<ParsedChatCompletion<T>, Error> {
        self.until_done().await?;
        let metadata = self.inner.metadata().clone();
        self.inner
            .state()
            .final_completion_as::<T>()
            .map(|c| c.with_metadata(Some(metadata)))
    }

    /// The completion accumulated so far (`None` before the first chunk).
    pub fn current_snapshot(&self) -> Option<Arc<ChatCompletionSnapshot>> {
        self.inner.current_snapshot()
    }

    /// The state machine.
    pub fn state(&self) -> &ChatCompletionStreamState {
        self.inner.state()
    }
}

impl<T: DeserializeOwned> Stream for ParsedChatCompletionStream<T> {
    type Item = Result<ChatCompletionStreamEvent<Option<T>>, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.failed {
            return Poll::Ready(None);
        }
        let item = match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Ready(Some(item)) => item,
        };
        let mapped = item.and_then(|event| {
            event.try_map_done(|choice, content, parsed| typed_done::<T>(choice, content, parsed))
        });
        if mapped.is_err() {
            self.failed = true;
        }
        Poll::Ready(Some(mapped))
    }
}

#[cfg(feature = "blocking")]
pub use self::blocking::BlockingParsedChatCompletionStream;

#[cfg(feature = "blocking")]
mod blocking {
    use std::marker::PhantomData;

    use serde::de::DeserializeOwned;

    use super::typed_done;
    use crate::chat::{
        BlockingChatCompletionStream, ChatCompletionStreamEvent, ChatCompletionStreamState,
        ParsedChatCompletion,
    };
    use crate::Error;

    /// The blocking [`ParsedChatCompletionStream`](super::ParsedChatCompletionStream): an
    /// [`Iterator`] of events whose `content.done` carries a `T` (feature `blocking`). Made
    /// by [`Chat::parse_stream_blocking`](crate::chat::Chat::parse_stream_blocking). Do not
    /// use it inside an async runtime.
    ///
    /// ```no_run
    /// # fn run() -> Result<(), openai_sdk::Error> {
    /// use openai_sdk::chat::ChatCompletionStreamEvent;
    ///
    /// #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
    /// struct City { name: String }
    ///
    /// let client = openai_sdk::Client::new()?;
    /// let request = serde_json::from_value(serde_json::json!({
    ///     "model": "gpt-4o-mini", "messages": [{"role": "user", "content": "The capital of Norway?"}],
    /// })).unwrap();
    /// let mut stream = client.chat().parse_stream_blocking::<City>(request)?;
    /// for event in &mut stream {
    ///     if let ChatCompletionStreamEvent::ContentDone { parsed: Some(city), .. } = event? {
    ///         println!("{city:?}");
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub struct BlockingParsedChatCompletionStream<T> {
        inner: BlockingChatCompletionStream,
        failed: bool,
        _type: PhantomData<fn() -> T>,
    }

    impl<T> BlockingParsedChatCompletionStream<T> {
        pub(crate) fn new(inner: BlockingChatCompletionStream) -> Self {
            BlockingParsedChatCompletionStream {
                inner,
                failed: false,
                _type: PhantomData,
            }
        }
    }

    impl<T> std::fmt::Debug for BlockingParsedChatCompletionStream<T> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("BlockingParsedChatCompletionStream")
                .field("type", &std::any::type_name::<T>())
                .finish_non_exhaustive()
        }
    }

    impl<T: DeserializeOwned> BlockingParsedChatCompletionStream<T> {
        /// The `x-request-id` of the answer that started the stream.
        pub fn request_id(&self) -> Option<&str> {
            self.inner.request_id()
        }

        /// The headers of the answer that started the stream.
        pub fn headers(&self) -> &reqwest::header::HeaderMap {
            self.inner.headers()
        }

        /// The status and headers of the answer that started the stream.
        pub fn metadata(&self) -> &crate::ResponseMetadata {
            self.inner.metadata()
        }

        /// Reads the stream to its end, dropping the events; the first error stops it.
        pub fn until_done(&mut self) -> Result<&mut Self, Error> {
            for event in self.by_ref() {
                event?;
            }
            Ok(self)
        }

        /// Reads the rest of the stream, then parses the accumulated completion.
        pub fn final_completion(&mut self) -> Result<ParsedChatCompletion<T>, Error> {
            self.until_done()?;
            let metadata = self.inner.metadata().clone();
            self.inner
                .state()
                .final_completion_as::<T>()
                .map(|c| c.with_metadata(Some(metadata)))
        }

        /// The state machine (snapshot so far).
        pub fn state(&self) -> &ChatCompletionStreamState {
            self.inner.state()
        }
    }

    impl<T: DeserializeOwned> Iterator for BlockingParsedChatCompletionStream<T> {
        type Item = Result<ChatCompletionStreamEvent<Option<T>>, Error>;

        fn next(&mut self) -> Option<Self::Item> {
            if self.failed {
                return None;
            }
            let mapped = self.inner.next()?.and_then(|event| {
                event.try_map_done(|choice, content, parsed| {
                    typed_done::<T>(choice, content, parsed)
                })
            });
            self.failed = mapped.is_err();
            Some(mapped)
        }
    }
}
