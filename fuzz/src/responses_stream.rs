//! The Responses stream pipeline (SSE bytes in, typed events out) over arbitrary event
//! sequences: events built from the Responses vocabulary (`response.created`, items,
//! content parts, text / arguments / reasoning-summary deltas, terminal events, `error`,
//! unknown types, unknown fields, wrongly typed values, `sequence_number`s that go
//! backwards, deltas before their item), rendered as SSE with or without `event:` lines,
//! LF or CRLF; or arbitrary bytes as the body.
//! - events, errors, the final snapshot and the `final_response` outcome are the same
//!   whether the body arrives whole or split anywhere;
//! - after the stream (ended, failed or cut off) the snapshot reads back as JSON and
//!   `final_response` / `terminal_error` answer;
//! - `into_final_response` answers as `final_response` does (the same value or the same
//!   error), for the pipeline at every split and for the state alone;
//! - the transport-free `ResponseStreamState`, fed the same events' JSON directly, gives
//!   the pipeline's events up to the first error, and goes on after rejected events
//!   without panicking;
//! - nothing panics.

use arbitrary::{Result, Unstructured};
use openai_sdk::responses::{
    ResponseEventPipeline, ResponseParseOptions, ResponseStreamEvent, ResponseStreamState,
};
use serde_json::{json, Map, Value};

use crate::{gen, split, sse_body};

/// Fields of Responses events, so that generated keys hit what the state reads.
const KNOWN_KEYS: &[&str] = &[
    "type",
    "output_index",
    "content_index",
    "summary_index",
    "item_id",
    "delta",
    "text",
    "arguments",
    "item",
    "part",
    "response",
    "code",
    "logprobs",
    "obfuscation",
];

const TEXT: &[&str] = &[
    "Hi",
    "",
    "{\"",
    "city\": \"Par",
    "is\"}",
    "[1, ",
    "tru",
    "e]",
    " ",
    "\u{e9}",
    "null",
    "}",
    "{}",
    "\n",
];

const ITEM_IDS: &[&str] = &["msg_1", "fc_1", "rs_1", "msg_2"];

/// Event types the state gives a meaning to, plus neighbours it does not know.
const KINDS: &[&str] = &[
    "response.created",
    "response.in_progress",
    "response.queued",
    "response.output_item.added",
    "response.output_item.done",
    "response.content_part.added",
    "response.content_part.done",
    "response.output_text.delta",
    "response.output_text.done",
    "response.output_text.annotation.added",
    "response.refusal.delta",
    "response.refusal.done",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.reasoning_summary_part.added",
    "response.reasoning_summary_part.done",
    "response.reasoning_summary_text.delta",
    "response.reasoning_summary_text.done",
    "response.reasoning_text.delta",
    "response.code_interpreter_call_code.delta",
    "response.custom_tool_call_input.done",
    "response.completed",
    "response.failed",
    "response.incomplete",
    "error",
    "response.future_event",
    "",
];

pub fn check(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(flags) = u.arbitrary::<u8>() else {
        return;
    };
    let options = options(flags);
    if flags & 0x80 != 0 {
        // Arbitrary bytes as the body.
        if let Some((body, cuts)) = split::raw_body(u) {
            run_split(&body, &cuts, &options);
        }
        return;
    }
    let Ok(events) = event_sequence(&mut u) else {
        return;
    };
    let texts: Vec<String> = events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    let frames: Vec<(Option<&str>, &str)> = events
        .iter()
        .zip(&texts)
        .map(|(event, text)| {
            let name = (flags & 0x20 == 0)
                .then(|| event.get("type").and_then(Value::as_str))
                .flatten();
            (name, text.as_str())
        })
        .collect();
    let mut body = sse_body::render(&frames, flags & 0x40 != 0, flags & 0x10 != 0);
    if flags & 0x08 != 0 && split::truncate_somewhere(&mut u, &mut body).is_none() {
        // The connection drops somewhere; the input ran out choosing where.
        return;
    }
    let cuts = split::cut_points(&mut u, body.len());
    let (transcript, _, _) = run_split(&body, &cuts, &options);

    // The state alone, on the events' JSON text.
    let mut state = ResponseStreamState::with_options(options);
    let mut agree = true;
    for (n, text) in texts.iter().enumerate() {
        match state.handle_json(text.clone()) {
            Ok(event) => {
                let reference = event.to_reference_json();
                let _ = event.to_typed();
                let _ = (
                    event.event_type(),
                    event.sequence_number(),
                    event.text_delta(),
                );
                if agree {
                    match transcript.get(n) {
                        Some(Ok(from_pipeline)) => assert_eq!(
                            &reference, from_pipeline,
                            "event {n}: the state alone and the pipeline disagree"
                        ),
                        // The SSE layer may have ended the stream (an `error` key).
                        _ => agree = false,
                    }
                }
            }
            Err(e) => {
                let _ = e.to_string();
                agree = false;
            }
        }
    }
    read_state(&state);
    let copied = state.final_response();
    same_final(state.into_final_response(), copied);
}

