//! The parsed completion: what [`parse_chat_completion`](super::parse_chat_completion),
//! the stream's `final_completion` and [`Chat::parse`](super::Chat::parse) give. The
//! lowest level of the chat wing: it depends on no other chat file.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::ValidationError;
use crate::Error;

/// A finished chat completion with its parsed content (`T`, or JSON for `T = Value`) and
/// the parsed arguments of its strict function tool calls.
///
/// The typed view is in [`choices`](Self::choices); the whole completion, every field
/// included, is [`as_json`](Self::as_json) in the reference SDK's shape
/// (`message.parsed` and `tool_calls[].function.parsed_arguments` as JSON).
///
/// ```
/// use openai_sdk::chat::{parse_chat_completion_as, ParseOptions};
/// use serde_json::json;
///
/// #[derive(serde::Deserialize, Debug, PartialEq)]
/// struct Weather { city: String, celsius: f64 }
///
/// let completion = json!({"id": "c1", "object": "chat.completion", "created": 1, "model": "m",
///     "choices": [
///         {"index": 0, "finish_reason": "stop",
///          "message": {"role": "assistant", "content": "{\"city\": \"Paris\", \"celsius\": 21}"}},
///         {"index": 1, "finish_reason": "stop",
///          "message": {"role": "assistant", "content": null, "refusal": "I can't help with that."}}]});
/// let parsed = parse_chat_completion_as::<Weather>(
///     completion.as_object().unwrap(),
///     &ParseOptions::new().parse_content(true),
/// )?;
/// assert_eq!(parsed.parsed(0), Some(&Weather { city: "Paris".into(), celsius: 21.0 }));
/// assert_eq!(parsed.choices[1].message.parsed, None);
/// assert_eq!(parsed.choices[1].message.refusal.as_deref(), Some("I can't help with that."));
/// assert_eq!(parsed.as_json()["choices"][0]["message"]["parsed"]["celsius"], 21);
/// # Ok::<(), openai_sdk::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct ParsedChatCompletion<T = Value> {
    json: CompletionJson,
    /// The choices, in the completion's order.
    pub choices: Vec<ParsedChoice<T>>,
    metadata: Option<crate::ResponseMetadata>,
}

/// Compares the completions (their JSON and choices), not the HTTP metadata.
impl<T: PartialEq> PartialEq for ParsedChatCompletion<T> {
    fn eq(&self, other: &Self) -> bool {
        self.json.get() == other.json.get() && self.choices == other.choices
    }
}

/// Completes a stream's final JSON (adds what [`CompletionJson::deferred`] left out).
pub(crate) type CompleteJson = Arc<dyn Fn(&mut Value) + Send + Sync>;

/// The JSON of a [`ParsedChatCompletion`]: as given, or, for a stream's final completion,
/// built when first read: the accumulated logprobs of a long stream, as JSON, cost more
/// than the whole stream did, and most callers never read them there.
#[derive(Clone)]
struct CompletionJson {
    value: std::sync::OnceLock<Value>,
    /// Until `value` is built: the JSON without the deferred parts, and what adds them.
    deferred: Option<(Value, CompleteJson)>,
}

impl CompletionJson {
    fn new(value: Value) -> Self {
        CompletionJson {
            value: value.into(),
            deferred: None,
        }
    }

    /// The whole JSON (built now if it was deferred).
    fn get(&self) -> &Value {
        self.value.get_or_init(|| match &self.deferred {
            Some((base, complete)) => {
                let mut value = base.clone();
                complete(&mut value);
                value
            }
            None => Value::Null,
        })
    }

    /// The JSON without its deferred parts (all of it when nothing is deferred).
    fn base(&self) -> &Value {
        match &self.deferred {
            Some((base, _)) => base,
            None => self.get(),
        }
    }

    fn into_value(self) -> Value {
        match (self.value.into_inner(), self.deferred) {
            (Some(value), _) => value,
            (None, Some((mut base, complete))) => {
                complete(&mut base);
                base
            }
            (None, None) => Value::Null,
        }
    }
}

