//! Chat Completions streaming: typed events, an accumulated snapshot, parsed structured
//! output, as the reference SDK's `client.chat.completions.stream(...)` (see
//! `REFERENCE.md` for the exact event rules).
//!
//! ```no_run
//! # async fn run() -> Result<(), openai_sdk::Error> {
//! use futures::StreamExt;
//! use openai_sdk::chat::ChatCompletionStreamEvent;
//!
//! let client = openai_sdk::Client::new()?;
//! let request = serde_json::from_value(serde_json::json!({
//!     "model": "gpt-4o-mini",
//!     "messages": [{"role": "user", "content": "Write a haiku"}],
//!     "stream_options": {"include_usage": true},
//! })).unwrap();
//! let mut stream = client.chat().stream(request).await?;
//! while let Some(event) = stream.next().await {
//!     match event? {
//!         ChatCompletionStreamEvent::ContentDelta { delta, .. } => print!("{delta}"),
//!         ChatCompletionStreamEvent::ContentDone { content, .. } => println!("\n({} bytes)", content.len()),
//!         _ => {}
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! # Layout
//!
//! Every public item is at `openai_sdk::chat::*` (the files below are private). Data flows
//! one way, bytes → frames → events → state → user, and each file uses only those listed
//! above it:
//!
//! - `completion.rs`: the parsed completion, [`ParsedChatCompletion`] and its parts;
//! - `snapshot.rs`: [`ChatCompletionSnapshot`], [`ParseOptions`], [`parse_chat_completion`];
//! - `wire.rs`: the borrowed typed decode of a chunk (crate-private);
//! - `events.rs`: [`ChatCompletionStreamEvent`], with views into the snapshot;
//! - `state.rs`: [`ChatCompletionStreamState`], the transport-free state machine;
//! - `stream.rs`: [`ChatEventPipeline`] (bytes in, events out, no I/O), the async
//!   [`ChatCompletionStream`], the raw [`ChatCompletionChunkStream`] and, with the
//!   `blocking` feature, `BlockingChatCompletionStream`;
//! - `parsed_stream.rs`: [`ParsedChatCompletionStream`], the stream of [`Chat::parse_stream`];
//! - `parse.rs`: the Structured Outputs requests ([`Chat::parse`] and its forms); the strict
//!   formats and function tools they send are shared with the Responses API:
//!   [`JsonSchemaFormat`](crate::parsing::JsonSchemaFormat),
//!   [`FunctionTool`](crate::parsing::FunctionTool);
//! - `tools.rs`: the tool loop ([`Chat::run_tools`], [`ChatToolRun`]).
//!
//! # Design
//!
//! **The snapshot is JSON.** The snapshot is the completion as `serde_json` maps,
//! folded with the reference rules of [`accumulate_delta`](crate::accumulate::accumulate_delta),
//! exactly as the reference folds dicts. That keeps every field this SDK does not know
//! (Writer's `graph_data`, provider extras) in the snapshot and the final completion
//! with no special code, and gives typed views on demand
//! ([`ChatCompletionSnapshot::deserialize`], [`ChatCompletionStreamEvent::typed_chunk`],
//! [`TokensSnapshot::to_typed`]).
//!
//! **Measured, then shaped for speed** (`benches/chat_stream.rs`). Decoding every chunk
//! into a `serde_json::Value` and folding it with the generic accumulator cost 4.4× a
//! plain typed decode of the chunk (mostly `IndexMap` inserts and SipHash lookups). So:
//! - the first chunk of the stream, a choice seen for the first time, and any chunk of an
//!   unusual shape go the general way above (decode to a map, `accumulate_delta`);
//! - every other chunk is decoded by a small typed decoder that borrows its strings from
//!   the event data and skips the top-level fields the reference ignores after the first
//!   chunk; `content`, `refusal`, `role` and tool-call fragments are merged in place with
//!   the same rules, and unknown delta fields still go through `accumulate_delta`;
//! - choices and messages are kept beside the top-level JSON, so a chunk reaches its
//!   message without hashing a key; `usage` and `system_fingerprint` likewise;
//! - logprob tokens are kept as raw JSON text ([`RawTokens`]): copied from the chunk's
//!   text to the end of a list's last buffer (no allocation per token; a full buffer stays
//!   where it is and the next is twice as large, up to 64 KiB), decoded only when read; a
//!   delta event's tokens are a view of the snapshot's last tokens;
//! - the `chunk` event holds the chunk's JSON text ([`ChunkData`]), decoded on demand.
//!
//! Both paths give the same events and snapshot: `tests/it/chat_stream.rs` replays the
//! recordings through each and compares them.
//!
//! **Events share the snapshot.** The state keeps the snapshot in an [`Arc`](std::sync::Arc) and mutates
//! it with [`Arc::make_mut`](std::sync::Arc::make_mut); every event of a chunk holds a clone of that `Arc` (the
//! `chunk` event's `snapshot`, and the [`TextSnapshot`]/[`TokensSnapshot`] views of the
//! delta and done events). A chunk's mutations are all made before its events take their
//! references, so a consumer that drops each event before asking for the next one never
//! causes a copy: per chunk the work is O(size of the chunk), whatever the length of the
//! completion so far.
//!
//! A consumer that **keeps** events (e.g. collects them in a `Vec`) keeps the snapshot
//! they point to alive; the next chunk then finds the `Arc` shared and copies the whole
//! snapshot once (copy-on-write). Keeping every event therefore costs one snapshot copy
//! per chunk: O(n²) time and memory over a stream of n chunks, like the reference SDK.
//! To keep a history cheaply, keep the `delta` strings (owned, small) instead.
//!
//! **`parsed` is incremental and lazy.** Content parsing feeds only each new delta to a
//! [`PartialJson`](crate::parsing::PartialJson) parser (O(delta)); an event's `parsed`
//! holds an O(depth) capture ([`ParsedValue::Partial`]) that is materialised into JSON
//! only when read ([`ParsedValue::to_value`]). The reference re-parses the whole content
//! on every chunk (quadratic). At `content.done` the content is parsed strictly once.
//!
//! # Structured Outputs: what is checked, and when
//!
//! [`Chat::parse`] and its forms (`parse_with`, `parse_stream`, ...). Before anything is
//! sent: the type's schema must be expressible in strict mode ([`Error::Schema`], naming
//! the type and the path in its schema), and every tool must be a strict function tool
//! ([`Error::InvalidRequest`], as the reference's `ValueError`).
//! On the answer: a choice that stopped for `length` or `content_filter` is
//! [`Error::LengthFinishReason`] / [`Error::ContentFilterFinishReason`] (carrying the
//! completion); content or strict-tool arguments that are not JSON, or do not fit the
//! type, are [`Error::Validation`] (the JSON path, the raw text); a tool call naming a tool
//! the request did not give is [`Error::UnknownTool`].
//!
//! # Deliberate differences from the reference
//!
//! - Choices are found by their `index` (the reference uses the position in its list, so
//!   a delta for choice 5 before choice 0 corrupts its snapshot); tool calls likewise.
//! - Logprob tokens of a choice first seen after the first chunk are not duplicated.
//! - A chunk without `choices` counts as `choices: []`; a chunk without `object` is
//!   accepted (the reference crashes on both); a chunk whose `object` is present and is
//!   not `chat.completion.chunk` is skipped.
//! - A tool-call fragment for an index not seen before starts a new tool call (the
//!   accumulation rule "insert if new"), also when it carries no `id` or name.

