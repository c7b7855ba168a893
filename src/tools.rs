//! Typed tool functions shared by the tool loops of the Responses API
//! (`client.responses().run_tools`) and of Chat Completions (`client.chat().run_tools`).

#![cfg_attr(not(any(feature = "chat", feature = "responses")), allow(dead_code))]

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use futures::stream::{BoxStream, FuturesOrdered};
use futures::{FutureExt, Stream, StreamExt};
use serde_json::{json, Value};

use crate::{Client, Error, ResponseMetadata};

type ToolFn = Arc<dyn Fn(String) -> BoxFuture<'static, Result<String, String>> + Send + Sync>;

struct Tool {
    definition: Value,
    call: ToolFn,
}

/// Typed tool functions for the tool loops: `client.responses().run_tools(...)` and
/// `client.chat().run_tools(...)` (the same registry serves both; each sends the tool
/// definitions in its API's shape).
///
/// Each tool is an async function of one argument whose type gives the tool's strict JSON
/// schema ([`strict_schema_for`](crate::parsing::strict_schema_for)). A tool that returns
/// an error, arguments that do not decode, or a call to a tool that is not registered
/// send the error text back to the model as the call's output: the loop goes on.
///
/// ```
/// use openai_sdk::tools::Tools;
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Weather { city: String }
///
/// let tools = Tools::new()
///     .tool("get_weather", "The weather in a city", |args: Weather| async move {
///         Ok::<_, String>(format!("18°C in {}", args.city))
///     })?
///     .max_rounds(5);
/// assert_eq!(tools.definitions()[0]["strict"], true);
/// # Ok::<(), openai_sdk::Error>(())
/// ```
#[derive(Clone)]
pub struct Tools {
    tools: Vec<Arc<Tool>>,
    max_rounds: usize,
    max_concurrent_calls: usize,
}

/// The default of [`Tools::max_concurrent_calls`]: at most 16 tool calls of one round run
/// at the same time.
pub const DEFAULT_MAX_CONCURRENT_CALLS: usize = 16;

impl Default for Tools {
    fn default() -> Self {
        Tools {
            tools: Vec::new(),
            max_rounds: 10,
            max_concurrent_calls: DEFAULT_MAX_CONCURRENT_CALLS,
        }
    }
}

impl std::fmt::Debug for Tools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&Value> = self.tools.iter().map(|t| &t.definition["name"]).collect();
        f.debug_struct("Tools")
            .field("tools", &names)
            .field("max_rounds", &self.max_rounds)
            .field("max_concurrent_calls", &self.max_concurrent_calls)
            .finish()
    }
}

