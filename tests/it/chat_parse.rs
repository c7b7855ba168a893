//! Structured Outputs for chat over real HTTP on loopback: `Chat::parse::<T>`, the dynamic
//! form, typed function tools, the typed parse stream, and bad input (each a typed error;
//! the errors found before sending send nothing).

use std::collections::HashMap;
use std::path::PathBuf;

use futures::StreamExt;
use openai_sdk::chat::ChatCompletionStreamEvent;
use openai_sdk::parsing::{FunctionTool, JsonSchemaFormat};
use openai_sdk::testing::{Chunking, Reply, ScriptedServer};
use openai_sdk::types::CreateChatCompletionRequest;
use openai_sdk::{Client, Error};
use serde::Deserialize;
use serde_json::{json, Value};

fn fixture(dir: &str, name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir)
        .join(name)
}

fn client(server: &ScriptedServer) -> Client {
    Client::builder()
        .api_key("sk-test")
        .base_url(server.base_url())
        .http_client(reqwest::Client::builder().no_proxy().build().unwrap())
        .build()
        .unwrap()
}

fn request(extra: Value) -> CreateChatCompletionRequest {
    let mut body = json!({"model": "gpt-4o-2024-08-06", "messages": [{"role": "user", "content": "What's the weather like in SF?"}]});
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    serde_json::from_value(body).unwrap()
}

fn completion(content: Value, finish_reason: &str) -> Value {
    json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "finish_reason": finish_reason, "logprobs": null,
                     "message": {"role": "assistant", "content": content, "refusal": null}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}})
}

#[derive(Debug, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Units {
    C,
    F,
}

/// A location's weather.
#[derive(Debug, Deserialize, PartialEq, schemars::JsonSchema)]
struct Location {
    city: String,
    temperature: f64,
    units: Units,
}

/// Get the weather in a city.
#[derive(Debug, Deserialize, PartialEq, schemars::JsonSchema)]
struct GetWeatherArgs {
    city: String,
    country: String,
    /// `c` or `f`.
    units: Units,
}

#[tokio::test]
async fn parse_sends_a_strict_format_and_returns_the_type() {
    let server = ScriptedServer::start().await;
    server
        .post("/v1/chat/completions")
        .respond(Reply::json_file(fixture(
            "chat_parse",
            "chat_parse_response_format.json",
        )));
    // `stream: true` in the request is dropped: parse reads one JSON answer.
    let completion = client(&server)
        .chat()
        .parse::<Location>(request(
            json!({"stream": true, "stream_options": {"include_usage": true}}),
        ))
        .await
        .unwrap();
    assert_eq!(
        completion.choices[0].message.parsed,
        Some(Location {
            city: "San Francisco".into(),
            temperature: 65.0,
            units: Units::F
        })
    );
    assert_eq!(completion.choices[0].finish_reason.as_deref(), Some("stop"));
    assert_eq!(completion.refusal(0), None);
    assert_eq!(completion.usage().unwrap()["total_tokens"], 93);
    assert_eq!(
        completion.as_json()["choices"][0]["message"]["parsed"]["temperature"],
        65
    );
    let typed: openai_sdk::types::CreateChatCompletionResponse = completion.deserialize().unwrap();
    assert_eq!(typed.choices.len(), 1);

    assert_eq!(server.request_count(), 1);
    let body = server.last_request().unwrap().json().unwrap();
    assert!(body.get("stream").is_none());
    assert!(body.get("stream_options").is_none());
    insta::assert_json_snapshot!("parse_request_response_format", body["response_format"]);
}

