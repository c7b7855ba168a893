//! The transport-free state machine of a run stream: events in (name and JSON data),
//! snapshots and handler callbacks out. Shared by the async and blocking streams.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::handler::{AssistantEventHandler, Message, Run, RunStep, Snapshot, View};
use crate::accumulate::{accumulate_delta, AccumulateError};
use crate::error::{ApiError, StreamErrorKind};
use crate::types;
use crate::Error;

/// Run statuses after which a run stream ends.
const FINAL_RUN_STATUSES: [&str; 6] = [
    "requires_action",
    "completed",
    "incomplete",
    "failed",
    "cancelled",
    "expired",
];

/// The state of an Assistants run stream: the current run, the messages and run steps
/// accumulated from their deltas (with
/// [`accumulate_delta`]), and the events it could
/// not use. Feed it with [`handle_event`](Self::handle_event); every method reading it
/// works at any time, also after an error.
///
/// Snapshots are JSON (every field kept, also those this SDK does not know); the typed
/// accessors decode them on demand.
///
/// Work per event is O(size of the event): deltas are merged in place, callbacks borrow
/// the snapshots.
#[derive(Debug)]
pub struct AssistantStreamState {
    events: u64,
    current_event: Option<types::AssistantStreamEvent>,
    run: Option<Value>,
    final_status: Option<String>,
    messages: Vec<Value>,
    message_ids: HashMap<String, usize>,
    current_message: Option<usize>,
    steps: Vec<Value>,
    step_ids: HashMap<String, usize>,
    current_step: Option<usize>,
    /// The open content block: (message position, content index).
    content: Option<(usize, u64)>,
    /// The open tool call: (step position, tool-call index).
    tool_call: Option<(usize, u64)>,
    unhandled: Vec<(String, Value)>,
    /// The most events kept in `unhandled`.
    max_unhandled: usize,
    /// Unhandled events past `max_unhandled`: counted, not kept.
    unhandled_dropped: u64,
    text_deltas: Vec<String>,
}

/// The default of [`AssistantStreamState::set_max_unhandled_events`]: the first 256 events
/// that could not be used are kept with their data; later ones are counted only
/// ([`AssistantStreamState::unhandled_events_dropped`]).
pub const DEFAULT_MAX_UNHANDLED_EVENTS: usize = 256;

impl Default for AssistantStreamState {
    fn default() -> Self {
        AssistantStreamState {
            events: 0,
            current_event: None,
            run: None,
            final_status: None,
            messages: Vec::new(),
            message_ids: HashMap::new(),
            current_message: None,
            steps: Vec::new(),
            step_ids: HashMap::new(),
            current_step: None,
            content: None,
            tool_call: None,
            unhandled: Vec::new(),
            max_unhandled: DEFAULT_MAX_UNHANDLED_EVENTS,
            unhandled_dropped: 0,
            text_deltas: Vec::new(),
        }
    }
}

fn stream_error(kind: StreamErrorKind, message: impl Into<String>) -> Error {
    Error::Stream {
        kind,
        event: None,
        offset: None,
        message: message.into(),
    }
}

fn accumulate_error(what: &str, e: AccumulateError) -> Error {
    let kind = match e {
        AccumulateError::MissingIndex { .. } => StreamErrorKind::MissingIndex,
        _ => StreamErrorKind::InvalidChunk,
    };
    stream_error(kind, format!("{what}: {e}"))
}

fn index_of(entry: &Value) -> Option<u64> {
    entry.get("index").and_then(Value::as_u64)
}

/// The entry of `list` whose `index` is `index` (the position `index` when no entry has
/// an `index` key, as in completed objects).
fn entry_at(list: Option<&Value>, index: u64) -> Option<&Value> {
    let list = list?.as_array()?;
    list.iter()
        .find(|e| index_of(e) == Some(index))
        .or_else(|| {
            usize::try_from(index)
                .ok()
                .and_then(|i| list.get(i))
                .filter(|e| index_of(e).is_none())
        })
}

fn tool_calls(step: &Value) -> Option<&Value> {
    step.get("step_details")?.get("tool_calls")
}

