//! A scripted WebSocket server on loopback (features `testing` and `realtime` or
//! `responses-ws`): it answers client events with scripted server events, records every
//! client frame and handshake, and can refuse the handshake, ping, close or cut the
//! connection at chosen points.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::{
    self,
    handshake::server::{ErrorResponse, Request, Response},
    protocol::{
        frame::coding::{CloseCode, Data, OpCode},
        frame::Frame,
        CloseFrame, WebSocketConfig,
    },
    Message,
};

/// One thing the server does: send a message, ping, close, cut, or wait.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum WsAction {
    /// Sends a JSON event as a text message. When the client event that triggered it had a
    /// `stream_id` and this event has none, the server adds it (see
    /// [`ScriptedWsServer::echo_stream_id`]).
    Send(Value),
    /// Sends a text message exactly as given (not JSON, say).
    SendText(String),
    /// Sends a binary message.
    SendBinary(Vec<u8>),
    /// Sends a text frame whose payload is these bytes, valid UTF-8 or not.
    SendRawText(Vec<u8>),
    /// Sends a ping with this payload (the client's pong is recorded).
    Ping(Vec<u8>),
    /// Sends a close frame with this code and reason, then waits for the client's close.
    Close {
        /// The close code.
        code: u16,
        /// The reason.
        reason: String,
    },
    /// Drops the TCP connection without a close frame.
    Cut,
    /// Waits this long (on the Tokio clock) before the next action.
    Sleep(Duration),
}

impl WsAction {
    /// [`WsAction::Send`] of a JSON event.
    pub fn send(event: Value) -> Self {
        WsAction::Send(event)
    }

    /// [`WsAction::Close`].
    pub fn close(code: u16, reason: impl Into<String>) -> Self {
        WsAction::Close {
            code,
            reason: reason.into(),
        }
    }
}

/// A frame the client sent, with the number of its connection (0-based).
#[derive(Debug, Clone, PartialEq)]
pub struct ClientFrame {
    /// The connection (0 for the first one the server accepted).
    pub connection: usize,
    /// What was sent.
    pub kind: ClientFrameKind,
}

/// The kinds of [`ClientFrame`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ClientFrameKind {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
    /// A ping with its payload.
    Ping(Vec<u8>),
    /// A pong with its payload.
    Pong(Vec<u8>),
    /// A close frame: its code and reason, if it had them.
    Close(Option<(u16, String)>),
}

/// A WebSocket handshake the server received.
#[derive(Debug, Clone)]
pub struct WsHandshake {
    /// The path, such as `/v1/realtime`.
    pub path: String,
    /// The query string, without `?` (empty when none).
    pub query: String,
    /// The request headers.
    pub headers: http::HeaderMap,
}

impl WsHandshake {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A query parameter's (first) value, decoded.
    pub fn query_param(&self, key: &str) -> Option<String> {
        reqwest::Url::parse(&format!("ws://x/?{}", self.query))
            .ok()?
            .query_pairs()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    }
}

/// How a connection ended, as the server saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct WsDisconnect {
    /// The connection.
    pub connection: usize,
    /// Whether the client sent a close frame before the end.
    pub client_closed: bool,
}

/// The replies of a rule: one list of actions per client event it matches, in order; the
/// last one repeats.
#[derive(Debug, Clone)]
pub struct WsRule {
    shared: Arc<Shared>,
    index: usize,
}

impl WsRule {
    /// Adds a reply: the actions for the next client event this rule matches.
    pub fn reply(self, actions: impl IntoIterator<Item = WsAction>) -> Self {
        {
            let mut state = self.shared.state.lock().unwrap();
            state.rules[self.index]
                .replies
                .push_back(actions.into_iter().collect());
        }
        self
    }
}

#[derive(Debug)]
struct Rule {
    event_type: String,
    replies: VecDeque<Vec<WsAction>>,
}

