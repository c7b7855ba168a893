//! The WebSocket event path (Realtime and Responses over a WebSocket): server messages
//! built from both vocabularies (Realtime `response.*` events with text / transcript /
//! argument deltas, items and parts, `response.done`, `error`; Responses events with
//! `stream_id`s and the WebSocket `error` event; unknown types, unknown fields, wrongly
//! typed values), non-JSON text, binary messages and text that is not UTF-8, in any order.
//!
//! Each message is written as WebSocket frames by a tungstenite server socket, fragmented
//! at fuzzer-chosen points (continuation frames) and read back by a tungstenite client
//! socket that receives the bytes in fuzzer-chosen pieces, with a message size limit; the
//! messages it gives go to the SDK's transport-free states exactly as the socket task
//! hands them on (`RealtimeState::handle_text`, `ResponseWsPipeline::handle_message`);
//! pings may come between the frames of a message, as RFC 6455 allows.
//! - events, errors and the final state (every response's text, transcript, snapshot and
//!   final response; the Responses snapshot and outcome) are the same as when the
//!   messages are handed over directly, however the frames are cut and the bytes arrive;
//! - the Responses pipeline stops at its first error, as a `ResponseStream` does, and
//!   the Realtime state goes on after every error;
//! - nothing panics.

use std::io::{Read, Write};

use arbitrary::{Result, Unstructured};
use openai_sdk::realtime::RealtimeState;
use openai_sdk::responses::{ResponseParseOptions, ResponseWsPipeline};
use serde_json::{json, Map, Value};
use tungstenite::protocol::frame::coding::{Data, OpCode};
use tungstenite::protocol::frame::Frame;
use tungstenite::protocol::{Role, WebSocket, WebSocketConfig};
use tungstenite::Message;

use crate::{gen, split};

/// The largest message the client accepts (small, so that the limit is hit).
const LIMIT: usize = 2048;

/// A server message.
#[derive(Debug, Clone)]
enum Msg {
    Text(Vec<u8>),
    Binary(Vec<u8>),
}

const REALTIME_KINDS: &[&str] = &[
    "response.created",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_audio_transcript.delta",
    "response.function_call_arguments.delta",
    "response.output_text.done",
    "response.done",
    "session.created",
    "error",
    "rate_limits.updated",
    "response.brand_new",
];

const RESPONSES_KINDS: &[&str] = &[
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
    "response.failed",
    "error",
    "response.brand_new",
];

const TEXT: &[&str] = &["Hel", "lo", "", " ", "\u{e9}", "{\"a\":", "1}", "\"error\""];
const IDS: &[&str] = &["resp_1", "resp_2", "item_1", "msg_1"];

fn realtime_event(u: &mut Unstructured<'_>) -> Result<Value> {
    let kind = *u.choose(REALTIME_KINDS)?;
    let response_id = *u.choose(IDS)?;
    let response = |status: &str, output: Value| json!({"id": response_id, "object": "realtime.response", "status": status, "output": output});
    let mut v = match kind {
        "response.created" => json!({"response": response("in_progress", json!([]))}),
        "response.done" => json!({"response": response("completed",
            json!([{"id": "item_1", "type": "message", "role": "assistant", "status": "completed", "content": [{"type": "output_text", "text": *u.choose(TEXT)?}]}]))}),
        "response.output_item.added" => {
            json!({"response_id": response_id, "output_index": u.int_in_range(0..=1u8)?,
            "item": {"id": "item_1", "type": "message", "role": "assistant", "status": "in_progress", "content": []}})
        }
        "response.content_part.added" => json!({"response_id": response_id, "item_id": "item_1",
            "output_index": u.int_in_range(0..=1u8)?, "content_index": u.int_in_range(0..=1u8)?, "part": {"type": "text", "text": ""}}),
        "response.output_text.delta" | "response.output_audio_transcript.delta" => {
            json!({"response_id": response_id, "item_id": "item_1",
            "output_index": u.int_in_range(0..=1u8)?, "content_index": u.int_in_range(0..=1u8)?, "delta": *u.choose(TEXT)?})
        }
        "response.function_call_arguments.delta" => {
            json!({"response_id": response_id, "item_id": "item_1", "call_id": "c",
            "output_index": u.int_in_range(0..=1u8)?, "delta": *u.choose(TEXT)?})
        }
        "error" => {
            json!({"error": {"type": "invalid_request_error", "code": "x", "message": *u.choose(TEXT)?}})
        }
        "session.created" => {
            json!({"session": {"type": "realtime", "object": "realtime.session", "id": "s"}})
        }
        _ => json!({}),
    };
    finish(u, &mut v, kind)?;
    Ok(v)
}

