//! Path parameters that URL normalization would not keep as one segment (empty, `.`, `..`)
//! are refused with `Error::Config` naming the parameter, before anything is sent: in the
//! generated methods and in every hand-written path builder. The server is a real loopback
//! server that would answer any request, so "nothing was sent" is its own request count.

use openai_sdk::polling::PollOptions;
use openai_sdk::testing::{Reply, ScriptedServer};
use openai_sdk::{Client, ClientBuilder, Error};
use serde_json::json;

fn client(server: &ScriptedServer) -> Client {
    ClientBuilder::empty()
        .api_key("k")
        .base_url(server.base_url())
        .max_retries(0)
        .build()
        .unwrap()
}

/// Asserts `Error::Config` that names `param`, and that the server saw nothing.
#[track_caller]
fn refused<T: std::fmt::Debug>(r: Result<T, Error>, param: &str, server: &ScriptedServer) {
    match r {
        Err(Error::Config(m)) => {
            assert!(m.contains(&format!("`{param}`")), "{m}");
            assert!(m.contains("not sent"), "{m}");
        }
        other => panic!("expected Error::Config naming {param}, got {other:?}"),
    }
    assert_eq!(server.request_count(), 0, "{:?}", server.requests());
}

#[tokio::test]
async fn generated_methods_refuse_dot_segments() {
    let server = ScriptedServer::start().await;
    // Anything sent would be answered: a refusal is not a 404 in disguise.
    server
        .get("/v1/models")
        .respond(Reply::json(200, json!({"object": "list", "data": []})));
    let c = client(&server);
    for bad in ["", ".", ".."] {
        refused(c.retrieve_model(bad).await, "model", &server);
        refused(c.delete_file(bad).await, "file_id", &server);
        refused(c.download_file(bad).await, "file_id", &server);
    }
}

#[cfg(feature = "vector-stores")]
#[tokio::test]
async fn delete_vector_store_file_with_dotdot_does_not_delete_the_file() {
    let server = ScriptedServer::start().await;
    server.delete("/v1/files/file_abc").respond(Reply::json(
        200,
        json!({"id": "file_abc", "object": "file", "deleted": true}),
    ));
    let c = client(&server);
    refused(
        c.delete_vector_store_file("..", "file_abc").await,
        "vector_store_id",
        &server,
    );
    refused(
        c.delete_vector_store_file("vs_1", ".").await,
        "file_id",
        &server,
    );
}

#[tokio::test]
async fn values_that_only_look_like_dots_are_encoded_and_sent() {
    let server = ScriptedServer::start().await;
    let c = client(&server);
    // `...`, `%2e%2e`, `a/..` and `..\x` are ids like any other: one segment each.
    for (id, path) in [
        ("...", "/v1/models/..."),
        ("%2e%2e", "/v1/models/%252e%252e"),
        ("a/..", "/v1/models/a%2F.."),
        ("..\\x", "/v1/models/..%5Cx"),
    ] {
        server.get(path).respond(Reply::json(
            200,
            json!({"id": id, "object": "model", "created": 1, "owned_by": "o"}),
        ));
        let m = c.retrieve_model(id).await.unwrap().into_inner();
        assert_eq!(m.id, id);
        assert_eq!(server.request_count_to(path), 1, "{path}");
    }
}

#[tokio::test]
async fn hand_written_builders_refuse_dot_segments() {
    let server = ScriptedServer::start().await;
    let c = client(&server);
    refused(
        c.files()
            .wait_for_processing("..", &PollOptions::new())
            .await,
        "file_id",
        &server,
    );
    refused(
        c.responses()
            .retrieve_stream(".", None, Default::default())
            .await
            .map(|_| ()),
        "id",
        &server,
    );
    refused(
        c.assistants()
            .poll_run_until_final("..", "run_1", &PollOptions::new())
            .await,
        "thread_id",
        &server,
    );
    refused(
        c.assistants()
            .poll_run_until_final("thread_1", "", &PollOptions::new())
            .await,
        "run_id",
        &server,
    );
}

#[cfg(all(feature = "vector-stores", feature = "files"))]
#[tokio::test]
async fn vector_store_uploads_check_the_store_id_before_uploading() {
    use openai_sdk::multipart::FilePart;
    let server = ScriptedServer::start().await;
    let c = client(&server);
    let vs = c.vector_store_polling();
    refused(
        vs.upload_file("..", FilePart::bytes("a.txt", b"hi".to_vec()))
            .await,
        "vector_store_id",
        &server,
    );
    refused(
        vs.upload_file_and_poll(
            "..",
            FilePart::bytes("a.txt", b"hi".to_vec()),
            &PollOptions::new(),
        )
        .await,
        "vector_store_id",
        &server,
    );
    refused(
        vs.poll_file("vs_1", "..", &PollOptions::new()).await,
        "id",
        &server,
    );
}

#[cfg(feature = "uploads")]
#[tokio::test]
async fn multipart_operations_refuse_dot_segments() {
    let server = ScriptedServer::start().await;
    let c = client(&server);
    let body: openai_sdk::types::AddUploadPartRequest = openai_sdk::types::AddUploadPartRequest {
        data: openai_sdk::multipart::FilePart::bytes("part", b"x".to_vec()),
        extra: Default::default(),
    };
    refused(c.add_upload_part("..", &body).await, "upload_id", &server);
}

#[tokio::test]
async fn an_id_from_the_server_is_checked_before_it_is_polled() {
    let server = ScriptedServer::start().await;
    // The run the server created names thread `..`: polling it would read `/threads/runs/..`.
    server.post("/v1/threads/runs").respond(Reply::json(
        200,
        json!({"id": "run_1", "object": "thread.run", "thread_id": "..", "status": "queued"}),
    ));
    let c = client(&server);
    let request: openai_sdk::types::CreateThreadAndRunRequest =
        serde_json::from_value(json!({"assistant_id": "asst_1"})).unwrap();
    let err = c
        .assistants()
        .create_thread_and_run_poll(&request, &PollOptions::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Config(m) if m.contains("`thread_id`")),
        "{err:?}"
    );
    assert_eq!(server.request_count(), 1, "only the create was sent");
}

#[tokio::test]
async fn an_azure_deployment_of_dotdot_is_refused() {
    let server = ScriptedServer::start().await;
    let c = ClientBuilder::empty()
        .azure(server.origin(), "2024-10-21")
        .api_key("k")
        .azure_deployment("..")
        .max_retries(0)
        .build()
        .unwrap();
    let request: openai_sdk::types::CreateChatCompletionRequest = serde_json::from_value(
        json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}),
    )
    .unwrap();
    refused(
        c.create_chat_completion(&request).await,
        "deployment",
        &server,
    );
}

#[test]
fn path_segment_is_public_and_checked() {
    assert_eq!(openai_sdk::path_segment("id", "file-1").unwrap(), "file-1");
    assert_eq!(
        openai_sdk::path_segment("id", "a b/c").unwrap(),
        "a%20b%2Fc"
    );
    for bad in ["", ".", ".."] {
        let e = openai_sdk::path_segment("thread_id", bad).unwrap_err();
        assert!(
            matches!(&e, Error::Config(m) if m.contains("`thread_id`")),
            "{e:?}"
        );
    }
}
