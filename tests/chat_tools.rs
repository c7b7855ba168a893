//! The chat tool loop over loopback: typed strict tools, parallel calls, errors sent back
//! to the model, the round limit.
#![cfg(feature = "chat")]

use openai_sdk::testing::{Reply, ScriptedServer};
use openai_sdk::tools::Tools;
use openai_sdk::Client;
use serde_json::{json, Value};

/// A city.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct City {
    city: String,
}

/// A temperature to convert.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Celsius {
    celsius: f64,
}

fn tools() -> Tools {
    Tools::new()
        .tool("get_weather", "The weather in a city", |a: City| async move {
            if a.city == "Atlantis" {
                return Err(format!("no station in {}", a.city));
            }
            Ok(json!({"city": a.city, "celsius": 18}))
        })
        .unwrap()
        .tool("to_fahrenheit", "Celsius to Fahrenheit", |a: Celsius| async move {
            Ok::<_, String>(format!("{}", a.celsius * 9.0 / 5.0 + 32.0))
        })
        .unwrap()
}

fn completion(message: Value, finish: &str) -> Value {
    json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o",
           "choices": [{"index": 0, "finish_reason": finish, "logprobs": null, "message": message}]})
}

fn call(id: &str, name: &str, arguments: &str) -> Value {
    json!({"id": id, "type": "function", "function": {"name": name, "arguments": arguments}})
}

fn request() -> openai_sdk::types::CreateChatCompletionRequest {
    serde_json::from_value(json!({"model": "gpt-4o", "messages": [
        {"role": "user", "content": "Weather in Paris, in Fahrenheit?"}]}))
    .unwrap()
}

#[tokio::test]
async fn the_loop_runs_calls_feeds_outputs_back_and_stops_at_the_answer() {
    let server = ScriptedServer::start().await;
    server.post("/v1/chat/completions").respond_all([
        Reply::json(200, completion(json!({"role": "assistant", "content": null, "tool_calls": [
            call("call_1", "get_weather", r#"{"city":"Paris"}"#),
            call("call_2", "get_weather", r#"{"city":"Atlantis"}"#),
            call("call_3", "no_such_tool", "{}"),
            call("call_4", "to_fahrenheit", r#"{"celsius":"warm"}"#),
        ]}), "tool_calls")),
        Reply::json(200, completion(json!({"role": "assistant", "content": null, "tool_calls": [
            call("call_5", "to_fahrenheit", r#"{"celsius":18}"#),
        ]}), "tool_calls")),
        Reply::json(200, completion(json!({"role": "assistant", "content": "64.4°F in Paris."}), "stop")),
    ]);
    let client = Client::builder().api_key("sk-test").base_url(server.base_url()).build().unwrap();
    let run = client.chat().run_tools(request(), tools()).await.unwrap();
    assert!(run.finished);
    assert_eq!(run.rounds, 3);
    assert_eq!(run.completion.content(0), Some("64.4°F in Paris."));
    let outputs: Vec<&str> = run.calls.iter().map(|c| c.output.as_str()).collect();
    assert_eq!(outputs[0], json!({"city": "Paris", "celsius": 18}).to_string());
    assert_eq!(outputs[1], json!({"error": "no station in Atlantis"}).to_string());
    assert_eq!(outputs[2], json!({"error": "there is no tool named `no_such_tool`"}).to_string());
    assert!(outputs[3].contains("invalid arguments"), "{}", outputs[3]);
    assert_eq!(outputs[4], "64.4");

    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    let first: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(first["tools"][0]["type"], "function");
    assert_eq!(first["tools"][0]["function"]["name"], "get_weather");
    assert_eq!(first["tools"][0]["function"]["strict"], true);
    assert_eq!(first["tools"][0]["function"]["parameters"]["additionalProperties"], false);
    assert!(first.get("stream").is_none());
    // Round 2 carries the assistant's calls and one `tool` message per call, in order.
    let second: Value = serde_json::from_slice(&requests[1].body).unwrap();
    let messages = second["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1 + 1 + 4);
    assert_eq!(messages[1]["tool_calls"].as_array().unwrap().len(), 4);
    let ids: Vec<&str> = messages[2..].iter().map(|m| m["tool_call_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["call_1", "call_2", "call_3", "call_4"]);
    assert!(messages[2..].iter().all(|m| m["role"] == "tool"));
    assert_eq!(run.messages.len(), 1 + 5 + 2 + 1);
}

#[tokio::test]
async fn the_round_limit_stops_a_model_that_keeps_calling() {
    let server = ScriptedServer::start().await;
    let calling = completion(
        json!({"role": "assistant", "content": null, "tool_calls": [call("c", "get_weather", r#"{"city":"Paris"}"#)]}),
        "tool_calls",
    );
    server.post("/v1/chat/completions").respond_all((0..5).map(|_| Reply::json(200, calling.clone())));
    let client = Client::builder().api_key("sk-test").base_url(server.base_url()).build().unwrap();
    let run = client.chat().run_tools(request(), tools().max_rounds(2)).await.unwrap();
    assert!(!run.finished);
    assert_eq!(run.rounds, 2);
    assert_eq!(server.request_count(), 2);
    assert_eq!(run.calls.len(), 1);
}

#[tokio::test]
async fn an_api_error_ends_the_loop_with_the_error() {
    let server = ScriptedServer::start().await;
    server.post("/v1/chat/completions").respond(Reply::openai_error(400, "invalid_request_error", "bad model"));
    let client = Client::builder().api_key("sk-test").base_url(server.base_url()).build().unwrap();
    match client.chat().run_tools(request(), tools()).await {
        Err(openai_sdk::Error::Api(e)) => assert_eq!(e.message, "bad model"),
        other => panic!("expected an API error, got {other:?}"),
    }
}
