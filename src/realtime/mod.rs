//! Realtime sessions over a WebSocket (feature `realtime`): typed client events out, a
//! [`Stream`] of typed server events in, with each response accumulated.
//!
//! ```no_run
//! # async fn run() -> Result<(), openai_sdk::Error> {
//! use futures::StreamExt;
//! use openai_sdk::types::RealtimeServerEvent;
//!
//! let client = openai_sdk::Client::new()?;
//! let mut connection = client.realtime().connect("gpt-realtime").await?;
//! connection.update_session(serde_json::json!({"type": "realtime", "output_modalities": ["text"]})).await?;
//! connection.send_user_text("Say hello").await?;
//! connection.create_response().await?;
//! while let Some(event) = connection.next().await {
//!     match event? {
//!         RealtimeServerEvent::ResponseTextDelta(e) => print!("{}", e.delta),
//!         RealtimeServerEvent::ResponseDone(_) => break,
//!         _ => {}
//!     }
//! }
//! println!("\n{}", connection.state().last_response().unwrap().text());
//! # Ok(()) }
//! ```
//!
//! **Errors.** A server `error` event is an [`Error::Api`] item (no status) and the session
//! goes on, as does a message that does not decode ([`Error::Decode`] with its JSON path;
//! the message stays readable with [`RealtimeReceiver::last_undecoded`]) or a binary one.
//! The end of the connection is the end of the stream: after a normal close between
//! responses nothing more, otherwise one last error — [`Error::WebSocketClosed`] with the
//! close code and reason, [`Error::Connection`] for a cut, or [`Error::Stream`] when the
//! connection ended in the middle of a response. What was received stays readable in
//! [`state`](RealtimeReceiver::state).

mod state;

use std::pin::Pin;
use std::task::{Context, Poll};

use base64::Engine;
use futures::Stream;
use serde::Serialize;
use tokio::sync::mpsc;

pub use self::state::{RealtimeResponseState, RealtimeState};
use crate::error::StreamErrorKind;
use crate::types::{RealtimeClientEvent, RealtimeServerEvent};
use crate::ws::{self, Command, Incoming, WsOptions};
use crate::{Client, Error};

/// Realtime sessions: [`Client::realtime`].
#[derive(Debug, Clone, Copy)]
pub struct Realtime<'a> {
    client: &'a Client,
}

impl Client {
    /// Realtime sessions over a WebSocket (feature `realtime`).
    pub fn realtime(&self) -> Realtime<'_> {
        Realtime { client: self }
    }
}

/// How to open a Realtime session: [`Realtime::connect_with`].
///
/// ```
/// use openai_sdk::realtime::RealtimeConnectOptions;
/// let options = RealtimeConnectOptions::new()
///     .model("gpt-realtime")
///     .client_secret("ek_123")
///     .query("trace", "1");
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Default)]
pub struct RealtimeConnectOptions {
    model: Option<String>,
    call_id: Option<String>,
    client_secret: Option<String>,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    ws: WsOptions,
}

impl RealtimeConnectOptions {
    /// Defaults: no model (give one, or a `call_id`).
    pub fn new() -> Self {
        Self::default()
    }

    /// The model (`?model=`; for Azure the deployment, unless the client names one).
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Joins an existing call (`?call_id=`, e.g. a SIP or WebRTC call) instead.
    pub fn call_id(mut self, id: impl Into<String>) -> Self {
        self.call_id = Some(id.into());
        self
    }

    /// Authenticates with an ephemeral client secret (from
    /// `POST /realtime/client_secrets`) instead of the client's key.
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }

    /// Adds a query parameter to the URL.
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }

    /// Adds a header to the handshake.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The transport settings (message size limit, buffers, timeouts).
    pub fn ws_options(mut self, options: WsOptions) -> Self {
        self.ws = options;
        self
    }
}