impl Tools {
    /// No tools; at most 10 rounds, at most [`DEFAULT_MAX_CONCURRENT_CALLS`] (16) calls
    /// running at once.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a tool. Its output is sent as is when it is a string, as JSON otherwise.
    /// A type whose schema cannot be strict is [`Error::InvalidRequest`].
    pub fn tool<A, F, Fut, O, E>(
        mut self,
        name: &str,
        description: &str,
        f: F,
    ) -> Result<Self, Error>
    where
        A: serde::de::DeserializeOwned + schemars::JsonSchema + 'static,
        F: Fn(A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, E>> + Send + 'static,
        O: serde::Serialize,
        E: std::fmt::Display,
    {
        let strict = crate::parsing::strict_schema_for::<A>().map_err(|e| {
            Error::InvalidRequest(format!(
                "the arguments of tool `{name}` cannot be strict: {e}"
            ))
        })?;
        let definition =
            crate::parsing::FunctionTool::from_parts(name, description, strict).to_responses_json();
        let f = Arc::new(f);
        let call: ToolFn = Arc::new(move |arguments: String| {
            let f = Arc::clone(&f);
            async move {
                let args: A = serde_json::from_str(&arguments)
                    .map_err(|e| format!("invalid arguments: {e}"))?;
                match f(args).await {
                    Ok(out) => match serde_json::to_value(out) {
                        Ok(Value::String(s)) => Ok(s),
                        Ok(v) => Ok(v.to_string()),
                        Err(e) => Err(format!("the tool's output does not serialize: {e}")),
                    },
                    Err(e) => Err(e.to_string()),
                }
            }
            .boxed()
        });
        self.tools.push(Arc::new(Tool { definition, call }));
        Ok(self)
    }

    /// The most requests the loop sends (default 10).
    pub fn max_rounds(mut self, n: usize) -> Self {
        self.max_rounds = n.max(1);
        self
    }

    /// The most tool calls of one round that run at the same time (default
    /// [`DEFAULT_MAX_CONCURRENT_CALLS`], 16; 0 counts as 1). A model that asks for more
    /// calls in one answer gets them all: the others wait for a running one to finish.
    /// The outputs go back to the model in the order of its calls, whatever the order
    /// the calls finish in.
    ///
    /// ```
    /// use openai_sdk::tools::Tools;
    ///
    /// // Calls that reach a rate-limited service: one at a time.
    /// let tools = Tools::new().max_concurrent_calls(1);
    /// # drop(tools);
    /// ```
    pub fn max_concurrent_calls(mut self, n: usize) -> Self {
        self.max_concurrent_calls = n.max(1);
        self
    }

    /// The tool definitions in the Responses API's shape (`{"type": "function", "name", ...}`).
    pub fn definitions(&self) -> Vec<Value> {
        self.tools.iter().map(|t| t.definition.clone()).collect()
    }

    /// The tool definitions in the Chat Completions shape
    /// (`{"type": "function", "function": {"name", ...}}`).
    pub fn chat_definitions(&self) -> Vec<Value> {
        self.tools
            .iter()
            .map(|t| {
                let mut function = t.definition.clone();
                if let Some(map) = function.as_object_mut() {
                    map.remove("type");
                }
                json!({"type": "function", "function": function})
            })
            .collect()
    }

    /// The most requests a loop sends.
    pub(crate) fn rounds_limit(&self) -> usize {
        self.max_rounds
    }

    /// Runs one call: the output text sent back to the model.
    pub(crate) async fn call(&self, name: &str, arguments: String) -> String {
        let tool = self.tools.iter().find(|t| t.definition["name"] == name);
        let result = match tool {
            Some(tool) => (tool.call)(arguments).await,
            None => Err(format!("there is no tool named `{name}`")),
        };
        result.unwrap_or_else(|e| json!({"error": e}).to_string())
    }
}

/// The outcome of a tool loop, for both APIs:
// Each family's items are links when its feature is on, plain names otherwise.
#[cfg_attr(
    feature = "chat",
    doc = "[`Chat::run_tools`](crate::chat::Chat::run_tools) gives a [`ChatToolRun`](crate::chat::ChatToolRun) (`T` = [`ParsedChatCompletion`](crate::chat::ParsedChatCompletion)),"
)]
#[cfg_attr(
    not(feature = "chat"),
    doc = "`Chat::run_tools` (feature `chat`) gives a `ChatToolRun` (`T` = `ParsedChatCompletion`),"
)]
#[cfg_attr(
    feature = "responses",
    doc = "[`Responses::run_tools`](crate::responses::Responses::run_tools) a [`ResponseToolRun`](crate::responses::ResponseToolRun) (`T` = [`ParsedResponse`](crate::responses::ParsedResponse));"
)]
#[cfg_attr(
    not(feature = "responses"),
    doc = "`Responses::run_tools` (feature `responses`) a `ResponseToolRun` (`T` = `ParsedResponse`);"
)]
/// the streamed loops end with the same value in [`ToolLoopEvent::Done`].
///
/// ```no_run
/// # async fn run(client: openai_sdk::Client, tools: openai_sdk::tools::Tools) -> Result<(), openai_sdk::Error> {
/// let request = serde_json::from_value(serde_json::json!({
///     "model": "gpt-4o-mini", "input": "Weather in Paris?",
/// })).unwrap();
/// let run = client.responses().run_tools(request, tools).await?;
/// println!("{} after {} rounds", run.answer.output_text(), run.rounds);
/// for call in &run.calls {
///     println!("{}({}) -> {}", call.name, call.arguments, call.output);
/// }
/// println!("request id of the last answer: {:?}", run.metadata.last().and_then(|m| m.request_id()));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ToolRun<T> {
    /// The last answer, parsed (the final answer when `finished`): the chat completion or
    /// the response.
    pub answer: T,
    /// The conversation as sent in the last request, plus the last answer. Chat: the
    /// request's `messages`, each round's assistant message and its `tool` messages.
    /// Responses: the request's `input` items, each round's output items and their
    /// `function_call_output` items.
    pub conversation: Vec<Value>,
    /// How many requests were sent.
    pub rounds: usize,
    /// Whether the model gave a final answer (`false`: the round limit stopped the loop
    /// while the model still called tools).
    pub finished: bool,
    /// Every tool call run, in order.
    pub calls: Vec<ToolCall>,
    /// The status and headers of each round's answer, in order (one per request sent):
    /// `metadata.last()` is the last answer's, with its request id and rate limits.
    pub metadata: Vec<ResponseMetadata>,
}

