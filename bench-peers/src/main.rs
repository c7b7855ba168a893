//! Generates identical chat completion streams and measures, on the same bytes delivered in
//! the same pieces (the same `Bytes`):
//! - ours: `ChatEventPipeline` (SSE decoding, chunk decoding, accumulation, typed events,
//!   partial JSON parsing of the content in the json mode): the whole stream pipeline, fed
//!   each piece whole (`push_bytes`, as the SDK's HTTP streams feed a body's chunks; with
//!   `BENCH_SLICES=1`, copied from slices of the input by `push`, as before 2026-12-07);
//! - async-openai 0.43: what its chat stream does per event: `eventsource-stream`'s decoder
//!   and `serde_json::from_str::<CreateChatCompletionStreamResponse>` (it has no accumulation
//!   or events, so it does less work than ours).
//!
//! In json mode a third series is timed in the same rounds: the stream's document alone,
//! parsed by `serde_json` into a `Value` and dropped (what ours does at `content.done`, and
//! what any SDK that hands over the parsed document pays). Its 16k ÷ 1k beside ours shows
//! how much of the pipeline's growth with the stream's length is the document's own.
//!
//! Usage: `bench-peers DATA_DIR [LENGTHS...]` writes `DATA_DIR/MODE-N.sse` (read by
//! `python_peer.py` for the official Python SDK) and `DATA_DIR/rust.json` (results).
//!
//! Every length is timed over windows of the same length (a sample covers at least
//! [`SAMPLE_CHUNKS`] chunks: a short stream runs several times), and the lengths of a mode
//! are sampled in turn, so that 16k chunks against 1k measures how the pipeline's cost grows
//! with the stream's length, not which length had the machine's quieter moment.
//!
//! With `BENCH_RING=1`, the middle chunks of a stream longer than [`RING`] chunks repeat its
//! first [`RING`] ones (a JSON document stays one valid document): the input in memory is
//! then the same for every length, as a network stream's is (each piece arrives in a buffer
//! just written), instead of a whole stream of up to 30 MB.
//!
//! For a profiler: `BENCH_PROFILE=<mode>/<n>[/<seconds>] bench-peers` runs ours alone on
//! that stream (5 s by default) and prints its throughput; with `BENCH_NO_FINAL=1`, without
//! the final completion at the end; with `BENCH_COPY=1`, with `final_completion()` (a copy
//! of the parsed content) instead of `into_final_completion()`; with `BENCH_DIST=1`, the
//! minimum, 10th, 50th and 90th percentile time per chunk over the runs.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use openai_sdk::chat::{ChatEventPipeline, ParseOptions, ParsedChatCompletion};
use serde_json::{json, Value};

const MODES: [&str; 4] = ["text", "tools", "logprobs", "json"];
const PIECE: usize = 4096;
/// The distinct middle chunks of a stream with `BENCH_RING` (see the crate's docs).
const RING: usize = 1024;
const WORDS: [&str; 8] = [
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta",
];

/// `mode` if it is one of [`MODES`]; otherwise the process ends with a message (an unknown
/// mode would otherwise be generated as a text stream and reported under its own name).
fn known_mode(mode: &str) -> &str {
    if !MODES.contains(&mode) {
        eprintln!(
            "unknown mode {mode:?}: the modes are {} (BENCH_MODES separates them with commas)",
            MODES.join(", ")
        );
        std::process::exit(2);
    }
    mode
}

fn chunk(delta: Value, logprobs: Value, finish: Value) -> Value {
    json!({"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1_700_000_000,
           "model": "gpt-4o-2024-08-06", "system_fingerprint": "fp_bench",
           "choices": [{"index": 0, "delta": delta, "logprobs": logprobs, "finish_reason": finish}]})
}

/// The first chunk, the `n` middle chunks (`i` from 0) and the closing chunk of a stream,
/// as JSON.
fn chunks(mode: &str, n: usize) -> Vec<Value> {
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
    chunks
}

