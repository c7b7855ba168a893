//! Compatible providers' reasoning in the chat stream (issue 13 item 6): a delta's
//! `reasoning_content` (DeepSeek, vLLM, llama.cpp) or string `reasoning` (OpenRouter) gives
//! `reasoning.delta` / `reasoning.done` events with the snapshot, over loopback with the
//! scripted server, whatever the body's split; the final completion keeps the field.
//! The two streams are constructed to the providers' documented shapes (see
//! `tests/fixtures/chat/README.md`).

#![cfg(feature = "chat")]

use std::path::PathBuf;

use futures::StreamExt;
use openai_sdk::chat::{ChatCompletionStreamEvent, ChatCompletionStreamState};
use openai_sdk::testing::{Chunking, Reply, ScriptedServer};
use openai_sdk::types::CreateChatCompletionRequest;
use serde_json::{json, Value};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/chat")
        .join(name)
}

fn request() -> CreateChatCompletionRequest {
    serde_json::from_value(
        json!({"model": "deepseek-reasoner", "messages": [{"role": "user", "content": "Hi"}]}),
    )
    .unwrap()
}

/// What a provider's stream must give.
struct Expected {
    file: &'static str,
    /// The field the reasoning streams in.
    key: &'static str,
    reasoning: &'static str,
    content: &'static str,
}

const DEEPSEEK: Expected = Expected {
    file: "deepseek_reasoner_reasoning_content.sse",
    key: "reasoning_content",
    reasoning: "Okay, the user asks for the capital of France. That is Paris.",
    content: "The capital of France is **Paris**.",
};

const OPENROUTER: Expected = Expected {
    file: "openrouter_reasoning.sse",
    key: "reasoning",
    reasoning: "The user wants a haiku about rain.",
    content: "Soft rain on the roof\ngrey clouds hum a lullaby\nthe garden drinks deep",
};

/// The splits every stream is served with: whole, one byte at a time, and random pieces.
fn chunkings() -> Vec<Chunking> {
    let mut all = vec![Chunking::Whole, Chunking::Fixed(1), Chunking::Events];
    all.extend((0..4).map(|seed| Chunking::Random {
        seed,
        min: 1,
        max: 97,
    }));
    all
}

/// One line per event: its reference JSON, with the `chunk` event reduced to its type.
fn describe(event: &ChatCompletionStreamEvent) -> String {
    match event {
        ChatCompletionStreamEvent::Chunk { .. } => "chunk".into(),
        other => other.to_reference_json().to_string(),
    }
}

/// Checks the reasoning events of one stream: every `reasoning.delta` extends the
/// snapshot by its delta, one `reasoning.done` with the whole reasoning comes before the
/// first content text, and nothing else about the events changes.
fn check_events(events: &[ChatCompletionStreamEvent], expected: &Expected) {
    let mut reasoning = String::new();
    let mut done_at = None;
    let mut first_content_at = None;
    for (i, event) in events.iter().enumerate() {
        match event {
            ChatCompletionStreamEvent::ReasoningDelta {
                choice_index,
                delta,
                snapshot,
            } => {
                assert_eq!(*choice_index, 0);
                assert!(!delta.is_empty());
                assert!(done_at.is_none(), "a delta after reasoning.done");
                reasoning.push_str(delta);
                assert_eq!(&**snapshot, reasoning.as_str());
            }
            ChatCompletionStreamEvent::ReasoningDone {
                choice_index,
                reasoning: whole,
            } => {
                assert_eq!(*choice_index, 0);
                assert!(done_at.is_none(), "two reasoning.done events");
                done_at = Some(i);
                assert_eq!(&**whole, expected.reasoning);
            }
            ChatCompletionStreamEvent::ContentDelta { delta, .. } if !delta.is_empty() => {
                first_content_at.get_or_insert(i);
            }
            _ => {}
        }
    }
    assert_eq!(reasoning, expected.reasoning);
    let (done_at, first_content_at) = (done_at.unwrap(), first_content_at.unwrap());
    assert!(done_at < first_content_at, "reasoning.done comes first");
    let types: Vec<&str> = events.iter().map(|e| e.event_type()).collect();
    assert_eq!(types.iter().filter(|t| **t == "content.done").count(), 1);
}

/// The final completion keeps the reasoning field and its text.
fn check_final(completion: &openai_sdk::chat::ParsedChatCompletion, expected: &Expected) {
    assert_eq!(completion.content(0), Some(expected.content));
    assert_eq!(completion.reasoning(0), Some(expected.reasoning));
    let message = &completion.as_json()["choices"][0]["message"];
    assert_eq!(message[expected.key], expected.reasoning);
}

async fn async_run(expected: &Expected) {
    let mut reference: Option<Vec<String>> = None;
    for chunking in chunkings() {
        let server = ScriptedServer::start().await;
        server
            .post("/v1/chat/completions")
            .respond(Reply::sse_file(fixture(expected.file)).chunking(chunking.clone()));
        let mut stream = server.client().chat().stream(request()).await.unwrap();
        let mut events = Vec::new();
        while let Some(event) = stream.next().await {
            events.push(event.unwrap());
        }
        check_events(&events, expected);
        let snapshot = stream.current_snapshot().unwrap();
        assert_eq!(snapshot.reasoning(0), Some(expected.reasoning));
        check_final(&stream.final_completion().await.unwrap(), expected);
        // The same events whatever the split.
        let lines: Vec<String> = events.iter().map(describe).collect();
        match &reference {
            None => reference = Some(lines),
            Some(first) => assert_eq!(&lines, first, "{chunking:?}"),
        }
    }
}