/// The typed form of an event (the generated `AssistantStreamEvent`), decoded by the
/// generated dispatch on the event name: no list of events here, so an event the next spec
/// adds is typed with no code change. An event whose data does not decode into its
/// generated type is kept as its group's `Unknown` member, with its name and data; an event
/// this version does not know is `AssistantStreamEvent::Unknown`.
pub(crate) fn typed_event(name: &str, data: &Value) -> types::AssistantStreamEvent {
    let raw = json!({"event": name, "data": data});
    types::AssistantStreamEvent::deserialize(&raw)
        .unwrap_or_else(|_| types::AssistantStreamEvent::Unknown(raw))
}

/// The error for a run that ended with status `failed`: an API error built from its
/// `last_error` (the whole run is the error's `body`).
fn run_failed(run: &Value) -> Error {
    let last = run.get("last_error");
    let field = |k: &str| {
        last.and_then(|e| e.get(k))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let id = run.get("id").and_then(Value::as_str).unwrap_or("?");
    Error::Api(Box::new(ApiError {
        status: None,
        r#type: Some("run_failed".into()),
        code: field("code"),
        param: None,
        message: format!(
            "run {id} failed: {}",
            field("message").unwrap_or_else(|| "(no last_error message)".into())
        ),
        request_id: None,
        body: Some(run.clone()),
    }))
}

fn object_id(data: &Value, what: &str) -> Result<String, Error> {
    data.get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            stream_error(
                StreamErrorKind::InvalidChunk,
                format!("the {what} has no string `id`"),
            )
        })
}

/// Fires the done callback of a content block.
fn content_done<H: AssistantEventHandler + ?Sized>(block: &Value, handler: &mut H) {
    match block.get("type").and_then(Value::as_str) {
        Some("text") => {
            if let Some(text) = block.get("text") {
                handler.on_text_done(View::new(text));
            }
        }
        Some("image_file") => {
            if let Some(image) = block.get("image_file") {
                handler.on_image_file_done(View::new(image));
            }
        }
        _ => {}
    }
}

impl AssistantStreamState {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Handles one event: `name` is the SSE `event:` field, `data` its JSON text. Fires
    /// the handler's callbacks and returns the typed event, with an error to report
    /// after it when the event ends the run in failure (`thread.run.failed`).
    ///
    /// Errors (the event is then not applied; an event that could not be used is kept in
    /// [`unhandled_events`](Self::unhandled_events)): data that is not a JSON object
    /// ([`StreamErrorKind::InvalidJson`]), an event type this SDK does not know
    /// ([`StreamErrorKind::UnknownEvent`]), a delta for a message or run step the stream
    /// never created ([`StreamErrorKind::UnknownObject`]), a delta that cannot be merged.
    /// `error` and `done` events are handled by the SSE layer, not here.
    pub fn handle_event<H: AssistantEventHandler + ?Sized>(
        &mut self,
        name: &str,
        data: &str,
        handler: &mut H,
    ) -> Result<(types::AssistantStreamEvent, Option<Error>), Error> {
        self.text_deltas.clear();
        let value: Value = serde_json::from_str(data).map_err(|e| {
            stream_error(
                StreamErrorKind::InvalidJson,
                format!("the data of `{name}` is not JSON: {e}"),
            )
        })?;
        if !value.is_object() {
            return Err(stream_error(
                StreamErrorKind::InvalidJson,
                format!("the data of `{name}` is not a JSON object"),
            ));
        }
        self.handle_value(name, value, handler)
    }

