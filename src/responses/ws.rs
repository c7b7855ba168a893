//! Responses over a WebSocket (feature `responses-ws`): `wss://…/v1/responses`, one
//! `response.create` per response, the same [`ResponseStream`] as over HTTP.

use std::task::{Context, Poll};

use bytes::Bytes;
use serde_json::Value;
use tokio::sync::mpsc;

use super::stream::ResponsePump;
use super::{
    to_body, ResponseParseOptions, ResponseStream, ResponseStreamEvent, ResponseStreamState,
};
use crate::error::{snippet, ApiError, StreamErrorKind};
use crate::streaming::driver::{Input, Pump, Source, SourceError, Step};
use crate::types::CreateResponse;
use crate::ws::{self, Command, Incoming, WsOptions};
use crate::{Error, ResponseMetadata};

/// How to open a Responses WebSocket: [`Responses::connect_with`](super::Responses::connect_with).
#[derive(Debug, Clone, Default)]
pub struct ResponsesConnectOptions {
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    ws: WsOptions,
}

impl ResponsesConnectOptions {
    /// Defaults.
    pub fn new() -> Self {
        Self::default()
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

impl super::Responses<'_> {
    /// Opens a WebSocket to `/responses` (`ws`/`wss` from the base URL), authenticated as
    /// the client is. A refused handshake (401, 403, 429, …) is [`Error::Api`] with the
    /// status and body.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), openai_sdk::Error> {
    /// use futures::StreamExt;
    /// use openai_sdk::responses::ResponseStreamEvent;
    ///
    /// let client = openai_sdk::Client::new()?;
    /// let connection = client.responses().connect().await?;
    /// let request = serde_json::from_value(serde_json::json!({"model": "gpt-4o-mini", "input": "Hi"})).unwrap();
    /// let mut stream = connection.stream(request).await?;
    /// while let Some(event) = stream.next().await {
    ///     if let ResponseStreamEvent::OutputTextDelta { delta, .. } = event? {
    ///         print!("{delta}");
    ///     }
    /// }
    /// let response = stream.final_response().await?;
    /// # let _ = response;
    /// # Ok(()) }
    /// ```
    pub async fn connect(&self) -> Result<ResponsesConnection, Error> {
        self.connect_with(ResponsesConnectOptions::new()).await
    }

    /// Opens a WebSocket with `options`.
    pub async fn connect_with(
        &self,
        options: ResponsesConnectOptions,
    ) -> Result<ResponsesConnection, Error> {
        let mut query = Vec::new();
        if let Some(az) = &self.client.config().azure {
            query.push(("api-version".to_owned(), az.api_version.clone()));
        }
        query.extend(options.query.iter().cloned());
        let url = ws::url(self.client, "/responses", &query)?;
        let socket = ws::connect(
            self.client,
            &url,
            ws::Auth::Client,
            &options.headers,
            &options.ws,
            true,
        )
        .await?;
        Ok(ResponsesConnection {
            commands: socket.commands,
            buffer: socket.buffer,
            metadata: socket.metadata,
        })
    }
}

/// An open Responses WebSocket. Each [`stream`](Self::stream) sends a `response.create`
/// and returns the same [`ResponseStream`] as the HTTP path. Responses follow each other
/// on one socket; to run several at once, give each a `stream_id`
/// ([`stream_with_id`](Self::stream_with_id)): the server tags its events with it and
/// each stream gets its own. The socket closes (with a close frame) when the connection
/// and every stream from it are dropped.
#[derive(Debug, Clone)]
pub struct ResponsesConnection {
    commands: mpsc::Sender<Command>,
    buffer: usize,
    /// The handshake's answer (`101 Switching Protocols`).
    metadata: ResponseMetadata,
}

impl ResponsesConnection {
    /// Sends `response.create` with the request's fields and streams the response.
    pub async fn stream(&self, request: CreateResponse) -> Result<ResponseStream, Error> {
        let body = to_body(&request)?;
        let options = ResponseParseOptions::from_request(&body, false);
        self.stream_with_options(body, options, None).await
    }

    /// Like [`stream`](Self::stream), with the output text parsed as JSON when the
    /// request's `text.format` asks for it.
    pub async fn stream_structured(
        &self,
        request: CreateResponse,
    ) -> Result<ResponseStream, Error> {
        let body = to_body(&request)?;
        let options = ResponseParseOptions::from_request(&body, true);
        self.stream_with_options(body, options, None).await
    }

