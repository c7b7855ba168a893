//! The WebSocket event path, from message payloads (the text of each WebSocket message,
//! as the socket task hands it on) to events with snapshots, against a plain typed decode
//! of the same events.
//!
//! - `realtime/pipeline/<n>`: `RealtimeState::handle_text` over a Realtime session of `n`
//!   `response.output_text.delta` events (with `response.created`, the item, the part and
//!   `response.done`): each event decoded by its `type` and folded into the response's
//!   text and JSON snapshot (`accumulate_delta`);
//! - `realtime/typed_decode/<n>`: `serde_json::from_str::<RealtimeServerEvent>` of the same
//!   messages;
//! - `responses/pipeline/<n>`: the routing read of each message (`openai_sdk::ws::route`,
//!   as the socket task does for Responses lanes) and `ResponseWsPipeline::handle_message`
//!   over a Responses stream of `n` text deltas (events with snapshots, the final
//!   response at the end);
//! - `responses/typed_decode/<n>`: `serde_json::from_str::<ResponseStreamEvent>` (the
//!   generated union, tag dispatch) of the same messages.
//!
//! Figures: see the README section "Realtime and Responses over a WebSocket".

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use openai_sdk::realtime::RealtimeState;
use openai_sdk::responses::{ResponseParseOptions, ResponseWsPipeline};
use openai_sdk::types::{RealtimeServerEvent, ResponseStreamEvent};
use serde_json::json;

const WORDS: [&str; 6] = ["The ", "quick", " bro", "wn f", "ox j", "umps"];

fn realtime_messages(n: usize) -> Vec<String> {
    let id = "resp_bench";
    let full: String = (0..n).map(|i| WORDS[i % WORDS.len()]).collect();
    let mut out = vec![
        json!({"type": "response.created", "event_id": "ev_0", "response": {"id": id, "object": "realtime.response", "status": "in_progress", "output": []}}),
        json!({"type": "response.output_item.added", "event_id": "ev_1", "response_id": id, "output_index": 0,
            "item": {"id": "item_1", "type": "message", "role": "assistant", "status": "in_progress", "content": []}}),
        json!({"type": "response.content_part.added", "event_id": "ev_2", "response_id": id, "item_id": "item_1",
            "output_index": 0, "content_index": 0, "part": {"type": "text", "text": ""}}),
    ];
    for i in 0..n {
        out.push(json!({"type": "response.output_text.delta", "event_id": format!("ev_d{i}"), "response_id": id,
            "item_id": "item_1", "output_index": 0, "content_index": 0, "delta": WORDS[i % WORDS.len()]}));
    }
    out.push(json!({"type": "response.output_text.done", "event_id": "ev_t", "response_id": id, "item_id": "item_1",
        "output_index": 0, "content_index": 0, "text": full}));
    out.push(json!({"type": "response.done", "event_id": "ev_9", "response": {"id": id, "object": "realtime.response", "status": "completed",
        "output": [{"id": "item_1", "type": "message", "role": "assistant", "status": "completed", "content": [{"type": "output_text", "text": full}]}]}}));
    out.into_iter().map(|v| v.to_string()).collect()
}

fn responses_messages(n: usize) -> Vec<String> {
    let response = |status: &str, output: serde_json::Value| {
        json!({"id": "resp_bench", "object": "response", "created_at": 1754925861, "status": status,
            "model": "gpt-4o-2024-08-06", "output": output, "parallel_tool_calls": true, "store": true,
            "text": {"format": {"type": "text"}}, "tool_choice": "auto", "tools": [], "metadata": {}})
    };
    let full: String = (0..n).map(|i| WORDS[i % WORDS.len()]).collect();
    let mut seq = 0;
    let mut next = || {
        seq += 1;
        seq - 1
    };
    let mut out = vec![
        json!({"type": "response.created", "sequence_number": next(), "response": response("in_progress", json!([]))}),
        json!({"type": "response.output_item.added", "sequence_number": next(), "output_index": 0,
            "item": {"id": "msg_1", "type": "message", "status": "in_progress", "content": [], "role": "assistant"}}),
        json!({"type": "response.content_part.added", "sequence_number": next(), "item_id": "msg_1", "output_index": 0, "content_index": 0,
            "part": {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}}),
    ];
    for i in 0..n {
        out.push(json!({"type": "response.output_text.delta", "sequence_number": next(), "item_id": "msg_1", "output_index": 0,
            "content_index": 0, "delta": WORDS[i % WORDS.len()], "logprobs": [], "obfuscation": "Xy3"}));
    }
    let part = json!({"type": "output_text", "annotations": [], "logprobs": [], "text": full});
    let item = json!({"id": "msg_1", "type": "message", "status": "completed", "content": [part], "role": "assistant"});
    out.push(json!({"type": "response.output_text.done", "sequence_number": next(), "item_id": "msg_1", "output_index": 0, "content_index": 0, "text": full, "logprobs": []}));
    out.push(json!({"type": "response.content_part.done", "sequence_number": next(), "item_id": "msg_1", "output_index": 0, "content_index": 0, "part": part}));
    out.push(json!({"type": "response.output_item.done", "sequence_number": next(), "output_index": 0, "item": item}));
    out.push(json!({"type": "response.completed", "sequence_number": next(), "response": response("completed", json!([item]))}));
    out.into_iter().map(|v| v.to_string()).collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("ws_events");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for n in [1_000usize, 10_000] {
        let messages = realtime_messages(n);
        group.throughput(Throughput::Elements(messages.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("realtime/pipeline", n),
            &messages,
            |b, m| {
                b.iter(|| {
                    let mut state = RealtimeState::new();
                    for text in m {
                        black_box(state.handle_text(text).unwrap());
                    }
                    assert!(state.last_response().unwrap().is_done());
                    black_box(state.last_response().unwrap().text().len());
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("realtime/typed_decode", n),
            &messages,
            |b, m| {
                b.iter(|| {
                    for text in m {
                        black_box(serde_json::from_str::<RealtimeServerEvent>(text).unwrap());
                    }
                })
            },
        );

        let messages = responses_messages(n);
        group.throughput(Throughput::Elements(messages.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("responses/pipeline", n),
            &messages,
            |b, m| {
                b.iter(|| {
                    let mut pipeline = ResponseWsPipeline::new(ResponseParseOptions::new());
                    for text in m {
                        black_box(openai_sdk::ws::route(text));
                        // The socket task hands each message on as an owned String.
                        black_box(pipeline.handle_message(text.clone()).unwrap());
                    }
                    black_box(pipeline.state().final_response().unwrap());
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("responses/typed_decode", n),
            &messages,
            |b, m| {
                b.iter(|| {
                    for text in m {
                        black_box(serde_json::from_str::<ResponseStreamEvent>(text).unwrap());
                    }
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
