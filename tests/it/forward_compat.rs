//! Values the spec does not know must decode, stay reachable, and serialize back as they came.

use openai_sdk::types;
use serde::{de::DeserializeOwned, Serialize};
use serde_json::{json, Value};

/// Decodes `v` as `T` and serializes it back; returns the decoded value.
fn round_trip<T: DeserializeOwned + Serialize>(v: &Value) -> T {
    let t: T = serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("{} did not decode: {e}\n{v}", std::any::type_name::<T>()));
    // Decoding from bytes takes the borrowing fast path of the tag dispatch: same result.
    let from_bytes: T = serde_json::from_slice(&serde_json::to_vec(v).unwrap()).unwrap();
    let back = serde_json::to_value(&t).unwrap();
    assert_eq!(back, serde_json::to_value(&from_bytes).unwrap());
    assert_eq!(
        without_nulls(back),
        without_nulls(v.clone()),
        "round trip changed the JSON"
    );
    t
}

/// An absent optional field and an explicit `null` mean the same thing to the API; the
/// generated types write optional fields only when set.
fn without_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, x)| !x.is_null())
                .map(|(k, x)| (k, without_nulls(x)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

#[test]
fn chunk_with_unknown_finish_reason_and_role() {
    let chunk = json!({
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1727346142,
        "model": "gpt-4o",
        "system_fingerprint": "fp_1",
        "choices": [{
            "index": 0,
            "delta": {"role": "critic", "content": "Hm."},
            "logprobs": null,
            "finish_reason": "new_reason"
        }]
    });
    let c: types::CreateChatCompletionStreamResponse = round_trip(&chunk);
    let choice = &c.choices[0];
    assert_eq!(
        choice.finish_reason,
        Some(
            types::CreateChatCompletionStreamResponseChoicesItemFinishReason::Other(
                "new_reason".into()
            )
        )
    );
    assert_eq!(
        choice.delta.role,
        Some(types::ChatCompletionStreamResponseDeltaRole::Other(
            "critic".into()
        ))
    );
    assert_eq!(
        choice.delta.role.as_ref().map(|r| r.as_str()),
        Some("critic")
    );
    // Known values still decode to their variants.
    let known: types::CreateChatCompletionStreamResponseChoicesItemFinishReason =
        serde_json::from_value(json!("tool_calls")).unwrap();
    assert_eq!(
        known,
        types::CreateChatCompletionStreamResponseChoicesItemFinishReason::ToolCalls
    );
}

#[test]
fn chunk_without_choices_key() {
    // gpt-audio models send chunks with no `choices` at all.
    let chunk = json!({
        "id": "chatcmpl-2",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-audio",
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    });
    let c: types::CreateChatCompletionStreamResponse = serde_json::from_value(chunk).unwrap();
    assert!(c.choices.is_empty());
    assert_eq!(c.usage.map(|u| u.total_tokens), Some(3));
}

#[test]
fn request_message_with_unknown_role_is_kept() {
    let msg = json!({"role": "critic", "content": "Too long.", "severity": 3});
    let m: types::ChatCompletionRequestMessage = round_trip(&msg);
    assert_eq!(m, types::ChatCompletionRequestMessage::Unknown(msg.clone()));
    // A known role dispatches on `role`, whatever the key order.
    let user = json!({"content": "hi", "role": "user"});
    let u: types::ChatCompletionRequestMessage = round_trip(&user);
    assert!(
        matches!(u, types::ChatCompletionRequestMessage::UserMessage(_)),
        "{u:?}"
    );
}

#[test]
fn responses_stream_event_of_unknown_type() {
    let ev = json!({"type": "response.hologram.delta", "sequence_number": 7, "item_id": "x", "delta": {"z": [1, 2]}});
    let e: types::ResponseStreamEvent = round_trip(&ev);
    assert_eq!(e, types::ResponseStreamEvent::Unknown(ev.clone()));
    // A known event with a field the spec does not know still decodes to its variant.
    let known = json!({
        "type": "response.output_text.delta",
        "sequence_number": 4,
        "item_id": "msg_1",
        "output_index": 0,
        "content_index": 0,
        "delta": "Hel",
        "logprobs": [],
        "obfuscation": "abc"
    });
    let k: types::ResponseStreamEvent = serde_json::from_value(known).unwrap();
    match k {
        types::ResponseStreamEvent::TextDeltaEvent(d) => assert_eq!(d.delta, "Hel"),
        other => panic!("dispatched to {other:?}"),
    }
}

#[test]
fn tools_of_unknown_type() {
    let tool = json!({"type": "quantum_search", "depth": 3});
    let t: types::Tool = round_trip(&tool);
    assert_eq!(t, types::Tool::Unknown(tool.clone()));
    let chat_tool: types::CreateChatCompletionRequestToolsItem = round_trip(&tool);
    assert_eq!(
        chat_tool,
        types::CreateChatCompletionRequestToolsItem::Unknown(tool)
    );
    let function =
        json!({"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}});
    let f: types::CreateChatCompletionRequestToolsItem = round_trip(&function);
    assert!(matches!(
        f,
        types::CreateChatCompletionRequestToolsItem::ChatCompletionTool(_)
    ));
}

#[test]
fn a_known_tag_with_a_broken_body_is_an_error_not_unknown() {
    // Misfiling a malformed known event as Unknown would hide a real problem.
    let bad = json!({"type": "response.output_text.delta", "sequence_number": "seven"});
    let err = serde_json::from_value::<types::ResponseStreamEvent>(bad).unwrap_err();
    assert!(
        err.to_string().contains("invalid type") || err.to_string().contains("missing field"),
        "{err}"
    );
}

/// `AssistantStreamEvent` is a union of unions told apart by `event`: each event decodes as
/// the member that has its name (a plain untagged decode would stop at the first member,
/// whose catch-all takes anything), and an event this version does not know is kept.
#[test]
fn assistant_stream_events_decode_by_their_event_name() {
    let delta = json!({"event": "thread.message.delta", "data": {"id": "msg_1", "object": "thread.message.delta",
        "delta": {"content": [{"index": 0, "type": "text", "text": {"value": "Hi"}}]}}});
    match serde_json::from_value::<types::AssistantStreamEvent>(delta.clone()).unwrap() {
        types::AssistantStreamEvent::MessageStreamEvent(
            types::MessageStreamEvent::ThreadMessageDelta(d),
        ) => {
            assert_eq!(d.id, "msg_1");
            assert_eq!(d.delta.content.len(), 1);
        }
        other => panic!("{other:?}"),
    }
    let done = json!({"event": "done", "data": "[DONE]"});
    assert!(matches!(
        serde_json::from_value::<types::AssistantStreamEvent>(done).unwrap(),
        types::AssistantStreamEvent::DoneEvent(_)
    ));
    // The data first, then the event name: the same.
    let reordered: types::AssistantStreamEvent =
        serde_json::from_str(r#"{"data": {"id": "msg_1", "object": "thread.message.delta", "delta": {}}, "event": "thread.message.delta"}"#)
            .unwrap();
    assert!(matches!(
        reordered,
        types::AssistantStreamEvent::MessageStreamEvent(_)
    ));
    let unknown = json!({"event": "thread.run.paused", "data": {"id": "run_1"}});
    match serde_json::from_value::<types::AssistantStreamEvent>(unknown.clone()).unwrap() {
        types::AssistantStreamEvent::Unknown(v) => assert_eq!(v, unknown),
        other => panic!("{other:?}"),
    }
    let back = serde_json::to_value(
        serde_json::from_value::<types::AssistantStreamEvent>(delta.clone()).unwrap(),
    )
    .unwrap();
    assert_eq!(back["event"], "thread.message.delta");
    assert_eq!(back["data"]["id"], "msg_1");
}

/// A Responses round trip over loopback: the output items of the first answer, with fields
/// the spec does not know (on the item and inside its content), go back as the input of
/// the second request, typed all the way, and the server sees those fields.
#[cfg(feature = "responses")]
#[tokio::test]
async fn responses_output_items_sent_back_as_input_keep_unknown_fields() {
    use openai_sdk::testing::{Reply, ScriptedServer};

    let server = ScriptedServer::start().await;
    let call = json!({"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "get_weather",
        "arguments": "{\"city\":\"Paris\"}", "status": "completed",
        "probe_item": {"route": ["eu", 2], "trace": null}});
    let message = json!({"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
        "probe_message": 7,
        "content": [{"type": "output_text", "text": "Checking.", "annotations": [], "logprobs": [],
            "probe_part": "p"}]});
    let response = |id: &str, output: Value| {
        json!({"id": id, "object": "response", "created_at": 1, "status": "completed",
            "error": null, "incomplete_details": null, "instructions": null, "model": "gpt-4o",
            "output": output, "parallel_tool_calls": true, "tool_choice": "auto", "tools": [],
            "temperature": 1.0, "top_p": 1.0, "metadata": {}})
    };
    let mut first = response("resp_1", json!([message, call]));
    first["probe_response"] = json!({"x": 1});
    let second = response("resp_2", json!([]));
    server
        .post("/v1/responses")
        .respond(Reply::json(200, &first))
        .respond(Reply::json(200, &second));
    let client = openai_sdk::Client::builder()
        .api_key("sk-test")
        .base_url(server.base_url())
        .max_retries(0)
        .build()
        .unwrap();

    let request: types::CreateResponse =
        serde_json::from_value(json!({"model": "gpt-4o", "input": "Weather in Paris?"})).unwrap();
    let r1 = client.create_response(&request).await.unwrap().into_inner();
    assert_eq!(r1.extra["probe_response"], json!({"x": 1}));
    let types::OutputItem::FunctionToolCall(c) = &r1.output[1] else {
        panic!("{:?}", r1.output[1]);
    };
    assert_eq!(c.extra["probe_item"]["route"][1], 2);

    // The output items become input items (through their JSON, as a user would), then
    // the tool's answer is appended.
    let mut input: Vec<types::InputItem> = r1
        .output
        .iter()
        .map(|o| serde_json::from_value(serde_json::to_value(o).unwrap()).unwrap())
        .collect();
    input.push(
        serde_json::from_value(
            json!({"type": "function_call_output", "call_id": "call_1", "output": "18C"}),
        )
        .unwrap(),
    );
    // Each item decodes as its own member (by `type`, then `role`): the function call is
    // not taken for a file search call, nothing of it lands in `extra`.
    let types::InputItem::Item(types::Item::FunctionToolCall(fc)) = &input[1] else {
        panic!("{:?}", input[1]);
    };
    assert_eq!(fc.name, "get_weather");
    assert_eq!(fc.extra.len(), 1, "{:?}", fc.extra);
    let types::InputItem::Item(types::Item::FunctionCallOutputItemParam(_)) = &input[2] else {
        panic!("{:?}", input[2]);
    };
    let mut request2 = request.clone();
    request2.input = Some(types::InputParam::InputItemList(input));
    client.create_response(&request2).await.unwrap();

    let sent = server.requests()[1].json().unwrap();
    assert_eq!(sent["input"][0]["probe_message"], 7);
    assert_eq!(sent["input"][0]["content"][0]["probe_part"], "p");
    assert_eq!(sent["input"][1]["probe_item"], call["probe_item"]);
    assert_eq!(sent["input"][1]["arguments"], call["arguments"]);
    assert_eq!(sent["input"][2]["output"], "18C");
    // Sent back exactly as received: no field added (such as a file search's `queries`).
    assert_eq!(sent["input"][0], message);
    assert_eq!(sent["input"][1], call);
}

/// `types::Item` members that share `type: message` are told apart by `role`; a map
/// without `type` is an input message; a known `type` whose body does not fit is an
/// error naming the union and the tag; an unknown `type` is kept.
#[cfg(feature = "responses")]
#[test]
fn items_decode_by_type_then_role() {
    let item = |v: Value| serde_json::from_value::<types::Item>(v);
    let out = json!({"type": "message", "id": "m", "role": "assistant", "status": "completed",
        "content": [{"type": "output_text", "text": "a", "annotations": [], "logprobs": []}]});
    assert!(matches!(
        item(out.clone()).unwrap(),
        types::Item::OutputMessage(_)
    ));
    let inp = json!({"type": "message", "role": "user",
        "content": [{"type": "input_text", "text": "q"}]});
    assert!(matches!(
        item(inp.clone()).unwrap(),
        types::Item::InputMessage(_)
    ));
    let mut no_type = inp.clone();
    no_type.as_object_mut().unwrap().remove("type");
    assert!(matches!(
        item(no_type).unwrap(),
        types::Item::InputMessage(_)
    ));
    let call = json!({"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"});
    let types::Item::FunctionToolCall(c) = item(call.clone()).unwrap() else {
        panic!()
    };
    assert!(c.extra.is_empty());
    assert_eq!(serde_json::to_value(&c).unwrap(), call);
    let err = item(json!({"type": "function_call", "name": 3}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("Item of type \"function_call\""), "{err}");
    let future = json!({"type": "future_item", "x": [1]});
    assert_eq!(item(future.clone()).unwrap(), types::Item::Unknown(future));
    for v in [out, inp, call] {
        let back = serde_json::to_value(item(v.clone()).unwrap()).unwrap();
        assert_eq!(back, v);
    }
}

/// Unknown fields that are huge or deeply nested, over loopback: past `max_response_bytes`
/// the body is `Error::ResponseTooLarge`; nested past serde_json's recursion limit it is
/// `Error::Decode` with the JSON path of the unknown field; under both it is kept.
#[cfg(feature = "chat")]
#[tokio::test]
async fn huge_or_deep_unknown_fields_are_typed_errors_over_http() {
    use openai_sdk::testing::{Reply, ScriptedServer};
    use openai_sdk::Error;

    let completion = |probe: Value| {
        json!({"id": "c", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": null,
                "message": {"role": "assistant", "content": "hi", "refusal": null, "probe": probe}}]})
    };
    let huge = completion(Value::String("x".repeat(2 << 20)));
    let deep_text = serde_json::to_string(&completion(json!(0)))
        .unwrap()
        .replace(
            r#""probe":0"#,
            &format!(r#""probe":{}1{}"#, "[".repeat(10_000), "]".repeat(10_000)),
        );
    let server = ScriptedServer::start().await;
    server.post("/v1/chat/completions").respond_all([
        Reply::json(200, &huge),
        Reply::bytes(200, deep_text.into_bytes()).header("content-type", "application/json"),
        Reply::json(200, &huge),
    ]);
    let client = |limit: u64| {
        openai_sdk::Client::builder()
            .api_key("sk-test")
            .base_url(server.base_url())
            .max_retries(0)
            .max_response_bytes(limit)
            .build()
            .unwrap()
    };
    let request: types::CreateChatCompletionRequest = serde_json::from_value(
        json!({"model": "m", "messages": [{"role": "user", "content": "q"}]}),
    )
    .unwrap();

    let e = client(1 << 20)
        .create_chat_completion(&request)
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::ResponseTooLarge { limit } if limit == 1 << 20),
        "{e:?}"
    );
    let e = client(8 << 20)
        .create_chat_completion(&request)
        .await
        .unwrap_err();
    let Error::Decode { path, message, .. } = &e else {
        panic!("{e:?}")
    };
    assert!(path.starts_with("choices[0].message.probe"), "{path}");
    assert!(message.contains("recursion limit"), "{message}");
    let ok = client(8 << 20)
        .create_chat_completion(&request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        ok.choices[0].message.extra["probe"].as_str().map(str::len),
        Some(2 << 20)
    );
}
