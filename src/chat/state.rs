//! The transport-free state machine of a chat completion stream.

use std::sync::Arc;

use serde_json::value::RawValue;
use serde_json::{Map, Value};
use smallvec::SmallVec;

use super::completion::{fit_as, fit_json, Fit, ParsedChatCompletion};
use super::events::{
    ChatCompletionStreamEvent, ChunkData, TextField, TextSnapshot, TokensSnapshot,
};
use super::snapshot::{
    parse_arguments, parse_content_strict, parse_owned_chat_completion_as, tree_of,
    ChatCompletionSnapshot, ChoiceExtras, ParseOptions, ParsedValue,
};
use super::snapshot::{LogprobsAcc, RawTokens};
use super::wire::{self, Member, Wire, WireChunk};
use crate::accumulate::{accumulate_entries, member, AccumulateError};
use crate::error::StreamErrorKind;
use crate::parsing::{truthy_str, PartialJson};
use crate::Error;

/// Accumulates chat completion chunks into a snapshot and turns them into
/// [`ChatCompletionStreamEvent`]s, with no I/O: feed it chunks you read yourself (from
/// [`Chat::create_stream`](super::Chat::create_stream), a file, another transport).
///
/// [`ChatCompletionStream`](super::ChatCompletionStream) and the blocking stream are thin
/// wrappers around it.
///
/// ```
/// use openai_sdk::chat::ChatCompletionStreamState;
/// use serde_json::json;
///
/// let mut state = ChatCompletionStreamState::new();
/// let chunks = [
///     json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
///            "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}),
///     json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
///            "choices": [{"index": 0, "delta": {"content": "Hello"}, "finish_reason": "stop"}]}),
/// ];
/// let mut types = Vec::new();
/// for chunk in &chunks {
///     for event in state.handle_chunk(chunk)? {
///         types.push(event.event_type());
///     }
/// }
/// assert_eq!(types, ["chunk", "content.delta", "chunk", "content.delta", "content.done"]);
/// let completion = state.final_completion()?;
/// assert_eq!(completion.content(0), Some("Hello"));
/// # Ok::<(), openai_sdk::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct ChatCompletionStreamState {
    options: ParseOptions,
    snapshot: Option<Arc<ChatCompletionSnapshot>>,
    /// Per choice, parallel to the snapshot's choices.
    choices: Vec<ChoiceState>,
    chunks: u64,
    pending: Vec<Pending>,
    /// A chunk's delta texts had escapes: the next ones are decoded for them when they
    /// have a backslash ([`wire::decode`]).
    escaped: bool,
}

/// Incremental parse of a text that only grows by appending.
#[derive(Debug, Default)]
struct TextParser {
    parser: PartialJson,
    fed: usize,
    non_ws: bool,
}

impl TextParser {
    fn feed(&mut self, text: &str) {
        let new = match text.get(self.fed..) {
            Some(new) => new,
            None => {
                // The text was replaced rather than extended: start over.
                *self = TextParser::default();
                text
            }
        };
        if new.is_empty() {
            return;
        }
        self.feed_appended(new);
    }

    /// Feeds `new`, known to extend the text fed so far.
    fn feed_appended(&mut self, new: &str) {
        if !self.non_ws {
            self.non_ws = new.chars().any(|c| !c.is_whitespace());
        }
        self.parser.push(new);
        self.fed += new.len();
    }

    fn partial(
        &self,
        what: impl FnOnce() -> String,
        arguments: bool,
    ) -> Result<ParsedValue, Error> {
        match self.parser.snapshot() {
            Ok(Some(s)) => Ok(ParsedValue::Partial(Arc::new(s))),
            Ok(None) => Ok(ParsedValue::None),
            Err(e) => Err(Error::Parse {
                what: what(),
                partial: true,
                arguments,
                message: e.to_string(),
            }),
        }
    }
}

/// What is known about one tool call of a choice: cached facts from the snapshot
/// (refreshed when a fragment changes them) and the incremental parse of its arguments.
#[derive(Debug, Default)]
struct ToolState {
    index: i64,
    parser: TextParser,
    name: Option<String>,
    /// A function call (`type` is `function` or absent).
    function: bool,
    /// Its name is a strict tool of the request.
    strict: bool,
}

#[derive(Debug, Default)]
struct ChoiceState {
    content: TextParser,
    tools: Vec<ToolState>,
    current_tool: Option<i64>,
    done_tools: Vec<i64>,
    content_done: bool,
    refusal_done: bool,
    logprobs_content_done: bool,
    logprobs_refusal_done: bool,
    /// The message field the choice's reasoning streams in, from its first non-empty
    /// reasoning delta (see [`REASONING_KEYS`]).
    reasoning_key: Option<&'static str>,
    /// A `reasoning.done` was emitted and no reasoning came since.
    reasoning_done: bool,
    /// The strict parse of the content at `content.done`, and the content's length then.
    done_parse: Option<(usize, Arc<Value>)>,
}

/// The delta fields OpenAI-compatible providers stream reasoning text in:
/// `reasoning_content` (DeepSeek, vLLM, llama.cpp) and `reasoning` (OpenRouter). When a
/// delta has both as strings, the first is taken.
const REASONING_KEYS: [&str; 2] = ["reasoning_content", "reasoning"];

impl ChoiceState {
    /// The state of a tool call, created if new (then `true`).
    fn tool_mut(&mut self, index: i64) -> (&mut ToolState, bool) {
        match self.tools.iter().position(|t| t.index == index) {
            Some(p) => (&mut self.tools[p], false),
            None => {
                self.tools.push(ToolState {
                    index,
                    ..ToolState::default()
                });
                let last = self.tools.len() - 1;
                (&mut self.tools[last], true)
            }
        }
    }