    /// [`handle_event`](Self::handle_event) with the data already parsed.
    pub fn handle_value<H: AssistantEventHandler + ?Sized>(
        &mut self,
        name: &str,
        value: Value,
        handler: &mut H,
    ) -> Result<(types::AssistantStreamEvent, Option<Error>), Error> {
        self.text_deltas.clear();
        let typed = typed_event(name, &value);
        if let types::AssistantStreamEvent::Unknown(_) = typed {
            let note = self
                .keep_unhandled(name, value)
                .unwrap_or("its data is kept in the stream state's unhandled events");
            return Err(stream_error(
                StreamErrorKind::UnknownEvent,
                format!("unknown event type `{name}` ({note})"),
            ));
        }
        self.events += 1;
        self.current_event = Some(typed.clone());
        handler.on_event(super::handler::EventView {
            name,
            data: &value,
            typed: &typed,
        });
        let after = match name {
            "thread.created" => None,
            "thread.run.step.created" => {
                self.step_created(value, handler)?;
                None
            }
            "thread.run.step.in_progress" => {
                let id = object_id(&value, "run step")?;
                self.current_step = self.step_ids.get(&id).copied();
                None
            }
            "thread.run.step.delta" => {
                self.step_delta(name, value, handler)?;
                None
            }
            "thread.run.step.completed"
            | "thread.run.step.failed"
            | "thread.run.step.cancelled"
            | "thread.run.step.expired" => {
                self.step_done(value, handler)?;
                None
            }
            "thread.message.created" => {
                let id = object_id(&value, "message")?;
                let pos = self.upsert_message(id, value);
                self.current_message = Some(pos);
                handler.on_message_created(View::new(&self.messages[pos]));
                None
            }
            "thread.message.in_progress" => {
                let id = object_id(&value, "message")?;
                if let Some(&pos) = self.message_ids.get(&id) {
                    self.current_message = Some(pos);
                }
                None
            }
            "thread.message.delta" => {
                self.message_delta(name, value, handler)?;
                None
            }
            "thread.message.completed" | "thread.message.incomplete" => {
                self.message_done(value, handler)?;
                None
            }
            n if n.starts_with("thread.run.") && !n.starts_with("thread.run.step.") => {
                self.run_event(value, handler)
            }
            // An event of the spec this state has no rule for (one a newer spec added): the
            // handler saw it (`on_event`, typed); the snapshots do not change.
            _ => None,
        };
        Ok((typed, after))
    }

    fn run_event<H: AssistantEventHandler + ?Sized>(
        &mut self,
        value: Value,
        handler: &mut H,
    ) -> Option<Error> {
        let status = value
            .get("status")
            .and_then(Value::as_str)
            .map(str::to_owned);
        self.run = Some(value);
        self.close_tool_call(handler);
        let status = status?;
        if FINAL_RUN_STATUSES.contains(&status.as_str()) {
            self.final_status = Some(status.clone());
        }
        (status == "failed").then(|| run_failed(self.run.as_ref().unwrap_or(&Value::Null)))
    }

    fn upsert_message(&mut self, id: String, value: Value) -> usize {
        match self.message_ids.get(&id) {
            Some(&pos) => {
                self.messages[pos] = value;
                pos
            }
            None => {
                self.messages.push(value);
                let pos = self.messages.len() - 1;
                self.message_ids.insert(id, pos);
                pos
            }
        }
    }

    fn upsert_step(&mut self, id: String, value: Value) -> usize {
        match self.step_ids.get(&id) {
            Some(&pos) => {
                self.steps[pos] = value;
                pos
            }
            None => {
                self.steps.push(value);
                let pos = self.steps.len() - 1;
                self.step_ids.insert(id, pos);
                pos
            }
        }
    }

    fn close_tool_call<H: AssistantEventHandler + ?Sized>(&mut self, handler: &mut H) {
        if let Some((pos, index)) = self.tool_call.take()
            && let Some(call) = self
                .steps
                .get(pos)
                .and_then(|s| entry_at(tool_calls(s), index))
        {
            handler.on_tool_call_done(View::new(call));
        }
    }

    fn step_created<H: AssistantEventHandler + ?Sized>(
        &mut self,
        value: Value,
        handler: &mut H,
    ) -> Result<(), Error> {
        let id = object_id(&value, "run step")?;
        let pos = self.upsert_step(id, value);
        self.current_step = Some(pos);
        handler.on_run_step_created(View::new(&self.steps[pos]));
        Ok(())
    }

    /// The error for a delta of `what` `id`, which the stream never created. The event is
    /// kept with the unhandled ones while there is room; otherwise the error says so.
    fn unknown_delta(&mut self, name: &str, value: Value, what: &str, id: &str) -> Error {
        let note = self
            .keep_unhandled(name, value)
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        stream_error(
            StreamErrorKind::UnknownObject,
            format!("a delta for {what} `{id}`, which the stream never created{note}"),
        )
    }