/// A stream's bytes: `head` (the first chunk and the first middle one, which opens the JSON
/// document in the json and tools modes), `laps` times `ring`, then the first `rest` chunks
/// of `ring`, then `tail` (the closing chunk and `[DONE]`).
struct Input {
    head: Vec<u8>,
    ring: Vec<u8>,
    /// Where each chunk of `ring` ends.
    ends: Vec<usize>,
    laps: usize,
    rest: usize,
    tail: Vec<u8>,
    /// The stream in the pieces both pipelines are fed (see [`Input::cut`]).
    pieces: Vec<Bytes>,
}

fn sse(chunks: &[Value]) -> (Vec<u8>, Vec<usize>) {
    let mut text = String::new();
    let mut ends = Vec::with_capacity(chunks.len());
    for c in chunks {
        let _ = write!(text, "data: {c}\n\n");
        ends.push(text.len());
    }
    (text.into_bytes(), ends)
}

impl Input {
    /// The stream of `n` chunks (plus the first, the closing chunk and `[DONE]`) for a mode;
    /// its middle chunks after the first repeat every `ring` chunks.
    fn generate(mode: &str, n: usize, ring: usize) -> Input {
        let ring = ring.clamp(1, n.max(1));
        let all = chunks(mode, ring + 1);
        let (head, _) = sse(&all[..2.min(all.len())]);
        let (mut tail, _) = sse(&all[all.len() - 1..]);
        tail.extend_from_slice(b"data: [DONE]\n\n");
        let middle = all.get(2..all.len() - 1).unwrap_or_default();
        let (ring_bytes, ends) = sse(middle);
        let repeated = n.saturating_sub(1);
        let (laps, rest) = match ends.len() {
            0 => (0, 0),
            r => (repeated / r, repeated % r),
        };
        let mut input = Input {
            head,
            ring: ring_bytes,
            ends,
            laps,
            rest,
            tail,
            pieces: Vec::new(),
        };
        input.pieces = input.cut();
        input
    }

    /// The stream's bytes in order, as slices of the input.
    fn segments(&self) -> impl Iterator<Item = &[u8]> {
        let rest = match self.rest {
            0 => &self.ring[..0],
            r => &self.ring[..self.ends[r - 1]],
        };
        std::iter::once(&self.head[..])
            .chain(std::iter::repeat_n(&self.ring[..], self.laps))
            .chain(std::iter::once(rest))
            .chain(std::iter::once(&self.tail[..]))
    }

    /// The whole stream (for the data file).
    fn to_bytes(&self) -> Vec<u8> {
        self.segments().flatten().copied().collect()
    }

    /// The stream in pieces of at most [`PIECE`] bytes (each segment cut apart), sharing
    /// memory as [`Input::segments`] does (the ring's pieces are the same at every lap).
    fn cut(&self) -> Vec<Bytes> {
        let ring: Vec<Bytes> = self
            .ring
            .chunks(PIECE)
            .map(Bytes::copy_from_slice)
            .collect();
        let copy = |bytes: &[u8]| -> Vec<Bytes> {
            bytes.chunks(PIECE).map(Bytes::copy_from_slice).collect()
        };
        let mut pieces = copy(&self.head);
        for _ in 0..self.laps {
            pieces.extend(ring.iter().cloned());
        }
        if self.rest > 0 {
            pieces.extend(copy(&self.ring[..self.ends[self.rest - 1]]));
        }
        pieces.extend(copy(&self.tail));
        pieces
    }
}