    fn tool(&self, index: i64) -> Option<&ToolState> {
        self.tools.iter().find(|t| t.index == index)
    }
}

/// An event before the snapshot it shows is final (all of a chunk's mutations are made
/// before any event takes a reference to the snapshot, so that no copy is needed).
#[derive(Debug)]
enum Pending {
    Chunk,
    ContentDelta {
        choice: i64,
        pos: usize,
        delta: String,
        parsed: ParsedValue,
    },
    ContentDone {
        choice: i64,
        pos: usize,
        parsed: ParsedValue,
    },
    RefusalDelta {
        choice: i64,
        pos: usize,
        delta: String,
    },
    RefusalDone {
        choice: i64,
        pos: usize,
    },
    ArgumentsDelta {
        choice: i64,
        pos: usize,
        name: Option<String>,
        index: i64,
        parsed: ParsedValue,
        delta: String,
    },
    ArgumentsDone {
        choice: i64,
        pos: usize,
        name: Option<String>,
        index: i64,
        parsed: ParsedValue,
    },
    LogprobsContentDelta {
        choice: i64,
        pos: usize,
        count: usize,
    },
    LogprobsContentDone {
        choice: i64,
        pos: usize,
    },
    LogprobsRefusalDelta {
        choice: i64,
        pos: usize,
        count: usize,
    },
    LogprobsRefusalDone {
        choice: i64,
        pos: usize,
    },
    ReasoningDelta {
        choice: i64,
        pos: usize,
        key: &'static str,
        delta: String,
    },
    ReasoningDone {
        choice: i64,
        pos: usize,
        key: &'static str,
    },
}

fn invalid(kind: StreamErrorKind, message: String) -> Error {
    Error::Stream {
        kind,
        event: None,
        offset: None,
        message,
    }
}

fn accumulate_error(chunk: u64, choice: i64, e: AccumulateError) -> Error {
    let kind = match e {
        AccumulateError::MissingIndex { .. } => StreamErrorKind::MissingIndex,
        _ => StreamErrorKind::InvalidChunk,
    };
    invalid(
        kind,
        format!("chunk #{chunk}, choice {choice}: the delta cannot be merged: {e}"),
    )
}

fn is_function_call(call: &Map<String, Value>) -> bool {
    match member(call, "type") {
        None | Some(Value::Null) => true,
        Some(t) => t.as_str() == Some("function"),
    }
}

fn function_name(call: &Map<String, Value>) -> Option<String> {
    member(call, "function")
        .and_then(Value::as_object)
        .and_then(|f| member(f, "name"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// A choice's members and `index`.
fn choice_index<'x, 'a>(
    chunk_no: u64,
    choice: &'x Wire<'a>,
) -> Result<(&'x [Member<'a>], i64), Error> {
    let Wire::Object(c) = choice else {
        return Err(invalid(
            StreamErrorKind::InvalidChunk,
            format!("chunk #{chunk_no}: a choice is not a JSON object"),
        ));
    };
    let index = wire::get(c, "index")
        .and_then(Wire::as_i64)
        .ok_or_else(|| {
            invalid(
                StreamErrorKind::InvalidChunk,
                format!("chunk #{chunk_no}: a choice has no integer `index`"),
            )
        })?;
    Ok((c, index))
}

/// A choice's `delta` members (`[]` when it is missing or not an object).
fn delta_of<'x, 'a>(c: &'x [Member<'a>]) -> &'x [Member<'a>] {
    wire::object(wire::get(c, "delta"))
}

/// A `logprobs` object's `content` or `refusal` tokens (`None` unless a list).
fn tokens_of<'x, 'a>(lp: &'x [Member<'a>], key: &str) -> Option<&'x [&'a RawValue]> {
    match lp.iter().find(|(k, _)| k == key) {
        Some((_, Wire::Tokens(tokens))) => Some(tokens),
        _ => None,
    }
}