#[tokio::test]
async fn deepseek_reasoning_content_gives_reasoning_events() {
    async_run(&DEEPSEEK).await;
}

#[tokio::test]
async fn openrouter_reasoning_gives_reasoning_events() {
    async_run(&OPENROUTER).await;
}

#[cfg(feature = "blocking")]
#[test]
fn the_blocking_stream_gives_the_same_reasoning_events() {
    for expected in [&DEEPSEEK, &OPENROUTER] {
        let server = ScriptedServer::start_blocking();
        server.post("/v1/chat/completions").respond(
            Reply::sse_file(fixture(expected.file)).chunking(Chunking::Random {
                seed: 7,
                min: 1,
                max: 31,
            }),
        );
        let mut stream = server.client().chat().stream_blocking(request()).unwrap();
        let events: Vec<_> = (&mut stream).map(Result::unwrap).collect();
        check_events(&events, expected);
        check_final(&stream.final_completion().unwrap(), expected);
    }
}

/// OpenAI's own streams carry no reasoning fields: no reasoning event, no reasoning text.
#[tokio::test]
async fn an_openai_stream_gives_no_reasoning_events() {
    let server = ScriptedServer::start().await;
    server
        .post("/v1/chat/completions")
        .respond(Reply::sse_file(fixture("chat_basic_content.sse")).chunking(Chunking::Fixed(3)));
    let mut stream = server.client().chat().stream(request()).await.unwrap();
    while let Some(event) = stream.next().await {
        let event = event.unwrap();
        assert!(
            !event.event_type().starts_with("reasoning"),
            "{}",
            event.event_type()
        );
    }
    assert_eq!(stream.final_completion().await.unwrap().reasoning(0), None);
}

fn chunk(delta: Value, finish: Option<&str>) -> Value {
    json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
}

/// The events of `chunks` but the `chunk` ones, as reference JSON.
fn events_of(state: &mut ChatCompletionStreamState, chunks: &[Value]) -> Vec<Value> {
    let mut out = Vec::new();
    for c in chunks {
        for event in state.handle_chunk(c).unwrap() {
            if event.event_type() != "chunk" {
                out.push(event.to_reference_json());
            }
        }
    }
    out
}

/// Reasoning that ends with a tool call, and reasoning again after it (interleaved
/// thinking): a `reasoning.done` before the call, a new run after it; the snapshot holds
/// all the reasoning. A delta with both fields counts `reasoning_content` once.
#[test]
fn reasoning_before_a_tool_call_and_again_after_it() {
    let mut state = ChatCompletionStreamState::new();
    let call = json!([{"index": 0, "id": "call_1", "type": "function",
        "function": {"name": "f", "arguments": "{}"}}]);
    let lines = events_of(
        &mut state,
        &[
            chunk(
                json!({"role": "assistant", "content": null, "reasoning_content": "Think", "reasoning": "Think"}),
                None,
            ),
            chunk(json!({"reasoning_content": " more"}), None),
            chunk(json!({"tool_calls": call}), None),
            chunk(json!({"reasoning_content": " again"}), None),
            chunk(json!({}), Some("tool_calls")),
        ],
    );
    assert_eq!(
        lines,
        [
            json!({"type": "reasoning.delta", "delta": "Think", "snapshot": "Think"}),
            json!({"type": "reasoning.delta", "delta": " more", "snapshot": "Think more"}),
            json!({"type": "reasoning.done", "reasoning": "Think more"}),
            json!({"type": "tool_calls.function.arguments.delta", "name": "f", "index": 0,
                "arguments": "{}", "parsed_arguments": null, "arguments_delta": "{}"}),
            json!({"type": "reasoning.delta", "delta": " again", "snapshot": "Think more again"}),
            json!({"type": "reasoning.done", "reasoning": "Think more again"}),
            json!({"type": "tool_calls.function.arguments.done", "name": "f", "index": 0,
                "arguments": "{}", "parsed_arguments": null}),
        ]
    );
    let completion = state.final_completion().unwrap();
    assert_eq!(completion.reasoning(0), Some("Think more again"));
}

/// Empty or null reasoning fields alone give no reasoning event.
#[test]
fn empty_reasoning_fields_give_no_event() {
    let mut state = ChatCompletionStreamState::new();
    let lines = events_of(
        &mut state,
        &[
            chunk(
                json!({"role": "assistant", "content": "", "reasoning_content": ""}),
                None,
            ),
            chunk(
                json!({"content": "Hi", "reasoning_content": null, "reasoning": null}),
                None,
            ),
            chunk(json!({"content": ""}), Some("stop")),
        ],
    );
    assert!(
        lines
            .iter()
            .all(|l| !l["type"].as_str().unwrap().starts_with("reasoning")),
        "{lines:?}"
    );
    assert_eq!(state.final_completion().unwrap().reasoning(0), None);
}
