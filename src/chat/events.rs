//! The events of a chat completion stream.
//!
//! Events are cheap: the accumulated values they show (`snapshot`, `arguments`, the
//! logprob lists) are views into the one shared snapshot ([`Arc`]), not copies, and
//! `parsed` values are built only when read. See the [module docs](super) for what a
//! consumer that keeps every event pays.

use std::fmt;
use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::snapshot::{ChatCompletionSnapshot, ParsedValue, RawTokensIter};
use crate::error::ValidationError;
use crate::Error;

/// The chunk of a [`ChatCompletionStreamEvent::Chunk`] event: its JSON text as received,
/// decoded only when asked for (most consumers never look at it).
#[derive(Clone)]
pub struct ChunkData {
    text: Arc<String>,
}

impl ChunkData {
    pub(crate) fn new(text: String) -> Self {
        ChunkData {
            text: Arc::new(text),
        }
    }

    /// The JSON text as received.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The chunk as a JSON map (a missing or null `choices` shows as `[]`). O(size of the
    /// chunk) per call.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut map = match serde_json::from_str::<Value>(&self.text) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        if !matches!(map.get("choices"), Some(Value::Array(_))) {
            map.insert("choices".into(), Value::Array(Vec::new()));
        }
        map
    }

    /// The chunk decoded into the generated type (an error when it lacks a field that
    /// type requires, as some compatible providers' chunks do).
    pub fn typed(
        &self,
    ) -> Result<crate::types::CreateChatCompletionStreamResponse, serde_json::Error> {
        serde_json::from_str(&self.text)
    }
}

impl fmt::Debug for ChunkData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Which accumulated text a [`TextSnapshot`] shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TextField {
    Content,
    Refusal,
    Arguments(i64),
    /// The message field a compatible provider streams its reasoning in
    /// (`reasoning_content` or `reasoning`).
    Reasoning(&'static str),
}

/// The accumulated text of a choice (content, refusal, or a tool call's arguments) as it
/// was after the chunk that produced the event. Dereferences to `str`; holding it keeps the
/// snapshot it points into alive (no copy is made).
///
/// ```
/// use openai_sdk::chat::{ChatCompletionStreamEvent, ChatCompletionStreamState};
/// use serde_json::json;
///
/// let mut state = ChatCompletionStreamState::new();
/// state.handle_chunk(&json!({"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
///     "choices": [{"index": 0, "delta": {"content": "Hi"}}]}))?;
/// let events = state.handle_chunk(&json!({"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
///     "choices": [{"index": 0, "delta": {"content": " there"}}]}))?;
/// let ChatCompletionStreamEvent::ContentDelta { snapshot, delta, .. } = &events[1] else { panic!() };
/// assert_eq!(delta, " there");
/// assert_eq!(&**snapshot, "Hi there");
/// # Ok::<(), openai_sdk::Error>(())
/// ```
#[derive(Clone)]
pub struct TextSnapshot {
    completion: Arc<ChatCompletionSnapshot>,
    choice_pos: usize,
    field: TextField,
}

impl TextSnapshot {
    pub(crate) fn new(
        completion: Arc<ChatCompletionSnapshot>,
        choice_pos: usize,
        field: TextField,
    ) -> Self {
        TextSnapshot {
            completion,
            choice_pos,
            field,
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        match self.field {
            TextField::Content => self.completion.str_at(self.choice_pos, "content"),
            TextField::Refusal => self.completion.str_at(self.choice_pos, "refusal"),
            TextField::Reasoning(key) => self.completion.str_at(self.choice_pos, key),
            TextField::Arguments(tool) => self
                .completion
                .tool_at(self.choice_pos, tool)
                .and_then(|t| t.get("function"))
                .and_then(|f| f.get("arguments"))
                .and_then(Value::as_str)
                .unwrap_or(""),
        }
    }
}

crate::streaming::text_view!(TextSnapshot);

/// Logprob tokens of a choice (`content` or `refusal`): all of them as they were after
/// the chunk that produced the event, or only those that chunk added. A view of the
/// snapshot's [`RawTokens`](super::RawTokens) (the JSON text of each `{"token", "logprob", "bytes",
/// "top_logprobs"}` object), made without copying them; [`to_values`](Self::to_values)
/// decodes them.
#[derive(Clone)]
pub struct TokensSnapshot {
    completion: Arc<ChatCompletionSnapshot>,
    choice_pos: usize,
    refusal: bool,
    /// Only the last `n` tokens (those of the event's chunk).
    last: Option<usize>,
}

impl TokensSnapshot {
    pub(crate) fn new(
        completion: Arc<ChatCompletionSnapshot>,
        choice_pos: usize,
        refusal: bool,
        last: Option<usize>,
    ) -> Self {
        TokensSnapshot {
            completion,
            choice_pos,
            refusal,
            last,
        }
    }

