//! Tests of the `testing` module: a real reqwest client against the scripted server over loopback.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use futures::{FutureExt, StreamExt};
use openai_sdk::testing::{
    Chunking, DisconnectPhase, Exhausted, Fault, Gate, Method, RecordedExchange, RecordingProxy,
    Reply, ScriptedServer, SseEvent,
};
use serde_json::json;

use crate::common::{raw_client as client, TempDir, WAIT};

/// Reads a body to its end (or first error), returning the items as the client saw them.
async fn read_items(response: reqwest::Response) -> (Vec<Bytes>, Option<reqwest::Error>) {
    let mut stream = response.bytes_stream();
    let mut items = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(bytes) => items.push(bytes),
            Err(err) => return (items, Some(err)),
        }
    }
    (items, None)
}

/// Cumulative byte offsets at which items (or planned pieces) end.
fn boundaries(sizes: impl IntoIterator<Item = usize>) -> BTreeSet<usize> {
    sizes
        .into_iter()
        .scan(0, |at, size| {
            *at += size;
            Some(*at)
        })
        .collect()
}

fn concat(items: &[Bytes]) -> Vec<u8> {
    items.iter().flat_map(|b| b.iter().copied()).collect()
}

fn sample_sse() -> Reply {
    Reply::sse_events([
        SseEvent::from(
            json!({"id": "chatcmpl-1", "choices": [{"index": 0, "delta": {"role": "assistant"}}]}),
        ),
        SseEvent::from(
            json!({"id": "chatcmpl-1", "choices": [{"index": 0, "delta": {"content": "Hel"}}]}),
        ),
        SseEvent::from(
            json!({"id": "chatcmpl-1", "choices": [{"index": 0, "delta": {"content": "lo"}}]}),
        ),
        SseEvent::done(),
    ])
}

