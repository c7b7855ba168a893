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

/// Arbitrary JSON of limited depth, biased towards the keys chunks use.
fn arb_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("index".to_owned()),
        Just("delta".to_owned()),
        Just("content".to_owned()),
        Just("refusal".to_owned()),
        Just("tool_calls".to_owned()),
        Just("function".to_owned()),
        Just("arguments".to_owned()),
        Just("name".to_owned()),
        Just("type".to_owned()),
        Just("logprobs".to_owned()),
        Just("finish_reason".to_owned()),
        Just("choices".to_owned()),
        Just("usage".to_owned()),
        Just("object".to_owned()),
        "[a-z]{1,3}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-3i64..7).prop_map(Value::from),
        (-1.0f64..1.0).prop_map(Value::from),
        "[{}\\[\\]\":a-z0-9 ]{0,6}".prop_map(Value::from),
        Just(json!("length")),
        Just(json!("stop")),
        Just(json!("chat.completion.chunk")),
    ];
    leaf.prop_recursive(4, 40, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec((key.clone(), inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// A chunk-shaped value with arbitrary parts.
fn arb_chunk() -> impl Strategy<Value = Value> {
    let delta = prop_oneof![
        arb_json(),
        (arb_json(), arb_json(), arb_json()).prop_map(|(c, t, x)| json!({"content": c, "tool_calls": t, "x": x})),
        ("[{}\\[\\]\":a-z0-9 ]{0,6}", 0i64..3, "[a]{0,2}").prop_map(|(a, i, n)| json!({"tool_calls": [{"index": i, "type": "function", "function": {"name": n, "arguments": a}}]})),
        "[{}\\[\\]\":a-z0-9 ]{0,6}".prop_map(|c| json!({"content": c})),
    ];
    (0i64..3, delta, arb_json(), arb_json(), arb_json()).prop_map(|(index, delta, finish, logprobs, extra)| {
        json!({"object": "chat.completion.chunk", "id": "x", "created": 1, "model": "m", "x": extra,
               "choices": [{"index": index, "delta": delta, "finish_reason": finish, "logprobs": logprobs}]})
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// Any chunks, with any parse options: no panic; after an error the snapshot is readable.
    #[test]
    fn arbitrary_chunks_never_panic(
        chunks in proptest::collection::vec(prop_oneof![3 => arb_chunk(), 1 => arb_json()], 1..12),
        parse in any::<bool>(),
    ) {
        let options = ParseOptions::new().parse_content(parse).tools(vec![
            json!({"type": "function", "function": {"name": "a", "strict": true}}),
        ]);
        let mut body = String::new();
        for c in &chunks {
            body.push_str(&format!("data: {c}\n\n"));
        }
        let mut pipeline = ChatEventPipeline::new(options.clone());
        pipeline.push(body.as_bytes());
        pipeline.end_of_input();
        while let Some(event) = pipeline.next_event() {
            match event {
                Ok(e) => { let _ = e.to_reference_json(); }
                Err(e) => { let _ = e.to_string(); }
            }
        }
        if let Some(snapshot) = pipeline.state().snapshot() {
            let _ = snapshot.to_reference_json();
        }
        let _ = pipeline.state().final_completion();
        // The state alone, fed the same chunks as values.
        let mut state = openai_sdk::chat::ChatCompletionStreamState::with_options(options);
        for c in &chunks {
            if let Ok(events) = state.handle_chunk(c) {
                for e in events { let _ = e.to_reference_json(); }
            }
        }
    }

    /// Arbitrary bytes: no panic.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400), split in 1usize..50) {
        let mut pipeline = ChatEventPipeline::new(ParseOptions::new().parse_content(true));
        for piece in bytes.chunks(split) {
            pipeline.push(piece);
            while let Some(event) = pipeline.next_event() { let _ = event.map(|e| e.to_reference_json()); }
        }
        pipeline.end_of_input();
        while let Some(event) = pipeline.next_event() { let _ = event.map(|e| e.to_reference_json()); }
    }
}

/// The messages a stream of chunks accumulates by the reference rules, folded with the
/// public [`accumulate_delta`](openai_sdk::accumulate::accumulate_delta): one per choice
/// position. `Err` at the first chunk that cannot be handled (then the messages are as
/// that chunk left them).
fn model_messages(chunks: &[Value]) -> (Vec<serde_json::Map<String, Value>>, Option<usize>) {
    let mut messages: Vec<(i64, serde_json::Map<String, Value>)> = Vec::new();
    let empty = serde_json::Map::new();
    for (n, chunk) in chunks.iter().enumerate() {
        let Some(chunk) = chunk.as_object() else {
            return (messages.into_iter().map(|m| m.1).collect(), Some(n));
        };
        let first = n == 0;
        let choices = chunk
            .get("choices")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for choice in &choices {
            let Some(c) = choice.as_object() else {
                return (messages.into_iter().map(|m| m.1).collect(), Some(n));
            };
            let Some(index) = c.get("index").and_then(Value::as_i64) else {
                return (messages.into_iter().map(|m| m.1).collect(), Some(n));
            };
            let delta = c.get("delta").and_then(Value::as_object).unwrap_or(&empty);
            let known = if first {
                None
            } else {
                messages.iter().position(|m| m.0 == index)
            };
            match known {
                Some(pos) => {
                    if openai_sdk::accumulate::accumulate_delta(&mut messages[pos].1, delta)
                        .is_err()
                    {
                        return (messages.into_iter().map(|m| m.1).collect(), Some(n));
                    }
                }
                None => messages.push((index, delta.clone())),
            }
        }
    }
    (messages.into_iter().map(|m| m.1).collect(), None)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// The one chunk path merges every delta, whatever its shape, by the accumulator's
    /// rules (key order included), and fails exactly where they fail.
    #[test]
    fn deltas_merge_by_the_accumulator_rules(
        chunks in proptest::collection::vec(prop_oneof![6 => arb_chunk(), 1 => arb_json()], 1..10),
    ) {
        let (expected, fails_at) = model_messages(&chunks);
        let mut state = openai_sdk::chat::ChatCompletionStreamState::new();
        let mut failed_at = None;
        for (n, c) in chunks.iter().enumerate() {
            if state.handle_chunk(c).is_err() {
                failed_at = Some(n);
                break;
            }
        }
        prop_assert_eq!(failed_at, fails_at);
        let actual: Vec<String> = state.snapshot().map_or(Vec::new(), |s| {
            s.to_json()["choices"].as_array().unwrap().iter()
                .map(|c| c["message"].to_string()).collect()
        });
        let expected: Vec<String> = expected.into_iter().map(|m| Value::Object(m).to_string()).collect();
        prop_assert_eq!(actual, expected);
    }
}