    /// The JSON texts of the tokens, in order.
    pub fn iter(&self) -> RawTokensIter<'_> {
        let all = self.completion.logprobs_at(self.choice_pos, self.refusal);
        let start = match self.last {
            Some(n) => all.len().saturating_sub(n),
            None => 0,
        };
        all.range(start..all.len())
    }

    /// How many tokens there are.
    pub fn len(&self) -> usize {
        self.iter().len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The JSON text of the token at `index` (counted from the first token of the view).
    /// O(1).
    pub fn get(&self, index: usize) -> Option<&str> {
        self.iter().nth(index)
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

impl<'a> IntoIterator for &'a TokensSnapshot {
    type Item = &'a str;
    type IntoIter = RawTokensIter<'a>;
    fn into_iter(self) -> RawTokensIter<'a> {
        self.iter()
    }
}

impl fmt::Debug for TokensSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.iter(), f)
    }
}

/// One event of a chat completion stream, with the reference SDK's semantics (see
/// `REFERENCE.md`): for each chunk, [`Chunk`](Self::Chunk) first, then per choice the delta
/// events, then that choice's done events.
///
/// `choice_index` is the `index` of the choice the event is about (the reference events do
/// not carry it; it matters for `n > 1`).
///
/// `P` is the type of [`ContentDone`](Self::ContentDone)'s `parsed`: a [`ParsedValue`]
/// (JSON) on the streams of [`Chat::stream`](super::Chat::stream), `Option<T>` on a
/// [`ParsedChatCompletionStream<T>`](super::ParsedChatCompletionStream).
///
/// ```
/// use openai_sdk::chat::{ChatCompletionStreamEvent, ChatCompletionStreamState};
/// use serde_json::json;
///
/// let mut state = ChatCompletionStreamState::new();
/// let events = state.handle_chunk(&json!({"id": "c", "object": "chat.completion.chunk", "created": 0,
///     "model": "m", "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}]}))?;
/// let names: Vec<&str> = events.iter().map(|e| e.event_type()).collect();
/// assert_eq!(names, ["chunk", "content.delta", "content.done"]);
/// assert_eq!(events[2].to_reference_json(), json!({"type": "content.done", "content": "Hi", "parsed": null}));
/// # Ok::<(), openai_sdk::Error>(())
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ChatCompletionStreamEvent<P = ParsedValue> {
    /// A chunk arrived; `snapshot` is the completion after it (done-event updates included).
    Chunk {
        /// The chunk, as received.
        chunk: ChunkData,
        /// The accumulated completion after this chunk.
        snapshot: Arc<ChatCompletionSnapshot>,
    },
    /// New content text.
    ContentDelta {
        /// The choice's `index`.
        choice_index: i64,
        /// The new text (may be empty: the first chunk's `content: ""`).
        delta: String,
        /// All the content so far.
        snapshot: TextSnapshot,
        /// The partial parse of the content so far (only when content parsing is on).
        parsed: ParsedValue,
    },
    /// The content is complete.
    ContentDone {
        /// The choice's `index`.
        choice_index: i64,
        /// The whole content.
        content: TextSnapshot,
        /// The content parsed (only when content parsing is on; `None`/`ParsedValue::None`
        /// when the model refused).
        parsed: P,
    },
    /// New refusal text.
    RefusalDelta {
        /// The choice's `index`.
        choice_index: i64,
        /// The new text.
        delta: String,
        /// The whole refusal so far.
        snapshot: TextSnapshot,
    },
    /// The refusal is complete.
    RefusalDone {
        /// The choice's `index`.
        choice_index: i64,
        /// The whole refusal.
        refusal: TextSnapshot,
    },
    /// A fragment of a function tool call's arguments.
    ToolCallArgumentsDelta {
        /// The choice's `index`.
        choice_index: i64,
        /// The function name.
        name: Option<String>,
        /// The tool call's `index`.
        index: i64,
        /// All the arguments so far.
        arguments: TextSnapshot,
        /// The partial parse of the arguments (strict tools only).
        parsed_arguments: ParsedValue,
        /// The new fragment (`""` when the fragment had none).
        arguments_delta: String,
    },
    /// A function tool call's arguments are complete.
    ToolCallArgumentsDone {
        /// The choice's `index`.
        choice_index: i64,
        /// The function name.
        name: Option<String>,
        /// The tool call's `index`.
        index: i64,
        /// The whole arguments.
        arguments: TextSnapshot,
        /// The parsed arguments (strict tools only).
        parsed_arguments: ParsedValue,
    },
    /// New content logprob tokens.
    LogprobsContentDelta {
        /// The choice's `index`.
        choice_index: i64,
        /// The tokens of this chunk.
        content: TokensSnapshot,
        /// All the tokens so far.
        snapshot: TokensSnapshot,
    },
    /// The content logprobs are complete.
    LogprobsContentDone {
        /// The choice's `index`.
        choice_index: i64,
        /// All the tokens.
        content: TokensSnapshot,
    },
    /// New refusal logprob tokens.
    LogprobsRefusalDelta {
        /// The choice's `index`.
        choice_index: i64,
        /// The tokens of this chunk.
        refusal: TokensSnapshot,
        /// All the tokens so far.
        snapshot: TokensSnapshot,
    },
    /// The refusal logprobs are complete.
    LogprobsRefusalDone {
        /// The choice's `index`.
        choice_index: i64,
        /// All the tokens.
        refusal: TokensSnapshot,
    },
    /// New reasoning text from an OpenAI-compatible provider: a delta carrying a string
    /// `reasoning_content` (DeepSeek, vLLM, llama.cpp) or `reasoning` (OpenRouter). Not part
    /// of the reference SDK's events and never emitted for a stream without those fields
    /// (OpenAI's own streams), so those streams' events are unchanged.
    ReasoningDelta {
        /// The choice's `index`.
        choice_index: i64,
        /// The new text (never empty).
        delta: String,
        /// All the reasoning so far.
        snapshot: TextSnapshot,
    },
    /// The reasoning is complete: the choice's answer (content, refusal or a tool call)
    /// began, or the choice finished. A model that reasons again later (interleaved
    /// thinking) gives a new run of [`ReasoningDelta`](Self::ReasoningDelta)s and another
    /// `ReasoningDone`; the snapshot holds all of its reasoning.
    ReasoningDone {
        /// The choice's `index`.
        choice_index: i64,
        /// The whole reasoning so far.
        reasoning: TextSnapshot,
    },
}

