//! Response metadata, generic calls and key providers, over loopback: against the scripted
//! server (what was sent, what came back) and Prism (the requests fit the spec).

#[allow(dead_code)] // the Prism helpers this file does not use
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use openai_sdk::testing::{Reply, ScriptedServer, SseEvent};
use openai_sdk::{types, ClientBuilder, Error, RequestOptions, ResponseExt};
use serde_json::{json, Value};

fn client_of(server: &ScriptedServer) -> ClientBuilder {
    ClientBuilder::empty()
        .base_url(server.base_url())
        .http_client(reqwest::Client::builder().no_proxy().build().unwrap())
        .max_retries(0)
}

fn with_limits(reply: Reply) -> Reply {
    reply
        .header("x-request-id", "req_abc")
        .header("x-ratelimit-limit-requests", "500")
        .header("x-ratelimit-remaining-requests", "499")
        .header("x-ratelimit-reset-requests", "120ms")
        .header("x-ratelimit-limit-tokens", "30000")
        .header("x-ratelimit-remaining-tokens", "29950")
        .header("x-ratelimit-reset-tokens", "1m0.5s")
}

// ---- response metadata -------------------------------------------------------------------

#[tokio::test]
async fn a_generated_operation_gives_status_headers_request_id_and_rate_limits() {
    let server = ScriptedServer::start().await;
    server.get("/v1/models").respond(with_limits(Reply::json(
        200,
        json!({"object": "list", "data": []}),
    )));
    let models = server.client().list_models().await.unwrap();
    assert_eq!(models.status(), 200);
    assert_eq!(models.request_id(), Some("req_abc"));
    let limits = models.rate_limits();
    assert_eq!(limits.requests.limit, Some(500));
    assert_eq!(limits.requests.remaining, Some(499));
    assert_eq!(limits.requests.reset, Some(Duration::from_millis(120)));
    assert_eq!(limits.tokens.limit, Some(30_000));
    assert_eq!(limits.tokens.remaining, Some(29_950));
    assert_eq!(limits.tokens.reset, Some(Duration::from_millis(60_500)));
    let kept = models.metadata();
    assert_eq!(kept.header("x-ratelimit-reset-tokens"), Some("1m0.5s"));
    assert_eq!(kept.status(), 200);
}

// ---- generic calls -----------------------------------------------------------------------

#[derive(Debug, serde::Deserialize, PartialEq)]
struct Agent {
    id: String,
    name: String,
    version: u32,
}