#[tokio::test]
async fn refusal_length_and_content_filter() {
    let server = ScriptedServer::start().await;
    let client = client(&server);
    server
        .post("/v1/chat/completions")
        .respond(Reply::json_file(fixture(
            "chat_parse",
            "chat_parse_refusal.json",
        )));
    let refused = client
        .chat()
        .parse::<Location>(request(json!({})))
        .await
        .unwrap();
    assert_eq!(refused.choices[0].message.parsed, None);
    assert_eq!(
        refused.refusal(0),
        Some("I'm very sorry, but I can't assist with that.")
    );

    server.clear_routes();
    server
        .post("/v1/chat/completions")
        .respond(Reply::json_file(fixture(
            "chat_parse",
            "chat_parse_length_limit.json",
        )));
    match client.chat().parse::<Location>(request(json!({}))).await {
        Err(Error::LengthFinishReason { completion }) => {
            assert_eq!(completion["choices"][0]["message"]["content"], "{\"");
            assert_eq!(completion["usage"]["completion_tokens"], 1);
        }
        other => panic!("expected LengthFinishReason, got {other:?}"),
    }

    server.clear_routes();
    server.post("/v1/chat/completions").respond(Reply::json(
        200,
        completion(json!("{\"ci"), "content_filter"),
    ));
    let err = client
        .chat()
        .parse::<Location>(request(json!({})))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::ContentFilterFinishReason { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn content_that_does_not_fit_names_the_path_and_keeps_the_text() {
    let server = ScriptedServer::start().await;
    let client = client(&server);
    let wrong = r#"{"city": "Paris", "temperature": "warm", "units": "c"}"#;
    server
        .post("/v1/chat/completions")
        .respond(Reply::json(200, completion(json!(wrong), "stop")));
    let Err(Error::Validation(e)) = client.chat().parse::<Location>(request(json!({}))).await
    else {
        panic!("expected a validation error");
    };
    assert_eq!(e.path, "temperature");
    assert_eq!(e.raw, wrong);
    assert!(!e.not_json && !e.arguments);
    assert_eq!(e.target, "Location");
    assert!(
        e.to_string()
            .contains("the content of choice 0 does not fit `Location` at `temperature`"),
        "{e}"
    );

    server.clear_routes();
    let broken = r#"{"city": "Paris", "temperature": 21,"#;
    server
        .post("/v1/chat/completions")
        .respond(Reply::json(200, completion(json!(broken), "stop")));
    let Err(Error::Validation(e)) = client.chat().parse::<Location>(request(json!({}))).await
    else {
        panic!("expected a validation error");
    };
    assert!(e.not_json);
    assert_eq!(e.raw, broken);
    assert_eq!(e.path, ".");
    assert!(e.message.contains("EOF"), "{e}");

    // Not JSON at all, through the dynamic form.
    server.clear_routes();
    server.post("/v1/chat/completions").respond(Reply::json(
        200,
        completion(json!("Sure! Here it is"), "stop"),
    ));
    let format = JsonSchemaFormat::for_type::<Location>().unwrap();
    let Err(Error::Validation(e)) = client
        .chat()
        .parse_with(request(json!({})), Some(format))
        .await
    else {
        panic!("expected a validation error");
    };
    assert!(e.not_json);
    assert_eq!(e.path, ".");
    assert_eq!(e.raw, "Sure! Here it is");
    assert_eq!(e.target, "JSON (response format `Location`)");
}

#[allow(dead_code)] // only its schema is used
#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct WithMap {
    scores: HashMap<String, f64>,
}

#[allow(dead_code)]
#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct Inner {
    extra: Value,
}

#[allow(dead_code)]
#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct Outer {
    name: String,
    inner: Inner,
}

#[tokio::test]
async fn bad_schemas_and_tools_are_refused_before_sending() {
    let server = ScriptedServer::start().await;
    server
        .post("/v1/chat/completions")
        .respond(Reply::json_file(fixture(
            "chat_parse",
            "chat_parse_response_format.json",
        )));
    let client = client(&server);

    let err = client
        .chat()
        .parse::<WithMap>(request(json!({})))
        .await
        .unwrap_err();
    let Error::Schema { type_name, source } = &err else {
        panic!("{err:?}")
    };
    assert!(type_name.ends_with("WithMap"), "{type_name}");
    assert_eq!(source.path(), "/properties/scores");
    assert!(err.to_string().contains("WithMap"), "{err}");

    // The problem sits in a nested type's definition: the error names that type.
    let err = client
        .chat()
        .parse::<Outer>(request(json!({})))
        .await
        .unwrap_err();
    let Error::Schema { source, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(source.path(), "/$defs/Inner/properties/extra");
    assert!(err.to_string().contains("in type `Inner`"), "{err}");

    let err = client
        .chat()
        .parse_stream::<WithMap>(request(json!({})))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Schema { .. }));

    // A non-strict function tool (reference: ValueError before sending).
    let tools = json!({"tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}}}]});
    let err = client
        .chat()
        .parse::<Location>(request(tools.clone()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidRequest(m) if m.contains("`get_weather` is not strict")),
        "{err:?}"
    );
    let err = client
        .chat()
        .parse_with(request(tools), None)
        .await
        .unwrap_err();
    assert_eq!(err.reference_class(), "ValueError");

    // A runtime schema that strict mode cannot express.
    let err = JsonSchemaFormat::from_schema(
        "bad",
        json!({"type": "object", "properties": {"a": {"anyOf": [true]}}}),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::Schema { source, .. } if source.path() == "/properties/a/anyOf/0"),
        "{err:?}"
    );
    assert!(FunctionTool::from_type::<WithMap>("f").is_err());
    assert!(FunctionTool::from_type::<Location>("not a name").is_err());

    assert_eq!(server.request_count(), 0);
}