/// Feeds `input` to `pipeline` piece by piece, then its end, calling `drain` after each
/// step: each of the peer's pieces whole (`push_bytes`), or with `BENCH_SLICES=1` copied
/// from slices of the input (`push`).
fn feed(
    pipeline: &mut ChatEventPipeline,
    input: &Input,
    mut drain: impl FnMut(&mut ChatEventPipeline),
) {
    static SLICES: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *SLICES.get_or_init(|| std::env::var_os("BENCH_SLICES").is_some()) {
        for piece in input.segments().flat_map(|s| s.chunks(PIECE)) {
            pipeline.push(piece);
            drain(pipeline);
        }
    } else {
        for piece in &input.pieces {
            pipeline.push_bytes(piece.clone());
            drain(pipeline);
        }
    }
    pipeline.end_of_input();
    drain(pipeline);
}

/// With `BENCH_PHASES=1` (and `BENCH_PROFILE`), the best time of each phase of [`ours`]:
/// the events (but the longest), the longest event (the content's `done` in json mode, with
/// its strict parse), the final completion, and the drops at the end.
fn ours_phases(input: &Input, json_mode: bool, best: &mut [Duration; 4]) {
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
    feed(
        &mut pipeline,
        input,
        |pipeline| while timed(pipeline).is_some() {},
    );
    let streamed = t.elapsed() - longest;
    let t = Instant::now();
    let (done, kept) = finish(pipeline);
    std::hint::black_box(&done);
    let finished = t.elapsed();
    let t = Instant::now();
    drop(done);
    drop(kept);
    let dropped = t.elapsed();
    for (b, d) in best.iter_mut().zip([streamed, longest, finished, dropped]) {
        *b = (*b).min(d);
    }
}

/// The final completion, as a consumer reads it at the end: `into_final_completion()`, or
/// with `BENCH_COPY`, `final_completion()` (the pipeline is then kept, to be dropped after).
fn finish(pipeline: ChatEventPipeline) -> (ParsedChatCompletion, Option<ChatEventPipeline>) {
    if std::env::var_os("BENCH_COPY").is_some() {
        let done = pipeline.state().final_completion();
        (done.expect("a final completion"), Some(pipeline))
    } else {
        let done = pipeline.into_final_completion();
        (done.expect("a final completion"), None)
    }
}

/// The stream through a new pipeline, in [`PIECE`]-byte pieces, every event taken: the
/// pipeline at the end and the number of events.
fn stream(input: &Input, options: ParseOptions) -> (ChatEventPipeline, usize) {
    let mut pipeline = ChatEventPipeline::new(options);
    let mut events = 0;
    feed(&mut pipeline, input, |pipeline| {
        while let Some(event) = pipeline.next_event() {
            event.expect("a valid stream");
            events += 1;
        }
    });
    (pipeline, events)
}