impl<P> ChatCompletionStreamEvent<P> {
    /// The reference name of the event: `chunk`, `content.delta`, `content.done`,
    /// `refusal.delta`, `refusal.done`, `tool_calls.function.arguments.delta`,
    /// `tool_calls.function.arguments.done`, `logprobs.content.delta`,
    /// `logprobs.content.done`, `logprobs.refusal.delta` or `logprobs.refusal.done`;
    /// `reasoning.delta` or `reasoning.done` for a compatible provider's reasoning.
    pub fn event_type(&self) -> &'static str {
        use ChatCompletionStreamEvent::*;
        match self {
            Chunk { .. } => "chunk",
            ContentDelta { .. } => "content.delta",
            ContentDone { .. } => "content.done",
            RefusalDelta { .. } => "refusal.delta",
            RefusalDone { .. } => "refusal.done",
            ToolCallArgumentsDelta { .. } => "tool_calls.function.arguments.delta",
            ToolCallArgumentsDone { .. } => "tool_calls.function.arguments.done",
            LogprobsContentDelta { .. } => "logprobs.content.delta",
            LogprobsContentDone { .. } => "logprobs.content.done",
            LogprobsRefusalDelta { .. } => "logprobs.refusal.delta",
            LogprobsRefusalDone { .. } => "logprobs.refusal.done",
            ReasoningDelta { .. } => "reasoning.delta",
            ReasoningDone { .. } => "reasoning.done",
        }
    }

    /// The `index` of the choice the event is about (`None` for [`Chunk`](Self::Chunk)).
    pub fn choice_index(&self) -> Option<i64> {
        use ChatCompletionStreamEvent::*;
        match self {
            Chunk { .. } => None,
            ContentDelta { choice_index, .. }
            | ContentDone { choice_index, .. }
            | RefusalDelta { choice_index, .. }
            | RefusalDone { choice_index, .. }
            | ToolCallArgumentsDelta { choice_index, .. }
            | ToolCallArgumentsDone { choice_index, .. }
            | LogprobsContentDelta { choice_index, .. }
            | LogprobsContentDone { choice_index, .. }
            | LogprobsRefusalDelta { choice_index, .. }
            | LogprobsRefusalDone { choice_index, .. }
            | ReasoningDelta { choice_index, .. }
            | ReasoningDone { choice_index, .. } => Some(*choice_index),
        }
    }

    /// For a [`Chunk`](Self::Chunk) event, the chunk decoded into the generated type
    /// (`None` for other events; an error when the chunk lacks a field that type requires).
    pub fn typed_chunk(
        &self,
    ) -> Option<Result<crate::types::CreateChatCompletionStreamResponse, serde_json::Error>> {
        match self {
            ChatCompletionStreamEvent::Chunk { chunk, .. } => Some(chunk.typed()),
            _ => None,
        }
    }

    /// Turns the `parsed` value of a [`ContentDone`](Self::ContentDone) event into
    /// another type; the other events are unchanged.
    pub fn try_map_done<Q, E>(
        self,
        f: impl FnOnce(i64, &TextSnapshot, P) -> Result<Q, E>,
    ) -> Result<ChatCompletionStreamEvent<Q>, E> {
        use ChatCompletionStreamEvent as E2;
        Ok(match self {
            E2::Chunk { chunk, snapshot } => E2::Chunk { chunk, snapshot },
            E2::ContentDelta {
                choice_index,
                delta,
                snapshot,
                parsed,
            } => E2::ContentDelta {
                choice_index,
                delta,
                snapshot,
                parsed,
            },
            E2::ContentDone {
                choice_index,
                content,
                parsed,
            } => {
                let parsed = f(choice_index, &content, parsed)?;
                E2::ContentDone {
                    choice_index,
                    content,
                    parsed,
                }
            }
            E2::RefusalDelta {
                choice_index,
                delta,
                snapshot,
            } => E2::RefusalDelta {
                choice_index,
                delta,
                snapshot,
            },
            E2::RefusalDone {
                choice_index,
                refusal,
            } => E2::RefusalDone {
                choice_index,
                refusal,
            },
            E2::ToolCallArgumentsDelta {
                choice_index,
                name,
                index,
                arguments,
                parsed_arguments,
                arguments_delta,
            } => E2::ToolCallArgumentsDelta {
                choice_index,
                name,
                index,
                arguments,
                parsed_arguments,
                arguments_delta,
            },
            E2::ToolCallArgumentsDone {
                choice_index,
                name,
                index,
                arguments,
                parsed_arguments,
            } => E2::ToolCallArgumentsDone {
                choice_index,
                name,
                index,
                arguments,
                parsed_arguments,
            },
            E2::LogprobsContentDelta {
                choice_index,
                content,
                snapshot,
            } => E2::LogprobsContentDelta {
                choice_index,
                content,
                snapshot,
            },
            E2::LogprobsContentDone {
                choice_index,
                content,
            } => E2::LogprobsContentDone {
                choice_index,
                content,
            },
            E2::LogprobsRefusalDelta {
                choice_index,
                refusal,
                snapshot,
            } => E2::LogprobsRefusalDelta {
                choice_index,
                refusal,
                snapshot,
            },
            E2::LogprobsRefusalDone {
                choice_index,
                refusal,
            } => E2::LogprobsRefusalDone {
                choice_index,
                refusal,
            },
            E2::ReasoningDelta {
                choice_index,
                delta,
                snapshot,
            } => E2::ReasoningDelta {
                choice_index,
                delta,
                snapshot,
            },
            E2::ReasoningDone {
                choice_index,
                reasoning,
            } => E2::ReasoningDone {
                choice_index,
                reasoning,
            },
        })
    }

    /// For a [`ToolCallArgumentsDone`](Self::ToolCallArgumentsDone) event, the arguments
    /// deserialized into `A` (`None` for other events). An error names the JSON path and
    /// keeps the arguments.
    pub fn parse_arguments<A: serde::de::DeserializeOwned>(
        &self,
    ) -> Option<Result<A, crate::Error>> {
        let ChatCompletionStreamEvent::ToolCallArgumentsDone {
            choice_index,
            name,
            index,
            arguments,
            parsed_arguments,
        } = self
        else {
            return None;
        };
        let what = format!(
            "the arguments of tool call {index} (`{}`) of choice {choice_index}",
            name.as_deref().unwrap_or("")
        );
        Some(parse_arguments_as::<A>(
            arguments.as_str(),
            parsed_arguments,
            &what,
        ))
    }
}

