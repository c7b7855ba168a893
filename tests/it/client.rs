//! The client over real HTTP on loopback: headers, errors, decoding, multipart.

use openai_sdk::multipart::FilePart;
use openai_sdk::testing::{Reply, ScriptedServer};
use openai_sdk::{types, Client, Error};
use serde_json::json;

fn client(server: &ScriptedServer) -> Client {
    Client::builder()
        .api_key("sk-secret-123")
        .base_url(server.base_url())
        .organization("org-1")
        .project("proj-1")
        .header("x-team", "search")
        .build()
        .unwrap()
}

fn models_body() -> serde_json::Value {
    json!({"object": "list", "data": [{"id": "gpt-4o", "object": "model", "created": 1, "owned_by": "system"}]})
}

#[tokio::test]
async fn every_request_carries_auth_and_configured_headers() {
    let server = ScriptedServer::start().await;
    server
        .get("/v1/models")
        .respond(Reply::json(200, models_body()));
    let c = client(&server);
    let models = c.list_models().await.unwrap();
    assert_eq!(models.data[0].id, "gpt-4o");
    assert_eq!(models.status().as_u16(), 200);

    let req = server.last_request().unwrap();
    assert_eq!(req.header("authorization"), Some("Bearer sk-secret-123"));
    assert_eq!(req.header("openai-organization"), Some("org-1"));
    assert_eq!(req.header("openai-project"), Some("proj-1"));
    assert_eq!(req.header("x-team"), Some("search"));
    assert!(req
        .header("user-agent")
        .unwrap()
        .starts_with("openai-sdk-rust/"));
    // progenitor's `api-version` header is deliberately not sent.
    assert_eq!(req.header("api-version"), None);
}

#[test]
fn debug_never_shows_the_key() {
    let c = Client::builder().api_key("sk-secret-123").build().unwrap();
    let shown = format!("{c:?}");
    assert!(!shown.contains("sk-secret-123"), "{shown}");
    assert!(shown.contains("redacted"), "{shown}");
}

#[test]
fn missing_key_is_a_config_error() {
    let e = openai_sdk::ClientBuilder::empty().build().unwrap_err();
    assert!(matches!(e, Error::Config(_)));
    assert!(e.to_string().contains("OPENAI_API_KEY"), "{e}");
}

#[tokio::test]
async fn api_errors_carry_status_request_id_and_message() {
    let server = ScriptedServer::start().await;
    server.get("/v1/models").respond(
        Reply::json(401, json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}}))
            .header("x-request-id", "req_abc"),
    );
    let e = client(&server).list_models().await.unwrap_err();
    assert!(e.is_auth());
    assert_eq!(e.status(), Some(401));
    assert_eq!(e.request_id(), Some("req_abc"));
    let api = e.api_error().unwrap();
    assert_eq!(api.message, "Incorrect API key provided");
    assert_eq!(api.code.as_deref(), Some("invalid_api_key"));
    assert_eq!(
        e.to_string(),
        "API error (HTTP 401, invalid_request_error, code invalid_api_key): Incorrect API key provided [request id req_abc]"
    );
}

#[tokio::test]
async fn a_proxy_html_page_is_still_a_typed_api_error() {
    let server = ScriptedServer::start().await;
    server.get("/v1/models").respond(
        Reply::text(502, "<html><body>502 Bad Gateway</body></html>")
            .header("content-type", "text/html"),
    );
    let e = client(&server).list_models().await.unwrap_err();
    assert_eq!(e.status(), Some(502));
    assert!(e.to_string().contains("502 Bad Gateway"), "{e}");
}

