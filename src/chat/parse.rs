//! Structured outputs for Chat Completions: `client.chat().parse::<T>(request)`, typed
//! function tools, a runtime-schema form, and typed parse streams (see the chat module
//! docs for what is checked, and when).

use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::{Stream, StreamExt};
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};

use super::events::ChatCompletionStreamEvent;
use super::snapshot::{
    parse_chat_completion_as, ChatCompletionSnapshot, ParseOptions, ParsedValue,
};
use super::state::ChatCompletionStreamState;
use super::stream::ChatCompletionStream;
use super::Chat;
use crate::error::ValidationError;
use crate::parsing::{check_strict_compatible, strict_schema_for, to_strict_json_schema};
use crate::types::{
    CreateChatCompletionRequest, CreateChatCompletionRequestResponseFormat,
    CreateChatCompletionRequestToolsItem,
};
use crate::Error;

// ---- the parsed completion ------------------------------------------------------------

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
    /// [`FunctionTool::from_type`]). An error names the JSON path and keeps the arguments.
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

/// Typed arguments from an arguments text and its (maybe) parsed value.
pub(crate) fn parse_arguments_as<A: DeserializeOwned>(
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

fn str_field(map: Option<&Value>, key: &str) -> Option<String> {
    map?.get(key)?.as_str().map(str::to_owned)
}

impl<T: DeserializeOwned> ParsedChatCompletion<T> {
    /// From a completion in the reference shape (with `parsed` and `parsed_arguments`).
    pub(crate) fn from_reference_json(json: Value) -> Result<Self, Error> {
        let mut choices = Vec::new();
        for choice in json
            .get("choices")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let index = choice.get("index").and_then(Value::as_i64).unwrap_or(0);
            let message = choice.get("message");
            let content = str_field(message, "content");
            let parsed = match message.and_then(|m| m.get("parsed")) {
                None | Some(Value::Null) => None,
                Some(value) => Some(
                    ValidationError::fit::<T>(
                        value,
                        content.as_deref().unwrap_or(""),
                        &format!("the content of choice {index}"),
                        false,
                    )
                    .map_err(Error::Validation)?,
                ),
            };
            let tool_calls = message
                .and_then(|m| m.get("tool_calls"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|c| {
                    c.get("type")
                        .and_then(Value::as_str)
                        .is_none_or(|t| t == "function")
                })
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
    /// is first read.
    pub(crate) fn defer_json(mut self, complete: CompleteJson) -> Self {
        if let Some(base) = self.json.value.take() {
            self.json.deferred = Some((base, complete));
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
        super::snapshot::reasoning_of(message)
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

// ---- response formats and tools ---------------------------------------------------------

/// A `json_schema` response format: from a Rust type ([`for_type`](Self::for_type)), or
/// from a JSON schema known only at run time ([`from_schema`](Self::from_schema),
/// [`from_response_format`](Self::from_response_format)), parsed as JSON.
///
/// ```
/// use openai_sdk::chat::JsonSchemaFormat;
/// use serde_json::json;
///
/// let format = JsonSchemaFormat::from_schema("city", json!({
///     "type": "object", "properties": {"name": {"type": "string"}},
/// }))?;
/// assert_eq!(format.to_json(), json!({"type": "json_schema", "json_schema": {
///     "name": "city", "strict": true,
///     "schema": {"type": "object", "properties": {"name": {"type": "string"}},
///                "required": ["name"], "additionalProperties": false}}}));
///
/// // A map cannot be strict: the error says where.
/// let err = JsonSchemaFormat::from_schema("scores", json!({
///     "type": "object", "properties": {"by_name": {"type": "object", "additionalProperties": {"type": "number"}}},
/// })).unwrap_err();
/// assert!(err.to_string().contains("#/properties/by_name"), "{err}");
/// # Ok::<(), openai_sdk::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct JsonSchemaFormat {
    /// The format's name (`^[a-zA-Z0-9_-]{1,64}$`).
    pub name: String,
    /// What the output is (from the type's doc comment).
    pub description: Option<String>,
    /// The JSON schema.
    pub schema: Value,
    /// Whether `strict: true` is sent.
    pub strict: bool,
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn schema_error(type_name: String, e: crate::parsing::StrictSchemaError) -> Error {
    Error::Schema {
        type_name,
        source: Box::new(e),
    }
}

impl JsonSchemaFormat {
    /// The strict format of a Rust type: its name sanitised from the type name, its doc
    /// comment as the description (see [`strict_schema_for`]). A type strict mode cannot
    /// express (a map, a `serde_json::Value` field, ...) is an [`Error::Schema`] naming the
    /// type and the path in its schema.
    ///
    /// ```
    /// use openai_sdk::chat::JsonSchemaFormat;
    ///
    /// /// A city.
    /// #[derive(schemars::JsonSchema)]
    /// struct City { name: String }
    ///
    /// let format = JsonSchemaFormat::for_type::<City>()?;
    /// assert_eq!((format.name.as_str(), format.description.as_deref()), ("City", Some("A city.")));
    ///
    /// #[derive(schemars::JsonSchema)]
    /// struct Scores { by_name: std::collections::HashMap<String, f64> }
    /// let err = JsonSchemaFormat::for_type::<Scores>().unwrap_err();
    /// assert!(err.to_string().contains("Scores") && err.to_string().contains("by_name"), "{err}");
    /// # Ok::<(), openai_sdk::Error>(())
    /// ```
    pub fn for_type<T: schemars::JsonSchema>() -> Result<Self, Error> {
        let strict = strict_schema_for::<T>()
            .map_err(|e| schema_error(std::any::type_name::<T>().to_owned(), e))?;
        Ok(JsonSchemaFormat {
            name: strict.name,
            description: strict.description,
            schema: strict.schema,
            strict: true,
        })
    }

    /// A strict format from a JSON schema known at run time: the reference strict
    /// conversion ([`to_strict_json_schema`]), then the check of what strict mode cannot
    /// express ([`Error::Schema`] with the path). The parsed content is JSON.
    pub fn from_schema(name: impl Into<String>, schema: Value) -> Result<Self, Error> {
        let name = name.into();
        if !valid_name(&name) {
            return Err(Error::InvalidRequest(format!(
                "the response format name `{name}` must match ^[a-zA-Z0-9_-]{{1,64}}$"
            )));
        }
        let schema = to_strict_json_schema(schema).map_err(|e| schema_error(name.clone(), e))?;
        check_strict_compatible(&schema).map_err(|e| schema_error(name.clone(), e))?;
        let description = schema
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok(JsonSchemaFormat {
            name,
            description,
            schema,
            strict: true,
        })
    }

    /// A format from a whole `response_format` value
    /// (`{"type": "json_schema", "json_schema": {"name", "schema", "strict", "description"}}`),
    /// kept as given (a `strict: true` schema is checked with
    /// [`check_strict_compatible`]). The parsed content is JSON.
    ///
    /// ```
    /// use openai_sdk::chat::JsonSchemaFormat;
    /// use serde_json::json;
    ///
    /// let value = json!({"type": "json_schema", "json_schema": {"name": "n", "strict": true,
    ///     "schema": {"type": "object", "properties": {}, "required": [], "additionalProperties": false}}});
    /// assert_eq!(JsonSchemaFormat::from_response_format(&value)?.to_json(), value);
    /// # Ok::<(), openai_sdk::Error>(())
    /// ```
    pub fn from_response_format(format: &Value) -> Result<Self, Error> {
        let bad =
            |why: &str| Error::InvalidRequest(format!("not a json_schema response format: {why}"));
        if format.get("type").and_then(Value::as_str) != Some("json_schema") {
            return Err(bad("`type` is not `json_schema`"));
        }
        let inner = format
            .get("json_schema")
            .and_then(Value::as_object)
            .ok_or_else(|| bad("no `json_schema` object"))?;
        let name = inner
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no `json_schema.name`"))?;
        let schema = inner.get("schema").cloned().unwrap_or_else(|| json!({}));
        let strict = inner
            .get("strict")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if strict {
            check_strict_compatible(&schema).map_err(|e| schema_error(name.to_owned(), e))?;
        }
        Ok(JsonSchemaFormat {
            name: name.to_owned(),
            description: inner
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_owned),
            schema,
            strict,
        })
    }

    /// The `response_format` value to send.
    pub fn to_json(&self) -> Value {
        let mut inner = Map::new();
        inner.insert("name".into(), Value::String(self.name.clone()));
        if let Some(d) = &self.description {
            inner.insert("description".into(), Value::String(d.clone()));
        }
        inner.insert("schema".into(), self.schema.clone());
        inner.insert("strict".into(), Value::Bool(self.strict));
        json!({"type": "json_schema", "json_schema": inner})
    }

    /// The `response_format` of a [`CreateChatCompletionRequest`].
    pub fn to_response_format(&self) -> Result<CreateChatCompletionRequestResponseFormat, Error> {
        serde_json::from_value(self.to_json()).map_err(|e| {
            Error::InvalidRequest(format!("the response format does not serialize: {e}"))
        })
    }
}

/// A function tool for a [`CreateChatCompletionRequest`]; from a Rust type
/// ([`from_type`](Self::from_type)) it is strict, with the type's doc comment as its
/// description, so its calls get `parsed_arguments` and
/// [`parse_arguments`](ParsedFunctionToolCall::parse_arguments) gives the type back.
///
/// ```
/// use openai_sdk::chat::FunctionTool;
///
/// /// Get the current weather in a city.
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct GetWeather {
///     city: String,
///     /// `c` or `f`.
///     units: Option<String>,
/// }
///
/// let tool = FunctionTool::from_type::<GetWeather>("get_weather")?;
/// assert_eq!(tool.description.as_deref(), Some("Get the current weather in a city."));
/// assert!(tool.strict);
/// assert_eq!(tool.parameters["required"], serde_json::json!(["city", "units"]));
///
/// let mut request: openai_sdk::types::CreateChatCompletionRequest = serde_json::from_value(serde_json::json!({
///     "model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Weather in Oslo?"}],
/// })).unwrap();
/// request.tools.push(tool.into());
/// # Ok::<(), openai_sdk::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct FunctionTool {
    /// The function name (`^[a-zA-Z0-9_-]{1,64}$`).
    pub name: String,
    /// What the function does, for the model.
    pub description: Option<String>,
    /// The JSON schema of the arguments.
    pub parameters: Value,
    /// Whether `strict: true` is sent (required by [`Chat::parse`]).
    pub strict: bool,
}

impl FunctionTool {
    /// A strict tool whose arguments are an `A`. A type strict mode cannot express is an
    /// [`Error::Schema`] naming the type and the path in its schema.
    pub fn from_type<A: schemars::JsonSchema>(name: impl Into<String>) -> Result<Self, Error> {
        let name = name.into();
        if !valid_name(&name) {
            return Err(Error::InvalidRequest(format!(
                "the function name `{name}` must match ^[a-zA-Z0-9_-]{{1,64}}$"
            )));
        }
        let strict = strict_schema_for::<A>()
            .map_err(|e| schema_error(std::any::type_name::<A>().to_owned(), e))?;
        Ok(FunctionTool {
            name,
            description: strict.description,
            parameters: strict.schema,
            strict: true,
        })
    }

    /// A strict tool from a JSON schema known at run time (made strict as
    /// [`JsonSchemaFormat::from_schema`] does).
    pub fn from_schema(name: impl Into<String>, parameters: Value) -> Result<Self, Error> {
        let format = JsonSchemaFormat::from_schema(name, parameters)?;
        Ok(FunctionTool {
            name: format.name,
            description: format.description,
            parameters: format.schema,
            strict: true,
        })
    }

    /// Replaces the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// The tool as JSON (`{"type": "function", "function": {...}}`).
    pub fn to_json(&self) -> Value {
        let mut function = Map::new();
        function.insert("name".into(), Value::String(self.name.clone()));
        if let Some(d) = &self.description {
            function.insert("description".into(), Value::String(d.clone()));
        }
        function.insert("parameters".into(), self.parameters.clone());
        function.insert("strict".into(), Value::Bool(self.strict));
        json!({"type": "function", "function": function})
    }
}

impl From<FunctionTool> for crate::types::ChatCompletionTool {
    fn from(tool: FunctionTool) -> Self {
        let parameters = match tool.parameters {
            Value::Object(map) => Some(crate::types::FunctionParameters(map)),
            _ => None,
        };
        crate::types::ChatCompletionTool {
            function: crate::types::FunctionObject {
                description: tool.description,
                name: tool.name,
                parameters,
                strict: Some(tool.strict),
                extra: Default::default(),
            },
            type_: crate::types::ChatCompletionToolType::Function,
            extra: Default::default(),
        }
    }
}

impl From<FunctionTool> for CreateChatCompletionRequestToolsItem {
    fn from(tool: FunctionTool) -> Self {
        CreateChatCompletionRequestToolsItem::ChatCompletionTool(tool.into())
    }
}

// ---- requests -----------------------------------------------------------------------------

/// The body of a parse request and what to parse in its answer. `format`, when given,
/// replaces the request's `response_format`; without it, a `json_schema` response format
/// already in the request is parsed as JSON. Non-strict tools are refused here.
pub(crate) fn prepare_parse(
    request: &CreateChatCompletionRequest,
    format: Option<&JsonSchemaFormat>,
    streaming: bool,
) -> Result<(Value, ParseOptions), Error> {
    let mut body = serde_json::to_value(request)
        .map_err(|e| Error::InvalidRequest(format!("the request does not serialize: {e}")))?;
    let Value::Object(map) = &mut body else {
        return Err(Error::InvalidRequest(
            "the request is not a JSON object".into(),
        ));
    };
    if let Some(format) = format {
        map.insert("response_format".into(), format.to_json());
    }
    let parse_content = map
        .get("response_format")
        .and_then(|f| f.get("type"))
        .and_then(Value::as_str)
        == Some("json_schema");
    if streaming {
        map.insert("stream".into(), Value::Bool(true));
    } else {
        // One JSON answer: `stream_options` is only valid with `stream: true`.
        map.remove("stream");
        map.remove("stream_options");
    }
    let tools = match map.get("tools") {
        Some(Value::Array(tools)) => tools.clone(),
        _ => Vec::new(),
    };
    let mut options = ParseOptions::new()
        .parse_content(parse_content)
        .tools(tools)
        .deny_unknown_tools(true);
    if let Some(format) = format {
        options = options.response_format(format);
    }
    options.validate_tools()?;
    Ok((body, options))
}

impl Chat<'_> {
    /// Structured Outputs: sends `request` with a strict `json_schema` response format made
    /// from `T` (named after the type, described by its doc comment; it replaces any
    /// `response_format` of the request), and returns the completion with each choice's
    /// content deserialized into `T` (`None` when the model refused: the refusal text is in
    /// [`ParsedMessage::refusal`]).
    ///
    /// Before sending: a type strict mode cannot express is [`Error::Schema`], a tool that
    /// is not a strict function tool is [`Error::InvalidRequest`]. On the answer:
    /// `finish_reason` `length` / `content_filter` is [`Error::LengthFinishReason`] /
    /// [`Error::ContentFilterFinishReason`], content that does not fit `T` is
    /// [`Error::Validation`], a call of a tool not given is [`Error::UnknownTool`]. Strict
    /// function tool calls get `parsed_arguments`.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), openai_sdk::Error> {
    /// /// One step of the solution.
    /// #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
    /// struct Step { explanation: String, output: String }
    ///
    /// /// A worked solution.
    /// #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
    /// struct MathResponse { steps: Vec<Step>, final_answer: String }
    ///
    /// let client = openai_sdk::Client::new()?;
    /// let request = serde_json::from_value(serde_json::json!({
    ///     "model": "gpt-4o-2024-08-06",
    ///     "messages": [{"role": "user", "content": "solve 8x + 31 = 2"}],
    /// })).unwrap();
    /// let completion = client.chat().parse::<MathResponse>(request).await?;
    /// let message = &completion.choices[0].message;
    /// match &message.parsed {
    ///     Some(math) => println!("{} steps, answer {}", math.steps.len(), math.final_answer),
    ///     None => println!("refused: {:?}", message.refusal),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn parse<T: schemars::JsonSchema + DeserializeOwned>(
        &self,
        request: CreateChatCompletionRequest,
    ) -> Result<ParsedChatCompletion<T>, Error> {
        let format = JsonSchemaFormat::for_type::<T>()?;
        let (body, options) = prepare_parse(&request, Some(&format), false)?;
        let (completion, metadata) = self.create_json(&body).await?;
        parse_chat_completion_as::<T>(&completion, &options)
            .map(|c| c.with_metadata(Some(metadata)))
    }

    /// The dynamic form of [`parse`](Self::parse): the response format is `format` (e.g.
    /// [`JsonSchemaFormat::from_schema`] of a schema known at run time) or, when `None`,
    /// the request's own `json_schema` response format if it has one; the parsed content
    /// is JSON. With neither, only the strict tools' arguments are parsed.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), openai_sdk::Error> {
    /// use openai_sdk::chat::JsonSchemaFormat;
    ///
    /// let client = openai_sdk::Client::new()?;
    /// let schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string("schema.json").unwrap()).unwrap();
    /// let format = JsonSchemaFormat::from_schema("answer", schema)?;
    /// let request = serde_json::from_value(serde_json::json!({
    ///     "model": "gpt-4o-mini", "messages": [{"role": "user", "content": "..."}],
    /// })).unwrap();
    /// let completion = client.chat().parse_with(request, Some(format)).await?;
    /// println!("{:?}", completion.parsed(0));
    /// # Ok(()) }
    /// ```
    pub async fn parse_with(
        &self,
        request: CreateChatCompletionRequest,
        format: Option<JsonSchemaFormat>,
    ) -> Result<ParsedChatCompletion<Value>, Error> {
        let (body, options) = prepare_parse(&request, format.as_ref(), false)?;
        let (completion, metadata) = self.create_json(&body).await?;
        parse_chat_completion_as::<Value>(&completion, &options)
            .map(|c| c.with_metadata(Some(metadata)))
    }

    /// [`parse`](Self::parse), streamed: the same request with `stream: true`. Each
    /// `content.delta` carries the partial parse of the content so far (JSON, with the
    /// reference's partial semantics), `content.done` carries the `T`, strict tools'
    /// argument deltas carry partial `parsed_arguments`, and
    /// [`final_completion`](ParsedChatCompletionStream::final_completion) gives the
    /// [`ParsedChatCompletion<T>`].
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), openai_sdk::Error> {
    /// use futures::StreamExt;
    /// use openai_sdk::chat::ChatCompletionStreamEvent;
    ///
    /// #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
    /// struct City { name: String, population: u64 }
    ///
    /// let client = openai_sdk::Client::new()?;
    /// let request = serde_json::from_value(serde_json::json!({
    ///     "model": "gpt-4o-mini", "messages": [{"role": "user", "content": "The largest city of Norway?"}],
    /// })).unwrap();
    /// let mut stream = client.chat().parse_stream::<City>(request).await?;
    /// while let Some(event) = stream.next().await {
    ///     match event? {
    ///         ChatCompletionStreamEvent::ContentDelta { parsed, .. } => println!("so far: {}", parsed.to_value()),
    ///         ChatCompletionStreamEvent::ContentDone { parsed: Some(city), .. } => println!("{city:?}"),
    ///         _ => {}
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn parse_stream<T: schemars::JsonSchema + DeserializeOwned>(
        &self,
        request: CreateChatCompletionRequest,
    ) -> Result<ParsedChatCompletionStream<T>, Error> {
        let format = JsonSchemaFormat::for_type::<T>()?;
        let (body, options) = prepare_parse(&request, Some(&format), true)?;
        let inner = self.stream_with_options(body, options).await?;
        Ok(ParsedChatCompletionStream::new(inner))
    }

    /// The dynamic form of [`parse_stream`](Self::parse_stream) (see
    /// [`parse_with`](Self::parse_with)): `content.done` carries the content as JSON.
    pub async fn parse_stream_with(
        &self,
        request: CreateChatCompletionRequest,
        format: Option<JsonSchemaFormat>,
    ) -> Result<ParsedChatCompletionStream<Value>, Error> {
        let (body, options) = prepare_parse(&request, format.as_ref(), true)?;
        let inner = self.stream_with_options(body, options).await?;
        Ok(ParsedChatCompletionStream::new(inner))
    }

    /// Sends a non-streaming request and reads its JSON answer, with its metadata.
    async fn create_json(
        &self,
        body: &Value,
    ) -> Result<(Map<String, Value>, crate::ResponseMetadata), Error> {
        let path = self.client.config().chat_path.clone();
        let request = self
            .client
            .request(reqwest::Method::POST, &path)?
            .json(body);
        let response = self.client.send(request).await?;
        let metadata = crate::ResponseMetadata::of(&response);
        let bytes = response.bytes().await.map_err(Error::from_reqwest)?;
        let decode_error = |message: String| Error::Decode {
            what: "the chat completion".into(),
            path: ".".into(),
            message,
            snippet: crate::error::snippet(&bytes),
        };
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok((map, metadata)),
            Ok(_) => Err(decode_error("the body is not a JSON object".into())),
            Err(e) => Err(decode_error(e.to_string())),
        }
    }
}

// ---- the typed stream ---------------------------------------------------------------------

/// A streamed [`Chat::parse`]: the events of a [`ChatCompletionStream`] with
/// `content.done`'s `parsed` deserialized into `T` (`None` when the model refused). Made by
/// [`Chat::parse_stream`].
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

    use super::{prepare_parse, typed_done, JsonSchemaFormat, ParsedChatCompletion};
    use crate::chat::{
        BlockingChatCompletionStream, Chat, ChatCompletionStreamEvent, ChatCompletionStreamState,
    };
    use crate::types::CreateChatCompletionRequest;
    use crate::Error;

    /// The blocking [`ParsedChatCompletionStream`](super::ParsedChatCompletionStream): an
    /// [`Iterator`] of events whose `content.done` carries a `T` (feature `blocking`). Made
    /// by [`Chat::parse_stream_blocking`]. Do not use it inside an async runtime.
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

    impl Chat<'_> {
        /// The blocking [`parse_stream`](Self::parse_stream) (feature `blocking`). Do not
        /// call it inside an async runtime.
        pub fn parse_stream_blocking<T: schemars::JsonSchema + DeserializeOwned>(
            &self,
            request: CreateChatCompletionRequest,
        ) -> Result<BlockingParsedChatCompletionStream<T>, Error> {
            let format = JsonSchemaFormat::for_type::<T>()?;
            let (body, options) = prepare_parse(&request, Some(&format), true)?;
            let inner = self.stream_blocking_with_options(body, options)?;
            Ok(BlockingParsedChatCompletionStream {
                inner,
                failed: false,
                _type: PhantomData,
            })
        }
    }
}
