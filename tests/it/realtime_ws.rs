//! Realtime over a WebSocket, against the scripted WebSocket server on loopback.
#![cfg(feature = "realtime")]

use std::time::Duration;

use futures::StreamExt;
use openai_sdk::error::StreamErrorKind;
use openai_sdk::realtime::RealtimeConnectOptions;
use openai_sdk::testing::{ClientFrameKind, ScriptedWsServer, WsAction};
use openai_sdk::types::RealtimeServerEvent;
use openai_sdk::ws::WsOptions;
use openai_sdk::{Client, Error};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(10);

fn session_created() -> WsAction {
    WsAction::send(
        json!({"type": "session.created", "event_id": "ev_0", "session": {"type": "realtime", "object": "realtime.session", "id": "sess_1"}}),
    )
}

fn created(id: &str) -> WsAction {
    WsAction::send(
        json!({"type": "response.created", "event_id": "ev_1", "response": {"id": id, "object": "realtime.response", "status": "in_progress", "output": []}}),
    )
}

fn item_added(id: &str) -> WsAction {
    WsAction::send(
        json!({"type": "response.output_item.added", "event_id": "ev_2", "response_id": id, "output_index": 0,
        "item": {"id": "item_1", "type": "message", "role": "assistant", "status": "in_progress", "content": []}}),
    )
}

fn part_added(id: &str) -> WsAction {
    WsAction::send(
        json!({"type": "response.content_part.added", "event_id": "ev_3", "response_id": id, "item_id": "item_1",
        "output_index": 0, "content_index": 0, "part": {"type": "text", "text": ""}}),
    )
}

fn delta(id: &str, text: &str) -> WsAction {
    WsAction::send(
        json!({"type": "response.output_text.delta", "event_id": "ev_d", "response_id": id, "item_id": "item_1",
        "output_index": 0, "content_index": 0, "delta": text}),
    )
}

fn transcript_delta(id: &str, text: &str) -> WsAction {
    WsAction::send(
        json!({"type": "response.output_audio_transcript.delta", "event_id": "ev_t", "response_id": id, "item_id": "item_1",
        "output_index": 0, "content_index": 1, "delta": text}),
    )
}

fn done(id: &str, text: &str) -> WsAction {
    WsAction::send(
        json!({"type": "response.done", "event_id": "ev_9", "response": {"id": id, "object": "realtime.response", "status": "completed",
        "output": [{"id": "item_1", "type": "message", "role": "assistant", "status": "completed", "content": [{"type": "output_text", "text": text}]}]}}),
    )
}

fn event_type(event: &RealtimeServerEvent) -> String {
    serde_json::to_value(event).unwrap()["type"]
        .as_str()
        .unwrap_or("?")
        .to_owned()
}

#[tokio::test]
async fn url_and_auth_header() {
    let server = ScriptedWsServer::start().await;
    let connection = server
        .client()
        .realtime()
        .connect("gpt-realtime")
        .await
        .unwrap();
    let hs = &server.handshakes()[0];
    assert_eq!(hs.path, "/v1/realtime");
    assert_eq!(hs.query_param("model").as_deref(), Some("gpt-realtime"));
    assert_eq!(hs.header("authorization"), Some("Bearer sk-test"));
    drop(connection);

    // An ephemeral client secret replaces the key.
    server
        .client()
        .realtime()
        .connect_with(
            RealtimeConnectOptions::new()
                .model("gpt-realtime")
                .client_secret("ek_abc")
                .query("x", "1")
                .header("x-extra", "yes"),
        )
        .await
        .unwrap();
    let hs = &server.handshakes()[1];
    assert_eq!(hs.header("authorization"), Some("Bearer ek_abc"));
    assert_eq!(hs.header("x-extra"), Some("yes"));
    assert_eq!(hs.query_param("x").as_deref(), Some("1"));
}

#[tokio::test]
async fn azure_gets_deployment_api_version_and_api_key() {
    let server = ScriptedWsServer::start().await;
    let client = Client::builder()
        .azure(format!("http://{}", server.addr()), "2025-04-01-preview")
        .api_key("azure-key")
        .build()
        .unwrap();
    client.realtime().connect("my-deployment").await.unwrap();
    let hs = &server.handshakes()[0];
    assert_eq!(hs.path, "/openai/realtime");
    assert_eq!(
        hs.query_param("api-version").as_deref(),
        Some("2025-04-01-preview")
    );
    assert_eq!(
        hs.query_param("deployment").as_deref(),
        Some("my-deployment")
    );
    assert_eq!(hs.header("api-key"), Some("azure-key"));
    assert_eq!(hs.header("authorization"), None);
}

