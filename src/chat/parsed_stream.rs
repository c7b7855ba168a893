//! The typed parse streams of [`Chat::parse_stream`](super::Chat::parse_stream): a
//! [`ChatCompletionStream`] (or its blocking form) whose `content.done` carries the user's
//! type, through one adapter for both, [`MapDone`].

use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;
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
pub type ParsedChatCompletionStream<T> = MapDone<ChatCompletionStream, T>;

/// A chat stream `S` ([`ChatCompletionStream`] or its blocking form) whose `content.done`
/// events carry `parsed` deserialized into a `T`: the one adapter under
/// [`ParsedChatCompletionStream<T>`] (a [`Stream`]) and `BlockingParsedChatCompletionStream<T>`
/// (an [`Iterator`]).
///
/// Content that does not fit `T` ends the stream with [`Error::Validation`] (the JSON path,
/// the raw content); nothing follows it.
pub struct MapDone<S, T> {
    inner: S,
    failed: bool,
    _type: PhantomData<fn() -> T>,
}

impl<S: std::fmt::Debug, T> std::fmt::Debug for MapDone<S, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MapDone")
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

/// A chat stream a [`MapDone`] can wrap: its state and the metadata of the answer that
/// started it (sealed: implemented by the async and the blocking chat stream only).
pub trait ChatStreamParts {
    /// The state machine.
    fn chat_state(&self) -> &ChatCompletionStreamState;
    /// The status and headers of the answer that started the stream.
    fn chat_metadata(&self) -> &crate::ResponseMetadata;
}

impl ChatStreamParts for ChatCompletionStream {
    fn chat_state(&self) -> &ChatCompletionStreamState {
        self.state()
    }

    fn chat_metadata(&self) -> &crate::ResponseMetadata {
        self.metadata()
    }
}

impl<S, T: DeserializeOwned> MapDone<S, T> {
    pub(crate) fn new(inner: S) -> Self {
        MapDone {
            inner,
            failed: false,
            _type: PhantomData,
        }
    }

    /// The item of the inner stream, its `content.done` mapped; a mapping that fails ends
    /// the stream.
    fn map(
        &mut self,
        item: Option<Result<ChatCompletionStreamEvent, Error>>,
    ) -> Option<Result<ChatCompletionStreamEvent<Option<T>>, Error>> {
        let mapped = item?.and_then(|event| {
            event.try_map_done(|choice, content, parsed| typed_done::<T>(choice, content, parsed))
        });
        self.failed = mapped.is_err();
        Some(mapped)
    }
}

impl<S: ChatStreamParts, T> MapDone<S, T> {
    /// The `x-request-id` of the answer that started the stream.
    pub fn request_id(&self) -> Option<&str> {
        self.metadata().request_id()
    }

    /// The headers of the answer that started the stream.
    pub fn headers(&self) -> &reqwest::header::HeaderMap {
        self.metadata().headers()
    }

    /// The status and headers of the answer that started the stream.
    pub fn metadata(&self) -> &crate::ResponseMetadata {
        self.inner.chat_metadata()
    }

    /// The completion accumulated so far (`None` before the first chunk).
    pub fn current_snapshot(&self) -> Option<Arc<ChatCompletionSnapshot>> {
        self.state().snapshot()
    }

    /// The state machine.
    pub fn state(&self) -> &ChatCompletionStreamState {
        self.inner.chat_state()
    }

    /// The accumulated completion parsed into a [`ParsedChatCompletion<T>`], with the
    /// stream's metadata.
    fn completion_as(&self) -> Result<ParsedChatCompletion<T>, Error>
    where
        T: DeserializeOwned,
    {
        let metadata = self.metadata().clone();
        self.state()
            .final_completion_as::<T>()
            .map(|c| c.with_metadata(Some(metadata)))
    }
}

impl<T: DeserializeOwned> MapDone<ChatCompletionStream, T> {
    /// Reads the stream to its end, dropping the events; the first error stops it.
    pub async fn until_done(&mut self) -> Result<&mut Self, Error> {
        use futures::StreamExt;
        while let Some(event) = self.next().await {
            event?;
        }
        Ok(self)
    }

    /// Reads the rest of the stream, then parses the accumulated completion into a
    /// [`ParsedChatCompletion<T>`].
    pub async fn final_completion(&mut self) -> Result<ParsedChatCompletion<T>, Error> {
        self.until_done().await?;
        self.completion_as()
    }
}

impl<T: DeserializeOwned> Stream for MapDone<ChatCompletionStream, T> {
    type Item = Result<ChatCompletionStreamEvent<Option<T>>, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.failed {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(item) => Poll::Ready(self.map(item)),
        }
    }
}

#[cfg(feature = "blocking")]
pub use self::blocking::BlockingParsedChatCompletionStream;

#[cfg(feature = "blocking")]
mod blocking {
    use serde::de::DeserializeOwned;

    use super::{ChatStreamParts, MapDone};
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
    pub type BlockingParsedChatCompletionStream<T> = MapDone<BlockingChatCompletionStream, T>;

    impl ChatStreamParts for BlockingChatCompletionStream {
        fn chat_state(&self) -> &ChatCompletionStreamState {
            self.state()
        }

        fn chat_metadata(&self) -> &crate::ResponseMetadata {
            self.metadata()
        }
    }

    impl<T: DeserializeOwned> MapDone<BlockingChatCompletionStream, T> {
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
            self.completion_as()
        }
    }

    impl<T: DeserializeOwned> Iterator for MapDone<BlockingChatCompletionStream, T> {
        type Item = Result<ChatCompletionStreamEvent<Option<T>>, Error>;

        fn next(&mut self) -> Option<Self::Item> {
            if self.failed {
                return None;
            }
            let item = self.inner.next();
            self.map(item)
        }
    }
}