    fn step_delta<H: AssistantEventHandler + ?Sized>(
        &mut self,
        name: &str,
        value: Value,
        handler: &mut H,
    ) -> Result<(), Error> {
        let id = object_id(&value, "run step delta")?;
        let Some(&pos) = self.step_ids.get(&id) else {
            return Err(self.unknown_delta(name, value, "run step", &id));
        };
        self.current_step = Some(pos);
        let empty = Map::new();
        let delta = match value.get("delta") {
            Some(Value::Object(delta)) => delta,
            None | Some(Value::Null) => &empty,
            Some(_) => {
                return Err(stream_error(
                    StreamErrorKind::InvalidChunk,
                    format!("the `delta` of run step `{id}` is not an object"),
                ))
            }
        };
        if let Value::Object(step) = &mut self.steps[pos] {
            accumulate_delta(step, delta)
                .map_err(|e| accumulate_error(&format!("run step `{id}`"), e))?;
        }
        let details = delta.get("step_details");
        let is_tool_calls =
            details.and_then(|d| d.get("type")).and_then(Value::as_str) == Some("tool_calls");
        if let (true, Some(Value::Array(calls))) =
            (is_tool_calls, details.and_then(|d| d.get("tool_calls")))
        {
            for call_delta in calls {
                let Some(index) = index_of(call_delta) else {
                    continue;
                };
                if self.tool_call == Some((pos, index)) {
                    if let Some(call) = entry_at(tool_calls(&self.steps[pos]), index) {
                        handler.on_tool_call_delta(View::new(call_delta), View::new(call));
                    }
                } else {
                    self.close_tool_call(handler);
                    self.tool_call = Some((pos, index));
                    if let Some(call) = entry_at(tool_calls(&self.steps[pos]), index) {
                        handler.on_tool_call_created(View::new(call));
                    }
                }
            }
        }
        let delta_json = value.get("delta").unwrap_or(&Value::Null);
        handler.on_run_step_delta(View::new(delta_json), View::new(&self.steps[pos]));
        Ok(())
    }

    fn step_done<H: AssistantEventHandler + ?Sized>(
        &mut self,
        value: Value,
        handler: &mut H,
    ) -> Result<(), Error> {
        let id = object_id(&value, "run step")?;
        if let Some((tool_step, _)) = self.tool_call
            && self.step_ids.get(&id) == Some(&tool_step)
        {
            self.close_tool_call(handler);
        }
        // Unlike the reference, the snapshot becomes the final step (with its status,
        // usage and completion time).
        let pos = self.upsert_step(id, value);
        handler.on_run_step_done(View::new(&self.steps[pos]));
        self.current_step = None;
        Ok(())
    }

