//! The accumulated chat completion, and the final parse of a completion.
//!
//! The snapshot is the completion as JSON (a `serde_json` map, folded with the
//! reference `accumulate_delta` rules, so fields this SDK does not know survive) plus,
//! beside it, the `parsed` content and `parsed_arguments` of each choice. Those are kept
//! apart because the partial values are cheap captures of an incremental parser
//! ([`PartialSnapshot`]): they are turned into JSON only when someone reads them.

use std::fmt;
use std::sync::Arc;

use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// Logprob tokens of a choice's content or refusal (`{"token", "logprob", "bytes",
/// "top_logprobs"}` objects), each kept as the JSON text it arrived as, one after another
/// in a few large buffers: keeping a token costs one copy of its bytes and no allocation of
/// its own, and it is decoded only when read ([`to_values`](Self::to_values),
/// [`to_typed`](Self::to_typed)). A full buffer is kept as it is and the next one is
/// twice as large, up to 64 KiB: a long stream's tokens are never copied again as the list
/// grows (one growing buffer would copy them at each doubling, and hold up to twice their
/// size, three times during a copy).
///
/// ```
/// use openai_sdk::chat::ChatCompletionStreamState;
/// use serde_json::json;
///
/// let mut state = ChatCompletionStreamState::new();
/// let token = json!({"token": "Hi", "logprob": -0.5, "bytes": [72, 105], "top_logprobs": []});
/// state.handle_chunk(&json!({"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
///     "choices": [{"index": 0, "delta": {"content": "Hi"}, "logprobs": {"content": [token]}, "finish_reason": null}]}))?;
/// let snapshot = state.snapshot().expect("a chunk was handled");
/// let tokens = snapshot.logprobs(0, false);
/// assert_eq!(tokens.len(), 1);
/// assert_eq!(tokens.get(0), Some(r#"{"token":"Hi","logprob":-0.5,"bytes":[72,105],"top_logprobs":[]}"#));
/// assert_eq!(tokens.to_values(), [token]);
/// assert_eq!(tokens.to_typed()?[0].logprob, -0.5);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct RawTokens {
    /// The tokens' texts, one after another; a token's text is never split between two.
    buffers: Vec<String>,
    /// For each buffer, the index of its first token.
    firsts: Vec<usize>,
    /// For each token, where its text ends in its buffer.
    ends: Vec<usize>,
}

impl RawTokens {
    /// The capacity of the first buffer.
    const FIRST_BUFFER: usize = 256;
    /// The capacity buffers double up to (a longer token gets a buffer of its own size).
    const MAX_BUFFER: usize = 64 * 1024;

    /// Appends a token's JSON text.
    pub(crate) fn push(&mut self, raw: &str) {
        let fits = self
            .buffers
            .last()
            .is_some_and(|b| b.capacity() - b.len() >= raw.len());
        if !fits {
            self.add_buffer(raw.len());
        }
        if let Some(buffer) = self.buffers.last_mut() {
            buffer.push_str(raw);
            self.ends.push(buffer.len());
        }
    }

    /// Starts a buffer with room for at least `len` bytes.
    #[cold]
    fn add_buffer(&mut self, len: usize) {
        let grown = self.buffers.last().map_or(Self::FIRST_BUFFER, |b| {
            b.capacity().saturating_mul(2).min(Self::MAX_BUFFER)
        });
        self.buffers.push(String::with_capacity(grown.max(len)));
        self.firsts.push(self.ends.len());
    }

    /// Appends tokens' JSON texts.
    pub(crate) fn extend_raw(&mut self, raw: &[&RawValue]) {
        self.ends.reserve(raw.len());
        for token in raw {
            self.push(token.get());
        }
    }

    /// The tokens' JSON texts in one list.
    pub(crate) fn from_raw(raw: &[&RawValue]) -> Self {
        let mut tokens = RawTokens::default();
        tokens.extend_raw(raw);
        tokens
    }

    /// How many tokens there are.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The JSON text of the token at `index`.
    pub fn get(&self, index: usize) -> Option<&str> {
        let end = *self.ends.get(index)?;
        // The buffer holding it: the last one whose first token is at or before it.
        let buffer = self
            .firsts
            .partition_point(|&first| first <= index)
            .checked_sub(1)?;
        let start = match self.firsts.get(buffer) {
            Some(&first) if first == index => 0,
            _ => *self.ends.get(index.checked_sub(1)?)?,
        };
        self.buffers.get(buffer)?.get(start..end)
    }

    /// The JSON texts of the tokens, in order.
    pub fn iter(&self) -> RawTokensIter<'_> {
        self.range(0..self.len())
    }

    /// The JSON texts of the tokens in `range` (clamped to the list).
    pub(crate) fn range(&self, range: std::ops::Range<usize>) -> RawTokensIter<'_> {
        let back = range.end.min(self.len());
        RawTokensIter {
            tokens: self,
            front: range.start.min(back),
            back,
        }
    }

    /// The tokens decoded into JSON values. O(their size).
    pub fn to_values(&self) -> Vec<Value> {
        self.iter().decode()
    }

    /// The tokens decoded into the generated type.
    pub fn to_typed(
        &self,
    ) -> Result<Vec<crate::types::ChatCompletionTokenLogprob>, serde_json::Error> {
        self.iter().decode_typed()
    }
}

impl fmt::Debug for RawTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.iter(), f)
    }
}

