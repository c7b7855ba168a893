//! What the recording proxy keeps out of fixtures (headers and query parameters named like
//! credentials, secrets in bodies), the permissions of the files it writes, and fixture
//! manifests that try to read files outside their directory. Real HTTP over loopback: a
//! client, the proxy, a scripted upstream.

use std::path::{Path, PathBuf};

use openai_sdk::testing::{FixtureError, RecordedExchange, RecordingProxy, Reply, ScriptedServer};
use serde_json::json;

use crate::common::{raw_client as client, TempDir, WAIT};

/// Every recorded file's text, with its name.
fn recorded_files(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut files: Vec<(PathBuf, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
            (p, text)
        })
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn headers_and_query_parameters_named_like_credentials_are_not_recorded() {
    let upstream = ScriptedServer::start().await;
    upstream.get("/v1/models").respond(
        Reply::json(200, json!({"object": "list", "data": []}))
            .header("x-goog-api-key", "resp-goog-secret")
            .header("x-amz-security-token", "resp-token-secret")
            .header("x-ratelimit-remaining-tokens", "149984")
            .header("x-request-id", "req_1"),
    );
    let dir = TempDir::absent("redaction-names");
    let proxy = RecordingProxy::start(&upstream.base_url(), dir.path())
        .await
        .unwrap();
    let response = client()
        .get(format!(
            "{}/models?api-key=query-secret&limit=2&access_token=tok%2Fsecret&Signature=sig-secret",
            proxy.base_url()
        ))
        .header("ocp-apim-subscription-key", "apim-secret")
        .header("x-goog-api-key", "goog-secret")
        .header("X-Custom-Auth", "custom-secret")
        .header("x-client-secret", "client-secret-value")
        .header("x-stainless-lang", "rust")
        .send()
        .await
        .unwrap();
    // The client gets everything, and the upstream saw everything (forwarded unchanged).
    assert_eq!(response.headers()["x-goog-api-key"], "resp-goog-secret");
    let seen = upstream.last_request().unwrap();
    assert_eq!(
        seen.header("ocp-apim-subscription-key"),
        Some("apim-secret")
    );
    assert!(seen
        .query
        .as_deref()
        .unwrap()
        .contains("api-key=query-secret"));

    assert!(proxy.wait_for_exchanges(1, WAIT).await);
    assert!(proxy.write_errors().is_empty());
    for (path, text) in recorded_files(dir.path()) {
        for secret in [
            "resp-goog-secret",
            "resp-token-secret",
            "query-secret",
            "tok%2Fsecret",
            "sig-secret",
            "apim-secret",
            "goog-secret",
            "custom-secret",
            "client-secret-value",
        ] {
            assert!(!text.contains(secret), "{secret} in {}", path.display());
        }
    }
    let exchange = RecordedExchange::read(&proxy.exchanges()[0]).unwrap();
    assert_eq!(
        exchange.query.as_deref(),
        Some("api-key=*&limit=2&access_token=*&Signature=*")
    );
    let names: Vec<&str> = exchange.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"x-ratelimit-remaining-tokens"), "{names:?}");
    assert!(names.contains(&"x-request-id"), "{names:?}");
    assert!(!names.contains(&"x-goog-api-key"), "{names:?}");
    let sent: Vec<&str> = exchange
        .request
        .as_ref()
        .unwrap()
        .headers
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert!(sent.contains(&"x-stainless-lang"), "{sent:?}");
    assert!(
        !sent
            .iter()
            .any(|n| n.contains("key") || n.contains("auth") || n.contains("secret")),
        "{sent:?}"
    );

    // The replay matches any value of a redacted parameter, and still the other pairs.
    drop(proxy);
    let replay = ScriptedServer::start().await;
    replay.load_fixtures(dir.path()).unwrap();
    let ok = client()
        .get(replay.url("/v1/models?limit=2&api-key=another&access_token=x&Signature=y"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["x-request-id"], "req_1");
    let missing = client()
        .get(replay.url("/v1/models?limit=2&api-key=another"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn secrets_in_bodies_are_redacted_by_default_and_by_a_hook() {
    let upstream = ScriptedServer::start().await;
    upstream
        .post("/v1/realtime/client_secrets")
        .respond(Reply::json(
            200,
            json!({"value": "ek_top_level_secret", "expires_at": 1756310470,
               "session": {"type": "realtime", "model": "gpt-realtime"}}),
        ));
    upstream.post("/v1/realtime/sessions").respond(Reply::json(
        200,
        json!({"id": "sess_1", "client_secret": {"value": "ek_nested_secret", "expires_at": 1},
               "tools": [{"client_secret": "ek_in_a_list"}]}),
    ));
    let dir = TempDir::absent("redaction-bodies");
    let proxy = RecordingProxy::start(&upstream.base_url(), dir.path())
        .await
        .unwrap()
        .redact_bodies(|body| {
            let text = std::str::from_utf8(body.body).ok()?;
            text.contains("me@example.com").then(|| {
                text.replace("me@example.com", "user@example.com")
                    .into_bytes()
            })
        });
    let answer = client()
        .post(proxy.url("/v1/realtime/client_secrets"))
        .json(&json!({"session": {"type": "realtime"}, "user": "me@example.com"}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The client gets the real secret.
    assert!(answer.contains("ek_top_level_secret"));
    client()
        .post(proxy.url("/v1/realtime/sessions"))
        .json(&json!({"model": "gpt-realtime"}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(proxy.wait_for_exchanges(2, WAIT).await);
    assert!(proxy.write_errors().is_empty());

    let all: String = recorded_files(dir.path())
        .into_iter()
        .map(|(_, text)| text)
        .collect();
    for secret in [
        "ek_top_level_secret",
        "ek_nested_secret",
        "ek_in_a_list",
        "me@example.com",
    ] {
        assert!(!all.contains(secret), "{secret} was recorded");
    }
    let exchanges = proxy.exchanges();
    let first = RecordedExchange::read(&exchanges[0]).unwrap();
    let body: serde_json::Value =
        serde_json::from_slice(&first.response_body(dir.path()).unwrap()).unwrap();
    assert_eq!(body["value"], "REDACTED");
    assert_eq!(body["expires_at"], 1756310470);
    let request_file = first.request.as_ref().unwrap().body_file.clone().unwrap();
    let sent: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(request_file)).unwrap()).unwrap();
    assert_eq!(sent["user"], "user@example.com");
    let second = RecordedExchange::read(&exchanges[1]).unwrap();
    let body: serde_json::Value =
        serde_json::from_slice(&second.response_body(dir.path()).unwrap()).unwrap();
    assert_eq!(
        body,
        json!({"id": "sess_1", "client_secret": {"value": "REDACTED", "expires_at": 1},
               "tools": [{"client_secret": "REDACTED"}]})
    );
}

#[cfg(unix)]
#[tokio::test]
async fn recorded_files_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;

    let upstream = ScriptedServer::start().await;
    upstream
        .post("/v1/embeddings")
        .respond(Reply::json(200, json!({"object": "list", "data": []})));
    let parent = TempDir::absent("redaction-modes");
    let dir = parent.path().join("nested/fixtures");
    let proxy = RecordingProxy::start(&upstream.base_url(), &dir)
        .await
        .unwrap();
    client()
        .post(proxy.url("/v1/embeddings"))
        .json(&json!({"input": "hi", "model": "text-embedding-3-small"}))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(proxy.wait_for_exchanges(1, WAIT).await);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let files = recorded_files(&dir);
    assert_eq!(files.len(), 3, "{files:?}");
    for (path, _) in files {
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&parent.path().join("nested")), 0o700);
}

#[tokio::test]
async fn manifests_cannot_read_files_outside_their_directory() {
    let parent = TempDir::absent("redaction-paths");
    let dir = parent.path().join("fixtures");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(parent.path().join("outside.body"), "outside").unwrap();
    std::fs::write(dir.join("sub/inside.body"), "inside").unwrap();
    let manifest = |body_file: &str| json!({"method": "GET", "path": "/v1/x", "status": 200, "body_file": body_file});
    let outside = parent.path().join("outside.body");
    let absolute = outside.to_str().unwrap();
    let server = ScriptedServer::start().await;
    for bad in [
        "../outside.body",
        absolute,
        "sub/../../outside.body",
        "./sub/inside.body",
        "",
    ] {
        for (field, value) in [
            ("response", manifest(bad)),
            ("request", {
                let mut m = manifest("sub/inside.body");
                m["request"] = json!({"headers": [], "body_file": bad});
                m
            }),
        ] {
            let path = dir.join("0001-x.exchange.json");
            std::fs::write(&path, serde_json::to_vec(&value).unwrap()).unwrap();
            match RecordedExchange::read(&path) {
                Err(FixtureError::UnsafePath { path: at, file }) => {
                    assert_eq!(at, path);
                    assert_eq!(file, bad);
                }
                other => panic!("{field} body file {bad:?}: {other:?}"),
            }
            let error = server.load_fixtures(&dir).unwrap_err();
            assert!(
                matches!(error, FixtureError::UnsafePath { .. }),
                "{error:?}"
            );
            assert!(error.to_string().contains("no `..`"), "{error}");
        }
    }
    // The server was left untouched by the refused fixtures.
    let response = client().get(server.url("/v1/x")).send().await.unwrap();
    assert_eq!(response.status(), 404);

    // A relative path of plain names, into a subdirectory, is fine.
    std::fs::write(
        dir.join("0001-x.exchange.json"),
        serde_json::to_vec(&manifest("sub/inside.body")).unwrap(),
    )
    .unwrap();
    assert_eq!(server.load_fixtures(&dir).unwrap(), 1);
    let text = client()
        .get(server.url("/v1/x"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(text, "inside");

    // An exchange built in code is checked when its body is read.
    let mut exchange = RecordedExchange::new("GET", "/v1/x", 200);
    exchange.body_file = Some("../outside.body".into());
    assert!(matches!(
        exchange.response_body(&dir),
        Err(FixtureError::UnsafePath { .. })
    ));
}
