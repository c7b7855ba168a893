//! Per-request extras (`RequestOptions`: headers, query, body fields, idempotency key) on
//! generated operations and on every helper, over loopback: the scripted server records
//! what each request carried; Prism checks that a typed call with extras still fits the
//! spec.

use crate::common;

use futures::StreamExt;
use openai_sdk::testing::{RecordedRequest, Reply, ScriptedServer};
use openai_sdk::{types, Client, Error, RequestOptions};
use serde_json::{json, Value};

fn completion(content: &str) -> Value {
    json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
           "choices": [{"index": 0, "finish_reason": "stop", "logprobs": null,
                        "message": {"role": "assistant", "content": content, "refusal": null}}]})
}

fn chat_request() -> types::CreateChatCompletionRequest {
    serde_json::from_value(json!({"model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Say hi"}]}))
    .unwrap()
}

fn probes() -> RequestOptions {
    RequestOptions::new()
        .header("x-probe-header", "probe-1")
        .query("probe", "1")
        .body_field("probe_body", json!({"nested": [1, 2]}))
}

fn body_of(r: &RecordedRequest) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

/// The request carried the three probes.
#[track_caller]
fn assert_probed(r: &RecordedRequest) {
    assert_eq!(r.header("x-probe-header"), Some("probe-1"), "{r:?}");
    assert!(
        r.query
            .as_deref()
            .unwrap_or("")
            .split('&')
            .any(|p| p == "probe=1"),
        "{:?}",
        r.query
    );
    assert_eq!(body_of(r)["probe_body"], json!({"nested": [1, 2]}));
}

#[tokio::test]
async fn a_generated_operation_carries_every_extra() {
    let server = ScriptedServer::start().await;
    server
        .post("/v1/chat/completions")
        .respond(Reply::json(200, completion("hi")));
    let client = server
        .client()
        .with_options(probes().idempotency_key("key-1"));
    let answer = client
        .create_chat_completion(&chat_request())
        .await
        .unwrap();
    assert_eq!(answer.choices[0].message.content.as_deref(), Some("hi"));

    let sent = server.last_request().unwrap();
    assert_probed(&sent);
    assert_eq!(sent.header("idempotency-key"), Some("key-1"));
    let body = body_of(&sent);
    // The typed fields are all still there.
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(body["messages"][0]["content"], "Say hi");
    assert_eq!(sent.header("authorization"), Some("Bearer sk-scripted"));
}

#[tokio::test]
async fn an_extra_body_field_overrides_a_typed_one_and_extra_headers_win() {
    let server = ScriptedServer::start().await;
    server
        .post("/v1/chat/completions")
        .respond(Reply::json(200, completion("hi")));
    let client = Client::builder()
        .api_key("sk-scripted")
        .base_url(server.base_url())
        .header("x-team", "default")
        .max_retries(0)
        .build()
        .unwrap()
        .with_options(
            RequestOptions::new()
                .body_field("model", "provider/other-model")
                .header("x-team", "extra")
                .header("x-multi", "a")
                .header("x-multi", "b")
                .header("authorization", "Bearer provider-key"),
        );
    client
        .create_chat_completion(&chat_request())
        .await
        .unwrap();
    let sent = server.last_request().unwrap();
    // The extra wins over the typed field, as in openai-python.
    assert_eq!(body_of(&sent)["model"], "provider/other-model");
    let values = |name: &str| -> Vec<&str> {
        sent.headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect()
    };
    assert_eq!(values("x-team"), ["extra"]);
    assert_eq!(values("x-multi"), ["a", "b"]);
    assert_eq!(values("authorization"), ["Bearer provider-key"]);
}

#[tokio::test]
async fn options_stack_and_an_extra_query_replaces_the_operations_own() {
    let server = ScriptedServer::start().await;
    server.get("/v1/files").respond(Reply::json(
        200,
        json!({"object": "list", "data": [], "has_more": false, "first_id": "", "last_id": ""}),
    ));
    let client = server
        .client()
        .with_options(RequestOptions::new().query("limit", "5").header("x-a", "1"))
        .with_options(
            RequestOptions::new()
                .query("extra", "x y")
                .header("x-b", "2"),
        );
    client
        .list_files(None, Some(100), None, None)
        .await
        .unwrap();
    let sent = server.last_request().unwrap();
    let query = sent.query.clone().unwrap();
    assert!(!query.contains("limit=100"), "{query}");
    assert!(query.contains("limit=5"), "{query}");
    assert!(query.contains("extra=x+y"), "{query}");
    assert_eq!(sent.header("x-a"), Some("1"));
    assert_eq!(sent.header("x-b"), Some("2"));
}

