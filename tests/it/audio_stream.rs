//! Streamed transcriptions over loopback: a multipart request with `stream=true`, typed
//! events, unknown event types kept, errors mid-stream typed.
#![cfg(feature = "audio")]

use futures::StreamExt;
use openai_sdk::multipart::FilePart;
use openai_sdk::testing::{Chunking, Reply, ScriptedServer};
use openai_sdk::types::{self, CreateTranscriptionResponseStreamEvent as Event};
use openai_sdk::Error;
use serde_json::json;

fn request(stream: Option<bool>) -> types::CreateTranscriptionRequest {
    types::CreateTranscriptionRequest {
        file: FilePart::bytes("speech.wav", b"RIFF....WAVEfmt ".to_vec()),
        model: "gpt-4o-mini-transcribe".into(),
        language: Some("en".into()),
        prompt: None,
        response_format: None,
        temperature: None,
        include: vec![types::TranscriptionInclude::Logprobs],
        chunking_strategy: None,
        keywords: vec![],
        known_speaker_names: vec![],
        known_speaker_references: vec![],
        languages: vec![],
        stream,
        timestamp_granularities: vec![],
        extra: Default::default(),
    }
}

/// Shaped like the API's transcription stream (event names and fields from the spec's
/// `CreateTranscriptionResponseStreamEvent`), plus an event type this SDK does not know.
fn events() -> Vec<serde_json::Value> {
    vec![
        json!({"type": "transcript.text.delta", "delta": "Hello", "logprobs": [{"token": "Hello", "logprob": -0.01, "bytes": [72]}]}),
        json!({"type": "transcript.text.future_kind", "detail": {"x": 1}}),
        json!({"type": "transcript.text.delta", "delta": " world"}),
        json!({"type": "transcript.text.done", "text": "Hello world",
               "usage": {"type": "tokens", "input_tokens": 14, "output_tokens": 4, "total_tokens": 18}}),
    ]
}

#[tokio::test]
async fn a_streamed_transcription_yields_typed_events_and_keeps_unknown_ones() {
    let server = ScriptedServer::start().await;
    let mut body = String::new();
    for e in events() {
        body.push_str(&format!("data: {e}\n\n"));
    }
    body.push_str("data: [DONE]\n\n");
    server
        .post("/v1/audio/transcriptions")
        .respond(Reply::sse_raw(body).chunking(Chunking::Random {
            seed: 7,
            min: 1,
            max: 9,
        }));
    // `stream: Some(false)` in the body: the streaming method sends `true` regardless.
    let mut stream = server
        .client()
        .create_transcription_stream(&request(Some(false)))
        .await
        .unwrap();
    let mut text = String::new();
    let mut seen = Vec::new();
    while let Some(event) = stream.next().await {
        match event.unwrap() {
            Event::DeltaEvent(d) => {
                text.push_str(&d.delta);
                seen.push("delta");
            }
            Event::DoneEvent(d) => {
                assert_eq!(d.text, "Hello world");
                seen.push("done");
            }
            Event::SegmentEvent(_) => seen.push("segment"),
            Event::Unknown(v) => {
                assert_eq!(v, events()[1]);
                seen.push("unknown");
            }
        }
    }
    assert_eq!(text, "Hello world");
    assert_eq!(seen, ["delta", "unknown", "delta", "done"]);

    let req = server.last_request().unwrap();
    let form = String::from_utf8_lossy(&req.body);
    assert!(form.contains("name=\"stream\"\r\n\r\ntrue\r\n"), "{form}");
    assert!(!form.contains("\r\n\r\nfalse\r\n"), "{form}");
    assert!(form.contains("filename=\"speech.wav\""), "{form}");
}

#[tokio::test]
async fn an_error_event_and_a_bad_event_are_typed() {
    let server = ScriptedServer::start().await;
    server.post("/v1/audio/transcriptions").respond_all([
        Reply::sse_raw(
            "data: {\"type\":\"transcript.text.delta\",\"delta\":\"Hi\"}\n\n\
             event: error\ndata: {\"error\":{\"message\":\"audio too long\",\"type\":\"invalid_request_error\",\"code\":\"audio_too_long\"}}\n\n",
        ),
        Reply::sse_raw("data: {\"type\":\"transcript.text.delta\",\"delta\":42}\n\n"),
    ]);
    let c = server.client();
    let items: Vec<_> = c
        .create_transcription_stream(&request(None))
        .await
        .unwrap()
        .collect()
        .await;
    assert!(matches!(&items[0], Ok(Event::DeltaEvent(d)) if d.delta == "Hi"));
    match &items[1] {
        Err(Error::Api(e)) => {
            assert_eq!(e.message, "audio too long");
            assert_eq!(e.code.as_deref(), Some("audio_too_long"));
        }
        other => panic!("expected an API error, got {other:?}"),
    }
    assert_eq!(items.len(), 2);

    let items: Vec<_> = c
        .create_transcription_stream(&request(None))
        .await
        .unwrap()
        .collect()
        .await;
    match &items[..] {
        [Err(Error::Decode { what, path, .. })] => {
            assert!(what.contains("transcription event #0"), "{what}");
            assert_eq!(path, "delta");
        }
        other => panic!("expected one decode error, got {other:?}"),
    }
}