mod completion;
mod events;
mod parse;
mod parsed_stream;
mod snapshot;
mod state;
mod stream;
mod tools;
mod wire;

pub use completion::{ParsedChatCompletion, ParsedChoice, ParsedFunctionToolCall, ParsedMessage};
pub use events::{ChatCompletionStreamEvent, ChunkData, TextSnapshot, TokensSnapshot};
#[cfg(feature = "blocking")]
pub use parsed_stream::BlockingParsedChatCompletionStream;
pub use parsed_stream::{MapDone, ParsedChatCompletionStream};
pub use snapshot::{
    parse_chat_completion, parse_chat_completion_as, ChatCompletionSnapshot, ParseOptions,
    ParsedValue, RawTokens, RawTokensIter,
};
pub use state::ChatCompletionStreamState;
#[cfg(feature = "blocking")]
pub use stream::BlockingChatCompletionStream;
pub use stream::{ChatCompletionChunkStream, ChatCompletionStream, ChatEventPipeline};
pub use tools::{ChatToolEvent, ChatToolRun, ChatToolStream};

use crate::types::CreateChatCompletionRequest;
use crate::{Client, Error};

/// The Chat Completions helpers of a [`Client`]: `client.chat()`.
#[derive(Clone, Copy, Debug)]
pub struct Chat<'a> {
    client: &'a Client,
}

