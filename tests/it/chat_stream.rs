//! Chat Completions streams over real HTTP on loopback (the scripted server, reqwest,
//! chunked transfer in random piece sizes), and the state machine on bad input.

use std::path::PathBuf;
use std::time::Duration;

use futures::StreamExt;
use openai_sdk::chat::{
    ChatCompletionStreamEvent, ChatCompletionStreamState, ChatEventPipeline, ParseOptions,
};
use openai_sdk::testing::{Chunking, Fault, Gate, Reply, ScriptedServer, SseEvent};
use openai_sdk::{Client, Error, StreamErrorKind};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(20);

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/chat")
        .join(name)
}

fn fixture_json(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(fixture(name)).unwrap()).unwrap()
}

fn no_proxy() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// One line per event, for snapshots: the type and the event's own fields (not the
/// chunk/snapshot JSON of `chunk` events, which only gets its id and choice count).
fn describe(event: &ChatCompletionStreamEvent) -> String {
    let mut json = event.to_reference_json();
    if let ChatCompletionStreamEvent::Chunk { chunk, .. } = event {
        let choices = chunk
            .to_json()
            .get("choices")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        return format!("chunk choices={choices}");
    }
    let map = json.as_object_mut().unwrap();
    let ty = map.shift_remove("type").unwrap();
    format!("{} {}", ty.as_str().unwrap(), Value::Object(map.clone()))
}

async fn stream_events(
    server: &ScriptedServer,
    file: &str,
    seed: u64,
    make: impl AsyncFnOnce(&Client) -> Result<openai_sdk::chat::ChatCompletionStream, Error>,
) -> (Vec<String>, openai_sdk::chat::ChatCompletionStream) {
    server.clear_routes();
    server
        .post("/v1/chat/completions")
        .respond(Reply::sse_file(fixture(file)).chunking(Chunking::Random {
            seed,
            min: 1,
            max: 97,
        }));
    let client = server.client();
    let mut stream = make(&client).await.unwrap();
    let mut lines = Vec::new();
    while let Some(event) = stream.next().await {
        lines.push(describe(&event.unwrap()));
    }
    (lines, stream)
}

/// The same bytes through the transport-free pipeline in one piece.
fn pipeline_events(file: &str, options: ParseOptions) -> (Vec<String>, Value) {
    let mut pipeline = ChatEventPipeline::new(options);
    pipeline.push(&std::fs::read(fixture(file)).unwrap());
    pipeline.end_of_input();
    let mut lines = Vec::new();
    while let Some(event) = pipeline.next_event() {
        lines.push(describe(&event.unwrap()));
    }
    (
        lines,
        pipeline.state().final_completion().unwrap().into_json(),
    )
}

#[tokio::test]
async fn basic_content_over_http() {
    let server = ScriptedServer::start().await;
    let (lines, mut stream) = stream_events(&server, "chat_basic_content.sse", 1, async |c| {
        c.chat()
            .stream(crate::common::chat_request(json!({})))
            .await
    })
    .await;
    insta::assert_snapshot!("basic_content", lines.join("\n"));
    let completion = stream.final_completion().await.unwrap();
    assert_eq!(
        completion.content(0),
        Some("I'm unable to provide real-time weather updates. To get the current weather in San Francisco, I recommend checking a reliable weather website or a weather app.")
    );
    assert_eq!(completion.usage().unwrap()["total_tokens"], 44);
    let typed: openai_sdk::types::CreateChatCompletionResponse = completion.deserialize().unwrap();
    assert_eq!(typed.choices.len(), 1);
    let (same, final_json) = pipeline_events("chat_basic_content.sse", ParseOptions::new());
    assert_eq!(lines, same);
    assert_eq!(&final_json, completion.as_json());

    // What was sent.
    let sent = server.last_request().unwrap();
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(sent.header("authorization"), Some("Bearer sk-scripted"));
    let body = sent.json().unwrap();
    assert_eq!(body["stream"], true);
    assert_eq!(body["model"], "gpt-4o-2024-08-06");
}

#[tokio::test]
async fn structured_content_is_parsed_partially_then_fully() {
    let server = ScriptedServer::start().await;
    let format = fixture_json("response_format_location.json");
    let (lines, mut stream) =
        stream_events(&server, "chat_response_format_parsed.sse", 2, async |c| {
            c.chat()
                .stream_structured(crate::common::chat_request(
                    json!({"response_format": format}),
                ))
                .await
        })
        .await;
    insta::assert_snapshot!("response_format_parsed", lines.join("\n"));
    let completion = stream.final_completion().await.unwrap();
    assert_eq!(
        completion.parsed(0),
        Some(&json!({"city": "San Francisco", "temperature": 61, "units": "f"}))
    );
    let snapshot = stream.current_snapshot().unwrap();
    assert_eq!(snapshot.parsed(0).to_value()["city"], "San Francisco");
    drop(snapshot);
    let moved = stream.into_final_completion().await.unwrap();
    assert_eq!(moved, completion);
    assert_eq!(moved.as_json(), completion.as_json());
    assert!(moved.metadata().is_some());
    assert_eq!(moved.metadata(), completion.metadata());
}

#[tokio::test]
async fn refusal_and_logprobs_streams() {
    let server = ScriptedServer::start().await;
    let (refusal, _) = stream_events(&server, "chat_refusal.sse", 3, async |c| {
        c.chat()
            .stream(crate::common::chat_request(json!({})))
            .await
    })
    .await;
    insta::assert_snapshot!("refusal", refusal.join("\n"));
    let (logprobs, _) = stream_events(&server, "chat_logprobs_content.sse", 4, async |c| {
        c.chat()
            .stream(crate::common::chat_request(json!({"logprobs": true})))
            .await
    })
    .await;
    insta::assert_snapshot!("logprobs_content", logprobs.join("\n"));
}