/// Two lists are equal when their tokens' texts are, however the texts are laid out in
/// buffers (a clone's buffers are full, so it lays out later tokens differently).
impl PartialEq for RawTokens {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for RawTokens {}

impl std::hash::Hash for RawTokens {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_usize(self.len());
        for token in self {
            token.hash(state);
        }
    }
}

/// The list of a choice without tokens.
static NO_TOKENS: RawTokens = RawTokens {
    buffers: Vec::new(),
    firsts: Vec::new(),
    ends: Vec::new(),
};

/// A JSON text, shown as it is by `Debug`.
struct RawText<'a>(&'a str);

impl fmt::Debug for RawText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl<'a> IntoIterator for &'a RawTokens {
    type Item = &'a str;
    type IntoIter = RawTokensIter<'a>;
    fn into_iter(self) -> RawTokensIter<'a> {
        self.iter()
    }
}

/// The JSON texts of [`RawTokens`], in order. `Debug` shows the tokens not yet walked.
#[derive(Clone)]
pub struct RawTokensIter<'a> {
    tokens: &'a RawTokens,
    front: usize,
    back: usize,
}

impl RawTokensIter<'_> {
    /// The tokens left, decoded into JSON values (for [`RawTokens::to_values`] and
    /// [`TokensSnapshot::to_values`](super::TokensSnapshot::to_values)).
    pub(crate) fn decode(self) -> Vec<Value> {
        self.map(token_value).collect()
    }

    /// The tokens left, decoded into the generated type.
    pub(crate) fn decode_typed(
        self,
    ) -> Result<Vec<crate::types::ChatCompletionTokenLogprob>, serde_json::Error> {
        self.map(serde_json::from_str).collect()
    }
}

impl fmt::Debug for RawTokensIter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.clone().map(RawText)).finish()
    }
}

impl<'a> Iterator for RawTokensIter<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        if self.front >= self.back {
            return None;
        }
        self.front += 1;
        self.tokens.get(self.front - 1)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back - self.front;
        (n, Some(n))
    }
    fn nth(&mut self, n: usize) -> Option<&'a str> {
        self.front = self.front.saturating_add(n).min(self.back);
        self.next()
    }
    fn last(mut self) -> Option<&'a str> {
        self.next_back()
    }
    fn count(self) -> usize {
        self.len()
    }
}

impl DoubleEndedIterator for RawTokensIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.front >= self.back {
            return None;
        }
        self.back -= 1;
        self.tokens.get(self.back)
    }
    fn nth_back(&mut self, n: usize) -> Option<Self::Item> {
        self.back = self.back.saturating_sub(n).max(self.front);
        self.next_back()
    }
}

impl ExactSizeIterator for RawTokensIter<'_> {}

impl std::iter::FusedIterator for RawTokensIter<'_> {}

/// A choice's accumulated `logprobs`: the `content` and `refusal` token lists.
#[derive(Clone, Debug, Default)]
pub(crate) struct LogprobsAcc {
    pub(crate) content: Option<RawTokens>,
    pub(crate) refusal: Option<RawTokens>,
    /// Other fields of the first `logprobs` object of the choice.
    pub(crate) rest: Map<String, Value>,
}

impl LogprobsAcc {
    pub(crate) fn list(&self, refusal: bool) -> Option<&RawTokens> {
        if refusal {
            self.refusal.as_ref()
        } else {
            self.content.as_ref()
        }
    }

    pub(crate) fn to_json(&self) -> Value {
        let mut map = self.rest.clone();
        let list = |l: &Option<RawTokens>| match l {
            Some(tokens) => Value::Array(tokens.to_values()),
            None => Value::Null,
        };
        map.insert("content".into(), list(&self.content));
        map.insert("refusal".into(), list(&self.refusal));
        Value::Object(map)
    }
}

/// A raw token decoded (`null` if it somehow is not JSON).
pub(crate) fn token_value(token: &str) -> Value {
    serde_json::from_str(token).unwrap_or(Value::Null)
}

use super::completion::{fit_as, fit_json, reasoning_of, Fit, ParsedChatCompletion};
use crate::accumulate::member;
use crate::error::ValidationError;
use crate::parsing::{truthy_str, PartialJson, PartialSnapshot};
use crate::Error;

/// A parsed value attached to the snapshot: nothing, a partial parse captured mid-stream
/// (materialised on demand), or a complete value.
#[derive(Clone, Debug, Default)]
pub enum ParsedValue {
    /// No parsed value (`null` in the reference).
    #[default]
    None,
    /// The partial-mode parse of the text so far.
    Partial(Arc<PartialSnapshot>),
    /// The complete, strictly parsed value.
    Complete(Arc<Value>),
}

impl ParsedValue {
    /// The value as JSON (`Value::Null` for [`ParsedValue::None`]). A partial value is built
    /// here, in O(its size).
    ///
    /// ```
    /// use openai_sdk::chat::ParsedValue;
    /// assert_eq!(ParsedValue::None.to_value(), serde_json::Value::Null);
    /// ```
    pub fn to_value(&self) -> Value {
        match self {
            ParsedValue::None => Value::Null,
            ParsedValue::Partial(p) => p.to_value(),
            ParsedValue::Complete(v) => (**v).clone(),
        }
    }

    /// Whether there is no value.
    pub fn is_none(&self) -> bool {
        matches!(self, ParsedValue::None)
    }

    /// Deserializes the value into a Rust type.
    pub fn deserialize<T: serde::de::DeserializeOwned>(
        &self,
    ) -> Result<Option<T>, serde_json::Error> {
        match self {
            ParsedValue::None => Ok(None),
            other => serde_json::from_value(other.to_value()).map(Some),
        }
    }
}

