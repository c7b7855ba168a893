//! The Responses stream pipeline, SSE bytes to events with snapshots, against a plain
//! typed decode of the same events into the generated `ResponseStreamEvent` (tag
//! dispatch).
//!
//! Streams are synthetic but shaped like the API's (`response.created`, an item, a content
//! part, n deltas of about 4 characters with `logprobs: []` and `obfuscation`, the done
//! events, `response.completed` with the whole output), in two modes: `text`
//! (`response.output_text.delta`) and `function` (`response.function_call_arguments.delta`),
//! at 1k and 10k deltas.
//!
//! - `pipeline/<mode>/<n>`: push the bytes in 16 KiB pieces into `ResponseEventPipeline`
//!   and drain every event (each delta event carries its snapshot view), dropping it;
//! - `typed_decode/<mode>/<n>`: `serde_json::from_str::<ResponseStreamEvent>` of each
//!   event's JSON text (already split out of the SSE framing).
//!
//! Figures: see the README section "Streaming responses (Responses API)".
//!
//! `BENCH_ONCE=<mode>/<pipeline|typed_decode|setup>/<n>` runs one pass and exits, for
//! instruction counts under callgrind (`scripts/instr-responses.sh`), which do not depend
//! on the machine's load.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use openai_sdk::responses::{ResponseEventPipeline, ResponseParseOptions};
use openai_sdk::types::ResponseStreamEvent;
use serde_json::json;

/// The JSON texts of the events of a stream of `n` deltas.
fn events(function: bool, n: usize) -> Vec<String> {
    let response = |status: &str, output: serde_json::Value| {
        json!({"id": "resp_bench", "object": "response", "created_at": 1754925861, "status": status,
            "background": false, "error": null, "incomplete_details": null, "instructions": null,
            "max_output_tokens": null, "model": "gpt-4o-2024-08-06", "output": output,
            "parallel_tool_calls": true, "previous_response_id": null, "reasoning": {"effort": null, "summary": null},
            "service_tier": "default", "store": true, "temperature": 1.0,
            "text": {"format": {"type": "text"}, "verbosity": "medium"}, "tool_choice": "auto", "tools": [],
            "top_p": 1.0, "truncation": "disabled", "usage": null, "user": null, "metadata": {}})
    };
    let words = ["The ", "quick", " bro", "wn f", "ox j", "umps"];
    let full: String = (0..n).map(|i| words[i % words.len()]).collect();
    let mut out = vec![
        json!({"type": "response.created", "sequence_number": 0, "response": response("in_progress", json!([]))}),
    ];
    let mut seq = 1;
    let mut next = || {
        seq += 1;
        seq - 1
    };
    let item = if function {
        json!({"id": "fc_1", "type": "function_call", "status": "in_progress", "arguments": "", "call_id": "call_1", "name": "f"})
    } else {
        json!({"id": "msg_1", "type": "message", "status": "in_progress", "content": [], "role": "assistant"})
    };
    out.push(json!({"type": "response.output_item.added", "sequence_number": next(), "output_index": 0, "item": item}));
    if !function {
        out.push(json!({"type": "response.content_part.added", "sequence_number": next(), "item_id": "msg_1", "output_index": 0, "content_index": 0,
            "part": {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}}));
    }
    for i in 0..n {
        let delta = words[i % words.len()];
        out.push(if function {
            json!({"type": "response.function_call_arguments.delta", "sequence_number": next(), "item_id": "fc_1", "output_index": 0, "delta": delta, "obfuscation": "Xy3"})
        } else {
            json!({"type": "response.output_text.delta", "sequence_number": next(), "item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": delta, "logprobs": [], "obfuscation": "Xy3"})
        });
    }
    let done_item = if function {
        out.push(json!({"type": "response.function_call_arguments.done", "sequence_number": next(), "item_id": "fc_1", "output_index": 0, "arguments": full, "name": "f"}));
        json!({"id": "fc_1", "type": "function_call", "status": "completed", "arguments": full, "call_id": "call_1", "name": "f"})
    } else {
        out.push(json!({"type": "response.output_text.done", "sequence_number": next(), "item_id": "msg_1", "output_index": 0, "content_index": 0, "text": full, "logprobs": []}));
        let part = json!({"type": "output_text", "annotations": [], "logprobs": [], "text": full});
        out.push(json!({"type": "response.content_part.done", "sequence_number": next(), "item_id": "msg_1", "output_index": 0, "content_index": 0, "part": part}));
        json!({"id": "msg_1", "type": "message", "status": "completed", "content": [part], "role": "assistant"})
    };
    out.push(json!({"type": "response.output_item.done", "sequence_number": next(), "output_index": 0, "item": done_item}));
    out.push(json!({"type": "response.completed", "sequence_number": next(), "response": response("completed", json!([done_item]))}));
    out.into_iter().map(|v| v.to_string()).collect()
}