#[tokio::test]
async fn tool_calls_get_parsed_arguments_from_the_request_tools() {
    let server = ScriptedServer::start().await;
    let tools = fixture_json("tools_pydantic_weather_and_stock.json");
    let (lines, mut stream) = stream_events(
        &server,
        "chat_tool_calls_multiple_pydantic.sse",
        5,
        async |c| {
            c.chat()
                .stream(crate::common::chat_request(json!({"tools": tools})))
                .await
        },
    )
    .await;
    insta::assert_snapshot!("tool_calls_multiple", lines.join("\n"));
    let completion = stream.final_completion().await.unwrap();
    let calls = &completion.as_json()["choices"][0]["message"]["tool_calls"];
    assert_eq!(
        calls[1]["function"]["parsed_arguments"],
        json!({"ticker": "AAPL", "exchange": "NASDAQ"})
    );

    let tools = fixture_json("tools_go_get_weather_strict.json");
    let (lines, _) = stream_events(
        &server,
        "go_chat_content_then_tool_call.sse",
        6,
        async |c| {
            c.chat()
                .stream(crate::common::chat_request(json!({"tools": tools})))
                .await
        },
    )
    .await;
    // content.done comes after the first arguments delta of tool 0.
    let first_tool = lines
        .iter()
        .position(|l| l.starts_with("tool_calls.function.arguments.delta"))
        .unwrap();
    let content_done = lines
        .iter()
        .position(|l| l.starts_with("content.done"))
        .unwrap();
    assert_eq!(content_done, first_tool + 1);
    let summary: Vec<&String> = lines
        .iter()
        .filter(|l| !l.starts_with("chunk") && !l.starts_with("logprobs.content.delta"))
        .collect();
    insta::assert_snapshot!(
        "go_content_then_tool_call",
        summary
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[tokio::test]
async fn chunks_without_choices_count_as_empty() {
    let server = ScriptedServer::start().await;
    let (lines, mut stream) = stream_events(
        &server,
        "dotnet_chat_ChatWithBasicAudioOutput.sse",
        7,
        async |c| {
            c.chat()
                .stream(crate::common::chat_request(json!({})))
                .await
        },
    )
    .await;
    assert!(lines.iter().all(|l| l.starts_with("chunk")), "{lines:?}");
    let completion = stream.final_completion().await.unwrap();
    assert!(completion.as_json()["choices"].as_array().unwrap().len() <= 1);
}

#[tokio::test]
async fn length_limit_with_a_parsed_format_fails_mid_stream_with_the_snapshot_readable() {
    let server = ScriptedServer::start().await;
    server
        .post("/v1/chat/completions")
        .respond(Reply::sse_file(fixture(
            "chat_response_format_length_limit.sse",
        )));
    let format = fixture_json("response_format_location.json");
    let client = server.client();
    let mut stream = client
        .chat()
        .stream_structured(crate::common::chat_request(
            json!({"response_format": format}),
        ))
        .await
        .unwrap();
    let mut types = Vec::new();
    let error = loop {
        match stream.next().await.unwrap() {
            Ok(e) => types.push(e.event_type()),
            Err(e) => break e,
        }
    };
    assert_eq!(types, ["chunk", "content.delta", "chunk", "content.delta"]);
    assert!(matches!(error, Error::LengthFinishReason { .. }), "{error}");
    assert_eq!(error.reference_class(), "LengthFinishReasonError");
    assert_eq!(
        error.to_string(),
        "choice 0 stopped at the length limit (finish_reason \"length\"), so its output could not be parsed"
    );
    assert_eq!(
        stream.current_snapshot().unwrap().finish_reason(0),
        Some("length")
    );
    assert!(stream.next().await.is_none());

    // The final completion of that stream fails the same way.
    let mut pipeline = ChatEventPipeline::new(ParseOptions::new().parse_content(true));
    pipeline.push(&std::fs::read(fixture("chat_response_format_length_limit.sse")).unwrap());
    pipeline.end_of_input();
    while let Some(e) = pipeline.next_event() {
        if e.is_err() {
            break;
        }
    }
    let e = pipeline.state().final_completion().unwrap_err();
    assert!(matches!(e, Error::LengthFinishReason { .. }), "{e}");
    // (the stream stopped at the error: the usage chunk after it was never read)
    assert_eq!(
        e.to_string(),
        "choice 0 stopped at the length limit (finish_reason \"length\"), so its output could not be parsed"
    );

    // Without parseable input the same stream ends normally: every event, and a final
    // completion whose `finish_reason` says why it stopped.
    let mut pipeline = ChatEventPipeline::new(ParseOptions::new());
    pipeline.push(&std::fs::read(fixture("chat_response_format_length_limit.sse")).unwrap());
    pipeline.end_of_input();
    let mut types = Vec::new();
    while let Some(e) = pipeline.next_event() {
        types.push(e.unwrap().event_type());
    }
    assert_eq!(
        types,
        [
            "chunk",
            "content.delta",
            "chunk",
            "content.delta",
            "chunk",
            "content.done",
            "chunk"
        ]
    );
    let completion = pipeline.state().final_completion().unwrap();
    assert_eq!(
        completion.choices[0].finish_reason.as_deref(),
        Some("length")
    );
    assert_eq!(completion.content(0), Some("{\""));
    assert_eq!(completion.usage().unwrap()["completion_tokens"], 1);

    let state = ChatCompletionStreamState::new();
    let e = state.final_completion().unwrap_err(); // no chunk at all
    assert!(
        matches!(
            e,
            Error::Stream {
                kind: StreamErrorKind::Unfinished,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "stream error (stream unfinished): the stream ended before its first chunk: there is no completion"
    );
}

/// A plain answer (llama-server's stream at its token limit, or one cut by the content filter).
fn plain_answer(text: &str, finish: &str) -> Value {
    json!({"id": "chatcmpl-plain", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
           "choices": [{"index": 0, "finish_reason": finish, "logprobs": null,
                        "message": {"role": "assistant", "content": text}}],
           "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}})
}

#[tokio::test]
async fn a_plain_stream_that_stops_at_the_length_limit_or_the_content_filter_ends_normally() {
    let server = ScriptedServer::start().await;
    for (seed, finish) in [(1, "length"), (2, "content_filter")] {
        server.clear_routes();
        server.post("/v1/chat/completions").respond(
            Reply::chat_stream_of(&plain_answer("Rust is a systems programming", finish)).chunking(
                Chunking::Random {
                    seed,
                    min: 1,
                    max: 40,
                },
            ),
        );
        let client = server.client();
        let mut stream = client
            .chat()
            .stream(crate::common::chat_request(json!({})))
            .await
            .unwrap();
        let mut text = String::new();
        while let Some(event) = stream.next().await {
            if let ChatCompletionStreamEvent::ContentDelta { delta, .. } = event.unwrap() {
                text.push_str(&delta);
            }
        }
        assert_eq!(text, "Rust is a systems programming");
        let completion = stream.final_completion().await.unwrap();
        assert_eq!(completion.choices[0].finish_reason.as_deref(), Some(finish));
        assert_eq!(completion.content(0), Some("Rust is a systems programming"));
        assert_eq!(completion.usage().unwrap()["total_tokens"], 13);
        // A response format sent as is, not parsed, is nothing to parse either.
        let format = json!({"type": "json_schema", "json_schema": {"name": "n", "schema": {"type": "object"}}});
        server.clear_routes();
        server
            .post("/v1/chat/completions")
            .respond(Reply::chat_stream_of(&plain_answer("{\"a\"", finish)));
        let mut stream = client
            .chat()
            .stream(crate::common::chat_request(
                json!({"response_format": format}),
            ))
            .await
            .unwrap();
        let completion = stream.final_completion().await.unwrap();
        assert_eq!(completion.choices[0].finish_reason.as_deref(), Some(finish));
    }
}

#[tokio::test]
async fn with_something_to_parse_the_finish_reason_errors_stay() {
    let server = ScriptedServer::start().await;
    let strict = json!([{"type": "function", "function": {"name": "get_weather", "strict": true,
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"], "additionalProperties": false}}}]);
    let format = fixture_json("response_format_location.json");
    for (finish, class) in [
        ("length", "LengthFinishReasonError"),
        ("content_filter", "ContentFilterFinishReasonError"),
    ] {
        for extra in [json!({"tools": strict}), json!({"response_format": format})] {
            server.clear_routes();
            server
                .post("/v1/chat/completions")
                .respond(Reply::chat_stream_of(&plain_answer(
                    "{\"city\": \"Pa",
                    finish,
                )));
            let client = server.client();
            let chat = client.chat();
            let mut stream = if extra.get("tools").is_some() {
                chat.stream(crate::common::chat_request(extra.clone()))
                    .await
                    .unwrap()
            } else {
                chat.stream_structured(crate::common::chat_request(extra.clone()))
                    .await
                    .unwrap()
            };
            let e = stream.final_completion().await.unwrap_err();
            assert_eq!(e.reference_class(), class, "{extra}: {e}");
            let what = if finish == "length" {
                "stopped at the length limit"
            } else {
                "was stopped by the content filter"
            };
            assert!(
                e.to_string().starts_with(&format!(
                    "choice 0 {what} (finish_reason \"{finish}\"), so its output could not be parsed"
                )),
                "{e}"
            );
            // The snapshot keeps what came before the stop.
            assert_eq!(
                stream.current_snapshot().unwrap().finish_reason(0),
                Some(finish)
            );
        }
    }
}

#[tokio::test]
async fn http_errors_before_the_stream_carry_status_request_id_and_message() {
    let server = ScriptedServer::start().await;
    server
        .post("/v1/chat/completions")
        .respond(
            Reply::openai_error(429, "rate_limit_error", "Rate limit reached for gpt-4o")
                .header("x-request-id", "req_429"),
        )
        .respond(
            Reply::text(503, "<html>Service Unavailable</html>").header("x-request-id", "req_503"),
        );
    // Retries off: this test is about what each error carries (retries have their own tests).
    let client = server
        .client()
        .with_options(openai_sdk::RequestOptions::new().max_retries(0));
    let e = client
        .chat()
        .stream(crate::common::chat_request(json!({})))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(429));
    assert_eq!(e.request_id(), Some("req_429"));
    assert_eq!(
        e.api_error().unwrap().message,
        "Rate limit reached for gpt-4o"
    );
    assert!(e.is_rate_limited());
    let e = client
        .chat()
        .stream(crate::common::chat_request(json!({})))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(503));
    assert_eq!(e.request_id(), Some("req_503"));
    assert!(e.to_string().contains("Service Unavailable"), "{e}");
}

#[tokio::test]
async fn an_error_inside_the_stream_is_a_typed_api_error() {
    let server = ScriptedServer::start().await;
    server.post("/v1/chat/completions").respond(
        Reply::sse_events([
            SseEvent::from(json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [{"index": 0, "delta": {"content": "Hi"}}]})),
            SseEvent::from(json!({"error": {"message": "The server had an error", "type": "server_error", "code": null}})),
        ])
        .header("x-request-id", "req_sse"),
    );
    let client = server.client();
    let mut stream = client
        .chat()
        .stream(crate::common::chat_request(json!({})))
        .await
        .unwrap();
    assert!(stream.next().await.unwrap().is_ok());
    assert!(stream.next().await.unwrap().is_ok());
    let e = stream.next().await.unwrap().unwrap_err();
    let api = e.api_error().expect("an API error");
    assert_eq!(api.message, "The server had an error");
    assert_eq!(api.r#type.as_deref(), Some("server_error"));
    assert_eq!(api.status, None);
    assert_eq!(api.request_id.as_deref(), Some("req_sse"));
    assert_eq!(stream.current_snapshot().unwrap().content(0), Some("Hi"));
    assert!(stream.next().await.is_none());
}

#[tokio::test]
async fn compatible_providers_path_extras_and_missing_done() {
    let server = ScriptedServer::start().await;
    // Writer-like: `/chat`, no system_fingerprint, graph_data in deltas, finish_reason on the
    // last content chunk, a usage chunk with empty choices, an Azure filter chunk, no [DONE].
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "w1", "object": "chat.completion.chunk", "created": 5, "model": "palmyra-x5",
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    let body = [
        json!({"id": "", "object": "", "created": 0, "model": "", "choices": [], "prompt_filter_results": [{"prompt_index": 0}]}),
        chunk(
            json!({"role": "assistant", "content": "Hel", "graph_data": {"sources": [{"url": "a"}], "status": "finding"}}),
            Value::Null,
        ),
        chunk(
            json!({"content": "lo", "graph_data": {"sources": [], "status": "done"}}),
            json!("stop"),
        ),
        json!({"id": "w1", "object": "chat.completion.chunk", "created": 5, "model": "palmyra-x5", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}),
    ];
    server.post("/v1/chat").respond(
        Reply::sse_events(body.iter().cloned().map(SseEvent::from)).chunking(Chunking::Random {
            seed: 9,
            min: 1,
            max: 13,
        }),
    );
    let client = Client::builder()
        .api_key("k")
        .base_url(server.base_url())
        .chat_path("/chat")
        .http_client(no_proxy())
        .build()
        .unwrap();
    let mut stream = client
        .chat()
        .stream(crate::common::chat_request(json!({})))
        .await
        .unwrap();
    let mut types = Vec::new();
    while let Some(e) = stream.next().await {
        types.push(e.unwrap().event_type());
    }
    assert_eq!(
        types,
        [
            "chunk",
            "content.delta",
            "chunk",
            "content.delta",
            "content.done",
            "chunk"
        ]
    );
    let completion = stream.final_completion().await.unwrap();
    let json = completion.as_json();
    assert_eq!(json["choices"][0]["message"]["content"], "Hello");
    assert_eq!(
        json["choices"][0]["message"]["graph_data"],
        json!({"sources": [{"url": "a"}], "status": "findingdone"})
    );
    assert_eq!(json["usage"]["total_tokens"], 5);
    assert_eq!(json["system_fingerprint"], Value::Null);
    assert_eq!(server.request_count_to("/v1/chat"), 1);
}

#[tokio::test]
async fn dropping_the_stream_closes_the_connection() {
    let server = ScriptedServer::start().await;
    let gate = Gate::new();
    server.post("/v1/chat/completions").respond(
        Reply::sse_file(fixture("chat_basic_content.sse"))
            .chunking(Chunking::Events)
            .gate(&gate),
    );
    let client = server.client();
    gate.release(2);
    let mut stream = client
        .chat()
        .stream(crate::common::chat_request(json!({})))
        .await
        .unwrap();
    assert_eq!(stream.next().await.unwrap().unwrap().event_type(), "chunk");
    assert!(server.disconnects().is_empty());
    drop(stream);
    assert!(
        server.wait_for_disconnect(WAIT).await,
        "the server did not see the client leave"
    );
}

#[tokio::test]
async fn connection_closing_mid_event_is_a_typed_error() {
    let server = ScriptedServer::start().await;
    let bytes = std::fs::read(fixture("chat_basic_content.sse")).unwrap();
    // Cut inside the third event's JSON: a clean end of body, and a dropped connection.
    let third = bytes
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w == b"\n\n")
        .nth(1)
        .unwrap()
        .0
        + 2;
    let cut = third + 40;
    server
        .post("/v1/chat/completions")
        .respond(Reply::sse_raw(bytes[..cut].to_vec()))
        .respond(Reply::sse_file(fixture("chat_basic_content.sse")).fault(Fault::DropAfter(cut)));
    let client = server.client();
    for _ in 0..2 {
        let mut stream = client
            .chat()
            .stream(crate::common::chat_request(json!({})))
            .await
            .unwrap();
        let (events, error) = crate::common::until_error(&mut stream).await;
        assert_eq!(events, 4, "two chunks with one content.delta each");
        match &error {
            Error::Stream {
                kind: StreamErrorKind::Incomplete,
                offset: Some(offset),
                ..
            } => assert_eq!(*offset, third as u64),
            other => panic!("unexpected {other:?}"),
        }
        assert!(
            error.to_string().contains(&format!("byte offset {third}")),
            "{error}"
        );
        assert_eq!(stream.current_snapshot().unwrap().content(0), Some("I'm"));
        assert!(stream.next().await.is_none());
    }
}

#[tokio::test]
async fn a_missing_done_ends_the_stream_cleanly() {
    let server = ScriptedServer::start().await;
    let bytes = std::fs::read(fixture("chat_basic_content.sse")).unwrap();
    let without_done = String::from_utf8(bytes)
        .unwrap()
        .replace("data: [DONE]\n\n", "");
    server
        .post("/v1/chat/completions")
        .respond(Reply::sse_raw(without_done).chunking(Chunking::Random {
            seed: 3,
            min: 1,
            max: 50,
        }));
    let client = server.client();
    let mut stream = client
        .chat()
        .stream(crate::common::chat_request(json!({})))
        .await
        .unwrap();
    let completion = stream.final_completion().await.unwrap();
    assert!(completion.content(0).unwrap().ends_with("weather app."));
}

#[tokio::test]
async fn raw_create_stream_yields_typed_chunks() {
    let server = ScriptedServer::start().await;
    server.post("/v1/chat/completions").respond(
        Reply::sse_file(fixture("chat_basic_content.sse")).chunking(Chunking::Random {
            seed: 11,
            min: 1,
            max: 64,
        }),
    );
    let client = server.client();
    let mut chunks = client
        .chat()
        .create_stream(crate::common::chat_request(json!({})))
        .await
        .unwrap();
    let mut state = ChatCompletionStreamState::new();
    let mut n = 0;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.unwrap();
        assert_eq!(chunk.id, "chatcmpl-ABfw031mOJeYCSHe4yI2ZjOA6kMJL");
        state.handle_typed_chunk(&chunk).unwrap();
        n += 1;
    }
    assert_eq!(n, 33);
    assert!(state
        .final_completion()
        .unwrap()
        .content(0)
        .unwrap()
        .starts_with("I'm unable"));
}

// ---- bad input, through the pipeline --------------------------------------------------------

fn run(body: &[u8]) -> (Vec<String>, Option<Error>, ChatEventPipeline) {
    let mut pipeline = ChatEventPipeline::new(ParseOptions::new());
    pipeline.push(body);
    pipeline.end_of_input();
    let mut types = Vec::new();
    let mut error = None;
    while let Some(e) = pipeline.next_event() {
        match e {
            Ok(e) => types.push(e.event_type().to_owned()),
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    assert!(pipeline.next_event().is_none(), "nothing after an error");
    (types, error, pipeline)
}

const FIRST: &str = r#"data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"}}]}"#;

#[test]
fn truncated_json_in_a_data_line() {
    let body = format!("{FIRST}\n\ndata: {{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{{\"index\":0,\n\n");
    let (types, error, pipeline) = run(body.as_bytes());
    assert_eq!(types, ["chunk", "content.delta"]);
    let error = error.unwrap();
    match &error {
        Error::Stream {
            kind: StreamErrorKind::InvalidJson,
            event: Some(1),
            offset: Some(_),
            message,
        } => {
            assert!(message.contains("EOF while parsing"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(error.to_string().contains("event #1"), "{error}");
    assert_eq!(error.reference_class(), "JSONDecodeError");
    assert_eq!(pipeline.state().snapshot().unwrap().content(0), Some("Hi"));
}

#[test]
fn non_utf8_bytes_say_where() {
    let mut body = format!("{FIRST}\n\n").into_bytes();
    let at = body.len() + 40;
    body.extend_from_slice(FIRST.as_bytes());
    body[at] = 0xFF;
    body.extend_from_slice(b"\n\n");
    let (types, error, pipeline) = run(&body);
    assert_eq!(types, ["chunk", "content.delta"]);
    match error.unwrap() {
        Error::Stream {
            kind: StreamErrorKind::InvalidUtf8,
            offset,
            ..
        } => assert_eq!(offset, Some(at as u64)),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(pipeline.state().snapshot().unwrap().content(0), Some("Hi"));
}

#[test]
fn empty_data_and_list_entries_without_index_are_typed_errors() {
    let (_, error, _) = run(format!("{FIRST}\n\ndata:\n\n").as_bytes());
    assert!(
        matches!(
            error,
            Some(Error::Stream {
                kind: StreamErrorKind::InvalidJson,
                event: Some(1),
                ..
            })
        ),
        "{error:?}"
    );

    let mut state = ChatCompletionStreamState::new();
    let chunk = |delta: Value| json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [{"index": 0, "delta": delta}]});
    state
        .handle_chunk(&chunk(
            json!({"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": ""}}]}),
        ))
        .unwrap();
    let e = state
        .handle_chunk(&chunk(
            json!({"tool_calls": [{"function": {"arguments": "{"}}]}),
        ))
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Stream {
                kind: StreamErrorKind::MissingIndex,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.reference_class(), "RuntimeError");
    assert!(e.to_string().contains("tool_calls[0]"), "{e}");
    let e = state
        .handle_chunk(&chunk(json!({"tool_calls": ["oops"]})))
        .unwrap_err();
    assert_eq!(e.reference_class(), "TypeError");
    assert!(state.handle_chunk(&json!([1, 2])).is_err());
    assert!(
        state
            .handle_chunk(&json!({"choices": [{"delta": {}}]}))
            .is_err(),
        "a choice without index"
    );
    // The snapshot is still there and readable.
    assert_eq!(state.snapshot().unwrap().tool_calls(0).len(), 1);
}

#[test]
fn a_delta_for_choice_5_before_choice_0() {
    let mut state = ChatCompletionStreamState::new();
    let chunk = |index: i64, content: &str, finish: Value| {
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
               "choices": [{"index": index, "delta": {"content": content}, "finish_reason": finish}]})
    };
    let mut events = Vec::new();
    for c in [
        chunk(5, "five", Value::Null),
        chunk(0, "zero", Value::Null),
        chunk(5, "!", json!("stop")),
        chunk(0, "?", json!("stop")),
    ] {
        events.extend(
            state
                .handle_chunk(&c)
                .unwrap()
                .into_iter()
                .map(|e| (e.event_type(), e.choice_index())),
        );
    }
    let snapshot = state.snapshot().unwrap();
    assert_eq!(snapshot.content(5), Some("five!"));
    assert_eq!(snapshot.content(0), Some("zero?"));
    assert_eq!(snapshot.finish_reason(5), Some("stop"));
    assert!(events.contains(&("content.done", Some(5))));
    assert!(events.contains(&("content.done", Some(0))));
    let completion = state.final_completion().unwrap();
    assert_eq!(completion.content(0), Some("zero?"));
    assert_eq!(completion.content(5), Some("five!"));
}

#[test]
fn a_tool_call_delta_for_an_index_never_opened_starts_a_new_call() {
    let mut state = ChatCompletionStreamState::with_options(ParseOptions::new().tools(vec![
        json!({"type": "function", "function": {"name": "f", "strict": true, "parameters": {}}}),
    ]));
    let chunk = |tool_calls: Value, finish: Value| {
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
               "choices": [{"index": 0, "delta": {"tool_calls": tool_calls}, "finish_reason": finish}]})
    };
    state.handle_chunk(&chunk(json!([{"index": 0, "id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}}]), Value::Null)).unwrap();
    // Index 3 was never opened: no id, no name.
    let events = state
        .handle_chunk(&chunk(
            json!([{"index": 3, "function": {"arguments": "{\"x\":"}}]),
            Value::Null,
        ))
        .unwrap();
    let described: Vec<Value> = events
        .iter()
        .map(|e| e.to_reference_json())
        .filter(|j| j["type"] != "chunk")
        .collect();
    assert_eq!(described[0]["type"], "tool_calls.function.arguments.delta");
    assert_eq!(described[0]["index"], 3);
    assert_eq!(described[0]["name"], Value::Null);
    assert_eq!(described[1]["type"], "tool_calls.function.arguments.done");
    assert_eq!(described[1]["parsed_arguments"], json!({}));
    let events = state
        .handle_chunk(&chunk(
            json!([{"index": 3, "function": {"arguments": "1}"}}]),
            json!("tool_calls"),
        ))
        .unwrap();
    let done = events.last().unwrap().to_reference_json();
    assert_eq!(done["type"], "tool_calls.function.arguments.done");
    assert_eq!(done["arguments"], "{\"x\":1}");
    assert_eq!(
        done["parsed_arguments"],
        Value::Null,
        "an unnamed call matches no strict tool"
    );
    assert_eq!(state.snapshot().unwrap().tool_calls(0).len(), 2);
}

#[test]
fn a_bad_structured_content_is_a_parse_error() {
    let mut state =
        ChatCompletionStreamState::with_options(ParseOptions::new().parse_content(true));
    let chunk = |content: &str| json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [{"index": 0, "delta": {"content": content}}]});
    state.handle_chunk(&chunk("Sure, ")).unwrap(); // the first chunk is never parsed
    let e = state.handle_chunk(&chunk("here")).unwrap_err();
    assert!(matches!(e, Error::Parse { partial: true, .. }), "{e:?}");
    assert!(e.to_string().contains("the content of choice 0"), "{e}");
    assert_eq!(state.snapshot().unwrap().content(0), Some("Sure, here"));
}

#[cfg(feature = "blocking")]
#[test]
fn blocking_stream_over_http() {
    let server = ScriptedServer::start_blocking();
    server.post("/v1/chat/completions").respond(
        Reply::sse_file(fixture("chat_basic_content.sse")).chunking(Chunking::Random {
            seed: 21,
            min: 1,
            max: 80,
        }),
    );
    let client = Client::builder()
        .api_key("sk-test")
        .base_url(server.base_url())
        .build()
        .unwrap();
    let mut stream = client
        .chat()
        .stream_blocking(crate::common::chat_request(json!({})))
        .unwrap();
    let lines: Vec<String> = (&mut stream).map(|e| describe(&e.unwrap())).collect();
    let (expected, final_json) = pipeline_events("chat_basic_content.sse", ParseOptions::new());
    assert_eq!(lines, expected);
    assert_eq!(&final_json, stream.final_completion().unwrap().as_json());
    assert_eq!(
        &final_json,
        stream.into_final_completion().unwrap().as_json()
    );
}

#[cfg(feature = "blocking")]
#[test]
fn blocking_plain_stream_at_the_length_limit_ends_normally() {
    let server = ScriptedServer::start_blocking();
    server
        .post("/v1/chat/completions")
        .respond(Reply::chat_stream_of(&plain_answer(
            "Rust is a systems programming",
            "length",
        )));
    let client = Client::builder()
        .api_key("sk-test")
        .base_url(server.base_url())
        .build()
        .unwrap();
    let mut stream = client
        .chat()
        .stream_blocking(crate::common::chat_request(json!({})))
        .unwrap();
    let types: Vec<&str> = (&mut stream).map(|e| e.unwrap().event_type()).collect();
    assert_eq!(types.iter().filter(|t| **t == "content.done").count(), 1);
    let completion = stream.final_completion().unwrap();
    assert_eq!(
        completion.choices[0].finish_reason.as_deref(),
        Some("length")
    );
    assert_eq!(completion.content(0), Some("Rust is a systems programming"));
}

/// The blocking stream goes through the same request preparation as the async one: Azure
/// deployment path, `api-version`, `api-key`, and retries before the stream starts.
#[cfg(feature = "blocking")]
#[test]
fn blocking_stream_uses_azure_paths_and_retries() {
    let server = ScriptedServer::start_blocking();
    let route = server
        .post("/openai/deployments/prod/chat/completions")
        .respond_all([
            Reply::openai_error(503, "server_error", "busy").header("retry-after-ms", "5"),
            Reply::sse_file(fixture("chat_basic_content.sse")),
        ]);
    let retries = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = retries.clone();
    let client = openai_sdk::ClientBuilder::empty()
        .azure(server.origin(), "2024-10-21")
        .azure_deployment("prod")
        .api_key("azure-key")
        .on_retry(move |e| seen.lock().unwrap().push((e.attempt, e.status, e.delay)))
        .build()
        .unwrap();
    let mut stream = client
        .chat()
        .stream_blocking(crate::common::chat_request(json!({})))
        .unwrap();
    let events = (&mut stream).collect::<Result<Vec<_>, _>>().unwrap();
    assert!(!events.is_empty());
    assert_eq!(route.calls(), 2);
    assert_eq!(
        *retries.lock().unwrap(),
        vec![(1, Some(503), std::time::Duration::from_millis(5))]
    );
    let req = server.last_request().unwrap();
    assert_eq!(req.path, "/openai/deployments/prod/chat/completions");
    assert_eq!(req.query_param("api-version"), Some("2024-10-21"));
    assert_eq!(req.header("api-key"), Some("azure-key"));
    assert_eq!(req.header("accept"), Some("text/event-stream"));
    assert_eq!(req.header("authorization"), None);
}

#[test]
fn unknown_fields_in_tool_call_fragments_are_accumulated() {
    let mut state = ChatCompletionStreamState::new();
    let chunk = |delta: Value| {
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
               "choices": [{"index": 0, "delta": delta}]})
    };
    let chunks = [
        chunk(
            json!({"role": "assistant", "tool_calls": [{"index": 0, "id": "call_", "type": "function", "x_meta": "a",
            "function": {"name": "get_", "arguments": "", "x_f": 1}}]}),
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "id": "1", "x_meta": "b", "function": {"name": "weather", "arguments": "{\"a\":", "x_f": 2}}]}),
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}], "x_delta": [1]}),
        ),
        chunk(
            json!({"tool_calls": [{"index": 1, "type": "function", "function": {"name": "other", "arguments": "{}"}}], "x_delta": [2]}),
        ),
    ];
    for c in &chunks {
        state.handle_chunk(c).unwrap();
    }
    let snapshot = state.snapshot().unwrap();
    let calls = snapshot.tool_calls(0);
    assert_eq!(
        calls[0],
        json!({"index": 0, "id": "call_1", "type": "function", "x_meta": "ab",
               "function": {"name": "get_weather", "arguments": "{\"a\":1}", "x_f": 3}})
    );
    assert_eq!(calls[1]["function"]["name"], "other");
    assert_eq!(snapshot.message(0).unwrap()["x_delta"], json!([1, 2]));
}

