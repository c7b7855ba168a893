//! The chat stream pipeline, SSE bytes to events, against a plain serde decode of the same
//! chunks into the generated chunk type.
//!
//! Streams are synthetic but shaped like gpt-4o chunks (about 4 characters of content per
//! chunk), in four modes: `text`, `json` (content parsed as JSON, partially on every
//! chunk), `tools` (one strict tool call whose arguments are parsed partially on every
//! chunk) and `logprobs` (one token with 3 top logprobs per chunk), at 1k, 4k, 16k and
//! 64k chunks. Criterion reports time per stream and throughput in chunks (elements).
//!
//! - `pipeline/<mode>/<n>`: push the bytes in 16 KiB pieces into `ChatEventPipeline` and
//!   drain every event, dropping it (the consumer that ignores snapshots);
//! - `typed_decode/<mode>/<n>`: `serde_json::from_str::<CreateChatCompletionStreamResponse>`
//!   of each chunk's JSON text (already split out of the SSE framing);
//! - `keep_events/<mode>/<n>` (1k and 4k only): the pipeline with a consumer that keeps
//!   every event (each chunk then copies the snapshot once: quadratic by design).
//!
//! ns/chunk = time / n. The scaling exponent k (time ∝ n^k) from 1k to 64k is
//! 1 + log(per-chunk time at 64k / per-chunk time at 1k) / log(64).
//!
//! Measured 2026-11-22 on the shared 2-core guest under load (load average ~4, so ±30%),
//! median ns per chunk, pipeline / typed decode = ratio:
//!
//! | mode | 1k | 4k | 16k | 64k | k |
//! |---|---|---|---|---|---|
//! | text | 1208 / 925 = 1.31 | 1199 / 886 = 1.35 | 1609 / 721 = 2.23 | 1088 / 632 = 1.72 | 0.98 |
//! | json | 1099 / 662 = 1.66 | 1051 / 579 = 1.81 | 1132 / 561 = 2.02 | 1033 / 547 = 1.89 | 0.99 |
//! | tools | 1494 / 686 = 2.18 | 1523 / 713 = 2.13 | 1365 / 646 = 2.11 | 1434 / 671 = 2.14 | 0.99 |
//! | logprobs | 1644 / 1646 = 1.00 | 1819 / 1661 = 1.09 | 1846 / 1659 = 1.11 | 1615 / 1586 = 1.02 | 1.00 |
//!
//! That table predates the tool-argument change (fragments fed to the partial parser
//! without looking the arguments up in the snapshot). Since then, instruction counts
//! (`BENCH_ONCE`, `scripts/instr-ratio.sh`: independent of the machine's load), pipeline /
//! typed decode at 4k chunks: text 1.39, json 1.72, tools 1.66, logprobs 0.97.
//!
//! A consumer that keeps every event (`keep_events`) pays one snapshot copy per chunk:
//! 5.8 µs/chunk at 1k and 9.4 µs/chunk at 4k for text, 58 → 190 µs/chunk for logprobs.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use openai_sdk::chat::{ChatEventPipeline, ParseOptions};
use openai_sdk::types::CreateChatCompletionStreamResponse;
use serde_json::json;

const HEAD: &str = r#"{"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_eb9dce56a8","choices":[{"index":0,"delta":"#;

#[derive(Clone, Copy)]
enum Mode {
    Text,
    Json,
    Tools,
    Logprobs,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Text => "text",
            Mode::Json => "json",
            Mode::Tools => "tools",
            Mode::Logprobs => "logprobs",
        }
    }

    fn options(self) -> ParseOptions {
        match self {
            Mode::Json => ParseOptions::new().parse_content(true),
            Mode::Tools => ParseOptions::new()
                .tools(vec![json!({"type": "function", "function": {
                "name": "record", "strict": true, "parameters": {"type": "object"}}})]),
            _ => ParseOptions::new(),
        }
    }
}

