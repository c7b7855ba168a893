//! What the client bounds, over loopback: each bound of a hostile or broken server's answer.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use openai_sdk::polling::PollOptions;
use openai_sdk::testing::{Reply, ScriptedServer};
use openai_sdk::{ClientBuilder, Error};
use serde_json::json;

fn file(status: &str) -> serde_json::Value {
    json!({"id": "file-1", "object": "file", "bytes": 1, "created_at": 1, "filename": "f",
           "purpose": "assistants", "status": status})
}

#[tokio::test]
async fn a_huge_poll_after_is_cut_to_sixty_seconds() {
    let server = ScriptedServer::start().await;
    server.get("/v1/files/file-1").respond_all([
        Reply::json(200, file("uploaded")).header("openai-poll-after-ms", "86400000"),
        Reply::json(200, file("processed")),
    ]);
    let c = ClientBuilder::empty()
        .api_key("k")
        .base_url(server.base_url())
        .build()
        .unwrap();
    let waits = Arc::new(Mutex::new(Vec::new()));
    let log = waits.clone();
    let options = PollOptions::new().sleeper(move |d| {
        log.lock().unwrap().push(d);
        Box::pin(async {})
    });
    let f = c
        .files()
        .wait_for_processing("file-1", &options)
        .await
        .unwrap();
    assert_eq!(f.id, "file-1");
    assert_eq!(*waits.lock().unwrap(), vec![Duration::from_secs(60)]);
}

#[tokio::test]
async fn the_body_cap_reads_content_types_case_insensitively_and_covers_helpers() {
    let server = ScriptedServer::start().await;
    let big = json!({"id": "m", "object": "model", "created": 1, "owned_by": "x".repeat(4096)});
    server.get("/v1/models/m").respond(
        Reply::bytes(200, serde_json::to_vec(&big).unwrap())
            .header("content-type", "Application/JSON"),
    );
    let mut f = file("processed");
    f["filename"] = json!("y".repeat(4096));
    server.get("/v1/files/file-1").respond(Reply::json(200, f));
    let c = ClientBuilder::empty()
        .api_key("k")
        .base_url(server.base_url())
        .max_response_bytes(1024)
        .build()
        .unwrap();
    let e = c.retrieve_model("m").await.unwrap_err();
    assert!(
        matches!(e, Error::ResponseTooLarge { limit: 1024 }),
        "{e:?}"
    );
    // A hand-written helper (the file poll) reads through the same cap.
    let e = c
        .files()
        .wait_for_processing("file-1", &PollOptions::new())
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::ResponseTooLarge { limit: 1024 }),
        "{e:?}"
    );
}

#[tokio::test]
async fn helpers_cap_bodies_of_any_content_type() {
    // A helper reads its answer whole whatever the server calls it: a 4 KiB answer labelled
    // as binary (or not labelled at all) is cut at the cap like a JSON one.
    let server = ScriptedServer::start().await;
    let big = json!({"object": "list", "data": [], "note": "z".repeat(4096)});
    server.get("/v1/things").respond_all([
        Reply::bytes(200, serde_json::to_vec(&big).unwrap())
            .header("content-type", "application/octet-stream"),
        Reply::bytes(200, serde_json::to_vec(&big).unwrap()).header("content-type", "Text/Plain"),
    ]);
    server.post("/v1/embeddings").respond(
        Reply::bytes(200, serde_json::to_vec(&big).unwrap())
            .header("content-type", "application/x-unknown"),
    );
    let c = ClientBuilder::empty()
        .api_key("k")
        .base_url(server.base_url())
        .max_response_bytes(1024)
        .build()
        .unwrap();
    for _ in 0..2 {
        let e = c.get::<serde_json::Value>("/things").await.unwrap_err();
        assert!(
            matches!(e, Error::ResponseTooLarge { limit: 1024 }),
            "{e:?}"
        );
    }
    let request: openai_sdk::types::CreateEmbeddingRequest =
        serde_json::from_value(json!({"model": "m", "input": "hi"})).unwrap();
    let e = c.embeddings().create(&request).await.unwrap_err();
    assert!(
        matches!(e, Error::ResponseTooLarge { limit: 1024 }),
        "{e:?}"
    );
    // Under the cap, the same answers are read.
    let server = ScriptedServer::start().await;
    server.get("/v1/things").respond(
        Reply::bytes(200, br#"{"ok": true}"#.to_vec())
            .header("content-type", "application/octet-stream"),
    );
    let c = ClientBuilder::empty()
        .api_key("k")
        .base_url(server.base_url())
        .max_response_bytes(1024)
        .build()
        .unwrap();
    let v = c.get::<serde_json::Value>("/things").await.unwrap();
    assert_eq!(v.into_inner(), json!({"ok": true}));
}

#[cfg(feature = "blocking")]
#[test]
fn a_blocking_error_answer_is_read_up_to_one_mib() {
    use openai_sdk::testing::Fault;
    let server = ScriptedServer::start_blocking();
    // A 500 whose body never ends: 2 MiB announced, 1.5 MiB sent, then silence.
    server.post("/v1/chat/completions").respond(
        Reply::bytes(500, vec![b'x'; 2 * 1024 * 1024])
            .header("content-type", "text/html")
            .fault(Fault::HangAfter(1536 * 1024)),
    );
    let c = ClientBuilder::empty()
        .api_key("k")
        .base_url(server.base_url())
        .max_retries(0)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let request: openai_sdk::types::CreateChatCompletionRequest = serde_json::from_value(
        json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}]}),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let e = c.chat().stream_blocking(request).map(|_| ()).unwrap_err();
    assert_eq!(e.status(), Some(500), "{e:?}");
    assert!(started.elapsed() < Duration::from_secs(15));
}

