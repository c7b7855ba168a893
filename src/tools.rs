//! Typed tool functions shared by the tool loops of the Responses API
//! (`client.responses().run_tools`) and of Chat Completions (`client.chat().run_tools`).

#![cfg_attr(not(any(feature = "chat", feature = "responses")), allow(dead_code))]

use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;
use serde_json::{json, Value};

use crate::Error;

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
}

impl Default for Tools {
    fn default() -> Self {
        Tools { tools: Vec::new(), max_rounds: 10 }
    }
}

impl std::fmt::Debug for Tools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&Value> = self.tools.iter().map(|t| &t.definition["name"]).collect();
        f.debug_struct("Tools").field("tools", &names).field("max_rounds", &self.max_rounds).finish()
    }
}

impl Tools {
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