/// One choice of the snapshot: its JSON without `message`, the message, and the parsed
/// values. Kept apart (rather than inside one JSON tree) so that a chunk reaches its
/// choice and message without hashing their keys.
#[derive(Clone, Debug, Default)]
pub(crate) struct ChoiceExtras {
    /// The choice's `index`.
    pub(crate) index: i64,
    /// The choice without `message` (`index`, `finish_reason`, `logprobs`, extras).
    pub(crate) json: Map<String, Value>,
    /// The accumulated message.
    pub(crate) message: Map<String, Value>,
    /// `message.parsed`.
    pub(crate) parsed: ParsedValue,
    /// The accumulated `logprobs` (`None`: null or absent, as in `json`).
    pub(crate) logprobs: Option<LogprobsAcc>,
    /// Whether the choice has a truthy `finish_reason`.
    pub(crate) finished: bool,
    /// `parsed_arguments` per tool call `index`.
    pub(crate) tools: Vec<(i64, ParsedValue)>,
}

impl ChoiceExtras {
    pub(crate) fn tool(&self, index: i64) -> Option<&ParsedValue> {
        self.tools.iter().find(|(i, _)| *i == index).map(|(_, p)| p)
    }

    pub(crate) fn tool_mut(&mut self, index: i64) -> &mut ParsedValue {
        let pos = match self.tools.iter().position(|(i, _)| *i == index) {
            Some(p) => p,
            None => {
                self.tools.push((index, ParsedValue::None));
                self.tools.len() - 1
            }
        };
        // `pos` is in bounds: found, or just pushed.
        &mut self.tools[pos].1
    }
}

/// The chat completion accumulated from the chunks so far.
///
/// It holds the completion as JSON, exactly as the reference SDK accumulates it (the top
/// level from the first chunk, `object: "chat.completion"`, each choice's deltas merged
/// into its `message`, unknown fields included), plus the `parsed` values. Read it with the
/// accessors, as JSON ([`to_json`](Self::to_json), [`to_reference_json`](Self::to_reference_json)),
/// or as a typed value ([`deserialize`](Self::deserialize)).
///
/// ```
/// use openai_sdk::chat::ChatCompletionStreamState;
/// use serde_json::json;
///
/// let mut state = ChatCompletionStreamState::new();
/// state.handle_chunk(&json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
///     "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}}]}))?;
/// state.handle_chunk(&json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
///     "choices": [{"index": 0, "delta": {"content": "lo", "x_extra": 1}}]}))?;
/// let snapshot = state.snapshot().unwrap();
/// assert_eq!(snapshot.content(0), Some("Hello"));
/// assert_eq!(snapshot.to_reference_json()["choices"][0]["message"]["content"], "Hello");
/// assert_eq!(snapshot.message(0).unwrap()["x_extra"], 1);
/// assert_eq!(snapshot.id(), Some("c1"));
/// # Ok::<(), openai_sdk::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct ChatCompletionSnapshot {
    /// The top level, without `choices`, `usage` and `system_fingerprint`.
    pub(crate) json: Map<String, Value>,
    /// `usage` and `system_fingerprint`, replaced by every chunk.
    pub(crate) usage: Value,
    pub(crate) system_fingerprint: Value,
    pub(crate) extras: Vec<ChoiceExtras>,
}

impl ChatCompletionSnapshot {
    /// The accumulated completion as JSON, without the `parsed` values. O(size of the
    /// snapshot).
    pub fn to_json(&self) -> Map<String, Value> {
        self.build(false, false)
    }

    /// [`to_json`](Self::to_json) with a `null` in place of each accumulated `logprobs`
    /// (at its place among the choice's keys), for [`fill_logprobs`](Self::fill_logprobs)
    /// to fill in later.
    pub(crate) fn to_json_without_logprobs(&self) -> Map<String, Value> {
        self.build(false, true)
    }

    /// Puts the accumulated `logprobs` into JSON made by
    /// [`to_json_without_logprobs`](Self::to_json_without_logprobs) (and maybe annotated).
    pub(crate) fn fill_logprobs(&self, json: &mut Value) {
        let Some(Value::Array(choices)) = json.get_mut("choices") else {
            return;
        };
        for (choice, extras) in choices.iter_mut().zip(&self.extras) {
            if let (Some(lp), Some(slot)) = (&extras.logprobs, choice.get_mut("logprobs")) {
                *slot = lp.to_json();
            }
        }
    }

    /// Whether a choice has accumulated `logprobs`.
    pub(crate) fn has_logprobs(&self) -> bool {
        self.extras.iter().any(|c| c.logprobs.is_some())
    }

    /// The completion in the reference SDK's shape: the JSON with each message's `parsed`
    /// and each function tool call's `parsed_arguments` filled in. O(size of the snapshot).
    pub fn to_reference_json(&self) -> Value {
        Value::Object(self.build(true, false))
    }

    fn build(&self, with_parsed: bool, defer_logprobs: bool) -> Map<String, Value> {
        let mut json = self.json.clone();
        json.insert("usage".into(), self.usage.clone());
        json.insert("system_fingerprint".into(), self.system_fingerprint.clone());
        let choices = self
            .extras
            .iter()
            .map(|c| {
                let mut choice = c.json.clone();
                if let Some(lp) = &c.logprobs {
                    let lp = if defer_logprobs {
                        Value::Null
                    } else {
                        lp.to_json()
                    };
                    choice.insert("logprobs".into(), lp);
                }
                choice.insert("message".into(), Value::Object(c.message.clone()));
                let mut choice = Value::Object(choice);
                if with_parsed {
                    attach_parsed(&mut choice, c);
                }
                choice
            })
            .collect();
        json.insert("choices".into(), Value::Array(choices));
        json
    }

