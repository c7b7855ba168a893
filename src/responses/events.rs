//! The typed events of a response stream.

use std::sync::Arc;

use serde_json::Value;

use super::snapshot::{ParsedResponse, TextSnapshot};
use crate::types;

/// One event of a [`ResponseStream`](super::ResponseStream): the generated typed event
/// (for every `ResponseStreamEvent` type of the spec; a type this version does not know
/// is kept as [`types::ResponseStreamEvent::Unknown`]), with the reference SDK's
/// additions on four of them. Every event also keeps the JSON text it was decoded from
/// ([`raw_json`](Self::raw_json)), so fields the generated types do not have (such as
/// `obfuscation`) stay reachable.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ResponseStreamEvent {
    /// `response.output_text.delta`, with the text of the content part so far.
    OutputTextDelta {
        /// The text added.
        delta: String,
        /// The id of the message item.
        item_id: String,
        /// The index of the item in the output.
        output_index: usize,
        /// The index of the content part in the item.
        content_index: usize,
        /// The event's `sequence_number`.
        sequence_number: i64,
        /// The accumulated text of the content part, this delta included.
        snapshot: TextSnapshot,
        /// The event's JSON text (with its `logprobs` and any other field).
        raw: String,
    },
    /// `response.function_call_arguments.delta`, with the arguments so far.
    FunctionCallArgumentsDelta {
        /// The arguments text added.
        delta: String,
        /// The id of the function call item.
        item_id: String,
        /// The index of the item in the output.
        output_index: usize,
        /// The event's `sequence_number`.
        sequence_number: i64,
        /// The accumulated arguments of the function call, this delta included.
        snapshot: TextSnapshot,
        /// The event's JSON text.
        raw: String,
    },
    /// `response.output_text.done`, with the text parsed when a structured text format
    /// was given (see [`ResponseParseOptions`](super::ResponseParseOptions)).
    OutputTextDone {
        /// The whole text of the content part.
        text: String,
        /// The id of the message item.
        item_id: String,
        /// The index of the item in the output.
        output_index: usize,
        /// The index of the content part in the item.
        content_index: usize,
        /// The event's `sequence_number`.
        sequence_number: i64,
        /// The text parsed as JSON, or `None` without a structured text format.
        parsed: Option<Value>,
        /// The event's JSON text.
        raw: String,
    },
    /// `response.completed`, with the response parsed (see [`ParsedResponse`]).
    Completed {
        /// The event's `sequence_number`.
        sequence_number: i64,
        /// The final response with `parsed` and `parsed_arguments`.
        response: Arc<ParsedResponse>,
        /// The event's JSON text.
        raw: String,
    },
    /// Any other event, as the generated typed event. A type this SDK does not know, or
    /// an event that does not fit its generated type (the API sometimes omits a field
    /// the spec requires), is [`types::ResponseStreamEvent::Unknown`] with its JSON.
    Other {
        /// The event.
        event: Box<types::ResponseStreamEvent>,
        /// The event's JSON text.
        raw: String,
    },
}

impl ResponseStreamEvent {
    /// The event's JSON text, as received.
    pub fn raw_json(&self) -> &str {
        match self {
            ResponseStreamEvent::OutputTextDelta { raw, .. }
            | ResponseStreamEvent::FunctionCallArgumentsDelta { raw, .. }
            | ResponseStreamEvent::OutputTextDone { raw, .. }
            | ResponseStreamEvent::Completed { raw, .. }
            | ResponseStreamEvent::Other { raw, .. } => raw,
        }
    }

    /// The event decoded as the generated typed event (from its JSON text; for the
    /// variants that hold it already, prefer their fields).
    pub fn to_typed(&self) -> Result<types::ResponseStreamEvent, crate::Error> {
        if let ResponseStreamEvent::Other { event, .. } = self {
            return Ok(types::ResponseStreamEvent::clone(event));
        }
        let raw = self.raw_json();
        serde_json::from_str(raw).map_err(|e| crate::Error::Decode {
            what: format!("the `{}` event", self.event_type()),
            path: ".".into(),
            message: e.to_string(),
            snippet: crate::error::snippet(raw.as_bytes()),
        })
    }