/// Replays a fixture through a state, optionally forcing the general path (a chunk whose
/// `system_fingerprint` is a number is not of the usual shape).
fn replay_state(file: &str, options: ParseOptions, force_general: bool) -> (Vec<Value>, Value) {
    let text = std::fs::read_to_string(fixture(file)).unwrap();
    let mut state = ChatCompletionStreamState::with_options(options);
    let mut events = Vec::new();
    for line in text.lines() {
        let Some(data) = line.strip_prefix("data: ") else {
            continue;
        };
        if data == "[DONE]" {
            break;
        }
        let mut chunk: Value = serde_json::from_str(data).unwrap();
        if force_general {
            chunk["system_fingerprint"] = json!(5);
        }
        for event in state.handle_chunk(&chunk).unwrap() {
            let mut json = event.to_reference_json();
            if let Some(snapshot) = json.get_mut("snapshot").filter(|s| s.is_object()) {
                snapshot["system_fingerprint"] = Value::Null;
            }
            if let Some(chunk) = json.get_mut("chunk") {
                chunk["system_fingerprint"] = Value::Null;
            }
            events.push(json);
        }
    }
    let mut snapshot = state.snapshot().unwrap().to_reference_json();
    snapshot["system_fingerprint"] = Value::Null;
    (events, snapshot)
}