    /// Deserializes the snapshot (in its reference shape) into a type, e.g.
    /// [`types::CreateChatCompletionResponse`](crate::types::CreateChatCompletionResponse)
    /// once the stream is over (mid-stream, required fields such as `finish_reason` may be
    /// missing).
    pub fn deserialize<T: serde::de::DeserializeOwned>(&self) -> Result<T, Error> {
        let value = self.to_reference_json();
        serde_json::from_value(value).map_err(|e| Error::Decode {
            what: std::any::type_name::<T>()
                .rsplit("::")
                .next()
                .unwrap_or("snapshot")
                .to_owned(),
            path: ".".into(),
            message: e.to_string(),
            snippet: String::new(),
        })
    }

    /// The completion's `id`.
    pub fn id(&self) -> Option<&str> {
        self.json.get("id").and_then(Value::as_str)
    }

    /// The `model`.
    pub fn model(&self) -> Option<&str> {
        self.json.get("model").and_then(Value::as_str)
    }

    /// The `usage` of the last chunk (`None` until a chunk carries it).
    pub fn usage(&self) -> Option<&Value> {
        Some(&self.usage).filter(|u| !u.is_null())
    }

    /// The `index` of each choice, in the order they first appeared.
    pub fn choice_indices(&self) -> impl Iterator<Item = i64> + '_ {
        self.extras.iter().map(|c| c.index)
    }

    pub(crate) fn position(&self, index: i64) -> Option<usize> {
        // Choices usually sit at the position equal to their index.
        let at = usize::try_from(index)
            .ok()
            .filter(|&i| self.extras.get(i).is_some_and(|c| c.index == index));
        at.or_else(|| self.extras.iter().position(|c| c.index == index))
    }

    fn choice_extras(&self, index: i64) -> Option<&ChoiceExtras> {
        self.extras.get(self.position(index)?)
    }

    /// The choice with this `index`, without its `message` and `logprobs` (`index`,
    /// `finish_reason`, and any other field the first chunk of the choice had).
    pub fn choice(&self, index: i64) -> Option<&Map<String, Value>> {
        Some(&self.choice_extras(index)?.json)
    }

    /// The `message` of the choice with this `index`.
    pub fn message(&self, index: i64) -> Option<&Map<String, Value>> {
        Some(&self.choice_extras(index)?.message)
    }

    /// The text content of a choice so far.
    pub fn content(&self, index: i64) -> Option<&str> {
        self.message(index)?.get("content")?.as_str()
    }

    /// The refusal of a choice so far.
    pub fn refusal(&self, index: i64) -> Option<&str> {
        self.message(index)?.get("refusal")?.as_str()
    }

    /// The reasoning text of a choice so far, as an OpenAI-compatible provider streams it:
    /// the message's `reasoning_content` (DeepSeek, vLLM, llama.cpp) or string `reasoning`
    /// (OpenRouter). `None` for OpenAI's own streams, which carry no reasoning text.
    pub fn reasoning(&self, index: i64) -> Option<&str> {
        reasoning_of(self.message(index)?)
    }

    /// The tool calls of a choice so far.
    pub fn tool_calls(&self, index: i64) -> &[Value] {
        match self.message(index).and_then(|m| m.get("tool_calls")) {
            Some(Value::Array(a)) => a,
            _ => &[],
        }
    }

    /// The `finish_reason` of a choice, once sent.
    pub fn finish_reason(&self, index: i64) -> Option<&str> {
        self.choice(index)?.get("finish_reason")?.as_str()
    }

    /// The `parsed` content of a choice (partial mid-stream, complete after `content.done`).
    pub fn parsed(&self, index: i64) -> &ParsedValue {
        static NONE: ParsedValue = ParsedValue::None;
        self.position(index)
            .and_then(|p| self.extras.get(p))
            .map_or(&NONE, |c| &c.parsed)
    }

    /// The `parsed_arguments` of a choice's tool call with this tool `index`.
    pub fn parsed_arguments(&self, choice: i64, tool: i64) -> &ParsedValue {
        static NONE: ParsedValue = ParsedValue::None;
        self.position(choice)
            .and_then(|p| self.extras.get(p))
            .and_then(|c| c.tool(tool))
            .unwrap_or(&NONE)
    }

    // ---- internal accessors by position -------------------------------------------------

    pub(crate) fn message_at(&self, pos: usize) -> Option<&Map<String, Value>> {
        Some(&self.extras.get(pos)?.message)
    }

    pub(crate) fn str_at(&self, pos: usize, key: &str) -> &str {
        self.message_at(pos)
            .and_then(|m| member(m, key))
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    pub(crate) fn tool_at(&self, pos: usize, tool_index: i64) -> Option<&Map<String, Value>> {
        find_tool(self.message_at(pos)?, tool_index)
    }

    pub(crate) fn logprobs_at(&self, pos: usize, refusal: bool) -> &RawTokens {
        self.extras
            .get(pos)
            .and_then(|c| c.logprobs.as_ref())
            .and_then(|l| l.list(refusal))
            .unwrap_or(&NO_TOKENS)
    }

    /// The accumulated logprob tokens of a choice's content (`refusal: false`) or refusal,
    /// as raw JSON (see [`RawTokens`]); none for a choice that has none.
    pub fn logprobs(&self, index: i64, refusal: bool) -> &RawTokens {
        self.position(index)
            .map_or(&NO_TOKENS, |pos| self.logprobs_at(pos, refusal))
    }
}

