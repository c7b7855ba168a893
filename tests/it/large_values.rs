//! Huge and deeply nested JSON from a server, through the whole stream pipelines (SSE bytes
//! over loopback from the scripted server, reqwest, the decoder, the state machine and the
//! parsers), on a thread with a 2 MiB stack, the size of a Tokio worker's.
//!
//! A flat array of ten million members once aborted the process with a stack overflow when
//! the partial-JSON parser's storage was dropped (issue 18): an abort, not a panic, so one
//! response could kill a server. Deep nesting must end in a typed error, never an overflow.
//!
//! The tests take a lock so that only one of the large values is in memory at a time.

use std::sync::Mutex;

use futures::StreamExt;
use openai_sdk::testing::{Reply, ScriptedServer};
use openai_sdk::Error;
use serde_json::{json, Value};

/// Members of the large array, as in the issue.
const MEMBERS: usize = 10_000_000;
/// The stack of a Tokio worker thread.
const STACK: usize = 2 << 20;
/// Bytes of text per delta event.
const PIECE: usize = 1 << 16;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// `[0,0,...,0]` with `MEMBERS` members.
fn big_array() -> String {
    let mut text = String::with_capacity(2 * MEMBERS + 1);
    text.push('[');
    for i in 0..MEMBERS {
        text.push_str(if i == 0 { "0" } else { ",0" });
    }
    text.push(']');
    text
}

/// `[[[...]]]`, `depth` levels.
fn deep_array(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

/// Runs `f` on a fresh thread with a 2 MiB stack and a current-thread runtime, so that every
/// future, and every drop, happens on that stack. A stack overflow aborts the test binary.
fn on_small_stack<F, Fut>(f: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(f())
        })
        .unwrap()
        .join()
        .unwrap();
}

/// The text cut into delta pieces (the texts here are ASCII).
fn pieces(text: &str) -> impl Iterator<Item = &str> {
    text.as_bytes()
        .chunks(PIECE)
        .map(|b| std::str::from_utf8(b).unwrap())
}

fn sse_data(out: &mut Vec<u8>, value: &Value) {
    out.extend_from_slice(b"data: ");
    serde_json::to_writer(&mut *out, value).unwrap();
    out.extend_from_slice(b"\n\n");
}

// ---------------------------------------------------------------------------------------------
// Chat Completions.
// ---------------------------------------------------------------------------------------------

fn chat_chunk(delta: Value, finish: Value) -> Value {
    json!({"id": "chatcmpl-big", "object": "chat.completion.chunk", "created": 1,
           "model": "gpt-4o-2024-08-06",
           "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]})
}

/// A chat stream whose content is `content`, in pieces.
fn chat_content_stream(content: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() * 2);
    sse_data(
        &mut out,
        &chat_chunk(json!({"role": "assistant", "content": ""}), Value::Null),
    );
    for piece in pieces(content) {
        sse_data(
            &mut out,
            &chat_chunk(json!({"content": piece}), Value::Null),
        );
    }
    sse_data(&mut out, &chat_chunk(json!({}), json!("stop")));
    out.extend_from_slice(b"data: [DONE]\n\n");
    out
}

/// A chat stream with one call to the strict tool `numbers`, its arguments in pieces.
fn chat_tool_stream(arguments: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(arguments.len() * 2);
    let head = json!({"role": "assistant", "content": null, "tool_calls": [{"index": 0,
        "id": "call_big", "type": "function", "function": {"name": "numbers", "arguments": ""}}]});
    sse_data(&mut out, &chat_chunk(head, Value::Null));
    for piece in pieces(arguments) {
        let delta = json!({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]});
        sse_data(&mut out, &chat_chunk(delta, Value::Null));
    }
    sse_data(&mut out, &chat_chunk(json!({}), json!("tool_calls")));
    out.extend_from_slice(b"data: [DONE]\n\n");
    out
}

fn numbers_format() -> Value {
    json!({"type": "json_schema", "json_schema": {"name": "Numbers", "strict": true,
        "schema": {"type": "array", "items": {"type": "integer"}}}})
}

fn numbers_tool() -> Value {
    json!([{"type": "function", "function": {"name": "numbers", "strict": true,
        "parameters": {"type": "object", "properties": {}, "additionalProperties": false}}}])
}