#[test]
fn the_fast_and_the_general_path_agree() {
    let strict_tools =
        |file: &str| ParseOptions::new().tools(fixture_json(file).as_array().unwrap().clone());
    let cases = [
        ("chat_basic_content.sse", ParseOptions::new()),
        (
            "chat_response_format_parsed.sse",
            ParseOptions::new().parse_content(true),
        ),
        ("chat_refusal.sse", ParseOptions::new().parse_content(true)),
        ("chat_logprobs_content.sse", ParseOptions::new()),
        (
            "chat_tool_calls_multiple_pydantic.sse",
            strict_tools("tools_pydantic_weather_and_stock.json"),
        ),
        (
            "go_chat_content_then_tool_call.sse",
            strict_tools("tools_go_get_weather_strict.json"),
        ),
    ];
    for (file, options) in cases {
        let (fast_events, fast) = replay_state(file, options.clone(), false);
        let (general_events, general) = replay_state(file, options, true);
        assert_eq!(fast, general, "{file}");
        assert_eq!(fast_events.len(), general_events.len(), "{file}");
        for (a, b) in fast_events.iter().zip(&general_events) {
            assert_eq!(a, b, "{file}");
        }
    }
}

/// The final completion reuses the content parsed at `content.done` and copies it into its
/// JSON only when the JSON is read: that JSON, its typed view, equality, `Debug` and
/// `into_json` are those of the completion parsed at once from the snapshot (two choices,
/// one parsed and one refused; `parsed` in its place among the message's keys).
#[test]
fn final_completion_json_has_the_reused_parsed_content_in_its_place() {
    let chunk = |index: i64, delta: Value, finish: Value| {
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
               "choices": [{"index": index, "delta": delta, "logprobs": null, "finish_reason": finish}]})
    };
    let chunks = [
        chunk(0, json!({"role": "assistant", "content": ""}), Value::Null),
        chunk(1, json!({"role": "assistant", "refusal": ""}), Value::Null),
        chunk(0, json!({"content": "{\"a\": [1, "}), Value::Null),
        chunk(1, json!({"refusal": "no"}), Value::Null),
        chunk(0, json!({"content": "{\"b\": \"x\"}]}"}), Value::Null),
        chunk(0, json!({}), json!("stop")),
        chunk(1, json!({}), json!("stop")),
    ];
    let mut state =
        ChatCompletionStreamState::with_options(ParseOptions::new().parse_content(true));
    for c in &chunks {
        state.handle_chunk(c).unwrap();
    }
    let snapshot = state.snapshot().unwrap();
    let at_once = openai_sdk::chat::parse_chat_completion(
        &snapshot.to_json(),
        &ParseOptions::new().parse_content(true),
    )
    .unwrap();
    let expected = snapshot.to_reference_json();
    assert_eq!(at_once.as_json(), &expected);
    let message = expected["choices"][0]["message"].as_object().unwrap();
    let keys: Vec<&str> = message.keys().map(String::as_str).collect();
    assert_eq!(keys, ["role", "content", "parsed"]);
    assert_eq!(message["parsed"], json!({"a": [1, {"b": "x"}]}));
    assert_eq!(expected["choices"][1]["message"]["parsed"], Value::Null);

    let done = state.final_completion().unwrap();
    assert_eq!(done.parsed(0), Some(&json!({"a": [1, {"b": "x"}]})));
    assert_eq!(done.parsed(1), None);
    assert_eq!(format!("{done:?}"), format!("{at_once:?}"));
    assert_eq!(done, at_once);
    assert_eq!(done.as_json(), &expected);
    assert_eq!(state.final_completion().unwrap().into_json(), expected);
    let typed: openai_sdk::types::CreateChatCompletionResponse = done.deserialize().unwrap();
    assert_eq!(typed.choices.len(), 2);

    let typed = state.final_completion_as::<A>().unwrap();
    assert_eq!(typed.parsed(0), Some(&A::streamed()));
    assert_eq!(typed.as_json(), &expected);
}