    fn message_delta<H: AssistantEventHandler + ?Sized>(
        &mut self,
        name: &str,
        value: Value,
        handler: &mut H,
    ) -> Result<(), Error> {
        let id = object_id(&value, "message delta")?;
        let Some(&pos) = self.message_ids.get(&id) else {
            return Err(self.unknown_delta(name, value, "message", &id));
        };
        self.current_message = Some(pos);
        let content_deltas = match value.get("delta").and_then(|d| d.get("content")) {
            None | Some(Value::Null) => &[][..],
            Some(Value::Array(list)) => list.as_slice(),
            Some(_) => {
                return Err(stream_error(
                    StreamErrorKind::InvalidChunk,
                    format!("the `delta.content` of message `{id}` is not a list"),
                ))
            }
        };
        // Merge every content fragment first (the reference does), noting new blocks.
        let mut created = Vec::new();
        {
            let Value::Object(message) = &mut self.messages[pos] else {
                return Ok(());
            };
            let content = message
                .entry("content")
                .or_insert_with(|| Value::Array(Vec::new()));
            if !content.is_array() {
                *content = Value::Array(Vec::new());
            }
            let Value::Array(blocks) = content else {
                return Ok(());
            };
            for (n, fragment) in content_deltas.iter().enumerate() {
                let Value::Object(fragment) = fragment else {
                    return Err(stream_error(
                        StreamErrorKind::InvalidChunk,
                        format!("message `{id}`: content fragment {n} is not an object"),
                    ));
                };
                let Some(index) = fragment.get("index").and_then(Value::as_u64) else {
                    return Err(stream_error(
                        StreamErrorKind::MissingIndex,
                        format!("message `{id}`: content fragment {n} has no integer `index`"),
                    ));
                };
                match blocks.iter_mut().find(|b| index_of(b) == Some(index)) {
                    Some(Value::Object(block)) => {
                        accumulate_delta(block, fragment).map_err(|e| {
                            accumulate_error(&format!("message `{id}` content {index}"), e)
                        })?
                    }
                    _ => {
                        blocks.push(Value::Object(fragment.clone()));
                        created.push(index);
                    }
                }
            }
        }
        let message = &self.messages[pos];
        let content = message.get("content");
        for index in created {
            if let Some(block) = entry_at(content, index)
                && block.get("type").and_then(Value::as_str) == Some("text")
                && let Some(text) = block.get("text")
            {
                handler.on_text_created(View::new(text));
            }
        }
        for fragment in content_deltas {
            let Some(index) = index_of(fragment) else {
                continue;
            };
            let block = entry_at(content, index);
            if fragment.get("type").and_then(Value::as_str) == Some("text")
                && let Some(text) = fragment.get("text").filter(|t| !t.is_null())
            {
                if let Some(value) = text.get("value").and_then(Value::as_str) {
                    self.text_deltas.push(value.to_owned());
                }
                if let Some(snapshot) = block.and_then(|b| b.get("text")) {
                    handler.on_text_delta(View::new(text), View::new(snapshot));
                }
            }
            if self.content != Some((pos, index)) {
                if let Some((open_pos, open_index)) = self.content
                    && let Some(open) = self
                        .messages
                        .get(open_pos)
                        .and_then(|m| entry_at(m.get("content"), open_index))
                {
                    content_done(open, handler);
                }
                self.content = Some((pos, index));
            }
        }
        let delta = value.get("delta").unwrap_or(&Value::Null);
        handler.on_message_delta(View::new(delta), View::new(&self.messages[pos]));
        Ok(())
    }

    fn message_done<H: AssistantEventHandler + ?Sized>(
        &mut self,
        value: Value,
        handler: &mut H,
    ) -> Result<(), Error> {
        let id = object_id(&value, "message")?;
        let pos = self.upsert_message(id, value);
        self.current_message = Some(pos);
        if let Some((open_pos, index)) = self.content.take() {
            if open_pos == pos {
                if let Some(block) = entry_at(self.messages[pos].get("content"), index) {
                    content_done(block, handler);
                }
            } else {
                self.content = Some((open_pos, index));
            }
        }
        handler.on_message_done(View::new(&self.messages[pos]));
        Ok(())
    }

    /// Checks the stream's end: an error when no final run status
    /// (`requires_action`, `completed`, `incomplete`, `failed`, `cancelled`, `expired`)
    /// was seen, i.e. the stream ended early.
    pub fn check_end(&self) -> Result<(), Error> {
        if self.final_status.is_some() {
            return Ok(());
        }
        let last = self
            .run
            .as_ref()
            .and_then(|r| r.get("status"))
            .and_then(Value::as_str)
            .map(|s| format!(" (the last run status was `{s}`)"))
            .unwrap_or_else(|| " (no run event at all)".into());
        Err(stream_error(
            StreamErrorKind::Unfinished,
            format!("the stream ended before the run reached a final status{last}"),
        ))
    }

    /// The number of events handled.
    pub fn events_handled(&self) -> u64 {
        self.events
    }

    /// The last event handled.
    pub fn current_event(&self) -> Option<&types::AssistantStreamEvent> {
        self.current_event.as_ref()
    }

    /// The run as of the last `thread.run.*` event, as JSON.
    pub fn run_json(&self) -> Option<&Value> {
        self.run.as_ref()
    }

