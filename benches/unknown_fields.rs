//! What keeping unknown object fields costs the typed decode: a chat chunk
//! (`CreateChatCompletionStreamResponse`) and a Responses event (`ResponseStreamEvent`),
//! each as the API sends it (`plain`) and with a few fields the spec does not know at
//! three depths (`unknown`).
//!
//! - `<chat|responses>/<plain|unknown>/<n>`: `serde_json::from_str` of `n` JSON texts.
//!
//! `BENCH_ONCE=<chat|responses>/<plain|unknown|setup-plain|setup-unknown>/<n>` runs one pass and exits, for
//! instruction counts under callgrind (independent of the machine's load):
//! `bash scripts/instr-unknown-fields.sh`.
//! Figures: see the README section "Unknown object fields".

use std::hint::black_box;

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use openai_sdk::types::{CreateChatCompletionStreamResponse, ResponseStreamEvent};
use serde_json::{json, Value};

const WORDS: [&str; 6] = ["The ", "quick", " bro", "wn f", "ox j", "umps"];

/// Chat chunks shaped like the API's: one text delta each.
fn chat_chunks(n: usize, unknown: bool) -> Vec<String> {
    (0..n)
        .map(|i| {
            let mut delta = json!({"content": WORDS[i % WORDS.len()]});
            let mut choice =
                json!({"index": 0, "delta": null, "logprobs": null, "finish_reason": null});
            let mut chunk = json!({"id": "chatcmpl-Bench123", "object": "chat.completion.chunk",
                "created": 1754925861, "model": "gpt-4o-2024-08-06", "service_tier": "default",
                "system_fingerprint": "fp_07871e2ad8", "choices": null, "obfuscation": "Xy3"});
            if unknown {
                delta["probe_delta"] = json!("x");
                choice["probe_choice"] = json!({"a": [1, 2]});
                chunk["probe_top"] = json!(1);
            }
            choice["delta"] = delta;
            chunk["choices"] = json!([choice]);
            chunk.to_string()
        })
        .collect()
}

/// Responses events shaped like the API's: `response.output_text.delta` with its logprobs.
fn responses_events(n: usize, unknown: bool) -> Vec<String> {
    (0..n)
        .map(|i| {
            let mut logprob =
                json!({"token": "x", "logprob": -0.1, "bytes": [120], "top_logprobs": []});
            let mut event = json!({"type": "response.output_text.delta", "sequence_number": i + 3,
                "item_id": "msg_1", "output_index": 0, "content_index": 0,
                "delta": WORDS[i % WORDS.len()], "logprobs": null, "obfuscation": "Xy3"});
            if unknown {
                logprob["probe_logprob"] = json!(true);
                event["probe_top"] = json!(1);
                event["probe_obj"] = json!({"k": "v"});
            }
            event["logprobs"] = Value::Array(vec![logprob]);
            event.to_string()
        })
        .collect()
}

fn decode_chat(texts: &[String]) {
    for t in texts {
        let c: CreateChatCompletionStreamResponse = serde_json::from_str(t).expect("valid chunk");
        black_box(c);
    }
}

fn decode_responses(texts: &[String]) {
    for t in texts {
        let e: ResponseStreamEvent = serde_json::from_str(t).expect("valid event");
        black_box(e);
    }
}

fn bench(c: &mut Criterion) {
    let n = 1000;
    let mut group = c.benchmark_group("unknown_fields");
    group.throughput(Throughput::Elements(n as u64));
    for unknown in [false, true] {
        let what = if unknown { "unknown" } else { "plain" };
        let chunks = chat_chunks(n, unknown);
        group.bench_with_input(
            BenchmarkId::new(format!("chat/{what}"), n),
            &chunks,
            |b, t| b.iter(|| decode_chat(t)),
        );
        let events = responses_events(n, unknown);
        group.bench_with_input(
            BenchmarkId::new(format!("responses/{what}"), n),
            &events,
            |b, t| b.iter(|| decode_responses(t)),
        );
    }
    group.finish();
}

criterion_group!(benches, bench);

fn run_once(spec: &str) {
    let parts: Vec<&str> = spec.split('/').collect();
    let [family, what, n] = parts[..] else {
        panic!("BENCH_ONCE is <chat|responses>/<what>/<n>, not {spec}");
    };
    let n: usize = n.parse().expect("n is a number");
    let chat = family == "chat";
    let texts = |unknown| {
        if chat {
            chat_chunks(n, unknown)
        } else {
            responses_events(n, unknown)
        }
    };
    let decode = if chat { decode_chat } else { decode_responses };
    match what {
        "plain" => decode(&texts(false)),
        "unknown" => decode(&texts(true)),
        "setup-plain" => {
            black_box(texts(false));
        }
        "setup-unknown" => {
            black_box(texts(true));
        }
        _ => panic!("BENCH_ONCE: {what} is not plain, unknown, setup-plain or setup-unknown"),
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
