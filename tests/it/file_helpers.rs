//! `client.files().wait_for_processing` and `client.uploads().upload_file_chunked`, over
//! loopback: against the scripted server (what was sent, in which order, and every failure),
//! and against Prism (the requests fit the spec).
#![cfg(all(feature = "files", feature = "uploads"))]

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use openai_sdk::polling::PollOptions;
use openai_sdk::testing::{Gate, Reply, ScriptedServer};
use openai_sdk::types::{CreateUploadRequestPurpose, OpenAiFileStatus, UploadStatus};
use openai_sdk::uploads::ChunkedUpload;
use openai_sdk::Error;
use serde_json::{json, Value};

fn file(status: &str) -> Value {
    json!({"id": "file-1", "object": "file", "bytes": 10, "created_at": 1, "filename": "a.jsonl",
           "purpose": "fine-tune", "status": status})
}

/// Poll options whose waits are recorded instead of slept.
fn recorded_waits() -> (PollOptions, Arc<Mutex<Vec<Duration>>>) {
    let waits = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&waits);
    let options = PollOptions::new().sleeper(move |d| {
        log.lock().unwrap().push(d);
        Box::pin(async {})
    });
    (options, waits)
}

#[tokio::test]
async fn wait_for_processing_reads_until_a_final_status() {
    let server = ScriptedServer::start().await;
    server.get("/v1/files/file-1").respond_all([
        Reply::json(200, file("uploaded")),
        Reply::json(200, file("uploaded")).header("openai-poll-after-ms", "250"),
        Reply::json(200, file("processed")),
    ]);
    let (options, waits) = recorded_waits();
    let done = server
        .client()
        .files()
        .wait_for_processing("file-1", &options)
        .await
        .unwrap();
    assert_eq!(done.status, OpenAiFileStatus::Processed);
    // 5 s (the Python SDK's default) unless the server says otherwise.
    assert_eq!(
        *waits.lock().unwrap(),
        [Duration::from_secs(5), Duration::from_millis(250)]
    );
    let requests = server.requests_to("/v1/files/file-1");
    assert_eq!(requests.len(), 3);
    assert!(
        requests[0]
            .header("x-stainless-custom-poll-interval")
            .is_none(),
        "no interval was chosen"
    );

    // `error` is final too: returned, not an error.
    server.get("/v1/files/file-2").respond(Reply::json(200, json!({"id": "file-2", "status": "error",
        "status_details": "bad line 3", "object": "file", "bytes": 1, "created_at": 1, "filename": "b", "purpose": "batch"})));
    let failed = server
        .client()
        .files()
        .wait_for_processing("file-2", &PollOptions::new())
        .await
        .unwrap();
    assert_eq!(failed.status, OpenAiFileStatus::Error);
    assert_eq!(failed.status_details.as_deref(), Some("bad line 3"));
}

#[tokio::test]
async fn wait_for_processing_times_out_and_reports_api_errors() {
    let server = ScriptedServer::start().await;
    server
        .get("/v1/files/file-1")
        .respond(Reply::json(200, file("uploaded")));
    // Real waits (a recorded sleeper would not move the clock the timeout reads).
    let options = PollOptions::new()
        .interval(Duration::from_millis(100))
        .timeout(Duration::from_millis(250));
    let e = server
        .client()
        .files()
        .wait_for_processing("file-1", &options)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e:?}");
    assert!(e.to_string().contains("uploaded"), "{e}");
    let reads = server.requests_to("/v1/files/file-1");
    assert!((1..=3).contains(&reads.len()), "{} reads", reads.len());
    // The chosen interval is passed on, as the Python SDK's poll helpers do.
    assert_eq!(
        reads[0].header("x-stainless-custom-poll-interval"),
        Some("100")
    );

    server.get("/v1/files/nope").respond(Reply::openai_error(
        404,
        "invalid_request_error",
        "No such File object: nope",
    ));
    let e = server
        .client()
        .files()
        .wait_for_processing("nope", &PollOptions::new())
        .await
        .unwrap_err();
    assert!(e.is_not_found(), "{e:?}");

    // A final answer that is not a file: a decode error with the path.
    server.get("/v1/files/odd").respond(Reply::json(
        200,
        json!({"id": "odd", "status": "processed", "bytes": "ten"}),
    ));
    let e = server
        .client()
        .files()
        .wait_for_processing("odd", &PollOptions::new())
        .await
        .unwrap_err();
    let Error::Decode { path, .. } = &e else {
        panic!("expected a decode error, got {e:?}")
    };
    assert_eq!(path, "bytes", "{e}");
}