impl std::fmt::Debug for CompletionJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

/// One choice of a [`ParsedChatCompletion`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ParsedChoice<T = Value> {
    /// The choice's `index`.
    pub index: i64,
    /// Why the model stopped (`stop`, `tool_calls`, ...).
    pub finish_reason: Option<String>,
    /// The message.
    pub message: ParsedMessage<T>,
}

/// The message of a [`ParsedChoice`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ParsedMessage<T = Value> {
    /// The text content.
    pub content: Option<String>,
    /// The refusal, when the model refused (then `parsed` is `None`).
    pub refusal: Option<String>,
    /// The content parsed: `None` without a response format to parse, or when the model
    /// refused or sent no content.
    pub parsed: Option<T>,
    /// The function tool calls (calls of other tool types are in
    /// [`ParsedChatCompletion::as_json`]).
    pub tool_calls: Vec<ParsedFunctionToolCall>,
}

/// A function tool call of a parsed completion.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ParsedFunctionToolCall {
    /// The call's `id` (to answer it with a `tool` message).
    pub id: String,
    /// The function name.
    pub name: String,
    /// The arguments as the model sent them.
    pub arguments: String,
    /// The arguments parsed, for a strict tool of the request.
    pub parsed_arguments: Option<Value>,
}

impl ParsedFunctionToolCall {
    /// The arguments deserialized into `A` (e.g. the type given to
    /// [`FunctionTool::from_type`](crate::parsing::FunctionTool::from_type)). An error
    /// names the JSON path and keeps the arguments.
    ///
    /// ```
    /// use openai_sdk::chat::{parse_chat_completion, ParseOptions};
    /// use serde_json::json;
    ///
    /// #[derive(serde::Deserialize)]
    /// struct GetWeather { city: String }
    ///
    /// let completion = json!({"id": "c", "object": "chat.completion", "created": 0, "model": "m",
    ///     "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant",
    ///         "tool_calls": [{"id": "call_1", "type": "function",
    ///             "function": {"name": "get_weather", "arguments": "{\"city\": \"Oslo\"}"}}]}}]});
    /// let parsed = parse_chat_completion(completion.as_object().unwrap(), &ParseOptions::new())?;
    /// let call = &parsed.choices[0].message.tool_calls[0];
    /// assert_eq!(call.parse_arguments::<GetWeather>()?.city, "Oslo");
    /// # Ok::<(), openai_sdk::Error>(())
    /// ```
    pub fn parse_arguments<A: DeserializeOwned>(&self) -> Result<A, Error> {
        let what = format!("the arguments of tool call `{}` (`{}`)", self.id, self.name);
        match &self.parsed_arguments {
            Some(v) => ValidationError::fit::<A>(v, &self.arguments, &what, true),
            None => ValidationError::parse::<A>(&self.arguments, &what, true),
        }
        .map_err(Error::Validation)
    }
}

fn str_field(map: Option<&Value>, key: &str) -> Option<String> {
    map?.get(key)?.as_str().map(str::to_owned)
}

/// A choice's parsed content as [`Fit`] gets it: inside the completion's JSON, or parsed
/// earlier and shared (by a stream's state, at `content.done`).
pub(crate) enum Parsed<'a> {
    InJson(&'a Value),
    Shared(Arc<Value>),
}

impl Parsed<'_> {
    fn value(&self) -> &Value {
        match self {
            Parsed::InJson(value) => value,
            Parsed::Shared(value) => value,
        }
    }

    /// The value, moved out when this is its last reference, else copied.
    fn into_owned(self) -> Value {
        match self {
            Parsed::InJson(value) => value.clone(),
            Parsed::Shared(value) => Arc::try_unwrap(value).unwrap_or_else(|v| Value::clone(&v)),
        }
    }
}