/// Finds a tool call by its `index` key in a message.
pub(crate) fn find_tool(
    message: &Map<String, Value>,
    tool_index: i64,
) -> Option<&Map<String, Value>> {
    let Some(Value::Array(calls)) = member(message, "tool_calls") else {
        return None;
    };
    // Usually the call is at the position equal to its index.
    let at = usize::try_from(tool_index).ok().and_then(|i| calls.get(i));
    let has_index = |c: &&Value| {
        c.as_object()
            .and_then(|c| member(c, "index"))
            .and_then(Value::as_i64)
            == Some(tool_index)
    };
    at.filter(has_index)
        .or_else(|| calls.iter().find(has_index))
        .and_then(Value::as_object)
}

fn attach_parsed(choice: &mut Value, extras: &ChoiceExtras) {
    let Some(message) = choice.get_mut("message").and_then(Value::as_object_mut) else {
        return;
    };
    message.insert("parsed".into(), extras.parsed.to_value());
    if let Some(Value::Array(calls)) = message.get_mut("tool_calls") {
        for call in calls {
            let index = call.get("index").and_then(Value::as_i64);
            let is_function = matches!(call.get("type"), None | Some(Value::Null))
                || call.get("type").and_then(Value::as_str) == Some("function");
            if !is_function {
                continue;
            }
            let parsed = index
                .and_then(|i| extras.tool(i))
                .map_or(Value::Null, ParsedValue::to_value);
            if let Some(function) = call.get_mut("function").and_then(Value::as_object_mut) {
                function.insert("parsed_arguments".into(), parsed);
            }
        }
    }
}

/// What to parse in a completion: the content (for a `json_schema` response format the
/// caller wants parsed) and the arguments of strict function tools.
///
/// ```
/// use openai_sdk::chat::ParseOptions;
/// use serde_json::json;
///
/// let options = ParseOptions::new()
///     .parse_content(true)
///     .tools(vec![json!({"type": "function", "function": {"name": "f", "strict": true, "parameters": {}}})]);
/// assert!(options.has_parseable_input());
/// ```
#[derive(Clone, Debug, Default)]
pub struct ParseOptions {
    pub(crate) parse_content: bool,
    /// `(name, strict)` of each function tool of the request, in order.
    pub(crate) tools: Vec<(String, bool)>,
    pub(crate) any_strict: bool,
    /// The tools as given, for validation.
    pub(crate) raw_tools: Vec<Value>,
    /// A tool call naming a function the request did not give is an error.
    pub(crate) deny_unknown_tools: bool,
    /// The name of the response format parsed, for error messages.
    pub(crate) format_name: Option<Arc<str>>,
}

impl ParseOptions {
    /// Parse nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parse the message content as JSON (partially while streaming, fully at
    /// `content.done` and in the final completion), as the reference does for a response
    /// format given as a type.
    pub fn parse_content(mut self, yes: bool) -> Self {
        self.parse_content = yes;
        self
    }

    /// Parse the content for this `json_schema` response format (the dynamic form of a
    /// type's format: the parsed content is JSON). Errors name the format.
    ///
    /// ```
    /// use openai_sdk::chat::ParseOptions;
    /// use openai_sdk::parsing::JsonSchemaFormat;
    /// let format = JsonSchemaFormat::from_schema("n", serde_json::json!({"type": "object", "properties": {}}))?;
    /// assert!(ParseOptions::new().response_format(&format).has_parseable_input());
    /// # Ok::<(), openai_sdk::Error>(())
    /// ```
    pub fn response_format(mut self, format: &crate::parsing::JsonSchemaFormat) -> Self {
        self.format_name = Some(Arc::from(format.name.as_str()));
        self.parse_content(true)
    }

    /// The request's tools (JSON, as sent): function tools with `strict: true` get
    /// `parsed_arguments`.
    pub fn tools(mut self, tools: Vec<Value>) -> Self {
        self.tools = tools
            .iter()
            .filter(|t| t.get("type").and_then(Value::as_str) == Some("function"))
            .filter_map(|t| {
                let f = t.get("function")?;
                let name = f.get("name")?.as_str()?.to_owned();
                let strict = f.get("strict").and_then(Value::as_bool).unwrap_or(false);
                Some((name, strict))
            })
            .collect();
        self.any_strict = self.tools.iter().any(|(_, s)| *s);
        self.raw_tools = tools;
        self
    }

    /// Makes a tool call that names a function not among [`tools`](Self::tools) an
    /// [`Error::UnknownTool`] (the reference leaves its `parsed_arguments` null).
    /// [`Chat::parse`](super::Chat::parse) and the parse streams turn this on.
    pub fn deny_unknown_tools(mut self, yes: bool) -> Self {
        self.deny_unknown_tools = yes;
        self
    }

    /// Whether anything is parsed (content, or strict tools' arguments): then
    /// `finish_reason` `length` / `content_filter` is an error, mid-stream and in the final
    /// completion. With nothing to parse, a completion that stopped there is returned with
    /// its `finish_reason`.
    pub fn has_parseable_input(&self) -> bool {
        self.parse_content || self.any_strict
    }