/// Streams a structured chat answer and returns what the stream ended with: the completion's
/// JSON, or the error. Every event is read (and dropped) on the way.
async fn chat_structured(server: &ScriptedServer, body: Vec<u8>) -> Result<Value, Error> {
    server.clear_routes();
    server
        .post("/v1/chat/completions")
        .respond(Reply::sse_raw(body));
    let client = server.client();
    let request = crate::common::chat_request(
        json!({"messages": [{"role": "user", "content": "Many zeros, please."}], "response_format": numbers_format()}),
    );
    let mut stream = client.chat().stream_structured(request).await?;
    let mut events = 0usize;
    while let Some(event) = stream.next().await {
        event?;
        events += 1;
    }
    assert!(events > 2);
    let completion = stream.final_completion().await?;
    Ok(completion.into_json())
}

async fn chat_tools(server: &ScriptedServer, body: Vec<u8>) -> Result<Value, Error> {
    server.clear_routes();
    server
        .post("/v1/chat/completions")
        .respond(Reply::sse_raw(body));
    let client = server.client();
    let mut stream = client
        .chat()
        .stream(crate::common::chat_request(json!({"messages": [{"role": "user", "content": "Many zeros, please."}], "tools": numbers_tool()})))
        .await?;
    while let Some(event) = stream.next().await {
        event?;
    }
    let completion = stream.final_completion().await?;
    Ok(completion.into_json())
}

fn array_len(value: &Value) -> Option<usize> {
    value.as_array().map(Vec::len)
}

#[test]
fn chat_structured_content_with_ten_million_members() {
    let server = ScriptedServer::start_blocking();
    on_small_stack(move || async move {
        let completion = chat_structured(&server, chat_content_stream(&big_array()))
            .await
            .unwrap();
        let message = &completion["choices"][0]["message"];
        assert_eq!(array_len(&message["parsed"]), Some(MEMBERS));
        assert_eq!(
            message["content"].as_str().map(str::len),
            Some(2 * MEMBERS + 1)
        );
        // Everything (the stream state, its parser, the completion) is dropped here, on the
        // small stack.
    });
}

#[test]
fn chat_strict_tool_arguments_with_ten_million_members() {
    let server = ScriptedServer::start_blocking();
    on_small_stack(move || async move {
        let completion = chat_tools(&server, chat_tool_stream(&big_array()))
            .await
            .unwrap();
        let function = &completion["choices"][0]["message"]["tool_calls"][0]["function"];
        assert_eq!(array_len(&function["parsed_arguments"]), Some(MEMBERS));
    });
}

#[test]
fn chat_deep_nesting_is_a_typed_parse_error() {
    let server = ScriptedServer::start_blocking();
    on_small_stack(move || async move {
        let deep = deep_array(100_000);
        let error = chat_structured(&server, chat_content_stream(&deep))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::Parse { partial: true, arguments: false, message, .. }
                if message.contains("recursion limit exceeded")),
            "{error:?}"
        );
        let error = chat_tools(&server, chat_tool_stream(&deep))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::Parse { partial: true, arguments: true, message, .. }
                if message.contains("recursion limit exceeded")),
            "{error:?}"
        );
    });
}

// ---------------------------------------------------------------------------------------------
// Responses.
// ---------------------------------------------------------------------------------------------

/// Builds a Responses stream, numbering the events.
struct ResponseEvents {
    out: Vec<u8>,
    sequence: u64,
}

impl ResponseEvents {
    fn push(&mut self, kind: &str, mut fields: Value) {
        fields["type"] = json!(kind);
        fields["sequence_number"] = json!(self.sequence);
        self.sequence += 1;
        self.out
            .extend_from_slice(format!("event: {kind}\n").as_bytes());
        sse_data(&mut self.out, &fields);
    }
}

fn response(status: &str, output: Value) -> Value {
    json!({"id": "resp_big", "object": "response", "created_at": 1, "status": status,
           "model": "gpt-4o-2024-08-06", "output": output, "usage": null})
}

/// A Responses stream with one message whose output text is `text`, as the API sends it:
/// the deltas, then the whole text again in the `.done` events and `response.completed`.
fn responses_text_stream(text: &str) -> Vec<u8> {
    let mut e = ResponseEvents {
        out: Vec::with_capacity(text.len() * 6),
        sequence: 0,
    };
    e.push(
        "response.created",
        json!({"response": response("in_progress", json!([]))}),
    );
    let item = |status: &str, content: Value| {
        json!({"id": "msg_big", "type": "message", "status": status, "role": "assistant",
               "content": content})
    };
    let part = |text: &str| json!({"type": "output_text", "annotations": [], "text": text});
    let at = |mut fields: Value| {
        fields["item_id"] = json!("msg_big");
        fields["output_index"] = json!(0);
        fields["content_index"] = json!(0);
        fields
    };
    e.push(
        "response.output_item.added",
        json!({"output_index": 0, "item": item("in_progress", json!([]))}),
    );
    e.push("response.content_part.added", at(json!({"part": part("")})));
    for piece in pieces(text) {
        e.push(
            "response.output_text.delta",
            at(json!({"delta": piece, "logprobs": []})),
        );
    }
    e.push(
        "response.output_text.done",
        at(json!({"text": text, "logprobs": []})),
    );
    e.push(
        "response.content_part.done",
        at(json!({"part": part(text)})),
    );
    let done = item("completed", json!([part(text)]));
    e.push(
        "response.output_item.done",
        json!({"output_index": 0, "item": done}),
    );
    e.push(
        "response.completed",
        json!({"response": response("completed", json!([done]))}),
    );
    e.out
}

