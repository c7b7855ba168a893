//! Which key goes to Azure: an explicit `api_key` (before or after `.azure()`) is kept;
//! else `AZURE_OPENAI_API_KEY`; `OPENAI_API_KEY` never, nor `OPENAI_ADMIN_KEY` (an explicit
//! `admin_key` is kept). One test in its own binary: it sets environment variables, which
//! the other tests of a binary would see.

use openai_sdk::testing::{Reply, ScriptedServer};
use openai_sdk::{Client, Error};
use serde_json::json;

/// Sets a variable of this process's environment.
fn set_env(name: &str, value: &str) {
    // SAFETY: this binary has one test on a current-thread runtime: no other thread reads or
    // writes the environment while it changes.
    unsafe { std::env::set_var(name, value) }
}

/// Removes a variable from this process's environment.
fn unset_env(name: &str) {
    // SAFETY: as in `set_env`.
    unsafe { std::env::remove_var(name) }
}

async fn sent_key(client: &Client, server: &ScriptedServer) -> (Option<String>, Option<String>) {
    client.list_models().await.unwrap();
    let r = server.last_request().unwrap();
    (
        r.header("api-key").map(str::to_owned),
        r.header("authorization").map(str::to_owned),
    )
}

#[tokio::test]
async fn the_openai_key_never_goes_to_azure_and_an_explicit_key_wins() {
    let server = ScriptedServer::start().await;
    server
        .get("/openai/models")
        .respond(Reply::json(200, json!({"object": "list", "data": []})));
    set_env("OPENAI_API_KEY", "sk-openai-secret");
    unset_env("AZURE_OPENAI_API_KEY");

    // No Azure key anywhere: the build fails rather than send the OpenAI key.
    let e = Client::builder()
        .azure(server.origin(), "2024-10-21")
        .build()
        .unwrap_err();
    assert!(
        matches!(&e, Error::Config(m) if m.contains("AZURE_OPENAI_API_KEY")),
        "{e:?}"
    );
    // With an Entra ID token: the token only.
    let c = Client::builder()
        .azure(server.origin(), "2024-10-21")
        .azure_ad_token("entra")
        .build()
        .unwrap();
    assert_eq!(
        sent_key(&c, &server).await,
        (None, Some("Bearer entra".to_owned()))
    );

    set_env("AZURE_OPENAI_API_KEY", "azure-env");
    let c = Client::builder()
        .azure(server.origin(), "2024-10-21")
        .build()
        .unwrap();
    assert_eq!(
        sent_key(&c, &server).await,
        (Some("azure-env".into()), None)
    );
    // An explicit key set before `.azure()` is not replaced by the environment...
    let c = Client::builder()
        .api_key("explicit-before")
        .azure(server.origin(), "2024-10-21")
        .build()
        .unwrap();
    assert_eq!(
        sent_key(&c, &server).await,
        (Some("explicit-before".into()), None)
    );
    // ... nor one set after it.
    let c = Client::builder()
        .azure(server.origin(), "2024-10-21")
        .api_key("explicit-after")
        .build()
        .unwrap();
    assert_eq!(
        sent_key(&c, &server).await,
        (Some("explicit-after".into()), None)
    );
    for r in server.requests() {
        for v in r.headers.values() {
            let v = String::from_utf8_lossy(v.as_bytes());
            assert!(!v.contains("sk-openai-secret"), "{:?}", r.headers);
        }
    }
    unset_env("OPENAI_API_KEY");

    // The admin key from the environment is not kept by `.azure()` either: an admin path
    // gets the Azure key, and with no Azure key the build fails.
    server
        .get("/openai/organization/users")
        .respond(Reply::json(200, json!({"object": "list", "data": []})));
    set_env("OPENAI_ADMIN_KEY", "sk-admin-secret");
    let admin_key = |c: Client| {
        let server = &server;
        async move {
            c.get::<serde_json::Value>("/organization/users")
                .await
                .unwrap();
            server
                .last_request()
                .unwrap()
                .header("api-key")
                .map(str::to_owned)
        }
    };
    let c = Client::builder()
        .azure(server.origin(), "2024-10-21")
        .build()
        .unwrap();
    assert_eq!(admin_key(c).await, Some("azure-env".into()));
    unset_env("AZURE_OPENAI_API_KEY");
    let e = Client::builder()
        .azure(server.origin(), "2024-10-21")
        .build()
        .unwrap_err();
    assert!(
        matches!(&e, Error::Config(m) if m.contains("AZURE_OPENAI_API_KEY")),
        "{e:?}"
    );
    // An explicit admin key is kept, set before `.azure()` or after it.
    let c = Client::builder()
        .admin_key("admin-explicit")
        .azure(server.origin(), "2024-10-21")
        .build()
        .unwrap();
    assert_eq!(admin_key(c).await, Some("admin-explicit".into()));
    let c = Client::builder()
        .azure(server.origin(), "2024-10-21")
        .admin_key("admin-after")
        .build()
        .unwrap();
    assert_eq!(admin_key(c).await, Some("admin-after".into()));
    for r in server.requests() {
        for v in r.headers.values() {
            let v = String::from_utf8_lossy(v.as_bytes());
            assert!(!v.contains("sk-admin-secret"), "{:?}", r.headers);
        }
    }
    unset_env("OPENAI_ADMIN_KEY");
}
