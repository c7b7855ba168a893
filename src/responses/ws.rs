//! Responses over a WebSocket (feature `responses-ws`): `wss://…/v1/responses`, one
//! `response.create` per response, the same [`ResponseStream`] as over HTTP.

use std::task::{Context, Poll};

use serde_json::Value;
use tokio::sync::mpsc;

use super::{
    to_body, ResponseParseOptions, ResponseStream, ResponseStreamEvent, ResponseStreamState,
};
use crate::error::{snippet, ApiError, StreamErrorKind};
use crate::types::CreateResponse;
use crate::ws::{self, Command, Incoming, WsOptions};
use crate::Error;

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
            request_id: socket.request_id,
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
    request_id: Option<String>,
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
        let mut pipeline = ResponseWsPipeline::new(options);
        pipeline.request_id = self.request_id.clone();
        Ok(ResponseStream::from_ws(WsLane {
            pipeline,
            incoming: rx,
            _keep_open: self.commands.clone(),
            finished: false,
            pending: None,
        }))
    }

    /// The handshake's `x-request-id`.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
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
}

/// One response's events from the socket task, through a [`ResponseWsPipeline`]: the
/// source of a [`ResponseStream`] made by [`ResponsesConnection`].
#[derive(Debug)]
pub(crate) struct WsLane {
    pub(crate) pipeline: ResponseWsPipeline,
    incoming: mpsc::Receiver<Incoming>,
    /// Keeps the socket open while the stream lives.
    _keep_open: mpsc::Sender<Command>,
    finished: bool,
    pending: Option<Error>,
}

impl WsLane {
    fn finish(&mut self) {
        self.finished = true;
        // Frees the lane at once: the connection can start another response.
        self.incoming.close();
    }

    fn handle(&mut self, incoming: Incoming) -> Option<Result<ResponseStreamEvent, Error>> {
        match incoming {
            Incoming::Text(text) => match self.pipeline.handle_message(text) {
                Ok(event) => {
                    self.pending = self.pipeline.state.terminal_error();
                    if self.pipeline.state.is_finished() && self.pending.is_none() {
                        self.finish();
                    }
                    Some(Ok(event))
                }
                Err(e) => {
                    self.finish();
                    Some(Err(e))
                }
            },
            Incoming::Binary(bytes) => {
                self.finish();
                Some(Err(self.pipeline.binary_message(&bytes)))
            }
            Incoming::End(error) => {
                self.finish();
                let state = &self.pipeline.state;
                match error {
                    Some(e) => Some(Err(e)),
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
                }
            }
        }
    }

    pub(crate) fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<ResponseStreamEvent, Error>>> {
        if let Some(e) = self.pending.take() {
            self.finish();
            return Poll::Ready(Some(Err(e)));
        }
        loop {
            if self.finished {
                return Poll::Ready(None);
            }
            match self.incoming.poll_recv(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    self.finished = true;
                    return Poll::Ready(None);
                }
                Poll::Ready(Some(incoming)) => {
                    if let Some(item) = self.handle(incoming) {
                        return Poll::Ready(Some(item));
                    }
                }
            }
        }
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
