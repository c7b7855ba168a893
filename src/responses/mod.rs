//! Responses API streaming: typed events, an accumulated snapshot, structured output,
//! and transparent resumption of background streams, as the reference SDK's
//! `client.responses.stream(...)` (see `REFERENCE.md` for the exact event rules).
//!
//! ```no_run
//! # async fn run() -> Result<(), openai_sdk::Error> {
//! use futures::StreamExt;
//! use openai_sdk::responses::ResponseStreamEvent;
//!
//! let client = openai_sdk::Client::new()?;
//! let request = serde_json::from_value(serde_json::json!({
//!     "model": "gpt-4o-mini",
//!     "input": "Write a haiku about Rust",
//! })).unwrap();
//! let mut stream = client.responses().stream(request).await?;
//! while let Some(event) = stream.next().await {
//!     match event? {
//!         ResponseStreamEvent::OutputTextDelta { delta, snapshot, .. } => {
//!             print!("{delta}");
//!             let _so_far: &str = &snapshot;
//!         }
//!         ResponseStreamEvent::Completed { response, .. } => println!("\n{:?}", response.id()),
//!         _ => {}
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! # Layout
//!
//! Every public item is at `openai_sdk::responses::*` (the files below are private):
//!
//! - `events.rs`: [`ResponseStreamEvent`], the generated typed event plus the reference's
//!   additions (`snapshot` on the text and function-arguments deltas, `parsed` on
//!   `response.output_text.done`, the parsed response on `response.completed`);
//! - `snapshot.rs`: [`ResponseSnapshot`], [`ParsedResponse`], [`ResponseParseOptions`],
//!   [`TextSnapshot`];
//! - `state.rs`: [`ResponseStreamState`], the transport-free state machine (for users who
//!   read events themselves);
//! - `stream.rs`: [`ResponseEventPipeline`] (bytes in, events out, no I/O), the async
//!   [`ResponseStream`] and, with the `blocking` feature, `BlockingResponseStream`;
//! - `tools.rs`: the tool loop ([`Responses::run_tools`], [`ResponseToolRun`]);
//! - `ws.rs` (feature `responses-ws`): the same events over a WebSocket
//!   (`ResponsesConnection`): a lane's messages are the input of the same
//!   [`ResponseStream`].
//!
//! # Design
//!
//! **Each event is parsed once.** The hot events (`response.output_text.delta` /
//! `.done`, `response.function_call_arguments.delta`), recognised by their leading
//! `type` without parsing, are read only for the fields the state needs, borrowing their
//! strings, and update the snapshot in place. Every other event is parsed once into a
//! JSON value: the generated typed event is decoded from that value (its `type` picks
//! the struct directly, a tag dispatch, never a trial of every union member), and the
//! objects the snapshot keeps (`response`, `item`, `part`, `annotation`) are moved out of
//! it, so the snapshot keeps every field, known to this SDK or not. Each event keeps its
//! JSON text ([`ResponseStreamEvent::raw_json`]). `state.rs` folds each kind of event in
//! a function of its own.
//!
//! **Linear.** The snapshot is shared with the events by `Arc` and mutated in place with
//! `Arc::make_mut`: a delta costs O(delta) whatever the length of the response so far.
//! A consumer that keeps every event keeps every snapshot alive, and the next delta then
//! copies it (copy-on-write): drop events, or keep their `delta` strings.
//!
//! **Checked.** `sequence_number` must grow; a delta must follow its item and content
//! part; the first event must start a response. Such errors are
//! [`Error::Stream`] of kind
//! [`OutOfOrder`](crate::StreamErrorKind::OutOfOrder); the snapshot so far stays
//! readable. An `error` event is [`Error::Api`]; `response.failed` and
//! `response.incomplete` are yielded, then their error (see
//! [`ResponseStreamState::terminal_error`]).
//!
//! # Deliberate differences from the reference
//!
//! - The snapshot also folds reasoning summaries and text, refusals, annotations,
//!   custom-tool input, MCP arguments and code-interpreter code, and takes the server's
//!   item at `output_item.done` (the reference folds only text and function arguments).
//! - Unknown fields of the rebuilt events (e.g. `obfuscation`) stay reachable through
//!   [`ResponseStreamEvent::raw_json`]; the reference drops them.
//! - `response.queued` / `response.in_progress` may also start a stream (a stream read
//!   with `GET /responses/{id}?stream=true` starts there).

mod events;
mod snapshot;
mod state;
mod stream;
mod tools;
#[cfg(feature = "responses-ws")]
mod ws;

