//! The chat stream pipeline (SSE bytes in, typed events out) over arbitrary chunk sequences:
//! chunks built from the chat vocabulary (choices, content, refusal, compatible providers'
//! reasoning fields, tool calls, logprobs, finish reasons, usage, unknown fields, wrong
//! types), or arbitrary bytes as the body.
//! - events and errors are the same whether the body arrives whole or split anywhere;
//! - after the stream (ended, failed or cut off) the snapshot reads back as JSON and
//!   `final_completion` answers (a value or a typed error), and `into_final_completion`
//!   (which moves the parsed content instead of copying it) gives the same answer, and its
//!   JSON is what parsing the snapshot's completion at once gives (the parsed values the
//!   state took from the partial parser's tree are `serde_json`'s);
//! - the transport-free state fed the same chunks as `Value`s does not panic either;
//! - nothing panics.

use arbitrary::{Result, Unstructured};
use openai_sdk::chat::{
    ChatCompletionStreamEvent, ChatCompletionStreamState, ChatEventPipeline, ParseOptions,
};
use serde_json::{json, Map, Value};

use crate::{gen, split};

const TOOL_NAMES: &[&str] = &["get_weather", "lookup", "f"];
const CONTENT: &[&str] = &[
    "Hi",
    "",
    "{\"",
    "city\": \"Par",
    "is\", \"n\": 1",
    "2}",
    "[1, ",
    "tru",
    "e]",
    " ",
    "\u{e9}",
    "null",
    "}",
    "{}",
    // Where `serde_json` and the partial parser's tree could differ: an integer `-0`, a
    // repeated key, number kinds.
    "-0",
    "{\"n\": -0, \"n\": 2.50, \"u\": 18446744073709551616}",
    "[1e3, -0.0",
];
const FINISH: &[&str] = &[
    "stop",
    "length",
    "tool_calls",
    "content_filter",
    "function_call",
    "?",
];

pub fn check(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(flags) = u.arbitrary::<u8>() else {
        return;
    };
    let options = options(flags);
    let (body, chunks) = if flags & 0x80 != 0 {
        // Arbitrary bytes as the body.
        if let Some((body, cuts)) = split::raw_body(u) {
            run_split(&body, &cuts, &options);
        }
        return;
    } else {
        let Ok(chunks) = chunk_sequence(&mut u) else {
            return;
        };
        let mut body = Vec::new();
        for chunk in &chunks {
            body.extend_from_slice(b"data: ");
            body.extend_from_slice(serde_json::to_string(chunk).unwrap().as_bytes());
            body.extend_from_slice(if flags & 0x40 != 0 {
                b"\r\n\r\n"
            } else {
                b"\n\n"
            });
        }
        if flags & 0x20 != 0 {
            body.extend_from_slice(b"data: [DONE]\n\n");
        }
        (body, chunks)
    };
    let cuts = split::cut_points(&mut u, body.len());
    run_split(&body, &cuts, &options);

    // The state alone, on the chunks as values.
    let mut state = ChatCompletionStreamState::with_options(options.clone());
    for chunk in &chunks {
        match state.handle_chunk(chunk) {
            Ok(events) => {
                for event in events {
                    let _ = event.to_reference_json();
                }
            }
            Err(e) => {
                let _ = e.to_string();
                break;
            }
        }
    }
    let (_, final_completion) = read_state(&state);
    check_parsed_as_serde_json(&state, &options);
    assert_eq!(
        answer(state.into_final_completion()),
        final_completion,
        "into_final_completion differs from final_completion"
    );
}

fn options(flags: u8) -> ParseOptions {
    let mut options = ParseOptions::new().parse_content(flags & 1 != 0);
    if flags & 2 != 0 {
        options = options.tools(vec![
            json!({"type": "function", "function": {"name": "get_weather", "strict": true, "parameters": {}}}),
            json!({"type": "function", "function": {"name": "lookup", "strict": false, "parameters": {}}}),
        ]);
    }
    options
}

fn run_split(body: &[u8], cuts: &[usize], options: &ParseOptions) {
    split::assert_split_invariant(body, cuts, |pieces| {
        let mut pipeline = ChatEventPipeline::new(options.clone());
        let transcript = split::transcript(&mut pipeline, pieces, |_, item| match item {
            Ok(event) => Ok(event.to_reference_json()),
            Err(e) => Err(e.to_string()),
        });
        let (snapshot, final_completion) = read_state(pipeline.state());
        check_parsed_as_serde_json(pipeline.state(), options);
        assert_eq!(
            answer(pipeline.into_final_completion()),
            final_completion,
            "into_final_completion differs from final_completion"
        );
        (transcript, snapshot, final_completion)
    });
}

crate::impl_pipeline!(ChatEventPipeline => ChatCompletionStreamEvent);

/// Reads everything the state offers after the stream; returns it for comparison.
fn read_state(state: &ChatCompletionStreamState) -> (Option<Map<String, Value>>, String) {
    let snapshot = state.snapshot().map(|s| s.to_json());
    (snapshot, answer(state.final_completion()))
}