fn responses_event(u: &mut Unstructured<'_>, seq: &mut i64) -> Result<Value> {
    let kind = *u.choose(RESPONSES_KINDS)?;
    let response = |status: &str, output: Value| json!({"id": "resp_1", "object": "response", "status": status, "output": output});
    let part = json!({"type": "output_text", "text": *u.choose(TEXT)?, "annotations": []});
    let item = json!({"id": "msg_1", "type": "message", "role": "assistant", "status": "completed", "content": [part.clone()]});
    let mut v = match kind {
        "response.created" | "response.in_progress" => {
            json!({"response": response("in_progress", json!([]))})
        }
        "response.completed" => json!({"response": response("completed", json!([item]))}),
        "response.failed" => {
            json!({"response": response("failed", json!([]))})
        }
        "response.output_item.added" => json!({"output_index": 0,
            "item": {"id": "msg_1", "type": "message", "role": "assistant", "status": "in_progress", "content": []}}),
        "response.output_item.done" => json!({"output_index": 0, "item": item}),
        "response.content_part.added" | "response.content_part.done" => {
            json!({"item_id": "msg_1", "output_index": 0, "content_index": 0, "part": part})
        }
        "response.output_text.delta" => {
            json!({"item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": *u.choose(TEXT)?})
        }
        "response.output_text.done" => {
            json!({"item_id": "msg_1", "output_index": 0, "content_index": 0, "text": *u.choose(TEXT)?})
        }
        "error" => json!({"status": u.int_in_range(400..=503u16)?,
            "error": {"type": "invalid_request_error", "code": "x", "param": "input", "message": *u.choose(TEXT)?}}),
        _ => json!({}),
    };
    if u.ratio(7u8, 8)? {
        v["sequence_number"] = json!(*seq);
        *seq += 1;
    }
    if u.ratio(1u8, 4)? {
        v["stream_id"] = json!(*u.choose(&["a", "b"])?);
    }
    finish(u, &mut v, kind)?;
    Ok(v)
}

/// Sets the type and event id; sometimes adds an unknown field or breaks a known one.
fn finish(u: &mut Unstructured<'_>, v: &mut Value, kind: &str) -> Result<()> {
    let Value::Object(map) = v else {
        return Ok(());
    };
    let mut out = Map::new();
    if !u.ratio(1u8, 32)? {
        out.insert("type".into(), json!(kind));
    }
    out.insert("event_id".into(), json!("ev"));
    out.append(map);
    if u.ratio(1u8, 8)? {
        let k = gen::key(u)?;
        out.insert(k, gen::value(u, 2)?);
    }
    *map = out;
    Ok(())
}

fn message(u: &mut Unstructured<'_>, realtime: bool, seq: &mut i64) -> Result<Msg> {
    Ok(match u.int_in_range(0..=15u8)? {
        0 => Msg::Binary(u.arbitrary::<Vec<u8>>()?),
        1 => Msg::Text(u.arbitrary::<Vec<u8>>()?),
        2 => Msg::Text(gen::string(u)?.into_bytes()),
        3 => Msg::Text(vec![b'"'; u.int_in_range(0..=LIMIT + 64)?]),
        _ => {
            let v = if realtime {
                realtime_event(u)?
            } else {
                responses_event(u, seq)?
            };
            Msg::Text(v.to_string().into_bytes())
        }
    })
}

/// What one step of the path gave, comparable.
#[derive(Debug, PartialEq)]
enum Item {
    Event(String),
    Error(String),
    /// The transport ended the connection (a message too large, text not UTF-8; which
    /// of the two is found first may depend on the framing).
    End,
}

