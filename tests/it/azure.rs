//! Azure OpenAI against the scripted server: deployment paths, `api-version`, `api-key`
//! or an Entra ID bearer token.

use openai_sdk::testing::{Reply, ScriptedServer};
use openai_sdk::{types, ClientBuilder};
use serde_json::json;

fn completion() -> serde_json::Value {
    json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o",
           "choices": [{"index": 0, "finish_reason": "stop", "logprobs": null,
                        "message": {"role": "assistant", "content": "Hi", "refusal": null}}]})
}

fn request(model: &str) -> types::CreateChatCompletionRequest {
    serde_json::from_value(json!({"model": model, "messages": [{"role": "user", "content": "Hi"}]}))
        .unwrap()
}

#[tokio::test]
async fn deployment_path_api_version_and_api_key() {
    let server = ScriptedServer::start().await;
    server
        .post("/openai/deployments/gpt-4o-prod/chat/completions")
        .respond(Reply::json(200, completion()));
    server
        .get("/openai/models")
        .respond(Reply::json(200, json!({"object": "list", "data": []})));
    let client = ClientBuilder::empty()
        .azure(server.origin(), "2024-10-21")
        .azure_deployment("gpt-4o-prod")
        .api_key("azure-key")
        .build()
        .unwrap();
    let c = client
        .create_chat_completion(&request("gpt-4o"))
        .await
        .unwrap();
    assert_eq!(c.choices[0].message.content.as_deref(), Some("Hi"));
    let req = server.last_request().unwrap();
    assert_eq!(req.path, "/openai/deployments/gpt-4o-prod/chat/completions");
    assert_eq!(req.query_param("api-version"), Some("2024-10-21"));
    assert_eq!(req.header("api-key"), Some("azure-key"));
    assert_eq!(req.header("authorization"), None);

    // Operations outside the deployment set keep their path, and get the version too.
    client.list_models().await.unwrap();
    let req = server.last_request().unwrap();
    assert_eq!(req.path, "/openai/models");
    assert_eq!(req.query_param("api-version"), Some("2024-10-21"));
}

#[tokio::test]
async fn the_model_names_the_deployment_and_entra_tokens_are_bearer() {
    let server = ScriptedServer::start().await;
    server
        .post("/openai/deployments/my-model/chat/completions")
        .respond(Reply::json(200, completion()));
    let client = ClientBuilder::empty()
        .azure(format!("{}/", server.origin()), "2025-01-01-preview")
        .azure_ad_token("entra-token")
        .build()
        .unwrap();
    client
        .create_chat_completion(&request("my-model"))
        .await
        .unwrap();
    let req = server.last_request().unwrap();
    assert_eq!(req.path, "/openai/deployments/my-model/chat/completions");
    assert_eq!(req.header("authorization"), Some("Bearer entra-token"));
    assert_eq!(req.header("api-key"), None);
    assert_eq!(req.query_param("api-version"), Some("2025-01-01-preview"));
}

#[tokio::test]
async fn an_entra_token_provider_is_asked_before_every_request() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    let server = ScriptedServer::start().await;
    server
        .post("/openai/deployments/m/chat/completions")
        .respond(Reply::json(200, completion()));
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let client = ClientBuilder::empty()
        .azure(server.origin(), "2024-10-21")
        .azure_ad_token_provider(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(format!("token-{n}"))
        })
        .build()
        .unwrap();
    for n in 1..=2 {
        client.create_chat_completion(&request("m")).await.unwrap();
        let req = server.last_request().unwrap();
        assert_eq!(
            req.header("authorization").map(str::to_owned),
            Some(format!("Bearer token-{n}"))
        );
        assert_eq!(req.header("api-key"), None);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_failing_token_provider_stops_the_request_with_its_message() {
    let server = ScriptedServer::start().await;
    server
        .post("/openai/deployments/m/chat/completions")
        .respond(Reply::json(200, completion()));
    let client = ClientBuilder::empty()
        .azure(server.origin(), "2024-10-21")
        .azure_ad_token_provider(|| Err("credential expired".into()))
        .build()
        .unwrap();
    let err = client
        .create_chat_completion(&request("m"))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "client configuration: the Azure AD token provider failed: credential expired"
    );
    assert_eq!(server.request_count(), 0);
}

/// Tokens `token-1`, `token-2`, ... from a counter, and the counter.
fn counting() -> (
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
    impl Fn() -> String + Send + Sync + 'static,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let calls = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    (calls, move || {
        format!("token-{}", counter.fetch_add(1, Ordering::SeqCst) + 1)
    })
}