#[derive(Debug, Default)]
struct State {
    on_connect: Vec<WsAction>,
    rules: Vec<Rule>,
    refusals: VecDeque<(u16, String)>,
    handshakes: Vec<WsHandshake>,
    frames: Vec<ClientFrame>,
    disconnects: Vec<WsDisconnect>,
    connections: usize,
    no_echo: bool,
    sent: usize,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    changed: Notify,
}

impl Shared {
    fn record(&self, f: impl FnOnce(&mut State)) {
        f(&mut self.state.lock().unwrap());
        self.changed.notify_waiters();
    }
}

/// A scripted WebSocket server on `127.0.0.1` for Realtime and Responses-over-WebSocket
/// code: point the client's base URL at [`base_url`](Self::base_url) (or use
/// [`client`](Self::client)), script what it answers, assert on what the client sent.
///
/// ```
/// use futures::StreamExt;
/// use openai_sdk::testing::{ScriptedWsServer, WsAction};
/// use serde_json::json;
///
/// #[tokio::main]
/// async fn main() {
///     let server = ScriptedWsServer::start().await;
///     server.on_connect([WsAction::send(json!({"type": "session.created", "event_id": "e0", "session": {"type": "realtime", "object": "realtime.session", "id": "sess_1"}}))]);
///     server.on("response.create").reply([
///         WsAction::send(json!({"type": "rate_limits.updated", "event_id": "e1", "rate_limits": []})),
///         WsAction::close(1000, "bye"),
///     ]);
///
///     let mut connection = server.client().realtime().connect("gpt-realtime").await.unwrap();
///     connection.create_response().await.unwrap();
///     let mut types = Vec::new();
///     while let Some(event) = connection.next().await {
///         types.push(serde_json::to_value(event.unwrap()).unwrap()["type"].clone());
///     }
///     assert_eq!(types, [json!("session.created"), json!("rate_limits.updated")]);
///     assert_eq!(server.handshakes()[0].query_param("model").as_deref(), Some("gpt-realtime"));
///     assert_eq!(server.client_events()[0]["type"], "response.create");
/// }
/// ```
pub struct ScriptedWsServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for ScriptedWsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptedWsServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for ScriptedWsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ScriptedWsServer {
    /// Starts a server on a free loopback port, on the current Tokio runtime.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime, or when no port can be bound.
    pub async fn start() -> ScriptedWsServer {
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("openai-sdk testing: could not bind a loopback port");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let shared = Arc::new(Shared::default());
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        ScriptedWsServer { shared, addr, task }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/v1`, the base URL to give the client (the SDK makes it
    /// `ws://`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// A client for this server (key `sk-test`, no retries).
    pub fn client(&self) -> crate::Client {
        crate::Client::builder()
            .api_key("sk-test")
            .base_url(self.base_url())
            .max_retries(0)
            .build()
            .expect("a client for the scripted WebSocket server")
    }

    /// What the server sends right after each handshake.
    pub fn on_connect(&self, actions: impl IntoIterator<Item = WsAction>) {
        self.shared
            .record(|s| s.on_connect = actions.into_iter().collect());
    }

    /// A rule for client events of type `event_type`; add its replies with
    /// [`WsRule::reply`]. A client event no rule matches gets no answer (it is recorded).
    pub fn on(&self, event_type: &str) -> WsRule {
        let mut state = self.shared.state.lock().unwrap();
        state.rules.push(Rule {
            event_type: event_type.to_owned(),
            replies: VecDeque::new(),
        });
        WsRule {
            shared: Arc::clone(&self.shared),
            index: state.rules.len() - 1,
        }
    }

    /// Refuses the next handshake with this HTTP status and JSON body (one per call).
    pub fn refuse_handshake(&self, status: u16, body: Value) {
        self.shared
            .record(|s| s.refusals.push_back((status, body.to_string())));
    }

    /// Whether [`WsAction::Send`] adds the triggering event's `stream_id` (default: yes).
    pub fn echo_stream_id(&self, on: bool) {
        self.shared.record(|s| s.no_echo = !on);
    }

    /// Every handshake received (also refused ones).
    pub fn handshakes(&self) -> Vec<WsHandshake> {
        self.shared.state.lock().unwrap().handshakes.clone()
    }

    /// Every frame the clients sent, in order.
    pub fn frames(&self) -> Vec<ClientFrame> {
        self.shared.state.lock().unwrap().frames.clone()
    }

    /// The text frames the clients sent, as JSON (`null` for one that is not JSON).
    pub fn client_events(&self) -> Vec<Value> {
        self.frames()
            .into_iter()
            .filter_map(|f| match f.kind {
                ClientFrameKind::Text(t) => Some(serde_json::from_str(&t).unwrap_or(Value::Null)),
                _ => None,
            })
            .collect()
    }

    /// How many messages (text, binary and pings; not close frames) the server has
    /// written to its sockets so far. A write waits while the client's TCP window is full,
    /// so a count that stops growing shows that the client applies backpressure.
    pub fn messages_sent(&self) -> usize {
        self.shared.state.lock().unwrap().sent
    }

    /// The connections that ended.
    pub fn disconnects(&self) -> Vec<WsDisconnect> {
        self.shared.state.lock().unwrap().disconnects.clone()
    }

    /// Waits until `done` holds for the frames (or `timeout`, a failure guard): returns
    /// whether it held.
    pub async fn wait_for_frames(
        &self,
        timeout: Duration,
        done: impl Fn(&[ClientFrame]) -> bool,
    ) -> bool {
        self.wait(timeout, |s| done(&s.frames)).await
    }

    /// Waits until a connection has ended (or `timeout`); returns how it ended.
    pub async fn wait_for_disconnect(&self, timeout: Duration) -> Option<WsDisconnect> {
        if self.wait(timeout, |s| !s.disconnects.is_empty()).await {
            self.disconnects().into_iter().next()
        } else {
            None
        }
    }

    async fn wait(&self, timeout: Duration, done: impl Fn(&State) -> bool) -> bool {
        let wait = async {
            loop {
                let notified = self.shared.changed.notified();
                if done(&self.shared.state.lock().unwrap()) {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(timeout, wait).await.is_ok()
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let number = {
            let mut s = shared.state.lock().unwrap();
            s.connections += 1;
            s.connections - 1
        };
        tokio::spawn(serve(tcp, Arc::clone(&shared), number));
    }
}

enum Flow {
    Go,
    Stop,
}

async fn serve(tcp: TcpStream, shared: Arc<Shared>, connection: usize) {
    // tungstenite's callback type: its error is the refusal answer, large by nature.
    #[allow(clippy::result_large_err)]
    let callback = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        let mut s = shared.state.lock().unwrap();
        s.handshakes.push(WsHandshake {
            path: request.uri().path().to_owned(),
            query: request.uri().query().unwrap_or_default().to_owned(),
            headers: request.headers().clone(),
        });
        let refusal = s.refusals.pop_front();
        drop(s);
        shared.changed.notify_waiters();
        match refusal {
            None => {
                // As the API's handshake answer does: the connection's request id.
                let mut response = response;
                if let Ok(id) = http::HeaderValue::from_str(&format!("req_ws_{connection}")) {
                    response.headers_mut().insert("x-request-id", id);
                }
                Ok(response)
            }
            Some((status, body)) => {
                let mut r = ErrorResponse::new(Some(body));
                *r.status_mut() = http::StatusCode::from_u16(status)
                    .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
                r.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static("application/json"),
                );
                r.headers_mut().insert(
                    "x-request-id",
                    http::HeaderValue::from_static("req_ws_handshake"),
                );
                Err(r)
            }
        }
    };
    // No size limit here: tests send oversized messages on purpose.
    let config = WebSocketConfig::default()
        .max_message_size(None)
        .max_frame_size(None);
    let Ok(mut socket) =
        tokio_tungstenite::accept_hdr_async_with_config(tcp, callback, Some(config)).await
    else {
        return;
    };
    let on_connect = shared.state.lock().unwrap().on_connect.clone();
    let mut client_closed = false;
    if let Flow::Go = perform(
        &mut socket,
        &shared,
        &on_connect,
        None,
        &mut client_closed,
        connection,
    )
    .await
    {
        while let Some(message) = socket.next().await {
            let Ok(message) = message else { break };
            let kind = match &message {
                Message::Text(t) => ClientFrameKind::Text(t.as_str().to_owned()),
                Message::Binary(b) => ClientFrameKind::Binary(b.to_vec()),
                Message::Ping(b) => ClientFrameKind::Ping(b.to_vec()),
                Message::Pong(b) => ClientFrameKind::Pong(b.to_vec()),
                Message::Close(f) => {
                    client_closed = true;
                    ClientFrameKind::Close(
                        f.as_ref()
                            .map(|f| (u16::from(f.code), f.reason.as_str().to_owned())),
                    )
                }
                Message::Frame(_) => continue,
            };
            shared.record(|s| s.frames.push(ClientFrame { connection, kind }));
            let Message::Text(text) = message else {
                continue;
            };
            let event: Value = serde_json::from_str(text.as_str()).unwrap_or(Value::Null);
            let event_type = event.get("type").and_then(Value::as_str).unwrap_or("");
            let actions = {
                let mut s = shared.state.lock().unwrap();
                s.rules
                    .iter_mut()
                    .find(|r| r.event_type == event_type && !r.replies.is_empty())
                    .map(|r| {
                        if r.replies.len() > 1 {
                            r.replies.pop_front().unwrap_or_default()
                        } else {
                            r.replies[0].clone()
                        }
                    })
            };
            if let Some(actions) = actions {
                let stream_id = event.get("stream_id").and_then(Value::as_str);
                if let Flow::Stop = perform(
                    &mut socket,
                    &shared,
                    &actions,
                    stream_id,
                    &mut client_closed,
                    connection,
                )
                .await
                {
                    break;
                }
            }
        }
    }
    shared.record(|s| {
        s.disconnects.push(WsDisconnect {
            connection,
            client_closed,
        })
    });
}

async fn perform(
    socket: &mut tokio_tungstenite::WebSocketStream<TcpStream>,
    shared: &Shared,
    actions: &[WsAction],
    stream_id: Option<&str>,
    client_closed: &mut bool,
    connection: usize,
) -> Flow {
    let echo = !shared.state.lock().unwrap().no_echo;
    for action in actions {
        let message = match action {
            WsAction::Send(event) => {
                let mut event = event.clone();
                if let (true, Some(id), Value::Object(map)) = (echo, stream_id, &mut event) {
                    map.entry("stream_id").or_insert_with(|| Value::from(id));
                }
                Message::text(event.to_string())
            }
            WsAction::SendText(text) => Message::text(text.clone()),
            WsAction::SendBinary(bytes) => Message::binary(bytes.clone()),
            WsAction::SendRawText(bytes) => Message::Frame(Frame::message(
                bytes.clone(),
                OpCode::Data(Data::Text),
                true,
            )),
            WsAction::Ping(payload) => Message::Ping(payload.clone().into()),
            WsAction::Close { code, reason } => {
                let _ = socket
                    .close(Some(CloseFrame {
                        code: CloseCode::from(*code),
                        reason: reason.as_str().into(),
                    }))
                    .await;
                // Read until the client's answering close (recorded) or the end.
                while let Some(Ok(message)) = socket.next().await {
                    if let Message::Close(f) = message {
                        *client_closed = true;
                        let close = f.map(|f| (u16::from(f.code), f.reason.as_str().to_owned()));
                        shared.record(|s| {
                            s.frames.push(ClientFrame {
                                connection,
                                kind: ClientFrameKind::Close(close),
                            })
                        });
                    }
                }
                return Flow::Stop;
            }
            WsAction::Cut => return Flow::Stop,
            WsAction::Sleep(d) => {
                tokio::time::sleep(*d).await;
                continue;
            }
        };
        match socket.send(message).await {
            Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                return Flow::Stop;
            }
            Err(_) => {}
            Ok(()) => shared.record(|s| s.sent += 1),
        }
    }
    Flow::Go
}
