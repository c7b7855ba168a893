//! `cargo test` here runs every committed seed input (`seeds/TARGET/*`) through its
//! target's check, without libFuzzer: a seed that once crashed a target stays fixed.

use std::path::Path;

fn run_seeds(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(target);
    let mut count = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let data = std::fs::read(&path).unwrap();
        eprintln!("{target}: {}", path.display());
        check(&data);
        count += 1;
    }
    assert!(count > 0, "no seeds in {}", dir.display());
}

#[test]
fn sse_decoder_seeds() {
    run_seeds("sse_decoder", openai_sdk_fuzz::sse_decoder::check);
}

#[test]
fn chat_stream_seeds() {
    run_seeds("chat_stream", openai_sdk_fuzz::chat_stream::check);
}

#[test]
fn responses_stream_seeds() {
    run_seeds("responses_stream", openai_sdk_fuzz::responses_stream::check);
}

#[test]
fn assistants_stream_seeds() {
    run_seeds(
        "assistants_stream",
        openai_sdk_fuzz::assistants_stream::check,
    );
}

#[test]
fn accumulate_delta_seeds() {
    run_seeds("accumulate_delta", openai_sdk_fuzz::accumulate_delta::check);
}

#[test]
fn partial_json_seeds() {
    run_seeds("partial_json", openai_sdk_fuzz::partial_json::check);
}

#[test]
fn strict_schema_seeds() {
    run_seeds("strict_schema", openai_sdk_fuzz::strict_schema::check);
}

#[test]
fn webhooks_seeds() {
    run_seeds("webhooks", openai_sdk_fuzz::webhooks::check);
}

#[test]
fn retry_headers_seeds() {
    run_seeds("retry_headers", openai_sdk_fuzz::retry_headers::check);
}

#[test]
fn path_segment_seeds() {
    run_seeds("path_segment", openai_sdk_fuzz::path_segment::check);
}

#[test]
fn ws_events_seeds() {
    run_seeds("ws_events", openai_sdk_fuzz::ws_events::check);
}