#[tokio::test]
async fn events_in_order_accumulated_and_unknown_kept() {
    let server = ScriptedWsServer::start().await;
    server.on_connect([session_created()]);
    server.on("response.create").reply([
        created("resp_1"),
        item_added("resp_1"),
        part_added("resp_1"),
        delta("resp_1", "Hel"),
        WsAction::send(
            json!({"type": "response.brand_new_event", "event_id": "ev_x", "payload": {"a": 1}}),
        ),
        delta("resp_1", "lo"),
        transcript_delta("resp_1", "Hi there"),
        done("resp_1", "Hello"),
    ]);
    let mut connection = server
        .client()
        .realtime()
        .connect("gpt-realtime")
        .await
        .unwrap();
    connection.send_user_text("Say hello").await.unwrap();
    connection.create_response().await.unwrap();
    let mut types = Vec::new();
    let mut unknown = None;
    while let Some(event) = connection.next().await {
        let event = event.unwrap();
        types.push(event_type(&event));
        if let RealtimeServerEvent::Unknown(v) = &event {
            unknown = Some(v.clone());
        }
        if matches!(event, RealtimeServerEvent::ResponseDone(_)) {
            break;
        }
    }
    assert_eq!(
        types,
        [
            "session.created",
            "response.created",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.brand_new_event",
            "response.output_text.delta",
            "response.output_audio_transcript.delta",
            "response.done"
        ]
    );
    assert_eq!(unknown.unwrap()["payload"], json!({"a": 1}));
    let response = connection.state().response("resp_1").unwrap();
    assert_eq!(response.text(), "Hello");
    assert_eq!(response.audio_transcript(), "Hi there");
    assert!(response.is_done());
    assert_eq!(
        response.final_response().unwrap().id.as_deref(),
        Some("resp_1")
    );
    assert_eq!(connection.state().in_progress(), None);
    let sent = server.client_events();
    assert_eq!(sent[0]["type"], "conversation.item.create");
    assert_eq!(sent[0]["item"]["content"][0]["type"], "input_text");
    assert_eq!(sent[0]["item"]["content"][0]["text"], "Say hello");
    assert_eq!(sent[1], json!({"type": "response.create"}));
}

#[tokio::test]
async fn snapshot_is_accumulated_before_done() {
    let server = ScriptedWsServer::start().await;
    server.on("response.create").reply([
        created("resp_1"),
        item_added("resp_1"),
        part_added("resp_1"),
        delta("resp_1", "Hel"),
        delta("resp_1", "lo"),
        WsAction::close(1011, "internal error"),
    ]);
    let mut connection = server.client().realtime().connect("m").await.unwrap();
    connection.create_response().await.unwrap();
    let mut last = None;
    while let Some(event) = connection.next().await {
        if let Err(e) = event {
            last = Some(e);
        }
    }
    // The server closed mid-response: a typed error with the close code and reason.
    match last.unwrap() {
        Error::WebSocketClosed { code, reason } => {
            assert_eq!(code, 1011);
            assert_eq!(reason, "internal error");
        }
        other => panic!("unexpected {other:?}"),
    }
    let response = connection.state().response("resp_1").unwrap();
    assert_eq!(response.text(), "Hello");
    assert_eq!(
        Value::Object(response.snapshot().clone())["output"][0]["content"][0]["text"],
        "Hello"
    );
    assert!(!response.is_done());
}

#[tokio::test]
async fn normal_close_mid_response_is_an_error_between_responses_is_not() {
    let server = ScriptedWsServer::start().await;
    server.on("response.create").reply([
        created("resp_1"),
        delta("resp_1", "x"),
        WsAction::close(1000, ""),
    ]);
    let mut connection = server.client().realtime().connect("m").await.unwrap();
    connection.create_response().await.unwrap();
    let items: Vec<_> = connection.by_ref().collect().await;
    let err = items.last().unwrap().as_ref().unwrap_err();
    assert!(
        matches!(
            err,
            Error::Stream {
                kind: StreamErrorKind::NoFinalEvent,
                ..
            }
        ),
        "{err:?}"
    );

    let server = ScriptedWsServer::start().await;
    server.on("response.create").reply([
        created("resp_1"),
        done("resp_1", "x"),
        WsAction::close(1000, ""),
    ]);
    let mut connection = server.client().realtime().connect("m").await.unwrap();
    connection.create_response().await.unwrap();
    let items: Vec<_> = connection.by_ref().collect().await;
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(Result::is_ok));
}

