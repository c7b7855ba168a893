//! The response snapshot built from stream events, the parsed final response, and what to
//! parse.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::Error;

/// What a response stream parses: the output text (for a structured `text.format`) and
/// the arguments of strict function tools.
///
/// ```
/// use openai_sdk::responses::ResponseParseOptions;
/// use serde_json::json;
///
/// let options = ResponseParseOptions::new()
///     .text_format(json!({"type": "json_schema", "name": "Location", "schema": {}, "strict": true}))
///     .tools(vec![json!({"type": "function", "name": "get_weather", "parameters": {}, "strict": true})]);
/// assert!(options.parses_text());
/// ```
#[derive(Debug, Clone, Default)]
pub struct ResponseParseOptions {
    text_format: Option<Value>,
    tools: Vec<Value>,
}

impl ResponseParseOptions {
    /// Parses nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// The output text is parsed as JSON (`parsed` of `response.output_text.done` and of
    /// the final response's `output_text` parts) when `format` is a `json_schema` or
    /// `json_object` text format. A `text` format parses nothing.
    pub fn text_format(mut self, format: Value) -> Self {
        self.text_format = Some(format);
        self
    }

    /// The request's tools: calls of a function tool with `strict: true` get
    /// `parsed_arguments` in the final response.
    pub fn tools(mut self, tools: Vec<Value>) -> Self {
        self.tools = tools;
        self
    }

    /// Whether the output text is parsed.
    pub fn parses_text(&self) -> bool {
        matches!(
            self.text_format
                .as_ref()
                .and_then(|f| f.get("type"))
                .and_then(Value::as_str),
            Some("json_schema" | "json_object")
        )
    }

    /// The options a request body asks for: its tools, and its `text.format` when
    /// `parse_text` is set.
    pub(crate) fn from_request(body: &Value, parse_text: bool) -> Self {
        let tools = match body.get("tools") {
            Some(Value::Array(tools)) => tools.clone(),
            _ => Vec::new(),
        };
        let text_format = if parse_text {
            body.get("text").and_then(|t| t.get("format")).cloned()
        } else {
            None
        };
        ResponseParseOptions { text_format, tools }
    }

    /// Parses an output text: `Ok(None)` when no structured format was given.
    pub(crate) fn parse_text(
        &self,
        text: &str,
        what: impl FnOnce() -> String,
    ) -> Result<Option<Value>, Error> {
        if !self.parses_text() {
            return Ok(None);
        }
        serde_json::from_str(text)
            .map(Some)
            .map_err(|e| Error::Parse {
                what: what(),
                partial: false,
                arguments: false,
                message: e.to_string(),
            })
    }

    /// The `parsed_arguments` of a function call, by the reference rules: `None` for a
    /// tool not in the request or not strict, the arguments as JSON otherwise.
    pub(crate) fn parse_arguments(
        &self,
        name: &str,
        arguments: &str,
    ) -> Result<Option<Value>, Error> {
        let tool = self.tools.iter().find(|t| {
            t.get("type").and_then(Value::as_str) == Some("function")
                && t.get("name").and_then(Value::as_str) == Some(name)
        });
        let Some(tool) = tool else { return Ok(None) };
        if tool.get("strict").and_then(Value::as_bool) != Some(true) {
            return Ok(None);
        }
        serde_json::from_str(arguments)
            .map(Some)
            .map_err(|e| Error::Parse {
                what: format!("the arguments of the call to `{name}`"),
                partial: false,
                arguments: true,
                message: e.to_string(),
            })
    }
}

/// The response accumulated from the events so far: the `response` object of
/// `response.created` (updated by `response.in_progress` and the final events), with the
/// output items, content parts, text, refusals, function-call arguments and reasoning
/// summaries built from the deltas. Kept as JSON, so fields this SDK does not know are
/// kept too; [`to_typed`](Self::to_typed) gives the generated type.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResponseSnapshot {
    /// The response object without `output`.
    pub(crate) response: Map<String, Value>,
    /// The output items, by `output_index`.
    pub(crate) output: Vec<Value>,
}

impl ResponseSnapshot {
    pub(crate) fn from_response(response: Value) -> Self {
        let mut snapshot = ResponseSnapshot::default();
        snapshot.replace(response);
        snapshot
    }

    /// Replaces everything with `response` (an authoritative response object).
    pub(crate) fn replace(&mut self, response: Value) {
        match response {
            Value::Object(mut map) => {
                self.output = match map.remove("output") {
                    Some(Value::Array(items)) => items,
                    _ => Vec::new(),
                };
                self.response = map;
            }
            other => {
                self.response = Map::new();
                self.response.insert("value".into(), other);
                self.output.clear();
            }
        }
    }

