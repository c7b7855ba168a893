//! Responses over a WebSocket, against the scripted WebSocket server on loopback: the
//! same `ResponseStream` as over HTTP.
#![cfg(feature = "responses-ws")]

use std::time::Duration;

use futures::StreamExt;
use openai_sdk::error::StreamErrorKind;
use openai_sdk::responses::ResponseStreamEvent;
use openai_sdk::testing::{ClientFrameKind, Reply, ScriptedServer, ScriptedWsServer, WsAction};
use openai_sdk::types::CreateResponse;
use openai_sdk::Error;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(10);

/// A recorded stream (openai-dotnet's test suite, see tests/fixtures/responses/README.md).
const RECORDING: &str =
    include_str!("../fixtures/responses/dotnet_responses_CanStreamBackgroundResponses.sse");

fn recorded_events() -> Vec<Value> {
    RECORDING
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

fn request(input: &str) -> CreateResponse {
    serde_json::from_value(json!({"model": "gpt-4o-mini", "input": input})).unwrap()
}

/// A small text response `id` whose text is the concatenation of `words`.
fn text_events(id: &str, words: &[&str]) -> Vec<Value> {
    let response = |status: &str, output: Value| json!({"id": id, "object": "response", "created_at": 1, "status": status, "model": "gpt-4o-mini", "output": output});
    let full: String = words.concat();
    let mut seq = 0;
    let mut next = || {
        seq += 1;
        seq - 1
    };
    let item_id = format!("msg_{id}");
    let mut out = vec![
        json!({"type": "response.created", "sequence_number": next(), "response": response("in_progress", json!([]))}),
        json!({"type": "response.output_item.added", "sequence_number": next(), "output_index": 0,
            "item": {"id": item_id, "type": "message", "status": "in_progress", "role": "assistant", "content": []}}),
        json!({"type": "response.content_part.added", "sequence_number": next(), "item_id": item_id, "output_index": 0, "content_index": 0,
            "part": {"type": "output_text", "text": "", "annotations": []}}),
    ];
    for w in words {
        out.push(json!({"type": "response.output_text.delta", "sequence_number": next(), "item_id": item_id, "output_index": 0, "content_index": 0, "delta": w}));
    }
    let part = json!({"type": "output_text", "text": full, "annotations": []});
    let item = json!({"id": item_id, "type": "message", "status": "completed", "role": "assistant", "content": [part]});
    out.push(json!({"type": "response.output_text.done", "sequence_number": next(), "item_id": item_id, "output_index": 0, "content_index": 0, "text": full}));
    out.push(json!({"type": "response.content_part.done", "sequence_number": next(), "item_id": item_id, "output_index": 0, "content_index": 0, "part": part}));
    out.push(json!({"type": "response.output_item.done", "sequence_number": next(), "output_index": 0, "item": item}));
    out.push(json!({"type": "response.completed", "sequence_number": next(), "response": response("completed", json!([item]))}));
    out
}

fn sends(events: Vec<Value>) -> Vec<WsAction> {
    events.into_iter().map(WsAction::send).collect()
}

fn raw(event: &ResponseStreamEvent) -> Value {
    serde_json::from_str(event.raw_json()).unwrap()
}

#[tokio::test]
async fn url_auth_and_response_create() {
    let server = ScriptedWsServer::start().await;
    server
        .on("response.create")
        .reply(sends(text_events("resp_1", &["Hi"])));
    let connection = server.client().responses().connect().await.unwrap();
    let mut stream = connection.stream(request("Hello")).await.unwrap();
    stream.until_done().await.unwrap();
    // The stream's metadata is the handshake's answer, as over HTTP it is the POST's.
    assert_eq!(stream.metadata().status().as_u16(), 101);
    assert_eq!(stream.request_id(), Some("req_ws_0"));
    assert_eq!(connection.request_id(), Some("req_ws_0"));
    assert_eq!(connection.metadata(), stream.metadata());
    assert_eq!(
        stream.headers()["upgrade"]
            .to_str()
            .unwrap()
            .to_ascii_lowercase(),
        "websocket"
    );
    assert!(
        format!("{stream:?}").starts_with("ResponseStream { events: 8, connections: 1"),
        "{stream:?}"
    );
    let hs = &server.handshakes()[0];
    assert_eq!(hs.path, "/v1/responses");
    assert_eq!(hs.header("authorization"), Some("Bearer sk-test"));
    let sent = server.client_events();
    assert_eq!(
        sent,
        [json!({"type": "response.create", "model": "gpt-4o-mini", "input": "Hello"})]
    );
}

#[tokio::test]
async fn the_same_events_and_final_response_as_over_http() {
    let events = recorded_events();
    // Over HTTP: the recording as SSE.
    let http = ScriptedServer::start().await;
    http.post("/v1/responses")
        .respond(Reply::sse_raw(RECORDING.as_bytes().to_vec()));
    let mut sse = http
        .client()
        .responses()
        .stream(request("x"))
        .await
        .unwrap();
    let mut over_http = Vec::new();
    while let Some(event) = sse.next().await {
        over_http.push(event.unwrap());
    }
    let http_final = sse.final_response().await.unwrap();

    // Over a WebSocket: each event one message.
    let server = ScriptedWsServer::start().await;
    server.on("response.create").reply(sends(events.clone()));
    let connection = server.client().responses().connect().await.unwrap();
    let mut stream = connection.stream(request("x")).await.unwrap();
    let mut over_ws = Vec::new();
    while let Some(event) = stream.next().await {
        over_ws.push(event.unwrap());
    }
    let ws_final = stream.final_response().await.unwrap();

    assert_eq!(over_ws.len(), events.len());
    assert_eq!(over_ws.len(), over_http.len());
    for (a, b) in over_ws.iter().zip(&over_http) {
        assert_eq!(a.event_type(), b.event_type());
        assert_eq!(raw(a), raw(b));
        assert_eq!(a.text_delta(), b.text_delta());
        assert_eq!(a.to_reference_json(), b.to_reference_json());
    }
    assert!(!ws_final.output_text().is_empty());
    assert_eq!(ws_final.output_text(), http_final.output_text());
    assert_eq!(
        stream.current_snapshot().unwrap().id(),
        sse.current_snapshot().unwrap().id()
    );
    assert!(stream.state().is_finished());
}

#[tokio::test]
async fn responses_in_sequence_on_one_socket() {
    let server = ScriptedWsServer::start().await;
    server
        .on("response.create")
        .reply(sends(text_events("resp_1", &["one"])))
        .reply(sends(text_events("resp_2", &["tw", "o"])));
    let connection = server.client().responses().connect().await.unwrap();
    let first = connection
        .stream(request("a"))
        .await
        .unwrap()
        .final_response()
        .await
        .unwrap();
    let second = connection
        .stream(request("b"))
        .await
        .unwrap()
        .final_response()
        .await
        .unwrap();
    assert_eq!(first.output_text(), "one");
    assert_eq!(second.output_text(), "two");
    assert_eq!(server.handshakes().len(), 1);
}

#[tokio::test]
async fn concurrent_streams_are_routed_by_stream_id() {
    let server = ScriptedWsServer::start().await;
    let tag = |events: Vec<Value>, id: &str| -> Vec<Value> {
        events
            .into_iter()
            .map(|mut e| {
                e["stream_id"] = json!(id);
                e
            })
            .collect()
    };
    let a = tag(text_events("resp_a", &["al", "pha"]), "a");
    let b = tag(text_events("resp_b", &["be", "ta", "!"]), "b");
    // Interleaved: a0 b0 a1 b1 ...
    let mut mixed = Vec::new();
    for i in 0..a.len().max(b.len()) {
        mixed.extend(a.get(i).cloned());
        mixed.extend(b.get(i).cloned());
    }
    server.on("response.create").reply([]).reply(sends(mixed));
    let connection = server.client().responses().connect().await.unwrap();
    let mut sa = connection.stream_with_id(request("a"), "a").await.unwrap();
    let mut sb = connection.stream_with_id(request("b"), "b").await.unwrap();
    let (ra, rb) = tokio::join!(sa.final_response(), sb.final_response());
    assert_eq!(ra.unwrap().output_text(), "alpha");
    assert_eq!(rb.unwrap().output_text(), "beta!");
    let sent = server.client_events();
    assert_eq!(sent[0]["stream_id"], "a");
    assert_eq!(sent[1]["stream_id"], "b");

    // The same stream_id twice at once is refused, typed.
    server.on("response.create").reply([]);
    let _busy = connection.stream_with_id(request("c"), "c").await.unwrap();
    let mut again = connection.stream_with_id(request("c"), "c").await.unwrap();
    assert!(matches!(
        again.next().await.unwrap(),
        Err(Error::InvalidRequest(_))
    ));
}

#[tokio::test]
async fn ws_error_event_is_a_typed_api_error_and_the_connection_goes_on() {
    let server = ScriptedWsServer::start().await;
    server
        .on("response.create")
        .reply([WsAction::send(json!({"type": "error", "status": 400,
            "error": {"type": "invalid_request_error", "code": "previous_response_not_found", "param": "previous_response_id", "message": "Previous response not found."}}))])
        .reply(sends(text_events("resp_2", &["ok"])));
    let connection = server.client().responses().connect().await.unwrap();
    let mut stream = connection.stream(request("a")).await.unwrap();
    let err = stream.next().await.unwrap().unwrap_err();
    let api = err.api_error().unwrap();
    assert_eq!(api.status, Some(400));
    assert_eq!(api.code.as_deref(), Some("previous_response_not_found"));
    assert_eq!(api.param.as_deref(), Some("previous_response_id"));
    assert_eq!(api.message, "Previous response not found.");
    assert!(stream.next().await.is_none());
    let next = connection
        .stream(request("b"))
        .await
        .unwrap()
        .final_response()
        .await
        .unwrap();
    assert_eq!(next.output_text(), "ok");
}

#[tokio::test]
async fn undecodable_event_is_a_typed_error_and_the_connection_goes_on() {
    let server = ScriptedWsServer::start().await;
    let mut first = text_events("resp_1", &["x"]);
    first.truncate(3);
    first.push(json!({"type": "response.output_text.delta", "sequence_number": 3, "item_id": "msg_resp_1", "output_index": 0, "content_index": 0, "delta": 7}));
    server
        .on("response.create")
        .reply(sends(first))
        .reply(sends(text_events("resp_2", &["fine"])));
    let connection = server.client().responses().connect().await.unwrap();
    let mut stream = connection.stream(request("a")).await.unwrap();
    let items: Vec<_> = stream.by_ref().collect().await;
    let err = items.last().unwrap().as_ref().unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert_eq!(stream.current_snapshot().unwrap().id(), Some("resp_1"));
    // The raw event is in the server's record of what was sent, and here:
    assert!(err.to_string().contains("\"delta\":7"), "{err}");
    let next = connection
        .stream(request("b"))
        .await
        .unwrap()
        .final_response()
        .await
        .unwrap();
    assert_eq!(next.output_text(), "fine");
}

#[tokio::test]
async fn server_closing_mid_response_is_a_typed_error_with_the_snapshot() {
    let server = ScriptedWsServer::start().await;
    let mut events = text_events("resp_1", &["par", "tial", "never"]);
    events.truncate(5);
    let mut actions = sends(events);
    actions.push(WsAction::close(1011, "upstream went away"));
    server.on("response.create").reply(actions);
    let connection = server.client().responses().connect().await.unwrap();
    let mut stream = connection.stream(request("a")).await.unwrap();
    let items: Vec<_> = stream.by_ref().collect().await;
    match items.last().unwrap() {
        Err(Error::WebSocketClosed { code, reason }) => {
            assert_eq!(*code, 1011);
            assert_eq!(reason, "upstream went away");
        }
        other => panic!("unexpected {other:?}"),
    }
    let snapshot = stream.current_snapshot().unwrap();
    assert_eq!(snapshot.id(), Some("resp_1"));
    assert_eq!(snapshot.output_text(), "partial");
}

#[tokio::test]
async fn normal_close_before_completed_is_no_final_event() {
    let server = ScriptedWsServer::start().await;
    let mut events = text_events("resp_1", &["a"]);
    events.truncate(4);
    let mut actions = sends(events);
    actions.push(WsAction::close(1000, ""));
    server.on("response.create").reply(actions);
    let connection = server.client().responses().connect().await.unwrap();
    let mut stream = connection.stream(request("a")).await.unwrap();
    let items: Vec<_> = stream.by_ref().collect().await;
    assert!(matches!(
        items.last().unwrap(),
        Err(Error::Stream {
            kind: StreamErrorKind::NoFinalEvent,
            ..
        })
    ));
}

#[tokio::test]
async fn drop_mid_stream_closes_the_socket() {
    let server = ScriptedWsServer::start().await;
    let mut events = text_events("resp_1", &["a", "b"]);
    events.truncate(4);
    server.on("response.create").reply(sends(events));
    let connection = server.client().responses().connect().await.unwrap();
    let mut stream = connection.stream(request("a")).await.unwrap();
    stream.next().await.unwrap().unwrap();
    drop(connection);
    // The stream keeps the socket open while it lives.
    stream.next().await.unwrap().unwrap();
    assert!(server.disconnects().is_empty());
    drop(stream);
    let end = server.wait_for_disconnect(WAIT).await.unwrap();
    assert!(end.client_closed);
    assert!(server
        .frames()
        .iter()
        .any(|f| matches!(f.kind, ClientFrameKind::Close(Some((1000, _))))));
}

#[tokio::test]
async fn refused_handshake_is_an_api_error() {
    let server = ScriptedWsServer::start().await;
    server.refuse_handshake(
        429,
        json!({"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}),
    );
    let err = server.client().responses().connect().await.unwrap_err();
    assert!(err.is_rate_limited());
    assert_eq!(err.api_error().unwrap().message, "Rate limit reached");
}

#[tokio::test]
async fn binary_message_is_a_typed_error() {
    let server = ScriptedWsServer::start().await;
    server
        .on("response.create")
        .reply([WsAction::SendBinary(b"\x00\x01".to_vec())]);
    let connection = server.client().responses().connect().await.unwrap();
    let mut stream = connection.stream(request("a")).await.unwrap();
    assert!(matches!(
        stream.next().await.unwrap(),
        Err(Error::Stream {
            kind: StreamErrorKind::InvalidJson,
            ..
        })
    ));
}

#[tokio::test]
async fn azure_with_an_entra_token_provider() {
    let server = ScriptedWsServer::start().await;
    server
        .on("response.create")
        .reply(sends(text_events("resp_1", &["Hi"])));
    let client = openai_sdk::Client::builder()
        .azure(format!("http://{}", server.addr()), "2025-04-01-preview")
        .azure_ad_token_provider(|| Ok("entra-token".into()))
        .build()
        .unwrap();
    let connection = client.responses().connect().await.unwrap();
    let mut stream = connection.stream(request("Hello")).await.unwrap();
    let response = stream.final_response().await.unwrap();
    assert_eq!(response.output_text(), "Hi");
    let hs = &server.handshakes()[0];
    assert_eq!(hs.path, "/openai/responses");
    assert_eq!(
        hs.query_param("api-version").as_deref(),
        Some("2025-04-01-preview")
    );
    assert_eq!(hs.header("authorization"), Some("Bearer entra-token"));
    assert_eq!(hs.header("api-key"), None);
}