/// The consumer: the SDK's state behind the socket task.
enum Consumer {
    Realtime(RealtimeState),
    Responses(ResponseWsPipeline, bool),
}

impl Consumer {
    fn new(realtime: bool) -> Self {
        if realtime {
            Consumer::Realtime(RealtimeState::new())
        } else {
            Consumer::Responses(ResponseWsPipeline::new(ResponseParseOptions::new()), false)
        }
    }

    fn text(&mut self, text: String, out: &mut Vec<Item>) {
        match self {
            Consumer::Realtime(state) => out.push(match state.handle_text(&text) {
                Ok(e) => Item::Event(serde_json::to_string(&e).unwrap()),
                Err(e) => Item::Error(e.to_string()),
            }),
            Consumer::Responses(_, true) => {}
            Consumer::Responses(p, done) => match p.handle_message(text) {
                Ok(e) => {
                    out.push(Item::Event(e.to_reference_json().to_string()));
                    if p.state().is_finished() {
                        *done = true;
                    }
                }
                Err(e) => {
                    out.push(Item::Error(e.to_string()));
                    *done = true;
                }
            },
        }
    }

    fn binary(&mut self, bytes: &[u8], out: &mut Vec<Item>) {
        match self {
            Consumer::Realtime(_) => out.push(Item::Error(format!("binary {}", bytes.len()))),
            Consumer::Responses(_, true) => {}
            Consumer::Responses(p, done) => {
                out.push(Item::Error(p.binary_message(bytes).to_string()));
                *done = true;
            }
        }
    }

    /// The final state, comparable; it must read back whatever happened.
    fn summary(&self) -> String {
        match self {
            Consumer::Realtime(state) => {
                let mut s = format!("{:?} {}|", state.in_progress(), state.events_handled());
                for r in state.responses() {
                    s.push_str(&format!(
                        "{}:{}:{}:{}:{}|",
                        r.id(),
                        r.text(),
                        r.audio_transcript(),
                        Value::Object(r.snapshot().clone()),
                        serde_json::to_string(&r.final_response()).unwrap()
                    ));
                }
                s
            }
            Consumer::Responses(p, _) => {
                let state = p.state();
                let snapshot = state.snapshot().map(|s| s.to_json().to_string());
                let outcome = state.final_response().map(|r| r.output_text());
                format!(
                    "{snapshot:?} {:?} {} {:?}",
                    outcome.map_err(|e| e.to_string()),
                    state.events_handled(),
                    state.last_sequence_number()
                )
            }
        }
    }
}

/// The messages handed over directly, as the socket task would: a message over the limit
/// or text that is not UTF-8 ends the connection.
fn direct(messages: &[Msg], realtime: bool) -> (Vec<Item>, String) {
    let mut consumer = Consumer::new(realtime);
    let mut out = Vec::new();
    for m in messages {
        let bytes = match m {
            Msg::Text(b) | Msg::Binary(b) => b,
        };
        if bytes.len() > LIMIT {
            out.push(Item::End);
            break;
        }
        match m {
            Msg::Text(b) => match String::from_utf8(b.clone()) {
                Ok(text) => consumer.text(text, &mut out),
                Err(_) => {
                    out.push(Item::End);
                    break;
                }
            },
            Msg::Binary(b) => consumer.binary(b, &mut out),
        }
    }
    (out, consumer.summary())
}