    /// Whether the first tool with this function name is strict (`None`: no such tool).
    pub(crate) fn tool_strict(&self, name: &str) -> Option<bool> {
        self.tools.iter().find(|(n, _)| n == name).map(|(_, s)| *s)
    }

    /// Checks that every tool can be auto-parsed (as `.parse()` does before sending):
    /// function tools with `strict: true` only.
    pub fn validate_tools(&self) -> Result<(), Error> {
        for tool in &self.raw_tools {
            let ty = tool.get("type").and_then(Value::as_str).unwrap_or("");
            if ty != "function" {
                return Err(Error::InvalidRequest(format!(
                    "only `function` tools support auto-parsing; received `{ty}`"
                )));
            }
            let function = tool.get("function");
            if function
                .and_then(|f| f.get("strict"))
                .and_then(Value::as_bool)
                != Some(true)
            {
                let name = function
                    .and_then(|f| f.get("name"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                return Err(Error::InvalidRequest(format!(
                    "`{name}` is not strict. Only `strict` function tools can be auto-parsed"
                )));
            }
        }
        Ok(())
    }
}

/// What `serde_json` reads from `text`, taken from the tree of a partial parser that read
/// `text` (the whole of it: a text that only grows is the same text at the same length),
/// when it vouches for that ([`PartialJson::finish_as_serde_json`]): no second parse.
pub(crate) fn tree_of(read: Option<&PartialJson>, text: &str) -> Option<Value> {
    read.filter(|p| p.len() == text.len())?
        .finish_as_serde_json()
}

/// Strict parse of message content: an [`Error::Validation`] with the path and the raw
/// text when it is not JSON.
pub(crate) fn parse_content_strict(
    content: &str,
    choice: i64,
    options: &ParseOptions,
) -> Result<Value, Error> {
    ValidationError::json(content, &format!("the content of choice {choice}"), false).map_err(
        |mut e| {
            if let Some(name) = &options.format_name {
                e.target = format!("JSON (response format `{name}`)");
            }
            Error::Validation(e)
        },
    )
}

/// Strict parse of function arguments (`None` for a tool that is not strict, or unknown
/// unless unknown tools are denied). `read`: a partial parser that may have read the
/// arguments already (see [`tree_of`]).
pub(crate) fn parse_arguments(
    options: &ParseOptions,
    function: Option<&Map<String, Value>>,
    choice: i64,
    tool: i64,
    read: Option<&PartialJson>,
) -> Result<Option<Value>, Error> {
    let name = function
        .and_then(|f| f.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("");
    match options.tool_strict(name) {
        Some(true) => {}
        None if options.deny_unknown_tools => {
            let known: Vec<&str> = options.tools.iter().map(|(n, _)| n.as_str()).collect();
            return Err(Error::UnknownTool {
                what: format!("tool call {tool} of choice {choice}"),
                name: name.to_owned(),
                known: if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                },
            });
        }
        _ => return Ok(None),
    }
    let arguments = function
        .and_then(|f| f.get("arguments"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if let Some(value) = tree_of(read, arguments) {
        return Ok(Some(value));
    }
    ValidationError::json(
        arguments,
        &format!("the arguments of tool call {tool} (`{name}`) of choice {choice}"),
        true,
    )
    .map(Some)
    .map_err(Error::Validation)
}

/// Parses a finished completion like the reference `parse_chat_completion`: each message
/// gets `parsed` (its content parsed as JSON when `options` asks for it, unless it is a
/// refusal) and each function tool call gets `parsed_arguments` (for strict tools).
///
/// When there is something to parse ([`ParseOptions::has_parseable_input`]: a response
/// format to parse or strict tools), a choice that stopped for `length` or `content_filter`
/// is [`Error::LengthFinishReason`] / [`Error::ContentFilterFinishReason`]: the output was
/// cut off before it could be parsed. With nothing to parse, such a completion is returned
/// as it is, its `finish_reason` telling why it stopped (the reference raises here too; a
/// deliberate difference, as openai-python PR #3589).
///
/// The result holds `parsed` as JSON; [`parse_chat_completion_as`] deserializes it into a
/// Rust type.
///
/// ```
/// use openai_sdk::chat::{parse_chat_completion, ParseOptions};
/// use serde_json::json;
///
/// let completion = json!({"id": "c1", "object": "chat.completion", "created": 1, "model": "m",
///     "choices": [{"index": 0, "finish_reason": "stop",
///                  "message": {"role": "assistant", "content": "{\"city\": \"Paris\"}"}}]});
/// let options = ParseOptions::new().parse_content(true);
/// let parsed = parse_chat_completion(completion.as_object().unwrap(), &options)?;
/// assert_eq!(parsed.parsed(0), Some(&json!({"city": "Paris"})));
/// # Ok::<(), openai_sdk::Error>(())
/// ```
pub fn parse_chat_completion(
    completion: &Map<String, Value>,
    options: &ParseOptions,
) -> Result<ParsedChatCompletion, Error> {
    parse_chat_completion_with(completion, options, fit_json)
}

/// [`parse_chat_completion`], with each choice's `parsed` deserialized into `T`: content
/// that does not fit `T` is an [`Error::Validation`] naming the JSON path and keeping the
/// content.
///
/// ```
/// use openai_sdk::chat::{parse_chat_completion_as, ParseOptions};
/// use serde_json::json;
///
/// #[derive(serde::Deserialize, Debug, PartialEq)]
/// struct City { city: String }
///
/// let completion = json!({"id": "c1", "object": "chat.completion", "created": 1, "model": "m",
///     "choices": [{"index": 0, "finish_reason": "stop",
///                  "message": {"role": "assistant", "content": "{\"city\": \"Paris\"}"}}]});
/// let options = ParseOptions::new().parse_content(true);
/// let parsed = parse_chat_completion_as::<City>(completion.as_object().unwrap(), &options)?;
/// assert_eq!(parsed.choices[0].message.parsed, Some(City { city: "Paris".into() }));
/// # Ok::<(), openai_sdk::Error>(())
/// ```
pub fn parse_chat_completion_as<T: serde::de::DeserializeOwned>(
    completion: &Map<String, Value>,
    options: &ParseOptions,
) -> Result<ParsedChatCompletion<T>, Error> {
    parse_chat_completion_with(completion, options, fit_as::<T>)
}

/// [`parse_chat_completion_as`], each `parsed` made a `T` by `fit`.
fn parse_chat_completion_with<T: serde::de::DeserializeOwned>(
    completion: &Map<String, Value>,
    options: &ParseOptions,
    fit: Fit<T>,
) -> Result<ParsedChatCompletion<T>, Error> {
    let mut json = completion.clone();
    annotate(
        &mut json,
        completion,
        options,
        &mut |_, _| None,
        &mut Vec::new(),
    )?;
    ParsedChatCompletion::from_reference_json_with(Value::Object(json), Vec::new(), fit)
}

/// [`parse_chat_completion_as`] of a completion the caller gives up: no copy of it (a
/// long stream's logprobs make that copy the larger part of the work) unless a choice
/// stopped for `length` or `content_filter` with something to parse, whose error carries
/// the completion as it was.
///
/// `reuse(position, content)` may give the content of the choice at `position` already
/// parsed (strictly, as [`parse_content_strict`] does), which is then not parsed again; its
/// copy in the completion's JSON (`message.parsed`) is made when the JSON is first read:
/// from the values `reuse` gave when `keep` (the caller holds them too), else by reading
/// the content again (the caller gave them up: `parsed` takes them without a copy).
pub(crate) fn parse_owned_chat_completion_as<T: serde::de::DeserializeOwned>(
    mut completion: Map<String, Value>,
    options: &ParseOptions,
    reuse: &mut dyn FnMut(usize, &str) -> Option<Arc<Value>>,
    keep: bool,
    fit: Fit<T>,
) -> Result<ParsedChatCompletion<T>, Error> {
    let stopped_early = options.has_parseable_input()
        && completion
            .get("choices")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|c| {
                matches!(
                    c.get("finish_reason").and_then(Value::as_str),
                    Some("length" | "content_filter")
                )
            });
    if stopped_early {
        return parse_chat_completion_with(&completion, options, fit);
    }
    let mut reused = Vec::new();
    annotate(&mut completion, &Map::new(), options, reuse, &mut reused)?;
    let positions: Vec<usize> = reused.iter().map(|(position, _)| *position).collect();
    let kept = if keep { reused.clone() } else { Vec::new() };
    let parsed =
        ParsedChatCompletion::from_reference_json_with(Value::Object(completion), reused, fit)?;
    if positions.is_empty() {
        return Ok(parsed);
    }
    Ok(parsed.defer_json(Arc::new(move |json| {
        // The `null` left at each reused `parsed`'s place gets the value.
        let Some(Value::Array(choices)) = json.get_mut("choices") else {
            return;
        };
        for (i, position) in positions.iter().enumerate() {
            let Some(message) = choices
                .get_mut(*position)
                .and_then(|c| c.get_mut("message"))
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            let value = match kept.get(i) {
                Some((_, value)) => Value::clone(value),
                // The content parsed strictly before, so it parses again to the same value.
                None => message
                    .get("content")
                    .and_then(Value::as_str)
                    .and_then(|content| serde_json::from_str(content).ok())
                    .unwrap_or(Value::Null),
            };
            if let Some(slot) = message.get_mut("parsed") {
                *slot = value;
            }
        }
    })))
}

/// Adds `parsed` and `parsed_arguments` to `json` in place, choice by choice as the
/// reference does; with something to parse, a choice that stopped for `length` or
/// `content_filter` is an error carrying `original`. A content `reuse` gives already
/// parsed is not copied into `json`: its `parsed` is a `null` placeholder (at the key's
/// place), and the value is added to `reused` with the choice's position.
fn annotate(
    json: &mut Map<String, Value>,
    original: &Map<String, Value>,
    options: &ParseOptions,
    reuse: &mut dyn FnMut(usize, &str) -> Option<Arc<Value>>,
    reused: &mut Vec<(usize, Arc<Value>)>,
) -> Result<(), Error> {
    let completion = original;
    let check_finish = options.has_parseable_input();
    if let Some(Value::Array(choices)) = json.get_mut("choices") {
        for (position, choice) in choices.iter_mut().enumerate() {
            let index = choice.get("index").and_then(Value::as_i64).unwrap_or(0);
            let finish_reason = choice.get("finish_reason").and_then(Value::as_str);
            match finish_reason.filter(|_| check_finish) {
                Some("length") => {
                    return Err(Error::LengthFinishReason {
                        completion: Box::new(Value::Object(completion.clone())),
                    })
                }
                Some("content_filter") => {
                    return Err(Error::ContentFilterFinishReason {
                        completion: Box::new(Value::Object(completion.clone())),
                    })
                }
                _ => {}
            }
            let Some(message) = choice.get_mut("message").and_then(Value::as_object_mut) else {
                continue;
            };
            let parsed = if options.parse_content
                && truthy_str(message.get("content"))
                && !truthy_str(message.get("refusal"))
            {
                let content = message.get("content").and_then(Value::as_str).unwrap_or("");
                match reuse(position, content) {
                    Some(parsed) => {
                        reused.push((position, parsed));
                        Value::Null
                    }
                    None => parse_content_strict(content, index, options)?,
                }
            } else {
                Value::Null
            };
            message.insert("parsed".into(), parsed);
            if let Some(Value::Array(calls)) = message.get_mut("tool_calls") {
                for call in calls.iter_mut() {
                    let is_function = call
                        .get("type")
                        .and_then(Value::as_str)
                        .is_none_or(|t| t == "function");
                    if !is_function {
                        continue;
                    }
                    let tool = call.get("index").and_then(Value::as_i64).unwrap_or(0);
                    let parsed = parse_arguments(
                        options,
                        call.get("function").and_then(Value::as_object),
                        index,
                        tool,
                        None,
                    )?
                    .unwrap_or(Value::Null);
                    if let Some(function) = call.get_mut("function").and_then(Value::as_object_mut)
                    {
                        function.insert("parsed_arguments".into(), parsed);
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tokens spread over many buffers (a full one is kept, the next is larger, a token
    /// longer than the largest gets one of its own size) read back as they were pushed, and
    /// a clone (whose buffers are full) that grows on equals a list built in one go.
    #[test]
    fn tokens_over_many_buffers_read_back_whole_and_in_order() {
        use std::hash::{BuildHasher, RandomState};
        let texts: Vec<String> = (0..3_000)
            .map(|i| match i {
                1_000 => format!(r#"{{"token":"{}"}}"#, "x".repeat(RawTokens::MAX_BUFFER * 2)),
                i => format!(r#"{{"token":"{}","i":{i}}}"#, "y".repeat(i % 97)),
            })
            .collect();
        let mut tokens = RawTokens::default();
        let mut cloned = None;
        for (i, text) in texts.iter().enumerate() {
            tokens.push(text);
            if i == 1_500 {
                cloned = Some(tokens.clone());
            }
        }
        assert!(
            tokens.buffers.len() > 10,
            "{} buffers",
            tokens.buffers.len()
        );
        assert!(tokens
            .buffers
            .iter()
            .all(|b| b.capacity() <= RawTokens::MAX_BUFFER || b.len() == b.capacity()));
        assert_eq!(tokens.len(), texts.len());
        assert!(tokens.iter().eq(texts.iter().map(String::as_str)));
        assert!(tokens
            .iter()
            .rev()
            .eq(texts.iter().rev().map(String::as_str)));
        for (i, text) in texts.iter().enumerate() {
            assert_eq!(tokens.get(i), Some(text.as_str()), "token {i}");
        }
        assert_eq!(tokens.get(texts.len()), None);

        let mut cloned = cloned.expect("cloned at token 1,500");
        assert_ne!(cloned, tokens);
        for text in &texts[1_501..] {
            cloned.push(text);
        }
        assert_eq!(cloned, tokens);
        let hasher = RandomState::new();
        assert_eq!(hasher.hash_one(&cloned), hasher.hash_one(&tokens));
        assert_eq!(RawTokens::default(), NO_TOKENS);
        assert_eq!(NO_TOKENS.get(0), None);
    }

    /// Every way of walking a token list (from either end, skipping, over a clamped range)
    /// gives what the same walk over a `Vec` of the texts gives.
    #[test]
    fn token_iterators_agree_with_a_slice() {
        let texts: Vec<String> = (0..5).map(|i| format!(r#"{{"token":"{i}"}}"#)).collect();
        for len in 0..=texts.len() {
            let mut tokens = RawTokens::default();
            for text in &texts[..len] {
                tokens.push(text);
            }
            let slice: Vec<&str> = texts[..len].iter().map(String::as_str).collect();
            assert_eq!(tokens.len(), len);
            assert_eq!(tokens.iter().collect::<Vec<_>>(), slice);
            for (i, text) in slice.iter().enumerate() {
                assert_eq!(tokens.get(i), Some(*text));
            }
            assert_eq!(tokens.get(len), None);
            // Walks of up to three steps: (from the back, skip n).
            let steps: Vec<(bool, usize)> = [false, true]
                .into_iter()
                .flat_map(|back| (0..3).map(move |n| (back, n)))
                .collect();
            for start in 0..=len + 1 {
                for end in 0..=len + 1 {
                    let clamped_end = end.min(len);
                    let expected = &slice[start.min(clamped_end)..clamped_end];
                    for a in &steps {
                        for b in &steps {
                            for c in &steps {
                                let mut ours = tokens.range(start..end);
                                let mut theirs = expected.iter().copied();
                                for &(back, n) in [a, b, c] {
                                    let (x, y) = if back {
                                        (ours.nth_back(n), theirs.nth_back(n))
                                    } else {
                                        (ours.nth(n), theirs.nth(n))
                                    };
                                    assert_eq!(x, y, "{start}..{end} of {len}: {a:?} {b:?} {c:?}");
                                    assert_eq!(ours.len(), theirs.len());
                                }
                                assert_eq!(ours.clone().last(), theirs.clone().last());
                                assert_eq!(ours.count(), theirs.count());
                            }
                        }
                    }
                }
            }
        }
    }
}