/// How a choice's `parsed` JSON becomes the `T` of a [`ParsedMessage`]: `fit(value, content,
/// what)`, where `value` was parsed from the text `content` by `serde_json` (what the
/// callers guarantee). [`fit_as`] for any `T`; [`fit_json`] for `T = Value`.
pub(crate) type Fit<T> = fn(Parsed<'_>, &str, &str) -> Result<T, Box<ValidationError>>;

/// [`ValidationError::fit`]: the content read again as a `T`, with the exact path of a
/// problem.
pub(crate) fn fit_as<T: DeserializeOwned>(
    value: Parsed<'_>,
    content: &str,
    what: &str,
) -> Result<T, Box<ValidationError>> {
    ValidationError::fit::<T>(value.value(), content, what, false)
}

/// [`fit_as::<Value>`](fit_as) without reading the content again: reading it as a `Value`
/// gives `value` itself (it was parsed from that text by `serde_json`), so `value` (moved
/// when nothing else holds it, else a copy) is the same answer for less work.
pub(crate) fn fit_json(
    value: Parsed<'_>,
    content: &str,
    _what: &str,
) -> Result<Value, Box<ValidationError>> {
    debug_assert!(
        serde_json::from_str::<Value>(content)
            .ok()
            .is_none_or(|read| read == *value.value()),
        "`parsed` is not the content's JSON"
    );
    Ok(value.into_owned())
}

impl<T: DeserializeOwned> ParsedChatCompletion<T> {
    /// From a completion in the reference shape (with `parsed` and `parsed_arguments`).
    /// `reused` gives the `parsed` of the choices at those positions, whose JSON holds a
    /// placeholder until [`defer_json`](Self::defer_json) fills it; `fit` makes it a `T`.
    pub(crate) fn from_reference_json_with(
        json: Value,
        mut reused: Vec<(usize, Arc<Value>)>,
        fit: Fit<T>,
    ) -> Result<Self, Error> {
        let mut choices = Vec::new();
        for (position, choice) in json
            .get("choices")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let index = choice.get("index").and_then(Value::as_i64).unwrap_or(0);
            let message = choice.get("message");
            let content = str_field(message, "content");
            let parsed = match reused.iter().position(|(p, _)| *p == position) {
                Some(i) => Some(Parsed::Shared(reused.swap_remove(i).1)),
                None => message.and_then(|m| m.get("parsed")).map(Parsed::InJson),
            };
            let parsed = match parsed {
                Some(value) if !value.value().is_null() => Some(
                    fit(
                        value,
                        content.as_deref().unwrap_or(""),
                        &format!("the content of choice {index}"),
                    )
                    .map_err(Error::Validation)?,
                ),
                _ => None,
            };
            let tool_calls = function_tool_calls(message)
                .map(|c| {
                    let function = c.get("function");
                    ParsedFunctionToolCall {
                        id: str_field(Some(c), "id").unwrap_or_default(),
                        name: str_field(function, "name").unwrap_or_default(),
                        arguments: str_field(function, "arguments").unwrap_or_default(),
                        parsed_arguments: function
                            .and_then(|f| f.get("parsed_arguments"))
                            .filter(|v| !v.is_null())
                            .cloned(),
                    }
                })
                .collect();
            choices.push(ParsedChoice {
                index,
                finish_reason: str_field(Some(choice), "finish_reason"),
                message: ParsedMessage {
                    refusal: str_field(message, "refusal"),
                    content,
                    parsed,
                    tool_calls,
                },
            });
        }
        Ok(ParsedChatCompletion {
            json: CompletionJson::new(json),
            choices,
            metadata: None,
        })
    }
}

impl<T> ParsedChatCompletion<T> {
    /// The completion as JSON, with `parsed` and `parsed_arguments` (the reference shape).
    pub fn as_json(&self) -> &Value {
        self.json.get()
    }

    /// Takes the JSON out.
    pub fn into_json(self) -> Value {
        self.json.into_value()
    }