impl ChatCompletionStreamEvent {
    /// The event as the reference SDK would dump it: `type` plus the reference field names
    /// (the `chunk` event's snapshot in the reference shape, with `parsed` values). This
    /// is what the `replay` example prints. O(size of the values shown).
    pub fn to_reference_json(&self) -> Value {
        use ChatCompletionStreamEvent::*;
        let text = |t: &TextSnapshot| Value::String(t.as_str().to_owned());
        let tokens = |t: &TokensSnapshot| Value::Array(t.to_values());
        match self {
            Chunk { chunk, snapshot } => json!({
                "type": "chunk",
                "chunk": Value::Object(chunk.to_json()),
                "snapshot": snapshot.to_reference_json(),
            }),
            ContentDelta {
                delta,
                snapshot,
                parsed,
                ..
            } => json!({
                "type": "content.delta", "delta": delta, "snapshot": text(snapshot), "parsed": parsed.to_value(),
            }),
            ContentDone {
                content, parsed, ..
            } => {
                json!({"type": "content.done", "content": text(content), "parsed": parsed.to_value()})
            }
            RefusalDelta {
                delta, snapshot, ..
            } => {
                json!({"type": "refusal.delta", "delta": delta, "snapshot": text(snapshot)})
            }
            RefusalDone { refusal, .. } => {
                json!({"type": "refusal.done", "refusal": text(refusal)})
            }
            ToolCallArgumentsDelta {
                name,
                index,
                arguments,
                parsed_arguments,
                arguments_delta,
                ..
            } => json!({
                "type": "tool_calls.function.arguments.delta",
                "name": name,
                "index": index,
                "arguments": text(arguments),
                "parsed_arguments": parsed_arguments.to_value(),
                "arguments_delta": arguments_delta,
            }),
            ToolCallArgumentsDone {
                name,
                index,
                arguments,
                parsed_arguments,
                ..
            } => json!({
                "type": "tool_calls.function.arguments.done",
                "name": name,
                "index": index,
                "arguments": text(arguments),
                "parsed_arguments": parsed_arguments.to_value(),
            }),
            LogprobsContentDelta {
                content, snapshot, ..
            } => {
                json!({"type": "logprobs.content.delta", "content": tokens(content), "snapshot": tokens(snapshot)})
            }
            LogprobsContentDone { content, .. } => {
                json!({"type": "logprobs.content.done", "content": tokens(content)})
            }
            LogprobsRefusalDelta {
                refusal, snapshot, ..
            } => {
                json!({"type": "logprobs.refusal.delta", "refusal": tokens(refusal), "snapshot": tokens(snapshot)})
            }
            LogprobsRefusalDone { refusal, .. } => {
                json!({"type": "logprobs.refusal.done", "refusal": tokens(refusal)})
            }
            ReasoningDelta {
                delta, snapshot, ..
            } => {
                json!({"type": "reasoning.delta", "delta": delta, "snapshot": text(snapshot)})
            }
            ReasoningDone { reasoning, .. } => {
                json!({"type": "reasoning.done", "reasoning": text(reasoning)})
            }
        }
    }
}

/// Typed arguments from an arguments text and its (maybe) parsed value.
fn parse_arguments_as<A: serde::de::DeserializeOwned>(
    text: &str,
    parsed: &ParsedValue,
    what: &str,
) -> Result<A, Error> {
    match parsed {
        ParsedValue::Complete(v) => ValidationError::fit::<A>(v, text, what, true),
        _ => ValidationError::parse::<A>(text, what, true),
    }
    .map_err(Error::Validation)
}
