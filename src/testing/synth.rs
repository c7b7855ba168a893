//! Streams synthesised from complete answers: a scripted server can stream the answer a
//! test (or an offline example) gives as a whole, event by event as the API would.

use serde_json::{json, Map, Value};

use super::reply::{Reply, SseEvent};

/// Pieces of at most a few words: the deltas of a synthesised stream.
fn pieces(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut words = 0;
    for (i, c) in text.char_indices() {
        if c == ' ' {
            words += 1;
            if words == 2 {
                out.push(&text[start..=i]);
                start = i + 1;
                words = 0;
            }
        }
    }
    if start < text.len() || out.is_empty() {
        out.push(&text[start..]);
    }
    out
}

/// Builds Responses API events with growing sequence numbers.
struct ResponseEvents {
    events: Vec<SseEvent>,
}

impl ResponseEvents {
    fn push(&mut self, kind: &str, mut fields: Value) {
        fields["type"] = json!(kind);
        fields["sequence_number"] = json!(self.events.len());
        self.events.push(SseEvent::json(&fields).event(kind));
    }
}

impl Reply {
    /// The Responses API stream (`event:` + `data:` frames, sequence numbers from 0) that
    /// ends with `response`, a complete response object: `response.created` and
    /// `response.in_progress` (without output), then for each output item
    /// `output_item.added`, its content parts with their text in deltas of two words, or
    /// a function call's arguments in deltas, the `.done` events, `output_item.done`,
    /// and finally `response.completed` with `response` as given.
    ///
    /// ```
    /// use openai_sdk::testing::Reply;
    /// use serde_json::json;
    ///
    /// let reply = Reply::responses_stream_of(&json!({"id": "resp_1", "object": "response",
    ///     "status": "completed", "output": [{"type": "message", "id": "msg_1", "role": "assistant",
    ///     "status": "completed", "content": [{"type": "output_text", "text": "Hello there, world", "annotations": []}]}]}));
    /// let body = String::from_utf8(reply.body_bytes().to_vec()).unwrap();
    /// assert!(body.starts_with("event: response.created\n"));
    /// assert_eq!(body.matches("event: response.output_text.delta\n").count(), 2);
    /// assert!(body.contains("\"sequence_number\":9"));
    /// assert!(body.trim_end().rsplit("\n\n").next().unwrap().starts_with("event: response.completed"));
    /// ```
    pub fn responses_stream_of(response: &Value) -> Reply {
        let mut start = response.clone();
        if let Some(map) = start.as_object_mut() {
            map.insert("status".into(), json!("in_progress"));
            map.insert("output".into(), json!([]));
        }
        let mut out = ResponseEvents { events: Vec::new() };
        out.push("response.created", json!({"response": start}));
        out.push("response.in_progress", json!({"response": start}));
        let items = response
            .get("output")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (output_index, item) in items.iter().enumerate() {
            let item_id = item.get("id").cloned().unwrap_or(Value::Null);
            let mut added = item.clone();
            if let Some(map) = added.as_object_mut() {
                map.insert("status".into(), json!("in_progress"));
                if map.contains_key("content") {
                    map.insert("content".into(), json!([]));
                }
                if map.contains_key("arguments") {
                    map.insert("arguments".into(), json!(""));
                }
            }
            out.push(
                "response.output_item.added",
                json!({"output_index": output_index, "item": added}),
            );
            let parts = item
                .get("content")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            for (content_index, part) in parts.iter().enumerate() {
                let at = json!({"item_id": item_id, "output_index": output_index, "content_index": content_index});
                let with = |extra: Value| {
                    let mut fields = at.clone();
                    if let (Some(fields), Value::Object(extra)) = (fields.as_object_mut(), extra) {
                        fields.extend(extra);
                    }
                    fields
                };
                let text = part.get("text").and_then(Value::as_str);
                let mut empty = part.clone();
                if let (Some(map), Some(_)) = (empty.as_object_mut(), text) {
                    map.insert("text".into(), json!(""));
                }
                out.push("response.content_part.added", with(json!({"part": empty})));
                if let Some(text) = text.filter(|_| part.get("type") == Some(&json!("output_text")))
                {
                    for piece in pieces(text) {
                        out.push(
                            "response.output_text.delta",
                            with(json!({"delta": piece, "logprobs": []})),
                        );
                    }
                    out.push(
                        "response.output_text.done",
                        with(json!({"text": text, "logprobs": []})),
                    );
                }
                out.push("response.content_part.done", with(json!({"part": part})));
            }
            if let Some(arguments) = item.get("arguments").and_then(Value::as_str) {
                let at = json!({"item_id": item_id, "output_index": output_index});
                for piece in pieces(arguments) {
                    let mut fields = at.clone();
                    fields["delta"] = json!(piece);
                    out.push("response.function_call_arguments.delta", fields);
                }
                let mut fields = at;
                fields["arguments"] = json!(arguments);
                out.push("response.function_call_arguments.done", fields);
            }
            out.push(
                "response.output_item.done",
                json!({"output_index": output_index, "item": item}),
            );
        }
        out.push("response.completed", json!({"response": response}));
        Reply::sse_events(out.events)
    }