type Final = std::result::Result<openai_sdk::responses::ParsedResponse, openai_sdk::Error>;

/// `into_final_response` (moving) and `final_response` (copying) give the same answer.
fn same_final(moved: Final, copied: Final) {
    match (moved, copied) {
        (Ok(moved), Ok(copied)) => assert!(moved == copied, "into_final_response differs"),
        (Err(moved), Err(copied)) => assert_eq!(moved.to_string(), copied.to_string()),
        (moved, copied) => panic!("into_final_response gave {moved:?}, final_response {copied:?}"),
    }
}

fn options(flags: u8) -> ResponseParseOptions {
    let mut options = ResponseParseOptions::new();
    match flags & 3 {
        1 => {
            options = options.text_format(json!({"type": "json_schema", "name": "Location", "strict": true,
                "schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": false}}));
        }
        2 => options = options.text_format(json!({"type": "json_object"})),
        3 => options = options.text_format(json!({"type": "text"})),
        _ => {}
    }
    if flags & 4 != 0 {
        options = options.tools(vec![
            json!({"type": "function", "name": "get_weather", "strict": true, "parameters": {}}),
            json!({"type": "function", "name": "lookup", "strict": false, "parameters": {}}),
        ]);
    }
    options
}

type Transcript = Vec<std::result::Result<Value, String>>;

fn run_split(
    body: &[u8],
    cuts: &[usize],
    options: &ResponseParseOptions,
) -> (Transcript, Option<Value>, String) {
    let mut whole = None;
    split::assert_split_invariant(body, cuts, |pieces| {
        let mut pipeline = ResponseEventPipeline::new(options.clone());
        let transcript = split::transcript(&mut pipeline, pieces, |_, item| match item {
            Ok(event) => Ok(event.to_reference_json()),
            Err(e) => Err(e.to_string()),
        });
        let (snapshot, final_response) = read_state(pipeline.state());
        let copied = pipeline.state().final_response();
        same_final(pipeline.into_final_response(), copied);
        let out = (transcript, snapshot, final_response);
        if whole.is_none() {
            whole = Some(out.clone());
        }
        out
    });
    whole.expect("ran whole")
}

crate::impl_pipeline!(ResponseEventPipeline => ResponseStreamEvent);

/// Reads everything the state offers after the stream; returns it for comparison.
fn read_state(state: &ResponseStreamState) -> (Option<Value>, String) {
    let snapshot = state.snapshot().map(|s| {
        let _ = (s.id(), s.status(), s.is_background(), s.output_text());
        for i in 0..s.output().len() {
            let _ = (s.text(i, 0), s.text(i, 1), s.arguments(i));
        }
        let _ = s.to_typed();
        s.to_json()
    });
    let terminal = state.terminal_error().map(|e| e.to_string());
    let final_response = match state.final_response() {
        Ok(response) => {
            let _ = (
                response.output_text(),
                response.output_parsed(),
                response.to_typed(),
            );
            let _ = response.function_calls().count();
            format!("{}", response.json())
        }
        Err(e) => format!("error: {e}"),
    };
    (
        snapshot,
        format!(
            "{final_response} | terminal: {terminal:?} | finished: {} | last seq: {:?} | events: {}",
            state.is_finished(),
            state.last_sequence_number(),
            state.events_handled()
        ),
    )
}

