//! Generates identical chat completion streams and measures, on the same bytes delivered in
//! the same pieces:
//! - ours: `ChatEventPipeline` (SSE decoding, chunk decoding, accumulation, typed events,
//!   partial JSON parsing of the content in the json mode): the whole stream pipeline;
//! - async-openai 0.43: what its chat stream does per event: `eventsource-stream`'s decoder
//!   and `serde_json::from_str::<CreateChatCompletionStreamResponse>` (it has no accumulation
//!   or events, so it does less work than ours).
//!
//! Usage: `bench-peers DATA_DIR [LENGTHS...]` writes `DATA_DIR/MODE-N.sse` (read by
//! `python_peer.py` for the official Python SDK) and `DATA_DIR/rust.json` (results).
//!
//! For a profiler: `BENCH_PROFILE=<mode>/<n>[/<seconds>] bench-peers` runs ours alone on
//! that stream (5 s by default) and prints its throughput; with `BENCH_NO_FINAL=1`, without
//! the `final_completion()` at the end.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use openai_sdk::chat::{ChatEventPipeline, ParseOptions};
use serde_json::{json, Value};

const MODES: [&str; 4] = ["text", "tools", "logprobs", "json"];
const PIECE: usize = 4096;
const WORDS: [&str; 8] = [
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta",
];

fn chunk(delta: Value, logprobs: Value, finish: Value) -> Value {
    json!({"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1_700_000_000,
           "model": "gpt-4o-2024-08-06", "system_fingerprint": "fp_bench",
           "choices": [{"index": 0, "delta": delta, "logprobs": logprobs, "finish_reason": finish}]})
}

/// The stream of `n` chunks (plus the closing chunk and `[DONE]`) for a mode.
fn generate(mode: &str, n: usize) -> Vec<u8> {
    let mut chunks = Vec::with_capacity(n + 2);
    match mode {
        "tools" => {
            chunks.push(chunk(
                json!({"role": "assistant", "content": null, "tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "record", "arguments": ""}}]}),
                Value::Null,
                Value::Null,
            ));
            for i in 0..n {
                let piece = match i {
                    0 => "{\"items\": [".to_owned(),
                    _ => format!("\"{}{i}\", ", WORDS[i % 8]),
                };
                chunks.push(chunk(
                    json!({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}),
                    Value::Null,
                    Value::Null,
                ));
            }
            chunks.push(chunk(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"end\"]}"}}]}),
                Value::Null,
                json!("tool_calls"),
            ));
        }
        "json" => {
            chunks.push(chunk(
                json!({"role": "assistant", "content": ""}),
                Value::Null,
                Value::Null,
            ));
            for i in 0..n {
                let piece = match i {
                    0 => "{\"items\": [".to_owned(),
                    _ => format!("{{\"n\": {i}, \"w\": \"{}\"}}, ", WORDS[i % 8]),
                };
                chunks.push(chunk(json!({"content": piece}), Value::Null, Value::Null));
            }
            chunks.push(chunk(
                json!({"content": "{\"n\": 0, \"w\": \"end\"}]}"}),
                Value::Null,
                json!("stop"),
            ));
        }
        _ => {
            let logprobs = mode == "logprobs";
            chunks.push(chunk(
                json!({"role": "assistant", "content": ""}),
                Value::Null,
                Value::Null,
            ));
            for i in 0..n {
                let word = format!("{} ", WORDS[i % 8]);
                let lp = if logprobs {
                    let token = |t: &str, p: f64| json!({"token": t, "logprob": p, "bytes": t.as_bytes(), "top_logprobs": []});
                    json!({"content": [{"token": word, "logprob": -0.25, "bytes": word.as_bytes(),
                        "top_logprobs": [token(&word, -0.25), token("x", -3.5)]}], "refusal": null})
                } else {
                    Value::Null
                };
                chunks.push(chunk(json!({"content": word}), lp, Value::Null));
            }
            chunks.push(chunk(json!({}), Value::Null, json!("stop")));
        }
    }
    let mut body = String::new();
    for c in &chunks {
        let _ = write!(body, "data: {c}\n\n");
    }
    body.push_str("data: [DONE]\n\n");
    body.into_bytes()
}