#[tokio::test]
async fn a_body_that_does_not_fit_names_the_json_path() {
    let server = ScriptedServer::start().await;
    server.get("/v1/models").respond(Reply::json(
        200,
        json!({"object": "list", "data": [{"id": "a", "object": "model", "created": 1, "owned_by": "x"}, {"id": "b", "object": "model", "created": "yesterday", "owned_by": "x"}]}),
    ));
    let e = client(&server).list_models().await.unwrap_err();
    match &e {
        Error::Decode { path, snippet, .. } => {
            assert_eq!(path, "data[1].created");
            assert!(snippet.contains("yesterday"));
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert!(e.to_string().contains("data[1].created"), "{e}");
}

#[tokio::test]
async fn an_empty_200_body_is_a_decode_error() {
    let server = ScriptedServer::start().await;
    server
        .get("/v1/models")
        .respond(Reply::bytes(200, Vec::new()));
    let e = client(&server).list_models().await.unwrap_err();
    assert!(matches!(e, Error::Decode { .. }), "{e:?}");
}

#[tokio::test]
async fn multipart_upload_sends_fields_and_the_file() {
    let server = ScriptedServer::start().await;
    server.post("/v1/files").respond(Reply::json(
        200,
        json!({"id": "file-1", "object": "file", "bytes": 8, "created_at": 1, "filename": "train.jsonl", "purpose": "fine-tune", "status": "processed"}),
    ));
    let c = client(&server);
    let file = c
        .create_file(&types::CreateFileRequest {
            file: FilePart::bytes("train.jsonl", &b"{\"a\":1}\n"[..]),
            purpose: types::CreateFileRequestPurpose::FineTune,
            expires_after: Some(types::FileExpirationAfter {
                anchor: "created_at".into(),
                seconds: 3600,
                extra: Default::default(),
            }),
            extra: Default::default(),
        })
        .await
        .unwrap();
    assert_eq!(file.id, "file-1");

    let req = server.last_request().unwrap();
    let ct = req.header("content-type").unwrap().to_owned();
    assert!(ct.starts_with("multipart/form-data; boundary="), "{ct}");
    let body = String::from_utf8_lossy(&req.body).into_owned();
    assert!(
        body.contains("name=\"purpose\"\r\n\r\nfine-tune\r\n"),
        "{body}"
    );
    assert!(
        body.contains("name=\"expires_after[anchor]\"\r\n\r\ncreated_at\r\n"),
        "{body}"
    );
    assert!(
        body.contains("name=\"expires_after[seconds]\"\r\n\r\n3600\r\n"),
        "{body}"
    );
    assert!(body.contains("name=\"file\"; filename=\"train.jsonl\"\r\nContent-Type: application/jsonl\r\n\r\n{\"a\":1}\n"), "{body}");
    assert_eq!(req.header("authorization"), Some("Bearer sk-secret-123"));
}

#[tokio::test]
async fn a_path_part_streams_from_disk_and_a_missing_file_is_an_error() {
    let server = ScriptedServer::start().await;
    server.post("/v1/files").respond(Reply::json(
        200,
        json!({"id": "file-2", "object": "file", "bytes": 5, "created_at": 1, "filename": "x.txt", "purpose": "assistants", "status": "processed"}),
    ));
    let dir = std::env::temp_dir().join(format!("openai-sdk-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("x.txt");
    std::fs::write(&path, "hello").unwrap();
    let c = client(&server);
    let req = |p: &std::path::Path| types::CreateFileRequest {
        file: FilePart::path(p),
        purpose: types::CreateFileRequestPurpose::Assistants,
        expires_after: None,
        extra: Default::default(),
    };
    c.create_file(&req(&path)).await.unwrap();
    let body = String::from_utf8_lossy(&server.last_request().unwrap().body).into_owned();
    assert!(
        body.contains("filename=\"x.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n"),
        "{body}"
    );

    let e = c
        .create_file(&req(&dir.join("missing.txt")))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidRequest(_)), "{e:?}");
    assert!(e.to_string().contains("missing.txt"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let server = ScriptedServer::start().await;
    server.get("/v1/models").respond(Reply::never());
    let c = Client::builder()
        .api_key("k")
        .base_url(server.base_url())
        .timeout(std::time::Duration::from_millis(300))
        .max_retries(0)
        .build()
        .unwrap();
    let e = c.list_models().await.unwrap_err();
    assert!(e.is_timeout(), "{e:?}");
}

#[tokio::test]
async fn a_body_stalled_longer_than_the_read_timeout_fails() {
    let server = ScriptedServer::start().await;
    server
        .get("/v1/models")
        .respond(
            Reply::json(200, models_body()).fault(openai_sdk::testing::Fault::StallAfter {
                bytes: 10,
                duration: std::time::Duration::from_secs(30),
            }),
        );
    let c = Client::builder()
        .api_key("k")
        .base_url(server.base_url())
        .read_timeout(std::time::Duration::from_millis(300))
        .max_retries(0)
        .build()
        .unwrap();
    let e = c.list_models().await.unwrap_err();
    assert!(e.is_timeout(), "{e:?}");
}

#[tokio::test]
async fn a_redirect_loop_is_a_typed_error() {
    let server = ScriptedServer::start().await;
    server
        .get("/v1/models")
        .respond(Reply::status(302).header("location", "/v1/models"));
    let c = Client::builder()
        .api_key("k")
        .base_url(server.base_url())
        .max_retries(0)
        .build()
        .unwrap();
    let e = c.list_models().await.unwrap_err();
    assert!(matches!(e, Error::Connection { .. }), "{e:?}");
    assert!(e.to_string().contains("redirect"), "{e}");
}

/// A body past `max_response_bytes` is a typed error, with or without a `content-length`;
/// a huge error page is read only far enough for the error.
#[tokio::test]
async fn a_huge_body_is_a_typed_error_not_an_allocation() {
    let server = ScriptedServer::start().await;
    // 2 MB of JSON: a models list with many entries.
    let data: Vec<_> = (0..20_000)
        .map(|i| json!({"id": format!("model-{i:06}-{}", "x".repeat(64)), "object": "model", "created": 1, "owned_by": "o"}))
        .collect();
    let big = serde_json::to_vec(&json!({"object": "list", "data": data})).unwrap();
    assert!(big.len() > 1_000_000);
    server.get("/v1/models").respond_all([
        Reply::bytes(200, big.clone())
            .header("content-type", "application/json")
            .content_length(true),
        Reply::bytes(200, big.clone())
            .header("content-type", "application/json")
            .content_length(false)
            .chunking(openai_sdk::testing::Chunking::Fixed(64 * 1024)),
        Reply::bytes(200, big).header("content-type", "application/json"),
    ]);
    let client = Client::builder()
        .api_key("sk-test")
        .base_url(server.base_url())
        .max_response_bytes(1_000_000)
        .build()
        .unwrap();
    for _ in 0..2 {
        let err = client.list_models().await.unwrap_err();
        assert!(
            matches!(err, Error::ResponseTooLarge { limit: 1_000_000 }),
            "{err:?}"
        );
        assert!(err.to_string().contains("1000000 bytes"), "{err}");
    }
    // Under the default limit the same body decodes.
    let roomy = Client::builder()
        .api_key("sk-test")
        .base_url(server.base_url())
        .build()
        .unwrap();
    assert_eq!(roomy.list_models().await.unwrap().data.len(), 20_000);

    // A 16 MB error page (a proxy's): an API error with the start of the page.
    server.get("/v1/models/m").respond(
        Reply::bytes(502, vec![b'<'; 16 * 1024 * 1024]).header("content-type", "text/html"),
    );
    match client.retrieve_model("m").await.unwrap_err() {
        Error::Api(e) => assert_eq!(e.status, Some(502)),
        other => panic!("expected an API error, got {other:?}"),
    }
}