/// Bytes out (the server's writes); reads give the pieces in order, then the end.
struct Pipe {
    pieces: std::collections::VecDeque<Vec<u8>>,
    written: Vec<u8>,
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while let Some(front) = self.pieces.front_mut() {
            if front.is_empty() {
                self.pieces.pop_front();
                continue;
            }
            let n = buf.len().min(front.len());
            buf[..n].copy_from_slice(&front[..n]);
            front.drain(..n);
            return Ok(n);
        }
        Ok(0)
    }
}

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.written.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The messages written by a server socket, each cut into frames at `frame_cuts`, then
/// read by a client socket from `byte_cuts` pieces.
fn through_frames(
    messages: &[Msg],
    frame_cuts: &[Vec<usize>],
    pings: &[bool],
    byte_cuts: &[usize],
    realtime: bool,
) -> (Vec<Item>, String) {
    let mut server = WebSocket::from_raw_socket(
        Pipe {
            pieces: Default::default(),
            written: Vec::new(),
        },
        Role::Server,
        Some(
            WebSocketConfig::default()
                .max_message_size(None)
                .max_frame_size(None),
        ),
    );
    for ((m, cuts), &ping) in messages.iter().zip(frame_cuts).zip(pings) {
        let (bytes, kind) = match m {
            Msg::Text(b) => (b, Data::Text),
            Msg::Binary(b) => (b, Data::Binary),
        };
        let pieces = split::pieces(bytes, cuts);
        let last = pieces.len() - 1;
        for (i, piece) in pieces.into_iter().enumerate() {
            // Control frames may come between the frames of a message (RFC 6455 5.4).
            if ping {
                server.write(Message::Ping(vec![i as u8].into())).unwrap();
            }
            let opcode = if i == 0 {
                OpCode::Data(kind)
            } else {
                OpCode::Data(Data::Continue)
            };
            server
                .write(Message::Frame(Frame::message(
                    piece.to_vec(),
                    opcode,
                    i == last,
                )))
                .unwrap();
        }
    }
    server.flush().unwrap();
    let wire = std::mem::take(&mut server.get_mut().written);
    let pipe = Pipe {
        pieces: split::pieces(
            &wire,
            &byte_cuts
                .iter()
                .map(|c| (*c).min(wire.len()))
                .collect::<Vec<_>>(),
        )
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect(),
        written: Vec::new(),
    };
    let mut client = WebSocket::from_raw_socket(
        pipe,
        Role::Client,
        Some(
            WebSocketConfig::default()
                .max_message_size(Some(LIMIT))
                .max_frame_size(Some(LIMIT)),
        ),
    );
    let mut consumer = Consumer::new(realtime);
    let mut out = Vec::new();
    loop {
        match client.read() {
            Ok(Message::Text(t)) => consumer.text(t.as_str().to_owned(), &mut out),
            Ok(Message::Binary(b)) => consumer.binary(&b, &mut out),
            Ok(_) => {}
            Err(tungstenite::Error::Capacity(_)) => {
                out.push(Item::End);
                break;
            }
            Err(tungstenite::Error::Utf8(_)) => {
                out.push(Item::End);
                break;
            }
            // The end of the bytes.
            Err(_) => break,
        }
    }
    (out, consumer.summary())
}

/// The check.
pub fn check(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(realtime) = u.arbitrary::<bool>() else {
        return;
    };
    let mut messages = Vec::new();
    let mut frame_cuts = Vec::new();
    let mut pings = Vec::new();
    let mut seq = 0;
    let count = u.int_in_range(0..=48u8).unwrap_or(0);
    for _ in 0..count {
        let Ok(m) = message(&mut u, realtime, &mut seq) else {
            break;
        };
        let len = match &m {
            Msg::Text(b) | Msg::Binary(b) => b.len(),
        };
        let cuts = if u.ratio(1u8, 4).unwrap_or(false) {
            let mut c = split::cut_points(&mut u, len);
            c.truncate(4);
            c
        } else {
            Vec::new()
        };
        messages.push(m);
        frame_cuts.push(cuts);
        pings.push(u.ratio(1u8, 8).unwrap_or(false));
    }
    let direct = direct(&messages, realtime);
    // The whole wire at once, then in fuzzer-chosen pieces.
    let whole = through_frames(&messages, &frame_cuts, &pings, &[], realtime);
    assert_eq!(direct, whole, "framed whole differs from direct");
    let wire_len: usize = messages
        .iter()
        .map(|m| match m {
            Msg::Text(b) | Msg::Binary(b) => b.len() + 14 * 5 + 7 * 5,
        })
        .sum();
    let cuts = split::cut_points(&mut u, wire_len);
    let split = through_frames(&messages, &frame_cuts, &pings, &cuts, realtime);
    assert_eq!(direct, split, "framed and split differs from direct");
}