/// One tool call the loop ran.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ToolCall {
    /// The call's id (`call_id` of a Responses function call, `id` of a chat tool call):
    /// the output is sent back under it.
    pub call_id: String,
    /// The tool's name, as the model gave it.
    pub name: String,
    /// The arguments, as the model gave them (JSON text, possibly invalid).
    pub arguments: String,
    /// What was sent back to the model: the tool's output, or `{"error": "..."}` when the
    /// tool failed, the arguments did not decode or no tool has that name.
    pub output: String,
}

/// A call the model asked for, not run yet.
#[derive(Debug, Clone)]
pub(crate) struct PendingCall {
    pub(crate) call_id: String,
    pub(crate) name: String,
    pub(crate) arguments: String,
}

impl PendingCall {
    fn ran(self, output: String) -> ToolCall {
        ToolCall {
            call_id: self.call_id,
            name: self.name,
            arguments: self.arguments,
            output,
        }
    }
}

/// What a tool loop needs from its API (Chat Completions or Responses): the conversation
/// so far, how to send a round, how to read the model's answer.
pub(crate) trait LoopApi: Sized + Send + 'static {
    /// The stream of one round.
    type Stream: Stream<Item = Result<Self::Event, Error>> + Send + Unpin + 'static;
    /// The events of that stream.
    type Event: Send + 'static;
    /// The loop's outcome.
    type Run: Send + 'static;

    /// Sends the next round's request (not streamed); the answer as JSON, with its
    /// status and headers.
    fn send(&self, client: &Client)
        -> BoxFuture<'static, Result<(Value, ResponseMetadata), Error>>;
    /// Sends the next round's request with `stream: true`.
    fn open(&self, client: &Client) -> BoxFuture<'static, Result<Self::Stream, Error>>;
    /// The answer accumulated by a round's stream that ended (an error when the stream
    /// did not complete).
    fn streamed_answer(stream: &Self::Stream) -> Result<Value, Error>;
    /// The status and headers of the answer that started a round's stream.
    fn stream_metadata(stream: &Self::Stream) -> ResponseMetadata;
    /// Adds the model's answer to the conversation; the calls it asks for, in order.
    fn record_answer(&mut self, answer: &Value) -> Vec<PendingCall>;
    /// Adds a call's output to the conversation.
    fn record_output(&mut self, call: &ToolCall);
    /// The outcome, from the last answer; `metadata` has one entry per round.
    fn finish(
        self,
        answer: Value,
        rounds: usize,
        finished: bool,
        calls: Vec<ToolCall>,
        metadata: Vec<ResponseMetadata>,
    ) -> Result<Self::Run, Error>;
}