pub use events::ResponseStreamEvent;
pub use snapshot::{
    parse_response, ParsedResponse, ResponseParseOptions, ResponseSnapshot, TextSnapshot,
};
pub use state::ResponseStreamState;
#[cfg(feature = "blocking")]
pub use stream::BlockingResponseStream;
pub use stream::{ResponseEventPipeline, ResponseStream, DEFAULT_MAX_RESUMES};
pub use tools::{ResponseToolEvent, ResponseToolRun, ResponseToolStream};
#[cfg(feature = "responses-ws")]
pub use ws::{ResponseWsPipeline, ResponsesConnectOptions, ResponsesConnection};

use serde_json::Value;

use crate::types::CreateResponse;
use crate::{Client, Error};

/// The Responses API helpers of a [`Client`]: `client.responses()`.
#[derive(Clone, Copy, Debug)]
pub struct Responses<'a> {
    client: &'a Client,
}

impl Client {
    /// The Responses API helpers (streams with events and snapshots, structured output).
    pub fn responses(&self) -> Responses<'_> {
        Responses { client: self }
    }
}

/// The request as JSON.
fn to_body(request: &CreateResponse) -> Result<Value, Error> {
    serde_json::to_value(request)
        .map_err(|e| Error::InvalidRequest(format!("the request does not serialize: {e}")))
}

fn set(body: &mut Value, key: &str, value: Value) {
    if let Some(map) = body.as_object_mut() {
        map.insert(key.into(), value);
    }
}

/// A response parsed into the user's type by [`Responses::parse`].
#[derive(Debug, Clone)]
pub struct Parsed<T> {
    /// The response, with `parsed` and `parsed_arguments` (see [`ParsedResponse`]).
    pub response: ParsedResponse,
    parsed: Option<T>,
    metadata: Option<crate::ResponseMetadata>,
}

impl<T> Parsed<T> {
    /// The output text parsed as `T`; `None` when the model gave no text (e.g. it
    /// refused: see the `refusal` content part of the response).
    pub fn output_parsed(&self) -> Option<&T> {
        self.parsed.as_ref()
    }

    /// Takes the parsed output.
    pub fn into_output_parsed(self) -> Option<T> {
        self.parsed
    }

    /// The status and headers of the answer (request id, rate limits, ...).
    pub fn metadata(&self) -> Option<&crate::ResponseMetadata> {
        self.metadata.as_ref()
    }
}