/// With `BENCH_PHASES=1` (and `BENCH_PROFILE`), the best time of each phase of [`ours`]:
/// the events (but the longest), the longest event (the content's `done` in json mode, with
/// its strict parse), `final_completion()`, and the drops at the end.
fn ours_phases(body: &[u8], json_mode: bool, best: &mut [Duration; 4]) {
    let t = Instant::now();
    let mut pipeline = ChatEventPipeline::new(ParseOptions::new().parse_content(json_mode));
    // The longest event (the content's `done`, with the strict parse, in json mode).
    let mut longest = Duration::ZERO;
    let mut timed = |pipeline: &mut ChatEventPipeline| {
        let t = Instant::now();
        let event = pipeline.next_event();
        longest = longest.max(t.elapsed());
        event.map(|event| event.expect("a valid stream"))
    };
    for piece in body.chunks(PIECE) {
        pipeline.push(piece);
        while timed(&mut pipeline).is_some() {}
    }
    pipeline.end_of_input();
    while timed(&mut pipeline).is_some() {}
    let streamed = t.elapsed() - longest;
    let t = Instant::now();
    let done = pipeline
        .state()
        .final_completion()
        .expect("a final completion");
    std::hint::black_box(&done);
    let finished = t.elapsed();
    let t = Instant::now();
    drop(done);
    drop(pipeline);
    let dropped = t.elapsed();
    for (b, d) in best.iter_mut().zip([streamed, longest, finished, dropped]) {
        *b = (*b).min(d);
    }
}

fn ours(body: &[u8], json_mode: bool) -> usize {
    let mut pipeline = ChatEventPipeline::new(ParseOptions::new().parse_content(json_mode));
    let mut events = 0;
    for piece in body.chunks(PIECE) {
        pipeline.push(piece);
        while let Some(event) = pipeline.next_event() {
            event.expect("a valid stream");
            events += 1;
        }
    }
    pipeline.end_of_input();
    while let Some(event) = pipeline.next_event() {
        event.expect("a valid stream");
        events += 1;
    }
    if std::env::var_os("BENCH_NO_FINAL").is_some() {
        return events;
    }
    // The final completion, as a consumer reads it at the end.
    let done = pipeline
        .state()
        .final_completion()
        .expect("a final completion");
    std::hint::black_box(&done);
    events
}

fn async_openai(pieces: &[Bytes]) -> usize {
    let stream = futures::stream::iter(pieces.iter().cloned().map(Ok::<Bytes, std::io::Error>));
    let mut events = eventsource_stream::EventStream::new(stream);
    futures::executor::block_on(async {
        let mut n = 0;
        while let Some(event) = events.next().await {
            let event = event.expect("a valid event");
            if event.data == "[DONE]" {
                break;
            }
            let chunk: async_openai::types::chat::CreateChatCompletionStreamResponse =
                serde_json::from_str(&event.data).expect("a chunk async-openai decodes");
            std::hint::black_box(&chunk);
            n += 1;
        }
        n
    })
}