/// Runs one call of the model with the registry: the call with its output.
fn run_call(tools: &Tools, call: PendingCall) -> BoxFuture<'static, ToolCall> {
    let tools = tools.clone();
    async move {
        let output = tools.call(&call.name, call.arguments.clone()).await;
        call.ran(output)
    }
    .boxed()
}

/// The tool loop, not streamed: sends a round, runs the calls of the answer (at most
/// `max_concurrent_calls` at once), records the outputs in the order of the calls, until
/// an answer without calls or the round limit.
pub(crate) async fn run<A: LoopApi>(
    client: &Client,
    mut api: A,
    tools: &Tools,
) -> Result<A::Run, Error> {
    let mut calls = Vec::new();
    let mut metadata = Vec::new();
    let mut round = 0;
    loop {
        round += 1;
        let (answer, answer_metadata) = api.send(client).await?;
        metadata.push(answer_metadata);
        let pending = api.record_answer(&answer);
        if pending.is_empty() || round >= tools.rounds_limit() {
            let finished = pending.is_empty();
            return api.finish(answer, round, finished, calls, metadata);
        }
        let ran: Vec<ToolCall> = futures::stream::iter(pending)
            .map(|call| run_call(tools, call))
            .buffered(tools.max_concurrent_calls)
            .collect()
            .await;
        for call in ran {
            api.record_output(&call);
            calls.push(call);
        }
    }
}

/// An event of a streamed tool loop
// Each family's item is a link when its feature is on, a plain name otherwise.
#[cfg_attr(
    feature = "chat",
    doc = "([`Chat::run_tools_stream`](crate::chat::Chat::run_tools_stream),"
)]
#[cfg_attr(not(feature = "chat"), doc = "(`Chat::run_tools_stream`,")]
#[cfg_attr(
    feature = "responses",
    doc = "[`Responses::run_tools_stream`](crate::responses::Responses::run_tools_stream))."
)]
#[cfg_attr(not(feature = "responses"), doc = "`Responses::run_tools_stream`).")]
///
/// A loop yields, for each round: `RoundStarted`, then every event of that round's
/// stream (with its snapshot, as the API's own stream gives it), then one `ToolOutput`
/// per call of the round, in the order the model made them, each as soon as it and the
/// calls before it have finished (the calls run at the same time, at most
/// [`Tools::max_concurrent_calls`] at once). The last item is `Done`, or an error.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ToolLoopEvent<E, R> {
    /// Round `round` (from 1) starts: its request is about to be sent.
    RoundStarted {
        /// The round's number, from 1.
        round: usize,
    },
    /// An event of the current round's stream.
    Event(E),
    /// A tool call of round `round` ran; its output goes back to the model in the next
    /// round.
    ToolOutput {
        /// The round whose answer asked for the call.
        round: usize,
        /// The call and its output.
        call: ToolCall,
    },
    /// The loop ended: the model answered without calling a tool, or the round limit
    /// was reached (see the run's `finished`).
    Done(R),
}

/// The stream of a tool loop's events: [`ToolLoopEvent`]s, then the end. An error ends
/// it (an error status, a stream that fails or ends early); dropping it stops the loop
/// (the connection of the current round is closed, running tool calls are dropped).
///
/// [`final_run`](Self::final_run) drives it to the end when only the outcome matters.
pub struct ToolLoopStream<E, R> {
    inner: BoxStream<'static, Result<ToolLoopEvent<E, R>, Error>>,
}

impl<E, R> std::fmt::Debug for ToolLoopStream<E, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolLoopStream").finish_non_exhaustive()
    }
}

impl<E, R> ToolLoopStream<E, R> {
    /// Reads the rest of the loop; its outcome (the first error instead, if any).
    pub async fn final_run(mut self) -> Result<R, Error> {
        while let Some(event) = self.inner.next().await {
            if let ToolLoopEvent::Done(run) = event? {
                return Ok(run);
            }
        }
        Err(Error::Stream {
            kind: crate::StreamErrorKind::NoFinalEvent,
            event: None,
            offset: None,
            message: "the tool loop ended without an outcome".into(),
        })
    }
}