    /// Updates the top-level fields from `response`, keeping the output built so far.
    pub(crate) fn update_fields(&mut self, response: Value) {
        if let Value::Object(map) = response {
            for (k, v) in map {
                if k != "output" {
                    self.response.insert(k, v);
                }
            }
        }
    }

    /// The response id (`None` before it is known).
    pub fn id(&self) -> Option<&str> {
        self.response.get("id").and_then(Value::as_str)
    }

    /// The status (`in_progress`, `completed`, ...).
    pub fn status(&self) -> Option<&str> {
        self.response.get("status").and_then(Value::as_str)
    }

    /// Whether the response runs in the background (`background: true`).
    pub fn is_background(&self) -> bool {
        self.response.get("background").and_then(Value::as_bool) == Some(true)
    }

    /// A top-level field of the response other than `output`.
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.response.get(name)
    }

    /// The output items so far, as JSON.
    pub fn output(&self) -> &[Value] {
        &self.output
    }

    /// The text of an `output_text` (or any content part with `text`) of an item.
    pub fn text(&self, output_index: usize, content_index: usize) -> Option<&str> {
        self.output
            .get(output_index)?
            .get("content")?
            .get(content_index)?
            .get("text")?
            .as_str()
    }

    /// The arguments of a function call item so far.
    pub fn arguments(&self, output_index: usize) -> Option<&str> {
        self.output.get(output_index)?.get("arguments")?.as_str()
    }

    /// The concatenated text of every `output_text` part of every message, as the
    /// `output_text` convenience property of the other SDKs.
    pub fn output_text(&self) -> String {
        output_text(&self.output)
    }

    /// The whole response as JSON (`output` included). O(size of the response).
    pub fn to_json(&self) -> Value {
        let mut map = self.response.clone();
        map.insert("output".into(), Value::Array(self.output.clone()));
        Value::Object(map)
    }

    /// The snapshot as the generated [`Response`](crate::types::Response) type.
    pub fn to_typed(&self) -> Result<crate::types::Response, Error> {
        decode_response(self.to_json(), || self.to_json())
    }
}

/// `json` as the generated `Response`; on failure the path is found in `again()`, the same
/// JSON made again (the decode consumed the first).
fn decode_response(
    json: Value,
    again: impl FnOnce() -> Value,
) -> Result<crate::types::Response, Error> {
    serde_json::from_value(json).map_err(|e| Error::Decode {
        what: "Response".into(),
        path: crate::error::value_path::<crate::types::Response>(&again().to_string()),
        message: e.to_string(),
        snippet: String::new(),
    })
}

fn output_text(output: &[Value]) -> String {
    let mut text = String::new();
    for item in output {
        if item.get("type").and_then(Value::as_str) != Some("message") {
            continue;
        }
        for part in item
            .get("content")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if part.get("type").and_then(Value::as_str) == Some("output_text")
                && let Some(t) = part.get("text").and_then(Value::as_str)
            {
                text.push_str(t);
            }
        }
    }
    text
}

/// The final response: the `response` of `response.completed` as sent (every field
/// kept), with `parsed` added to each `output_text` part (the text parsed as JSON when a
/// structured text format was given, else `null`) and `parsed_arguments` to each
/// function call (JSON for a strict function tool of the request, else `null`), as the
/// reference SDK's `ParsedResponse`.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedResponse {
    json: Value,
}

impl ParsedResponse {
    /// The response as JSON in the reference shape.
    pub fn json(&self) -> &Value {
        &self.json
    }

    /// Takes the JSON.
    pub fn into_json(self) -> Value {
        self.json
    }

    /// The response id.
    pub fn id(&self) -> Option<&str> {
        self.json.get("id").and_then(Value::as_str)
    }

    /// The status (`completed`, ...).
    pub fn status(&self) -> Option<&str> {
        self.json.get("status").and_then(Value::as_str)
    }

    /// The output items as JSON.
    pub fn output(&self) -> &[Value] {
        self.json
            .get("output")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    }

    /// The concatenated text of every `output_text` part of every message.
    pub fn output_text(&self) -> String {
        output_text(self.output())
    }

    /// The first non-null `parsed` of an `output_text` part: the structured output.
    pub fn output_parsed(&self) -> Option<&Value> {
        self.output()
            .iter()
            .filter(|item| item.get("type").and_then(Value::as_str) == Some("message"))
            .flat_map(|item| {
                item.get("content")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
            })
            .filter_map(|part| part.get("parsed"))
            .find(|parsed| !parsed.is_null())
    }