#[tokio::test]
async fn generic_get_post_delete_and_call_are_typed_or_untyped() {
    let server = ScriptedServer::start().await;
    server
        .get("/v1/agents/agent_1")
        .respond(with_limits(Reply::json(
            200,
            json!({"id": "agent_1", "name": "Ada", "version": 3, "brand_new": true}),
        )));
    server
        .post("/v1/probe/echo")
        .respond_with(|r| Reply::json(200, serde_json::from_slice::<Value>(&r.body).unwrap()));
    server
        .delete("/v1/agents/agent_1")
        .respond(Reply::json(200, json!({"id": "agent_1", "deleted": true})));
    server
        .route(reqwest::Method::PATCH, "/v1/agents/agent_1")
        .respond(Reply::status(204));
    let client = server.client();

    let agent = client.get::<Agent>("/agents/agent_1").await.unwrap();
    assert_eq!(agent.request_id(), Some("req_abc"));
    assert_eq!(agent.rate_limits().requests.remaining, Some(499));
    assert_eq!(
        agent.into_inner(),
        Agent {
            id: "agent_1".into(),
            name: "Ada".into(),
            version: 3
        }
    );
    let echoed = client
        .post::<_, Value>("/probe/echo", &json!({"hello": "world"}))
        .await
        .unwrap();
    assert_eq!(echoed.into_inner(), json!({"hello": "world"}));
    let deleted = client.delete::<Value>("/agents/agent_1").await.unwrap();
    assert_eq!(deleted["deleted"], true);
    let patched = client
        .call::<()>(
            reqwest::Method::PATCH,
            "agents/agent_1",
            Some(&json!({"name": "Grace"})),
        )
        .await
        .unwrap();
    assert_eq!(patched.status(), 204);

    let sent = server.requests();
    assert_eq!(sent.len(), 4);
    for r in &sent {
        assert_eq!(r.header("authorization"), Some("Bearer sk-scripted"));
    }
    assert_eq!(sent[1].header("content-type"), Some("application/json"));
    assert_eq!(sent[3].method, "PATCH");
    assert_eq!(sent[3].body.as_ref(), br#"{"name":"Grace"}"#);
}

#[tokio::test]
async fn generic_calls_share_errors_retries_and_request_options() {
    let server = ScriptedServer::start().await;
    server.get("/v1/agents/agent_1").respond_all([
        Reply::openai_error(503, "server_error", "busy"),
        Reply::json(
            200,
            json!({"id": "agent_1", "name": "Ada", "version": "three"}),
        ),
    ]);
    server.get("/v1/agents/missing").respond(
        Reply::openai_error(404, "invalid_request_error", "No such agent")
            .header("x-request-id", "req_404"),
    );
    let client = client_of(&server)
        .api_key("k")
        .max_retries(1)
        .skip_retry_waits()
        .build()
        .unwrap()
        .with_options(
            RequestOptions::new()
                .header("x-probe", "1")
                .query("probe", "1"),
        );

    // Retried once (503), then the answer does not fit: Error::Decode with the JSON path.
    match client.get::<Agent>("/agents/agent_1").await {
        Err(Error::Decode { path, message, .. }) => {
            assert_eq!(path, "version");
            assert!(message.contains("invalid type"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.request_count_to("/v1/agents/agent_1"), 2);
    for r in server.requests() {
        assert_eq!(r.header("x-probe"), Some("1"));
        assert_eq!(r.query.as_deref(), Some("probe=1"));
    }
    // An error status is Error::Api, with the request id.
    let e = client.get::<Value>("/agents/missing").await.unwrap_err();
    assert_eq!(e.status(), Some(404));
    assert_eq!(e.request_id(), Some("req_404"));
    // Body fields on a GET: refused before sending.
    let before = server.request_count();
    let e = client
        .with_options(RequestOptions::new().body_field("x", 1))
        .get::<Value>("/agents/agent_1")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Config(_)), "{e}");
    assert_eq!(server.request_count(), before);
}

#[tokio::test]
async fn a_generic_paginated_list_follows_the_cursor() {
    let server = ScriptedServer::start().await;
    server.get("/v1/agents").respond_all([
        Reply::json(
            200,
            json!({"object": "list", "data": [{"id": "a1", "name": "A", "version": 1},
                   {"id": "a2", "name": "B", "version": 1}], "has_more": true}),
        ),
        Reply::json(
            200,
            json!({"object": "list", "data": [{"id": "a3", "name": "C", "version": 2}],
                   "has_more": false, "last_id": "a3"}),
        ),
        Reply::json(
            200,
            json!({"object": "list", "data": [{"id": "a1", "name": "A", "version": 1},
                   {"id": "a2", "name": "B", "version": "x"}], "has_more": true}),
        ),
    ]);
    let client = server.client();
    let all = client
        .get_paginated::<Agent>("/agents?limit=2")
        .collect_all()
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
        ["a1", "a2", "a3"]
    );
    let queries: Vec<_> = server.requests().into_iter().map(|r| r.query).collect();
    assert_eq!(
        queries,
        [
            Some("limit=2".to_owned()),
            Some("limit=2&after=a2".to_owned())
        ]
    );
    // An item that does not fit: the path names the item.
    match client.get_paginated::<Agent>("/agents").collect_all().await {
        Err(Error::Decode { path, .. }) => assert_eq!(path, "data[1].version"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_generic_event_stream_over_any_method_and_path() {
    #[derive(Debug, serde::Deserialize)]
    struct Tick {
        n: u32,
    }
    let server = ScriptedServer::start().await;
    server.post("/v1/live/ticks").respond(
        Reply::sse_events([
            SseEvent::json(&json!({"n": 1})),
            SseEvent::json(&json!({"n": 2})),
            SseEvent::json(&json!({"n": "three"})),
        ])
        .header("x-request-id", "req_stream"),
    );
    let client = server.client();
    let mut ticks = client
        .stream_events::<Tick>(
            reqwest::Method::POST,
            "/live/ticks",
            Some(&json!({"from": 1})),
        )
        .await
        .unwrap();
    assert_eq!(ticks.request_id(), Some("req_stream"));
    assert_eq!(ticks.headers()["content-type"], "text/event-stream");
    assert_eq!(ticks.next().await.unwrap().unwrap().n, 1);
    assert_eq!(ticks.next().await.unwrap().unwrap().n, 2);
    match ticks.next().await.unwrap() {
        Err(Error::Decode { path, what, .. }) => {
            assert_eq!(path, "n");
            assert!(what.contains("#2"), "{what}");
        }
        other => panic!("{other:?}"),
    }
    let sent = server.last_request().unwrap();
    assert_eq!(sent.header("accept"), Some("text/event-stream"));
    assert_eq!(sent.body.as_ref(), br#"{"from":1}"#);
}

/// Prism validates generic requests like generated ones: a generic call of a spec'd path
/// with a valid body passes, with an invalid one gets the 422 as `Error::Api`.
#[tokio::test]
async fn generic_calls_against_prism() {
    let client = common::client(&common::prism_url(), false);
    let models = client
        .get::<types::ListModelsResponse>("/models")
        .await
        .unwrap();
    assert_eq!(models.status(), 200);
    let answer = client
        .post::<_, types::CreateChatCompletionResponse>(
            "/chat/completions",
            &json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let untyped = client
        .post::<_, Value>("/chat/completions", &json!({"model": "gpt-4o-mini"}))
        .await
        .unwrap_err();
    assert_eq!(untyped.status(), Some(422), "{untyped}");
}

// ---- keys --------------------------------------------------------------------------------

#[tokio::test]
async fn the_api_key_provider_is_asked_before_each_request() {
    let server = ScriptedServer::start().await;
    server
        .get("/v1/models")
        .respond(Reply::json(200, json!({"object": "list", "data": []})))
        .when_exhausted(openai_sdk::testing::Exhausted::RepeatLast);
    let key = Arc::new(Mutex::new("sk-first".to_owned()));
    let asked = Arc::new(AtomicUsize::new(0));
    let (source, count) = (key.clone(), asked.clone());
    let client = client_of(&server)
        .api_key("sk-static-loses")
        .api_key_provider(move || {
            let key = source.lock().unwrap().clone();
            count.fetch_add(1, Ordering::SeqCst);
            async move {
                tokio::task::yield_now().await; // really async
                Ok(key)
            }
        })
        .build()
        .unwrap();
    client.list_models().await.unwrap();
    *key.lock().unwrap() = "sk-rotated".into();
    client.list_models().await.unwrap();
    // Helpers and generic calls too.
    client.get::<Value>("/models").await.unwrap();
    let auth: Vec<_> = server
        .requests()
        .iter()
        .map(|r| r.header("authorization").unwrap().to_owned())
        .collect();
    assert_eq!(
        auth,
        ["Bearer sk-first", "Bearer sk-rotated", "Bearer sk-rotated"]
    );
    assert_eq!(asked.load(Ordering::SeqCst), 3);
    assert!(!format!("{client:?}").contains("sk-"), "{client:?}");
}

#[tokio::test]
async fn a_failing_key_provider_is_a_config_error_and_nothing_is_sent() {
    let server = ScriptedServer::start().await;
    let client = client_of(&server)
        .api_key_provider(|| async { Err("the vault is sealed".into()) })
        .build()
        .unwrap();
    let e = client.list_models().await.unwrap_err();
    assert!(
        matches!(&e, Error::Config(m) if m.contains("the vault is sealed")),
        "{e}"
    );
    let e = client.get::<Value>("/models").await.unwrap_err();
    assert!(matches!(e, Error::Config(_)), "{e}");
    assert_eq!(server.request_count(), 0);
}

#[tokio::test]
async fn the_admin_key_goes_to_admin_operations_only() {
    let server = ScriptedServer::start().await;
    for path in [
        "/v1/organization/costs",
        "/v1/projects/proj_1/roles",
        "/v1/models",
        "/v1/projects/proj_1",
    ] {
        server
            .get(path)
            .respond(Reply::json(200, json!({"object": "list", "data": []})));
    }
    let client = client_of(&server)
        .api_key("sk-normal")
        .admin_key("sk-admin")
        .build()
        .unwrap();
    for path in [
        "/organization/costs",
        "/projects/proj_1/roles",
        "/models",
        "/projects/proj_1",
    ] {
        client.get::<Value>(path).await.unwrap();
    }
    client.list_models().await.unwrap();
    let auth: Vec<_> = server
        .requests()
        .iter()
        .map(|r| r.header("authorization").unwrap().to_owned())
        .collect();
    assert_eq!(
        auth,
        [
            "Bearer sk-admin",
            "Bearer sk-admin",
            "Bearer sk-normal",
            "Bearer sk-normal",
            "Bearer sk-normal"
        ]
    );
    // Without an admin key, admin paths get the normal key; an admin-only client is valid.
    let normal = client_of(&server).api_key("sk-normal").build().unwrap();
    normal.get::<Value>("/organization/costs").await.unwrap();
    assert_eq!(
        server.last_request().unwrap().header("authorization"),
        Some("Bearer sk-normal")
    );
    let admin_only = client_of(&server).admin_key("sk-admin").build().unwrap();
    admin_only
        .get::<Value>("/organization/costs")
        .await
        .unwrap();
    assert_eq!(
        server.last_request().unwrap().header("authorization"),
        Some("Bearer sk-admin")
    );
    assert!(!format!("{client:?}").contains("sk-admin"));
}

#[cfg(feature = "admin")]
#[tokio::test]
async fn a_generated_admin_operation_uses_the_admin_key() {
    let server = ScriptedServer::start().await;
    server.get("/v1/organization/projects").respond(Reply::json(
        200,
        json!({"object": "list", "data": [], "first_id": null, "last_id": null, "has_more": false}),
    ));
    let client = client_of(&server)
        .api_key("sk-normal")
        .admin_key("sk-admin")
        .build()
        .unwrap();
    client.list_projects(None, None, None).await.unwrap();
    assert_eq!(
        server.last_request().unwrap().header("authorization"),
        Some("Bearer sk-admin")
    );
}

#[test]
fn openai_admin_key_is_read_from_the_environment() {
    // The only test of this binary that touches the environment; the others build their
    // clients from `ClientBuilder::empty()` or `server.client()` with explicit keys.
    // SAFETY: no other test of this binary reads or writes the environment.
    unsafe { std::env::set_var("OPENAI_ADMIN_KEY", "sk-admin-env") };
    let b = ClientBuilder::from_env();
    // SAFETY: as above.
    unsafe { std::env::remove_var("OPENAI_ADMIN_KEY") };
    let shown = format!("{:?}", b.base_url("http://127.0.0.1:9").build().unwrap());
    assert!(
        shown.contains("admin_key: Some(ApiKey(<redacted>))"),
        "{shown}"
    );
}

/// The rule that picks the admin key ([`openai_sdk::client::is_admin_path`]) holds for
/// every operation of the pinned spec: admin exactly where the spec says
/// `security: - AdminApiKeyAuth`.
#[test]
fn the_admin_rule_matches_the_spec() {
    let spec =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.yaml"))
            .unwrap();
    let mut in_paths = false;
    let mut path = String::new();
    let mut ops: Vec<(String, String, bool)> = Vec::new();
    for line in spec.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            in_paths = line == "paths:";
            continue;
        }
        if !in_paths {
            continue;
        }
        if let Some(p) = line.strip_prefix("  /").and_then(|l| l.strip_suffix(':')) {
            path = format!("/{p}");
        } else if let Some(m) = line.strip_prefix("    ").and_then(|l| l.strip_suffix(':')) {
            if ["get", "post", "put", "patch", "delete"].contains(&m) {
                ops.push((m.to_owned(), path.clone(), false));
            }
        } else if line.trim() == "- AdminApiKeyAuth: []" {
            ops.last_mut().unwrap().2 = true;
        }
    }
    assert!(ops.len() > 250, "{} operations found", ops.len());
    let admin = ops.iter().filter(|o| o.2).count();
    assert!(admin > 100, "{admin} admin operations found");
    let wrong: Vec<_> = ops
        .iter()
        .filter(|(_, p, marked)| openai_sdk::client::is_admin_path(p) != *marked)
        .collect();
    assert!(wrong.is_empty(), "{wrong:?}");
}

#[tokio::test]
async fn helper_streams_and_parse_results_carry_the_metadata() {
    let completion = json!({"id": "c1", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": null,
                     "message": {"role": "assistant", "content": "{\"word\":\"hi\"}", "refusal": null}}]});
    let response = json!({"id": "resp_1", "object": "response", "status": "completed", "created_at": 1,
        "model": "m", "output": [{"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
        "content": [{"type": "output_text", "text": "{\"word\":\"hi\"}", "annotations": []}]}]});
    let server = ScriptedServer::start().await;
    server.post("/v1/chat/completions").respond_all([
        with_limits(Reply::chat_stream_of(&completion)),
        with_limits(Reply::json(200, completion.clone())),
        with_limits(Reply::chat_stream_of(&completion)),
    ]);
    server.post("/v1/responses").respond_all([
        with_limits(Reply::responses_stream_of(&response)),
        with_limits(Reply::json(200, response.clone())),
    ]);
    let client = server.client();
    let chat_request: types::CreateChatCompletionRequest = serde_json::from_value(
        json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
    )
    .unwrap();
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Word {
        word: String,
    }

    let mut stream = client.chat().stream(chat_request.clone()).await.unwrap();
    // Before the first event: the headers came with the answer.
    assert_eq!(stream.request_id(), Some("req_abc"));
    assert_eq!(stream.headers()["x-ratelimit-remaining-requests"], "499");
    assert_eq!(stream.metadata().status(), 200);
    let done = stream.final_completion().await.unwrap();
    assert_eq!(done.metadata().unwrap().request_id(), Some("req_abc"));

    let parsed = client
        .chat()
        .parse::<Word>(chat_request.clone())
        .await
        .unwrap();
    let meta = parsed.metadata().unwrap();
    assert_eq!(meta.request_id(), Some("req_abc"));
    assert_eq!(meta.rate_limits().tokens.remaining, Some(29_950));

    let mut parsed_stream = client
        .chat()
        .parse_stream::<Word>(chat_request)
        .await
        .unwrap();
    assert_eq!(parsed_stream.request_id(), Some("req_abc"));
    let done = parsed_stream.final_completion().await.unwrap();
    assert_eq!(
        done.metadata().unwrap().rate_limits().requests.limit,
        Some(500)
    );

    let request: types::CreateResponse =
        serde_json::from_value(json!({"model": "m", "input": "hi"})).unwrap();
    let mut responses = client.responses().stream(request.clone()).await.unwrap();
    assert_eq!(responses.request_id(), Some("req_abc"));
    assert_eq!(responses.metadata().status(), 200);
    assert_eq!(responses.headers()["x-request-id"], "req_abc");
    responses.until_done().await.unwrap();
    let shown = format!("{responses:?}");
    assert!(shown.starts_with("ResponseStream { events: "), "{shown}");
    assert!(shown.ends_with(", connections: 1, .. }"), "{shown}");
    let parsed = client.responses().parse::<Word>(request).await.unwrap();
    assert_eq!(parsed.metadata().unwrap().request_id(), Some("req_abc"));
}

#[cfg(feature = "assistants")]
#[tokio::test]
async fn the_assistants_stream_carries_the_metadata() {
    let server = ScriptedServer::start().await;
    server
        .post("/v1/threads/thread_1/runs")
        .respond(with_limits(Reply::sse_events([SseEvent::done()])));
    let request: types::CreateRunRequest =
        serde_json::from_value(json!({"assistant_id": "asst_1"})).unwrap();
    let stream = server
        .client()
        .assistants()
        .create_run_stream("thread_1", &request)
        .await
        .unwrap();
    assert_eq!(stream.request_id(), Some("req_abc"));
    assert_eq!(
        stream.metadata().rate_limits().requests.remaining,
        Some(499)
    );
}

/// A chat completion that calls `get_weather` (round 1) or answers (round 2).
fn tool_round(call: bool) -> Value {
    let message = if call {
        json!({"role": "assistant", "content": null, "refusal": null, "tool_calls": [{"id": "call_1",
            "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]})
    } else {
        json!({"role": "assistant", "content": "18 C in Paris.", "refusal": null})
    };
    json!({"id": "c1", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "finish_reason": if call { "tool_calls" } else { "stop" },
                     "logprobs": null, "message": message}]})
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct City {
    #[allow(dead_code)]
    city: String,
}

fn weather_tools() -> openai_sdk::tools::Tools {
    openai_sdk::tools::Tools::new()
        .tool("get_weather", "The weather in a city", |_: City| async {
            Ok::<_, String>("18 C")
        })
        .unwrap()
}

#[tokio::test]
async fn the_tool_loops_keep_each_rounds_metadata() {
    let server = ScriptedServer::start().await;
    let round = |reply: Reply, id: &str| with_limits(reply).header("x-request-id", id);
    server.post("/v1/chat/completions").respond_all([
        round(Reply::json(200, tool_round(true)), "req_round_1"),
        round(Reply::json(200, tool_round(false)), "req_round_2"),
        round(Reply::chat_stream_of(&tool_round(true)), "req_stream_1"),
        round(Reply::chat_stream_of(&tool_round(false)), "req_stream_2"),
    ]);
    let response = |output: Value| {
        json!({"id": "resp_1", "object": "response", "status": "completed", "created_at": 1,
            "model": "m", "output": output})
    };
    server.post("/v1/responses").respond_all([
        round(
            Reply::json(
                200,
                response(json!([{"type": "function_call", "id": "fc_1", "call_id": "call_1",
                "name": "get_weather", "arguments": "{\"city\":\"Paris\"}", "status": "completed"}])),
            ),
            "req_resp_1",
        ),
        round(
            Reply::json(
                200,
                response(json!([{"type": "message", "id": "msg_1", "role": "assistant",
                "status": "completed", "content": [{"type": "output_text", "text": "18 C", "annotations": []}]}])),
            ),
            "req_resp_2",
        ),
    ]);
    let client = server.client();
    let request: types::CreateChatCompletionRequest = serde_json::from_value(
        json!({"model": "m", "messages": [{"role": "user", "content": "Weather in Paris?"}]}),
    )
    .unwrap();

    let run = client
        .chat()
        .run_tools(request.clone(), weather_tools())
        .await
        .unwrap();
    let ids: Vec<_> = run.metadata.iter().map(|m| m.request_id()).collect();
    assert_eq!(ids, [Some("req_round_1"), Some("req_round_2")]);
    assert_eq!(run.metadata[1].rate_limits().requests.remaining, Some(499));
    // The last completion carries the last answer's metadata, as a parse result does.
    assert_eq!(
        run.answer.metadata().unwrap().request_id(),
        Some("req_round_2")
    );

    let streamed = client
        .chat()
        .run_tools_stream(request, weather_tools())
        .unwrap()
        .final_run()
        .await
        .unwrap();
    let ids: Vec<_> = streamed.metadata.iter().map(|m| m.request_id()).collect();
    assert_eq!(ids, [Some("req_stream_1"), Some("req_stream_2")]);
    assert_eq!(streamed.rounds, 2);

    let request: types::CreateResponse =
        serde_json::from_value(json!({"model": "m", "input": "Weather in Paris?"})).unwrap();
    let run = client
        .responses()
        .run_tools(request, weather_tools())
        .await
        .unwrap();
    let ids: Vec<_> = run.metadata.iter().map(|m| m.request_id()).collect();
    assert_eq!(ids, [Some("req_resp_1"), Some("req_resp_2")]);
}

#[cfg(feature = "files")]
#[tokio::test]
async fn wait_for_processing_returns_the_last_reads_metadata() {
    let server = ScriptedServer::start().await;
    let file = |status: &str| {
        json!({"id": "file-1", "object": "file", "bytes": 3, "created_at": 1, "filename": "a.jsonl",
            "purpose": "fine-tune", "status": status})
    };
    server.get("/v1/files/file-1").respond_all([
        Reply::json(200, file("uploaded")).header("x-request-id", "req_read_1"),
        with_limits(Reply::json(200, file("processed"))).header("x-request-id", "req_read_2"),
    ]);
    let options = openai_sdk::polling::PollOptions::new()
        .interval(Duration::from_millis(1))
        .timeout(Duration::from_secs(10));
    let file = server
        .client()
        .files()
        .wait_for_processing("file-1", &options)
        .await
        .unwrap();
    assert_eq!(file.id, "file-1");
    assert_eq!(file.request_id(), Some("req_read_2"));
    assert_eq!(file.rate_limits().tokens.remaining, Some(29_950));
    assert_eq!(file.status(), 200);
}

#[cfg(feature = "assistants")]
#[tokio::test]
async fn the_poll_helpers_return_the_last_reads_metadata() {
    let server = ScriptedServer::start().await;
    let run = |status: &str| json!({"id": "run_1", "object": "thread.run", "thread_id": "thread_1", "status": status});
    server.post("/v1/threads/thread_1/runs").respond(
        Reply::json(200, run("queued"))
            .header("x-request-id", "req_create")
            .header("openai-poll-after-ms", "1"),
    );
    server.get("/v1/threads/thread_1/runs/run_1").respond_all([
        Reply::json(200, run("in_progress"))
            .header("x-request-id", "req_read_1")
            .header("openai-poll-after-ms", "1"),
        with_limits(Reply::json(200, run("completed"))).header("x-request-id", "req_read_2"),
    ]);
    let request: types::CreateRunRequest =
        serde_json::from_value(json!({"assistant_id": "asst_1"})).unwrap();
    let options = openai_sdk::polling::PollOptions::new().timeout(Duration::from_secs(10));
    let done = server
        .client()
        .assistants()
        .create_run_and_poll("thread_1", &request, &options)
        .await
        .unwrap();
    assert_eq!(done.status(), Some("completed"));
    assert_eq!(done.request_id(), Some("req_read_2"));
    assert_eq!(
        done.metadata().unwrap().rate_limits().requests.limit,
        Some(500)
    );
    // Snapshots compare by their JSON, not by the answer they came in.
    assert_eq!(done, openai_sdk::assistants::Run::new(run("completed")));
}