/// The content `{"a": [1, {"b": "x"}]}` the two tests around it stream, as a user's type.
#[derive(serde::Deserialize, Debug, PartialEq)]
struct A {
    a: (i64, B),
}

#[derive(serde::Deserialize, Debug, PartialEq)]
struct B {
    b: String,
}

impl A {
    fn streamed() -> A {
        A {
            a: (1, B { b: "x".into() }),
        }
    }
}

/// `into_final_completion` gives what `final_completion` gives (typed view, JSON in the
/// reference shape with `parsed` in its place, logprobs, `Debug`), and moves the content
/// parsed at `content.done` into the completion when nothing else holds it: the parsed
/// array is the very one the `content.done` event carried. A snapshot or event the caller
/// keeps makes it a copy instead, with the same value.
#[test]
fn into_final_completion_moves_the_parsed_content() {
    let token =
        |t: &str| json!({"token": t, "logprob": -0.5, "bytes": t.as_bytes(), "top_logprobs": []});
    let chunk = |index: i64, delta: Value, lp: Value, finish: Value| {
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
               "choices": [{"index": index, "delta": delta, "logprobs": lp, "finish_reason": finish}]})
    };
    let chunks = |logprobs: bool| {
        let lp = |t: &str| {
            if logprobs {
                json!({"content": [token(t)]})
            } else {
                Value::Null
            }
        };
        vec![
            chunk(
                0,
                json!({"role": "assistant", "content": ""}),
                lp(""),
                Value::Null,
            ),
            chunk(
                1,
                json!({"role": "assistant", "refusal": ""}),
                Value::Null,
                Value::Null,
            ),
            chunk(
                0,
                json!({"content": "{\"a\": [1, "}),
                lp("{\"a\": [1, "),
                Value::Null,
            ),
            chunk(1, json!({"refusal": "no"}), Value::Null, Value::Null),
            chunk(
                0,
                json!({"content": "{\"b\": \"x\"}]}"}),
                lp("{\"b\": \"x\"}]}"),
                Value::Null,
            ),
            chunk(0, json!({}), Value::Null, json!("stop")),
            chunk(1, json!({}), Value::Null, json!("stop")),
        ]
    };
    // The state after `chunks`, and the address of the `a` array the `content.done` event
    // carried (the event itself dropped unless `keep_event`).
    let run = |logprobs: bool, keep_event: bool| {
        let mut state =
            ChatCompletionStreamState::with_options(ParseOptions::new().parse_content(true));
        let mut done_array = None;
        let mut kept = Vec::new();
        for c in &chunks(logprobs) {
            for event in state.handle_chunk(c).unwrap() {
                if let ChatCompletionStreamEvent::ContentDone { parsed, .. } = &event {
                    let openai_sdk::chat::ParsedValue::Complete(value) = parsed else {
                        panic!("a strict parse at content.done: {parsed:?}");
                    };
                    done_array = Some(value["a"].as_array().unwrap().as_ptr() as usize);
                    if keep_event {
                        kept.push(event.clone());
                    }
                }
            }
        }
        (state, done_array.expect("a content.done event"), kept)
    };
    let a_of = |done: &openai_sdk::chat::ParsedChatCompletion| {
        done.parsed(0).unwrap()["a"].as_array().unwrap().as_ptr() as usize
    };
    for logprobs in [false, true] {
        let (state, _, _) = run(logprobs, false);
        let expected = state.snapshot().unwrap().to_reference_json();
        assert_eq!(
            expected["choices"][0]["message"]["parsed"],
            json!({"a": [1, {"b": "x"}]})
        );
        let copied = state.final_completion().unwrap();

        // Nothing else holds the parsed content: moved.
        let (state, at_done, _) = run(logprobs, false);
        let moved = state.into_final_completion().unwrap();
        assert_eq!(a_of(&moved), at_done, "moved, not copied");
        assert_eq!(moved.parsed(0), Some(&json!({"a": [1, {"b": "x"}]})));
        assert_eq!(moved.parsed(1), None);
        assert_eq!(moved, copied);
        assert_eq!(format!("{moved:?}"), format!("{copied:?}"));
        assert_eq!(moved.as_json(), &expected);
        assert_eq!(moved.clone().into_json(), expected);
        let keys: Vec<&str> = moved.as_json()["choices"][0]["message"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["role", "content", "parsed"]);

        // A snapshot the caller keeps, or the event: a copy, the same value.
        let (state, at_done, _) = run(logprobs, false);
        let snapshot = state.snapshot().unwrap();
        let shared = state.into_final_completion().unwrap();
        assert_ne!(a_of(&shared), at_done);
        assert_eq!(shared, copied);
        assert_eq!(shared.as_json(), &expected);
        assert_eq!(snapshot.to_reference_json(), expected);
        let (state, at_done, kept) = run(logprobs, true);
        let shared = state.into_final_completion().unwrap();
        assert_ne!(a_of(&shared), at_done);
        assert_eq!(shared.as_json(), &expected);
        assert_eq!(
            kept[0].to_reference_json()["parsed"],
            json!({"a": [1, {"b": "x"}]})
        );

        let (state, _, _) = run(logprobs, false);
        let typed = state.into_final_completion_as::<A>().unwrap();
        assert_eq!(typed.parsed(0), Some(&A::streamed()));
        assert_eq!(typed.as_json(), &expected);
    }

    // Before the first chunk there is nothing to finish, as with `final_completion`.
    let e = ChatCompletionStreamState::new()
        .into_final_completion()
        .unwrap_err();
    assert!(e.to_string().contains("before its first chunk"), "{e}");
}

