//! Decoding speed of the event-stream decoder on a chat-completion-shaped stream:
//! 4096 `data: {...}\n\n` events of about 200 bytes, pushed in 1 KiB pieces.
//! Criterion reports time per stream and throughput in events; divide for ns/event.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use openai_sdk::sse::{OpenAiDecoder, SseDecoder};

const EVENTS: usize = 4096;

fn chat_stream() -> Vec<u8> {
    let words = [
        "Hello", " there", ",", " how", " can", " I", " help", " you", " today", "?",
    ];
    let mut out = Vec::new();
    for i in 0..EVENTS {
        let word = words[i % words.len()];
        let line = format!(
            "data: {{\"id\":\"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG\",\"object\":\"chat.completion.chunk\",\"created\":1741570283,\"model\":\"gpt-4o-2024-08-06\",\"service_tier\":\"default\",\"system_fingerprint\":\"fp_eb9dce56a8\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{word}\"}},\"logprobs\":null,\"finish_reason\":null}}]}}\n\n"
        );
        out.extend_from_slice(line.as_bytes());
    }
    out.extend_from_slice(b"data: [DONE]\n\n");
    out
}

fn bench(c: &mut Criterion) {
    let stream = chat_stream();
    let mut group = c.benchmark_group("sse");
    group.throughput(Throughput::Elements(EVENTS as u64));

    group.bench_function("frames_1k_pieces", |b| {
        b.iter(|| {
            let mut decoder = SseDecoder::new();
            let mut bytes = 0usize;
            for piece in stream.chunks(1024) {
                decoder.push(black_box(piece));
                while let Some(frame) = decoder.next_frame() {
                    if let Ok(frame) = frame {
                        bytes += frame.data.len();
                    }
                }
            }
            black_box(decoder.finish());
            bytes
        })
    });

    group.bench_function("openai_events_1k_pieces", |b| {
        b.iter(|| {
            let mut decoder = OpenAiDecoder::new();
            let mut bytes = 0usize;
            for piece in stream.chunks(1024) {
                decoder.push(black_box(piece));
                while let Some(event) = decoder.next_event() {
                    if let Ok(frame) = event {
                        bytes += frame.data.len();
                    }
                }
            }
            black_box(decoder.finish());
            bytes
        })
    });

    group.bench_function("openai_events_one_push", |b| {
        b.iter(|| {
            let mut decoder = OpenAiDecoder::new();
            decoder.push(black_box(&stream));
            let mut bytes = 0usize;
            while let Some(event) = decoder.next_event() {
                if let Ok(frame) = event {
                    bytes += frame.data.len();
                }
            }
            bytes
        })
    });

    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