/// The final completion's `parsed` and `parsed_arguments` (taken from the partial parser's
/// tree at `content.done` / `arguments.done` when it vouches for them) are what parsing the
/// snapshot's completion at once (`serde_json` on the whole texts) gives: the same JSON text.
fn check_parsed_as_serde_json(state: &ChatCompletionStreamState, options: &ParseOptions) {
    let (Some(snapshot), Ok(done)) = (state.snapshot(), state.final_completion()) else {
        return;
    };
    let at_once = openai_sdk::chat::parse_chat_completion(&snapshot.to_json(), options)
        .unwrap_or_else(|e| panic!("the stream's final completion parsed, at once: {e}"));
    assert_eq!(
        serde_json::to_string(done.as_json()).unwrap(),
        serde_json::to_string(at_once.as_json()).unwrap(),
        "the final completion differs from the snapshot parsed at once"
    );
}

/// A final completion (its `Debug` form builds its whole JSON) or the error, as text.
fn answer(completion: Result<openai_sdk::chat::ParsedChatCompletion, openai_sdk::Error>) -> String {
    match completion {
        Ok(completion) => format!("{completion:?}"),
        Err(e) => format!("error: {e}"),
    }
}

fn chunk_sequence(u: &mut Unstructured<'_>) -> Result<Vec<Value>> {
    let count = u.int_in_range(0..=12u8)?;
    let mut chunks = Vec::new();
    for _ in 0..count {
        chunks.push(chunk(u)?);
    }
    Ok(chunks)
}

fn chunk(u: &mut Unstructured<'_>) -> Result<Value> {
    let mut map = Map::new();
    map.insert("id".into(), json!("chatcmpl-1"));
    map.insert(
        "object".into(),
        if u.ratio(1u8, 16)? {
            json!("other.object")
        } else {
            json!("chat.completion.chunk")
        },
    );
    map.insert("created".into(), json!(1));
    map.insert("model".into(), json!("gpt"));
    let choices = u.int_in_range(0..=2u8)?;
    let mut list = Vec::new();
    for _ in 0..choices {
        list.push(choice(u)?);
    }
    map.insert("choices".into(), Value::Array(list));
    if u.ratio(1u8, 8)? {
        map.insert(
            "usage".into(),
            json!({"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}),
        );
    }
    if u.ratio(1u8, 6)? {
        // Unknown fields and wrong types anywhere at the top level.
        map.insert(gen::key(u)?, gen::value(u, 2)?);
    }
    Ok(Value::Object(map))
}

fn choice(u: &mut Unstructured<'_>) -> Result<Value> {
    let mut map = Map::new();
    map.insert("index".into(), json!(u.int_in_range(0..=2i64)?));
    let mut delta = Map::new();
    if u.ratio(1u8, 4)? {
        delta.insert("role".into(), json!("assistant"));
    }
    if u.ratio(1u8, 2)? {
        delta.insert("content".into(), json!(*u.choose(CONTENT)?));
    }
    if u.ratio(1u8, 8)? {
        delta.insert("refusal".into(), json!(*u.choose(CONTENT)?));
    }
    if u.ratio(1u8, 6)? {
        // Compatible providers' reasoning text (`reasoning.delta` / `reasoning.done`).
        let key = *u.choose(&["reasoning_content", "reasoning"])?;
        let value = if u.ratio(1u8, 4)? {
            Value::Null
        } else {
            json!(*u.choose(CONTENT)?)
        };
        delta.insert(key.into(), value);
    }
    if u.ratio(1u8, 3)? {
        let mut calls = Vec::new();
        for _ in 0..u.int_in_range(1..=2u8)? {
            let mut call = Map::new();
            call.insert("index".into(), json!(u.int_in_range(0..=2i64)?));
            if u.ratio(1u8, 2)? {
                call.insert("id".into(), json!("call_1"));
                call.insert("type".into(), json!("function"));
            }
            let mut function = Map::new();
            if u.ratio(1u8, 2)? {
                function.insert("name".into(), json!(*u.choose(TOOL_NAMES)?));
            }
            if u.ratio(3u8, 4)? {
                function.insert("arguments".into(), json!(*u.choose(CONTENT)?));
            }
            call.insert("function".into(), Value::Object(function));
            calls.push(Value::Object(call));
        }
        delta.insert("tool_calls".into(), Value::Array(calls));
    }
    if u.ratio(1u8, 10)? {
        delta.insert(gen::key(u)?, gen::value(u, 2)?);
    }
    map.insert("delta".into(), Value::Object(delta));
    if u.ratio(1u8, 4)? {
        let token =
            |t: &str| json!({"token": t, "logprob": -0.5, "bytes": [104], "top_logprobs": []});
        let kind = if u.ratio(1u8, 2)? {
            "content"
        } else {
            "refusal"
        };
        map.insert("logprobs".into(), json!({kind: [token("a"), token("b")]}));
    }
    if u.ratio(1u8, 4)? {
        map.insert("finish_reason".into(), json!(*u.choose(FINISH)?));
    }
    if u.ratio(1u8, 12)? {
        map.insert(gen::key(u)?, gen::value(u, 2)?);
    }
    Ok(Value::Object(map))
}
