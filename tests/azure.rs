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
