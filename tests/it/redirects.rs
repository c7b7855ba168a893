//! Redirects over two loopback servers: credentials never follow a redirect to another
//! origin (here another port), on the async and the blocking clients; a redirect within
//! the origin is followed as before.

use openai_sdk::client::RedirectRefused;
use openai_sdk::testing::{Reply, ScriptedServer};
use openai_sdk::{Client, ClientBuilder, Error};
use serde_json::json;

fn models() -> Reply {
    Reply::json(200, json!({"object": "list", "data": []}))
}

fn redirect_to(location: String) -> Reply {
    Reply::status(307).header("location", location)
}

/// The [`RedirectRefused`] in the source chain of an error.
fn refused(e: &Error) -> Option<RedirectRefused> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(r) = s.downcast_ref::<RedirectRefused>() {
            return Some(r.clone());
        }
        source = s.source();
    }
    None
}

fn openai_client(server: &ScriptedServer) -> Client {
    ClientBuilder::empty()
        .api_key("sk-secret")
        .base_url(server.base_url())
        .header("x-api-key", "default-secret")
        .organization("org-1")
        .build()
        .unwrap()
}

fn assert_refused_to(e: &Error, from: &ScriptedServer, to: &ScriptedServer) {
    assert!(matches!(e, Error::Connection { .. }), "{e:?}");
    assert_eq!(
        refused(e),
        Some(RedirectRefused::OtherOrigin {
            from: from.origin(),
            to: to.origin(),
        }),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_redirect_to_another_origin_is_not_followed() {
    let api = ScriptedServer::start().await;
    let other = ScriptedServer::start().await;
    api.get("/v1/models")
        .respond(redirect_to(format!("{}/v1/models", other.origin())));
    other.get("/v1/models").respond(models());
    let e = openai_client(&api).list_models().await.unwrap_err();
    assert_refused_to(&e, &api, &other);
    assert_eq!(api.request_count_to("/v1/models"), 1, "not retried");
    assert_eq!(other.request_count(), 0, "{:?}", other.requests());
}

#[tokio::test]
async fn azure_api_key_and_bearer_tokens_stay_on_their_origin() {
    let api = ScriptedServer::start().await;
    let other = ScriptedServer::start().await;
    let target = format!("{}/openai/deployments/d/chat/completions", other.origin());
    api.post("/openai/deployments/d/chat/completions")
        .respond_all([redirect_to(target.clone()), redirect_to(target)]);
    let request: openai_sdk::types::CreateChatCompletionRequest = serde_json::from_value(
        json!({"model": "d", "messages": [{"role": "user", "content": "Hi"}]}),
    )
    .unwrap();
    for client in [
        ClientBuilder::empty()
            .azure(api.origin(), "2024-10-21")
            .api_key("azure-key")
            .build()
            .unwrap(),
        ClientBuilder::empty()
            .azure(api.origin(), "2024-10-21")
            .azure_ad_token("entra-token")
            .build()
            .unwrap(),
    ] {
        let e = client.create_chat_completion(&request).await.unwrap_err();
        assert_refused_to(&e, &api, &other);
    }
    assert_eq!(other.request_count(), 0);
    // The first server did see the credentials: they were sent where they belong.
    let sent = api.requests();
    assert_eq!(sent[0].header("api-key"), Some("azure-key"));
    assert_eq!(sent[1].header("authorization"), Some("Bearer entra-token"));
}

#[tokio::test]
async fn a_redirect_within_the_origin_is_followed_with_the_credentials() {
    let api = ScriptedServer::start().await;
    api.get("/v1/models")
        .respond(redirect_to(format!("{}/v1/models-moved", api.origin())));
    api.get("/v1/models-moved").respond(models());
    let list = openai_client(&api).list_models().await.unwrap();
    assert!(list.data.is_empty());
    let moved = api.requests_to("/v1/models-moved");
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].header("authorization"), Some("Bearer sk-secret"));
    assert_eq!(moved[0].header("x-api-key"), Some("default-secret"));
}

#[tokio::test]
async fn a_redirect_loop_stops_after_ten() {
    let api = ScriptedServer::start().await;
    let route = api
        .get("/v1/models")
        .respond(redirect_to(format!("{}/v1/models", api.origin())));
    let e = openai_client(&api).list_models().await.unwrap_err();
    assert_eq!(refused(&e), Some(RedirectRefused::TooMany), "{e:?}");
    assert_eq!(route.calls(), 11);
}

#[cfg(feature = "blocking")]
#[test]
fn the_blocking_client_does_not_follow_either() {
    let api = ScriptedServer::start_blocking();
    let other = ScriptedServer::start_blocking();
    api.post("/v1/chat/completions")
        .respond(redirect_to(format!(
            "{}/v1/chat/completions",
            other.origin()
        )));
    let request: openai_sdk::types::CreateChatCompletionRequest = serde_json::from_value(
        json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}]}),
    )
    .unwrap();
    let e = openai_client(&api)
        .chat()
        .stream_blocking(request)
        .map(|_| ())
        .unwrap_err();
    assert_refused_to(&e, &api, &other);
    assert_eq!(other.request_count(), 0);
}
