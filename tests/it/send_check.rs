//! Futures of the client are `Send`, so they can be spawned on a multi-threaded runtime.

fn assert_send<T: Send>(_: T) {}

#[test]
fn operation_futures_are_send() {
    let c = openai_sdk::Client::builder().api_key("k").build().unwrap();
    assert_send(c.list_models());
    assert_send(c.list_files(None, None, None, None));
    assert_send(c.list_files_paginated(None, None, None).into_stream());
    let req = openai_sdk::types::CreateFileRequest {
        file: openai_sdk::multipart::FilePart::bytes("a.txt", &b"a"[..]),
        purpose: openai_sdk::types::CreateFileRequestPurpose::Assistants,
        expires_after: None,
        extra: Default::default(),
    };
    assert_send(c.create_file(&req));
    // Generic calls, and a client with an async key provider.
    let c = openai_sdk::ClientBuilder::empty()
        .api_key_provider(|| async { Ok("k".to_owned()) })
        .build()
        .unwrap();
    assert_send(c.get::<serde_json::Value>("/x"));
    assert_send(c.post::<_, serde_json::Value>("/x", &1));
    assert_send(c.list_models());
    assert_send(c.get_paginated::<serde_json::Value>("/x").into_stream());
    assert_send(c.stream_events::<serde_json::Value>(reqwest::Method::GET, "/x", None));
}

#[tokio::test]
async fn operations_can_be_spawned() {
    let c = openai_sdk::Client::builder()
        .api_key("k")
        .base_url("http://127.0.0.1:9/v1")
        .max_retries(0)
        .build()
        .unwrap();
    let h = tokio::spawn(async move { c.list_models().await.is_err() });
    assert!(h.await.unwrap());
}

#[cfg(all(feature = "chat", feature = "responses"))]
#[test]
fn tool_loops_are_send() {
    let c = openai_sdk::Client::builder().api_key("k").build().unwrap();
    let tools = openai_sdk::tools::Tools::new();
    let chat: openai_sdk::types::CreateChatCompletionRequest =
        serde_json::from_value(serde_json::json!({"model": "m", "messages": []})).unwrap();
    let responses: openai_sdk::types::CreateResponse =
        serde_json::from_value(serde_json::json!({"model": "m"})).unwrap();
    assert_send(c.chat().run_tools(chat.clone(), tools.clone()));
    assert_send(c.chat().run_tools_stream(chat, tools.clone()).unwrap());
    assert_send(c.responses().run_tools(responses.clone(), tools.clone()));
    assert_send(c.responses().run_tools_stream(responses, tools).unwrap());
}

#[test]
fn file_helpers_are_send() {
    let c = openai_sdk::Client::builder().api_key("k").build().unwrap();
    let options = openai_sdk::polling::PollOptions::new();
    assert_send(c.files().wait_for_processing("file-1", &options));
    let upload = openai_sdk::uploads::ChunkedUpload::bytes(
        "a.txt",
        b"hi".to_vec(),
        "text/plain",
        openai_sdk::types::CreateUploadRequestPurpose::Assistants,
    );
    assert_send(c.uploads().upload_file_chunked(upload));
}
