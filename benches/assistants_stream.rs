//! The Assistants run stream pipeline: SSE bytes to typed events with the handler's
//! callbacks and the accumulated snapshots.
//!
//! Streams are synthetic but shaped like recorded runs: `text` (one message streamed in
//! deltas of about 5 characters) and `tools` (one function tool call whose arguments
//! stream in fragments of about 6 characters), at 1k, 4k and 16k deltas, pushed in 16 KiB
//! pieces into `AssistantEventPipeline` with a handler that reads every callback's
//! snapshot (`on_text_delta`, `on_tool_call_delta`). Criterion reports the time per stream
//! and the throughput in delta events.
//!
//! The scaling exponent k (time ∝ n^k) from 1k to 16k is
//! 1 + log(per-event time at 16k / per-event time at 1k) / log(16); k ≈ 1 means the work
//! per event does not grow with the snapshot.
//!
//! Measured 2026-11-22 on the shared 2-core guest under load (±30%), median µs per delta
//! event (each also typed-decoded into the generated event and accumulated):
//!
//! | mode | 1k | 4k | 16k | k |
//! |---|---|---|---|---|
//! | text | 2.22 | 2.19 | 2.24 | 1.00 |
//! | tools | 2.61 | 2.68 | 2.55 | 0.99 |

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use openai_sdk::assistants::{
    AssistantEventHandler, AssistantEventPipeline, TextDeltaView, TextView, ToolCallDeltaView,
    ToolCallView,
};
use serde_json::json;

fn frame(out: &mut String, event: &str, data: &serde_json::Value) {
    out.push_str("event: ");
    out.push_str(event);
    out.push_str("\ndata: ");
    out.push_str(&data.to_string());
    out.push_str("\n\n");
}

fn stream(mode: &str, n: usize) -> Vec<u8> {
    let mut s = String::new();
    let run = |status: &str| {
        json!({"id": "run_1", "object": "thread.run", "created_at": 1, "assistant_id": "asst_1",
               "thread_id": "thread_1", "status": status, "model": "gpt-4o", "instructions": null,
               "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
               "metadata": {}, "temperature": 1.0, "top_p": 1.0, "parallel_tool_calls": true})
    };
    frame(&mut s, "thread.run.created", &run("queued"));
    frame(&mut s, "thread.run.in_progress", &run("in_progress"));
    let kind = if mode == "text" {
        "message_creation"
    } else {
        "tool_calls"
    };
    let step = |status: &str| {
        json!({"id": "step_1", "object": "thread.run.step", "created_at": 1, "run_id": "run_1",
               "assistant_id": "asst_1", "thread_id": "thread_1", "type": kind, "status": status,
               "step_details": if kind == "tool_calls" { json!({"type": "tool_calls", "tool_calls": []}) }
                               else { json!({"type": "message_creation", "message_creation": {"message_id": "msg_1"}}) }})
    };
    frame(&mut s, "thread.run.step.created", &step("in_progress"));
    if mode == "text" {
        let message = |status: &str| {
            json!({"id": "msg_1", "object": "thread.message", "created_at": 1, "thread_id": "thread_1",
                   "status": status, "role": "assistant", "content": [], "attachments": [], "metadata": {}})
        };
        frame(&mut s, "thread.message.created", &message("in_progress"));
        for i in 0..n {
            frame(
                &mut s,
                "thread.message.delta",
                &json!({"id": "msg_1", "object": "thread.message.delta",
                "delta": {"content": [{"index": 0, "type": "text", "text": {"value": format!(" w{:03}", i % 1000), "annotations": []}}]}}),
            );
        }
        frame(&mut s, "thread.message.completed", &message("completed"));
    } else {
        for i in 0..n {
            let mut call = json!({"index": 0, "type": "function", "function": {"arguments": format!("\"k{:03}\",", i % 1000)}});
            if i == 0 {
                call = json!({"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": "[", "output": null}});
            }
            frame(
                &mut s,
                "thread.run.step.delta",
                &json!({"id": "step_1", "object": "thread.run.step.delta",
                "delta": {"step_details": {"type": "tool_calls", "tool_calls": [call]}}}),
            );
        }
    }
    frame(&mut s, "thread.run.step.completed", &step("completed"));
    frame(&mut s, "thread.run.completed", &run("completed"));
    s.push_str("event: done\ndata: [DONE]\n\n");
    s.into_bytes()
}

/// Reads each delta's snapshot, as a real handler would.
#[derive(Default)]
struct Reader {
    bytes: usize,
}

impl AssistantEventHandler for Reader {
    fn on_text_delta(&mut self, _delta: TextDeltaView<'_>, snapshot: TextView<'_>) {
        self.bytes = snapshot["value"].as_str().map_or(0, str::len);
    }
    fn on_tool_call_delta(&mut self, _delta: ToolCallDeltaView<'_>, snapshot: ToolCallView<'_>) {
        self.bytes = snapshot["function"]["arguments"]
            .as_str()
            .map_or(0, str::len);
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("assistants_pipeline");
    group
        .measurement_time(Duration::from_secs(4))
        .sample_size(20);
    for mode in ["text", "tools"] {
        for n in [1_000usize, 4_000, 16_000] {
            let body = stream(mode, n);
            group.throughput(Throughput::Elements(n as u64));
            group.bench_with_input(BenchmarkId::new(mode, n), &body, |b, body| {
                b.iter(|| {
                    let mut pipeline = AssistantEventPipeline::with_handler(Reader::default());
                    let mut events = 0usize;
                    for piece in body.chunks(16 * 1024) {
                        pipeline.push(piece);
                        while let Some(event) = pipeline.next_event() {
                            black_box(event.unwrap());
                            events += 1;
                        }
                    }
                    pipeline.end_of_input();
                    while let Some(event) = pipeline.next_event() {
                        black_box(event.unwrap());
                        events += 1;
                    }
                    assert!(events > n);
                    black_box(pipeline.handler().bytes)
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