    /// The Chat Completions stream (`data:` chunks, then `data: [DONE]`) of `completion`, a
    /// complete `chat.completion` object: for each choice a first chunk with the role,
    /// the content (or refusal) in deltas of two words, each tool call's id and name then
    /// its arguments in deltas, and a last chunk with the finish reason; `usage`, when
    /// the completion has it, in a chunk without choices at the end (as with
    /// `stream_options.include_usage`).
    ///
    /// ```
    /// use openai_sdk::testing::Reply;
    /// use serde_json::json;
    ///
    /// let reply = Reply::chat_stream_of(&json!({"id": "c1", "object": "chat.completion", "created": 1,
    ///     "model": "gpt-4o", "choices": [{"index": 0, "finish_reason": "stop",
    ///     "message": {"role": "assistant", "content": "Hello there, world"}}]}));
    /// let body = String::from_utf8(reply.body_bytes().to_vec()).unwrap();
    /// assert_eq!(body.matches("chat.completion.chunk").count(), 4);
    /// assert!(body.ends_with("data: [DONE]\n\n"));
    /// ```
    pub fn chat_stream_of(completion: &Value) -> Reply {
        let mut head = Map::new();
        for key in [
            "id",
            "created",
            "model",
            "system_fingerprint",
            "service_tier",
        ] {
            if let Some(v) = completion.get(key) {
                head.insert(key.into(), v.clone());
            }
        }
        head.insert("object".into(), json!("chat.completion.chunk"));
        let chunk = |choices: Value| {
            let mut chunk = head.clone();
            chunk.insert("choices".into(), choices);
            SseEvent::json(&Value::Object(chunk))
        };
        let delta = |index: &Value, delta: Value, finish: &Value| {
            chunk(
                json!([{"index": index, "delta": delta, "logprobs": null, "finish_reason": finish}]),
            )
        };
        let mut events = Vec::new();
        let choices = completion
            .get("choices")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for choice in choices {
            let index = choice.get("index").cloned().unwrap_or(json!(0));
            let message = choice.get("message").cloned().unwrap_or(Value::Null);
            let role = message.get("role").cloned().unwrap_or(json!("assistant"));
            events.push(delta(
                &index,
                json!({"role": role, "content": ""}),
                &Value::Null,
            ));
            for key in ["content", "refusal"] {
                if let Some(text) = message.get(key).and_then(Value::as_str) {
                    for piece in pieces(text) {
                        events.push(delta(&index, json!({ key: piece }), &Value::Null));
                    }
                }
            }
            let calls = message
                .get("tool_calls")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            for (i, call) in calls.iter().enumerate() {
                let function = call.get("function").cloned().unwrap_or(Value::Null);
                let head = json!({"index": i, "id": call.get("id"), "type": "function",
                    "function": {"name": function.get("name"), "arguments": ""}});
                events.push(delta(&index, json!({"tool_calls": [head]}), &Value::Null));
                let arguments = function
                    .get("arguments")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                for piece in pieces(arguments) {
                    let part = json!({"index": i, "function": {"arguments": piece}});
                    events.push(delta(&index, json!({"tool_calls": [part]}), &Value::Null));
                }
            }
            let finish = choice
                .get("finish_reason")
                .cloned()
                .unwrap_or(json!("stop"));
            events.push(delta(&index, json!({}), &finish));
        }
        if let Some(usage) = completion.get("usage").filter(|u| !u.is_null()) {
            let mut last = head.clone();
            last.insert("choices".into(), json!([]));
            last.insert("usage".into(), usage.clone());
            events.push(SseEvent::json(&Value::Object(last)));
        }
        events.push(SseEvent::done());
        Reply::sse_events(events)
    }
}

#[cfg(test)]
mod tests {
    use super::pieces;

    #[test]
    fn pieces_cover_the_text_in_order() {
        for text in ["", "a", "a b", "a b c d e", " lead", "trail ", "é ü x"] {
            assert_eq!(pieces(text).concat(), text);
            assert!(pieces(text).iter().all(|p| p.matches(' ').count() <= 2));
        }
        assert_eq!(pieces("one two three"), ["one two ", "three"]);
    }
}
