//! Property: re-splitting the deltas of a stream at random boundaries, and delivering its
//! bytes in random pieces, gives the same final snapshot.

use openai_sdk::chat::{ChatEventPipeline, ParseOptions};
use proptest::prelude::*;
use serde_json::{json, Value};

const TEXT: &str =
    "{\"city\": \"San Francisco\", \"temperature\": 61.5, \"tags\": [\"fog\", \"é\\u00e9\", 2]}";
const ARGS: &str = "{\"location\": \"Paris, France\", \"unit\": \"c\"}";

fn chunk(delta: Value, finish: Value, logprobs: Value) -> String {
    let c = json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                   "choices": [{"index": 0, "delta": delta, "logprobs": logprobs, "finish_reason": finish}]});
    format!("data: {c}\n\n")
}

/// Cuts `text` at the given fractions (on char boundaries).
fn split(text: &str, cuts: &[usize]) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (chars.len() + 1)).collect();
    points.push(0);
    points.push(chars.len());
    points.sort_unstable();
    points.dedup();
    points
        .windows(2)
        .map(|w| chars[w[0]..w[1]].iter().collect())
        .collect()
}

fn body(content_cuts: &[usize], args_cuts: &[usize]) -> Vec<u8> {
    let mut out = chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
        json!({"content": [], "refusal": null}),
    );
    for piece in split(TEXT, content_cuts) {
        let token =
            json!({"token": piece, "logprob": -0.5, "bytes": piece.as_bytes(), "top_logprobs": []});
        out.push_str(&chunk(
            json!({"content": piece, "x_note": piece}),
            Value::Null,
            json!({"content": [token]}),
        ));
    }
    out.push_str(&chunk(json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}), Value::Null, Value::Null));
    for piece in split(ARGS, args_cuts) {
        out.push_str(&chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}),
            Value::Null,
            Value::Null,
        ));
    }
    out.push_str(&chunk(json!({}), json!("tool_calls"), Value::Null));
    out.push_str("data: [DONE]\n\n");
    out.into_bytes()
}

fn options() -> ParseOptions {
    ParseOptions::new()
        .parse_content(true)
        .tools(vec![json!({"type": "function", "function": {"name": "get_weather", "strict": true, "parameters": {}}})])
}

/// The final completion (reference JSON), with the bytes pushed in pieces of these sizes.
fn replay(bytes: &[u8], pieces: &[usize]) -> (Value, Value) {
    let mut pipeline = ChatEventPipeline::new(options());
    let mut at = 0;
    let mut sizes = pieces.iter().cycle();
    let mut last_parsed = Value::Null;
    while at < bytes.len() {
        let n = (*sizes.next().unwrap()).clamp(1, bytes.len() - at);
        pipeline.push(&bytes[at..at + n]);
        at += n;
        while let Some(event) = pipeline.next_event() {
            let event = event.unwrap();
            if event.event_type() == "content.done" {
                last_parsed = event.to_reference_json()["parsed"].clone();
            }
        }
    }
    pipeline.end_of_input();
    assert!(pipeline.next_event().is_none());
    let snapshot = pipeline.state().snapshot().unwrap().to_reference_json();
    (snapshot, last_parsed)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn resplitting_gives_the_same_final_snapshot(
        content_cuts in proptest::collection::vec(0usize..200, 0..30),
        args_cuts in proptest::collection::vec(0usize..200, 0..20),
        pieces in proptest::collection::vec(1usize..300, 1..20),
    ) {
        let (reference, reference_parsed) = replay(&body(&[], &[]), &[usize::MAX]);
        let (snapshot, parsed) = replay(&body(&content_cuts, &args_cuts), &pieces);
        // The logprob tokens follow the cuts; everything else must be identical.
        let strip = |mut v: Value| { v["choices"][0]["logprobs"] = Value::Null; v };
        prop_assert_eq!(strip(snapshot.clone()), strip(reference.clone()));
        prop_assert_eq!(&parsed, &reference_parsed);
        prop_assert_eq!(&snapshot["choices"][0]["message"]["content"], &json!(TEXT));
        // An unknown field is accumulated with the same rules.
        prop_assert_eq!(&snapshot["choices"][0]["message"]["x_note"], &json!(TEXT));
        prop_assert_eq!(&snapshot["choices"][0]["message"]["tool_calls"][0]["function"]["parsed_arguments"],
            &json!({"location": "Paris, France", "unit": "c"}));
        let tokens: String = snapshot["choices"][0]["logprobs"]["content"].as_array().unwrap()
            .iter().map(|t| t["token"].as_str().unwrap()).collect();
        prop_assert_eq!(tokens, TEXT);
    }
}