impl Realtime<'_> {
    /// Opens a session with `model`: `wss://…/v1/realtime?model=…`, authenticated as the
    /// client is. A refused handshake (401, 403, 429, …) is [`Error::Api`] with the status
    /// and body.
    pub async fn connect(&self, model: impl Into<String>) -> Result<RealtimeConnection, Error> {
        self.connect_with(RealtimeConnectOptions::new().model(model))
            .await
    }

    /// Opens a session with `options`.
    pub async fn connect_with(
        &self,
        options: RealtimeConnectOptions,
    ) -> Result<RealtimeConnection, Error> {
        let config = self.client.config();
        let mut query = Vec::new();
        match &config.azure {
            Some(az) => {
                query.push(("api-version".to_owned(), az.api_version.clone()));
                if let Some(d) = az.deployment.clone().or_else(|| options.model.clone()) {
                    query.push(("deployment".to_owned(), d));
                }
            }
            None => {
                if let Some(m) = &options.model {
                    query.push(("model".to_owned(), m.clone()));
                }
            }
        }
        if let Some(c) = &options.call_id {
            query.push(("call_id".to_owned(), c.clone()));
        }
        query.extend(options.query.iter().cloned());
        if options.model.is_none() && options.call_id.is_none() {
            return Err(Error::InvalidRequest(
                "a Realtime session needs a model or a call_id".into(),
            ));
        }
        let url = ws::url(self.client, "/realtime", &query)?;
        let auth = match options.client_secret {
            Some(s) => ws::Auth::Bearer(s),
            None => ws::Auth::Client,
        };
        let socket = ws::connect(
            self.client,
            &url,
            auth,
            &options.headers,
            &options.ws,
            false,
        )
        .await?;
        let incoming = socket
            .incoming
            .expect("a single-reader socket has its queue");
        Ok(RealtimeConnection {
            sender: RealtimeSender {
                commands: socket.commands.clone(),
            },
            receiver: RealtimeReceiver {
                incoming,
                state: RealtimeState::new(),
                _keep_open: socket.commands,
                ended: false,
                last_undecoded: None,
                request_id: socket.request_id,
            },
        })
    }
}

/// An open Realtime session: send client events, read server events as a [`Stream`].
/// [`split`](Self::split) it to send and receive from different tasks. Dropping it (both
/// halves) closes the socket with a close frame.
#[derive(Debug)]
pub struct RealtimeConnection {
    sender: RealtimeSender,
    receiver: RealtimeReceiver,
}

impl RealtimeConnection {
    /// The sending and the receiving half, for concurrent use.
    pub fn split(self) -> (RealtimeSender, RealtimeReceiver) {
        (self.sender, self.receiver)
    }

    /// A sender for this session (cheap to clone).
    pub fn sender(&self) -> &RealtimeSender {
        &self.sender
    }

    /// The accumulated state: the responses so far.
    pub fn state(&self) -> &RealtimeState {
        &self.receiver.state
    }

    /// See [`RealtimeReceiver::last_undecoded`].
    pub fn last_undecoded(&self) -> Option<&[u8]> {
        self.receiver.last_undecoded()
    }

    /// The handshake's `x-request-id`.
    pub fn request_id(&self) -> Option<&str> {
        self.receiver.request_id.as_deref()
    }

    /// See [`RealtimeSender::send`].
    pub async fn send(&self, event: RealtimeClientEvent) -> Result<(), Error> {
        self.sender.send(event).await
    }

    /// See [`RealtimeSender::send_json`].
    pub async fn send_json(&self, event: &serde_json::Value) -> Result<(), Error> {
        self.sender.send_json(event).await
    }

    /// See [`RealtimeSender::send_user_text`].
    pub async fn send_user_text(&self, text: &str) -> Result<(), Error> {
        self.sender.send_user_text(text).await
    }

    /// See [`RealtimeSender::create_response`].
    pub async fn create_response(&self) -> Result<(), Error> {
        self.sender.create_response().await
    }

    /// See [`RealtimeSender::create_response_with`].
    pub async fn create_response_with(&self, response: impl Serialize) -> Result<(), Error> {
        self.sender.create_response_with(response).await
    }

    /// See [`RealtimeSender::append_input_audio`].
    pub async fn append_input_audio(&self, pcm: &[u8]) -> Result<(), Error> {
        self.sender.append_input_audio(pcm).await
    }

    /// See [`RealtimeSender::update_session`].
    pub async fn update_session(&self, session: impl Serialize) -> Result<(), Error> {
        self.sender.update_session(session).await
    }

    /// See [`RealtimeSender::close`].
    pub async fn close(&self) -> Result<(), Error> {
        self.sender.close().await
    }
}

impl Stream for RealtimeConnection {
    type Item = Result<RealtimeServerEvent, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.receiver).poll_next(cx)
    }
}

/// The sending half of a Realtime session. Clones share the socket; sending waits while
/// the socket's send queue is full.
#[derive(Debug, Clone)]
pub struct RealtimeSender {
    commands: mpsc::Sender<Command>,
}

impl RealtimeSender {
    /// Sends a typed client event.
    pub async fn send(&self, event: RealtimeClientEvent) -> Result<(), Error> {
        self.send_serialized(&event).await
    }

    /// Sends any JSON client event (one this SDK has no type for, say).
    pub async fn send_json(&self, event: &serde_json::Value) -> Result<(), Error> {
        self.send_serialized(event).await
    }

    async fn send_serialized(&self, event: &impl Serialize) -> Result<(), Error> {
        let text = serde_json::to_string(event).map_err(|e| {
            Error::InvalidRequest(format!("the client event does not serialize: {e}"))
        })?;
        ws::send_on(&self.commands, Command::Text(text)).await
    }

