//! The automatic tool-call loop of Chat Completions: `client.chat().run_tools(...)`.

use serde_json::{json, Value};

use super::snapshot::{parse_chat_completion, ParseOptions, ParsedChatCompletion};
use crate::tools::Tools;
use crate::{Client, Error};

/// The outcome of [`Chat::run_tools`](super::Chat::run_tools).
#[derive(Debug, Clone)]
pub struct ChatToolRun {
    /// The last completion (the final answer when `finished`).
    pub completion: ParsedChatCompletion,
    /// The conversation as sent in the last request, plus the last answer's message: the
    /// request's messages, each round's assistant message and its `tool` messages.
    pub messages: Vec<Value>,
    /// How many requests were sent.
    pub rounds: usize,
    /// Whether the model gave a final answer (`false`: the round limit stopped the loop
    /// while the model still called tools).
    pub finished: bool,
    /// Every tool call run: (name, arguments, output sent back).
    pub calls: Vec<(String, String, String)>,
}

pub(crate) async fn run(client: &Client, mut body: Value, tools: &Tools) -> Result<ChatToolRun, Error> {
    let map = body.as_object_mut().ok_or_else(|| Error::InvalidRequest("the request is not an object".into()))?;
    map.remove("stream");
    map.remove("stream_options");
    let mut all_tools = match map.remove("tools") {
        Some(Value::Array(t)) => t,
        _ => Vec::new(),
    };
    all_tools.extend(tools.chat_definitions());
    let options = ParseOptions::new().tools(all_tools.clone());
    map.insert("tools".into(), Value::Array(all_tools));
    let mut messages = match map.remove("messages") {
        Some(Value::Array(m)) => m,
        _ => return Err(Error::InvalidRequest("the request has no `messages` list".into())),
    };
    let path = client.config().chat_path.clone();
    let mut calls = Vec::new();
    let mut rounds = 0;
    loop {
        rounds += 1;
        body["messages"] = Value::Array(messages.clone());
        let request = client.request(reqwest::Method::POST, &path)?.json(&body);
        let response = client.send(request).await?;
        let json: serde_json::Map<String, Value> = crate::error::decode_json::<serde_json::Map<String, Value>>(response).await?.into_inner();
        let message = json
            .get("choices")
            .and_then(|c| c.get(0))
            .and_then(|c| c.get("message"))
            .cloned()
            .unwrap_or(Value::Null);
        let pending: Vec<(String, String, String)> = message
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|c| c.get("type").and_then(Value::as_str).is_none_or(|t| t == "function"))
            .map(|c| {
                let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_owned();
                let function = c.get("function");
                (
                    text(c.get("id")),
                    text(function.and_then(|f| f.get("name"))),
                    text(function.and_then(|f| f.get("arguments"))),
                )
            })
            .collect();
        let done = pending.is_empty() || rounds >= tools.rounds_limit();
        if !message.is_null() {
            messages.push(message);
        }
        if done {
            // Unknown tools and bad arguments were answered inside the loop; the last
            // completion is read with the same tool list, so strict calls are parsed.
            let completion = parse_chat_completion(&json, &options.deny_unknown_tools(false))?;
            return Ok(ChatToolRun { completion, messages, rounds, finished: pending.is_empty(), calls });
        }
        // Run every call of the round at once.
        let outputs =
            futures::future::join_all(pending.iter().map(|(_, name, args)| tools.call(name, args.clone()))).await;
        for ((id, name, args), output) in pending.into_iter().zip(outputs) {
            messages.push(json!({"role": "tool", "tool_call_id": id, "content": output}));
            calls.push((name, args, output));
        }
    }
}
