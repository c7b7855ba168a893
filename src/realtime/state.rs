//! The transport-free state of a Realtime session: server events in, typed events and the
//! accumulated responses out.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::accumulate::accumulate_delta_owned;
use crate::error::{snippet, ApiError, StreamErrorKind};
use crate::types::{RealtimeResponse, RealtimeServerEvent};
use crate::Error;

/// One response of a Realtime session, accumulated from its events: the text, the audio
/// transcript, a JSON snapshot of the whole response (built with
/// [`accumulate_delta`](crate::accumulate::accumulate_delta) from `response.created`, the
/// item and part events and the deltas), and the final response of `response.done`.
#[derive(Debug, Clone, Default)]
pub struct RealtimeResponseState {
    id: String,
    text: String,
    audio_transcript: String,
    snapshot: Map<String, Value>,
    final_response: Option<RealtimeResponse>,
}

impl RealtimeResponseState {
    /// The response id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The text of every `response.output_text.delta` so far, in order.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The audio transcript of every `response.output_audio_transcript.delta` so far.
    pub fn audio_transcript(&self) -> &str {
        &self.audio_transcript
    }

    /// The response as accumulated so far, as JSON in the API's shape (`output` items
    /// with their `content` parts and text, transcript and arguments); after
    /// `response.done`, the final response as sent.
    pub fn snapshot(&self) -> &Map<String, Value> {
        &self.snapshot
    }

    /// The final response of `response.done` (`None` before it).
    pub fn final_response(&self) -> Option<&RealtimeResponse> {
        self.final_response.as_ref()
    }

    /// Whether `response.done` was received.
    pub fn is_done(&self) -> bool {
        self.final_response.is_some()
    }
}

/// The state of a Realtime session, with no I/O: feed it the text of each server message
/// ([`handle_text`](Self::handle_text)) and read the responses accumulated so far. Used by
/// [`RealtimeConnection`](super::RealtimeConnection), the benchmarks and the fuzz target.
///
/// ```
/// use openai_sdk::realtime::RealtimeState;
///
/// let mut state = RealtimeState::new();
/// for frame in [
///     r#"{"type":"response.created","event_id":"e1","response":{"id":"resp_1","object":"realtime.response","status":"in_progress","output":[]}}"#,
///     r#"{"type":"response.output_text.delta","event_id":"e2","response_id":"resp_1","item_id":"item_1","output_index":0,"content_index":0,"delta":"Hel"}"#,
///     r#"{"type":"response.output_text.delta","event_id":"e3","response_id":"resp_1","item_id":"item_1","output_index":0,"content_index":0,"delta":"lo"}"#,
/// ] {
///     state.handle_text(frame)?;
/// }
/// assert_eq!(state.response("resp_1").unwrap().text(), "Hello");
/// assert_eq!(state.in_progress(), Some("resp_1"));
/// # Ok::<(), openai_sdk::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct RealtimeState {
    responses: Vec<RealtimeResponseState>,
    by_id: HashMap<String, usize>,
    in_progress: Option<String>,
    events: u64,
}

/// A list entry with its `index`, for a delta folded by the accumulator.
fn at(index: i64, mut entry: Map<String, Value>) -> Value {
    entry.insert("index".into(), Value::from(index));
    Value::Array(vec![Value::Object(entry)])
}

fn one(key: &str, value: Value) -> Map<String, Value> {
    let mut m = Map::with_capacity(1);
    m.insert(key.to_owned(), value);
    m
}

/// A delta for content part `content_index` of output item `output_index`.
fn part_delta(
    output_index: i64,
    content_index: i64,
    part: Map<String, Value>,
) -> Map<String, Value> {
    one(
        "output",
        at(output_index, one("content", at(content_index, part))),
    )
}

impl RealtimeState {
    /// An empty session.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes one server message (a WebSocket text frame) by its `type` and folds it in.
    ///
    /// - An event of a type this SDK does not know is
    ///   [`RealtimeServerEvent::Unknown`], kept whole.
    /// - A message that is not JSON is [`Error::Stream`] ([`InvalidJson`](StreamErrorKind::InvalidJson));
    ///   a known event that does not decode is [`Error::Decode`] with the JSON path. The
    ///   state is unchanged and the session goes on.
    /// - An `error` event is [`Error::Api`] (no status; its type, code, param, message
    ///   and `event_id`); the state keeps everything received before it.
    pub fn handle_text(&mut self, text: &str) -> Result<RealtimeServerEvent, Error> {
        let number = self.events;
        self.events += 1;
        let event = match serde_json::from_str::<RealtimeServerEvent>(text) {
            Ok(event) => event,
            Err(e) => return Err(decode_error(number, text, e)),
        };
        self.handle_event(&event)?;
        Ok(event)
    }