    /// Like [`stream`](Self::stream) on the lane `stream_id`, so that several responses
    /// can stream at once on this socket.
    pub async fn stream_with_id(
        &self,
        request: CreateResponse,
        stream_id: impl Into<String>,
    ) -> Result<ResponseStream, Error> {
        let body = to_body(&request)?;
        let options = ResponseParseOptions::from_request(&body, false);
        self.stream_with_options(body, options, Some(stream_id.into()))
            .await
    }

    /// Sends a request body given as JSON (`type: "response.create"` and the `stream_id`
    /// are set here, the HTTP-only `stream` removed) and parses what `options` says.
    pub async fn stream_with_options(
        &self,
        mut body: Value,
        options: ResponseParseOptions,
        stream_id: Option<String>,
    ) -> Result<ResponseStream, Error> {
        let Some(map) = body.as_object_mut() else {
            return Err(Error::InvalidRequest(
                "a response.create body must be a JSON object".into(),
            ));
        };
        map.remove("stream");
        map.insert("type".into(), Value::from("response.create"));
        let stream_id = match stream_id {
            Some(id) => {
                map.insert("stream_id".into(), Value::from(id.clone()));
                Some(id)
            }
            None => map
                .get("stream_id")
                .and_then(Value::as_str)
                .map(str::to_owned),
        };
        let text = serde_json::to_string(&body)
            .map_err(|e| Error::InvalidRequest(format!("the request does not serialize: {e}")))?;
        let (tx, rx) = mpsc::channel(self.buffer);
        ws::send_on(
            &self.commands,
            Command::Open {
                stream_id,
                lane: tx,
                text,
            },
        )
        .await?;
        let source = WsSource {
            incoming: rx,
            _keep_open: self.commands.clone(),
        };
        Ok(ResponseStream::from_source(
            Box::new(source),
            ResponsePump::Ws(Box::new(WsLane::new(options))),
            self.metadata.clone(),
        ))
    }

    /// The handshake's `x-request-id`.
    pub fn request_id(&self) -> Option<&str> {
        self.metadata.request_id()
    }

    /// The status (`101 Switching Protocols`) and headers of the handshake's answer, with
    /// the typed views ([`rate_limits`](ResponseMetadata::rate_limits), ...). Every stream
    /// of the connection gives them as its [`metadata`](ResponseStream::metadata).
    pub fn metadata(&self) -> &ResponseMetadata {
        &self.metadata
    }

    /// Starts the close handshake now (dropping the connection and its streams does it
    /// too).
    pub async fn close(&self) -> Result<(), Error> {
        ws::send_on(&self.commands, Command::Close).await
    }
}

/// The messages of one Responses WebSocket response in, events out, with no I/O: what a
/// [`ResponseStream`] over a WebSocket runs (also used by the benchmarks and the fuzz
/// target). Each message is one event's JSON, as over HTTP the `data` of an SSE event;
/// the Responses WebSocket `error` event (`ResponseWsError`) is [`Error::Api`] with its
/// status, type, code, param and message.
///
/// ```
/// use openai_sdk::responses::ResponseWsPipeline;
///
/// let mut pipeline = ResponseWsPipeline::new(Default::default());
/// let event = pipeline.handle_message(r#"{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","object":"response","status":"in_progress","output":[]}}"#.into())?;
/// assert_eq!(event.event_type(), "response.created");
/// let error = pipeline
///     .handle_message(r#"{"type":"error","status":400,"error":{"type":"invalid_request_error","code":"bad","param":"input","message":"No."}}"#.into())
///     .unwrap_err();
/// let api = error.api_error().unwrap();
/// assert_eq!((api.status, api.code.as_deref(), api.param.as_deref()), (Some(400), Some("bad"), Some("input")));
/// assert_eq!(pipeline.state().snapshot().unwrap().id(), Some("resp_1"));
/// # Ok::<(), openai_sdk::Error>(())
/// ```
#[derive(Debug)]
pub struct ResponseWsPipeline {
    state: ResponseStreamState,
    request_id: Option<String>,
}

impl ResponseWsPipeline {
    /// A pipeline whose state parses what `options` asks for.
    pub fn new(options: ResponseParseOptions) -> Self {
        ResponseWsPipeline {
            state: ResponseStreamState::with_options(options),
            request_id: None,
        }
    }

    /// Handles one text message: the event with its snapshot, or a typed error (the
    /// state is unchanged by a rejected message).
    pub fn handle_message(&mut self, text: String) -> Result<ResponseStreamEvent, Error> {
        if is_error_event(&text) {
            let status = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v.get("status").and_then(Value::as_u64))
                .and_then(|s| u16::try_from(s).ok());
            return Err(Error::Api(Box::new(ApiError::from_body(
                status,
                self.request_id.clone(),
                text.as_bytes(),
            ))));
        }
        self.state.handle_json(text)
    }

