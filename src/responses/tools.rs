//! The automatic tool-call loop of the Responses API: `client.responses().run_tools(...)`.

use serde_json::{json, Value};

use super::snapshot::{parse_response, ParsedResponse, ResponseParseOptions};
use crate::{Client, Error};

/// The tools of [`Responses::run_tools`](super::Responses::run_tools): the registry shared
/// with the chat tool loop.
pub use crate::tools::Tools as ResponseTools;

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
        if pending.is_empty() || rounds >= tools.rounds_limit() {
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