    /// Folds in an event decoded elsewhere (see [`handle_text`](Self::handle_text) for
    /// the `error` event).
    pub fn handle_event(&mut self, event: &RealtimeServerEvent) -> Result<(), Error> {
        use RealtimeServerEvent as E;
        match event {
            E::ResponseCreated(e) => {
                let id = e.response.id.clone().unwrap_or_default();
                let snapshot = match serde_json::to_value(&e.response) {
                    Ok(Value::Object(m)) => m,
                    _ => Map::new(),
                };
                let r = self.entry(&id);
                r.snapshot = snapshot;
                self.in_progress = Some(id);
            }
            E::ResponseOutputItemAdded(e) => {
                if let Ok(Value::Object(item)) = serde_json::to_value(&e.item) {
                    self.fold(&e.response_id, one("output", at(e.output_index, item)))?;
                }
            }
            E::ResponseContentPartAdded(e) => {
                if let Ok(Value::Object(part)) = serde_json::to_value(&e.part) {
                    let delta = part_delta(e.output_index, e.content_index, part);
                    self.fold(&e.response_id, delta)?;
                }
            }
            E::ResponseTextDelta(e) => {
                let delta = part_delta(
                    e.output_index,
                    e.content_index,
                    one("text", Value::String(e.delta.clone())),
                );
                self.fold(&e.response_id, delta)?;
                self.entry(&e.response_id).text.push_str(&e.delta);
            }
            E::ResponseAudioTranscriptDelta(e) => {
                let delta = part_delta(
                    e.output_index,
                    e.content_index,
                    one("transcript", Value::String(e.delta.clone())),
                );
                self.fold(&e.response_id, delta)?;
                self.entry(&e.response_id)
                    .audio_transcript
                    .push_str(&e.delta);
            }
            E::ResponseFunctionCallArgumentsDelta(e) => {
                let delta = one(
                    "output",
                    at(
                        e.output_index,
                        one("arguments", Value::String(e.delta.clone())),
                    ),
                );
                self.fold(&e.response_id, delta)?;
            }
            E::ResponseDone(e) => {
                let id = e.response.id.clone().unwrap_or_default();
                let snapshot = match serde_json::to_value(&e.response) {
                    Ok(Value::Object(m)) => m,
                    _ => Map::new(),
                };
                let r = self.entry(&id);
                r.snapshot = snapshot;
                r.final_response = Some(e.response.clone());
                if self.in_progress.as_deref() == Some(id.as_str()) {
                    self.in_progress = None;
                }
            }
            E::Error(e) => {
                let body = serde_json::json!({ "error": &e.error, "event_id": &e.event_id });
                let bytes = serde_json::to_vec(&body).unwrap_or_default();
                return Err(Error::Api(Box::new(ApiError::from_body(
                    None, None, &bytes,
                ))));
            }
            _ => {}
        }
        Ok(())
    }

    fn entry(&mut self, id: &str) -> &mut RealtimeResponseState {
        let index = match self.by_id.get(id) {
            Some(i) => *i,
            None => {
                self.responses.push(RealtimeResponseState {
                    id: id.to_owned(),
                    ..Default::default()
                });
                self.by_id.insert(id.to_owned(), self.responses.len() - 1);
                self.responses.len() - 1
            }
        };
        &mut self.responses[index]
    }

    fn fold(&mut self, response_id: &str, delta: Map<String, Value>) -> Result<(), Error> {
        let number = self.events.saturating_sub(1);
        accumulate_delta_owned(&mut self.entry(response_id).snapshot, delta).map_err(|e| {
            Error::Stream {
                kind: StreamErrorKind::InvalidChunk,
                event: Some(number),
                offset: None,
                message: format!("response {response_id}: {e}"),
            }
        })
    }

    /// The response with this id.
    pub fn response(&self, id: &str) -> Option<&RealtimeResponseState> {
        self.by_id.get(id).map(|i| &self.responses[*i])
    }

    /// Every response of the session, oldest first.
    pub fn responses(&self) -> &[RealtimeResponseState] {
        &self.responses
    }

    /// The latest response (in progress or done).
    pub fn last_response(&self) -> Option<&RealtimeResponseState> {
        self.responses.last()
    }

    /// The id of the response between `response.created` and `response.done`, if any.
    pub fn in_progress(&self) -> Option<&str> {
        self.in_progress.as_deref()
    }

    /// How many server messages were handled (also those that gave an error).
    pub fn events_handled(&self) -> u64 {
        self.events
    }

    /// Forgets the finished responses (a long session would otherwise keep them all).
    pub fn forget_finished(&mut self) {
        self.responses.retain(|r| !r.is_done());
        self.by_id = self
            .responses
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.clone(), i))
            .collect();
    }
}

/// The error for a server message that does not decode.
fn decode_error(number: u64, text: &str, e: serde_json::Error) -> Error {
    if serde_json::from_str::<serde::de::IgnoredAny>(text).is_err() {
        return Error::Stream {
            kind: StreamErrorKind::InvalidJson,
            event: Some(number),
            offset: None,
            message: format!(
                "a Realtime server message is not JSON: {e}; it starts with: {}",
                snippet(text.as_bytes())
            ),
        };
    }
    let kind = serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| "?".into());
    let (path, message) = crate::error::json_path::<RealtimeServerEvent>(text.as_bytes())
        .unwrap_or_else(|| (".".into(), e.to_string()));
    Error::Decode {
        what: format!("Realtime server event #{number} (`{kind}`)"),
        path,
        message,
        snippet: snippet(text.as_bytes()),
    }
}