/// Builds a plausible sequence: mostly in order (created, items, parts, deltas, done,
/// completed), with the fuzzer choosing when to jump, go back or break a field.
fn event_sequence(u: &mut Unstructured<'_>) -> Result<Vec<Value>> {
    let count = u.int_in_range(0..=16u8)?;
    let mut seq: i64 = 0;
    let mut events = Vec::new();
    // Start with `response.created` most of the time.
    if u.ratio(7u8, 8)? {
        events.push(with_seq(
            json!({"type": "response.created", "response": response(u, "in_progress", false)?}),
            &mut seq,
            u,
        )?);
    }
    for _ in 0..count {
        let event = event(u)?;
        events.push(with_seq(event, &mut seq, u)?);
    }
    Ok(events)
}

/// Sets `sequence_number`: usually the next one, sometimes repeated, backwards, missing
/// or not a number.
fn with_seq(mut event: Value, seq: &mut i64, u: &mut Unstructured<'_>) -> Result<Value> {
    let Value::Object(map) = &mut event else {
        return Ok(event);
    };
    match u.int_in_range(0..=15u8)? {
        0 => {
            *seq -= i64::from(u.int_in_range(0..=2u8)?);
            map.insert("sequence_number".into(), json!(*seq));
        }
        1 => {}
        2 => {
            map.insert("sequence_number".into(), gen::value(u, 0)?);
        }
        3 => {
            *seq = u.arbitrary()?;
            map.insert("sequence_number".into(), json!(*seq));
        }
        _ => {
            *seq = seq.saturating_add(1);
            map.insert("sequence_number".into(), json!(*seq));
        }
    }
    if u.ratio(1u8, 10)? {
        // Unknown fields, or a known one with the wrong type.
        map.insert(gen::key_among(u, KNOWN_KEYS)?, gen::value(u, 2)?);
    }
    Ok(event)
}

fn index(u: &mut Unstructured<'_>) -> Result<Value> {
    Ok(match u.int_in_range(0..=19u8)? {
        0 => json!(-1),
        1 => json!("0"),
        2 => json!(u.arbitrary::<i64>()?),
        3 => json!(1.5),
        _ => json!(u.int_in_range(0..=2u8)?),
    })
}

fn text(u: &mut Unstructured<'_>) -> Result<Value> {
    Ok(if u.ratio(1u8, 20)? {
        gen::value(u, 1)?
    } else if u.ratio(1u8, 8)? {
        json!(gen::string(u)?)
    } else {
        json!(*u.choose(TEXT)?)
    })
}

