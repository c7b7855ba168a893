//! Partial JSON on a streamed document: an object holding an array of objects with strings and
//! numbers, streamed in 4-character deltas (the size of a typical chat chunk).
//!
//! - `a_accumulate`: only appending the deltas to a `String` (the floor);
//! - `b_push`: `PartialJson::push` for every delta;
//! - `b_push_snapshot`: `push` and `snapshot` for every delta (what a chat stream does so that
//!   `parsed` can be built lazily);
//! - `c_push_value_at_end`: `push` for every delta and `value()` once at the end;
//! - `d_jiter_reparse_every_64`: the reference approach, jiter's partial parse of the whole
//!   prefix, but only every 64th delta (multiply by 64 for the per-delta cost of the reference).
//!
//! Throughput is the document size, so MB/s compare directly; ns per delta = time / (size / 4).

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use jiter::{JsonValue, PartialMode};
use openai_sdk::parsing::PartialJson;

fn document(target: usize) -> String {
    let mut out = String::from("{\"object\": \"list\", \"items\": [");
    let mut i = 0u64;
    while out.len() < target {
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

/// 4-character deltas.
fn deltas(doc: &str) -> Vec<&str> {
    let mut out = Vec::with_capacity(doc.len() / 4 + 1);
    let mut start = 0;
    let mut count = 0;
    for (i, _) in doc.char_indices() {
        if count == 4 {
            out.push(&doc[start..i]);
            start = i;
            count = 0;
        }
        count += 1;
    }
    out.push(&doc[start..]);
    out
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("partial_json");
    group.sample_size(10);
    for (label, size) in [("64KB", 64 << 10), ("256KB", 256 << 10), ("1MB", 1 << 20)] {
        let doc = document(size);
        let ds = deltas(&doc);
        // The parser must agree with serde_json on the whole document.
        let mut check = PartialJson::new();
        ds.iter().for_each(|d| check.push(d));
        let expected: serde_json::Value = serde_json::from_str(&doc).expect("valid document");
        assert_eq!(check.finish().expect("complete document"), expected);
        group.throughput(Throughput::Bytes(doc.len() as u64));

        group.bench_with_input(BenchmarkId::new("a_accumulate", label), &ds, |b, ds| {
            b.iter(|| {
                let mut s = String::new();
                for d in ds {
                    s.push_str(d);
                }
                black_box(s.len())
            })
        });
        group.bench_with_input(BenchmarkId::new("b_push", label), &ds, |b, ds| {
            b.iter(|| {
                let mut p = PartialJson::new();
                for d in ds {
                    p.push(d);
                }
                black_box(p.is_complete())
            })
        });
        group.bench_with_input(BenchmarkId::new("b_push_snapshot", label), &ds, |b, ds| {
            b.iter(|| {
                let mut p = PartialJson::new();
                for d in ds {
                    p.push(d);
                    black_box(p.snapshot().ok());
                }
                black_box(p.is_complete())
            })
        });
        group.bench_with_input(
            BenchmarkId::new("c_push_value_at_end", label),
            &ds,
            |b, ds| {
                b.iter(|| {
                    let mut p = PartialJson::new();
                    for d in ds {
                        p.push(d);
                    }
                    black_box(p.value().ok())
                })
            },
        );
        if size <= 256 << 10 {
            group.bench_with_input(
                BenchmarkId::new("d_jiter_reparse_every_64", label),
                &ds,
                |b, ds| {
                    b.iter(|| {
                        let mut s = String::new();
                        for (k, d) in ds.iter().enumerate() {
                            s.push_str(d);
                            if k % 64 == 63 {
                                let v = JsonValue::parse_with_config(
                                    s.as_bytes(),
                                    false,
                                    PartialMode::On,
                                );
                                black_box(v.is_ok());
                            }
                        }
                        black_box(s.len())
                    })
                },
            );
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