#[tokio::test]
async fn cut_connection_is_a_connection_error() {
    let server = ScriptedWsServer::start().await;
    server
        .on("response.create")
        .reply([created("resp_1"), delta("resp_1", "par"), WsAction::Cut]);
    let mut connection = server.client().realtime().connect("m").await.unwrap();
    connection.create_response().await.unwrap();
    let items: Vec<_> = connection.by_ref().collect().await;
    assert!(matches!(
        items.last().unwrap(),
        Err(Error::Connection { .. })
    ));
    assert_eq!(connection.state().response("resp_1").unwrap().text(), "par");
}

#[tokio::test]
async fn binary_and_non_json_frames_are_typed_errors_and_the_session_goes_on() {
    let server = ScriptedWsServer::start().await;
    server.on("response.create").reply([
        WsAction::SendBinary(vec![1, 2, 3]),
        WsAction::SendText("not json".into()),
        // A known type that does not decode: `delta` must be a string.
        WsAction::send(json!({"type": "response.output_text.delta", "event_id": "e", "response_id": "r", "item_id": "i", "output_index": 0, "content_index": 0, "delta": 5})),
        session_created(),
    ]);
    let mut connection = server.client().realtime().connect("m").await.unwrap();
    connection.create_response().await.unwrap();

    let binary = connection.next().await.unwrap().unwrap_err();
    assert!(
        matches!(
            binary,
            Error::Stream {
                kind: StreamErrorKind::InvalidJson,
                ..
            }
        ),
        "{binary:?}"
    );
    assert_eq!(connection.last_undecoded(), Some(&[1u8, 2, 3][..]));

    let text = connection.next().await.unwrap().unwrap_err();
    assert!(
        matches!(
            text,
            Error::Stream {
                kind: StreamErrorKind::InvalidJson,
                ..
            }
        ),
        "{text:?}"
    );
    assert_eq!(connection.last_undecoded(), Some(&b"not json"[..]));

    match connection.next().await.unwrap().unwrap_err() {
        Error::Decode { path, what, .. } => {
            assert_eq!(path, "delta");
            assert!(what.contains("response.output_text.delta"), "{what}");
        }
        other => panic!("unexpected {other:?}"),
    }
    let raw: Value = serde_json::from_slice(connection.last_undecoded().unwrap()).unwrap();
    assert_eq!(raw["delta"], 5);

    // Still usable.
    let next = connection.next().await.unwrap().unwrap();
    assert!(matches!(next, RealtimeServerEvent::SessionCreated(_)));
}