    /// The error for a binary message (the API sends JSON text only).
    pub fn binary_message(&self, bytes: &[u8]) -> Error {
        Error::Stream {
            kind: StreamErrorKind::InvalidJson,
            event: Some(self.state.events_handled()),
            offset: None,
            message: format!(
                "a binary WebSocket message of {} bytes; Responses events are JSON text (starts with: {})",
                bytes.len(),
                snippet(bytes)
            ),
        }
    }

    /// The state (snapshot, final response).
    pub fn state(&self) -> &ResponseStreamState {
        &self.state
    }

    /// The state, the pipeline dropped.
    pub fn into_state(self) -> ResponseStreamState {
        self.state
    }
}

/// One response's messages from the socket task, as the input of a [`ResponseStream`]
/// (see [`Source`]): a text message is one event's JSON ([`Input::Message`]), a binary
/// one is handed on as such, the normal end of the connection is the end of the input,
/// any other end (a close code, a cut, a refused lane) its typed error. Dropping it frees
/// the lane at once (the connection can start another response) and, with the last
/// handle, closes the socket.
struct WsSource {
    incoming: mpsc::Receiver<Incoming>,
    /// Keeps the socket open while the stream lives.
    _keep_open: mpsc::Sender<Command>,
}

impl Source for WsSource {
    fn poll_input(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Input, SourceError>>> {
        self.incoming.poll_recv(cx).map(|incoming| match incoming? {
            Incoming::Text(text) => Some(Ok(Input::Message(text))),
            Incoming::Binary(bytes) => Some(Ok(Input::Binary(bytes))),
            Incoming::End(None) => None,
            Incoming::End(Some(error)) => Some(Err(SourceError::Failed(error))),
        })
    }
}

/// The pipeline of a [`ResponseStream`] over a WebSocket: a lane's messages through a
/// [`ResponseWsPipeline`], one event each. Public in a private module (sealed), as the
/// HTTP one is.
#[derive(Debug)]
pub struct WsLane {
    pipeline: ResponseWsPipeline,
    /// What the last message gave, not yet taken.
    next: Option<Result<ResponseStreamEvent, Error>>,
    /// The error a terminal event carries (`response.failed`, ...), after that event.
    pending: Option<Error>,
    /// Nothing follows (the final event, an error, or the end of the input).
    finished: bool,
}

impl WsLane {
    fn new(options: ResponseParseOptions) -> Self {
        WsLane {
            pipeline: ResponseWsPipeline::new(options),
            next: None,
            pending: None,
            finished: false,
        }
    }

    pub(crate) fn state(&self) -> &ResponseStreamState {
        self.pipeline.state()
    }

    pub(crate) fn into_state(self) -> ResponseStreamState {
        self.pipeline.state
    }
}

impl Pump for WsLane {
    type Item = ResponseStreamEvent;

    /// Not given by a WebSocket lane (its input is whole messages): bytes are refused as a
    /// binary message is.
    fn push(&mut self, bytes: &[u8]) {
        self.push_binary(Bytes::copy_from_slice(bytes));
    }

    fn push_bytes(&mut self, bytes: Bytes) {
        self.push_binary(bytes);
    }

    fn push_message(&mut self, text: String) {
        if self.finished {
            return;
        }
        self.next = Some(match self.pipeline.handle_message(text) {
            Ok(event) => {
                self.pending = self.pipeline.state.terminal_error();
                self.finished = self.pipeline.state.is_finished() && self.pending.is_none();
                Ok(event)
            }
            Err(e) => {
                self.finished = true;
                Err(e)
            }
        });
    }

    fn push_binary(&mut self, bytes: Bytes) {
        if !self.finished {
            self.finished = true;
            self.next = Some(Err(self.pipeline.binary_message(&bytes)));
        }
    }

    fn end_of_input(&mut self, transport_error: Option<String>) {
        if self.finished {
            return;
        }
        self.finished = true;
        let state = &self.pipeline.state;
        self.next = match transport_error {
            Some(message) => Some(Err(Error::Connection {
                message,
                source: None,
            })),
            None if !state.is_finished() => Some(Err(Error::Stream {
                kind: StreamErrorKind::NoFinalEvent,
                event: Some(state.events_handled()),
                offset: None,
                message: format!(
                    "the WebSocket closed after {} events without `response.completed`",
                    state.events_handled()
                ),
            })),
            None => None,
        };
    }

    fn step(&mut self) -> Step<ResponseStreamEvent> {
        match self.next.take() {
            Some(Ok(event)) => return Step::Item(event),
            Some(Err(e)) => return Step::Error(e),
            None => {}
        }
        if let Some(e) = self.pending.take() {
            self.finished = true;
            return Step::Error(e);
        }
        if self.finished {
            Step::End
        } else {
            Step::NeedInput
        }
    }