fn sse(events: &[String]) -> Vec<u8> {
    let mut body = String::new();
    for e in events {
        let kind = serde_json::from_str::<serde_json::Value>(e).unwrap()["type"]
            .as_str()
            .unwrap()
            .to_owned();
        body.push_str(&format!("event: {kind}\ndata: {e}\n\n"));
    }
    body.into_bytes()
}

/// The whole pipeline over `body`, in 16 KiB pieces; every event is drained and dropped.
fn run_pipeline(body: &[u8], events: usize) {
    let mut pipeline = ResponseEventPipeline::new(ResponseParseOptions::new());
    let mut count = 0usize;
    for piece in body.chunks(16 * 1024) {
        pipeline.push(piece);
        while let Some(event) = pipeline.next_event() {
            black_box(event.unwrap());
            count += 1;
        }
    }
    pipeline.end_of_input();
    while let Some(event) = pipeline.next_event() {
        black_box(event.unwrap());
        count += 1;
    }
    assert_eq!(count, events);
    black_box(pipeline.state().final_response().unwrap());
}

/// The typed decode of each event's JSON text.
fn typed_decode(events: &[String]) {
    for e in events {
        black_box(serde_json::from_str::<ResponseStreamEvent>(e).unwrap());
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("responses_stream");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for (mode, function) in [("text", false), ("function", true)] {
        for n in [1_000usize, 10_000] {
            let events = events(function, n);
            let body = sse(&events);
            group.throughput(Throughput::Elements(events.len() as u64));
            group.bench_with_input(
                BenchmarkId::new(format!("pipeline/{mode}"), n),
                &body,
                |b, body| b.iter(|| run_pipeline(body, events.len())),
            );
            group.bench_with_input(
                BenchmarkId::new(format!("typed_decode/{mode}"), n),
                &events,
                |b, events| b.iter(|| typed_decode(events)),
            );
        }
    }
    group.finish();
}

criterion_group!(benches, bench);

/// `BENCH_ONCE=<mode>/<pipeline|typed_decode|setup>/<n>[/<passes>]` runs one pass (or
/// `passes`) and exits: for instruction counts under callgrind
/// (`scripts/instr-responses.sh`), or CPU time under `perf stat -e task-clock`, which a
/// loaded machine disturbs less than wall time.
fn run_once(spec: &str) {
    let parts: Vec<&str> = spec.split('/').collect();
    let (mode, what, n, passes) = match parts[..] {
        [mode, what, n] => (mode, what, n, "1"),
        [mode, what, n, passes] => (mode, what, n, passes),
        _ => {
            panic!("BENCH_ONCE is <mode>/<pipeline|typed_decode|setup>/<n>[/<passes>], not {spec}")
        }
    };
    let passes: usize = passes.parse().expect("passes is a number");
    let function = match mode {
        "text" => false,
        "function" => true,
        _ => panic!("the mode is text or function, not {mode}"),
    };
    let n: usize = n.parse().expect("n is a number");
    let events = events(function, n);
    let body = sse(&events);
    for _ in 0..passes {
        match what {
            "pipeline" => run_pipeline(&body, events.len()),
            "typed_decode" => typed_decode(&events),
            _ => {
                black_box((&events, &body));
            }
        }
    }
}

fn main() {
    if let Ok(spec) = std::env::var("BENCH_ONCE") {
        run_once(&spec);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