    /// The run as of the last `thread.run.*` event.
    pub fn current_run(&self) -> Option<View<'_, types::RunObject>> {
        self.run.as_ref().map(View::new)
    }

    /// The final run status seen (`completed`, `requires_action`, ...), if any.
    pub fn final_status(&self) -> Option<&str> {
        self.final_status.as_deref()
    }

    /// The message being streamed (the last one created, streamed or completed), as
    /// accumulated.
    pub fn current_message_snapshot(&self) -> Option<View<'_, types::MessageObject>> {
        self.current_message
            .and_then(|p| self.messages.get(p))
            .map(View::new)
    }

    /// The run step in progress, as accumulated.
    pub fn current_run_step_snapshot(&self) -> Option<View<'_, types::RunStepObject>> {
        self.current_step
            .and_then(|p| self.steps.get(p))
            .map(View::new)
    }

    /// Every message of the stream in creation order, as accumulated (a completed
    /// message is its `thread.message.completed` data), as JSON.
    pub fn messages_json(&self) -> &[Value] {
        &self.messages
    }

    /// Every run step in creation order (a finished step is its `completed`/`failed`/...
    /// data), as JSON.
    pub fn run_steps_json(&self) -> &[Value] {
        &self.steps
    }

    /// The text fragments of the last event (empty unless it was a message delta).
    pub fn last_text_deltas(&self) -> &[String] {
        &self.text_deltas
    }

    /// Events that could not be used, with their names and data: unknown event types,
    /// deltas for objects never created. At most the first
    /// [`DEFAULT_MAX_UNHANDLED_EVENTS`] (256) are kept (see
    /// [`set_max_unhandled_events`](Self::set_max_unhandled_events)); the others are
    /// counted by [`unhandled_events_dropped`](Self::unhandled_events_dropped). Each one was
    /// also reported as an error when it arrived.
    pub fn unhandled_events(&self) -> &[(String, Value)] {
        &self.unhandled
    }

    /// How many unhandled events came after the state held its most
    /// ([`set_max_unhandled_events`](Self::set_max_unhandled_events)): counted, their data
    /// not kept, so a stream of unknown events cannot fill memory.
    ///
    /// ```
    /// use openai_sdk::assistants::{AssistantStreamState, NoHandler};
    ///
    /// let mut state = AssistantStreamState::new();
    /// state.set_max_unhandled_events(2);
    /// for i in 0..5 {
    ///     let data = format!(r#"{{"n": {i}}}"#);
    ///     assert!(state.handle_event("thread.future_event", &data, &mut NoHandler).is_err());
    /// }
    /// assert_eq!(state.unhandled_events().len(), 2);
    /// assert_eq!(state.unhandled_events()[1].1["n"], 1);
    /// assert_eq!(state.unhandled_events_dropped(), 3);
    /// ```
    pub fn unhandled_events_dropped(&self) -> u64 {
        self.unhandled_dropped
    }

    /// How many unhandled events the state keeps with their data (default
    /// [`DEFAULT_MAX_UNHANDLED_EVENTS`], 256; 0 keeps none and counts them all). Lowering
    /// it does not forget events already kept.
    pub fn set_max_unhandled_events(&mut self, max: usize) {
        self.max_unhandled = max;
    }

    /// Keeps an event that could not be used, or counts it past the limit; `Some` with
    /// what to say in the error when it was not kept.
    fn keep_unhandled(&mut self, name: &str, value: Value) -> Option<&'static str> {
        if self.unhandled.len() < self.max_unhandled {
            self.unhandled.push((name.to_owned(), value));
            None
        } else {
            self.unhandled_dropped += 1;
            Some("its data is not kept: the stream state keeps the first unhandled events only; it is counted in unhandled_events_dropped")
        }
    }

    /// The run as of the last run event; an error when there was none
    /// ([`StreamErrorKind::Unfinished`]).
    pub fn final_run(&self) -> Result<Run, Error> {
        match &self.run {
            Some(run) => Ok(Snapshot::new(run.clone())),
            None => Err(stream_error(
                StreamErrorKind::Unfinished,
                "No final run object found",
            )),
        }
    }

    /// Every message of the stream; an error when there is none.
    pub fn final_messages(&self) -> Result<Vec<Message>, Error> {
        if self.messages.is_empty() {
            return Err(stream_error(
                StreamErrorKind::Unfinished,
                "No messages found",
            ));
        }
        Ok(self.messages.iter().cloned().map(Snapshot::new).collect())
    }

    /// Every run step of the stream, finished steps with their final data; an error when
    /// there is none.
    pub fn final_run_steps(&self) -> Result<Vec<RunStep>, Error> {
        if self.steps.is_empty() {
            return Err(stream_error(
                StreamErrorKind::Unfinished,
                "No run steps found",
            ));
        }
        Ok(self.steps.iter().cloned().map(Snapshot::new).collect())
    }
}