/// With logprobs, the final completion's JSON is built when first read: whichever way it
/// is read (`as_json`, `into_json`, `deserialize`, a clone, `usage`), it is the snapshot's
/// reference JSON, logprobs in their place among the choice's keys; a choice cut off for
/// `length` with something to parse is an error carrying the logprobs too.
#[test]
fn final_completion_with_logprobs_is_the_whole_completion() {
    let token =
        |t: &str| json!({"token": t, "logprob": -0.5, "bytes": t.as_bytes(), "top_logprobs": []});
    let chunk = |delta: Value, lp: Value, finish: Value| {
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
               "choices": [{"index": 0, "delta": delta, "logprobs": lp, "finish_reason": finish, "x_choice": 1}],
               "usage": null})
    };
    let chunks = |finish: &str| {
        vec![
            chunk(
                json!({"role": "assistant", "content": ""}),
                json!({"content": [], "refusal": null}),
                Value::Null,
            ),
            chunk(
                json!({"content": "{\"a\": "}),
                json!({"content": [token("{\"a\": ")]}),
                Value::Null,
            ),
            chunk(
                json!({"content": "1}"}),
                json!({"content": [token("1}")]}),
                Value::Null,
            ),
            chunk(json!({}), Value::Null, json!(finish)),
        ]
    };
    let mut state =
        ChatCompletionStreamState::with_options(ParseOptions::new().parse_content(true));
    for c in &chunks("stop") {
        state.handle_chunk(c).unwrap();
    }
    let expected = state.snapshot().unwrap().to_reference_json();
    let choice = expected["choices"][0].as_object().unwrap();
    let keys: Vec<&str> = choice.keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 5);
    assert_eq!(keys[3..], ["logprobs", "message"]);
    assert_eq!(choice["logprobs"]["content"][1]["token"], "1}");
    assert_eq!(choice["message"]["parsed"], json!({"a": 1}));

    let done = state.final_completion().unwrap();
    assert_eq!(done.usage(), None);
    assert_eq!(done.parsed(0), Some(&json!({"a": 1})));
    let copy = done.clone();
    assert_eq!(done.as_json(), &expected);
    assert_eq!(copy, done);
    assert_eq!(copy.into_json(), expected);
    assert_eq!(done.clone().into_json(), expected);
    let typed: openai_sdk::types::CreateChatCompletionResponse = done.deserialize().unwrap();
    assert_eq!(
        typed.choices[0]
            .logprobs
            .as_ref()
            .unwrap()
            .content
            .as_ref()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        format!("{done:?}"),
        format!("{:?}", state.final_completion().unwrap())
    );

    // Cut off: the error carries the completion with its logprobs.
    let mut state =
        ChatCompletionStreamState::with_options(ParseOptions::new().parse_content(true));
    let all = chunks("length");
    for c in &all[..3] {
        state.handle_chunk(c).unwrap();
    }
    // The chunk with `length` is an error at once; the final completion says so again.
    assert!(matches!(
        state.handle_chunk(&all[3]),
        Err(Error::LengthFinishReason { .. })
    ));
    let Err(Error::LengthFinishReason { completion }) = state.final_completion() else {
        panic!("expected LengthFinishReason");
    };
    assert_eq!(
        completion["choices"][0]["logprobs"]["content"][0]["token"],
        "{\"a\": "
    );
    assert_eq!(completion["choices"][0]["finish_reason"], "length");
}