/// A new choice: the chunk's choice without `delta`, with `message` = the delta.
fn new_choice(c: &mut [Member<'_>], index: i64) -> ChoiceExtras {
    let finished = wire::get(c, "finish_reason")
        .and_then(Wire::as_str)
        .is_some_and(|r| !r.is_empty());
    let message = wire::to_map(delta_of(c));
    let mut json = Map::with_capacity(c.len());
    let mut logprobs = None;
    for (k, v) in c.iter_mut() {
        match (&**k, v) {
            ("delta" | "message", _) => {}
            ("logprobs", Wire::Object(lp)) => {
                let content = tokens_of(lp, "content").map(RawTokens::from_raw);
                let refusal = tokens_of(lp, "refusal").map(RawTokens::from_raw);
                let mut rest = Map::new();
                for (k, v) in lp.iter() {
                    if !(matches!(&**k, "content" | "refusal")
                        && matches!(v, Wire::Null | Wire::Tokens(_)))
                    {
                        rest.insert(k.clone().into_owned(), v.to_value());
                    }
                }
                logprobs = Some(LogprobsAcc {
                    content,
                    refusal,
                    rest,
                });
                // Its place, given up below as the map gives up a key.
                json.insert("logprobs".into(), Value::Null);
            }
            (k, v) => {
                json.insert(k.to_owned(), v.to_value());
            }
        }
    }
    if logprobs.is_some() {
        json.remove("logprobs");
    }
    ChoiceExtras {
        index,
        json,
        message,
        finished,
        logprobs,
        ..ChoiceExtras::default()
    }
}

impl ChatCompletionStreamState {
    /// A state that parses nothing (like the reference with no response format class and
    /// no tools).
    pub fn new() -> Self {
        Self::default()
    }

    /// A state that parses what `options` asks for: the content as JSON, and the
    /// arguments of strict function tools.
    ///
    /// ```
    /// use openai_sdk::chat::{ChatCompletionStreamEvent, ChatCompletionStreamState, ParseOptions};
    /// use serde_json::json;
    ///
    /// let mut state = ChatCompletionStreamState::with_options(ParseOptions::new().parse_content(true));
    /// let chunk = |content: &str| json!({"id": "c", "object": "chat.completion.chunk", "created": 0,
    ///     "model": "m", "choices": [{"index": 0, "delta": {"content": content}}]});
    /// state.handle_chunk(&chunk(r#"{"city": "Par"#))?;
    /// let events = state.handle_chunk(&chunk(r#"is", "temp": 2"#))?;
    /// let ChatCompletionStreamEvent::ContentDelta { parsed, .. } = &events[1] else { panic!() };
    /// assert_eq!(parsed.to_value(), json!({"city": "Paris", "temp": 2}));
    /// # Ok::<(), openai_sdk::Error>(())
    /// ```
    pub fn with_options(options: ParseOptions) -> Self {
        ChatCompletionStreamState {
            options,
            ..Self::default()
        }
    }

    /// The parse options.
    pub fn options(&self) -> &ParseOptions {
        &self.options
    }

    /// The completion accumulated so far (`None` before the first chunk). Cheap: a shared
    /// reference. Holding it while more chunks are handled makes the next chunk copy the
    /// snapshot once (copy-on-write).
    pub fn snapshot(&self) -> Option<Arc<ChatCompletionSnapshot>> {
        self.snapshot.clone()
    }

    /// How many chunks were handled.
    pub fn chunks_handled(&self) -> u64 {
        self.chunks
    }

    /// The final completion, parsed as the reference `get_final_completion` does: `parsed`
    /// and `parsed_arguments` filled in. A choice that stopped for `length` or
    /// `content_filter` is an error only when there is something to parse
    /// ([`ParseOptions::has_parseable_input`]); a plain stream that stopped there ends
    /// normally, the choice's `finish_reason` saying why. Call it once the stream is over.
    ///
    /// The content parsed at `content.done` is not parsed again. The completion's JSON
    /// ([`ParsedChatCompletion::as_json`]) is built when first read when the choices have
    /// logprobs: as JSON, a long stream's logprobs cost more than the stream itself.
    pub fn final_completion(&self) -> Result<ParsedChatCompletion, Error> {
        self.final_completion_with(fit_json)
    }

    /// [`final_completion`](Self::final_completion) with each choice's `parsed` content
    /// deserialized into `T` ([`Error::Validation`] with the JSON path when it does not fit).
    pub fn final_completion_as<T: serde::de::DeserializeOwned>(
        &self,
    ) -> Result<ParsedChatCompletion<T>, Error> {
        self.final_completion_with(fit_as::<T>)
    }

    /// [`final_completion`](Self::final_completion), taking the state: the content parsed
    /// at `content.done` moves into the completion instead of being copied, when nothing
    /// else holds it (a [`ContentDone`](ChatCompletionStreamEvent::ContentDone) event or a
    /// [`snapshot`](Self::snapshot) kept by the caller does). For a long JSON document
    /// that tree is the largest part of the stream's memory; this builds the final
    /// completion without a second one. `as_json` then reads the content again for its
    /// `message.parsed`, when it is first called.
    ///
    /// ```
    /// use openai_sdk::chat::{ChatCompletionStreamState, ParseOptions};
    /// use serde_json::json;
    ///
    /// let mut state = ChatCompletionStreamState::with_options(ParseOptions::new().parse_content(true));
    /// for (delta, finish) in [(json!({"role": "assistant", "content": "{\"city\": "}), None),
    ///                         (json!({"content": "\"Paris\"}"}), Some("stop"))] {
    ///     state.handle_chunk(&json!({"id": "c", "object": "chat.completion.chunk", "created": 0,
    ///         "model": "m", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}))?;
    /// }
    /// let done = state.into_final_completion()?;
    /// assert_eq!(done.choices[0].message.parsed, Some(json!({"city": "Paris"})));
    /// assert_eq!(done.as_json()["choices"][0]["message"]["parsed"]["city"], "Paris");
    /// # Ok::<(), openai_sdk::Error>(())
    /// ```
    pub fn into_final_completion(self) -> Result<ParsedChatCompletion, Error> {
        self.into_final_completion_with(fit_json)
    }

    /// [`into_final_completion`](Self::into_final_completion) with each choice's `parsed`
    /// content deserialized into `T`, as
    /// [`final_completion_as`](Self::final_completion_as) does.
    pub fn into_final_completion_as<T: serde::de::DeserializeOwned>(
        self,
    ) -> Result<ParsedChatCompletion<T>, Error> {
        self.into_final_completion_with(fit_as::<T>)
    }

    fn final_completion_with<T: serde::de::DeserializeOwned>(
        &self,
        fit: Fit<T>,
    ) -> Result<ParsedChatCompletion<T>, Error> {
        let mut reuse = |pos: usize, content: &str| {
            let (len, parsed) = self.choices.get(pos)?.done_parse.as_ref()?;
            // Content only grows: the same length is the same text.
            (*len == content.len()).then(|| Arc::clone(parsed))
        };
        self.completion_with(&mut reuse, true, fit)
    }

    fn into_final_completion_with<T: serde::de::DeserializeOwned>(
        mut self,
        fit: Fit<T>,
    ) -> Result<ParsedChatCompletion<T>, Error> {
        let mut parsed: Vec<_> = self
            .choices
            .iter_mut()
            .map(|c| c.done_parse.take())
            .collect();
        // The snapshot's references go too, unless the caller shares the snapshot.
        if let Some(snapshot) = self.snapshot.as_mut().and_then(Arc::get_mut) {
            for extras in &mut snapshot.extras {
                extras.parsed = ParsedValue::None;
            }
        }
        let mut reuse = |pos: usize, content: &str| {
            let (len, parsed) = parsed.get_mut(pos)?.take()?;
            (len == content.len()).then_some(parsed)
        };
        self.completion_with(&mut reuse, false, fit)
    }

    /// The final completion, `reuse` giving the contents parsed at `content.done` (`keep`:
    /// see [`parse_owned_chat_completion_as`]).
    fn completion_with<T: serde::de::DeserializeOwned>(
        &self,
        reuse: &mut dyn FnMut(usize, &str) -> Option<Arc<Value>>,
        keep: bool,
        fit: Fit<T>,
    ) -> Result<ParsedChatCompletion<T>, Error> {
        let Some(snapshot) = &self.snapshot else {
            return Err(invalid(
                StreamErrorKind::Unfinished,
                "the stream ended before its first chunk: there is no completion".into(),
            ));
        };
        // An error for a choice cut off carries the whole completion.
        let cut_off = self.options.has_parseable_input()
            && snapshot.extras.iter().any(|c| {
                matches!(
                    c.json.get("finish_reason").and_then(Value::as_str),
                    Some("length" | "content_filter")
                )
            });
        if cut_off || !snapshot.has_logprobs() {
            return parse_owned_chat_completion_as::<T>(
                snapshot.to_json(),
                &self.options,
                reuse,
                keep,
                fit,
            );
        }
        let done = parse_owned_chat_completion_as::<T>(
            snapshot.to_json_without_logprobs(),
            &self.options,
            reuse,
            keep,
            fit,
        )?;
        let snapshot = Arc::clone(snapshot);
        Ok(done.defer_json(Arc::new(move |json| snapshot.fill_logprobs(json))))
    }

    /// Accumulates one chunk (JSON, as received) and returns its events.
    ///
    /// On error (a chunk that cannot be merged, `finish_reason` `length` or
    /// `content_filter` with parseable input, output that does not parse) no event of
    /// this chunk is returned; the snapshot keeps what was merged before the error.
    pub fn handle_chunk(&mut self, chunk: &Value) -> Result<Vec<ChatCompletionStreamEvent>, Error> {
        if !chunk.is_object() {
            return Err(invalid(
                StreamErrorKind::InvalidChunk,
                "a chunk is not a JSON object".into(),
            ));
        }
        let text = serde_json::to_string(chunk).map_err(|e| {
            invalid(
                StreamErrorKind::InvalidJson,
                format!("serializing the chunk: {e}"),
            )
        })?;
        let mut out = Vec::new();
        self.handle_chunk_text(text, false, &mut out)?;
        Ok(out)
    }

    /// Like [`handle_chunk`](Self::handle_chunk), for a typed chunk (e.g. from
    /// [`Chat::create_stream`](super::Chat::create_stream)).
    pub fn handle_typed_chunk(
        &mut self,
        chunk: &crate::types::CreateChatCompletionStreamResponse,
    ) -> Result<Vec<ChatCompletionStreamEvent>, Error> {
        let text = serde_json::to_string(chunk).map_err(|e| {
            invalid(
                StreamErrorKind::InvalidJson,
                format!("serializing the chunk: {e}"),
            )
        })?;
        let mut out = Vec::new();
        self.handle_chunk_text(text, false, &mut out)?;
        Ok(out)
    }

    /// Handles the JSON text of a chunk (the data of an SSE event); events are appended
    /// to `out`. With `skip_foreign`, a chunk whose `object` is present and is not
    /// `chat.completion.chunk` is skipped (what the stream does; the state alone does
    /// not). Returns whether the chunk was handled.
    pub(crate) fn handle_chunk_text(
        &mut self,
        text: String,
        skip_foreign: bool,
        out: &mut impl Extend<ChatCompletionStreamEvent>,
    ) -> Result<bool, Error> {
        let chunk_no = self.chunks;
        self.pending.clear();
        let result = {
            let mut chunk = match wire::decode(&text, self.snapshot.is_none(), self.escaped) {
                Ok(Some(chunk)) => chunk,
                // Not an object, or not JSON: said as `serde_json` says it.
                Ok(None) | Err(_) => return Err(not_a_chunk(&text)),
            };
            self.escaped = self.escaped || wire::escaped_text(&chunk);
            if skip_foreign
                && chunk
                    .get("object")
                    .is_some_and(|o| o.as_str() != Some("chat.completion.chunk"))
            {
                return Ok(false);
            }
            self.chunks += 1;
            self.process(&mut chunk, chunk_no)
        };
        if let Err(e) = result {
            self.pending.clear();
            return Err(e);
        }
        let chunk = ChunkData::new(text);
        let Some(snapshot) = &self.snapshot else {
            return Ok(true);
        };
        let text = |pos, field| TextSnapshot::new(Arc::clone(snapshot), pos, field);
        let tokens =
            |pos, refusal, last| TokensSnapshot::new(Arc::clone(snapshot), pos, refusal, last);
        out.extend(self.pending.drain(..).map(|p| match p {
            Pending::Chunk => ChatCompletionStreamEvent::Chunk {
                chunk: chunk.clone(),
                snapshot: Arc::clone(snapshot),
            },
            Pending::ContentDelta {
                choice,
                pos,
                delta,
                parsed,
            } => ChatCompletionStreamEvent::ContentDelta {
                choice_index: choice,
                delta,
                snapshot: text(pos, TextField::Content),
                parsed,
            },
            Pending::ContentDone {
                choice,
                pos,
                parsed,
            } => ChatCompletionStreamEvent::ContentDone {
                choice_index: choice,
                content: text(pos, TextField::Content),
                parsed,
            },
            Pending::RefusalDelta { choice, pos, delta } => {
                ChatCompletionStreamEvent::RefusalDelta {
                    choice_index: choice,
                    delta,
                    snapshot: text(pos, TextField::Refusal),
                }
            }
            Pending::RefusalDone { choice, pos } => ChatCompletionStreamEvent::RefusalDone {
                choice_index: choice,
                refusal: text(pos, TextField::Refusal),
            },
            Pending::ArgumentsDelta {
                choice,
                pos,
                name,
                index,
                parsed,
                delta,
            } => ChatCompletionStreamEvent::ToolCallArgumentsDelta {
                choice_index: choice,
                name,
                index,
                arguments: text(pos, TextField::Arguments(index)),
                parsed_arguments: parsed,
                arguments_delta: delta,
            },
            Pending::ArgumentsDone {
                choice,
                pos,
                name,
                index,
                parsed,
            } => ChatCompletionStreamEvent::ToolCallArgumentsDone {
                choice_index: choice,
                name,
                index,
                arguments: text(pos, TextField::Arguments(index)),
                parsed_arguments: parsed,
            },
            Pending::LogprobsContentDelta { choice, pos, count } => {
                ChatCompletionStreamEvent::LogprobsContentDelta {
                    choice_index: choice,
                    content: tokens(pos, false, Some(count)),
                    snapshot: tokens(pos, false, None),
                }
            }
            Pending::LogprobsContentDone { choice, pos } => {
                ChatCompletionStreamEvent::LogprobsContentDone {
                    choice_index: choice,
                    content: tokens(pos, false, None),
                }
            }
            Pending::LogprobsRefusalDelta { choice, pos, count } => {
                ChatCompletionStreamEvent::LogprobsRefusalDelta {
                    choice_index: choice,
                    refusal: tokens(pos, true, Some(count)),
                    snapshot: tokens(pos, true, None),
                }
            }
            Pending::LogprobsRefusalDone { choice, pos } => {
                ChatCompletionStreamEvent::LogprobsRefusalDone {
                    choice_index: choice,
                    refusal: tokens(pos, true, None),
                }
            }
            Pending::ReasoningDelta {
                choice,
                pos,
                key,
                delta,
            } => ChatCompletionStreamEvent::ReasoningDelta {
                choice_index: choice,
                delta,
                snapshot: text(pos, TextField::Reasoning(key)),
            },
            Pending::ReasoningDone { choice, pos, key } => {
                ChatCompletionStreamEvent::ReasoningDone {
                    choice_index: choice,
                    reasoning: text(pos, TextField::Reasoning(key)),
                }
            }
        }));
        Ok(true)
    }

    /// Accumulates a chunk and makes its events (in `pending`).
    fn process(&mut self, chunk: &mut WireChunk<'_>, chunk_no: u64) -> Result<(), Error> {
        let ChatCompletionStreamState {
            options,
            snapshot,
            choices: states,
            pending,
            ..
        } = self;
        let first = snapshot.is_none();
        let snap = Arc::make_mut(snapshot.get_or_insert_with(Default::default));
        if first {
            init_top(snap, &chunk.members);
        }
        let mut logprob_counts: SmallVec<[Option<(usize, usize)>; 1]> = SmallVec::new();
        for choice in chunk.choices.iter_mut() {
            let (c, index) = choice_index(chunk_no, choice)?;
            logprob_counts.push(match wire::get(c, "logprobs") {
                Some(Wire::Object(lp)) => {
                    let count = |k| match wire::get(lp, k) {
                        Some(Wire::Tokens(t)) => t.len(),
                        Some(Wire::Array(t)) => t.len(),
                        _ => 0,
                    };
                    Some((count("content"), count("refusal")))
                }
                _ => None,
            });
            // The first chunk makes every choice; a later one merges into a known choice.
            let known = if first { None } else { snap.position(index) };
            let pos = match known {
                Some(pos) => {
                    if let Some(extras) = snap.extras.get_mut(pos) {
                        accumulate_entries(&mut extras.message, wire::entries(delta_of(c)))
                            .map_err(|e| accumulate_error(chunk_no, index, e))?;
                    }
                    pos
                }
                None => {
                    let Wire::Object(c) = choice else {
                        continue;
                    };
                    snap.extras.push(new_choice(c, index));
                    states.push(ChoiceState::default());
                    snap.extras.len() - 1
                }
            };
            if first {
                continue;
            }
            let Wire::Object(c) = choice else {
                continue;
            };
            if let Some(reason) = wire::get(c, "finish_reason")
                .and_then(Wire::as_str)
                .filter(|r| !r.is_empty())
            {
                finish(options, snap, pos, reason)?;
            }
            // A choice first seen now already holds this chunk's logprobs (the reference
            // adds them a second time; we don't).
            if known.is_some()
                && let (Some((_, Wire::Object(lp))), Some(extras)) = (
                    c.iter().find(|(k, _)| k == "logprobs"),
                    snap.extras.get_mut(pos),
                )
            {
                merge_logprobs(extras, tokens_of(lp, "content"), tokens_of(lp, "refusal"));
            }
            if let Some(state) = states.get_mut(pos) {
                let fragments = frags(delta_of(c));
                parse_after_merge(options, snap, state, pos, index, &fragments)?;
            }
        }
        if !first {
            snap.usage = chunk.get("usage").map_or(Value::Null, Wire::to_value);
            match chunk.get("system_fingerprint") {
                // Usually the same as before: no allocation.
                Some(Wire::Str(fp)) if snap.system_fingerprint.as_str() == Some(&**fp) => {}
                Some(fp) => snap.system_fingerprint = fp.to_value(),
                None => snap.system_fingerprint = Value::Null,
            }
        }
        let mut views: SmallVec<[ChoiceView<'_>; 1]> = SmallVec::new();
        for (choice, logprobs) in chunk.choices.iter().zip(logprob_counts) {
            let (c, index) = choice_index(chunk_no, choice)?;
            let delta = delta_of(c);
            views.push(ChoiceView {
                index,
                content: wire::get(delta, "content").and_then(Wire::as_str),
                refusal: wire::get(delta, "refusal").and_then(Wire::as_str),
                tool_calls: frags(delta),
                reasoning: REASONING_KEYS.map(|key| wire::get(delta, key).and_then(Wire::as_str)),
                logprobs,
            });
        }
        build_events(options, snap, states, &views, pending)
    }
}

/// A chunk that is not a JSON object: the error, with what `serde_json` says of it.
fn not_a_chunk(text: &str) -> Error {
    match serde_json::from_str::<Value>(text) {
        Ok(_) => invalid(
            StreamErrorKind::InvalidJson,
            "the chunk is not a JSON object".into(),
        ),
        Err(e) => invalid(
            StreamErrorKind::InvalidJson,
            format!(
                "the chunk is not valid JSON ({e}); data: {}",
                crate::error::snippet(text.as_bytes())
            ),
        ),
    }
}

/// The first chunk's top level: the snapshot's, as it is (but `object`, `usage` and
/// `system_fingerprint`).
fn init_top(snap: &mut ChatCompletionSnapshot, members: &[Member<'_>]) {
    let mut json = Map::with_capacity(members.len() + 2);
    for (k, v) in members {
        match &**k {
            "obfuscation" => {}
            "usage" => snap.usage = v.to_value(),
            "system_fingerprint" => snap.system_fingerprint = v.to_value(),
            _ => {
                json.insert(k.clone().into_owned(), v.to_value());
            }
        }
    }
    json.insert("object".into(), Value::String("chat.completion".into()));
    snap.json = json;
}

/// The tool call fragments of one choice of a chunk (nearly always one or two).
type Frags<'x> = SmallVec<[Frag<'x>; 2]>;

/// A tool call fragment, for events: its `index` and `function.arguments`.
#[derive(Clone, Copy)]
struct Frag<'x> {
    index: Option<i64>,
    arguments: &'x str,
    /// The fragment may change the call's name or type.
    refresh: bool,
}

/// The tool call fragments of a delta.
fn frags<'x>(delta: &'x [Member<'_>]) -> Frags<'x> {
    let Some(Wire::Array(fragments)) = wire::get(delta, "tool_calls") else {
        return Frags::new();
    };
    fragments
        .iter()
        .map(|f| {
            let members = wire::object(Some(f));
            let function = wire::get(members, "function");
            Frag {
                index: wire::get(members, "index").and_then(Wire::as_i64),
                refresh: wire::get(members, "type").is_some()
                    || !matches!(function, Some(Wire::Object(x)) if wire::get(x, "name").is_none()),
                arguments: wire::get(wire::object(function), "arguments")
                    .and_then(Wire::as_str)
                    .unwrap_or(""),
            }
        })
        .collect()
}

/// What the events of one choice of a chunk are built from.
struct ChoiceView<'x> {
    index: i64,
    content: Option<&'x str>,
    refusal: Option<&'x str>,
    tool_calls: Frags<'x>,
    /// A compatible provider's reasoning text in this delta.
    reasoning: [Option<&'x str>; 2],
    /// When the chunk's choice has a `logprobs` object: how many `content` and `refusal`
    /// tokens it has.
    logprobs: Option<(usize, usize)>,
}

/// A truthy `finish_reason`: recorded, and an error with parseable input for `length` and
/// `content_filter`.
fn finish(
    options: &ParseOptions,
    snap: &mut ChatCompletionSnapshot,
    pos: usize,
    reason: &str,
) -> Result<(), Error> {
    if let Some(choice) = snap.extras.get_mut(pos) {
        choice
            .json
            .insert("finish_reason".into(), Value::String(reason.to_owned()));
        choice.finished = true;
    }
    if options.has_parseable_input() {
        match reason {
            "length" => {
                return Err(Error::LengthFinishReason {
                    completion: Box::new(snap.to_reference_json()),
                })
            }
            "content_filter" => {
                return Err(Error::ContentFilterFinishReason {
                    completion: Box::new(snap.to_reference_json()),
                })
            }
            _ => {}
        }
    }
    Ok(())
}

/// Refreshes the cached facts (name, type, strictness) of the tool calls a chunk touched.
fn refresh_tools(
    options: &ParseOptions,
    snap: &ChatCompletionSnapshot,
    state: &mut ChoiceState,
    pos: usize,
    fragments: &[Frag<'_>],
) {
    for fragment in fragments {
        let Some(tool_index) = fragment.index else {
            continue;
        };
        let (tool, new) = state.tool_mut(tool_index);
        if new || fragment.refresh {
            let call = snap.tool_at(pos, tool_index);
            tool.function = call.is_some_and(is_function_call);
            tool.name = call.and_then(function_name);
            tool.strict = tool.name.as_deref().and_then(|n| options.tool_strict(n)) == Some(true);
        }
    }
}

/// The partial parses after a choice's delta is merged (not for the first chunk).
fn parse_after_merge(
    options: &ParseOptions,
    snap: &mut ChatCompletionSnapshot,
    state: &mut ChoiceState,
    pos: usize,
    index: i64,
    fragments: &[Frag<'_>],
) -> Result<(), Error> {
    refresh_tools(options, snap, state, pos, fragments);
    if options.parse_content {
        let message = snap.message_at(pos);
        let content = message
            .and_then(|m| member(m, "content"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let refusal = truthy_str(message.and_then(|m| member(m, "refusal")));
        state.content.feed(content);
        let parsed = if !content.is_empty() && !refusal && state.content.non_ws {
            state
                .content
                .partial(|| format!("the content of choice {index}"), false)?
        } else {
            ParsedValue::None
        };
        if let Some(extras) = snap.extras.get_mut(pos) {
            extras.parsed = parsed;
        }
    }
    if !options.any_strict {
        return Ok(());
    }
    for fragment in fragments {
        let Some(tool_index) = fragment.index else {
            continue;
        };
        let Some(tool) = state.tools.iter_mut().find(|t| t.index == tool_index) else {
            continue;
        };
        if !tool.function || !tool.strict {
            continue;
        }
        if fragment.arguments.is_empty() {
            continue;
        }
        let arguments = snap
            .tool_at(pos, tool_index)
            .and_then(|call| member(call, "function"))
            .and_then(Value::as_object)
            .and_then(|f| member(f, "arguments"))
            .and_then(Value::as_str)
            .unwrap_or("");
        if arguments.is_empty() {
            continue;
        }
        // Usually only the fragment is new to the parser.
        tool.parser.feed(arguments);
        let name = tool.name.as_deref().unwrap_or("");
        let parsed = tool.parser.partial(
            || format!("the arguments of tool call {tool_index} (`{name}`) of choice {index}"),
            true,
        )?;
        if let Some(extras) = snap.extras.get_mut(pos) {
            *extras.tool_mut(tool_index) = parsed;
        }
    }
    Ok(())
}

/// The reference's logprobs rule: the first `logprobs` object is taken (its `content` and
/// `refusal`), later ones extend the lists with their non-empty lists.
fn merge_logprobs(
    choice: &mut ChoiceExtras,
    content: Option<&[&RawValue]>,
    refusal: Option<&[&RawValue]>,
) {
    match &mut choice.logprobs {
        None => {
            choice.json.remove("logprobs");
            choice.logprobs = Some(LogprobsAcc {
                content: content.map(RawTokens::from_raw),
                refusal: refusal.map(RawTokens::from_raw),
                rest: Map::new(),
            });
        }
        Some(acc) => {
            for (tokens, acc) in [(content, &mut acc.content), (refusal, &mut acc.refusal)] {
                if let Some(tokens) = tokens.filter(|t| !t.is_empty()) {
                    acc.get_or_insert_with(RawTokens::default)
                        .extend_raw(tokens);
                }
            }
        }
    }
}

/// Builds the chunk's events, in the reference order, making the done-event updates
/// (`parsed` and `parsed_arguments` become the complete values).
fn build_events(
    options: &ParseOptions,
    snap: &mut ChatCompletionSnapshot,
    states: &mut [ChoiceState],
    views: &[ChoiceView<'_>],
    pending: &mut Vec<Pending>,
) -> Result<(), Error> {
    pending.push(Pending::Chunk);
    for view in views {
        let index = view.index;
        let Some(pos) = snap.position(index) else {
            continue;
        };
        let Some(message) = snap.message_at(pos) else {
            continue;
        };
        if let Some(state) = states.get_mut(pos) {
            let finished = snap.extras.get(pos).is_some_and(|c| c.finished);
            reasoning_events(state, view, pos, finished, pending);
        }

        if let Some(d) = view
            .content
            .filter(|_| matches!(member(message, "content"), Some(Value::String(_))))
        {
            let parsed = snap
                .extras
                .get(pos)
                .map(|e| e.parsed.clone())
                .unwrap_or_default();
            pending.push(Pending::ContentDelta {
                choice: index,
                pos,
                delta: d.to_owned(),
                parsed,
            });
        }
        if let Some(d) = view
            .refusal
            .filter(|_| matches!(member(message, "refusal"), Some(Value::String(_))))
        {
            pending.push(Pending::RefusalDelta {
                choice: index,
                pos,
                delta: d.to_owned(),
            });
        }
        let fragments = &view.tool_calls;
        if let Some(state) = states.get_mut(pos) {
            // Already done by the partial parse, except for the first chunk.
            refresh_tools(options, snap, state, pos, fragments);
        }
        for fragment in fragments {
            let Some(tool_index) = fragment.index else {
                continue;
            };
            let Some(tool) = states.get(pos).and_then(|s| s.tool(tool_index)) else {
                continue;
            };
            if !tool.function {
                continue;
            }
            let parsed = snap
                .extras
                .get(pos)
                .and_then(|e| e.tool(tool_index))
                .cloned()
                .unwrap_or_default();
            pending.push(Pending::ArgumentsDelta {
                choice: index,
                pos,
                name: tool.name.clone(),
                index: tool_index,
                parsed,
                delta: fragment.arguments.to_owned(),
            });
        }
        if let (Some((content, refusal)), Some(acc)) = (
            view.logprobs,
            snap.extras.get(pos).and_then(|c| c.logprobs.as_ref()),
        ) {
            if content > 0 && acc.content.as_ref().is_some_and(|l| !l.is_empty()) {
                pending.push(Pending::LogprobsContentDelta {
                    choice: index,
                    pos,
                    count: content,
                });
            }
            if refusal > 0 && acc.refusal.as_ref().is_some_and(|l| !l.is_empty()) {
                pending.push(Pending::LogprobsRefusalDelta {
                    choice: index,
                    pos,
                    count: refusal,
                });
            }
        }

        // Done events.
        let Some(state) = states.get_mut(pos) else {
            continue;
        };
        if snap.extras.get(pos).is_some_and(|c| c.finished) {
            content_done(options, snap, state, pos, index, pending)?;
            if let Some(current) = state.current_tool {
                tool_done(options, snap, state, pos, index, current, pending)?;
            }
        }
        for fragment in fragments {
            let Some(tool_index) = fragment.index else {
                continue;
            };
            if state.current_tool != Some(tool_index) {
                content_done(options, snap, state, pos, index, pending)?;
                if let Some(current) = state.current_tool {
                    tool_done(options, snap, state, pos, index, current, pending)?;
                }
            }
            state.current_tool = Some(tool_index);
        }
    }
    Ok(())
}

/// A compatible provider's reasoning: `reasoning.delta` for new reasoning text, then
/// `reasoning.done` once the answer begins (content, refusal or a tool call fragment in a
/// delta) or the choice finishes. Nothing for a choice that never carried reasoning text.
fn reasoning_events(
    state: &mut ChoiceState,
    view: &ChoiceView<'_>,
    pos: usize,
    finished: bool,
    pending: &mut Vec<Pending>,
) {
    let position = |key: &str| REASONING_KEYS.iter().position(|k| *k == key);
    if state.reasoning_key.is_none() {
        state.reasoning_key = REASONING_KEYS
            .iter()
            .zip(view.reasoning)
            .find(|(_, text)| text.is_some_and(|t| !t.is_empty()))
            .map(|(key, _)| *key);
    }
    let Some(key) = state.reasoning_key else {
        return;
    };
    let new = position(key)
        .and_then(|i| view.reasoning[i])
        .filter(|t| !t.is_empty());
    if let Some(delta) = new {
        state.reasoning_done = false;
        pending.push(Pending::ReasoningDelta {
            choice: view.index,
            pos,
            key,
            delta: delta.to_owned(),
        });
    }
    let answer_began = view.content.is_some_and(|t| !t.is_empty())
        || view.refusal.is_some_and(|t| !t.is_empty())
        || !view.tool_calls.is_empty();
    if !state.reasoning_done && (answer_began || finished) {
        state.reasoning_done = true;
        pending.push(Pending::ReasoningDone {
            choice: view.index,
            pos,
            key,
        });
    }
}

/// The content-done group: `content.done`, `refusal.done`, `logprobs.content.done`,
/// `logprobs.refusal.done`, each once per choice.
fn content_done(
    options: &ParseOptions,
    snap: &mut ChatCompletionSnapshot,
    state: &mut ChoiceState,
    pos: usize,
    index: i64,
    pending: &mut Vec<Pending>,
) -> Result<(), Error> {
    let Some(message) = snap.message_at(pos) else {
        return Ok(());
    };
    let content = message.get("content").and_then(Value::as_str).unwrap_or("");
    if !content.is_empty() && !state.content_done {
        state.content_done = true;
        let parsed = if options.parse_content && !truthy_str(message.get("refusal")) {
            let value = Arc::new(match tree_of(Some(&state.content.parser), content) {
                Some(value) => value,
                None => parse_content_strict(content, index, options)?,
            });
            state.done_parse = Some((content.len(), Arc::clone(&value)));
            ParsedValue::Complete(value)
        } else {
            ParsedValue::None
        };
        if let Some(extras) = snap.extras.get_mut(pos) {
            extras.parsed = parsed.clone();
        }
        pending.push(Pending::ContentDone {
            choice: index,
            pos,
            parsed,
        });
    }
    let Some(message) = snap.message_at(pos) else {
        return Ok(());
    };
    if !matches!(message.get("refusal"), None | Some(Value::Null)) && !state.refusal_done {
        state.refusal_done = true;
        pending.push(Pending::RefusalDone { choice: index, pos });
    }
    if let Some(lp) = snap.extras.get(pos).and_then(|c| c.logprobs.as_ref()) {
        if lp.content.is_some() && !state.logprobs_content_done {
            state.logprobs_content_done = true;
            pending.push(Pending::LogprobsContentDone { choice: index, pos });
        }
        if lp.refusal.is_some() && !state.logprobs_refusal_done {
            state.logprobs_refusal_done = true;
            pending.push(Pending::LogprobsRefusalDone { choice: index, pos });
        }
    }
    Ok(())
}

fn tool_done(
    options: &ParseOptions,
    snap: &mut ChatCompletionSnapshot,
    state: &mut ChoiceState,
    pos: usize,
    index: i64,
    tool_index: i64,
    pending: &mut Vec<Pending>,
) -> Result<(), Error> {
    if state.done_tools.contains(&tool_index) {
        return Ok(());
    }
    state.done_tools.push(tool_index);
    let Some(call) = snap.tool_at(pos, tool_index) else {
        return Ok(());
    };
    if !is_function_call(call) {
        return Ok(());
    }
    let name = function_name(call);
    let read = state.tool(tool_index).map(|t| &t.parser.parser);
    let parsed = match parse_arguments(
        options,
        call.get("function").and_then(Value::as_object),
        index,
        tool_index,
        read,
    )? {
        Some(v) => ParsedValue::Complete(Arc::new(v)),
        None => ParsedValue::None,
    };
    if let Some(extras) = snap.extras.get_mut(pos) {
        *extras.tool_mut(tool_index) = parsed.clone();
    }
    pending.push(Pending::ArgumentsDone {
        choice: index,
        pos,
        name,
        index: tool_index,
        parsed,
    });
    Ok(())
}