fn event(u: &mut Unstructured<'_>) -> Result<Value> {
    let kind = *u.choose(KINDS)?;
    let mut m = Map::new();
    m.insert("type".into(), json!(kind));
    let item_id = json!(*u.choose(ITEM_IDS)?);
    match kind {
        "response.created" | "response.in_progress" | "response.queued" => {
            let status = if kind == "response.queued" {
                "queued"
            } else {
                "in_progress"
            };
            let background = u.arbitrary()?;
            m.insert("response".into(), response(u, status, background)?);
        }
        "response.output_item.added" | "response.output_item.done" => {
            m.insert("output_index".into(), index(u)?);
            m.insert("item".into(), item(u, kind.ends_with("done"))?);
        }
        "response.content_part.added" | "response.content_part.done" => {
            m.insert("item_id".into(), item_id);
            m.insert("output_index".into(), index(u)?);
            m.insert("content_index".into(), index(u)?);
            m.insert("part".into(), part(u)?);
        }
        "response.reasoning_summary_part.added" | "response.reasoning_summary_part.done" => {
            m.insert("item_id".into(), item_id);
            m.insert("output_index".into(), index(u)?);
            m.insert("summary_index".into(), index(u)?);
            m.insert(
                "part".into(),
                json!({"type": "summary_text", "text": text(u)?}),
            );
        }
        "response.output_text.annotation.added" => {
            m.insert("item_id".into(), item_id);
            m.insert("output_index".into(), index(u)?);
            m.insert("content_index".into(), index(u)?);
            m.insert("annotation_index".into(), index(u)?);
            m.insert(
                "annotation".into(),
                json!({"type": "url_citation", "url": "https://a", "start_index": 0, "end_index": 1, "title": "t"}),
            );
        }
        "response.completed" | "response.failed" | "response.incomplete" => {
            let status = &kind["response.".len()..];
            let mut r = response(u, status, false)?;
            if let Value::Object(map) = &mut r {
                let mut output = Vec::new();
                for _ in 0..u.int_in_range(0..=2u8)? {
                    output.push(item(u, true)?);
                }
                map.insert("output".into(), Value::Array(output));
                if kind == "response.failed" {
                    map.insert(
                        "error".into(),
                        json!({"code": "server_error", "message": "boom"}),
                    );
                }
                if kind == "response.incomplete" {
                    let reason = *u.choose(&["max_output_tokens", "content_filter", "other"])?;
                    map.insert("incomplete_details".into(), json!({"reason": reason}));
                }
            }
            m.insert("response".into(), r);
        }
        "error" => {
            m.insert("code".into(), json!("server_error"));
            if u.ratio(3u8, 4)? {
                m.insert("message".into(), json!("The server had an error"));
            }
            m.insert("param".into(), Value::Null);
        }
        _ if kind.ends_with(".delta") || kind.ends_with(".done") => {
            m.insert("item_id".into(), item_id);
            m.insert("output_index".into(), index(u)?);
            if kind.contains("output_text")
                || kind.contains("refusal")
                || kind.contains("reasoning_text")
            {
                m.insert("content_index".into(), index(u)?);
            }
            if kind.contains("reasoning_summary") {
                m.insert("summary_index".into(), index(u)?);
            }
            let field = if kind.ends_with(".delta") {
                "delta"
            } else if kind.contains("arguments") {
                "arguments"
            } else if kind.contains("refusal") {
                "refusal"
            } else if kind.contains("custom_tool") {
                "input"
            } else {
                "text"
            };
            m.insert(field.into(), text(u)?);
            if kind == "response.output_text.delta" && u.ratio(1u8, 4)? {
                m.insert("logprobs".into(), json!([]));
            }
        }
        _ => {
            // An unknown event type, with fields from the vocabulary.
            m.extend(gen::object(u, 1)?);
            m.insert("type".into(), json!(kind));
        }
    }
    if u.ratio(1u8, 40)? {
        m.remove("type");
    }
    Ok(Value::Object(m))
}

fn response(u: &mut Unstructured<'_>, status: &str, background: bool) -> Result<Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!("resp_1"));
    m.insert("object".into(), json!("response"));
    m.insert("created_at".into(), json!(1));
    m.insert("status".into(), json!(status));
    m.insert("background".into(), json!(background));
    m.insert("model".into(), json!("gpt-4o"));
    m.insert("output".into(), json!([]));
    if u.ratio(1u8, 8)? {
        m.insert(gen::key_among(u, KNOWN_KEYS)?, gen::value(u, 2)?);
    }
    Ok(Value::Object(m))
}

fn item(u: &mut Unstructured<'_>, done: bool) -> Result<Value> {
    let status = if done { "completed" } else { "in_progress" };
    Ok(match u.int_in_range(0..=5u8)? {
        0 | 1 => {
            let content = if done {
                json!([{"type": "output_text", "text": *u.choose(TEXT)?, "annotations": []}])
            } else {
                json!([])
            };
            json!({"type": "message", "id": "msg_1", "status": status, "role": "assistant", "content": content})
        }
        2 | 3 => {
            let name = *u.choose(&["get_weather", "lookup", "other"])?;
            let arguments = if done { *u.choose(TEXT)? } else { "" };
            json!({"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": name, "arguments": arguments, "status": status})
        }
        4 => json!({"type": "reasoning", "id": "rs_1", "summary": []}),
        _ => Value::Object(gen::object(u, 1)?),
    })
}

fn part(u: &mut Unstructured<'_>) -> Result<Value> {
    Ok(match u.int_in_range(0..=4u8)? {
        0 | 1 => json!({"type": "output_text", "text": "", "annotations": []}),
        2 => json!({"type": "refusal", "refusal": ""}),
        3 => json!({"type": "output_text", "text": text(u)?, "annotations": []}),
        _ => gen::value(u, 1)?,
    })
}