/// Logprob tokens are kept as their JSON text in one buffer per list: the delta event sees
/// its chunk's tokens, the snapshot all of them, in order and byte for byte as sent, and
/// they decode to what was sent (escapes, non-ASCII and all).
#[test]
fn logprob_tokens_are_views_of_the_kept_text() {
    let token = |text: &str, logprob: f64| {
        json!({"token": text, "logprob": logprob, "bytes": text.as_bytes(),
               "top_logprobs": [{"token": text, "logprob": logprob, "bytes": text.as_bytes()}]})
    };
    let tokens = [
        token("Hel", -0.25),
        token("lo \"é\"", -1.5),
        token("\n😀", -3.0e-5),
    ];
    let chunk = |content: &str, lp: Value, finish: Value| {
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
               "choices": [{"index": 0, "delta": {"content": content},
                            "logprobs": {"content": lp, "refusal": null}, "finish_reason": finish}]})
    };
    let mut state = ChatCompletionStreamState::new();
    state
        .handle_chunk(&chunk("Hel", json!([tokens[0]]), Value::Null))
        .unwrap();
    let events = state
        .handle_chunk(&chunk(
            "lo \"é\"\n😀",
            json!([tokens[1], tokens[2]]),
            json!("stop"),
        ))
        .unwrap();
    let raw: Vec<String> = tokens.iter().map(|t| t.to_string()).collect();

    let delta = events
        .iter()
        .find_map(|e| match e {
            ChatCompletionStreamEvent::LogprobsContentDelta {
                content, snapshot, ..
            } => Some((content.clone(), snapshot.clone())),
            _ => None,
        })
        .expect("a logprobs.content.delta event");
    let (new, all) = delta;
    assert_eq!(new.len(), 2);
    assert!(!new.is_empty());
    assert_eq!(new.iter().collect::<Vec<_>>(), [&raw[1], &raw[2]]);
    assert_eq!(new.get(0), Some(raw[1].as_str()));
    assert_eq!(new.get(2), None);
    assert_eq!(new.to_values(), tokens[1..]);
    assert_eq!(all.len(), 3);
    assert_eq!(
        all.iter().rev().collect::<Vec<_>>(),
        [&raw[2], &raw[1], &raw[0]]
    );
    assert_eq!(all.to_values(), tokens);
    let typed = all.to_typed().unwrap();
    assert_eq!(typed[1].token, "lo \"é\"");
    assert_eq!(typed[2].logprob, -3.0e-5);
    assert_eq!(format!("{new:?}"), format!("[{}, {}]", raw[1], raw[2]));

    let done = events
        .iter()
        .find_map(|e| match e {
            ChatCompletionStreamEvent::LogprobsContentDone { content, .. } => Some(content.clone()),
            _ => None,
        })
        .expect("a logprobs.content.done event");
    assert_eq!((&done).into_iter().count(), 3);

    let snapshot = state.snapshot().unwrap();
    let kept = snapshot.logprobs(0, false);
    assert_eq!(kept.iter().collect::<Vec<_>>(), raw);
    assert_eq!(kept.get(3), None);
    assert!(snapshot.logprobs(0, true).is_empty());
    assert!(snapshot.logprobs(7, false).is_empty());
    let final_json = state.into_final_completion().unwrap();
    assert_eq!(
        final_json.as_json()["choices"][0]["logprobs"],
        json!({"content": tokens, "refusal": null})
    );
}