fn ours(input: &Input, json_mode: bool) -> usize {
    let (pipeline, events) = stream(input, ParseOptions::new().parse_content(json_mode));
    if std::env::var_os("BENCH_NO_FINAL").is_some() {
        return events;
    }
    std::hint::black_box(finish(pipeline));
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

/// What any SDK that hands over a JSON stream's parsed document pays for it, whatever its
/// stream layer: `serde_json` parsing the whole content into a `Value` (as ours does at
/// `content.done`), then dropping it. Timed beside the streams in json mode, it shows how
/// much of the pipeline's 16k ÷ 1k the document alone accounts for on the host of the run.
fn document(doc: &str) -> usize {
    let value: Value = serde_json::from_str(doc).expect("the json mode's document");
    std::hint::black_box(&value);
    doc.len()
}

/// The content of a json-mode stream: the document ours parses at `content.done`.
fn content_of(input: &Input) -> String {
    let (pipeline, _) = stream(input, ParseOptions::new());
    let done = pipeline
        .into_final_completion()
        .expect("a final completion");
    done.content(0).expect("the stream's content").to_owned()
}

/// Chunks a timed sample covers at least: a sample of a short stream runs it several times
/// (a new pipeline each time), so that every length is timed over windows of the same
/// length. Before, the best of ~500 runs of 2 ms (1k chunks) was 6–7 % under their 10th
/// percentile, the best of ~30 runs of 35 ms (16k) within 1 % of theirs: the short streams
/// had their lucky moments, and 16k ÷ 1k fell to 0.88–0.96 even for the peer's decode,
/// which keeps nothing between chunks.
const SAMPLE_CHUNKS: usize = 16_384;

/// One length of a mode: the length, the input, and in json mode the document the stream's
/// content makes (see [`document`]).
type Case = (usize, Input, Option<String>);

/// The best times of one length: ours, the peer, and in json mode the document alone.
type Best = (Duration, Duration, Option<Duration>);

/// Best time per stream of ours and of the peer at each length of a mode. Samples are
/// taken in rounds (ours then the peer, at each length in turn; at least 20 rounds and
/// `BENCH_SECS` (default 1) seconds a length), so that a busy moment of a shared machine
/// weighs on every length and on both alike; on a noisy host, more seconds give the best
/// sample more quiet moments to fall in. Each sample runs the stream `SAMPLE_CHUNKS / n`
/// times (at least once). In json mode each round also times [`document`] at each length.
fn measure(json_mode: bool, cases: &[Case]) -> Vec<Best> {
    let sample = |n: usize, f: &mut dyn FnMut() -> usize| {
        let repeat = (SAMPLE_CHUNKS / n.max(1)).max(1);
        let t = Instant::now();
        for _ in 0..repeat {
            std::hint::black_box(f());
        }
        t.elapsed() / repeat as u32
    };
    let mut best = vec![(Duration::MAX, Duration::MAX, None); cases.len()];
    let secs: u64 = match std::env::var("BENCH_SECS") {
        Ok(secs) => secs
            .parse()
            .unwrap_or_else(|_| panic!("BENCH_SECS is a whole number of seconds, not {secs:?}")),
        Err(_) => 1,
    };
    let budget = Duration::from_secs(secs * cases.len() as u64);
    let start = Instant::now();
    let mut rounds = 0;
    while rounds < 20 || start.elapsed() < budget {
        for ((n, input, doc), best) in cases.iter().zip(&mut best) {
            best.0 = best.0.min(sample(*n, &mut || ours(input, json_mode)));
            best.1 = best.1.min(sample(*n, &mut || async_openai(&input.pieces)));
            if let Some(doc) = doc {
                let t = sample(*n, &mut || document(doc));
                best.2 = Some(best.2.map_or(t, |b: Duration| b.min(t)));
            }
        }
        rounds += 1;
    }
    best
}

/// The distinct middle chunks of a stream of `n`: all of them, or [`RING`] with `BENCH_RING`.
fn ring(n: usize) -> usize {
    if std::env::var_os("BENCH_RING").is_some() {
        RING
    } else {
        n
    }
}

fn main() {
    // `BENCH_PROFILE=<mode>/<n>[/<seconds>[/peer]]`: runs ours (or, with `peer`,
    // async-openai's decode) alone on that stream for a while (default 5 s), for a
    // profiler; `0` seconds is one run (instruction counts: `valgrind --tool=callgrind
    // --toggle-collect=bench_peers::ours` or `bench_peers::async_openai`).
    if let Ok(spec) = std::env::var("BENCH_PROFILE") {
        let parts: Vec<&str> = spec.split('/').collect();
        let (mode, n) = (
            known_mode(parts[0]),
            parts[1].parse::<usize>().expect("a length"),
        );
        let secs: u64 = parts.get(2).map_or(5, |s| s.parse().expect("seconds"));
        let peer = parts.get(3) == Some(&"peer");
        let input = Input::generate(mode, n, ring(n));
        let pieces = &input.pieces;
        let start = Instant::now();
        let mut runs = 0;
        if std::env::var_os("BENCH_PHASES").is_some() {
            let mut best = [Duration::MAX; 4];
            while runs == 0 || start.elapsed() < Duration::from_secs(secs) {
                ours_phases(&input, mode == "json", &mut best);
                runs += 1;
            }
            let per = |d: Duration| d.as_nanos() as f64 / (n + 2) as f64;
            println!(
                "{mode} {n}: {runs} runs, best ns/chunk: events {:.0} (+ the longest {:.0}), final completion {:.0}, drops {:.0}",
                per(best[0]),
                per(best[1]),
                per(best[2]),
                per(best[3])
            );
            return;
        }
        if std::env::var_os("BENCH_DIST").is_some() {
            let mut times = Vec::new();
            while runs == 0 || start.elapsed() < Duration::from_secs(secs) {
                let t = Instant::now();
                std::hint::black_box(if peer {
                    async_openai(pieces)
                } else {
                    ours(&input, mode == "json")
                });
                times.push(t.elapsed().as_nanos() as f64 / (n + 2) as f64);
                runs += 1;
            }
            times.sort_by(f64::total_cmp);
            let q = |f: f64| times[((times.len() - 1) as f64 * f) as usize];
            let mean = times.iter().sum::<f64>() / times.len() as f64;
            println!(
                "{mode} {n}: {runs} runs, ns/chunk: min {:.0}, p10 {:.0}, p50 {:.0}, p90 {:.0}, mean {mean:.0}",
                q(0.0),
                q(0.1),
                q(0.5),
                q(0.9)
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
                std::hint::black_box(async_openai(pieces));
            } else {
                std::hint::black_box(ours(&input, mode == "json"));
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
    let modes: Vec<String> = match std::env::var("BENCH_MODES") {
        Ok(list) => list.split(',').map(|m| known_mode(m).to_owned()).collect(),
        Err(_) => MODES.iter().map(|m| m.to_string()).collect(),
    };
    println!(
        "{:<9} {:>7} {:>14} {:>14} {:>7}",
        "mode", "chunks", "ours chunk/s", "async-openai", "ratio"
    );
    for mode in modes.iter().map(String::as_str) {
        let mut cases = Vec::new();
        let mut sizes = Vec::new();
        for &n in &lengths {
            let input = Input::generate(mode, n, ring(n));
            let body = input.to_bytes();
            std::fs::write(dir.join(format!("{mode}-{n}.sse")), &body).expect("writing the stream");
            sizes.push(body.len());
            let doc = (mode == "json").then(|| content_of(&input));
            cases.push((n, input, doc));
        }
        let best = measure(mode == "json", &cases);
        let mut documents = Vec::new();
        for (((n, _, _), (t_ours, t_peer, t_doc)), bytes) in cases.iter().zip(best).zip(sizes) {
            let chunks = n + 2;
            let ours_rate = chunks as f64 / t_ours.as_secs_f64();
            let peer_rate = chunks as f64 / t_peer.as_secs_f64();
            println!(
                "{mode:<9} {n:>7} {ours_rate:>14.0} {peer_rate:>14.0} {:>6.2}x",
                ours_rate / peer_rate
            );
            let mut row = json!({"mode": mode, "chunks": n, "bytes": bytes,
                "ours": ours_rate, "async_openai": peer_rate});
            if let Some(t_doc) = t_doc {
                let per_chunk = t_doc.as_nanos() as f64 / chunks as f64;
                row["document_ns_per_chunk"] = json!(per_chunk);
                documents.push((*n, per_chunk, t_ours.as_nanos() as f64 / chunks as f64));
            }
            results.push(row);
        }
        if let [(n0, doc0, ours0), .., (n1, doc1, ours1)] = documents[..] {
            println!(
                "{mode:<9} the document alone (serde_json Value, parse + drop): {doc0:.0} / {doc1:.0} ns a chunk at {n0} / {n1} ({:.0} / {:.0} % of ours), {n1} / {n0} throughput {:.3}",
                100.0 * doc0 / ours0,
                100.0 * doc1 / ours1,
                doc0 / doc1
            );
        }
    }
    std::fs::write(
        dir.join("rust.json"),
        serde_json::to_string_pretty(&results).unwrap(),
    )
    .expect("writing the results");
}