/// Best time per run of each of two workloads, their runs alternating (at least 5 runs each
/// and 1 s in all), so that a busy moment of a shared machine weighs on both alike.
fn measure_pair(
    mut a: impl FnMut() -> usize,
    mut b: impl FnMut() -> usize,
) -> (Duration, Duration) {
    let mut best = (Duration::MAX, Duration::MAX);
    let start = Instant::now();
    let mut runs = 0;
    while runs < 5 || start.elapsed() < Duration::from_secs(1) {
        let t = Instant::now();
        std::hint::black_box(a());
        best.0 = best.0.min(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(b());
        best.1 = best.1.min(t.elapsed());
        runs += 1;
    }
    best
}

fn main() {
    // `BENCH_PROFILE=<mode>/<n>[/<seconds>[/peer]]`: runs ours (or, with `peer`,
    // async-openai's decode) alone on that stream for a while (default 5 s), for a
    // profiler; `0` seconds is one run (instruction counts: `valgrind --tool=callgrind
    // --toggle-collect=bench_peers::ours` or `bench_peers::async_openai`).
    if let Ok(spec) = std::env::var("BENCH_PROFILE") {
        let parts: Vec<&str> = spec.split('/').collect();
        let (mode, n) = (parts[0], parts[1].parse::<usize>().expect("a length"));
        let secs: u64 = parts.get(2).map_or(5, |s| s.parse().expect("seconds"));
        let peer = parts.get(3) == Some(&"peer");
        let body = generate(mode, n);
        let pieces: Vec<Bytes> = body.chunks(PIECE).map(Bytes::copy_from_slice).collect();
        let start = Instant::now();
        let mut runs = 0;
        if std::env::var_os("BENCH_PHASES").is_some() {
            let mut best = [Duration::MAX; 4];
            while runs == 0 || start.elapsed() < Duration::from_secs(secs) {
                ours_phases(&body, mode == "json", &mut best);
                runs += 1;
            }
            let per = |d: Duration| d.as_nanos() as f64 / (n + 2) as f64;
            println!(
                "{mode} {n}: {runs} runs, best ns/chunk: events {:.0} (+ the longest {:.0}), final_completion {:.0}, drops {:.0}",
                per(best[0]),
                per(best[1]),
                per(best[2]),
                per(best[3])
            );
            return;
        }
        // `BENCH_RUNS=<n>`: exactly n runs, whatever the time (for a cache simulator:
        // `valgrind --tool=callgrind --cache-sim=yes` of 1 run and of 2 runs, the second
        // run on a heap the first one left, as every run but the first finds it).
        let fixed: Option<usize> = std::env::var("BENCH_RUNS")
            .ok()
            .map(|r| r.parse().expect("a number of runs"));
        while fixed.map_or(
            runs == 0 || start.elapsed() < Duration::from_secs(secs),
            |f| runs < f,
        ) {
            if peer {
                std::hint::black_box(async_openai(&pieces));
            } else {
                std::hint::black_box(ours(&body, mode == "json"));
            }
            runs += 1;
        }
        let per = start.elapsed().as_secs_f64() / runs as f64;
        println!(
            "{mode} {n}: {runs} runs, {:.0} chunks/s",
            (n + 2) as f64 / per
        );
        return;
    }
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| "data".into()));
    let lengths: Vec<usize> = {
        let given: Vec<usize> = args.map(|a| a.parse().expect("a length")).collect();
        if given.is_empty() {
            vec![1024, 4096, 16384, 65536]
        } else {
            given
        }
    };
    std::fs::create_dir_all(&dir).expect("the data directory");
    let mut results = Vec::new();
    println!(
        "{:<9} {:>7} {:>14} {:>14} {:>7}",
        "mode", "chunks", "ours chunk/s", "async-openai", "ratio"
    );
    for mode in MODES {
        for &n in &lengths {
            let body = generate(mode, n);
            std::fs::write(dir.join(format!("{mode}-{n}.sse")), &body).expect("writing the stream");
            let pieces: Vec<Bytes> = body.chunks(PIECE).map(Bytes::copy_from_slice).collect();
            let chunks = n + 2;
            let (t_ours, t_peer) =
                measure_pair(|| ours(&body, mode == "json"), || async_openai(&pieces));
            let ours_rate = chunks as f64 / t_ours.as_secs_f64();
            let peer_rate = chunks as f64 / t_peer.as_secs_f64();
            println!(
                "{mode:<9} {n:>7} {ours_rate:>14.0} {peer_rate:>14.0} {:>6.2}x",
                ours_rate / peer_rate
            );
            results.push(json!({"mode": mode, "chunks": n, "bytes": body.len(),
                "ours": ours_rate, "async_openai": peer_rate}));
        }
    }
    std::fs::write(
        dir.join("rust.json"),
        serde_json::to_string_pretty(&results).unwrap(),
    )
    .expect("writing the results");
}