/// At `content.done` and a strict tool's `arguments.done`, the parsed value is what
/// `serde_json` reads from the whole text, byte for byte when written out (key order, a
/// repeated key, number kinds), whether the state takes it from the partial parser's tree or
/// parses the text again (an integer `-0`, which the partial parser reads as `0`; nesting at
/// and past `serde_json`'s limit); past the limit, the error is the one the non-streaming
/// parse gives.
#[test]
fn done_values_are_what_serde_json_reads() {
    let deep = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let docs = [
        r#"{"b": 1, "a": [18446744073709551615, -9223372036854775808, 1e300, 0.1, 2E3], "b": {"c": "\u00e9\ud83d\ude00\t"}}"#.to_owned(),
        r#"{"z": -0, "y": [-0, -0.0, 0]}"#.to_owned(),
        format!(r#"{{"deep": {}}}"#, deep(126)),
        deep(127),
    ];
    let options = ParseOptions::new().parse_content(true).tools(vec![
        json!({"type": "function", "function": {"name": "f", "strict": true, "parameters": {}}}),
    ]);
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
               "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]})
    };
    let stream = |doc: &str, tool: bool| {
        let mut chunks = vec![chunk(
            json!({"role": "assistant", "content": ""}),
            Value::Null,
        )];
        if tool {
            chunks.push(chunk(
                json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                       "function": {"name": "f", "arguments": ""}}]}),
                Value::Null,
            ));
        }
        for piece in crate::common::cut(doc, &[5]) {
            chunks.push(chunk(
                if tool {
                    json!({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
                } else {
                    json!({"content": piece})
                },
                Value::Null,
            ));
        }
        chunks.push(chunk(
            json!({}),
            json!(if tool { "tool_calls" } else { "stop" }),
        ));
        let mut state = ChatCompletionStreamState::with_options(options.clone());
        let mut done = None;
        for c in &chunks {
            for event in state.handle_chunk(c)? {
                match event {
                    ChatCompletionStreamEvent::ContentDone { parsed, .. }
                    | ChatCompletionStreamEvent::ToolCallArgumentsDone {
                        parsed_arguments: parsed,
                        ..
                    } => done = Some(parsed.to_value()),
                    _ => {}
                }
            }
        }
        Ok::<_, Error>((done, state))
    };
    for doc in &docs {
        let expected: Value = serde_json::from_str(doc).unwrap();
        for tool in [false, true] {
            let (done, state) = stream(doc, tool).unwrap();
            let done = done.unwrap_or_else(|| panic!("no done event for {doc:?} (tool {tool})"));
            assert_eq!(
                serde_json::to_string(&done).unwrap(),
                serde_json::to_string(&expected).unwrap(),
                "{doc:?} (tool {tool})"
            );
            let last = state.into_final_completion().unwrap();
            let json = last.as_json();
            let kept = if tool {
                &json["choices"][0]["message"]["tool_calls"][0]["function"]["parsed_arguments"]
            } else {
                &json["choices"][0]["message"]["parsed"]
            };
            assert_eq!(
                serde_json::to_string(kept).unwrap(),
                serde_json::to_string(&expected).unwrap()
            );
        }
    }
    // Past serde_json's limit: the partial parser reads on (its own limit is deeper), and
    // `content.done` fails as the parse of the finished completion does.
    let too_deep = deep(128);
    let streamed = stream(&too_deep, false).unwrap_err();
    let mut finished = ChatCompletionStreamState::new();
    let whole = json!({"role": "assistant", "content": too_deep});
    finished.handle_chunk(&chunk(whole, Value::Null)).unwrap();
    finished
        .handle_chunk(&chunk(json!({}), json!("stop")))
        .unwrap();
    let at_once =
        openai_sdk::chat::parse_chat_completion(&finished.snapshot().unwrap().to_json(), &options)
            .unwrap_err();
    assert!(matches!(streamed, Error::Validation(_)), "{streamed:?}");
    assert_eq!(streamed.to_string(), at_once.to_string());
    assert!(
        streamed.to_string().contains("recursion limit"),
        "{streamed}"
    );
}