    /// Defers part of the JSON: `complete` adds it to the JSON as it is now, when the JSON
    /// is first read (after what an earlier `defer_json` deferred).
    pub(crate) fn defer_json(mut self, complete: CompleteJson) -> Self {
        if let Some(base) = self.json.value.take() {
            self.json.deferred = Some((base, complete));
        } else if let Some((base, earlier)) = self.json.deferred.take() {
            let both: CompleteJson = Arc::new(move |json| {
                earlier(json);
                complete(json);
            });
            self.json.deferred = Some((base, both));
        }
        self
    }

    /// Deserializes the completion, e.g. into
    /// [`types::CreateChatCompletionResponse`](crate::types::CreateChatCompletionResponse)
    /// (the `parsed` fields are ignored by that type).
    pub fn deserialize<D: DeserializeOwned>(&self) -> Result<D, Error> {
        serde_path_to_error::deserialize::<_, D>(self.json.get()).map_err(|e| Error::Decode {
            what: crate::error::short_type_name::<D>(),
            path: e.path().to_string(),
            message: e.into_inner().to_string(),
            snippet: String::new(),
        })
    }

    fn choice(&self, index: i64) -> Option<&ParsedChoice<T>> {
        self.choices.iter().find(|c| c.index == index)
    }

    /// The text content of the choice with this `index`.
    pub fn content(&self, index: i64) -> Option<&str> {
        self.choice(index)?.message.content.as_deref()
    }

    /// The refusal of the choice with this `index`.
    pub fn refusal(&self, index: i64) -> Option<&str> {
        self.choice(index)?.message.refusal.as_deref()
    }

    /// The reasoning text of the choice with this `index`, as an OpenAI-compatible
    /// provider sends it: the message's `reasoning_content` (DeepSeek, vLLM, llama.cpp) or
    /// string `reasoning` (OpenRouter), kept in [`as_json`](Self::as_json). `None` when
    /// the message has neither (OpenAI's own completions).
    pub fn reasoning(&self, index: i64) -> Option<&str> {
        let message = self
            .json
            .base()
            .get("choices")?
            .as_array()?
            .iter()
            .find(|c| c.get("index").and_then(Value::as_i64) == Some(index))?
            .get("message")?
            .as_object()?;
        reasoning_of(message)
    }

    /// The parsed content of the choice with this `index` (`None` without a parsed
    /// response format, or when the model refused).
    pub fn parsed(&self, index: i64) -> Option<&T> {
        self.choice(index)?.message.parsed.as_ref()
    }

    /// The parsed content of the first choice, taken out (`None` when the model refused).
    pub fn into_parsed(self) -> Option<T> {
        self.choices.into_iter().next()?.message.parsed
    }

    /// The `usage`.
    pub fn usage(&self) -> Option<&Value> {
        self.json.base().get("usage").filter(|v| !v.is_null())
    }

    /// The status and headers of the answer this completion came from (request id, rate
    /// limits, ...): set by [`Chat::parse`](super::Chat::parse) and by the final
    /// completion of a parsed stream; `None` for a completion parsed from JSON you gave.
    pub fn metadata(&self) -> Option<&crate::ResponseMetadata> {
        self.metadata.as_ref()
    }

    pub(crate) fn with_metadata(mut self, metadata: Option<crate::ResponseMetadata>) -> Self {
        self.metadata = metadata;
        self
    }
}

/// A message's reasoning text: its `reasoning_content` or `reasoning` string.
pub(crate) fn reasoning_of(message: &Map<String, Value>) -> Option<&str> {
    ["reasoning_content", "reasoning"]
        .iter()
        .find_map(|key| message.get(*key)?.as_str().filter(|s| !s.is_empty()))
}

/// The function tool calls of a chat message: its `tool_calls` whose `type` is `function`
/// or absent (as the reference reads them). The parsed completion and the tool loop both
/// read a message's calls through this, so they agree on which calls count.
pub(crate) fn function_tool_calls(message: Option<&Value>) -> impl Iterator<Item = &Value> {
    message
        .and_then(|m| m.get("tool_calls"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|c| {
            c.get("type")
                .and_then(Value::as_str)
                .is_none_or(|t| t == "function")
        })
}