    /// A WebSocket message has its own size limit ([`WsOptions::max_message_bytes`]).
    fn set_max_event_size(&mut self, _limit: usize) {}

    fn set_request_id(&mut self, id: Option<String>) {
        self.pipeline.request_id = id;
    }
}

/// Whether a message is an `error` event (read without decoding the rest).
fn is_error_event(text: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Kind<'a> {
        #[serde(borrow, rename = "type")]
        kind: Option<std::borrow::Cow<'a, str>>,
    }
    // Cheap pre-check: most events are not errors.
    text.contains("\"error\"")
        && serde_json::from_str::<Kind>(text).is_ok_and(|k| k.kind.as_deref() == Some("error"))
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;
    use tokio::sync::mpsc;

    use super::{WsLane, WsSource};
    use crate::error::StreamErrorKind;
    use crate::responses::stream::ResponsePump;
    use crate::responses::ResponseStream;
    use crate::ws::Incoming;
    use crate::Error;

    const CREATED: &str = r#"{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","object":"response","status":"in_progress","output":[]}}"#;

    /// A stream over a lane the test feeds by hand, and the lane's sending end.
    fn lane() -> (ResponseStream, mpsc::Sender<Incoming>) {
        let (tx, rx) = mpsc::channel(8);
        let (keep_open, _commands) = mpsc::channel(1);
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-request-id", "req_hs".parse().unwrap());
        let stream = ResponseStream::from_source(
            Box::new(WsSource {
                incoming: rx,
                _keep_open: keep_open,
            }),
            ResponsePump::Ws(Box::new(WsLane::new(Default::default()))),
            crate::ResponseMetadata::new(reqwest::StatusCode::SWITCHING_PROTOCOLS, headers),
        );
        (stream, tx)
    }

    fn read_all(stream: &mut ResponseStream) -> Vec<Result<String, Error>> {
        futures::executor::block_on(async {
            let mut items = Vec::new();
            while let Some(item) = stream.next().await {
                items.push(item.map(|e| e.event_type().to_owned()));
            }
            items
        })
    }

    /// The socket task gone without an end (its runtime shut down): the response is cut,
    /// so the stream says so as for a normal close, and nothing follows.
    #[test]
    fn a_lane_dropped_before_the_final_event_is_no_final_event() {
        let (mut stream, tx) = lane();
        tx.try_send(Incoming::Text(CREATED.into())).unwrap();
        drop(tx);
        let items = read_all(&mut stream);
        assert_eq!(items.len(), 2, "{items:?}");
        assert_eq!(items[0].as_deref().unwrap(), "response.created");
        match &items[1] {
            Err(Error::Stream {
                kind: StreamErrorKind::NoFinalEvent,
                event: Some(1),
                offset: None,
                message,
            }) => assert!(message.contains("after 1 events"), "{message}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(stream.request_id(), Some("req_hs"));
        assert_eq!(stream.connections(), 1);
    }

    /// A close code is the stream's last item as the socket task gave it; a binary
    /// message is a typed error at the event it came after. Nothing follows either.
    #[test]
    fn a_close_code_and_a_binary_message_end_the_stream_typed() {
        let (mut stream, tx) = lane();
        tx.try_send(Incoming::Text(CREATED.into())).unwrap();
        tx.try_send(Incoming::End(Some(Error::WebSocketClosed {
            code: 4001,
            reason: "expired".into(),
        })))
        .unwrap();
        let items = read_all(&mut stream);
        assert_eq!(items.len(), 2, "{items:?}");
        assert!(
            matches!(&items[1], Err(Error::WebSocketClosed { code: 4001, reason }) if reason == "expired"),
            "{items:?}"
        );
        assert!(read_all(&mut stream).is_empty());

        let (mut stream, tx) = lane();
        tx.try_send(Incoming::Text(CREATED.into())).unwrap();
        tx.try_send(Incoming::Binary(bytes::Bytes::from_static(b"\x00\x01")))
            .unwrap();
        tx.try_send(Incoming::Text(CREATED.into())).unwrap();
        let items = read_all(&mut stream);
        assert_eq!(items.len(), 2, "{items:?}");
        assert!(
            matches!(
                &items[1],
                Err(Error::Stream {
                    kind: StreamErrorKind::InvalidJson,
                    event: Some(1),
                    offset: None,
                    ..
                })
            ),
            "{items:?}"
        );
        // The lane is freed at once: its sending end sees it closed.
        assert!(tx.is_closed());
        assert_eq!(stream.current_snapshot().unwrap().id(), Some("resp_1"));
    }
}