#[tokio::test]
async fn invalid_extras_are_config_errors_before_anything_is_sent() {
    let server = ScriptedServer::start().await;
    server
        .post("/v1/chat/completions")
        .respond(Reply::json(200, completion("hi")));
    server
        .get("/v1/models")
        .respond(Reply::json(200, json!({"object": "list", "data": []})));
    let cases = [
        RequestOptions::new().header("bad name", "v"),
        RequestOptions::new().header("x-ok", "line\nbreak"),
        RequestOptions::new().idempotency_key("no\u{7f}del"),
    ];
    for options in cases {
        let e = server
            .client()
            .with_options(options.clone())
            .create_chat_completion(&chat_request())
            .await
            .unwrap_err();
        assert!(
            matches!(&e, Error::Config(m) if m.contains("extra header")),
            "{options:?}: {e}"
        );
        // A helper too.
        let e = server
            .client()
            .with_options(options)
            .chat()
            .stream(chat_request())
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Config(_)), "{e}");
    }
    // Extra body fields on a request without a body.
    let e = server
        .client()
        .with_options(RequestOptions::new().body_field("x", 1))
        .list_models()
        .await
        .unwrap_err();
    match e {
        Error::Config(m) => {
            assert!(
                m.contains("GET /v1/models") && m.contains("without a body"),
                "{m}"
            )
        }
        other => panic!("{other}"),
    }
    assert_eq!(server.request_count(), 0, "nothing was sent");
}

#[tokio::test]
async fn the_idempotency_key_is_the_same_on_every_retry() {
    let server = ScriptedServer::start().await;
    server.post("/v1/chat/completions").respond_all([
        Reply::openai_error(500, "server_error", "boom"),
        Reply::json(200, completion("hi")),
    ]);
    let client = Client::builder()
        .api_key("k")
        .base_url(server.base_url())
        .max_retries(2)
        .skip_retry_waits()
        .build()
        .unwrap()
        .with_options(RequestOptions::new().idempotency_key("once-only"));
    client
        .create_chat_completion(&chat_request())
        .await
        .unwrap();
    let keys: Vec<_> = server
        .requests()
        .iter()
        .map(|r| r.header("idempotency-key").map(str::to_owned))
        .collect();
    assert_eq!(
        keys,
        [Some("once-only".to_owned()), Some("once-only".to_owned())]
    );
}