impl Responses<'_> {
    async fn post(&self, body: &Value, stream: bool) -> Result<reqwest::Response, Error> {
        let mut request = self
            .client
            .request(reqwest::Method::POST, "/responses")?
            .json(body);
        if stream {
            request = request.header(reqwest::header::ACCEPT, "text/event-stream");
        }
        self.client.send(request).await
    }

    /// Sends `request` with `stream: true` and returns the stream of events. Function
    /// tools of the request with `strict: true` get `parsed_arguments` in the final
    /// response; the text is not parsed (see [`stream_structured`](Self::stream_structured)).
    /// A background response (`background: true`) is resumed if the connection drops.
    ///
    /// An error status (before the stream starts) is [`Error::Api`].
    pub async fn stream(&self, request: CreateResponse) -> Result<ResponseStream, Error> {
        let body = to_body(&request)?;
        let options = ResponseParseOptions::from_request(&body, false);
        self.stream_with_options(body, options).await
    }

    /// Like [`stream`](Self::stream), and the output text is parsed as JSON (`parsed` of
    /// `response.output_text.done` and of the final response) when the request's
    /// `text.format` is `json_schema` or `json_object`.
    pub async fn stream_structured(
        &self,
        request: CreateResponse,
    ) -> Result<ResponseStream, Error> {
        let body = to_body(&request)?;
        let options = ResponseParseOptions::from_request(&body, true);
        self.stream_with_options(body, options).await
    }

    /// Sends a request body given as JSON (with `stream: true` set here) and parses what
    /// `options` says.
    pub async fn stream_with_options(
        &self,
        mut body: Value,
        options: ResponseParseOptions,
    ) -> Result<ResponseStream, Error> {
        set(&mut body, "stream", Value::Bool(true));
        let response = self.post(&body, true).await?;
        Ok(ResponseStream::with_options(
            response,
            options,
            Some(self.client.clone()),
        ))
    }

    /// Streams an existing response from the start, or after the event `starting_after`:
    /// `GET /responses/{id}?stream=true&starting_after=N` (background responses only).
    /// The stream is resumed like the one of [`stream`](Self::stream).
    pub async fn retrieve_stream(
        &self,
        id: &str,
        starting_after: Option<i64>,
        options: ResponseParseOptions,
    ) -> Result<ResponseStream, Error> {
        let path = format!("/responses/{}", crate::path_segment("id", id)?);
        let mut request = self
            .client
            .request(reqwest::Method::GET, &path)?
            .query(&[("stream", "true")])
            .header(reqwest::header::ACCEPT, "text/event-stream");
        if let Some(after) = starting_after {
            request = request.query(&[("starting_after", after.to_string())]);
        }
        let response = self.client.send(request).await?;
        Ok(ResponseStream::with_options(
            response,
            options,
            Some(self.client.clone()),
        ))
    }

    /// Structured output: sends `request` (not streamed) with `text.format` set to the
    /// strict `json_schema` of `T`
    /// ([`strict_schema_for`](crate::parsing::strict_schema_for)), and parses the output
    /// text into `T`.
    ///
    /// A schema that cannot be strict is [`Error::InvalidRequest`] before anything is
    /// sent. An incomplete response is [`Error::LengthFinishReason`] /
    /// [`Error::ContentFilterFinishReason`] by its reason; a failed one [`Error::Api`];
    /// text that does not parse into `T` is [`Error::Parse`].
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), openai_sdk::Error> {
    /// #[derive(serde::Deserialize, schemars::JsonSchema, Debug)]
    /// struct Location { city: String, temperature: f64 }
    ///
    /// let client = openai_sdk::Client::new()?;
    /// let request = serde_json::from_value(serde_json::json!({
    ///     "model": "gpt-4o-2024-08-06", "input": "Weather in Paris, as JSON",
    /// })).unwrap();
    /// let parsed = client.responses().parse::<Location>(request).await?;
    /// println!("{:?}", parsed.output_parsed());
    /// # Ok(()) }
    /// ```
    pub async fn parse<T>(&self, request: CreateResponse) -> Result<Parsed<T>, Error>
    where
        T: schemars::JsonSchema + serde::de::DeserializeOwned,
    {
        let (body, options) = parse_body::<T>(&request)?;
        let response = self.post(&body, false).await?;
        let metadata = crate::ResponseMetadata::of(&response);
        let bytes = response.bytes().await.map_err(Error::from_reqwest)?;
        let json: Value = serde_json::from_slice(&bytes).map_err(|e| Error::Decode {
            what: "Response".into(),
            path: ".".into(),
            message: e.to_string(),
            snippet: crate::error::snippet(&bytes),
        })?;
        let mut parsed = finish_parse(json, &options)?;
        parsed.metadata = Some(metadata);
        Ok(parsed)
    }

    /// The tool loop: sends `request` with the tools' strict definitions added, runs the
    /// function calls the model asks for (all calls of a round at once), sends their
    /// outputs back (the conversation is resent, so `store: false` works), and stops at
    /// an answer without tool calls or after [`Tools::max_rounds`](crate::tools::Tools::max_rounds) requests. A
    /// tool's error is sent to the model as the call's output.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), openai_sdk::Error> {
    /// use openai_sdk::tools::Tools;
    ///
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// struct City { city: String }
    ///
    /// let client = openai_sdk::Client::new()?;
    /// let tools = Tools::new().tool("get_weather", "Weather in a city", |a: City| async move {
    ///     Ok::<_, String>(serde_json::json!({"city": a.city, "celsius": 18}))
    /// })?;
    /// let request = serde_json::from_value(serde_json::json!({
    ///     "model": "gpt-4o-mini", "input": "Weather in Paris?",
    /// })).unwrap();
    /// let run = client.responses().run_tools(request, tools).await?;
    /// println!("{} ({} rounds)", run.answer.output_text(), run.rounds);
    /// # Ok(()) }
    /// ```
    pub async fn run_tools(
        &self,
        request: CreateResponse,
        tools: crate::tools::Tools,
    ) -> Result<ResponseToolRun, Error> {
        let conversation = tools::Conversation::new(to_body(&request)?, &tools)?;
        crate::tools::run(self.client, conversation, &tools).await
    }

    /// The tool loop of [`run_tools`](Self::run_tools), streamed: each round is sent with
    /// `stream: true` and the stream yields its events as they come (with their
    /// snapshots), then the output of each tool call, then the outcome
    /// ([`ToolLoopEvent`](crate::tools::ToolLoopEvent)). Nothing is sent until the stream
    /// is polled; dropping it stops the loop and closes the connection.
    ///
    /// Nothing is parsed during a round's stream (so that arguments that do not decode
    /// reach the tool, whose error goes back to the model); the outcome's response is
    /// parsed as in [`run_tools`](Self::run_tools).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), openai_sdk::Error> {
    /// use futures::StreamExt;
    /// use openai_sdk::responses::ResponseStreamEvent;
    /// use openai_sdk::tools::Tools;
    /// use openai_sdk::tools::ToolLoopEvent;
    ///
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// struct City { city: String }
    ///
    /// let client = openai_sdk::Client::new()?;
    /// let tools = Tools::new().tool("get_weather", "Weather in a city", |a: City| async move {
    ///     Ok::<_, String>(format!("18°C in {}", a.city))
    /// })?;
    /// let request = serde_json::from_value(serde_json::json!({
    ///     "model": "gpt-4o-mini", "input": "Weather in Paris?",
    /// })).unwrap();
    /// let mut run = client.responses().run_tools_stream(request, tools)?;
    /// while let Some(event) = run.next().await {
    ///     match event? {
    ///         ToolLoopEvent::RoundStarted { round } => println!("-- round {round}"),
    ///         ToolLoopEvent::Event(ResponseStreamEvent::OutputTextDelta { delta, .. }) => print!("{delta}"),
    ///         ToolLoopEvent::ToolOutput { call, .. } => println!("{}({}) = {}", call.name, call.arguments, call.output),
    ///         ToolLoopEvent::Done(run) => println!("\n{} rounds", run.rounds),
    ///         _ => {}
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn run_tools_stream(
        &self,
        request: CreateResponse,
        tools: crate::tools::Tools,
    ) -> Result<ResponseToolStream, Error> {
        let conversation = tools::Conversation::new(to_body(&request)?, &tools)?;
        Ok(crate::tools::run_streamed(self.client, conversation, tools))
    }

    /// The blocking [`stream`](Self::stream) (feature `blocking`). Do not call it inside
    /// an async runtime.
    #[cfg(feature = "blocking")]
    pub fn stream_blocking(
        &self,
        request: CreateResponse,
    ) -> Result<BlockingResponseStream, Error> {
        let body = to_body(&request)?;
        let options = ResponseParseOptions::from_request(&body, false);
        self.stream_blocking_with_options(body, options)
    }

    /// The blocking [`stream_with_options`](Self::stream_with_options) (feature `blocking`).
    #[cfg(feature = "blocking")]
    pub fn stream_blocking_with_options(
        &self,
        mut body: Value,
        options: ResponseParseOptions,
    ) -> Result<BlockingResponseStream, Error> {
        set(&mut body, "stream", Value::Bool(true));
        let response = stream::blocking_send(
            self.client,
            reqwest::Method::POST,
            "/responses",
            &[],
            Some(&body),
        )?;
        Ok(BlockingResponseStream::with_options(
            response,
            options,
            Some(self.client.clone()),
        ))
    }
}

