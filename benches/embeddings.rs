//! Decoding an embeddings answer: 100 vectors of 1536 dimensions (text-embedding-3-small).
//!
//! - `a_float_json`: the answer with JSON numbers (`encoding_format: "float"`), decoded by
//!   the generated type;
//! - `b_base64`: the same vectors as base64 (what `client.embeddings().create` asks for),
//!   parsed and decoded by `openai_sdk::embeddings::decode_response`.
//!
//! The sizes of the two answers are printed once; throughput is in vectors.

use base64::Engine;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use openai_sdk::embeddings::decode_response;
use openai_sdk::types::CreateEmbeddingResponse;
use serde_json::{json, Value};

const VECTORS: usize = 100;
const DIMENSIONS: usize = 1536;

fn vectors() -> Vec<Vec<f32>> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..VECTORS)
        .map(|_| {
            (0..DIMENSIONS)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    ((x >> 40) as f32 / (1u64 << 24) as f32 - 0.5) / 8.0
                })
                .collect()
        })
        .collect()
}

fn answer(embeddings: Vec<Value>) -> Vec<u8> {
    let data: Vec<Value> = embeddings
        .into_iter()
        .enumerate()
        .map(|(i, e)| json!({"object": "embedding", "index": i, "embedding": e}))
        .collect();
    serde_json::to_vec(
        &json!({"object": "list", "data": data, "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 800, "total_tokens": 800}}),
    )
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let vectors = vectors();
    let floats = answer(vectors.iter().map(|v| json!(v)).collect());
    let base64 = answer(
        vectors
            .iter()
            .map(|v| {
                let bytes: Vec<u8> = v.iter().flat_map(|f| f.to_le_bytes()).collect();
                json!(base64::engine::general_purpose::STANDARD.encode(bytes))
            })
            .collect(),
    );
    eprintln!(
        "answer sizes: float JSON {} bytes, base64 {} bytes",
        floats.len(),
        base64.len()
    );
    // Both decode to the same vectors.
    let a: CreateEmbeddingResponse = serde_json::from_slice(&floats).unwrap();
    let b = decode_response(serde_json::from_slice(&base64).unwrap()).unwrap();
    assert_eq!(
        a.data.iter().map(|e| &e.embedding).collect::<Vec<_>>(),
        b.data.iter().map(|e| &e.embedding).collect::<Vec<_>>()
    );

    let mut group = c.benchmark_group("embeddings_decode");
    group.throughput(Throughput::Elements(VECTORS as u64));
    group.bench_function("a_float_json", |bencher| {
        bencher
            .iter(|| serde_json::from_slice::<CreateEmbeddingResponse>(black_box(&floats)).unwrap())
    });
    group.bench_function("b_base64", |bencher| {
        bencher
            .iter(|| decode_response(serde_json::from_slice(black_box(&base64)).unwrap()).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