impl Client {
    /// The Chat Completions helpers (streams with events and snapshots).
    pub fn chat(&self) -> Chat<'_> {
        Chat { client: self }
    }
}

/// The request as JSON with `stream: true`, and the parse options for its tools.
fn prepare(
    request: &CreateChatCompletionRequest,
) -> Result<(serde_json::Value, ParseOptions), Error> {
    let mut body = crate::codegen_support::request_value(request)
        .map_err(|e| Error::InvalidRequest(format!("the request does not serialize: {e}")))?;
    let tools = match body.get("tools") {
        Some(serde_json::Value::Array(tools)) => tools.clone(),
        _ => Vec::new(),
    };
    if let Some(map) = body.as_object_mut() {
        map.insert("stream".into(), serde_json::Value::Bool(true));
    }
    Ok((body, ParseOptions::new().tools(tools)))
}

impl Chat<'_> {
    async fn send(&self, body: &serde_json::Value) -> Result<reqwest::Response, Error> {
        // Through the client's common path: headers and auth, Azure, retries (only until
        // the response headers arrive: a stream that has started is never sent again).
        let path = self.client.config().chat_path.clone();
        let request = self
            .client
            .request(reqwest::Method::POST, &path)?
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .json(body);
        self.client.send(request).await
    }

    /// Sends `request` with `stream: true` and returns the stream of events. Function
    /// tools of the request with `strict: true` get `parsed_arguments`; the content is
    /// not parsed (see [`stream_structured`](Self::stream_structured)).
    ///
    /// An error status (before the stream starts) is [`Error::Api`] with the status, the
    /// `x-request-id` and the body's message.
    pub async fn stream(
        &self,
        request: CreateChatCompletionRequest,
    ) -> Result<ChatCompletionStream, Error> {
        let (body, options) = prepare(&request)?;
        self.stream_with_options(body, options).await
    }

    /// Like [`stream`](Self::stream), and the content is parsed as JSON: partially on
    /// every `content.delta`, fully at `content.done` and in the final completion (for a
    /// `json_schema` or `json_object` response format).
    pub async fn stream_structured(
        &self,
        request: CreateChatCompletionRequest,
    ) -> Result<ChatCompletionStream, Error> {
        let (body, options) = prepare(&request)?;
        self.stream_with_options(body, options.parse_content(true))
            .await
    }

    /// Sends a request body given as JSON (with `stream: true` set here) and parses what
    /// `options` says. For compatible providers' extra request fields.
    pub async fn stream_with_options(
        &self,
        mut body: serde_json::Value,
        options: ParseOptions,
    ) -> Result<ChatCompletionStream, Error> {
        if let Some(map) = body.as_object_mut() {
            map.insert("stream".into(), serde_json::Value::Bool(true));
        }
        let response = self.send(&body).await?;
        Ok(ChatCompletionStream::with_options(response, options))
    }

    /// Sends `request` with `stream: true` and returns the raw stream of typed chunks.
    pub async fn create_stream(
        &self,
        request: CreateChatCompletionRequest,
    ) -> Result<ChatCompletionChunkStream, Error> {
        let (body, _) = prepare(&request)?;
        let response = self.send(&body).await?;
        Ok(ChatCompletionChunkStream::new(
            response,
            "chat completion chunk",
        ))
    }

    /// The automatic tool-call loop: sends `request` with `tools`' strict function
    /// definitions added, runs every tool call of the answer (all calls of a round at
    /// once), sends the outputs back as `tool` messages, and repeats until the model
    /// answers without calling a tool or `tools`' round limit is reached. A tool that
    /// fails, arguments that do not decode, or a call to a tool that is not registered
    /// send the error text back to the model as the call's output: the loop goes on.
    ///
    /// ```no_run
    /// # async fn run(client: openai_sdk::Client) -> Result<(), openai_sdk::Error> {
    /// use openai_sdk::tools::Tools;
    ///
    /// /// A city.
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// struct City { city: String }
    ///
    /// let tools = Tools::new().tool("get_weather", "The weather in a city", |a: City| async move {
    ///     Ok::<_, String>(format!("18°C in {}", a.city))
    /// })?;
    /// let request = serde_json::from_value(serde_json::json!({
    ///     "model": "gpt-4o-mini",
    ///     "messages": [{"role": "user", "content": "Weather in Paris?"}],
    /// })).unwrap();
    /// let run = client.chat().run_tools(request, tools).await?;
    /// println!("{:?} ({} rounds)", run.answer.content(0), run.rounds);
    /// # Ok(()) }
    /// ```
    pub async fn run_tools(
        &self,
        request: CreateChatCompletionRequest,
        tools: crate::tools::Tools,
    ) -> Result<ChatToolRun, Error> {
        let body = crate::codegen_support::request_value(&request)
            .map_err(|e| Error::InvalidRequest(format!("the request does not serialize: {e}")))?;
        let conversation = tools::Conversation::new(self.client, body, &tools)?;
        crate::tools::run(self.client, conversation, &tools).await
    }

    /// The tool loop of [`run_tools`](Self::run_tools), streamed: each round is sent with
    /// `stream: true` (and the request's `stream_options`) and the stream yields its
    /// events as they come (with their snapshots), then the output of each tool call,
    /// then the outcome ([`ToolLoopEvent`](crate::tools::ToolLoopEvent)). Nothing is sent
    /// until the stream is polled; dropping it stops the loop and closes the connection.
    ///
    /// Nothing is parsed during a round's stream (so that arguments that do not decode
    /// reach the tool, whose error goes back to the model); the outcome's completion is
    /// parsed as in [`run_tools`](Self::run_tools).
    ///
    /// ```no_run
    /// # async fn run(client: openai_sdk::Client) -> Result<(), openai_sdk::Error> {
    /// use futures::StreamExt;
    /// use openai_sdk::chat::ChatCompletionStreamEvent;
    /// use openai_sdk::tools::{ToolLoopEvent, Tools};
    ///
    /// /// A city.
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// struct City { city: String }
    ///
    /// let tools = Tools::new().tool("get_weather", "The weather in a city", |a: City| async move {
    ///     Ok::<_, String>(format!("18°C in {}", a.city))
    /// })?;
    /// let request = serde_json::from_value(serde_json::json!({
    ///     "model": "gpt-4o-mini",
    ///     "messages": [{"role": "user", "content": "Weather in Paris?"}],
    /// })).unwrap();
    /// let mut run = client.chat().run_tools_stream(request, tools)?;
    /// while let Some(event) = run.next().await {
    ///     match event? {
    ///         ToolLoopEvent::Event(ChatCompletionStreamEvent::ContentDelta { delta, .. }) => print!("{delta}"),
    ///         ToolLoopEvent::ToolOutput { call, .. } => println!("[{} -> {}]", call.name, call.output),
    ///         ToolLoopEvent::Done(run) => println!("\n({} rounds)", run.rounds),
    ///         _ => {}
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn run_tools_stream(
        &self,
        request: CreateChatCompletionRequest,
        tools: crate::tools::Tools,
    ) -> Result<ChatToolStream, Error> {
        let body = crate::codegen_support::request_value(&request)
            .map_err(|e| Error::InvalidRequest(format!("the request does not serialize: {e}")))?;
        let conversation = tools::Conversation::new(self.client, body, &tools)?;
        Ok(crate::tools::run_streamed(self.client, conversation, tools))
    }

    /// The blocking [`stream`](Self::stream) (feature `blocking`). Do not call it inside
    /// an async runtime.
    #[cfg(feature = "blocking")]
    pub fn stream_blocking(
        &self,
        request: CreateChatCompletionRequest,
    ) -> Result<BlockingChatCompletionStream, Error> {
        let (body, options) = prepare(&request)?;
        self.stream_blocking_with_options(body, options)
    }

    /// The blocking [`stream_with_options`](Self::stream_with_options) (feature `blocking`).
    #[cfg(feature = "blocking")]
    pub fn stream_blocking_with_options(
        &self,
        mut body: serde_json::Value,
        options: ParseOptions,
    ) -> Result<BlockingChatCompletionStream, Error> {
        if let Some(map) = body.as_object_mut() {
            map.insert("stream".into(), serde_json::Value::Bool(true));
        }
        let path = self.client.config().chat_path.clone();
        let response =
            self.client
                .send_blocking(reqwest::Method::POST, &path, "text/event-stream", &body)?;
        Ok(BlockingChatCompletionStream::with_options(
            response, options,
        ))
    }
}