    /// The event's `type`, e.g. `response.output_text.delta`.
    pub fn event_type(&self) -> &str {
        match self {
            ResponseStreamEvent::OutputTextDelta { .. } => "response.output_text.delta",
            ResponseStreamEvent::FunctionCallArgumentsDelta { .. } => {
                "response.function_call_arguments.delta"
            }
            ResponseStreamEvent::OutputTextDone { .. } => "response.output_text.done",
            ResponseStreamEvent::Completed { .. } => "response.completed",
            ResponseStreamEvent::Other { event, .. } => event_type(event).unwrap_or(""),
        }
    }

    /// The event's `sequence_number`.
    pub fn sequence_number(&self) -> Option<i64> {
        match self {
            ResponseStreamEvent::OutputTextDelta {
                sequence_number, ..
            }
            | ResponseStreamEvent::FunctionCallArgumentsDelta {
                sequence_number, ..
            }
            | ResponseStreamEvent::OutputTextDone {
                sequence_number, ..
            }
            | ResponseStreamEvent::Completed {
                sequence_number, ..
            } => Some(*sequence_number),
            ResponseStreamEvent::Other { event, .. } => sequence_number(event),
        }
    }

    /// The text delta of `response.output_text.delta`.
    pub fn text_delta(&self) -> Option<&str> {
        match self {
            ResponseStreamEvent::OutputTextDelta { delta, .. } => Some(delta),
            _ => None,
        }
    }

    /// The event in the reference SDK's shape (the conformance output): the event's
    /// fields plus `snapshot` on the two delta events, `parsed` on
    /// `response.output_text.done`, the parsed response on `response.completed`. The
    /// four rebuilt events carry only their documented fields (as the reference); the
    /// others are the JSON as sent.
    pub fn to_reference_json(&self) -> Value {
        let raw: Value = serde_json::from_str(self.raw_json()).unwrap_or(Value::Null);
        let keep = |keys: &[&str], extra: (&str, Value)| {
            let mut map = serde_json::Map::new();
            for k in keys {
                if let Some(v) = raw.get(*k) {
                    map.insert((*k).to_owned(), v.clone());
                }
            }
            map.insert(extra.0.to_owned(), extra.1);
            Value::Object(map)
        };
        const TEXT: &[&str] = &[
            "type",
            "sequence_number",
            "item_id",
            "output_index",
            "content_index",
            "logprobs",
        ];
        match self {
            ResponseStreamEvent::OutputTextDelta {
                snapshot, delta, ..
            } => {
                let mut v = keep(
                    TEXT,
                    ("snapshot", Value::String(snapshot.as_str().to_owned())),
                );
                v["delta"] = Value::String(delta.clone());
                v
            }
            ResponseStreamEvent::FunctionCallArgumentsDelta { snapshot, .. } => keep(
                &[
                    "type",
                    "sequence_number",
                    "item_id",
                    "output_index",
                    "delta",
                ],
                ("snapshot", Value::String(snapshot.as_str().to_owned())),
            ),
            ResponseStreamEvent::OutputTextDone { parsed, text, .. } => {
                let mut v = keep(TEXT, ("parsed", parsed.clone().unwrap_or(Value::Null)));
                v["text"] = Value::String(text.clone());
                v
            }
            ResponseStreamEvent::Completed {
                sequence_number,
                response,
                ..
            } => serde_json::json!({
                "type": "response.completed",
                "sequence_number": sequence_number,
                "response": response.json(),
            }),
            ResponseStreamEvent::Other { .. } => raw,
        }
    }
}

/// The `sequence_number` of a generated event (a generated accessor: a member the next spec
/// adds, or one this version does not know, is read the same way).
pub(crate) fn sequence_number(event: &types::ResponseStreamEvent) -> Option<i64> {
    event.sequence_number()
}

/// The `type` of a generated event (`None` for an unknown event without one).
pub(crate) fn event_type(event: &types::ResponseStreamEvent) -> Option<&str> {
    let t = event.tag();
    (!t.is_empty()).then_some(t)
}