#[tokio::test]
async fn chat_stream_parse_and_create_stream_carry_the_extras() {
    let server = ScriptedServer::start().await;
    server
        .post("/v1/chat/completions")
        .respond(Reply::chat_stream_of(&completion("Hello there")))
        .respond(Reply::json(200, completion(r#"{"word":"hi"}"#)))
        .respond(Reply::chat_stream_of(&completion("Hello there")));
    let client = server.client().with_options(probes());

    let mut stream = client.chat().stream(chat_request()).await.unwrap();
    while let Some(event) = stream.next().await {
        event.unwrap();
    }
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Word {
        word: String,
    }
    let parsed = client.chat().parse::<Word>(chat_request()).await.unwrap();
    assert_eq!(parsed.parsed(0).unwrap().word, "hi");
    let mut chunks = client.chat().create_stream(chat_request()).await.unwrap();
    while let Some(chunk) = chunks.next().await {
        chunk.unwrap();
    }
    let sent = server.requests();
    assert_eq!(sent.len(), 3);
    for r in &sent {
        assert_probed(r);
    }
    assert_eq!(body_of(&sent[0])["stream"], true);
    assert_eq!(body_of(&sent[1])["response_format"]["type"], "json_schema");
}

#[tokio::test]
async fn a_multipart_upload_gets_the_body_fields_as_form_fields() {
    let server = ScriptedServer::start().await;
    server.post("/v1/files").respond(Reply::json(
        200,
        json!({"id": "file-1", "object": "file", "bytes": 3, "created_at": 1,
               "filename": "a.jsonl", "purpose": "batch", "status": "uploaded"}),
    ));
    let client = server.client().with_options(
        probes()
            .body_field("purpose", "fine-tune")
            .body_field("flag", true),
    );
    let mut request: types::CreateFileRequest =
        serde_json::from_value(json!({"file": "a.jsonl", "purpose": "batch"})).unwrap();
    request.file = openai_sdk::multipart::FilePart::bytes("a.jsonl", &b"{}\n"[..]);
    client.create_file(&request).await.unwrap();
    let sent = server.last_request().unwrap();
    assert_eq!(sent.header("x-probe-header"), Some("probe-1"));
    assert_eq!(sent.query.as_deref(), Some("probe=1"));
    let form = String::from_utf8_lossy(&sent.body).into_owned();
    let field = |name: &str| -> Vec<String> {
        form.split(&format!("name=\"{name}\"\r\n\r\n"))
            .skip(1)
            .map(|rest| rest.split("\r\n").next().unwrap().to_owned())
            .collect()
    };
    assert_eq!(field("probe_body[nested][]"), ["1", "2"]);
    // The extra replaces the typed field: one `purpose`, the extra's.
    assert_eq!(field("purpose"), ["fine-tune"]);
    assert_eq!(field("flag"), ["true"]);
    assert!(form.contains("filename=\"a.jsonl\""));
}

#[tokio::test]
async fn responses_stream_and_tool_loops_carry_the_extras_on_every_round() {
    use openai_sdk::tools::Tools;
    let server = ScriptedServer::start().await;
    let call = |id: &str| {
        json!({"id": "resp_1", "object": "response", "status": "completed", "created_at": 1, "model": "m",
               "output": [{"type": "function_call", "id": id, "call_id": id, "name": "echo",
                           "arguments": "{\"text\":\"x\"}", "status": "completed"}]})
    };
    let answer = json!({"id": "resp_2", "object": "response", "status": "completed", "created_at": 1, "model": "m",
        "output": [{"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
                    "content": [{"type": "output_text", "text": "done", "annotations": []}]}]});
    server.post("/v1/responses").respond_all([
        Reply::responses_stream_of(&answer),
        Reply::json(200, call("fc_1")),
        Reply::json(200, answer.clone()),
    ]);
    let client = server.client().with_options(probes());
    let request: types::CreateResponse =
        serde_json::from_value(json!({"model": "m", "input": "hi"})).unwrap();
    let mut stream = client.responses().stream(request.clone()).await.unwrap();
    while let Some(event) = stream.next().await {
        event.unwrap();
    }

    /// Text to echo.
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct Echo {
        text: String,
    }
    let tools = Tools::new()
        .tool("echo", "Echoes", |a: Echo| async move {
            Ok::<_, String>(a.text)
        })
        .unwrap();
    let run = client.responses().run_tools(request, tools).await.unwrap();
    assert_eq!(run.rounds, 2);
    let sent = server.requests();
    assert_eq!(sent.len(), 3);
    for r in &sent {
        assert_probed(r);
    }
}

#[cfg(feature = "assistants")]
#[tokio::test]
async fn polling_sends_the_body_fields_with_the_creation_only() {
    use openai_sdk::polling::PollOptions;
    let server = ScriptedServer::start().await;
    let run = |status: &str| {
        json!({"id": "run_1", "object": "thread.run", "thread_id": "thread_1",
               "assistant_id": "asst_1", "status": status})
    };
    server
        .post("/v1/threads/thread_1/runs")
        .respond(Reply::json(200, run("queued")));
    server.get("/v1/threads/thread_1/runs/run_1").respond_all([
        Reply::json(200, run("in_progress")),
        Reply::json(200, run("completed")),
    ]);
    let client = server.client().with_options(probes());
    let options = PollOptions::new().sleeper(|_| Box::pin(async {}));
    let request: types::CreateRunRequest =
        serde_json::from_value(json!({"assistant_id": "asst_1"})).unwrap();
    let done = client
        .assistants()
        .create_run_and_poll("thread_1", &request, &options)
        .await
        .unwrap();
    assert_eq!(done.status(), Some("completed"));
    let sent = server.requests();
    assert_eq!(sent.len(), 3);
    assert_probed(&sent[0]);
    for read in &sent[1..] {
        assert_eq!(read.method, "GET");
        assert_eq!(read.header("x-probe-header"), Some("probe-1"));
        assert_eq!(read.query.as_deref(), Some("probe=1"));
        assert!(read.body.is_empty());
    }

    // A helper that only reads has nowhere to put them: refused before sending.
    let before = server.request_count();
    let e = client
        .assistants()
        .poll_run_until_final("thread_1", "run_1", &options)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Config(m) if m.contains("probe_body")),
        "{e}"
    );
    assert_eq!(server.request_count(), before);
}

#[cfg(feature = "blocking")]
#[test]
fn the_blocking_chat_stream_carries_the_extras() {
    let server = ScriptedServer::start_blocking();
    server
        .post("/v1/chat/completions")
        .respond(Reply::chat_stream_of(&completion("Hello")));
    let client = server.client().with_options(probes());
    let stream = client.chat().stream_blocking(chat_request()).unwrap();
    for event in stream {
        event.unwrap();
    }
    assert_probed(&server.last_request().unwrap());
}

/// Prism validates the request against the spec: the extras (an unknown query parameter,
/// a header, an unknown body field) leave a typed call valid.
#[tokio::test]
async fn a_typed_call_with_extras_still_fits_the_spec() {
    let client = common::client(&common::prism_url(), false).with_options(probes());
    let answer = client.create_chat_completion(&chat_request()).await;
    assert!(answer.is_ok(), "{answer:?}");
    // And an extra that breaks the spec is sent and seen: Prism refuses it.
    let bad = common::client(&common::prism_url(), false)
        .with_options(RequestOptions::new().body_field("messages", "not a list"));
    match bad.create_chat_completion(&chat_request()).await {
        Err(Error::Api(e)) => assert_eq!(e.status, Some(422), "{e}"),
        other => panic!("{other:?}"),
    }
}