/// A recorded Assistants run stream with `unknown` events of a type this SDK does not know
/// (and as many deltas for a message the stream never created) after its first two events.
fn assistants_stream_with_unhandled(unknown: usize) -> Vec<u8> {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/assistants/assistants_text_message.sse");
    let text = std::fs::read_to_string(path).unwrap().replace("\r\n", "\n");
    let frames: Vec<&str> = text
        .split("\n\n")
        .filter(|f| !f.trim().is_empty())
        .collect();
    let mut body = String::new();
    for frame in &frames[..2] {
        body.push_str(frame);
        body.push_str("\n\n");
    }
    for i in 0..unknown {
        body.push_str(&format!(
            "event: thread.future_event\ndata: {{\"n\": {i}}}\n\n"
        ));
        body.push_str(&format!(
            "event: thread.message.delta\ndata: {{\"id\": \"msg_never_{i}\", \"object\": \"thread.message.delta\", \"delta\": {{}}}}\n\n"
        ));
    }
    for frame in &frames[2..] {
        body.push_str(frame);
        body.push_str("\n\n");
    }
    body.into_bytes()
}

#[tokio::test]
async fn the_assistants_state_keeps_the_first_unhandled_events_and_counts_the_rest() {
    use futures::StreamExt;
    use openai_sdk::assistants::DEFAULT_MAX_UNHANDLED_EVENTS;
    use openai_sdk::StreamErrorKind;

    let unknown = 200; // 400 unhandled events: 200 unknown types, 200 stray deltas
    let server = ScriptedServer::start().await;
    let body = assistants_stream_with_unhandled(unknown);
    server
        .post("/v1/threads/runs")
        .respond_all([Reply::sse_raw(body.clone()), Reply::sse_raw(body)]);
    let c = ClientBuilder::empty()
        .api_key("k")
        .base_url(server.base_url())
        .build()
        .unwrap();
    let request: openai_sdk::types::CreateThreadAndRunRequest =
        serde_json::from_value(json!({"assistant_id": "asst_oracle"})).unwrap();

    for max in [None, Some(3)] {
        let mut stream = c
            .assistants()
            .create_thread_and_run_stream(&request)
            .await
            .unwrap();
        if let Some(max) = max {
            stream = stream.max_unhandled_events(max);
        }
        let kept = max.unwrap_or(DEFAULT_MAX_UNHANDLED_EVENTS);
        let (mut errors, mut not_kept) = (0, 0);
        while let Some(event) = stream.next().await {
            if let Err(e) = event {
                assert!(
                    matches!(
                        e,
                        Error::Stream {
                            kind: StreamErrorKind::UnknownEvent | StreamErrorKind::UnknownObject,
                            ..
                        }
                    ),
                    "{e:?}"
                );
                errors += 1;
                if e.to_string().contains("unhandled_events_dropped") {
                    not_kept += 1;
                }
            }
        }
        // Every unhandled event was reported, the first `kept` are kept, the rest counted.
        assert_eq!(errors, 2 * unknown);
        let state = stream.state();
        assert_eq!(state.unhandled_events().len(), kept);
        assert_eq!(
            state.unhandled_events_dropped(),
            (2 * unknown - kept) as u64
        );
        assert_eq!(not_kept, 2 * unknown - kept);
        assert_eq!(state.unhandled_events()[0].0, "thread.future_event");
        assert_eq!(state.unhandled_events()[1].0, "thread.message.delta");
        assert_eq!(state.unhandled_events()[2].1["n"], 1);
        // The stream went on after them: the run completed.
        assert_eq!(state.run_json().unwrap()["status"], "completed");
    }
}