fn bearers(server: &ScriptedServer) -> Vec<Option<String>> {
    server
        .requests()
        .iter()
        .map(|r| r.header("authorization").map(str::to_owned))
        .collect()
}

fn busy() -> Reply {
    Reply::openai_error(503, "server_error", "busy").header("retry-after-ms", "1")
}

#[tokio::test]
async fn a_token_provider_is_asked_again_before_each_retry() {
    let server = ScriptedServer::start().await;
    server
        .post("/openai/deployments/m/chat/completions")
        .respond_all([busy(), busy(), Reply::json(200, completion())]);
    let (calls, next) = counting();
    let client = ClientBuilder::empty()
        .azure(server.origin(), "2024-10-21")
        .azure_ad_token_provider(move || Ok(next()))
        .build()
        .unwrap();
    client.create_chat_completion(&request("m")).await.unwrap();
    assert_eq!(
        bearers(&server),
        ["Bearer token-1", "Bearer token-2", "Bearer token-3"].map(|s| Some(s.to_owned()))
    );
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 3);
}

#[tokio::test]
async fn an_async_token_provider_is_awaited_on_every_attempt() {
    let server = ScriptedServer::start().await;
    server
        .post("/openai/deployments/m/chat/completions")
        .respond_all([busy(), Reply::json(200, completion())]);
    server.get("/openai/models").respond_all([
        busy(),
        Reply::json(200, json!({"object": "list", "data": []})),
    ]);
    let (calls, next) = counting();
    let next = std::sync::Arc::new(next);
    let client = ClientBuilder::empty()
        .azure(server.origin(), "2024-10-21")
        .azure_ad_token_provider_async(move || {
            let next = next.clone();
            async move {
                // A provider that waits on I/O yields to the runtime instead of blocking it.
                tokio::task::yield_now().await;
                Ok(next())
            }
        })
        .build()
        .unwrap();
    // A generated method, then a hand-written helper (the chat stream goes through
    // `Client::send`).
    client.create_chat_completion(&request("m")).await.unwrap();
    client.list_models().await.unwrap();
    assert_eq!(
        bearers(&server),
        [
            "Bearer token-1",
            "Bearer token-2",
            "Bearer token-3",
            "Bearer token-4"
        ]
        .map(|s| Some(s.to_owned()))
    );
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 4);
    assert!(server
        .requests()
        .iter()
        .all(|r| r.header("api-key").is_none()));
}

#[tokio::test]
async fn a_failing_async_provider_sends_nothing() {
    let server = ScriptedServer::start().await;
    let client = ClientBuilder::empty()
        .azure(server.origin(), "2024-10-21")
        .azure_ad_token_provider_async(|| async { Err("identity endpoint down".into()) })
        .build()
        .unwrap();
    let e = client
        .create_chat_completion(&request("m"))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "client configuration: the Azure AD token provider failed: identity endpoint down"
    );
    let e = client
        .chat()
        .stream(request("m"))
        .await
        .map(|_| ())
        .unwrap_err();
    assert!(matches!(e, openai_sdk::Error::Config(_)), "{e:?}");
    assert_eq!(server.request_count(), 0);
}

#[tokio::test]
async fn a_provider_failing_before_a_retry_returns_the_attempt_s_error() {
    let server = ScriptedServer::start().await;
    server
        .post("/openai/deployments/m/chat/completions")
        .respond_all([busy(), Reply::json(200, completion())]);
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = calls.clone();
    let client = ClientBuilder::empty()
        .azure(server.origin(), "2024-10-21")
        .azure_ad_token_provider(move || {
            match counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
                0 => Ok("token-1".to_owned()),
                _ => Err("token expired".into()),
            }
        })
        .build()
        .unwrap();
    let e = client
        .create_chat_completion(&request("m"))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(503), "{e:?}");
    assert_eq!(server.request_count(), 1);
}

#[cfg(feature = "blocking")]
#[test]
fn the_blocking_stream_asks_the_async_provider_on_every_attempt() {
    let server = ScriptedServer::start_blocking();
    server
        .post("/openai/deployments/m/chat/completions")
        .respond_all([busy(), Reply::sse_raw("data: [DONE]\n\n")]);
    let (_, next) = counting();
    let next = std::sync::Arc::new(next);
    let client = ClientBuilder::empty()
        .azure(server.origin(), "2024-10-21")
        .azure_ad_token_provider_async(move || {
            let next = next.clone();
            async move { Ok(next()) }
        })
        .build()
        .unwrap();
    let stream = client.chat().stream_blocking(request("m")).unwrap();
    drop(stream);
    assert_eq!(
        bearers(&server),
        ["Bearer token-1", "Bearer token-2"].map(|s| Some(s.to_owned()))
    );
}
