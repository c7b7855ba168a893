//! The transport-free state machine of a chat completion stream.

use std::sync::Arc;

use serde_json::{Map, Value};
use smallvec::SmallVec;

use super::completion::ParsedChatCompletion;
use super::events::{
    ChatCompletionStreamEvent, ChunkData, TextField, TextSnapshot, TokensSnapshot,
};
use super::snapshot::{
    parse_arguments, parse_content_strict, parse_owned_chat_completion_as, ChatCompletionSnapshot,
    ChoiceExtras, ParseOptions, ParsedValue,
};
use super::snapshot::{raw_tokens, LogprobsAcc};
use super::wire::{self, WireChunk, WireLogprobs};
use crate::accumulate::{accumulate_delta, AccumulateError};
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

/// A delta's reasoning text under each of [`REASONING_KEYS`] (when a string).
type ReasoningTexts<'x> = [Option<&'x str>; 2];

fn reasoning_texts<'x>(get: impl Fn(&str) -> Option<&'x Value>) -> ReasoningTexts<'x> {
    REASONING_KEYS.map(|key| get(key).and_then(Value::as_str))
}

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
    match call.get("type") {
        None | Some(Value::Null) => true,
        Some(t) => t.as_str() == Some("function"),
    }
}

fn function_name(call: &Map<String, Value>) -> Option<String> {
    call.get("function")
        .and_then(|f| f.get("name"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The chunk's choices (`[]` when the key is missing or null).
fn chunk_choices(chunk: &Map<String, Value>) -> &[Value] {
    match chunk.get("choices") {
        Some(Value::Array(a)) => a,
        _ => &[],
    }
}

fn choice_index(chunk_no: u64, choice: &Value) -> Result<(&Map<String, Value>, i64), Error> {
    let c = choice.as_object().ok_or_else(|| {
        invalid(
            StreamErrorKind::InvalidChunk,
            format!("chunk #{chunk_no}: a choice is not a JSON object"),
        )
    })?;
    let index = c.get("index").and_then(Value::as_i64).ok_or_else(|| {
        invalid(
            StreamErrorKind::InvalidChunk,
            format!("chunk #{chunk_no}: a choice has no integer `index`"),
        )
    })?;
    Ok((c, index))
}

static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

fn delta_of(c: &Map<String, Value>) -> &Map<String, Value> {
    c.get("delta").and_then(Value::as_object).unwrap_or(&EMPTY)
}

/// A new choice: the chunk's choice without `delta`, with `message` = the delta.
fn new_choice(c: &Map<String, Value>, index: i64) -> ChoiceExtras {
    let mut json = Map::with_capacity(c.len());
    for (k, v) in c {
        if k != "delta" && k != "message" {
            json.insert(k.clone(), v.clone());
        }
    }
    let finished = truthy_str(c.get("finish_reason"));
    let logprobs = match json.get("logprobs") {
        Some(Value::Object(lp)) => Some(LogprobsAcc::from_json(lp)),
        _ => None,
    };
    if logprobs.is_some() {
        json.remove("logprobs");
    }
    ChoiceExtras {
        index,
        json,
        message: delta_of(c).clone(),
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
        self.final_completion_as()
    }

    /// [`final_completion`](Self::final_completion) with each choice's `parsed` content
    /// deserialized into `T` ([`Error::Validation`] with the JSON path when it does not fit).
    pub fn final_completion_as<T: serde::de::DeserializeOwned>(
        &self,
    ) -> Result<ParsedChatCompletion<T>, Error> {
        let Some(snapshot) = &self.snapshot else {
            return Err(invalid(
                StreamErrorKind::Unfinished,
                "the stream ended before its first chunk: there is no completion".into(),
            ));
        };
        let reuse = |pos: usize, content: &str| {
            let (len, parsed) = self.choices.get(pos)?.done_parse.as_ref()?;
            // Content only grows: the same length is the same text.
            (*len == content.len()).then(|| (**parsed).clone())
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
            return parse_owned_chat_completion_as::<T>(snapshot.to_json(), &self.options, &reuse);
        }
        let done = parse_owned_chat_completion_as::<T>(
            snapshot.to_json_without_logprobs(),
            &self.options,
            &reuse,
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
        let value = serde_json::to_value(chunk).map_err(|e| {
            invalid(
                StreamErrorKind::InvalidJson,
                format!("serializing the chunk: {e}"),
            )
        })?;
        self.handle_chunk(&value)
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
        let fast = match (&self.snapshot, wire::decode(&text)) {
            (Some(snap), Some(w))
                if w.choices
                    .iter()
                    .flatten()
                    .all(|c| snap.position(c.index).is_some()) =>
            {
                Some(w)
            }
            _ => None,
        };
        let result = match fast {
            Some(mut w) => {
                if skip_foreign
                    && w.object
                        .as_ref()
                        .is_some_and(|o| o.0 != "chat.completion.chunk")
                {
                    return Ok(false);
                }
                self.chunks += 1;
                self.process_fast(&mut w, chunk_no)
            }
            None => {
                let map = match serde_json::from_str::<Value>(&text) {
                    Ok(Value::Object(map)) => map,
                    Ok(_) => {
                        return Err(invalid(
                            StreamErrorKind::InvalidJson,
                            "the chunk is not a JSON object".into(),
                        ))
                    }
                    Err(e) => {
                        return Err(invalid(
                            StreamErrorKind::InvalidJson,
                            format!(
                                "the chunk is not valid JSON ({e}); data: {}",
                                crate::error::snippet(text.as_bytes())
                            ),
                        ))
                    }
                };
                if skip_foreign
                    && let Some(object) = map.get("object")
                    && object.as_str() != Some("chat.completion.chunk")
                {
                    return Ok(false);
                }
                self.chunks += 1;
                self.process(&map, chunk_no)
            }
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

    fn process(&mut self, chunk: &Map<String, Value>, chunk_no: u64) -> Result<(), Error> {
        let ChatCompletionStreamState {
            options,
            snapshot,
            choices,
            pending,
            ..
        } = self;
        let first = snapshot.is_none();
        let snap = Arc::make_mut(snapshot.get_or_insert_with(Default::default));
        if first {
            init_snapshot(snap, choices, chunk, chunk_no)?;
        } else {
            accumulate(options, snap, choices, chunk, chunk_no)?;
        }
        let mut views = Vec::new();
        for choice in chunk_choices(chunk) {
            let (c, index) = choice_index(chunk_no, choice)?;
            let delta = delta_of(c);
            views.push(ChoiceView {
                index,
                content: delta.get("content").and_then(Value::as_str),
                refusal: delta.get("refusal").and_then(Value::as_str),
                tool_calls: json_frags(delta.get("tool_calls").and_then(Value::as_array)),
                reasoning: reasoning_texts(|key| delta.get(key)),
                logprobs: c.get("logprobs").and_then(Value::as_object).map(|lp| {
                    let count = |k| lp.get(k).and_then(Value::as_array).map_or(0, Vec::len);
                    (count("content"), count("refusal"))
                }),
            });
        }
        build_events(options, snap, choices, &views, pending)
    }

    /// A chunk after the first whose choices are all known, in the usual shape.
    fn process_fast(&mut self, chunk: &mut WireChunk<'_>, chunk_no: u64) -> Result<(), Error> {
        let ChatCompletionStreamState {
            options,
            snapshot,
            choices,
            pending,
            ..
        } = self;
        let snap = Arc::make_mut(snapshot.get_or_insert_with(Default::default));
        let mut logprob_counts: SmallVec<[Option<(usize, usize)>; 1]> = SmallVec::new();
        for c in chunk.choices.iter_mut().flatten() {
            let lp = c.logprobs.take();
            let counts = lp.as_ref().map(|lp| {
                (
                    lp.content.as_ref().map_or(0, Vec::len),
                    lp.refusal.as_ref().map_or(0, Vec::len),
                )
            });
            logprob_counts.push(counts);
            if let (Some(lp), Some(pos)) = (lp, snap.position(c.index))
                && let Some(choice) = snap.extras.get_mut(pos)
            {
                merge_wire_logprobs(choice, lp);
            }
        }
        let wire_choices = chunk.choices.as_deref().unwrap_or_default();
        let mut views: SmallVec<[ChoiceView<'_>; 1]> = SmallVec::new();
        let mut appended = Appended::new();
        for (c, logprobs) in wire_choices.iter().zip(logprob_counts) {
            let index = c.index;
            let delta = c.delta.as_ref();
            let fragments = wire_frags(delta.and_then(|d| d.tool_calls.as_ref()));
            appended.clear();
            if let Some(pos) = snap.position(index) {
                if let Some(delta) = delta
                    && let Some(message) = message_mut(snap, pos)
                {
                    for (key, value) in [
                        ("role", &delta.role),
                        ("content", &delta.content),
                        ("refusal", &delta.refusal),
                    ] {
                        if let Some(value) = value {
                            merge_str(message, key, value.as_ref().map(|v| &*v.0));
                        }
                    }
                    if let Some(tool_calls) = &delta.tool_calls {
                        merge_tool_calls(message, tool_calls, &mut appended)
                            .map_err(|e| accumulate_error(chunk_no, index, e))?;
                    }
                    if let Some(rest) = &delta.rest {
                        accumulate_delta(message, rest)
                            .map_err(|e| accumulate_error(chunk_no, index, e))?;
                    }
                }
                if let Some(reason) = c.finish_reason.as_ref().filter(|r| !r.0.is_empty()) {
                    finish(options, snap, pos, &reason.0)?;
                }
                if let Some(state) = choices.get_mut(pos) {
                    parse_after_merge(options, snap, state, pos, index, &fragments, &appended)?;
                }
            }
            views.push(ChoiceView {
                index,
                content: delta
                    .and_then(|d| d.content.as_ref())
                    .and_then(|v| v.as_ref())
                    .map(|v| &*v.0),
                refusal: delta
                    .and_then(|d| d.refusal.as_ref())
                    .and_then(|v| v.as_ref())
                    .map(|v| &*v.0),
                tool_calls: fragments,
                reasoning: delta
                    .and_then(|d| d.rest.as_deref())
                    .map_or([None; 2], |rest| reasoning_texts(|key| rest.get(key))),
                logprobs,
            });
        }
        snap.usage = chunk.usage.clone().unwrap_or(Value::Null);
        match &chunk.system_fingerprint {
            // Usually the same as before: no allocation.
            Some(fp) if snap.system_fingerprint.as_str() == Some(&*fp.0) => {}
            Some(fp) => snap.system_fingerprint = Value::String(fp.0.clone().into_owned()),
            None => snap.system_fingerprint = Value::Null,
        }
        build_events(options, snap, choices, &views, pending)
    }
}

/// The tool call fragments of one choice of a chunk (nearly always one or two).
type Frags<'x> = SmallVec<[Frag<'x>; 2]>;

/// Tool call `index` and new length of the arguments, for fragments appended in place.
type Appended = SmallVec<[(i64, usize); 2]>;

/// A tool call fragment, for events: its `index` and `function.arguments`.
#[derive(Clone, Copy)]
struct Frag<'x> {
    index: Option<i64>,
    arguments: &'x str,
    /// The fragment may change the call's name or type.
    refresh: bool,
}

fn json_frags(fragments: Option<&Vec<Value>>) -> Frags<'_> {
    fragments
        .into_iter()
        .flatten()
        .map(|f| Frag {
            index: f.get("index").and_then(Value::as_i64),
            refresh: f.get("type").is_some()
                || f.get("function")
                    .is_none_or(|x| !x.is_object() || x.get("name").is_some()),
            arguments: f
                .get("function")
                .and_then(|x| x.get("arguments"))
                .and_then(Value::as_str)
                .unwrap_or(""),
        })
        .collect()
}

fn wire_frags<'x>(fragments: Option<&'x Vec<wire::WireToolCall<'_>>>) -> Frags<'x> {
    fragments
        .into_iter()
        .flatten()
        .map(|f| Frag {
            index: Some(f.index),
            refresh: f.kind.is_some() || f.function.as_ref().is_none_or(|x| x.name.is_some()),
            arguments: f
                .function
                .as_ref()
                .and_then(|x| x.arguments.as_ref())
                .and_then(|a| a.as_ref())
                .map_or("", |a| &*a.0),
        })
        .collect()
}

/// Merges tool call fragments into a message with the accumulation rules: in place for the
/// usual case (a list of call objects), through the generic accumulator otherwise.
///
/// `appended` receives, for each fragment whose `arguments` were appended to a string
/// already there, the tool call's `index` and the arguments' new length.
fn merge_tool_calls(
    message: &mut Map<String, Value>,
    fragments: &[wire::WireToolCall<'_>],
    appended: &mut Appended,
) -> Result<(), AccumulateError> {
    let list = match message.get_mut("tool_calls") {
        Some(Value::Array(list)) if !list.is_empty() && list.iter().all(Value::is_object) => list,
        _ => {
            let mut delta = Map::new();
            delta.insert(
                "tool_calls".into(),
                Value::Array(fragments.iter().map(wire::WireToolCall::to_value).collect()),
            );
            return accumulate_delta(message, &delta);
        }
    };
    for fragment in fragments {
        let at = usize::try_from(fragment.index).ok().filter(|&i| {
            list.get(i)
                .and_then(|c| c.get("index"))
                .and_then(Value::as_i64)
                == Some(fragment.index)
        });
        let at = at.or_else(|| {
            list.iter()
                .position(|c| c.get("index").and_then(Value::as_i64) == Some(fragment.index))
        });
        let Some(Value::Object(entry)) = at.and_then(|i| list.get_mut(i)) else {
            list.push(fragment.to_value());
            continue;
        };
        if let Some(id) = &fragment.id {
            merge_str(entry, "id", id.as_ref().map(|v| &*v.0));
        }
        if let Some(kind) = &fragment.kind {
            let kind = kind
                .as_ref()
                .map_or(Value::Null, |k| Value::String(k.0.clone().into_owned()));
            match entry.get_mut("type") {
                Some(slot) => *slot = kind,
                None => {
                    entry.insert("type".into(), kind);
                }
            }
        }
        if let Some(function) = &fragment.function {
            match entry.get_mut("function") {
                Some(Value::Object(acc)) => {
                    if let Some(name) = &function.name {
                        merge_str(acc, "name", name.as_ref().map(|v| &*v.0));
                    }
                    if let Some(arguments) = &function.arguments
                        && let Some(len) =
                            merge_str(acc, "arguments", arguments.as_ref().map(|v| &*v.0))
                    {
                        appended.push((fragment.index, len));
                    }
                    if let Some(rest) = &function.rest {
                        accumulate_delta(acc, rest)?;
                    }
                }
                Some(slot @ Value::Null) => *slot = function.to_value(),
                None => {
                    entry.insert("function".into(), function.to_value());
                }
                Some(_) => {}
            }
        }
        if let Some(rest) = &fragment.rest {
            accumulate_delta(entry, rest)?;
        }
    }
    Ok(())
}

/// What the events of one choice of a chunk are built from.
struct ChoiceView<'x> {
    index: i64,
    content: Option<&'x str>,
    refusal: Option<&'x str>,
    tool_calls: Frags<'x>,
    /// A compatible provider's reasoning text in this delta.
    reasoning: ReasoningTexts<'x>,
    /// When the chunk's choice has a `logprobs` object: how many `content` and `refusal`
    /// tokens it has.
    logprobs: Option<(usize, usize)>,
}

/// The accumulation rule for a string delta value (`None`: a JSON null).
///
/// Returns the string's new length when `value` was appended to a string already there
/// (the usual case), so that a caller can feed an incremental parser the fragment alone.
fn merge_str(message: &mut Map<String, Value>, key: &str, value: Option<&str>) -> Option<usize> {
    match (message.get_mut(key), value) {
        (Some(Value::String(acc)), Some(s)) => {
            acc.push_str(s);
            return Some(acc.len());
        }
        (Some(slot @ Value::Null), Some(s)) => *slot = Value::String(s.to_owned()),
        (None, v) => {
            message.insert(
                key.to_owned(),
                v.map_or(Value::Null, |s| Value::String(s.to_owned())),
            );
        }
        // A null never overwrites; a value of another type is ignored.
        _ => {}
    }
    None
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
    appended: &[(i64, usize)],
) -> Result<(), Error> {
    refresh_tools(options, snap, state, pos, fragments);
    if options.parse_content {
        let message = snap.message_at(pos);
        let content = message
            .and_then(|m| m.get("content"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let refusal = truthy_str(message.and_then(|m| m.get("refusal")));
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
        let new_len = tool.parser.fed + fragment.arguments.len();
        if appended.contains(&(tool_index, new_len)) {
            // The fragment was appended to the arguments fed so far: no need to look the
            // whole text up in the snapshot.
            if fragment.arguments.is_empty() {
                continue;
            }
            tool.parser.feed_appended(fragment.arguments);
        } else {
            let arguments = snap
                .tool_at(pos, tool_index)
                .and_then(|call| call.get("function"))
                .and_then(|f| f.get("arguments"))
                .and_then(Value::as_str)
                .unwrap_or("");
            if arguments.is_empty() {
                continue;
            }
            tool.parser.feed(arguments);
        }
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

/// The first chunk: the snapshot's top level and choices come from it as they are.
fn init_snapshot(
    snap: &mut ChatCompletionSnapshot,
    states: &mut Vec<ChoiceState>,
    chunk: &Map<String, Value>,
    chunk_no: u64,
) -> Result<(), Error> {
    let mut json = Map::with_capacity(chunk.len() + 2);
    for (k, v) in chunk {
        match k.as_str() {
            "obfuscation" | "choices" => {}
            "usage" => snap.usage = v.clone(),
            "system_fingerprint" => snap.system_fingerprint = v.clone(),
            _ => {
                json.insert(k.clone(), v.clone());
            }
        }
    }
    json.insert("object".into(), Value::String("chat.completion".into()));
    for choice in chunk_choices(chunk) {
        let (c, index) = choice_index(chunk_no, choice)?;
        snap.extras.push(new_choice(c, index));
        states.push(ChoiceState::default());
    }
    snap.json = json;
    Ok(())
}

/// A later chunk: deltas merged into each choice's message, parsing, logprobs, usage.
fn accumulate(
    options: &ParseOptions,
    snap: &mut ChatCompletionSnapshot,
    states: &mut Vec<ChoiceState>,
    chunk: &Map<String, Value>,
    chunk_no: u64,
) -> Result<(), Error> {
    for choice in chunk_choices(chunk) {
        let (c, index) = choice_index(chunk_no, choice)?;
        let delta = delta_of(c);
        let (pos, is_new) = match snap.position(index) {
            Some(pos) => {
                if let Some(message) = message_mut(snap, pos) {
                    accumulate_delta(message, delta)
                        .map_err(|e| accumulate_error(chunk_no, index, e))?;
                }
                (pos, false)
            }
            None => {
                snap.extras.push(new_choice(c, index));
                states.push(ChoiceState::default());
                (snap.extras.len() - 1, true)
            }
        };

        if let Some(reason) = c
            .get("finish_reason")
            .and_then(Value::as_str)
            .filter(|r| !r.is_empty())
        {
            finish(options, snap, pos, reason)?;
        }
        if let Some(state) = states.get_mut(pos) {
            let fragments = json_frags(delta.get("tool_calls").and_then(Value::as_array));
            parse_after_merge(options, snap, state, pos, index, &fragments, &[])?;
        }

        // A choice first seen now already holds this chunk's logprobs (the reference adds
        // them a second time; we don't).
        if !is_new && let Some(Value::Object(lp)) = c.get("logprobs") {
            merge_logprobs(snap, pos, lp);
        }
    }
    snap.usage = chunk.get("usage").cloned().unwrap_or(Value::Null);
    snap.system_fingerprint = chunk
        .get("system_fingerprint")
        .cloned()
        .unwrap_or(Value::Null);
    Ok(())
}

/// The message of the choice at `pos`.
fn message_mut(snap: &mut ChatCompletionSnapshot, pos: usize) -> Option<&mut Map<String, Value>> {
    Some(&mut snap.extras.get_mut(pos)?.message)
}

fn merge_logprobs(snap: &mut ChatCompletionSnapshot, pos: usize, lp: &Map<String, Value>) {
    let Some(choice) = snap.extras.get_mut(pos) else {
        return;
    };
    let list = |k: &str| match lp.get(k) {
        Some(Value::Array(tokens)) => Some(raw_tokens(tokens)),
        _ => None,
    };
    merge_wire_logprobs(
        choice,
        WireLogprobs {
            content: list("content"),
            refusal: list("refusal"),
        },
    );
}

/// The reference's logprobs rule: the first `logprobs` object is taken (its `content` and
/// `refusal`), later ones extend the lists with their non-empty lists.
fn merge_wire_logprobs(choice: &mut ChoiceExtras, lp: WireLogprobs) {
    match &mut choice.logprobs {
        None => {
            choice.json.remove("logprobs");
            choice.logprobs = Some(LogprobsAcc {
                content: lp.content,
                refusal: lp.refusal,
                rest: Map::new(),
            });
        }
        Some(acc) => {
            if let Some(tokens) = lp.content.filter(|t| !t.is_empty()) {
                acc.content.get_or_insert_with(Vec::new).extend(tokens);
            }
            if let Some(tokens) = lp.refusal.filter(|t| !t.is_empty()) {
                acc.refusal.get_or_insert_with(Vec::new).extend(tokens);
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
            .filter(|_| matches!(message.get("content"), Some(Value::String(_))))
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
            .filter(|_| matches!(message.get("refusal"), Some(Value::String(_))))
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
            let value = Arc::new(parse_content_strict(content, index, options)?);
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
    let parsed = match parse_arguments(
        options,
        call.get("function").and_then(Value::as_object),
        index,
        tool_index,
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