impl<E, R> Stream for ToolLoopStream<E, R> {
    type Item = Result<ToolLoopEvent<E, R>, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

/// The state of a streamed loop between two items.
struct Streamed<A: LoopApi> {
    client: Client,
    api: Option<A>,
    tools: Tools,
    round: usize,
    calls: Vec<ToolCall>,
    /// The status and headers of each round's answer.
    metadata: Vec<ResponseMetadata>,
    /// Round `round` was announced and its request is still to be sent.
    to_open: bool,
    stream: Option<A::Stream>,
    /// Calls of the round not started yet: they start as running ones finish.
    waiting: VecDeque<PendingCall>,
    running: FuturesOrdered<BoxFuture<'static, ToolCall>>,
    over: bool,
}

type Item<A> = Result<ToolLoopEvent<<A as LoopApi>::Event, <A as LoopApi>::Run>, Error>;

impl<A: LoopApi> Streamed<A> {
    /// The next item of the loop; `None` once it is over.
    async fn step(&mut self) -> Option<Item<A>> {
        loop {
            if self.over {
                return None;
            }
            while self.running.len() < self.tools.max_concurrent_calls {
                let Some(call) = self.waiting.pop_front() else {
                    break;
                };
                self.running.push_back(run_call(&self.tools, call));
            }
            if !self.running.is_empty() {
                let call = self.running.next().await?;
                self.api.as_mut()?.record_output(&call);
                self.calls.push(call.clone());
                return Some(Ok(ToolLoopEvent::ToolOutput {
                    round: self.round,
                    call,
                }));
            }
            if self.to_open {
                self.to_open = false;
                match self.api.as_ref()?.open(&self.client).await {
                    Ok(stream) => {
                        self.metadata.push(A::stream_metadata(&stream));
                        self.stream = Some(stream);
                    }
                    Err(e) => return self.fail(e),
                }
                continue;
            }
            let Some(stream) = self.stream.as_mut() else {
                self.round += 1;
                self.to_open = true;
                return Some(Ok(ToolLoopEvent::RoundStarted { round: self.round }));
            };
            match stream.next().await {
                Some(Ok(event)) => return Some(Ok(ToolLoopEvent::Event(event))),
                Some(Err(e)) => return self.fail(e),
                None => {}
            }
            let stream = self.stream.take()?;
            let answer = match A::streamed_answer(&stream) {
                Ok(answer) => answer,
                Err(e) => return self.fail(e),
            };
            let pending = self.api.as_mut()?.record_answer(&answer);
            if pending.is_empty() || self.round >= self.tools.rounds_limit() {
                self.over = true;
                let finished = pending.is_empty();
                let calls = std::mem::take(&mut self.calls);
                let metadata = std::mem::take(&mut self.metadata);
                return Some(
                    self.api
                        .take()?
                        .finish(answer, self.round, finished, calls, metadata)
                        .map(ToolLoopEvent::Done),
                );
            }
            self.waiting.extend(pending);
        }
    }

    fn fail(&mut self, e: Error) -> Option<Item<A>> {
        self.over = true;
        Some(Err(e))
    }
}

/// The tool loop, streamed.
pub(crate) fn run_streamed<A: LoopApi>(
    client: &Client,
    api: A,
    tools: Tools,
) -> ToolLoopStream<A::Event, A::Run> {
    let state = Streamed {
        client: client.clone(),
        api: Some(api),
        tools,
        round: 0,
        calls: Vec::new(),
        metadata: Vec::new(),
        to_open: false,
        stream: None,
        waiting: VecDeque::new(),
        running: FuturesOrdered::new(),
        over: false,
    };
    let inner = futures::stream::unfold(state, |mut state| async move {
        let item = state.step().await?;
        Some((item, state))
    })
    .boxed();
    ToolLoopStream { inner }
}