/// A Responses stream with one call to the strict function `numbers`.
fn responses_call_stream(arguments: &str) -> Vec<u8> {
    let mut e = ResponseEvents {
        out: Vec::with_capacity(arguments.len() * 4),
        sequence: 0,
    };
    e.push(
        "response.created",
        json!({"response": response("in_progress", json!([]))}),
    );
    let item = |status: &str, arguments: &str| {
        json!({"id": "fc_big", "type": "function_call", "status": status, "call_id": "call_big",
               "name": "numbers", "arguments": arguments})
    };
    e.push(
        "response.output_item.added",
        json!({"output_index": 0, "item": item("in_progress", "")}),
    );
    for piece in pieces(arguments) {
        e.push(
            "response.function_call_arguments.delta",
            json!({"item_id": "fc_big", "output_index": 0, "delta": piece}),
        );
    }
    e.push(
        "response.function_call_arguments.done",
        json!({"item_id": "fc_big", "output_index": 0, "arguments": arguments}),
    );
    let done = item("completed", arguments);
    e.push(
        "response.output_item.done",
        json!({"output_index": 0, "item": done}),
    );
    e.push(
        "response.completed",
        json!({"response": response("completed", json!([done]))}),
    );
    e.out
}

fn responses_request(extra: Value) -> openai_sdk::types::CreateResponse {
    let mut body = json!({"model": "gpt-4o-2024-08-06", "input": "Many zeros, please."});
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    serde_json::from_value(body).unwrap()
}

/// Streams a Responses answer and returns the final response's JSON, or the error.
async fn responses_stream(
    server: &ScriptedServer,
    body: Vec<u8>,
    structured: bool,
) -> Result<Value, Error> {
    server.clear_routes();
    server.post("/v1/responses").respond(Reply::sse_raw(body));
    let client = server.client();
    let mut stream = if structured {
        let format = json!({"type": "json_schema", "name": "Numbers", "strict": true,
            "schema": {"type": "array", "items": {"type": "integer"}}});
        client
            .responses()
            .stream_structured(responses_request(json!({"text": {"format": format}})))
            .await?
    } else {
        let tools = json!([{"type": "function", "name": "numbers", "strict": true,
            "parameters": {"type": "object", "properties": {}, "additionalProperties": false}}]);
        client
            .responses()
            .stream(responses_request(json!({"tools": tools})))
            .await?
    };
    while let Some(event) = stream.next().await {
        event?;
    }
    Ok(stream.final_response().await?.into_json())
}

#[test]
fn responses_structured_text_with_ten_million_members() {
    let server = ScriptedServer::start_blocking();
    on_small_stack(move || async move {
        let response = responses_stream(&server, responses_text_stream(&big_array()), true)
            .await
            .unwrap();
        let parsed = &response["output"][0]["content"][0]["parsed"];
        assert_eq!(array_len(parsed), Some(MEMBERS));
    });
}

#[test]
fn responses_strict_function_arguments_with_ten_million_members() {
    let server = ScriptedServer::start_blocking();
    on_small_stack(move || async move {
        let response = responses_stream(&server, responses_call_stream(&big_array()), false)
            .await
            .unwrap();
        assert_eq!(
            array_len(&response["output"][0]["parsed_arguments"]),
            Some(MEMBERS)
        );
    });
}

#[test]
fn responses_deep_nesting_is_a_typed_parse_error() {
    let server = ScriptedServer::start_blocking();
    on_small_stack(move || async move {
        let deep = deep_array(100_000);
        let error = responses_stream(&server, responses_text_stream(&deep), true)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::Parse { arguments: false, message, .. }
                if message.contains("recursion limit exceeded")),
            "{error:?}"
        );
        let error = responses_stream(&server, responses_call_stream(&deep), false)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::Parse { arguments: true, message, .. }
                if message.contains("recursion limit exceeded")),
            "{error:?}"
        );
    });
}