    /// [`output_parsed`](Self::output_parsed) decoded as `T`; `Ok(None)` when there is
    /// none (e.g. the model refused).
    pub fn output_parsed_as<T: serde::de::DeserializeOwned>(&self) -> Result<Option<T>, Error> {
        let Some(value) = self.output_parsed() else {
            return Ok(None);
        };
        serde_path_to_error::deserialize(value)
            .map(Some)
            .map_err(|e| Error::Parse {
                what: format!("the output text as {}", std::any::type_name::<T>()),
                partial: false,
                arguments: false,
                message: format!("at `{}`: {}", e.path(), e.inner()),
            })
    }

    /// The function calls of the output, as JSON items (`name`, `call_id`, `arguments`,
    /// `parsed_arguments`, ...).
    pub fn function_calls(&self) -> impl Iterator<Item = &Value> {
        self.output()
            .iter()
            .filter(|item| item.get("type").and_then(Value::as_str) == Some("function_call"))
    }

    /// The response as the generated [`Response`](crate::types::Response) type (the added
    /// `parsed` fields are not part of it).
    pub fn to_typed(&self) -> Result<crate::types::Response, Error> {
        decode_response(self.json.clone(), || self.json.clone())
    }
}

/// Adds `parsed` and `parsed_arguments` to a response object (see [`ParsedResponse`]).
///
/// ```
/// use openai_sdk::responses::{parse_response, ResponseParseOptions};
/// use serde_json::json;
///
/// let response = json!({"id": "resp_1", "output": [{"type": "message", "content": [
///     {"type": "output_text", "text": "{\"a\":1}", "annotations": []}]}]});
/// let options = ResponseParseOptions::new().text_format(json!({"type": "json_schema"}));
/// let parsed = parse_response(response, &options)?;
/// assert_eq!(parsed.output_parsed(), Some(&json!({"a": 1})));
/// # Ok::<(), openai_sdk::Error>(())
/// ```
pub fn parse_response(
    mut response: Value,
    options: &ResponseParseOptions,
) -> Result<ParsedResponse, Error> {
    if let Some(Value::Array(output)) = response.get_mut("output") {
        for (i, item) in output.iter_mut().enumerate() {
            let Value::Object(item) = item else { continue };
            match item.get("type").and_then(Value::as_str) {
                Some("message") => {
                    let Some(Value::Array(parts)) = item.get_mut("content") else {
                        continue;
                    };
                    for (j, part) in parts.iter_mut().enumerate() {
                        let Value::Object(part) = part else { continue };
                        if part.get("type").and_then(Value::as_str) != Some("output_text") {
                            continue;
                        }
                        let text = part.get("text").and_then(Value::as_str).unwrap_or("");
                        let parsed = options
                            .parse_text(text, || format!("the output text of item {i}, part {j}"))?
                            .unwrap_or(Value::Null);
                        part.insert("parsed".into(), parsed);
                    }
                }
                Some("function_call") => {
                    let name = item.get("name").and_then(Value::as_str).unwrap_or("");
                    let arguments = item.get("arguments").and_then(Value::as_str).unwrap_or("");
                    let parsed = options
                        .parse_arguments(name, arguments)?
                        .unwrap_or(Value::Null);
                    item.insert("parsed_arguments".into(), parsed);
                }
                _ => {}
            }
        }
    }
    Ok(ParsedResponse { json: response })
}

/// A view of a text in the snapshot: the accumulated text of an output-text part
/// (`snapshot` of `response.output_text.delta`) or the accumulated arguments of a
/// function call (`snapshot` of `response.function_call_arguments.delta`). Holds the
/// snapshot by [`Arc`]: no copy of the text. Its `Debug` shows the text.
#[derive(Clone)]
pub struct TextSnapshot {
    pub(crate) snapshot: Arc<ResponseSnapshot>,
    pub(crate) output_index: usize,
    /// `Some` for a content part's text, `None` for a function call's arguments.
    pub(crate) content_index: Option<usize>,
}

impl TextSnapshot {
    /// The text so far.
    pub fn as_str(&self) -> &str {
        let text = match self.content_index {
            Some(c) => self.snapshot.text(self.output_index, c),
            None => self.snapshot.arguments(self.output_index),
        };
        text.unwrap_or("")
    }

    /// The whole response snapshot the text belongs to.
    pub fn response(&self) -> &Arc<ResponseSnapshot> {
        &self.snapshot
    }
}

crate::streaming::text_view!(TextSnapshot);