#[tokio::test]
async fn json_reply_and_request_recording() {
    let server = ScriptedServer::start().await;
    let route = server.post("/v1/chat/completions").respond(
        Reply::json(
            200,
            json!({"id": "chatcmpl-1", "object": "chat.completion"}),
        )
        .header("x-request-id", "req_1"),
    );

    let response = client()
        .post(format!("{}/chat/completions?debug=1", server.base_url()))
        .header("authorization", "Bearer sk-test")
        .json(&json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["x-request-id"], "req_1");
    assert!(response.headers().get("transfer-encoding").is_none());
    let expected = br#"{"id":"chatcmpl-1","object":"chat.completion"}"#;
    assert_eq!(
        response.headers()["content-length"],
        expected.len().to_string().as_str()
    );
    assert_eq!(response.bytes().await.unwrap(), &expected[..]);

    assert_eq!(route.calls(), 1);
    assert_eq!(server.request_count(), 1);
    let request = server.last_request().unwrap();
    assert_eq!(request.method, Method::POST);
    assert_eq!(request.path, "/v1/chat/completions");
    assert_eq!(request.query.as_deref(), Some("debug=1"));
    assert_eq!(request.query_param("debug"), Some("1"));
    assert_eq!(request.header("authorization"), Some("Bearer sk-test"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert!(request.body_complete);
    assert_eq!(request.route.as_deref(), Some("POST /v1/chat/completions"));
    assert_eq!(request.json().unwrap()["messages"][0]["content"], "hi");
    assert_eq!(server.requests_to("/v1/chat/completions").len(), 1);
    assert!(server.requests_to("/v1/other").is_empty());
}

#[tokio::test]
async fn gated_sse_pieces_arrive_one_at_a_time() {
    let server = ScriptedServer::start().await;
    let gate = Gate::new();
    let reply = sample_sse().chunking(Chunking::Events).gate(&gate);
    let body = reply.body_bytes().clone();
    let pieces = Chunking::Events.sizes(&body);
    assert_eq!(pieces.len(), 4);
    server.post("/v1/chat/completions").respond(reply);

    let response = client()
        .post(server.url("/v1/chat/completions"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(response.headers()["transfer-encoding"], "chunked");
    assert!(response.headers().get("content-length").is_none());

    let mut stream = response.bytes_stream();
    let mut received = Vec::new();
    let mut offset = 0;
    for size in &pieces {
        // Exactly one more piece may leave the server now; read until it is all here.
        gate.release(1);
        let end = offset + size;
        while received.len() < end {
            let item = stream.next().await.expect("body ended early").unwrap();
            received.extend_from_slice(&item);
            // Nothing beyond the released piece can have been sent.
            assert!(
                received.len() <= end,
                "received bytes of a piece the gate still holds"
            );
        }
        assert_eq!(&received[offset..end], &body[offset..end]);
        // The server has sent exactly the released pieces, and the client has nothing more.
        assert_eq!(server.stats().body_bytes_sent, end);
        if end < body.len() {
            assert!(
                stream.next().now_or_never().is_none(),
                "a held piece reached the client"
            );
        }
        offset = end;
    }
    gate.release(1);
    assert!(stream.next().await.is_none());
    assert_eq!(received, body);
    assert!(server.disconnects().is_empty());
}

#[tokio::test]
async fn delayed_pieces_reach_the_client_as_separate_items() {
    let server = ScriptedServer::start().await;
    let reply = sample_sse()
        .chunking(Chunking::Fixed(16))
        .chunk_delay(Duration::from_millis(5));
    let body = reply.body_bytes().clone();
    let planned = Chunking::Fixed(16).sizes(&body);
    assert!(planned.len() > 4);
    server.post("/v1/chat/completions").respond(reply);

    let response = client()
        .post(server.url("/v1/chat/completions"))
        .send()
        .await
        .unwrap();
    let (items, error) = read_items(response).await;
    assert!(error.is_none());
    assert_eq!(concat(&items), body);
    // Every planned piece is its own HTTP chunk: items never straddle two pieces.
    assert!(
        items.len() >= planned.len(),
        "{} items for {} pieces",
        items.len(),
        planned.len()
    );
    let seen = boundaries(items.iter().map(Bytes::len));
    assert!(boundaries(planned).is_subset(&seen));
}

#[tokio::test]
async fn random_chunking_is_reproducible() {
    let chunking = Chunking::Random {
        seed: 42,
        min: 1,
        max: 24,
    };
    let body = sample_sse().body_bytes().clone();
    let planned = chunking.sizes(&body);
    assert_eq!(planned, chunking.sizes(&body));
    assert_eq!(planned.iter().sum::<usize>(), body.len());
    assert!(planned.iter().all(|&s| (1..=24).contains(&s)));
    assert_ne!(
        planned,
        Chunking::Random {
            seed: 43,
            min: 1,
            max: 24
        }
        .sizes(&body)
    );

    let server = ScriptedServer::start().await;
    server.post("/v1/chat/completions").respond(
        sample_sse()
            .chunking(chunking)
            .chunk_delay(Duration::from_millis(1)),
    );
    let mut bodies = Vec::new();
    for _ in 0..2 {
        let response = client()
            .post(server.url("/v1/chat/completions"))
            .send()
            .await
            .unwrap();
        let (items, error) = read_items(response).await;
        assert!(error.is_none());
        let seen = boundaries(items.iter().map(Bytes::len));
        assert!(boundaries(planned.iter().copied()).is_subset(&seen));
        bodies.push(concat(&items));
    }
    assert_eq!(bodies[0], body);
    assert_eq!(bodies[1], body);
}

#[tokio::test]
async fn sequence_500_then_200_then_exhausted() {
    let server = ScriptedServer::start().await;
    let route = server
        .post("/v1/responses")
        .respond(Reply::openai_error(500, "server_error", "boom"))
        .respond(Reply::json(
            200,
            json!({"id": "resp_1", "status": "completed"}),
        ))
        .when_exhausted(Exhausted::Error);
    let url = server.url("/v1/responses");

    let first = client().post(&url).send().await.unwrap();
    assert_eq!(first.status(), 500);
    let first: serde_json::Value = first.json().await.unwrap();
    assert_eq!(first["error"]["message"], "boom");

    let second = client().post(&url).send().await.unwrap();
    assert_eq!(second.status(), 200);
    assert_eq!(
        second.json::<serde_json::Value>().await.unwrap()["id"],
        "resp_1"
    );

    let third = client().post(&url).send().await.unwrap();
    assert_eq!(third.status(), 500);
    let third: serde_json::Value = third.json().await.unwrap();
    let message = third["error"]["message"].as_str().unwrap();
    assert!(message.contains("exhausted"), "{message}");
    assert!(message.contains("POST /v1/responses"), "{message}");
    assert_eq!(route.calls(), 3);

    // Polling: the last reply repeats by default.
    let poll = server.get("/v1/batches/*").respond_all([
        Reply::json(200, json!({"status": "validating"})),
        Reply::json(200, json!({"status": "completed"})),
    ]);
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let body: serde_json::Value = client()
            .get(server.url("/v1/batches/batch_1"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        statuses.push(body["status"].as_str().unwrap().to_string());
    }
    assert_eq!(statuses, ["validating", "completed", "completed"]);
    assert_eq!(poll.calls(), 3);
}

#[tokio::test]
async fn rate_limit_with_retry_after() {
    let server = ScriptedServer::start().await;
    server.post("/v1/embeddings").respond(
        Reply::status(429)
            .header("retry-after", "2")
            .header("x-ratelimit-remaining-requests", "0"),
    );
    let response = client()
        .post(server.url("/v1/embeddings"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "2");
    assert_eq!(response.headers()["x-ratelimit-remaining-requests"], "0");
    assert!(response.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn drop_after_cuts_the_body_with_a_client_error() {
    let server = ScriptedServer::start().await;
    let reply = sample_sse().chunking(Chunking::Events);
    let body = reply.body_bytes().clone();
    let cut = 30;
    server
        .post("/v1/chat/completions")
        .respond(reply.clone().fault(Fault::DropAfter(cut)));
    server
        .post("/v1/completions")
        .respond(reply.content_length(true).fault(Fault::DropAfter(cut)));

    // Chunked: the terminating chunk never comes.
    let response = client()
        .post(server.url("/v1/chat/completions"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (items, error) = read_items(response).await;
    assert_eq!(concat(&items), &body[..cut]);
    assert!(error.is_some(), "the client must see the body fail");

    // Fixed length: fewer bytes than announced.
    let response = client()
        .post(server.url("/v1/completions"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-length"],
        body.len().to_string().as_str()
    );
    let (items, error) = read_items(response).await;
    assert_eq!(concat(&items), &body[..cut]);
    assert!(error.is_some(), "the client must see the body fail");

    // A scripted fault is not a client disconnect.
    assert!(server.wait_for_connections_closed(2, WAIT).await);
    assert!(server.disconnects().is_empty());
}

#[tokio::test]
async fn stall_delays_but_completes_and_hang_keeps_the_body_open() {
    let server = ScriptedServer::start().await;
    let reply = sample_sse();
    let body = reply.body_bytes().clone();
    server
        .post("/v1/stall")
        .respond(reply.clone().fault(Fault::StallAfter {
            bytes: 20,
            duration: Duration::from_millis(30),
        }));
    server
        .post("/v1/hang")
        .respond(reply.fault(Fault::HangAfter(20)));

    let response = client().post(server.url("/v1/stall")).send().await.unwrap();
    let (items, error) = read_items(response).await;
    assert!(error.is_none());
    assert_eq!(concat(&items), body);
    assert!(boundaries(items.iter().map(Bytes::len)).contains(&20));

    let mut response = client().post(server.url("/v1/hang")).send().await.unwrap();
    let mut received = Vec::new();
    while received.len() < 20 {
        received.extend_from_slice(&response.chunk().await.unwrap().unwrap());
    }
    assert_eq!(received, &body[..20]);
    drop(response);
    assert!(server.wait_for_disconnect(WAIT).await);
    assert_eq!(
        server.disconnects()[0].phase,
        DisconnectPhase::MidBody { bytes_sent: 20 }
    );
}

#[tokio::test]
async fn dropping_a_response_mid_stream_is_seen_by_the_server() {
    let server = ScriptedServer::start().await;
    let gate = Gate::new();
    let reply = sample_sse().chunking(Chunking::Events).gate(&gate);
    let first_len = Chunking::Events.sizes(reply.body_bytes())[0];
    server.post("/v1/chat/completions").respond(reply);

    let mut response = client()
        .post(server.url("/v1/chat/completions"))
        .send()
        .await
        .unwrap();
    gate.release(1);
    let mut received = 0;
    while received < first_len {
        received += response.chunk().await.unwrap().unwrap().len();
    }
    assert!(server.disconnects().is_empty());
    assert_eq!(server.stats().connections_closed, 0);

    drop(response);
    assert!(server.wait_for_disconnect(WAIT).await);
    let disconnects = server.disconnects();
    assert_eq!(disconnects.len(), 1);
    assert_eq!(disconnects[0].method, Method::POST);
    assert_eq!(disconnects[0].path, "/v1/chat/completions");
    assert_eq!(
        disconnects[0].phase,
        DisconnectPhase::MidBody {
            bytes_sent: first_len
        }
    );
    assert!(server.wait_for_connections_closed(1, WAIT).await);
    let stats = server.stats();
    assert_eq!(
        (
            stats.connections_opened,
            stats.connections_closed,
            stats.disconnects
        ),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn abandoning_a_request_before_the_headers_is_seen_by_the_server() {
    let server = ScriptedServer::start().await;
    server.get("/v1/models").respond(Reply::never());
    let url = server.url("/v1/models");
    let request = tokio::spawn(async move { client().get(url).send().await });
    assert!(server.wait_for_requests(1, WAIT).await);
    request.abort();
    assert!(request.await.unwrap_err().is_cancelled());
    assert!(server.wait_for_disconnect(WAIT).await);
    assert_eq!(
        server.disconnects()[0].phase,
        DisconnectPhase::BeforeHeaders
    );
}

#[tokio::test]
async fn close_before_headers_is_a_connection_error() {
    let server = ScriptedServer::start().await;
    server
        .post("/v1/files")
        .respond(Reply::close_connection())
        .respond(Reply::json(200, json!({"id": "file-1"})));
    let error = client()
        .post(server.url("/v1/files"))
        .body("x")
        .send()
        .await
        .unwrap_err();
    assert!(
        error.status().is_none(),
        "no HTTP status may arrive: {error}"
    );
    let ok = client().post(server.url("/v1/files")).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(server.request_count_to("/v1/files"), 2);
    assert!(server.disconnects().is_empty());
}

#[tokio::test]
async fn unmatched_routes_get_an_openai_shaped_404_and_are_recorded() {
    let server = ScriptedServer::start().await;
    server.get("/v1/models").respond(Reply::status(200));
    let response = client()
        .post(server.url("/v1/x"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["message"], "no scripted route for POST /v1/x");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(body["error"]["param"].is_null());
    assert_eq!(body["error"]["scripted_routes"], json!(["GET /v1/models"]));

    // A route for another method does not match either.
    let response = client()
        .post(server.url("/v1/models"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].path, "/v1/x");
    assert_eq!(requests[0].body, "{}");
    assert!(requests[0].route.is_none());
}

#[tokio::test]
async fn query_and_wildcard_routes() {
    let server = ScriptedServer::start().await;
    server.get("/v1/files").respond(Reply::text(200, "all"));
    server
        .get("/v1/files?purpose=batch&limit=2")
        .respond(Reply::text(200, "batch"));
    server.get("/v1/files/*").respond(Reply::text(200, "one"));
    server
        .get("/v1/files/file-special")
        .respond(Reply::text(200, "special"));

    let get = |path: &'static str| {
        let url = server.url(path);
        async move {
            client()
                .get(url)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    assert_eq!(get("/v1/files").await, "all");
    assert_eq!(get("/v1/files?limit=2&purpose=batch").await, "batch");
    assert_eq!(get("/v1/files?limit=3&purpose=batch").await, "all");
    assert_eq!(get("/v1/files/file-1").await, "one");
    assert_eq!(get("/v1/files/file-special").await, "special");
    assert_eq!(
        client()
            .get(server.url("/v1/files/a/b"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // Registering the same route again replaces it.
    server
        .get("/v1/files")
        .respond(Reply::text(200, "replaced"));
    assert_eq!(get("/v1/files").await, "replaced");
}

#[tokio::test]
async fn dynamic_replies_and_a_panicking_closure() {
    let server = ScriptedServer::start().await;
    server.post("/v1/echo").respond_with(|request| {
        Reply::json(200, json!({"got": request.body_text().unwrap_or("")}))
    });
    server
        .post("/v1/panic")
        .respond_with(|_| panic!("test closure panics on purpose"));

    let body: serde_json::Value = client()
        .post(server.url("/v1/echo"))
        .body("ping")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["got"], "ping");

    let response = client().post(server.url("/v1/panic")).send().await.unwrap();
    assert_eq!(response.status(), 500);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("panicked"));

    // The server is still fine.
    assert_eq!(
        client()
            .post(server.url("/v1/echo"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn bad_scripts_and_malformed_requests_do_not_kill_the_server() {
    let server = ScriptedServer::start().await;
    server.get("/v1/bad-status").respond(Reply::status(1000));
    server
        .get("/v1/bad-header")
        .respond(Reply::status(200).header("bad header", "x"));
    server
        .get("/v1/missing-file")
        .respond(Reply::sse_file("/no/such/fixture.sse"));
    server.get("/v1/empty");
    server.get("/v1/ok").respond(Reply::text(200, "ok"));

    for (path, needle) in [
        ("/v1/bad-status", "not a valid HTTP status"),
        ("/v1/bad-header", "header name"),
        ("/v1/missing-file", "fixture.sse"),
        ("/v1/empty", "no replies"),
    ] {
        let response = client().get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 500, "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{path}: {message}");
    }

    // Garbage on the wire: the connection is answered with 400 or closed, the server survives.
    let addr = server.addr();
    tokio::task::spawn_blocking(move || {
        let mut tcp = std::net::TcpStream::connect(addr).unwrap();
        tcp.write_all(b"\x00\x01 NOT HTTP\r\n\r\n").unwrap();
        let mut sink = Vec::new();
        let _ = tcp.read_to_end(&mut sink);
        assert!(sink.is_empty() || sink.starts_with(b"HTTP/1.1 400"));
    })
    .await
    .unwrap();

    assert_eq!(
        client()
            .get(server.url("/v1/ok"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ok"
    );
}

#[tokio::test]
async fn dropping_the_server_closes_in_flight_connections() {
    let server = ScriptedServer::start().await;
    let gate = Gate::new();
    server
        .post("/v1/chat/completions")
        .respond(sample_sse().chunking(Chunking::Events).gate(&gate));
    let mut response = client()
        .post(server.url("/v1/chat/completions"))
        .send()
        .await
        .unwrap();
    gate.release(1);
    assert!(response.chunk().await.unwrap().is_some());
    let addr = server.addr();
    drop(server);
    // The body fails instead of hanging, and nobody listens any more.
    let mut outcome = Ok(());
    loop {
        match response.chunk().await {
            Ok(Some(_)) => continue,
            Ok(None) => break,
            Err(err) => {
                outcome = Err(err);
                break;
            }
        }
    }
    assert!(
        outcome.is_err(),
        "the in-flight body must end with an error"
    );
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[test]
fn blocking_server_serves_a_blocking_client() {
    let server = ScriptedServer::start_blocking();
    server
        .post("/v1/moderations")
        .respond(Reply::json(200, json!({"flagged": false})));
    let mut tcp = std::net::TcpStream::connect(server.addr()).unwrap();
    tcp.write_all(
        b"POST /v1/moderations HTTP/1.1\r\nhost: localhost\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
    )
    .unwrap();
    let mut response = String::new();
    tcp.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.ends_with(r#"{"flagged":false}"#), "{response}");
    assert!(server.wait_for_requests_blocking(1, WAIT));
    assert_eq!(server.requests()[0].body, "{}");
    assert!(server.wait_until_blocking(WAIT, |s| s.connections_closed == 1));

    let addr = server.addr();
    drop(server);
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[tokio::test]
async fn blocking_server_detects_disconnects_from_an_async_client() {
    let server = ScriptedServer::start_blocking();
    server
        .get("/v1/stream")
        .respond(sample_sse().fault(Fault::HangAfter(10)));
    let mut response = client().get(server.url("/v1/stream")).send().await.unwrap();
    assert!(response.chunk().await.unwrap().is_some());
    drop(response);
    assert!(server.wait_for_disconnect(WAIT).await);
}

fn write_exchange(dir: &Path, stem: &str, exchange: &RecordedExchange, body: &[u8]) {
    let mut exchange = exchange.clone();
    let body_file = format!("{stem}.body");
    std::fs::write(dir.join(&body_file), body).unwrap();
    exchange.body_file = Some(body_file);
    std::fs::write(
        dir.join(format!("{stem}.exchange.json")),
        serde_json::to_vec_pretty(&exchange).unwrap(),
    )
    .unwrap();
}

#[tokio::test]
async fn fixtures_load_as_routes_and_sequences() {
    let dir = TempDir::empty("testing-fixtures");
    let sse = sample_sse().body_bytes().clone();
    let mut stream = RecordedExchange::new("POST", "/v1/chat/completions", 200);
    stream.headers = vec![
        (
            "content-type".into(),
            "text/event-stream; charset=utf-8".into(),
        ),
        ("content-length".into(), "999".into()),
        ("x-request-id".into(), "req_abc".into()),
    ];
    write_exchange(dir.path(), "0001-stream", &stream, &sse);

    let mut polling = RecordedExchange::new("GET", "/v1/batches/batch_1", 200);
    polling.headers = vec![("content-type".into(), "application/json".into())];
    write_exchange(
        dir.path(),
        "0002-poll",
        &polling,
        br#"{"status":"in_progress"}"#,
    );
    write_exchange(
        dir.path(),
        "0003-poll",
        &polling,
        br#"{"status":"completed"}"#,
    );

    let mut cut = RecordedExchange::new("GET", "/v1/cut", 200);
    cut.complete = false;
    write_exchange(dir.path(), "0004-cut", &cut, b"data: {\"partial\"");
    // Files that are not manifests are ignored.
    std::fs::write(dir.path().join("notes.json"), "not a manifest").unwrap();

    let server = ScriptedServer::start().await;
    assert_eq!(server.load_fixtures(dir.path()).unwrap(), 4);

    let response = client()
        .post(server.url("/v1/chat/completions"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "req_abc");
    assert!(response.headers().get("content-length").is_none());
    let (items, error) = read_items(response).await;
    assert!(error.is_none());
    assert_eq!(concat(&items), sse);
    // Replayed streams go out one event per piece.
    assert!(boundaries(Chunking::Events.sizes(&sse))
        .is_subset(&boundaries(items.iter().map(Bytes::len))));

    let poll = |_: ()| async {
        client()
            .get(server.url("/v1/batches/batch_1"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    assert_eq!(poll(()).await, r#"{"status":"in_progress"}"#);
    assert_eq!(poll(()).await, r#"{"status":"completed"}"#);
    assert_eq!(poll(()).await, r#"{"status":"completed"}"#);

    let (items, error) =
        read_items(client().get(server.url("/v1/cut")).send().await.unwrap()).await;
    assert_eq!(concat(&items), b"data: {\"partial\"");
    assert!(
        error.is_some(),
        "an incomplete recording replays as a cut-off body"
    );

    // Single files.
    std::fs::write(dir.path().join("one.sse"), &sse).unwrap();
    server
        .post("/v1/responses")
        .respond(Reply::sse_file(dir.path().join("one.sse")));
    let text = client()
        .post(server.url("/v1/responses"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(text, sse);

    // A broken manifest is reported with its path, and changes nothing.
    std::fs::write(dir.path().join("0005-bad.exchange.json"), "{").unwrap();
    let err = server.load_fixtures(dir.path()).unwrap_err();
    assert!(err.to_string().contains("0005-bad.exchange.json"), "{err}");
}

#[tokio::test]
async fn recording_proxy_forwards_records_and_strips_credentials() {
    let upstream = ScriptedServer::start().await;
    let reply = sample_sse()
        .chunking(Chunking::Events)
        .header("openai-organization", "org-secret")
        .header("openai-project", "proj-secret")
        .header("set-cookie", "session=secret")
        .header("x-request-id", "req_recorded");
    let sse = reply.body_bytes().clone();
    upstream.post("/v1/chat/completions").respond(reply);
    upstream
        .get("/v1/models")
        .respond(Reply::json(200, json!({"object": "list", "data": []})));

    let dir = TempDir::empty("testing-proxy");
    let proxy = RecordingProxy::start(&upstream.base_url(), dir.path())
        .await
        .unwrap();
    assert_eq!(proxy.base_url(), format!("http://{}/v1", proxy.addr()));

    let request_body = json!({"model": "gpt-4o", "stream": true, "messages": []});
    let response = client()
        .post(format!("{}/chat/completions?trace=yes", proxy.base_url()))
        .header("authorization", "Bearer sk-secret-key")
        .header("api-key", "azure-secret-key")
        .header("openai-organization", "org-secret")
        .header("openai-project", "proj-secret")
        .header("x-stainless-lang", "rust")
        .json(&request_body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-request-id"], "req_recorded");
    let (items, error) = read_items(response).await;
    assert!(error.is_none());
    assert_eq!(concat(&items), sse);
    let models = client()
        .get(format!("{}/models", proxy.base_url()))
        .send()
        .await
        .unwrap();
    // Compared as JSON: key order depends on serde_json's `preserve_order`.
    let models: serde_json::Value = serde_json::from_str(&models.text().await.unwrap()).unwrap();
    assert_eq!(models, serde_json::json!({"data": [], "object": "list"}));

    // The upstream saw the credentials (they are forwarded)...
    let seen = &upstream.requests_to("/v1/chat/completions")[0];
    assert_eq!(seen.header("authorization"), Some("Bearer sk-secret-key"));
    assert_eq!(seen.header("api-key"), Some("azure-secret-key"));
    assert_eq!(seen.query.as_deref(), Some("trace=yes"));
    assert_eq!(seen.json().unwrap(), request_body);

    // ...but no recorded file contains them.
    assert!(proxy.wait_for_exchanges(2, WAIT).await);
    assert!(proxy.write_errors().is_empty());
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let text =
            String::from_utf8_lossy(&std::fs::read(entry.unwrap().path()).unwrap()).into_owned();
        for secret in [
            "sk-secret-key",
            "azure-secret-key",
            "org-secret",
            "proj-secret",
            "session=secret",
        ] {
            assert!(!text.contains(secret), "{secret} leaked into a fixture");
        }
    }

    let manifests = proxy.exchanges();
    assert_eq!(manifests.len(), 2);
    assert!(manifests[0].ends_with("0001-post-v1-chat-completions.exchange.json"));
    let exchange = RecordedExchange::read(&manifests[0]).unwrap();
    assert_eq!(exchange.method, "POST");
    assert_eq!(exchange.path, "/v1/chat/completions");
    assert_eq!(exchange.query.as_deref(), Some("trace=yes"));
    assert_eq!(exchange.status, 200);
    assert!(exchange.complete);
    let header = |name: &str| {
        exchange
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(header("content-type"), Some("text/event-stream"));
    assert_eq!(header("x-request-id"), Some("req_recorded"));
    assert_eq!(header("openai-organization"), None);
    assert_eq!(header("transfer-encoding"), None);
    assert_eq!(exchange.response_body(dir.path()).unwrap(), sse);
    let recorded_request = exchange.request.as_ref().unwrap();
    assert!(recorded_request
        .headers
        .iter()
        .any(|(n, v)| n == "x-stainless-lang" && v == "rust"));
    assert!(!recorded_request
        .headers
        .iter()
        .any(|(n, _)| n == "authorization" || n == "api-key"));
    let request_file = dir
        .path()
        .join(recorded_request.body_file.as_ref().unwrap());
    let sent: serde_json::Value =
        serde_json::from_slice(&std::fs::read(request_file).unwrap()).unwrap();
    assert_eq!(sent, request_body);

    // The recording replays offline.
    drop(proxy);
    drop(upstream);
    let replay = ScriptedServer::start().await;
    assert_eq!(replay.load_fixtures(dir.path()).unwrap(), 2);
    let replayed = client()
        .post(replay.url("/v1/chat/completions?trace=yes"))
        .send()
        .await
        .unwrap();
    assert_eq!(replayed.headers()["x-request-id"], "req_recorded");
    assert_eq!(replayed.bytes().await.unwrap(), sse);

    // A second proxy on the same directory continues the numbering.
    let upstream = ScriptedServer::start().await;
    upstream.get("/v1/models").respond(Reply::status(204));
    let proxy = RecordingProxy::start(&upstream.base_url(), dir.path())
        .await
        .unwrap();
    client().get(proxy.url("/v1/models")).send().await.unwrap();
    assert!(proxy.wait_for_exchanges(1, WAIT).await);
    assert!(proxy.exchanges()[0].ends_with("0003-get-v1-models.exchange.json"));
}

#[tokio::test]
async fn recording_proxy_reports_an_unreachable_upstream() {
    let upstream = ScriptedServer::start().await;
    let base = upstream.base_url();
    drop(upstream);
    let dir = TempDir::empty("testing-proxy-down");
    let proxy = RecordingProxy::start(&base, dir.path()).await.unwrap();
    let response = client().get(proxy.url("/v1/models")).send().await.unwrap();
    assert_eq!(response.status(), 502);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("could not reach"));
    assert!(proxy.exchanges().is_empty());
    assert!(RecordingProxy::start("not a url", dir.path())
        .await
        .is_err());
}

#[tokio::test(start_paused = true)]
async fn delays_and_stalls_follow_the_paused_clock() {
    // Server and client share this runtime, so the server's sleeps run on the virtual clock:
    // the test observes them as virtual time passing, never as wall-clock time.
    let server = ScriptedServer::start().await;
    let reply = sample_sse();
    let body = reply.body_bytes().clone();
    server
        .post("/v1/headers")
        .respond(reply.clone().delay_headers(Duration::from_secs(30)));
    server.post("/v1/pieces").respond(
        reply
            .clone()
            .chunking(Chunking::Events)
            .chunk_delay(Duration::from_secs(5)),
    );
    server
        .post("/v1/stall")
        .respond(reply.fault(Fault::StallAfter {
            bytes: 10,
            duration: Duration::from_secs(60),
        }));

    let start = tokio::time::Instant::now();
    let response = client()
        .post(server.url("/v1/headers"))
        .send()
        .await
        .unwrap();
    assert!(start.elapsed() >= Duration::from_secs(30));
    assert_eq!(response.bytes().await.unwrap(), body);

    let start = tokio::time::Instant::now();
    let response = client()
        .post(server.url("/v1/pieces"))
        .send()
        .await
        .unwrap();
    let (items, error) = read_items(response).await;
    assert!(error.is_none());
    assert_eq!(concat(&items), body);
    // Four events, three gaps between them.
    assert!(start.elapsed() >= Duration::from_secs(15));

    let start = tokio::time::Instant::now();
    let mut response = client().post(server.url("/v1/stall")).send().await.unwrap();
    let mut received = response.chunk().await.unwrap().unwrap().to_vec();
    while received.len() < 10 {
        received.extend_from_slice(&response.chunk().await.unwrap().unwrap());
    }
    assert_eq!(received, &body[..10]);
    let before_stall = start.elapsed();
    assert!(before_stall < Duration::from_secs(60));
    while let Some(piece) = response.chunk().await.unwrap() {
        received.extend_from_slice(&piece);
    }
    assert_eq!(received, body);
    assert!(start.elapsed() >= Duration::from_secs(60));
}

#[tokio::test]
async fn connections_are_counted_and_reused() {
    let server = ScriptedServer::start().await;
    server
        .get("/v1/models")
        .respond(Reply::json(200, json!({"data": []})));
    let keep_alive = client();
    for _ in 0..3 {
        let response = keep_alive
            .get(server.url("/v1/models"))
            .send()
            .await
            .unwrap();
        response.bytes().await.unwrap();
    }
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests
        .iter()
        .all(|r| r.connection_id == requests[0].connection_id));
    assert_eq!(
        requests.iter().map(|r| r.index).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    assert_eq!(server.stats().connections_opened, 1);

    // A second client opens a second connection; dropping both clients closes both.
    let other = client();
    other
        .get(server.url("/v1/models"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(server.stats().connections_opened, 2);
    assert_ne!(
        server.requests()[3].connection_id,
        requests[0].connection_id
    );
    drop(keep_alive);
    drop(other);
    assert!(server.wait_for_connections_closed(2, WAIT).await);
    let stats = server.stats();
    assert_eq!((stats.requests, stats.disconnects), (4, 0));
}

#[tokio::test]
async fn a_request_cut_off_mid_body_is_recorded_as_incomplete() {
    let server = ScriptedServer::start().await;
    let route = server
        .post("/v1/files")
        .respond(Reply::json(200, json!({"id": "file-1"})));
    let addr = server.addr();
    tokio::task::spawn_blocking(move || {
        let mut tcp = std::net::TcpStream::connect(addr).unwrap();
        tcp.write_all(b"POST /v1/files HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\npartial")
            .unwrap();
        // Closing here leaves 93 announced bytes unsent.
    })
    .await
    .unwrap();
    assert!(server.wait_for_requests(1, WAIT).await);
    let request = server.last_request().unwrap();
    assert!(!request.body_complete);
    assert_eq!(request.body, "partial");
    assert!(request.route.is_none());
    assert_eq!(route.calls(), 0);

    // The whole script is still there for a well-formed request.
    let ok = client()
        .post(server.url("/v1/files"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(
        ok.json::<serde_json::Value>().await.unwrap()["id"],
        "file-1"
    );
}
