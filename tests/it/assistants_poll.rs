//! The `*_and_poll` helpers against the scripted loopback server, whose objects change
//! status from one read to the next and which sends `openai-poll-after-ms`. Waits go
//! through an injected sleeper that records them and returns at once: the tests count
//! requests and check the waits asked for, never the clock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use openai_sdk::polling::PollOptions;
use openai_sdk::testing::{Reply, ScriptedServer};
use openai_sdk::{types, Error};
use serde_json::{json, Value};

/// Poll options whose sleeper records each wait and returns at once.
fn recording(options: PollOptions) -> (PollOptions, Arc<Mutex<Vec<Duration>>>) {
    let waits = Arc::new(Mutex::new(Vec::new()));
    let seen = waits.clone();
    let options = options.sleeper(move |d| {
        seen.lock().unwrap().push(d);
        futures::future::ready(()).boxed()
    });
    (options, waits)
}

fn run(status: &str) -> Value {
    json!({"id": "run_1", "object": "thread.run", "thread_id": "thread_1", "assistant_id": "asst_1",
           "status": status, "instructions": null})
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[tokio::test]
async fn create_run_and_poll_honours_poll_after_then_the_interval() {
    let server = ScriptedServer::start().await;
    server
        .post("/v1/threads/thread_1/runs")
        .respond(Reply::json(200, run("queued")).header("openai-poll-after-ms", "250"));
    server.get("/v1/threads/thread_1/runs/run_1").respond_all([
        Reply::json(200, run("in_progress")).header("openai-poll-after-ms", "400"),
        Reply::json(200, run("in_progress")),
        Reply::json(200, run("cancelling")),
        Reply::json(200, run("completed")),
    ]);
    let (options, waits) = recording(PollOptions::new().interval(ms(75)));
    let request: types::CreateRunRequest =
        serde_json::from_value(json!({"assistant_id": "asst_1"})).unwrap();

    let done = server
        .client()
        .assistants()
        .create_run_and_poll("thread_1", &request, &options)
        .await
        .unwrap();

    assert_eq!(done.status(), Some("completed"));
    // The server's wait when it gives one, else ours.
    assert_eq!(*waits.lock().unwrap(), [ms(250), ms(400), ms(75), ms(75)]);
    assert_eq!(server.request_count_to("/v1/threads/thread_1/runs"), 1);
    assert_eq!(
        server.request_count_to("/v1/threads/thread_1/runs/run_1"),
        4
    );
    let get = &server.requests_to("/v1/threads/thread_1/runs/run_1")[0];
    assert_eq!(get.header("openai-beta"), Some("assistants=v2"));
    assert_eq!(get.header("x-stainless-poll-helper"), Some("true"));
    assert_eq!(get.header("x-stainless-custom-poll-interval"), Some("75"));
    // `"instructions": null` (which real runs carry) does not break the helper.
    assert!(done["instructions"].is_null());
}

#[tokio::test]
async fn default_interval_is_one_second() {
    let server = ScriptedServer::start().await;
    server
        .post("/v1/threads/runs")
        .respond(Reply::json(200, run("queued")));
    server.get("/v1/threads/thread_1/runs/run_1").respond_all([
        Reply::json(200, run("in_progress")),
        Reply::json(200, run("requires_action")),
    ]);
    let (options, waits) = recording(PollOptions::new());
    let request: types::CreateThreadAndRunRequest =
        serde_json::from_value(json!({"assistant_id": "asst_1"})).unwrap();

    let done = server
        .client()
        .assistants()
        .create_thread_and_run_poll(&request, &options)
        .await
        .unwrap();

    assert_eq!(
        done.status(),
        Some("requires_action"),
        "requires_action stops polling"
    );
    assert_eq!(*waits.lock().unwrap(), [ms(1000), ms(1000)]);
    assert_eq!(
        server.request_count_to("/v1/threads/thread_1/runs/run_1"),
        2
    );
    let get = &server.requests_to("/v1/threads/thread_1/runs/run_1")[0];
    assert_eq!(get.header("x-stainless-custom-poll-interval"), None);
}

#[tokio::test]
async fn submit_tool_outputs_and_poll_and_a_final_status_at_once() {
    let server = ScriptedServer::start().await;
    server
        .post("/v1/threads/thread_1/runs/run_1/submit_tool_outputs")
        .respond(Reply::json(200, run("completed")));
    let (options, waits) = recording(PollOptions::new());
    let request: types::SubmitToolOutputsRunRequest = serde_json::from_value(
        json!({"tool_outputs": [{"tool_call_id": "call_1", "output": "42"}]}),
    )
    .unwrap();

    let done = server
        .client()
        .assistants()
        .submit_tool_outputs_and_poll("thread_1", "run_1", &request, &options)
        .await
        .unwrap();

    assert_eq!(done.status(), Some("completed"));
    assert!(
        waits.lock().unwrap().is_empty(),
        "already final: no wait, no read"
    );
    assert_eq!(server.request_count(), 1);
    assert_eq!(
        server.requests()[0].json().unwrap()["tool_outputs"][0]["output"],
        "42"
    );
}

#[tokio::test]
async fn the_timeout_is_a_typed_error_before_waiting_past_it() {
    let server = ScriptedServer::start().await;
    server
        .post("/v1/threads/thread_1/runs")
        .respond(Reply::json(200, run("queued")));
    server
        .get("/v1/threads/thread_1/runs/run_1")
        .respond_all([
            Reply::json(200, run("in_progress")).header("openai-poll-after-ms", "600000")
        ]);
    let (options, waits) = recording(
        PollOptions::new()
            .interval(ms(10))
            .timeout(Duration::from_secs(30)),
    );
    let request: types::CreateRunRequest =
        serde_json::from_value(json!({"assistant_id": "asst_1"})).unwrap();

    let err = server
        .client()
        .assistants()
        .create_run_and_poll("thread_1", &request, &options)
        .await
        .unwrap_err();

    let Error::Timeout { message } = &err else {
        panic!("{err:?}")
    };
    // The server's 10 minutes are cut to the 60 s cap (`polling::MAX_POLL_AFTER`), which
    // still passes the 30 s timeout.
    assert!(
        message.contains("in_progress") && message.contains("(60000 ms)"),
        "{message}"
    );
    assert!(err.is_timeout());
    // Waited 10 ms once, read once, then the server asked for 10 minutes: give up.
    assert_eq!(*waits.lock().unwrap(), [ms(10)]);
    assert_eq!(
        server.request_count_to("/v1/threads/thread_1/runs/run_1"),
        1
    );
}

#[tokio::test]
async fn an_error_answer_while_polling_stops_it() {
    let server = ScriptedServer::start().await;
    server
        .post("/v1/threads/thread_1/runs")
        .respond(Reply::json(200, run("queued")));
    server
        .get("/v1/threads/thread_1/runs/run_1")
        .respond(Reply::openai_error(
            404,
            "invalid_request_error",
            "No run found with id 'run_1'.",
        ));
    let (options, _) = recording(PollOptions::new());
    let request: types::CreateRunRequest =
        serde_json::from_value(json!({"assistant_id": "asst_1"})).unwrap();
    let err = server
        .client()
        .assistants()
        .create_run_and_poll("thread_1", &request, &options)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert_eq!(
        server.request_count_to("/v1/threads/thread_1/runs/run_1"),
        1
    );
}

#[tokio::test]
async fn dropping_the_future_cancels_the_polling() {
    let server = ScriptedServer::start().await;
    server
        .post("/v1/threads/thread_1/runs")
        .respond(Reply::json(200, run("queued")));
    server
        .get("/v1/threads/thread_1/runs/run_1")
        .respond(Reply::json(200, run("in_progress")));
    // A sleeper that never wakes, and tells the test it was reached.
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let tx = Mutex::new(Some(tx));
    let options = PollOptions::new().sleeper(move |_| {
        if let Some(tx) = tx.lock().unwrap().take() {
            let _ = tx.send(());
        }
        futures::future::pending().boxed()
    });
    let request: types::CreateRunRequest =
        serde_json::from_value(json!({"assistant_id": "asst_1"})).unwrap();
    let client = server.client();
    let assistants = client.assistants();
    let poll = assistants.create_run_and_poll("thread_1", &request, &options);
    tokio::select! {
        _ = poll => panic!("the poll cannot finish: its sleeper never wakes"),
        reached = rx => reached.unwrap(),
    }
    // The future is dropped here, in its first wait: nothing reads the run again.
    assert_eq!(server.request_count(), 1);
    assert_eq!(
        server.request_count_to("/v1/threads/thread_1/runs/run_1"),
        0
    );
}

#[cfg(feature = "vector-stores")]
mod vector_stores {
    use super::*;

    fn file(status: &str) -> Value {
        json!({"id": "file_1", "object": "vector_store.file", "vector_store_id": "vs_1", "status": status,
               "created_at": 0, "usage_bytes": 0, "last_error": null})
    }

    fn batch(status: &str) -> Value {
        json!({"id": "vsfb_1", "object": "vector_store.files_batch", "vector_store_id": "vs_1", "status": status,
               "created_at": 0, "file_counts": {"in_progress": 0, "completed": 0, "failed": 0, "cancelled": 0, "total": 0}})
    }

    #[tokio::test]
    async fn vector_store_file_create_and_poll() {
        let server = ScriptedServer::start().await;
        server
            .post("/v1/vector_stores/vs_1/files")
            .respond(Reply::json(200, file("in_progress")).header("openai-poll-after-ms", "20"));
        server
            .get("/v1/vector_stores/vs_1/files/file_1")
            .respond_all([
                Reply::json(200, file("in_progress")).header("openai-poll-after-ms", "30"),
                Reply::json(200, file("completed")),
            ]);
        let (options, waits) = recording(PollOptions::new());
        let request: types::CreateVectorStoreFileRequest =
            serde_json::from_value(json!({"file_id": "file_1"})).unwrap();
        let done = server
            .client()
            .vector_store_polling()
            .create_file_and_poll("vs_1", &request, &options)
            .await
            .unwrap();
        assert_eq!(done.status(), Some("completed"));
        assert_eq!(*waits.lock().unwrap(), [ms(20), ms(30)]);
        assert_eq!(
            server.request_count_to("/v1/vector_stores/vs_1/files/file_1"),
            2
        );
    }

    #[tokio::test]
    async fn file_batch_create_and_poll_stops_on_a_final_status() {
        let server = ScriptedServer::start().await;
        server
            .post("/v1/vector_stores/vs_1/file_batches")
            .respond(Reply::json(200, batch("in_progress")));
        server
            .get("/v1/vector_stores/vs_1/file_batches/vsfb_1")
            .respond_all([
                Reply::json(200, batch("in_progress")),
                Reply::json(200, batch("cancelled")),
            ]);
        let (options, waits) = recording(PollOptions::new().interval(ms(5)));
        let request: types::CreateVectorStoreFileBatchRequest =
            serde_json::from_value(json!({"file_ids": ["file_1", "file_2"]})).unwrap();
        let done = server
            .client()
            .vector_store_polling()
            .create_file_batch_and_poll("vs_1", &request, &options)
            .await
            .unwrap();
        assert_eq!(done.status(), Some("cancelled"));
        assert_eq!(*waits.lock().unwrap(), [ms(5), ms(5)]);
        assert_eq!(
            server.request_count_to("/v1/vector_stores/vs_1/file_batches/vsfb_1"),
            2
        );
    }

    #[tokio::test]
    async fn poll_reads_an_existing_file_or_batch_until_final() {
        let server = ScriptedServer::start().await;
        server
            .get("/v1/vector_stores/vs_1/files/file_1")
            .respond_all([
                Reply::json(200, file("in_progress")),
                Reply::json(200, file("failed")),
            ]);
        server
            .get("/v1/vector_stores/vs_1/file_batches/vsfb_1")
            .respond_all([
                Reply::json(200, batch("in_progress")),
                Reply::json(200, batch("in_progress")),
                Reply::json(200, batch("completed")),
            ]);
        let (options, waits) = recording(PollOptions::new().interval(ms(7)));
        let polling = server.client();
        let polling = polling.vector_store_polling();
        let done = polling.poll_file("vs_1", "file_1", &options).await.unwrap();
        assert_eq!(done.status(), Some("failed"));
        let done = polling
            .poll_file_batch("vs_1", "vsfb_1", &options)
            .await
            .unwrap();
        assert_eq!(done.status(), Some("completed"));
        assert_eq!(*waits.lock().unwrap(), [ms(7), ms(7), ms(7)]);
        assert_eq!(
            server.request_count_to("/v1/vector_stores/vs_1/files/file_1"),
            2
        );
        assert_eq!(
            server.request_count_to("/v1/vector_stores/vs_1/file_batches/vsfb_1"),
            3
        );
        assert_eq!(server.request_count(), 5, "reads only, no create");

        // An id the server does not know: the API error, at once.
        server
            .get("/v1/vector_stores/vs_1/files/nope")
            .respond(Reply::openai_error(
                404,
                "invalid_request_error",
                "No file found",
            ));
        let e = polling
            .poll_file("vs_1", "nope", &options)
            .await
            .unwrap_err();
        assert!(e.is_not_found(), "{e:?}");
    }

    #[cfg(feature = "files")]
    #[tokio::test]
    async fn upload_file_uploads_and_attaches_without_polling() {
        use openai_sdk::multipart::FilePart;

        let server = ScriptedServer::start().await;
        server.post("/v1/files").respond(Reply::json(
            200,
            json!({"id": "file_1", "object": "file", "bytes": 1,
            "created_at": 0, "filename": "one.txt", "purpose": "assistants", "status": "uploaded"}),
        ));
        server
            .post("/v1/vector_stores/vs_1/files")
            .respond(Reply::json(200, file("in_progress")));
        let added = server
            .client()
            .vector_store_polling()
            .upload_file("vs_1", FilePart::bytes("one.txt", "x"))
            .await
            .unwrap();
        assert_eq!(added.status(), Some("in_progress"));
        let attach = &server.requests_to("/v1/vector_stores/vs_1/files")[0];
        assert_eq!(
            serde_json::from_slice::<Value>(&attach.body).unwrap(),
            json!({"file_id": "file_1"})
        );
        assert!(
            attach.header("x-stainless-poll-helper").is_none(),
            "not a poll helper"
        );
        assert_eq!(server.request_count(), 2, "no reads after the attach");
    }

    #[cfg(feature = "files")]
    #[tokio::test]
    async fn upload_and_poll_uploads_every_file_then_polls() {
        use openai_sdk::multipart::FilePart;
        use std::sync::atomic::{AtomicUsize, Ordering};

        let server = ScriptedServer::start().await;
        let n = Arc::new(AtomicUsize::new(0));
        let counter = n.clone();
        server.post("/v1/files").respond_with(move |_| {
            let i = counter.fetch_add(1, Ordering::SeqCst);
            Reply::json(200, json!({"id": format!("file_up{i}"), "object": "file", "bytes": 3, "created_at": 0,
                                    "filename": "f.txt", "purpose": "assistants", "status": "processed"}))
        });
        server
            .post("/v1/vector_stores/vs_1/file_batches")
            .respond(Reply::json(200, batch("in_progress")));
        server
            .get("/v1/vector_stores/vs_1/file_batches/vsfb_1")
            .respond(Reply::json(200, batch("completed")));
        server
            .post("/v1/vector_stores/vs_1/files")
            .respond(Reply::json(200, file("in_progress")));
        server
            .get("/v1/vector_stores/vs_1/files/file_1")
            .respond(Reply::json(200, file("completed")));
        let (options, waits) = recording(PollOptions::new().interval(ms(5)).max_concurrency(2));
        let files = (0..5)
            .map(|i| FilePart::bytes(format!("f{i}.txt"), "abc"))
            .collect();
        let polling = server.client();
        let done = polling
            .vector_store_polling()
            .upload_file_batch_and_poll("vs_1", files, vec!["file_old".into()], &options)
            .await
            .unwrap();
        assert_eq!(done.status(), Some("completed"));
        assert_eq!(server.request_count_to("/v1/files"), 5);
        let sent = server.requests_to("/v1/vector_stores/vs_1/file_batches")[0]
            .json()
            .unwrap();
        let mut ids: Vec<String> = serde_json::from_value(sent["file_ids"].clone()).unwrap();
        ids.sort();
        assert_eq!(
            ids,
            ["file_old", "file_up0", "file_up1", "file_up2", "file_up3", "file_up4"]
        );
        assert_eq!(*waits.lock().unwrap(), [ms(5)]);

        // One file: upload, add to the store, poll.
        let one = polling
            .vector_store_polling()
            .upload_file_and_poll("vs_1", FilePart::bytes("one.txt", "x"), &options)
            .await
            .unwrap();
        assert_eq!(one.status(), Some("completed"));
        assert_eq!(server.request_count_to("/v1/files"), 6);
        let added = server.requests_to("/v1/vector_stores/vs_1/files")[0]
            .json()
            .unwrap();
        assert_eq!(added["file_id"], "file_up5");

        // Nothing to upload or add: refused before any request.
        let before = server.request_count();
        let err = polling
            .vector_store_polling()
            .upload_file_batch_and_poll("vs_1", Vec::new(), Vec::new(), &options)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidRequest(_)), "{err:?}");
        assert_eq!(server.request_count(), before);
    }
}
