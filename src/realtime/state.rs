//! The transport-free state of a Realtime session: server events in, typed events and the
//! accumulated responses out.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::accumulate::{accumulate_delta_owned, indexed_entry_mut};
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
    /// Tests compare the in-place appends with the accumulator alone.
    #[cfg(test)]
    accumulator_only: bool,
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

/// Appends a string delta where the accumulator would: `path` is, from the snapshot's
/// `output` list down, each list entry's `index` and the key to go on with (the last key
/// names the string). Only when every step finds its entry (as the accumulator's list fold
/// does, with the same `index`) and the string already exists; then the result is the
/// accumulator's, without building and merging a nested delta for every text delta. Any
/// other shape returns `false` and the caller folds the delta with the accumulator.
fn append_in_place(snapshot: &mut Map<String, Value>, path: &[(i64, &str)], delta: &str) -> bool {
    let mut key = "output";
    let mut map = snapshot;
    for &(index, next) in path {
        let Some(Value::Array(list)) = map.get_mut(key) else {
            return false;
        };
        let Some(entry) = indexed_entry_mut(list, index) else {
            return false;
        };
        map = entry;
        key = next;
    }
    match map.get_mut(key) {
        Some(Value::String(s)) => {
            s.push_str(delta);
            true
        }
        _ => false,
    }
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
            E::ResponseTextDelta(e) => self.append_text(
                (&e.response_id, e.output_index, e.content_index),
                "text",
                &e.delta,
                |r| &mut r.text,
            )?,
            E::ResponseAudioTranscriptDelta(e) => self.append_text(
                (&e.response_id, e.output_index, e.content_index),
                "transcript",
                &e.delta,
                |r| &mut r.audio_transcript,
            )?,
            E::ResponseFunctionCallArgumentsDelta(e) => {
                let path = [(e.output_index, "arguments")];
                self.append_or_fold(&e.response_id, &path, &e.delta, || {
                    one(
                        "output",
                        at(
                            e.output_index,
                            one("arguments", Value::String(e.delta.clone())),
                        ),
                    )
                })?;
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

    /// Appends a text delta to content part `key` of output `(response, output, content)`
    /// (see [`append_or_fold`](Self::append_or_fold)); `field` is where the response keeps
    /// all of that kind of text.
    fn append_text(
        &mut self,
        (response_id, output_index, content_index): (&str, i64, i64),
        key: &str,
        delta: &str,
        field: fn(&mut RealtimeResponseState) -> &mut String,
    ) -> Result<(), Error> {
        let path = [(output_index, "content"), (content_index, key)];
        let index = self.append_or_fold(response_id, &path, delta, || {
            part_delta(
                output_index,
                content_index,
                one(key, Value::String(delta.to_owned())),
            )
        })?;
        field(&mut self.responses[index]).push_str(delta);
        Ok(())
    }

    /// Appends `delta` to the string at `path` in response `response_id`'s snapshot: in
    /// place when it can, otherwise by folding `as_delta()` (the same change as an
    /// accumulator delta). Returns the response's index (one lookup on the fast path).
    fn append_or_fold(
        &mut self,
        response_id: &str,
        path: &[(i64, &str)],
        delta: &str,
        as_delta: impl FnOnce() -> Map<String, Value>,
    ) -> Result<usize, Error> {
        let fast = self.in_place();
        let index = self.index(response_id);
        if !(fast && append_in_place(&mut self.responses[index].snapshot, path, delta)) {
            self.fold(response_id, as_delta())?;
        }
        Ok(index)
    }

    /// Whether string deltas are appended in place (always, but for the tests that
    /// compare with the accumulator alone).
    fn in_place(&self) -> bool {
        #[cfg(test)]
        return !self.accumulator_only;
        #[cfg(not(test))]
        true
    }

    fn entry(&mut self, id: &str) -> &mut RealtimeResponseState {
        let index = self.index(id);
        &mut self.responses[index]
    }

    /// The index of response `id` in `responses`, added when new.
    fn index(&mut self, id: &str) -> usize {
        match self.by_id.get(id) {
            Some(i) => *i,
            None => {
                self.responses.push(RealtimeResponseState {
                    id: id.to_owned(),
                    ..Default::default()
                });
                self.by_id.insert(id.to_owned(), self.responses.len() - 1);
                self.responses.len() - 1
            }
        }
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
    Error::Decode {
        what: format!("Realtime server event #{number} (`{kind}`)"),
        path: crate::error::json_path_at(text.as_bytes(), &e),
        message: e.to_string(),
        snippet: snippet(text.as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Events of every shape the in-place append meets: entries present or missing,
    /// strings present, missing or of another type, lists whose entries have no `index`,
    /// responses not created.
    const EVENTS: &[&str] = &[
        r#"{"type":"response.created","event_id":"e","response":{"id":"r","object":"realtime.response","status":"in_progress","output":[]}}"#,
        r#"{"type":"response.created","event_id":"e","response":{"id":"r","object":"realtime.response","status":"in_progress","output":[{"id":"i","type":"message","role":"assistant","content":[{"type":"output_text","text":"x"}]}]}}"#,
        r#"{"type":"response.output_item.added","event_id":"e","response_id":"r","output_index":0,"item":{"id":"i","type":"message","role":"assistant","status":"in_progress","content":[]}}"#,
        r#"{"type":"response.output_item.added","event_id":"e","response_id":"r","output_index":0,"item":{"id":"i","type":"message","role":"assistant","content":[{"type":"output_text","text":"pre"}]}}"#,
        r#"{"type":"response.output_item.added","event_id":"e","response_id":"r","output_index":1,"item":{"id":"f","type":"function_call","call_id":"c","name":"n","arguments":""}}"#,
        r#"{"type":"response.content_part.added","event_id":"e","response_id":"r","item_id":"i","output_index":0,"content_index":0,"part":{"type":"text","text":""}}"#,
        r#"{"type":"response.content_part.added","event_id":"e","response_id":"r","item_id":"i","output_index":0,"content_index":1,"part":{"type":"text","text":"p"}}"#,
        r#"{"type":"response.content_part.added","event_id":"e","response_id":"r","item_id":"i","output_index":0,"content_index":0,"part":{"type":"audio","transcript":""}}"#,
        r#"{"type":"response.content_part.added","event_id":"e","response_id":"r","item_id":"i","output_index":0,"content_index":0,"part":{"type":"text"}}"#,
        r#"{"type":"response.output_text.delta","event_id":"e","response_id":"r","item_id":"i","output_index":0,"content_index":0,"delta":"a"}"#,
        r#"{"type":"response.output_text.delta","event_id":"e","response_id":"r","item_id":"i","output_index":0,"content_index":1,"delta":"b"}"#,
        r#"{"type":"response.output_text.delta","event_id":"e","response_id":"r","item_id":"i","output_index":1,"content_index":0,"delta":"c"}"#,
        r#"{"type":"response.output_text.delta","event_id":"e","response_id":"q","item_id":"i","output_index":0,"content_index":0,"delta":"d"}"#,
        r#"{"type":"response.output_audio_transcript.delta","event_id":"e","response_id":"r","item_id":"i","output_index":0,"content_index":0,"delta":"t"}"#,
        r#"{"type":"response.function_call_arguments.delta","event_id":"e","response_id":"r","item_id":"f","call_id":"c","output_index":1,"delta":"{"}"#,
        r#"{"type":"response.function_call_arguments.delta","event_id":"e","response_id":"r","item_id":"f","call_id":"c","output_index":0,"delta":"}"}"#,
        r#"{"type":"response.done","event_id":"e","response":{"id":"r","object":"realtime.response","status":"completed","output":[]}}"#,
    ];

    fn run(sequence: &[usize], accumulator_only: bool) -> String {
        let mut state = RealtimeState {
            accumulator_only,
            ..RealtimeState::default()
        };
        let mut out = String::new();
        for &i in sequence {
            match state.handle_text(EVENTS[i]) {
                Ok(_) => out.push_str("ok;"),
                Err(e) => out.push_str(&format!("{e};")),
            }
        }
        for r in state.responses() {
            out.push_str(&format!(
                "|{}:{:?}:{:?}:{}",
                r.id(),
                r.text(),
                r.audio_transcript(),
                Value::Object(r.snapshot().clone())
            ));
        }
        out
    }

    #[test]
    fn in_place_appends_equal_the_accumulator() {
        let n = EVENTS.len();
        let mut checked = 0;
        // Every sequence of up to three events...
        for len in 1..=3u32 {
            for code in 0..n.pow(len) {
                let sequence: Vec<usize> = (0..len).map(|k| code / n.pow(k) % n).collect();
                assert_eq!(run(&sequence, false), run(&sequence, true), "{sequence:?}");
                checked += 1;
            }
        }
        // ... and longer pseudo-random ones.
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..2000 {
            let sequence: Vec<usize> = (0..16)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    (seed >> 33) as usize % n
                })
                .collect();
            assert_eq!(run(&sequence, false), run(&sequence, true), "{sequence:?}");
            checked += 1;
        }
        assert!(checked > n * n * n);
    }

    #[test]
    fn text_deltas_are_appended_in_place() {
        let mut state = RealtimeState::new();
        for i in [0, 2, 5, 9, 9, 13] {
            state.handle_text(EVENTS[i]).unwrap();
        }
        let r = state.response("r").unwrap();
        assert_eq!(r.text(), "aa");
        assert_eq!(r.audio_transcript(), "t");
        assert_eq!(
            r.snapshot()["output"][0]["content"][0],
            serde_json::json!({"type": "text", "text": "aa", "transcript": "t", "index": 0})
        );
    }
}