fn upload(status: &str, bytes: u64) -> Value {
    json!({"id": "upload_1", "object": "upload", "bytes": bytes, "created_at": 1, "expires_at": 3601,
           "filename": "data.jsonl", "purpose": "fine-tune", "status": status})
}

/// Routes for one chunked upload: parts get ids `part_0`, `part_1`, ... in arrival order;
/// completion echoes the part ids it was given.
fn serve_uploads(server: &ScriptedServer, bytes: u64) {
    server
        .post("/v1/uploads")
        .respond(Reply::json(200, upload("pending", bytes)));
    let count = Arc::new(Mutex::new(0));
    server.post("/v1/uploads/upload_1/parts").respond_with(move |_| {
        let mut n = count.lock().unwrap();
        let id = format!("part_{n}");
        *n += 1;
        Reply::json(200, json!({"id": id, "object": "upload.part", "created_at": 1, "upload_id": "upload_1"}))
    });
    server
        .post("/v1/uploads/upload_1/complete")
        .respond_with(move |request| {
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            let mut done = upload("completed", bytes);
            done["file"] = file("processed");
            done["part_ids_seen"] = body["part_ids"].clone();
            Reply::json(200, done)
        });
}

/// The bytes of the `data` field of a multipart part request.
fn part_data(body: &[u8]) -> Vec<u8> {
    let text = body.to_vec();
    let start = text
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("part headers")
        + 4;
    let end = text
        .windows(4)
        .rposition(|w| w == b"\r\n--")
        .expect("closing boundary");
    text[start..end].to_vec()
}

#[tokio::test]
async fn upload_file_chunked_sends_parts_in_order_then_completes() {
    let server = ScriptedServer::start().await;
    let data: Vec<u8> = (0..10u8).collect();
    serve_uploads(&server, 10);
    let upload = ChunkedUpload::bytes(
        "data.jsonl",
        data.clone(),
        "text/jsonl",
        CreateUploadRequestPurpose::FineTune,
    )
    .part_size(4)
    .md5("70903e79b7575e3f4e7ffa15c2608ac7");
    let done = server
        .client()
        .uploads()
        .upload_file_chunked(upload)
        .await
        .unwrap();
    assert_eq!(done.status, UploadStatus::Completed);
    assert_eq!(done.file.unwrap().id, "file-1");

    let create: Value = serde_json::from_slice(&server.requests_to("/v1/uploads")[0].body).unwrap();
    assert_eq!(
        create,
        json!({"bytes": 10, "filename": "data.jsonl", "mime_type": "text/jsonl", "purpose": "fine-tune"})
    );
    let parts: Vec<Vec<u8>> = server
        .requests_to("/v1/uploads/upload_1/parts")
        .iter()
        .map(|r| part_data(&r.body))
        .collect();
    assert_eq!(
        parts,
        [
            data[0..4].to_vec(),
            data[4..8].to_vec(),
            data[8..10].to_vec()
        ]
    );
    let complete: Value =
        serde_json::from_slice(&server.requests_to("/v1/uploads/upload_1/complete")[0].body)
            .unwrap();
    assert_eq!(
        complete,
        json!({"md5": "70903e79b7575e3f4e7ffa15c2608ac7", "part_ids": ["part_0", "part_1", "part_2"]})
    );
}