#[tokio::test]
async fn typed_tools_parse_their_arguments() {
    let server = ScriptedServer::start().await;
    let client = client(&server);
    server
        .post("/v1/chat/completions")
        .respond(Reply::json_file(fixture(
            "chat_parse",
            "chat_parse_tool_pydantic.json",
        )));
    let tool = FunctionTool::from_type::<GetWeatherArgs>("GetWeatherArgs").unwrap();
    assert_eq!(
        tool.description.as_deref(),
        Some("Get the weather in a city.")
    );
    let mut req = request(json!({}));
    req.tools.push(tool.clone().into());
    let completion = client.chat().parse_with(req.clone(), None).await.unwrap();
    let call = &completion.choices[0].message.tool_calls[0];
    assert_eq!(call.id, "call_Y6qJ7ofLgOrBnMD5WbVAeiRV");
    assert_eq!(call.name, "GetWeatherArgs");
    assert_eq!(
        call.parsed_arguments,
        Some(json!({"city": "Edinburgh", "country": "UK", "units": "c"}))
    );
    assert_eq!(
        call.parse_arguments::<GetWeatherArgs>().unwrap(),
        GetWeatherArgs {
            city: "Edinburgh".into(),
            country: "UK".into(),
            units: Units::C
        }
    );
    assert_eq!(completion.parsed(0), None);
    insta::assert_json_snapshot!("function_tool_get_weather_args", tool.to_json());
    let sent = server.last_request().unwrap().json().unwrap();
    assert_eq!(sent["tools"][0], tool.to_json());
    assert_eq!(sent["tools"][0]["function"]["strict"], true);

    // Arguments that do not fit the type asked for.
    let Err(Error::Validation(e)) = call.parse_arguments::<Location>() else {
        panic!()
    };
    assert!(e.arguments);
    assert_eq!(e.raw, call.arguments);

    // The model calls a tool the request did not give.
    let mut other = req.clone();
    other.tools = vec![FunctionTool::from_type::<GetWeatherArgs>("get_weather")
        .unwrap()
        .into()];
    let err = client.chat().parse_with(other, None).await.unwrap_err();
    let Error::UnknownTool { name, known, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (name.as_str(), known.as_str()),
        ("GetWeatherArgs", "get_weather")
    );

    // Arguments that are not JSON.
    server.clear_routes();
    let mut answer: Value = serde_json::from_slice(
        &std::fs::read(fixture("chat_parse", "chat_parse_tool_pydantic.json")).unwrap(),
    )
    .unwrap();
    answer["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] =
        json!("{\"city\": Edin");
    server
        .post("/v1/chat/completions")
        .respond(Reply::json(200, answer));
    let Err(Error::Validation(e)) = client.chat().parse_with(req, None).await else {
        panic!()
    };
    assert!(e.arguments && e.not_json);
    assert_eq!(e.path, "city");
    assert_eq!(e.raw, "{\"city\": Edin");
    assert_eq!(Error::Validation(e).reference_class(), "JSONDecodeError");
}

#[tokio::test]
async fn dynamic_form_from_a_runtime_schema() {
    let server = ScriptedServer::start().await;
    server
        .post("/v1/chat/completions")
        .respond(Reply::json_file(fixture(
            "chat_parse",
            "chat_parse_multiple_choices.json",
        )));
    let client = client(&server);
    let format = JsonSchemaFormat::from_schema(
        "Location",
        json!({"type": "object", "properties": {"city": {"type": "string"}, "temperature": {"type": "number"}, "units": {"type": "string", "enum": ["c", "f"]}}}),
    )
    .unwrap();
    let completion = client
        .chat()
        .parse_with(request(json!({"n": 3})), Some(format))
        .await
        .unwrap();
    assert_eq!(completion.choices.len(), 3);
    for choice in &completion.choices {
        assert_eq!(
            choice.message.parsed.as_ref().unwrap()["city"],
            "San Francisco"
        );
    }
    let sent = server.last_request().unwrap().json().unwrap();
    assert_eq!(
        sent["response_format"]["json_schema"]["schema"]["required"],
        json!(["city", "temperature", "units"])
    );
    assert_eq!(sent["response_format"]["json_schema"]["strict"], true);

    // Without a format, the request's own json_schema response format is parsed.
    let own = JsonSchemaFormat::for_type::<Location>().unwrap().to_json();
    let completion = client
        .chat()
        .parse_with(request(json!({"response_format": own})), None)
        .await
        .unwrap();
    assert_eq!(completion.parsed(2).unwrap()["units"], "f");
}

/// A response format whose `MathResponse` is the math-tutor answer.
#[derive(Debug, Deserialize, PartialEq, schemars::JsonSchema)]
struct Step {
    explanation: String,
    output: String,
}

#[derive(Debug, Deserialize, PartialEq, schemars::JsonSchema)]
struct MathResponse {
    steps: Vec<Step>,
    final_answer: String,
}

#[tokio::test]
async fn typed_stream_partial_then_typed_done() {
    let server = ScriptedServer::start().await;
    server.post("/v1/chat/completions").respond(
        Reply::sse_file(fixture("chat_parse", "math_tutor.sse")).chunking(Chunking::Random {
            seed: 7,
            min: 1,
            max: 61,
        }),
    );
    let client = client(&server);
    let mut stream = client
        .chat()
        .parse_stream::<MathResponse>(request(json!({"stream_options": {"include_usage": true}})))
        .await
        .unwrap();
    let mut partial_steps = Vec::new();
    let mut done = None;
    while let Some(event) = stream.next().await {
        match event.unwrap() {
            ChatCompletionStreamEvent::ContentDelta { parsed, .. } => {
                let value = parsed.to_value();
                partial_steps.push(
                    value
                        .get("steps")
                        .and_then(Value::as_array)
                        .map_or(0, Vec::len),
                );
            }
            ChatCompletionStreamEvent::ContentDone {
                parsed, content, ..
            } => {
                assert!(content.starts_with("{\"steps\""));
                done = parsed;
            }
            _ => {}
        }
    }
    // The partial parse grows step by step: never more steps than later, 3 at the end.
    assert!(
        partial_steps.windows(2).all(|w| w[0] <= w[1]),
        "{partial_steps:?}"
    );
    assert_eq!(partial_steps.last(), Some(&3));
    let done = done.expect("content.done");
    assert_eq!(done.final_answer, "x = -29/8");
    assert_eq!(done.steps[1].output, "8x = -29");
    let completion = stream.final_completion().await.unwrap();
    assert_eq!(completion.parsed(0), Some(&done));
    assert_eq!(completion.usage().unwrap()["total_tokens"], 223);
    let sent = server.last_request().unwrap().json().unwrap();
    assert_eq!(sent["stream"], true);
    assert_eq!(sent["stream_options"]["include_usage"], true);
    assert_eq!(
        sent["response_format"]["json_schema"]["name"],
        "MathResponse"
    );
}

#[tokio::test]
async fn typed_stream_content_that_does_not_fit_ends_the_stream() {
    let server = ScriptedServer::start().await;
    server
        .post("/v1/chat/completions")
        .respond(Reply::sse_file(fixture(
            "chat",
            "chat_response_format_parsed.sse",
        )));
    let client = client(&server);
    // The recording's content is a Location, not a MathResponse.
    let mut stream = client
        .chat()
        .parse_stream::<MathResponse>(request(json!({})))
        .await
        .unwrap();
    let mut deltas = 0;
    let mut error = None;
    while let Some(event) = stream.next().await {
        match event {
            Ok(ChatCompletionStreamEvent::ContentDelta { .. }) => deltas += 1,
            Ok(_) => {}
            Err(e) => error = Some(e),
        }
    }
    assert!(deltas > 5);
    let Some(Error::Validation(e)) = error else {
        panic!("expected a validation error")
    };
    assert_eq!(e.path, ".");
    assert!(e.message.contains("missing field `steps`"), "{e}");
    assert!(e.raw.contains("San Francisco"));
}

#[tokio::test]
async fn strict_tool_argument_deltas_carry_partial_parsed_arguments() {
    #[derive(Debug, Deserialize, schemars::JsonSchema)]
    struct GetWeather {
        city: String,
        state: String,
    }
    let server = ScriptedServer::start().await;
    server.post("/v1/chat/completions").respond(
        Reply::sse_file(fixture("chat", "chat_tool_call_strict.sse")).chunking(Chunking::Random {
            seed: 3,
            min: 1,
            max: 40,
        }),
    );
    let client = client(&server);
    let mut req = request(json!({}));
    req.tools.push(
        FunctionTool::from_type::<GetWeather>("get_weather")
            .unwrap()
            .into(),
    );
    let mut stream = client.chat().parse_stream_with(req, None).await.unwrap();
    let mut partials = Vec::new();
    let mut typed = None;
    while let Some(event) = stream.next().await {
        let event = event.unwrap();
        if let ChatCompletionStreamEvent::ToolCallArgumentsDelta {
            parsed_arguments, ..
        } = &event
        {
            partials.push(parsed_arguments.to_value());
        }
        if let Some(args) = event.parse_arguments::<GetWeather>() {
            typed = Some(args.unwrap());
        }
    }
    assert!(
        partials
            .iter()
            .any(|p| p.get("city").is_some() && p.get("state").is_none()),
        "{partials:?}"
    );
    let typed = typed.expect("arguments.done");
    assert_eq!(
        (typed.city.as_str(), typed.state.as_str()),
        ("San Francisco", "CA")
    );
    let completion = stream.final_completion().await.unwrap();
    let call = &completion.choices[0].message.tool_calls[0];
    assert_eq!(
        call.parse_arguments::<GetWeather>().unwrap().city,
        "San Francisco"
    );
}

#[tokio::test]
async fn api_errors_pass_through() {
    let server = ScriptedServer::start().await;
    server
        .post("/v1/chat/completions")
        .respond(Reply::openai_error(
            400,
            "invalid_request_error",
            "Invalid schema for response_format 'Location'",
        ));
    let err = client(&server)
        .chat()
        .parse::<Location>(request(json!({})))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(err.to_string().contains("Invalid schema"), "{err}");
}

#[cfg(feature = "blocking")]
#[test]
fn blocking_typed_stream() {
    let server = ScriptedServer::start_blocking();
    server.post("/v1/chat/completions").respond(
        Reply::sse_file(fixture("chat_parse", "math_tutor.sse")).chunking(Chunking::Random {
            seed: 11,
            min: 1,
            max: 70,
        }),
    );
    let client = Client::builder()
        .api_key("sk-test")
        .base_url(server.base_url())
        .build()
        .unwrap();
    let mut stream = client
        .chat()
        .parse_stream_blocking::<MathResponse>(request(json!({})))
        .unwrap();
    let mut done = None;
    for event in &mut stream {
        if let ChatCompletionStreamEvent::ContentDone { parsed, .. } = event.unwrap() {
            done = parsed;
        }
    }
    let done = done.expect("content.done");
    assert_eq!(done.steps.len(), 3);
    let completion = stream.final_completion().unwrap();
    assert_eq!(completion.parsed(0), Some(&done));
    assert_eq!(server.request_count(), 1);
}

mod no_panic {
    use openai_sdk::chat::{parse_chat_completion_as, ParseOptions};
    use proptest::prelude::*;
    use serde_json::json;

    use super::Location;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any content and any tool arguments: a value or a typed error, never a panic;
        /// an error keeps the text.
        #[test]
        fn any_content_or_arguments(content in "\\PC{0,40}|\\{\"city\": \"[a-z]{0,5}\"(, \"temperature\": [0-9.e-]{1,4})?\\}?", args in "\\PC{0,30}") {
            let completion = json!({"id": "c", "object": "chat.completion", "created": 0, "model": "m",
                "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content,
                    "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": args}}]}}]});
            let options = ParseOptions::new()
                .parse_content(true)
                .tools(vec![json!({"type": "function", "function": {"name": "f", "strict": true, "parameters": {}}})]);
            match parse_chat_completion_as::<Location>(completion.as_object().unwrap(), &options) {
                Ok(parsed) => prop_assert!(parsed.choices.len() == 1),
                Err(openai_sdk::Error::Validation(e)) => prop_assert!(e.raw == content || e.raw == args),
                Err(other) => prop_assert!(false, "unexpected error {other:?}"),
            }
        }
    }
}

#[tokio::test]
async fn a_streamed_call_of_a_tool_not_given_is_an_error() {
    #[derive(Debug, Deserialize, schemars::JsonSchema)]
    struct Lookup {
        #[allow(dead_code)]
        query: String,
    }
    let server = ScriptedServer::start().await;
    server
        .post("/v1/chat/completions")
        .respond(Reply::sse_file(fixture(
            "chat",
            "chat_tool_call_strict.sse",
        )));
    let client = client(&server);
    let mut req = request(json!({}));
    req.tools
        .push(FunctionTool::from_type::<Lookup>("lookup").unwrap().into());
    let mut stream = client.chat().parse_stream_with(req, None).await.unwrap();
    let mut error = None;
    while let Some(event) = stream.next().await {
        if let Err(e) = event {
            error = Some(e);
        }
    }
    match error {
        Some(Error::UnknownTool { name, known, what }) => {
            assert_eq!((name.as_str(), known.as_str()), ("get_weather", "lookup"));
            assert_eq!(what, "tool call 0 of choice 0");
        }
        other => panic!("expected UnknownTool, got {other:?}"),
    }
}