/// The body of a [`Responses::parse`] request and its parse options.
fn parse_body<T: schemars::JsonSchema>(
    request: &CreateResponse,
) -> Result<(Value, ResponseParseOptions), Error> {
    let strict = crate::parsing::strict_schema_for::<T>().map_err(|e| {
        Error::InvalidRequest(format!(
            "the schema of the output type cannot be strict: {e}"
        ))
    })?;
    let format = crate::parsing::JsonSchemaFormat::from_strict(strict).to_text_format();
    let mut body = to_body(request)?;
    let mut text = body
        .get("text")
        .cloned()
        .filter(Value::is_object)
        .unwrap_or_else(|| serde_json::json!({}));
    set(&mut text, "format", format);
    set(&mut body, "text", text);
    if let Some(map) = body.as_object_mut() {
        map.remove("stream");
    }
    let options = ResponseParseOptions::from_request(&body, true);
    Ok((body, options))
}

/// Checks the status of a parsed (non-streamed) response and decodes its output as `T`.
fn finish_parse<T: serde::de::DeserializeOwned>(
    json: Value,
    options: &ResponseParseOptions,
) -> Result<Parsed<T>, Error> {
    match json.get("status").and_then(Value::as_str) {
        Some("incomplete") | Some("failed") => {
            let mut state = ResponseStreamState::with_options(options.clone());
            let kind = if json.get("status").and_then(Value::as_str) == Some("failed") {
                "response.failed"
            } else {
                "response.incomplete"
            };
            let created = serde_json::json!({"type": "response.created", "sequence_number": 0, "response": json});
            state.handle_json(created.to_string())?;
            let end = serde_json::json!({"type": kind, "sequence_number": 1, "response": json});
            state.handle_json(end.to_string())?;
            if let Some(e) = state.terminal_error() {
                return Err(e);
            }
        }
        _ => {}
    }
    let response = parse_response(json, options)?;
    let parsed = response.output_parsed_as::<T>()?;
    Ok(Parsed {
        response,
        parsed,
        metadata: None,
    })
}