    /// `conversation.item.create` with a user message of one `input_text` part.
    pub async fn send_user_text(&self, text: &str) -> Result<(), Error> {
        self.send_json(&serde_json::json!({
            "type": "conversation.item.create",
            "item": {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": text}],
            },
        }))
        .await
    }

    /// `response.create` with the session's settings.
    pub async fn create_response(&self) -> Result<(), Error> {
        self.send_json(&serde_json::json!({"type": "response.create"}))
            .await
    }

    /// `response.create` with `response` as its settings (e.g.
    /// `{"output_modalities": ["text"], "instructions": "…"}`).
    pub async fn create_response_with(&self, response: impl Serialize) -> Result<(), Error> {
        let response = serde_json::to_value(response).map_err(|e| {
            Error::InvalidRequest(format!("the response settings do not serialize: {e}"))
        })?;
        self.send_json(&serde_json::json!({"type": "response.create", "response": response}))
            .await
    }

    /// `input_audio_buffer.append` with PCM bytes (base64-encoded here) in the session's
    /// input format.
    pub async fn append_input_audio(&self, pcm: &[u8]) -> Result<(), Error> {
        let audio = base64::engine::general_purpose::STANDARD.encode(pcm);
        self.send_json(&serde_json::json!({"type": "input_audio_buffer.append", "audio": audio}))
            .await
    }

    /// `session.update` with `session` (e.g. `{"type": "realtime", "instructions": "…"}`,
    /// or a typed session).
    pub async fn update_session(&self, session: impl Serialize) -> Result<(), Error> {
        let session = serde_json::to_value(session)
            .map_err(|e| Error::InvalidRequest(format!("the session does not serialize: {e}")))?;
        self.send_json(&serde_json::json!({"type": "session.update", "session": session}))
            .await
    }

    /// Starts the close handshake now (dropping every handle does it too).
    pub async fn close(&self) -> Result<(), Error> {
        ws::send_on(&self.commands, Command::Close).await
    }
}

/// The receiving half of a Realtime session: a [`Stream`] of server events, with the
/// accumulated [`state`](Self::state).
#[derive(Debug)]
pub struct RealtimeReceiver {
    incoming: mpsc::Receiver<Incoming>,
    state: RealtimeState,
    /// Keeps the socket open while the receiver lives, even without a sender.
    _keep_open: mpsc::Sender<Command>,
    ended: bool,
    last_undecoded: Option<Vec<u8>>,
    request_id: Option<String>,
}

impl RealtimeReceiver {
    /// The accumulated state: the responses so far.
    pub fn state(&self) -> &RealtimeState {
        &self.state
    }

    /// The accumulated state, to [`forget_finished`](RealtimeState::forget_finished)
    /// responses.
    pub fn state_mut(&mut self) -> &mut RealtimeState {
        &mut self.state
    }

    /// The last server message that gave a decode error (not JSON, a known event of the
    /// wrong shape, or a binary message), as received.
    pub fn last_undecoded(&self) -> Option<&[u8]> {
        self.last_undecoded.as_deref()
    }

    fn handle(&mut self, incoming: Incoming) -> Option<Result<RealtimeServerEvent, Error>> {
        match incoming {
            Incoming::Text(text) => Some(match self.state.handle_text(&text) {
                Ok(event) => Ok(event),
                Err(e) => {
                    if matches!(e, Error::Decode { .. } | Error::Stream { .. }) {
                        self.last_undecoded = Some(text.into_bytes());
                    }
                    Err(e)
                }
            }),
            Incoming::Binary(bytes) => {
                let number = self.state.events_handled();
                let len = bytes.len();
                self.last_undecoded = Some(bytes.to_vec());
                Some(Err(Error::Stream {
                    kind: StreamErrorKind::InvalidJson,
                    event: Some(number),
                    offset: None,
                    message: format!(
                        "a binary WebSocket message of {len} bytes; Realtime server events are JSON text"
                    ),
                }))
            }
            Incoming::End(error) => {
                self.ended = true;
                match (error, self.state.in_progress()) {
                    (Some(e), _) => Some(Err(e)),
                    (None, Some(id)) => Some(Err(Error::Stream {
                        kind: StreamErrorKind::NoFinalEvent,
                        event: Some(self.state.events_handled()),
                        offset: None,
                        message: format!("the WebSocket closed before `response.done` of {id}"),
                    })),
                    (None, None) => None,
                }
            }
        }
    }
}

impl Stream for RealtimeReceiver {
    type Item = Result<RealtimeServerEvent, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if this.ended {
                return Poll::Ready(None);
            }
            match this.incoming.poll_recv(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    this.ended = true;
                    return Poll::Ready(None);
                }
                Poll::Ready(Some(incoming)) => {
                    if let Some(item) = this.handle(incoming) {
                        return Poll::Ready(Some(item));
                    }
                }
            }
        }
    }
}