/// The text the model "writes", cut into ~4-character pieces.
fn pieces(mode: Mode, n: usize) -> Vec<String> {
    let words = [
        "Hello", " there", ",", " how", " can", " I", " help", " you", " today", "?",
    ];
    match mode {
        Mode::Text | Mode::Logprobs => (0..n).map(|i| words[i % words.len()].to_owned()).collect(),
        Mode::Json | Mode::Tools => {
            let mut items = Vec::new();
            let mut len = 0;
            while len + 12 < n * 4 {
                let i = items.len();
                let item = format!(r#"{{"id": {i}, "name": "item {i}", "ok": true}}"#);
                len += item.len() + 2;
                items.push(item);
            }
            let text = format!(r#"{{"items": [{}]}}"#, items.join(", "));
            let chars: Vec<char> = text.chars().collect();
            chars
                .chunks(chars.len().div_ceil(n))
                .map(|c| c.iter().collect())
                .take(n)
                .collect()
        }
    }
}

/// The JSON text of each chunk.
fn chunks(mode: Mode, n: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(n + 2);
    let first = match mode {
        Mode::Tools => {
            json!({"role": "assistant", "content": null, "tool_calls": [{"index": 0, "id": "call_1",
            "type": "function", "function": {"name": "record", "arguments": ""}}]})
        }
        _ => json!({"role": "assistant", "content": "", "refusal": null}),
    };
    let lp = if matches!(mode, Mode::Logprobs) {
        r#"{"content":[],"refusal":null}"#
    } else {
        "null"
    };
    out.push(format!(
        r#"{HEAD}{first},"logprobs":{lp},"finish_reason":null}}]}}"#
    ));
    for piece in pieces(mode, n) {
        let text = serde_json::to_string(&piece).unwrap();
        let (delta, lp) = match mode {
            Mode::Tools => (
                format!(r#"{{"tool_calls":[{{"index":0,"function":{{"arguments":{text}}}}}]}}"#),
                "null".to_owned(),
            ),
            Mode::Logprobs => (
                format!(r#"{{"content":{text}}}"#),
                format!(
                    r#"{{"content":[{{"token":{text},"logprob":-0.0012,"bytes":[72,101],"top_logprobs":[{{"token":{text},"logprob":-0.0012,"bytes":[72]}},{{"token":"Hi","logprob":-7.1,"bytes":[72,105]}},{{"token":"Hey","logprob":-9.3,"bytes":[72,101,121]}}]}}],"refusal":null}}"#
                ),
            ),
            _ => (format!(r#"{{"content":{text}}}"#), "null".to_owned()),
        };
        out.push(format!(
            r#"{HEAD}{delta},"logprobs":{lp},"finish_reason":null}}]}}"#
        ));
    }
    out.push(format!(
        r#"{HEAD}{{}},"logprobs":null,"finish_reason":"stop"}}]}}"#
    ));
    out
}

fn sse(chunks: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in chunks {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(c.as_bytes());
        out.extend_from_slice(b"\n\n");
    }
    out.extend_from_slice(b"data: [DONE]\n\n");
    out
}

fn run_pipeline(mode: Mode, body: &[u8], keep: bool) -> usize {
    let mut pipeline = ChatEventPipeline::new(mode.options());
    let mut kept = Vec::new();
    let mut count = 0;
    for piece in body.chunks(16 * 1024) {
        pipeline.push(piece);
        while let Some(event) = pipeline.next_event() {
            let event = event.expect("valid stream");
            count += 1;
            if keep {
                kept.push(event);
            } else {
                black_box(&event);
            }
        }
    }
    pipeline.end_of_input();
    while let Some(event) = pipeline.next_event() {
        black_box(event.expect("valid stream"));
        count += 1;
    }
    black_box(kept);
    count
}

fn bench(c: &mut Criterion) {
    for mode in [Mode::Text, Mode::Json, Mode::Tools, Mode::Logprobs] {
        let mut group = c.benchmark_group(mode.name());
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
        for n in [1_000usize, 4_000, 16_000, 64_000] {
            let chunks = chunks(mode, n);
            let body = sse(&chunks);
            group.throughput(Throughput::Elements(chunks.len() as u64));
            group.bench_with_input(BenchmarkId::new("pipeline", n), &body, |b, body| {
                b.iter(|| run_pipeline(mode, body, false))
            });
            group.bench_with_input(BenchmarkId::new("typed_decode", n), &chunks, |b, chunks| {
                b.iter(|| {
                    for c in chunks {
                        let chunk: CreateChatCompletionStreamResponse =
                            serde_json::from_str(c).expect("valid chunk");
                        black_box(chunk);
                    }
                })
            });
            if n <= 4_000 {
                group.bench_with_input(BenchmarkId::new("keep_events", n), &body, |b, body| {
                    b.iter(|| run_pipeline(mode, body, true))
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, bench);

/// `BENCH_ONCE=<mode>/<pipeline|typed_decode|setup>/<n>` runs one pass and exits, for
/// instruction counts under callgrind (`scripts/instr-ratio.sh`), which do not depend on
/// the machine's load.
fn run_once(spec: &str) {
    let parts: Vec<&str> = spec.split('/').collect();
    let [mode, what, n] = parts[..] else {
        panic!("BENCH_ONCE is <mode>/<pipeline|typed_decode|setup>/<n>, not {spec}");
    };
    let mode = [Mode::Text, Mode::Json, Mode::Tools, Mode::Logprobs]
        .into_iter()
        .find(|m| m.name() == mode)
        .expect("mode is text, json, tools or logprobs");
    let n: usize = n.parse().expect("n is a number");
    let chunks = chunks(mode, n);
    let body = sse(&chunks);
    match what {
        "pipeline" => {
            black_box(run_pipeline(mode, &body, false));
        }
        "typed_decode" => {
            for c in &chunks {
                let chunk: CreateChatCompletionStreamResponse =
                    serde_json::from_str(c).expect("valid chunk");
                black_box(chunk);
            }
        }
        _ => {
            black_box((&chunks, &body));
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
