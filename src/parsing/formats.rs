//! Strict response formats and function tools, built once and sent by both APIs: Chat
//! Completions (`response_format`, `tools[].function`) and Responses (`text.format`,
//! `tools[]`). Only JSON here: the conversions into the generated request types live with
//! their API (`chat/parse.rs`).

use serde_json::{json, Map, Value};

use super::strict_schema::{
    check_strict_compatible, strict_schema_for, to_strict_json_schema, StrictSchema,
    StrictSchemaError,
};
use crate::Error;

/// A `json_schema` response format: from a Rust type ([`for_type`](Self::for_type)), or
/// from a JSON schema known only at run time ([`from_schema`](Self::from_schema),
/// [`from_response_format`](Self::from_response_format)), parsed as JSON.
///
/// The same format is sent in each API's shape: [`to_json`](Self::to_json) is Chat
/// Completions' `response_format`, [`to_text_format`](Self::to_text_format) the Responses
/// API's `text.format`.
///
/// ```
/// use openai_sdk::parsing::JsonSchemaFormat;
/// use serde_json::json;
///
/// let format = JsonSchemaFormat::from_schema("city", json!({
///     "type": "object", "properties": {"name": {"type": "string"}},
/// }))?;
/// assert_eq!(format.to_json(), json!({"type": "json_schema", "json_schema": {
///     "name": "city", "strict": true,
///     "schema": {"type": "object", "properties": {"name": {"type": "string"}},
///                "required": ["name"], "additionalProperties": false}}}));
/// assert_eq!(format.to_text_format()["name"], "city");
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

fn schema_error(type_name: String, e: StrictSchemaError) -> Error {
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
    /// use openai_sdk::parsing::JsonSchemaFormat;
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
        Ok(Self::from_strict(strict))
    }

    /// The format of an already strict schema (no name check: the name was made from a
    /// type name).
    pub(crate) fn from_strict(strict: StrictSchema) -> Self {
        JsonSchemaFormat {
            name: strict.name,
            description: strict.description,
            schema: strict.schema,
            strict: true,
        }
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

    /// A format from a whole Chat Completions `response_format` value
    /// (`{"type": "json_schema", "json_schema": {"name", "schema", "strict", "description"}}`),
    /// kept as given (a `strict: true` schema is checked with
    /// [`check_strict_compatible`]). The parsed content is JSON.
    ///
    /// ```
    /// use openai_sdk::parsing::JsonSchemaFormat;
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

    /// The Chat Completions `response_format` value to send
    /// (`{"type": "json_schema", "json_schema": {...}}`).
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

    /// The Responses API `text.format` value to send
    /// (`{"type": "json_schema", "name", "schema", "strict", "description"}`).
    pub fn to_text_format(&self) -> Value {
        let mut format = Map::new();
        format.insert("type".into(), Value::String("json_schema".into()));
        format.insert("name".into(), Value::String(self.name.clone()));
        format.insert("schema".into(), self.schema.clone());
        format.insert("strict".into(), Value::Bool(self.strict));
        if let Some(d) = &self.description {
            format.insert("description".into(), Value::String(d.clone()));
        }
        Value::Object(format)
    }
}

/// A function tool; from a Rust type ([`from_type`](Self::from_type)) it is strict, with
/// the type's doc comment as its description, so its calls get `parsed_arguments` and
// A link when the chat family is built, a plain name otherwise.
#[cfg_attr(
    feature = "chat",
    doc = "[`ParsedFunctionToolCall::parse_arguments`](crate::chat::ParsedFunctionToolCall::parse_arguments)"
)]
#[cfg_attr(
    not(feature = "chat"),
    doc = "`chat::ParsedFunctionToolCall::parse_arguments`"
)]
/// gives the type back.
///
/// The same tool is sent in each API's shape: [`to_json`](Self::to_json) (and `.into()` a
/// generated chat tool) for Chat Completions, [`to_responses_json`](Self::to_responses_json)
/// for the Responses API.
///
/// ```
/// use openai_sdk::parsing::FunctionTool;
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
/// assert_eq!(tool.to_responses_json()["name"], "get_weather");
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
    /// Whether `strict: true` is sent (required by
    #[cfg_attr(feature = "chat", doc = "[`Chat::parse`](crate::chat::Chat::parse)).")]
    #[cfg_attr(not(feature = "chat"), doc = "`Chat::parse`).")]
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

    /// A strict tool from parts already checked (the tool loops' registry).
    pub(crate) fn from_parts(name: &str, description: &str, strict: StrictSchema) -> Self {
        FunctionTool {
            name: name.to_owned(),
            description: Some(description.to_owned()),
            parameters: strict.schema,
            strict: true,
        }
    }

    /// Replaces the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// The function's fields (`name`, `description`, `parameters`, `strict`), in that
    /// order; with `type` first when `tagged`.
    fn fields(&self, tagged: bool) -> Map<String, Value> {
        let mut function = Map::new();
        if tagged {
            function.insert("type".into(), Value::String("function".into()));
        }
        function.insert("name".into(), Value::String(self.name.clone()));
        if let Some(d) = &self.description {
            function.insert("description".into(), Value::String(d.clone()));
        }
        function.insert("parameters".into(), self.parameters.clone());
        function.insert("strict".into(), Value::Bool(self.strict));
        function
    }

    /// The tool in the Chat Completions shape (`{"type": "function", "function": {...}}`).
    pub fn to_json(&self) -> Value {
        json!({"type": "function", "function": self.fields(false)})
    }

    /// The tool in the Responses API's shape
    /// (`{"type": "function", "name", "description", "parameters", "strict"}`).
    pub fn to_responses_json(&self) -> Value {
        Value::Object(self.fields(true))
    }
}
