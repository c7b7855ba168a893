//! Structured content through the chat pipeline: a 256 KB JSON document (objects with
//! strings, escapes, numbers, booleans, nested arrays) streamed in 4-character content
//! deltas (65,536 chunks, the size of a typical gpt-4o chunk), SSE bytes to events.
//!
//! - `without_parsed`: `ParseOptions::new()` (content accumulated, no parsing);
//! - `with_parsed`: `ParseOptions::new().parse_content(true)`: the incremental partial
//!   parse on every chunk (each `content.delta` gets its `parsed`), and the strict parse
//!   of the whole content at `content.done`;
//! - `with_parsed_typed`: the same, and the `content.done` value deserialized into a Rust
//!   type (what `Chat::parse_stream::<T>` adds).
//!
//! The goal (issue #4) is `with_parsed` ≤ 2× `without_parsed`; the reference re-parses
//! the whole content on every chunk (quadratic). Results: README, "Structured Outputs".

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use openai_sdk::chat::{ChatCompletionStreamEvent, ChatEventPipeline, ParseOptions};
use serde::Deserialize;

const HEAD: &str = r#"{"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_eb9dce56a8","choices":[{"index":0,"delta":"#;

#[allow(dead_code)] // read only by the deserializer
#[derive(Deserialize)]
struct Item {
    id: u64,
    name: String,
    description: String,
    price: f64,
    in_stock: bool,
    tags: Vec<serde_json::Value>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
struct Document {
    object: String,
    items: Vec<Item>,
}

fn document(target: usize) -> String {
    let mut out = String::from("{\"object\": \"list\", \"items\": [");
    let mut i = 0u64;
    while out.len() < target - 256 {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&format!(
            "{{\"id\": {i}, \"name\": \"item number {i}\", \"description\": \"A \\\"quoted\\\" thing, caf\\u00e9 \u{e9}t\u{e9}\", \"price\": {}.{:02}, \"in_stock\": {}, \"tags\": [\"alpha\", \"beta\", {}]}}",
            i * 7 % 1000,
            i % 100,
            i.is_multiple_of(3),
            i % 5
        ));
        i += 1;
    }
    out.push_str("]}");
    out
}

/// The SSE body: a role chunk, one chunk per 4 characters of content, a finish chunk.
fn body(doc: &str) -> (Vec<u8>, usize) {
    let chars: Vec<char> = doc.chars().collect();
    let mut out = Vec::new();
    let mut push = |delta: &str, finish: &str| {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(
            format!(r#"{HEAD}{delta},"logprobs":null,"finish_reason":{finish}}}]}}"#).as_bytes(),
        );
        out.extend_from_slice(b"\n\n");
    };
    push(
        r#"{"role":"assistant","content":"","refusal":null}"#,
        "null",
    );
    let mut chunks = 2;
    for piece in chars.chunks(4) {
        let piece: String = piece.iter().collect();
        let text = serde_json::to_string(&piece).unwrap();
        push(&format!(r#"{{"content":{text}}}"#), "null");
        chunks += 1;
    }
    push("{}", "\"stop\"");
    out.extend_from_slice(b"data: [DONE]\n\n");
    (out, chunks)
}

fn run(body: &[u8], options: ParseOptions, typed: bool) -> usize {
    let mut pipeline = ChatEventPipeline::new(options);
    let mut count = 0;
    let mut handle = |event: ChatCompletionStreamEvent| {
        count += 1;
        if typed && let ChatCompletionStreamEvent::ContentDone { parsed, .. } = &event {
            let doc: Document = parsed.deserialize().expect("fits").expect("parsed");
            black_box(doc);
        }
        black_box(event);
    };
    for piece in body.chunks(16 * 1024) {
        pipeline.push(piece);
        while let Some(event) = pipeline.next_event() {
            handle(event.expect("valid stream"));
        }
    }
    pipeline.end_of_input();
    while let Some(event) = pipeline.next_event() {
        handle(event.expect("valid stream"));
    }
    count
}

fn bench(c: &mut Criterion) {
    let doc = document(256 << 10);
    assert!(serde_json::from_str::<Document>(&doc).is_ok());
    let (body, chunks) = body(&doc);
    let mut group = c.benchmark_group("chat_parse_256KB");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(chunks as u64));
    group.bench_function("without_parsed", |b| {
        b.iter(|| run(&body, ParseOptions::new(), false))
    });
    group.bench_function("with_parsed", |b| {
        b.iter(|| run(&body, ParseOptions::new().parse_content(true), false))
    });
    group.bench_function("with_parsed_typed", |b| {
        b.iter(|| run(&body, ParseOptions::new().parse_content(true), true))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
