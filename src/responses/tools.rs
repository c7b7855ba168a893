//! The automatic tool-call loop of the Responses API: `client.responses().run_tools(...)`.

use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;
use serde_json::{json, Value};

use super::snapshot::{parse_response, ParsedResponse, ResponseParseOptions};
use crate::{Client, Error};

type ToolFn = Arc<dyn Fn(String) -> BoxFuture<'static, Result<String, String>> + Send + Sync>;

struct Tool {
    definition: Value,
    call: ToolFn,
}

/// Typed tool functions for [`Responses::run_tools`](super::Responses::run_tools).
///
/// Each tool is an async function of one argument whose type gives the tool's strict JSON
/// schema ([`strict_schema_for`](crate::parsing::strict_schema_for)). A tool that returns
/// an error, arguments that do not decode, or a call to a tool that is not registered
/// send the error text back to the model as the call's output: the loop goes on.
///
/// ```
/// use openai_sdk::responses::ResponseTools;
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Weather { city: String }
///
/// let tools = ResponseTools::new()
///     .tool("get_weather", "The weather in a city", |args: Weather| async move {
///         Ok::<_, String>(format!("18°C in {}", args.city))
///     })?
///     .max_rounds(5);
/// assert_eq!(tools.definitions()[0]["strict"], true);
/// # Ok::<(), openai_sdk::Error>(())
/// ```
#[derive(Clone)]
pub struct ResponseTools {
    tools: Vec<Arc<Tool>>,
    max_rounds: usize,
}

impl Default for ResponseTools {
    fn default() -> Self {
        ResponseTools { tools: Vec::new(), max_rounds: 10 }
    }
}

impl std::fmt::Debug for ResponseTools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&Value> = self.tools.iter().map(|t| &t.definition["name"]).collect();
        f.debug_struct("ResponseTools").field("tools", &names).field("max_rounds", &self.max_rounds).finish()
    }
}

impl ResponseTools {
    /// No tools; at most 10 rounds.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a tool. Its output is sent as is when it is a string, as JSON otherwise.
    /// A type whose schema cannot be strict is [`Error::InvalidRequest`].
    pub fn tool<A, F, Fut, O, E>(mut self, name: &str, description: &str, f: F) -> Result<Self, Error>
    where
        A: serde::de::DeserializeOwned + schemars::JsonSchema + 'static,
        F: Fn(A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, E>> + Send + 'static,
        O: serde::Serialize,
        E: std::fmt::Display,
    {
        let strict = crate::parsing::strict_schema_for::<A>()
            .map_err(|e| Error::InvalidRequest(format!("the arguments of tool `{name}` cannot be strict: {e}")))?;
        let definition = json!({
            "type": "function", "name": name, "description": description,
            "parameters": strict.schema, "strict": true,
        });
        let f = Arc::new(f);
        let call: ToolFn = Arc::new(move |arguments: String| {
            let f = Arc::clone(&f);
            async move {
                let args: A = serde_json::from_str(&arguments).map_err(|e| format!("invalid arguments: {e}"))?;
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

    /// The tool definitions sent with each request.
    pub fn definitions(&self) -> Vec<Value> {
        self.tools.iter().map(|t| t.definition.clone()).collect()
    }

    /// Runs one call: the output text sent back to the model.
    async fn call(&self, name: &str, arguments: String) -> String {
        let tool = self.tools.iter().find(|t| t.definition["name"] == name);
        let result = match tool {
            Some(tool) => (tool.call)(arguments).await,
            None => Err(format!("there is no tool named `{name}`")),
        };
        result.unwrap_or_else(|e| json!({"error": e}).to_string())
    }
}

/// The outcome of [`Responses::run_tools`](super::Responses::run_tools).
#[derive(Debug, Clone)]
pub struct ToolRun {
    /// The last response (the final answer when `finished`).
    pub response: ParsedResponse,
    /// How many requests were sent.
    pub rounds: usize,
    /// Whether the model gave a final answer (`false`: the round limit stopped the loop
    /// while the model still called tools).
    pub finished: bool,
    /// Every tool call run: (name, arguments, output sent back).
    pub calls: Vec<(String, String, String)>,
}

pub(crate) async fn run(client: &Client, mut body: Value, tools: &ResponseTools) -> Result<ToolRun, Error> {
    let map = body.as_object_mut().ok_or_else(|| Error::InvalidRequest("the request is not an object".into()))?;
    map.remove("stream");
    let mut all_tools = match map.remove("tools") {
        Some(Value::Array(t)) => t,
        _ => Vec::new(),
    };
    all_tools.extend(tools.definitions());
    map.insert("tools".into(), Value::Array(all_tools));
    // The conversation so far, resent each round (works with `store: false` too).
    let mut input = match map.remove("input") {
        Some(Value::String(text)) => vec![json!({"role": "user", "content": text})],
        Some(Value::Array(items)) => items,
        Some(other) => vec![other],
        None => Vec::new(),
    };
    let options = ResponseParseOptions::from_request(&body, false);
    let mut calls = Vec::new();
    let mut rounds = 0;
    loop {
        rounds += 1;
        body["input"] = Value::Array(input.clone());
        let request = client.request(reqwest::Method::POST, "/responses")?.json(&body);
        let response = client.send(request).await?;
        let bytes = response.bytes().await.map_err(Error::from_reqwest)?;
        let json: Value = serde_json::from_slice(&bytes).map_err(|e| Error::Decode {
            what: "Response".into(),
            path: ".".into(),
            message: e.to_string(),
            snippet: crate::error::snippet(&bytes),
        })?;
        let raw_output = json.get("output").and_then(Value::as_array).cloned().unwrap_or_default();
        let response = parse_response(json, &options)?;
        let pending: Vec<(String, String, String)> = response
            .function_calls()
            .map(|c| {
                let text = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
                (text("call_id"), text("name"), text("arguments"))
            })
            .collect();
        if pending.is_empty() || rounds >= tools.max_rounds {
            let finished = pending.is_empty();
            return Ok(ToolRun { response, rounds, finished, calls });
        }
        // Run every call of the round at once.
        let outputs =
            futures::future::join_all(pending.iter().map(|(_, name, args)| tools.call(name, args.clone()))).await;
        input.extend(raw_output);
        for ((call_id, name, args), output) in pending.into_iter().zip(outputs) {
            input.push(json!({"type": "function_call_output", "call_id": call_id, "output": output}));
            calls.push((name, args, output));
        }
    }
}