#[tokio::test]
async fn upload_file_chunked_reads_a_file_part_by_part() {
    let dir = std::env::temp_dir().join(format!("openai-sdk-upload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("data.jsonl");
    let data: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, &data).unwrap();

    let server = ScriptedServer::start().await;
    serve_uploads(&server, 1000);
    let upload = ChunkedUpload::path(&path, "text/jsonl", CreateUploadRequestPurpose::FineTune)
        .part_size(300);
    server
        .client()
        .uploads()
        .upload_file_chunked(upload)
        .await
        .unwrap();
    let create: Value = serde_json::from_slice(&server.requests_to("/v1/uploads")[0].body).unwrap();
    assert_eq!(create["filename"], "data.jsonl", "named after the path");
    assert_eq!(create["bytes"], 1000);
    let parts: Vec<Vec<u8>> = server
        .requests_to("/v1/uploads/upload_1/parts")
        .iter()
        .map(|r| part_data(&r.body))
        .collect();
    assert_eq!(
        parts.iter().map(Vec::len).collect::<Vec<_>>(),
        [300, 300, 300, 100]
    );
    assert_eq!(parts.concat(), data);

    // An empty file: an upload of 0 bytes, no parts, completed with none.
    let empty = dir.join("empty.jsonl");
    std::fs::write(&empty, b"").unwrap();
    let server = ScriptedServer::start().await;
    serve_uploads(&server, 0);
    let upload = ChunkedUpload::path(&empty, "text/jsonl", CreateUploadRequestPurpose::FineTune)
        .filename("renamed.jsonl");
    server
        .client()
        .uploads()
        .upload_file_chunked(upload)
        .await
        .unwrap();
    assert_eq!(server.request_count_to("/v1/uploads/upload_1/parts"), 0);
    let create: Value = serde_json::from_slice(&server.requests_to("/v1/uploads")[0].body).unwrap();
    assert_eq!(create["filename"], "renamed.jsonl");
    let complete: Value =
        serde_json::from_slice(&server.requests_to("/v1/uploads/upload_1/complete")[0].body)
            .unwrap();
    assert_eq!(complete["part_ids"], json!([]));

    // A path that does not exist: nothing is sent.
    let server = ScriptedServer::start().await;
    let upload = ChunkedUpload::path(
        dir.join("missing"),
        "text/jsonl",
        CreateUploadRequestPurpose::FineTune,
    );
    let e = server
        .client()
        .uploads()
        .upload_file_chunked(upload)
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::InvalidRequest(_)) && e.to_string().contains("missing"),
        "{e:?}"
    );
    assert_eq!(server.request_count(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn parts_sent_at_once_are_completed_in_the_file_order() {
    let server = ScriptedServer::start().await;
    server
        .post("/v1/uploads")
        .respond(Reply::json(200, upload("pending", 40)));
    // Each part is named after its first byte; the early parts answer last.
    server
        .post("/v1/uploads/upload_1/parts")
        .respond_with(|request| {
            let first = part_data(&request.body)[0];
            let reply = Reply::json(
                200,
                json!({"id": format!("part_{first:02}"), "object": "upload.part",
            "created_at": 1, "upload_id": "upload_1"}),
            );
            reply.delay_headers(Duration::from_millis(u64::from(40 - first) * 5))
        });
    server
        .post("/v1/uploads/upload_1/complete")
        .respond_with(|request| {
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            let mut done = upload("completed", 40);
            done["part_ids_seen"] = body["part_ids"].clone();
            Reply::json(200, done)
        });
    let data: Vec<u8> = (0..40u8).collect();
    let upload = ChunkedUpload::bytes(
        "d",
        data,
        "text/plain",
        CreateUploadRequestPurpose::Assistants,
    )
    .part_size(4)
    .max_concurrency(4);
    server
        .client()
        .uploads()
        .upload_file_chunked(upload)
        .await
        .unwrap();
    let complete: Value =
        serde_json::from_slice(&server.requests_to("/v1/uploads/upload_1/complete")[0].body)
            .unwrap();
    let expected: Vec<String> = (0..10).map(|i| format!("part_{:02}", i * 4)).collect();
    assert_eq!(complete["part_ids"], json!(expected));
    assert_eq!(server.request_count_to("/v1/uploads/upload_1/parts"), 10);
    // They did overlap: requests in flight together need connections of their own (one
    // keep-alive connection serves a sequential upload).
    assert!(
        server.stats().connections_opened > 1,
        "{:?}",
        server.stats()
    );
}

/// `max_concurrency` parts are really in flight together, and never more: every part's
/// answer is held at a gate, so the client can only have sent more parts by not waiting
/// for the earlier answers.
#[tokio::test]
async fn max_concurrency_parts_are_in_flight_together_and_never_more() {
    let server = ScriptedServer::start().await;
    server
        .post("/v1/uploads")
        .respond(Reply::json(200, upload("pending", 40)));
    server
        .post("/v1/uploads/upload_1/complete")
        .respond(Reply::json(200, upload("completed", 40)));
    let gate = Gate::new();
    let held = gate.clone();
    let count = Arc::new(Mutex::new(0));
    server
        .post("/v1/uploads/upload_1/parts")
        .respond_with(move |_| {
            let mut n = count.lock().unwrap();
            let id = format!("part_{n}");
            *n += 1;
            Reply::json(200, json!({"id": id, "object": "upload.part", "created_at": 1, "upload_id": "upload_1"}))
                .gate(&held)
        });
    let upload = ChunkedUpload::bytes(
        "d",
        (0..40u8).collect::<Vec<u8>>(),
        "text/plain",
        CreateUploadRequestPurpose::Assistants,
    )
    .part_size(4)
    .max_concurrency(4);
    let client = server.client();
    let task = tokio::spawn(async move { client.uploads().upload_file_chunked(upload).await });
    let parts = || server.request_count_to("/v1/uploads/upload_1/parts");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while parts() < 4 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} parts in flight while every answer is held",
            parts()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Give a fifth part every chance to go out before any answer is released.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(parts(), 4, "more parts in flight than max_concurrency");
    gate.open();
    task.await.unwrap().unwrap();
    assert_eq!(parts(), 10);
    let complete: Value =
        serde_json::from_slice(&server.requests_to("/v1/uploads/upload_1/complete")[0].body)
            .unwrap();
    assert_eq!(complete["part_ids"].as_array().map(Vec::len), Some(10));
}

#[tokio::test]
async fn a_failed_part_stops_the_upload_before_completion() {
    let server = ScriptedServer::start().await;
    serve_uploads(&server, 10);
    server
        .post("/v1/uploads/upload_1/parts")
        .respond(Reply::openai_error(
            400,
            "invalid_request_error",
            "Upload is expired",
        ));
    let upload = ChunkedUpload::bytes(
        "d",
        vec![0u8; 10],
        "text/plain",
        CreateUploadRequestPurpose::Assistants,
    )
    .part_size(4);
    let client = openai_sdk::Client::builder()
        .api_key("k")
        .base_url(server.base_url())
        .max_retries(0)
        .build()
        .unwrap();
    let e = client
        .uploads()
        .upload_file_chunked(upload)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(400), "{e:?}");
    assert_eq!(server.request_count_to("/v1/uploads/upload_1/parts"), 1);
    assert_eq!(server.request_count_to("/v1/uploads/upload_1/complete"), 0);
}

/// Prism checks every request of the helper (JSON bodies and the multipart parts) against
/// the spec and answers with its examples.
#[tokio::test]
async fn upload_file_chunked_requests_fit_the_spec() {
    let client = common::client(&common::prism_url(), false);
    let upload = ChunkedUpload::bytes(
        "data.jsonl",
        vec![b'x'; 2500],
        "text/jsonl",
        CreateUploadRequestPurpose::FineTune,
    )
    .part_size(1000);
    // Prism answers a request that does not fit the spec with a 422, which would fail here.
    let done = client
        .uploads()
        .upload_file_chunked(upload)
        .await
        .unwrap_or_else(|e| panic!("{}", common::describe(&e)));
    assert!(!done.id.is_empty(), "{done:?}");
}