#[tokio::test]
async fn error_event_is_a_typed_api_error_and_snapshot_stays() {
    let server = ScriptedWsServer::start().await;
    server.on("response.create").reply([
        created("resp_1"),
        delta("resp_1", "so far"),
        WsAction::send(json!({"type": "error", "event_id": "ev_e", "error": {"type": "invalid_request_error", "code": "bad_param", "param": "session.voice", "message": "Bad voice", "event_id": "ev_client"}})),
        done("resp_1", "so far"),
    ]);
    let mut connection = server.client().realtime().connect("m").await.unwrap();
    connection.create_response().await.unwrap();
    let mut api = None;
    while let Some(event) = connection.next().await {
        match event {
            Err(Error::Api(e)) => api = Some(e),
            Ok(RealtimeServerEvent::ResponseDone(_)) => break,
            Ok(_) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    let api = api.unwrap();
    assert_eq!(api.status, None);
    assert_eq!(api.code.as_deref(), Some("bad_param"));
    assert_eq!(api.param.as_deref(), Some("session.voice"));
    assert_eq!(api.message, "Bad voice");
    assert_eq!(
        connection.state().response("resp_1").unwrap().text(),
        "so far"
    );
}

#[tokio::test]
async fn answers_pings() {
    let server = ScriptedWsServer::start().await;
    server
        .on("response.create")
        .reply([WsAction::Ping(b"are you there".to_vec()), session_created()]);
    let mut connection = server.client().realtime().connect("m").await.unwrap();
    connection.create_response().await.unwrap();
    connection.next().await.unwrap().unwrap();
    assert!(
        server
            .wait_for_frames(WAIT, |frames| frames
                .iter()
                .any(|f| f.kind == ClientFrameKind::Pong(b"are you there".to_vec())))
            .await
    );
}

#[tokio::test]
async fn drop_mid_stream_closes_the_socket() {
    let server = ScriptedWsServer::start().await;
    server
        .on("response.create")
        .reply([created("resp_1"), delta("resp_1", "a")]);
    let mut connection = server.client().realtime().connect("m").await.unwrap();
    connection.create_response().await.unwrap();
    connection.next().await.unwrap().unwrap();
    drop(connection);
    let end = server.wait_for_disconnect(WAIT).await.unwrap();
    assert!(end.client_closed);
    assert!(server
        .frames()
        .iter()
        .any(|f| f.kind == ClientFrameKind::Close(Some((1000, String::new())))));
}

#[tokio::test]
async fn split_halves_work_concurrently_and_close_when_both_drop() {
    let server = ScriptedWsServer::start().await;
    server.on("response.create").reply([
        created("resp_1"),
        delta("resp_1", "hi"),
        done("resp_1", "hi"),
    ]);
    let connection = server.client().realtime().connect("m").await.unwrap();
    let (sender, mut receiver) = connection.split();
    let reader = tokio::spawn(async move {
        let mut n = 0;
        while let Some(event) = receiver.next().await {
            n += 1;
            if matches!(event.unwrap(), RealtimeServerEvent::ResponseDone(_)) {
                break;
            }
        }
        (n, receiver)
    });
    sender.append_input_audio(&[0, 1, 2, 255]).await.unwrap();
    sender
        .update_session(json!({"type": "realtime", "instructions": "be brief"}))
        .await
        .unwrap();
    sender.create_response().await.unwrap();
    let (n, receiver) = reader.await.unwrap();
    assert_eq!(n, 3);
    assert_eq!(receiver.state().last_response().unwrap().text(), "hi");
    let sent = server.client_events();
    assert_eq!(
        sent[0],
        json!({"type": "input_audio_buffer.append", "audio": "AAEC/w=="})
    );
    assert_eq!(sent[1]["session"]["instructions"], "be brief");
    drop(sender);
    assert!(server.disconnects().is_empty());
    drop(receiver);
    assert!(
        server
            .wait_for_disconnect(WAIT)
            .await
            .unwrap()
            .client_closed
    );
}

#[tokio::test]
async fn refused_handshakes_are_api_errors() {
    for status in [401u16, 403, 429] {
        let server = ScriptedWsServer::start().await;
        server.refuse_handshake(
            status,
            json!({"error": {"message": format!("refused {status}"), "type": "invalid_request_error", "code": "nope"}}),
        );
        let err = server.client().realtime().connect("m").await.unwrap_err();
        match &err {
            Error::Api(api) => {
                assert_eq!(api.status, Some(status));
                assert_eq!(api.message, format!("refused {status}"));
                assert_eq!(api.code.as_deref(), Some("nope"));
                assert_eq!(api.request_id.as_deref(), Some("req_ws_handshake"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn oversized_message_is_a_typed_error() {
    let server = ScriptedWsServer::start().await;
    server.on("response.create").reply([
        created("resp_1"),
        WsAction::SendText(format!(
            "{{\"type\":\"x\",\"pad\":\"{}\"}}",
            "a".repeat(4096)
        )),
    ]);
    let mut connection = server
        .client()
        .realtime()
        .connect_with(
            RealtimeConnectOptions::new()
                .model("m")
                .ws_options(WsOptions::default().max_message_bytes(1024)),
        )
        .await
        .unwrap();
    connection.create_response().await.unwrap();
    let items: Vec<_> = connection.by_ref().collect().await;
    assert!(items[0].is_ok());
    assert!(
        matches!(
            items.last().unwrap(),
            Err(Error::Stream {
                kind: StreamErrorKind::TooLarge,
                ..
            })
        ),
        "{items:?}"
    );
    assert!(connection.state().response("resp_1").is_some());
}

#[tokio::test]
async fn invalid_utf8_is_a_typed_error() {
    let server = ScriptedWsServer::start().await;
    server.on("response.create").reply([
        created("resp_1"),
        WsAction::SendRawText(vec![b'{', 0xff, 0xfe, b'}']),
    ]);
    let mut connection = server.client().realtime().connect("m").await.unwrap();
    connection.create_response().await.unwrap();
    let items: Vec<_> = connection.by_ref().collect().await;
    assert!(items[0].is_ok());
    assert!(
        matches!(
            items.last().unwrap(),
            Err(Error::Stream {
                kind: StreamErrorKind::InvalidUtf8,
                ..
            })
        ),
        "{items:?}"
    );
}

#[tokio::test]
async fn typed_send_serializes_the_event() {
    let server = ScriptedWsServer::start().await;
    let connection = server.client().realtime().connect("m").await.unwrap();
    let event: openai_sdk::types::RealtimeClientEvent =
        serde_json::from_value(json!({"type": "response.cancel", "event_id": "c1"})).unwrap();
    connection.send(event).await.unwrap();
    assert!(server.wait_for_frames(WAIT, |f| !f.is_empty()).await);
    assert_eq!(
        server.client_events()[0],
        json!({"type": "response.cancel", "event_id": "c1"})
    );
}

/// A reader that does not keep up holds the server back: the client keeps at most
/// `WsOptions::buffer` messages (plus the one being handed over and the one being read)
/// and stops reading the socket, so TCP stops the server; nothing is lost once the reader
/// catches up.
#[tokio::test]
async fn a_slow_reader_holds_the_server_back_and_loses_nothing() {
    // 400 messages of 128 KiB (50 MiB) is more than the kernel's socket buffers on
    // loopback can hold (at most tcp_rmem + tcp_wmem maxima, 32 + 4 MiB by default).
    const COUNT: usize = 400;
    let server = ScriptedWsServer::start().await;
    let blob = "a".repeat(128 * 1024);
    server.on_connect((0..COUNT).map(|i| {
        WsAction::SendText(format!(
            r#"{{"type":"x.bulk","event_id":"ev_{i}","blob":"{blob}"}}"#
        ))
    }));
    let options = RealtimeConnectOptions::new()
        .model("m")
        .ws_options(WsOptions::default().buffer(2));
    let mut connection = server
        .client()
        .realtime()
        .connect_with(options)
        .await
        .unwrap();
    // Nobody reads: the server's writes stop.
    let mut sent = server.messages_sent();
    let started = std::time::Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = server.messages_sent();
        if now == sent || started.elapsed() > WAIT {
            break;
        }
        sent = now;
    }
    assert!(
        sent < COUNT,
        "the server wrote all {COUNT} messages to a client that read none"
    );
    // The reader catches up: every message, in order.
    for i in 0..COUNT {
        let event = connection.next().await.unwrap().unwrap();
        let RealtimeServerEvent::Unknown(value) = &event else {
            panic!("unexpected {event:?}");
        };
        assert_eq!(value["event_id"], format!("ev_{i}"));
        assert_eq!(value["blob"].as_str().map(str::len), Some(blob.len()));
    }
    assert_eq!(server.messages_sent(), COUNT);
}

#[tokio::test]
async fn azure_entra_token_provider_is_asked_for_each_connection() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    let server = ScriptedWsServer::start().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let client = Client::builder()
        .azure(format!("http://{}", server.addr()), "2025-04-01-preview")
        .azure_ad_token_provider(move || {
            Ok(format!(
                "entra-{}",
                counter.fetch_add(1, Ordering::SeqCst) + 1
            ))
        })
        .build()
        .unwrap();
    client.realtime().connect("my-deployment").await.unwrap();
    client.realtime().connect("my-deployment").await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    let handshakes = server.handshakes();
    for (n, hs) in handshakes.iter().enumerate() {
        assert_eq!(hs.path, "/openai/realtime");
        assert_eq!(
            hs.query_param("api-version").as_deref(),
            Some("2025-04-01-preview")
        );
        assert_eq!(
            hs.query_param("deployment").as_deref(),
            Some("my-deployment")
        );
        let expected = format!("Bearer entra-{}", n + 1);
        assert_eq!(hs.header("authorization"), Some(expected.as_str()));
        assert_eq!(hs.header("api-key"), None);
    }

    // A provider that fails: a configuration error, and no handshake is attempted.
    let server = ScriptedWsServer::start().await;
    let client = Client::builder()
        .azure(format!("http://{}", server.addr()), "2025-04-01-preview")
        .azure_ad_token_provider(|| Err("no token cached".into()))
        .build()
        .unwrap();
    let err = client.realtime().connect("d").await.unwrap_err();
    match &err {
        Error::Config(message) => assert!(message.contains("no token cached"), "{message}"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(server.handshakes().is_empty());
}

#[tokio::test]
async fn close_frame_code_and_reason_are_in_the_error() {
    let server = ScriptedWsServer::start().await;
    server.on("response.create").reply([
        created("resp_1"),
        delta("resp_1", "so far"),
        WsAction::close(4001, "session expired"),
    ]);
    let mut connection = server.client().realtime().connect("m").await.unwrap();
    connection.create_response().await.unwrap();
    let items: Vec<_> = connection.by_ref().collect().await;
    match items.last().unwrap() {
        Err(err @ Error::WebSocketClosed { code, reason }) => {
            assert_eq!(*code, 4001);
            assert_eq!(reason, "session expired");
            let shown = err.to_string();
            assert!(
                shown.contains("4001") && shown.contains("session expired"),
                "{shown}"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        connection.state().response("resp_1").unwrap().text(),
        "so far"
    );
}
