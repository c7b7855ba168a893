//! The transport-free state machine of a response stream.

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::Value;

use super::events::ResponseStreamEvent;
use super::snapshot::{
    parse_response, ParsedResponse, ResponseParseOptions, ResponseSnapshot, TextSnapshot,
};
use crate::error::{snippet, ApiError, StreamErrorKind};
use crate::types;
use crate::Error;

mod scan;

/// How the stream ended, once it has.
#[derive(Debug, Clone)]
enum Terminal {
    Completed,
    Failed(Value),
    Incomplete(Value),
    Error,
}

/// Builds the response snapshot from raw stream events, with no transport: for users who
/// read the events themselves (from their own transport, a queue, a recording), and the
/// engine of [`ResponseStream`](super::ResponseStream) and the blocking stream.
///
/// Each event is checked (`sequence_number` must grow; a delta must follow the item and
/// content part it belongs to) and folded into the snapshot in time proportional to the
/// event, never to the snapshot: the snapshot is shared by [`Arc`] with the events and
/// mutated in place ([`Arc::make_mut`]) when nobody else holds it.
///
/// ```
/// use openai_sdk::responses::{ResponseStreamEvent, ResponseStreamState};
///
/// let mut state = ResponseStreamState::new();
/// for data in [
///     r#"{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","object":"response","status":"in_progress","output":[]}}"#,
///     r#"{"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"id":"msg_1","type":"message","role":"assistant","status":"in_progress","content":[]}}"#,
///     r#"{"type":"response.content_part.added","sequence_number":2,"item_id":"msg_1","output_index":0,"content_index":0,"part":{"type":"output_text","text":"","annotations":[]}}"#,
///     r#"{"type":"response.output_text.delta","sequence_number":3,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hel"}"#,
///     r#"{"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"lo"}"#,
/// ] {
///     let event = state.handle_json(data.to_owned())?;
///     if let ResponseStreamEvent::OutputTextDelta { snapshot, .. } = &event {
///         println!("so far: {snapshot}");
///     }
/// }
/// assert_eq!(state.snapshot().unwrap().output_text(), "Hello");
/// assert!(state.final_response().is_err()); // no `response.completed` yet
/// # Ok::<(), openai_sdk::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct ResponseStreamState {
    options: ResponseParseOptions,
    snapshot: Option<Arc<ResponseSnapshot>>,
    completed: Option<Arc<ParsedResponse>>,
    last_sequence: Option<i64>,
    terminal: Option<Terminal>,
    events: u64,
}

/// An index of the event as `usize`.
fn index(i: i64, what: &str) -> Result<usize, String> {
    usize::try_from(i).map_err(|_| format!("{what} {i} is negative"))
}

/// The member `key` of `map`. The objects of a snapshot have a handful of members: below
/// [`SMALL`] a scan of the keys costs less than hashing the key.
fn member_mut<'a>(map: &'a mut serde_json::Map<String, Value>, key: &str) -> Option<&'a mut Value> {
    const SMALL: usize = 12;
    if map.len() <= SMALL {
        map.iter_mut().find_map(|(k, v)| (k == key).then_some(v))
    } else {
        map.get_mut(key)
    }
}

/// Appends `delta` to the string `key` of the object `target` (created if absent).
fn append(target: &mut Value, key: &str, delta: &str) -> Result<(), String> {
    let Value::Object(map) = target else {
        return Err("the target is not an object".into());
    };
    match member_mut(map, key) {
        Some(Value::String(s)) => s.push_str(delta),
        None | Some(Value::Null) => {
            map.insert(key.to_owned(), Value::String(delta.to_owned()));
        }
        Some(_) => return Err(format!("its `{key}` is not a string")),
    }
    Ok(())
}

/// Sets the field `key` of the object `target`.
fn set(target: &mut Value, key: &str, value: Value) -> Result<(), String> {
    match target {
        Value::Object(map) => {
            map.insert(key.to_owned(), value);
            Ok(())
        }
        _ => Err("the target is not an object".into()),
    }
}

/// The `n`th entry of the list `key` of `item`.
fn entry<'a>(
    item: &'a mut Value,
    key: &str,
    n: usize,
    what: &str,
) -> Result<&'a mut Value, String> {
    let list = match item {
        Value::Object(map) => member_mut(map, key).and_then(Value::as_array_mut),
        _ => None,
    };
    match list {
        Some(list) if n < list.len() => Ok(&mut list[n]),
        list => {
            let len = list.map_or(0, |l| l.len());
            Err(format!(
                "{what} {n} was not added before (the item has {len})"
            ))
        }
    }
}

/// Adds `value` as the `n`th entry of the list `key` of `item`: `n` must be the next one.
fn add_entry(
    item: &mut Value,
    key: &str,
    n: usize,
    value: Value,
    what: &str,
) -> Result<(), String> {
    let Value::Object(map) = item else {
        return Err("the item is not an object".into());
    };
    let list = map
        .entry(key.to_owned())
        .or_insert_with(|| Value::Array(Vec::new()));
    if list.is_null() {
        *list = Value::Array(Vec::new());
    }
    let Value::Array(list) = list else {
        return Err(format!("the item's `{key}` is not a list"));
    };
    if n == list.len() {
        list.push(value);
        Ok(())
    } else if n < list.len() {
        list[n] = value;
        Ok(())
    } else {
        Err(format!("{what} {n} added when the item has {}", list.len()))
    }
}

/// The output item `i` of the snapshot, for mutation.
fn item_at(snapshot: &mut Arc<ResponseSnapshot>, i: usize) -> Result<&mut Value, String> {
    let s = Arc::make_mut(snapshot);
    let len = s.output.len();
    s.output
        .get_mut(i)
        .ok_or_else(|| format!("output item {i} was not added before (the response has {len})"))
}

/// Takes a field of the event's JSON text (the text-only path of [`Event`]).
fn raw_field(raw: &str, key: &str) -> Result<Value, String> {
    let mut value: Value = serde_json::from_str(raw).map_err(|e| e.to_string())?;
    value
        .as_object_mut()
        .and_then(|m| m.remove(key))
        .ok_or_else(|| format!("the event has no `{key}`"))
}

impl ResponseStreamState {
    /// A state that parses nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// A state that parses what `options` asks for.
    pub fn with_options(options: ResponseParseOptions) -> Self {
        ResponseStreamState {
            options,
            ..Self::default()
        }
    }

    /// The snapshot so far (`None` before `response.created`). Readable after an error.
    pub fn snapshot(&self) -> Option<Arc<ResponseSnapshot>> {
        self.snapshot.clone()
    }

    /// The `sequence_number` of the last event handled.
    pub fn last_sequence_number(&self) -> Option<i64> {
        self.last_sequence
    }

    /// The number of events handled (rejected ones included).
    pub fn events_handled(&self) -> u64 {
        self.events
    }

    /// Whether a final event (`response.completed`, `response.failed`,
    /// `response.incomplete` or `error`) was handled.
    pub fn is_finished(&self) -> bool {
        self.terminal.is_some()
    }

    /// The parse options.
    pub fn options(&self) -> &ResponseParseOptions {
        &self.options
    }

    /// The final response, parsed from `response.completed` (not from the snapshot, as
    /// the reference). Without it: the response's failure for `response.failed` /
    /// `response.incomplete` (see [`terminal_error`](Self::terminal_error)), else
    /// [`Error::Stream`] of kind [`StreamErrorKind::NoFinalEvent`].
    pub fn final_response(&self) -> Result<ParsedResponse, Error> {
        if let Some(done) = &self.completed {
            return Ok(ParsedResponse::clone(done));
        }
        if let Some(e) = self.terminal_error() {
            return Err(e);
        }
        Err(Error::Stream {
            kind: StreamErrorKind::NoFinalEvent,
            event: None,
            offset: None,
            message: match &self.terminal {
                Some(Terminal::Error) => {
                    "the stream failed with an `error` event before `response.completed`".into()
                }
                _ => format!(
                    "the stream ended after {} events without `response.completed`",
                    self.events
                ),
            },
        })
    }

    /// [`final_response`](Self::final_response), taking the state: the response parsed
    /// from `response.completed` is moved out instead of copied, unless the caller still
    /// holds that event ([`ResponseStreamEvent::Completed`] shares it; then a copy).
    ///
    /// ```
    /// use openai_sdk::responses::ResponseStreamState;
    /// use serde_json::json;
    ///
    /// let mut state = ResponseStreamState::new();
    /// let response = json!({"id": "resp_1", "object": "response", "created_at": 0,
    ///     "status": "completed", "model": "m", "output": []});
    /// state.handle_json(json!({"type": "response.created", "sequence_number": 0,
    ///     "response": {"id": "resp_1", "object": "response", "created_at": 0,
    ///     "status": "in_progress", "model": "m", "output": []}}).to_string())?;
    /// state.handle_json(json!({"type": "response.completed", "sequence_number": 1,
    ///     "response": response}).to_string())?;
    /// let done = state.into_final_response()?;
    /// assert_eq!(done.id(), Some("resp_1"));
    /// # Ok::<(), openai_sdk::Error>(())
    /// ```
    pub fn into_final_response(mut self) -> Result<ParsedResponse, Error> {
        match self.completed.take() {
            Some(done) => Ok(Arc::try_unwrap(done).unwrap_or_else(|d| ParsedResponse::clone(&d))),
            None => self.final_response(),
        }
    }

    /// The error a `response.failed` or `response.incomplete` event stands for:
    /// [`Error::Api`] (with the response's `error`, the whole response in `body`) for a
    /// failed response; [`Error::LengthFinishReason`] or
    /// [`Error::ContentFilterFinishReason`] for an incomplete one, by its
    /// `incomplete_details.reason` (any other reason: [`Error::Stream`] of kind
    /// [`StreamErrorKind::ResponseIncomplete`]).
    pub fn terminal_error(&self) -> Option<Error> {
        match self.terminal.as_ref()? {
            Terminal::Failed(response) => {
                let error = response.get("error");
                let text = |k: &str| {
                    error
                        .and_then(|e| e.get(k))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                };
                let id = response
                    .get("id")
                    .and_then(Value::as_str)
                    .map(|id| format!(" {id}"))
                    .unwrap_or_default();
                Some(Error::Api(Box::new(ApiError {
                    status: None,
                    r#type: Some("response_failed".into()),
                    code: text("code"),
                    param: None,
                    message: format!(
                        "response{id} failed: {}",
                        text("message").unwrap_or_else(|| "(no error message)".into())
                    ),
                    request_id: None,
                    body: Some(response.clone()),
                })))
            }
            Terminal::Incomplete(response) => {
                let reason = response
                    .get("incomplete_details")
                    .and_then(|d| d.get("reason"))
                    .and_then(Value::as_str);
                Some(match reason {
                    Some("max_output_tokens") => Error::LengthFinishReason {
                        completion: Box::new(response.clone()),
                    },
                    Some("content_filter") => Error::ContentFilterFinishReason {
                        completion: Box::new(response.clone()),
                    },
                    other => Error::Stream {
                        kind: StreamErrorKind::ResponseIncomplete,
                        event: None,
                        offset: None,
                        message: format!(
                            "the response{} is incomplete (incomplete_details.reason {})",
                            response
                                .get("id")
                                .and_then(Value::as_str)
                                .map(|id| format!(" {id}"))
                                .unwrap_or_default(),
                            other.map_or("none".to_owned(), |r| format!("\"{r}\""))
                        ),
                    },
                })
            }
            Terminal::Completed | Terminal::Error => None,
        }
    }

    /// Handles one event given as its JSON text (the `data` of the SSE event). Returns
    /// the event with the reference additions, or a typed error saying what is wrong
    /// with it; the state is unchanged by a rejected event.
    pub fn handle_json(&mut self, data: String) -> Result<ResponseStreamEvent, Error> {
        let number = self.events;
        self.events += 1;
        let mut event = Event::decode(data).map_err(|(e, data)| Error::Decode {
            what: format!("response stream event #{number}"),
            path: ".".into(),
            message: e.to_string(),
            snippet: snippet(data.as_bytes()),
        })?;
        self.apply(&mut event, number)
    }

    /// Handles one already decoded event (its JSON is rebuilt from it, so fields the
    /// generated type does not have are not seen; prefer
    /// [`handle_json`](Self::handle_json)).
    pub fn handle_event(
        &mut self,
        event: types::ResponseStreamEvent,
    ) -> Result<ResponseStreamEvent, Error> {
        let data =
            serde_json::to_string(&event).map_err(|e| Error::InvalidRequest(e.to_string()))?;
        self.handle_json(data)
    }

    fn apply(&mut self, event: &mut Event, number: u64) -> Result<ResponseStreamEvent, Error> {
        let kind = event.w.kind.clone();
        let fail = |bad: Bad| Error::Stream {
            kind: bad.kind,
            event: Some(number),
            offset: None,
            message: format!("`{kind}`: {}", bad.message),
        };
        let seq = event.w.sequence_number;
        if let (Some(s), Some(last)) = (seq, self.last_sequence)
            && s <= last
        {
            return Err(fail(Bad::from(format!(
                "sequence_number {s} is not after the previous event's {last}"
            ))));
        }
        if kind == "error" {
            self.terminal = Some(Terminal::Error);
            self.last_sequence = seq.or(self.last_sequence);
            return Err(error_event(event.take_json()));
        }
        let starts = matches!(
            &*kind,
            "response.created" | "response.queued" | "response.in_progress"
        );
        if self.snapshot.is_none() && !starts {
            return Err(fail(Bad::from(
                "it came before `response.created`".to_owned(),
            )));
        }
        let out = self.fold(event).map_err(fail)?;
        self.last_sequence = seq.or(self.last_sequence);
        out.map_err(|e| match e {
            Error::Stream {
                kind,
                event: None,
                offset,
                message,
            } => Error::Stream {
                kind,
                event: Some(number),
                offset,
                message,
            },
            other => other,
        })
    }

    /// Folds the event into the snapshot, by kind. The outer error is a problem with the
    /// event (the state is unchanged), the inner result the event or a parse error.
    fn fold(&mut self, e: &mut Event) -> Folded {
        let snapshot = self.snapshot.get_or_insert_with(Default::default);
        match &*e.w.kind {
            "response.created" | "response.queued" | "response.in_progress" => {
                fold_start(snapshot, e)
            }
            "response.output_item.added" | "response.output_item.done" => fold_item(snapshot, e),
            "response.content_part.added" | "response.content_part.done" => {
                fold_part(snapshot, e, CONTENT)
            }
            "response.output_text.delta" => fold_text_delta(snapshot, e),
            "response.output_text.done" => fold_text_done(snapshot, &self.options, e),
            "response.function_call_arguments.delta" => fold_arguments_delta(snapshot, e),
            "response.refusal.delta"
            | "response.refusal.done"
            | "response.reasoning_text.delta"
            | "response.reasoning_text.done" => fold_part_text(snapshot, e),
            "response.reasoning_summary_part.added" | "response.reasoning_summary_part.done" => {
                fold_part(snapshot, e, SUMMARY)
            }
            "response.reasoning_summary_text.delta" | "response.reasoning_summary_text.done" => {
                fold_summary_text(snapshot, e)
            }
            "response.output_text.annotation.added" => fold_annotation(snapshot, e),
            "response.function_call_arguments.done"
            | "response.custom_tool_call_input.delta"
            | "response.custom_tool_call_input.done"
            | "response.mcp_call_arguments.delta"
            | "response.mcp_call_arguments.done"
            | "response.code_interpreter_call_code.delta"
            | "response.code_interpreter_call_code.done" => fold_item_text(snapshot, e),
            "response.completed" => {
                let (result, completed) = fold_completed(snapshot, &self.options, e)?;
                self.terminal = Some(Terminal::Completed);
                if completed.is_some() {
                    self.completed = completed;
                }
                Ok(result)
            }
            "response.failed" | "response.incomplete" => {
                let (result, terminal) = fold_end(snapshot, e)?;
                self.terminal = Some(terminal);
                Ok(result)
            }
            _ => Ok(e.other()),
        }
    }
}

/// The event of an `error` event: [`Error::Api`] with its `code`, `param` and `message`.
fn error_event(body: Option<Value>) -> Error {
    let text = |k: &str| {
        body.as_ref()
            .and_then(|b| b.get(k))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    Error::Api(Box::new(ApiError {
        status: None,
        r#type: None,
        code: text("code"),
        param: text("param"),
        message: text("message").unwrap_or_else(|| "an `error` event with no message".into()),
        request_id: None,
        body,
    }))
}

/// What an event gives: the event, or a parse error.
type Outcome = Result<ResponseStreamEvent, Error>;

/// The outcome of folding one event; or a problem with the event (the state is
/// unchanged).
type Folded = Result<Outcome, Bad>;

/// `response.created` (the snapshot starts over), `response.queued` /
/// `response.in_progress` (its fields are updated, or it starts there).
fn fold_start(snapshot: &mut Arc<ResponseSnapshot>, e: &mut Event) -> Folded {
    let response = e.take("response")?;
    if e.w.kind == "response.created" {
        *snapshot = Arc::new(ResponseSnapshot::from_response(response));
    } else {
        let s = Arc::make_mut(snapshot);
        if s.response.is_empty() {
            s.replace(response);
        } else {
            s.update_fields(response);
        }
    }
    Ok(e.other())
}

/// `response.output_item.added` (the next item) and `.done` (the server's item).
fn fold_item(snapshot: &mut Arc<ResponseSnapshot>, e: &mut Event) -> Folded {
    let i = e.w.index(e.w.output_index, "output_index")?;
    let value = e.take("item")?;
    if e.w.kind.ends_with("added") {
        let s = Arc::make_mut(snapshot);
        if i != s.output.len() {
            return Err(Bad::from(format!(
                "item {i} added when the response has {} items",
                s.output.len()
            )));
        }
        s.output.push(value);
    } else {
        *item_at(snapshot, i)? = value;
    }
    Ok(e.other())
}

/// A list of parts in an output item: a message's `content`, a reasoning item's `summary`.
#[derive(Clone, Copy)]
struct Parts {
    /// The item's member that holds the list.
    key: &'static str,
    /// The event's index of the part, and its name.
    index: fn(&Wire) -> Option<i64>,
    index_name: &'static str,
    /// What a part is called in errors.
    what: &'static str,
}

const CONTENT: Parts = Parts {
    key: "content",
    index: |w| w.content_index,
    index_name: "content_index",
    what: "content part",
};

const SUMMARY: Parts = Parts {
    key: "summary",
    index: |w| w.summary_index,
    index_name: "summary_index",
    what: "summary part",
};

/// The item and part indexes of an event addressing `parts`.
fn part_indexes(w: &Wire, parts: Parts) -> Result<(usize, usize), Bad> {
    Ok((
        w.index(w.output_index, "output_index")?,
        w.index((parts.index)(w), parts.index_name)?,
    ))
}

/// Part `n` of item `i` of the snapshot, for mutation.
fn part_at(
    snapshot: &mut Arc<ResponseSnapshot>,
    i: usize,
    parts: Parts,
    n: usize,
) -> Result<&mut Value, String> {
    entry(item_at(snapshot, i)?, parts.key, n, parts.what)
}

/// `response.content_part.added` / `.done` and `response.reasoning_summary_part.added` /
/// `.done`: the part is the item's next one, or replaces it.
fn fold_part(snapshot: &mut Arc<ResponseSnapshot>, e: &mut Event, parts: Parts) -> Folded {
    let (i, n) = part_indexes(&e.w, parts)?;
    let part = e.take("part")?;
    if e.w.kind.ends_with("added") {
        add_entry(item_at(snapshot, i)?, parts.key, n, part, parts.what)?;
    } else {
        *part_at(snapshot, i, parts, n)? = part;
    }
    Ok(e.other())
}

/// `response.output_text.delta`: the text so far grows; the event carries a view of it.
fn fold_text_delta(snapshot: &mut Arc<ResponseSnapshot>, e: &mut Event) -> Folded {
    let w = &mut e.w;
    let (i, c) = part_indexes(w, CONTENT)?;
    let delta = w.text(w.delta.as_deref(), "delta")?;
    append(part_at(snapshot, i, CONTENT, c)?, "text", delta)?;
    Ok(Ok(ResponseStreamEvent::OutputTextDelta {
        delta: w.delta.take().unwrap_or_default(),
        item_id: w.item_id.take().unwrap_or_default(),
        output_index: i,
        content_index: c,
        sequence_number: w.sequence_number.unwrap_or(-1),
        snapshot: TextSnapshot {
            snapshot: Arc::clone(snapshot),
            output_index: i,
            content_index: Some(c),
        },
        raw: std::mem::take(&mut e.raw),
    }))
}

/// `response.output_text.done`: the whole text, parsed when the options say so.
fn fold_text_done(
    snapshot: &mut Arc<ResponseSnapshot>,
    options: &ResponseParseOptions,
    e: &mut Event,
) -> Folded {
    let w = &mut e.w;
    let (i, c) = part_indexes(w, CONTENT)?;
    let text = w.text(w.text.as_deref(), "text")?;
    set(
        part_at(snapshot, i, CONTENT, c)?,
        "text",
        Value::String(text.to_owned()),
    )?;
    let parsed = options.parse_text(text, || format!("the output text of item {i}, part {c}"));
    Ok(parsed.map(|parsed| ResponseStreamEvent::OutputTextDone {
        text: w.text.take().unwrap_or_default(),
        item_id: w.item_id.take().unwrap_or_default(),
        output_index: i,
        content_index: c,
        sequence_number: w.sequence_number.unwrap_or(-1),
        parsed,
        raw: std::mem::take(&mut e.raw),
    }))
}

/// `response.function_call_arguments.delta`: the arguments so far grow; the event carries
/// a view of them.
fn fold_arguments_delta(snapshot: &mut Arc<ResponseSnapshot>, e: &mut Event) -> Folded {
    let w = &mut e.w;
    let i = w.index(w.output_index, "output_index")?;
    let delta = w.text(w.delta.as_deref(), "delta")?;
    append(item_at(snapshot, i)?, "arguments", delta)?;
    Ok(Ok(ResponseStreamEvent::FunctionCallArgumentsDelta {
        delta: w.delta.take().unwrap_or_default(),
        item_id: w.item_id.take().unwrap_or_default(),
        output_index: i,
        sequence_number: w.sequence_number.unwrap_or(-1),
        snapshot: TextSnapshot {
            snapshot: Arc::clone(snapshot),
            output_index: i,
            content_index: None,
        },
        raw: std::mem::take(&mut e.raw),
    }))
}

/// Text in a content part: refusals, reasoning text (`.delta` appends, `.done` sets).
fn fold_part_text(snapshot: &mut Arc<ResponseSnapshot>, e: &mut Event) -> Folded {
    let w = &e.w;
    let (i, c) = part_indexes(w, CONTENT)?;
    let key = if w.kind.starts_with("response.refusal") {
        "refusal"
    } else {
        "text"
    };
    let part = part_at(snapshot, i, CONTENT, c)?;
    if w.kind.ends_with("delta") {
        append(part, key, w.text(w.delta.as_deref(), "delta")?)?;
    } else {
        let done = if key == "refusal" {
            w.refusal.as_deref()
        } else {
            w.text.as_deref()
        };
        set(part, key, Value::String(w.text(done, key)?.to_owned()))?;
    }
    Ok(e.other())
}

/// `response.reasoning_summary_text.delta` / `.done`.
fn fold_summary_text(snapshot: &mut Arc<ResponseSnapshot>, e: &mut Event) -> Folded {
    let w = &e.w;
    let (i, n) = part_indexes(w, SUMMARY)?;
    let part = part_at(snapshot, i, SUMMARY, n)?;
    if w.kind.ends_with("delta") {
        append(part, "text", w.text(w.delta.as_deref(), "delta")?)?;
    } else {
        set(
            part,
            "text",
            Value::String(w.text(w.text.as_deref(), "text")?.to_owned()),
        )?;
    }
    Ok(e.other())
}

/// `response.output_text.annotation.added`.
fn fold_annotation(snapshot: &mut Arc<ResponseSnapshot>, e: &mut Event) -> Folded {
    let (i, c) = part_indexes(&e.w, CONTENT)?;
    let a = e.w.index(e.w.annotation_index, "annotation_index")?;
    let annotation = e.take("annotation")?;
    let part = part_at(snapshot, i, CONTENT, c)?;
    add_entry(part, "annotations", a, annotation, "annotation")?;
    Ok(e.other())
}

/// Text of an item: function-call arguments (done), custom tool input, MCP arguments,
/// code-interpreter code (`.delta` appends, `.done` sets).
fn fold_item_text(snapshot: &mut Arc<ResponseSnapshot>, e: &mut Event) -> Folded {
    let w = &e.w;
    let i = w.index(w.output_index, "output_index")?;
    let (key, done) = if w.kind.contains("custom_tool") {
        ("input", w.input.as_deref())
    } else if w.kind.contains("code_interpreter") {
        ("code", w.code.as_deref())
    } else {
        ("arguments", w.arguments.as_deref())
    };
    let item = item_at(snapshot, i)?;
    if w.kind.ends_with("delta") {
        append(item, key, w.text(w.delta.as_deref(), "delta")?)?;
    } else {
        set(item, key, Value::String(w.text(done, key)?.to_owned()))?;
    }
    Ok(e.other())
}

/// `response.completed`: the server's response replaces the snapshot and is parsed; with
/// the parsed response when it parses.
fn fold_completed(
    snapshot: &mut Arc<ResponseSnapshot>,
    options: &ResponseParseOptions,
    e: &mut Event,
) -> Result<(Outcome, Option<Arc<ParsedResponse>>), Bad> {
    let response = e.take("response")?;
    Arc::make_mut(snapshot).replace(response.clone());
    Ok(match parse_response(response, options) {
        Ok(parsed) => {
            let parsed = Arc::new(parsed);
            let event = ResponseStreamEvent::Completed {
                sequence_number: e.w.sequence_number.unwrap_or(-1),
                response: Arc::clone(&parsed),
                raw: std::mem::take(&mut e.raw),
            };
            (Ok(event), Some(parsed))
        }
        Err(err) => (Err(err), None),
    })
}

/// `response.failed` / `response.incomplete`: the server's response replaces the snapshot;
/// with how the stream ended.
fn fold_end(
    snapshot: &mut Arc<ResponseSnapshot>,
    e: &mut Event,
) -> Result<(Outcome, Terminal), Bad> {
    let response = e.take("response")?;
    Arc::make_mut(snapshot).replace(response.clone());
    let terminal = if e.w.kind == "response.failed" {
        Terminal::Failed(response)
    } else {
        Terminal::Incomplete(response)
    };
    Ok((e.other(), terminal))
}

/// The events rebuilt from [`Wire`] alone (no generated typed event, no JSON object
/// taken): the hot deltas and the text's end.
const REBUILT: [&str; 3] = [
    "response.output_text.delta",
    "response.function_call_arguments.delta",
    "response.output_text.done",
];

/// Whether `kind` is [`REBUILT`].
fn rebuilt(kind: &str) -> bool {
    rebuilt_kind(kind).is_some()
}

/// `kind` as the [`REBUILT`] kind it is.
fn rebuilt_kind(kind: &str) -> Option<&'static str> {
    REBUILT.into_iter().find(|k| *k == kind)
}

/// The `type` of an event whose first key it is (OpenAI sends it first), read without
/// parsing; `None` otherwise (the event is then parsed whole).
fn leading_kind(data: &str) -> Option<&str> {
    // The API's own form, `{"type":"`, read as bytes; the general peek below only when
    // the event is written otherwise (spaces, ...). Both give the same answer.
    if let Some(rest) = data.as_bytes().strip_prefix(b"{\"type\":\"") {
        let end = memchr::memchr2(b'"', b'\\', rest)?;
        // `{"type":"` is ASCII, so `9 + end` is on a character boundary.
        return (rest[end] == b'"').then(|| &data[9..9 + end]);
    }
    leading_kind_spaced(data)
}

/// [`leading_kind`] for any JSON spacing before the kind.
fn leading_kind_spaced(data: &str) -> Option<&str> {
    let mut rest = data;
    for token in ["{", "\"type\"", ":", "\""] {
        rest = rest
            .trim_start_matches([' ', '\t', '\n', '\r'])
            .strip_prefix(token)?;
    }
    let end = rest.find(['"', '\\'])?;
    (rest.as_bytes()[end] == b'"').then(|| &rest[..end])
}

/// One event, decoded once.
///
/// The hot events ([`rebuilt`]) are read only as far as [`Wire`] needs, borrowing their
/// strings. Every other event is parsed once into a [`Value`]: the generated typed event
/// (`Other`) is decoded from that value, and the objects the snapshot keeps (`response`,
/// `item`, `part`, `annotation`) are moved out of it. An event whose JSON does not parse as
/// a value but does as a [`Wire`] (a number beyond `f64` in a field the state skips) keeps
/// the text-only path: its objects and typed event are read from the text, as they were
/// before the value path existed.
struct Event {
    w: Wire,
    /// The event's JSON text, kept in the event.
    raw: String,
    /// The event as JSON (`None` on the text-only path).
    json: Option<Value>,
    /// The generated typed event, decoded from `json` before objects are taken out of it
    /// (`None` for the rebuilt events and `response.completed` and `error`).
    typed: Option<Box<types::ResponseStreamEvent>>,
}

impl Event {
    /// Decodes `data`; on error, [`Wire`]'s error (as before the value path) and the text.
    fn decode(data: String) -> Result<Self, (serde_json::Error, String)> {
        use serde::Deserialize;
        let hot = leading_kind(&data).and_then(rebuilt_kind);
        if hot.is_none()
            && let Ok(json) = serde_json::from_str::<Value>(&data)
            && let Ok(w) = Wire::deserialize(&json)
        {
            let typed = match &*w.kind {
                "response.completed" | "error" => None,
                k if rebuilt(k) => None,
                _ => Some(Box::new(typed_event(&json))),
            };
            return Ok(Event {
                w,
                raw: data,
                json: Some(json),
                typed,
            });
        }
        // The hot events are flat: read directly when they plainly are, by serde otherwise.
        let wire = match hot.and_then(|kind| scan::wire(&data, Some(kind))) {
            Some(w) => {
                // Debug builds (the tests, fuzz runs with `-a`) check the scan against
                // serde on every event it reads, up to 64 KiB (the tests' multi-megabyte
                // texts would spend seconds on the second read).
                #[cfg(debug_assertions)]
                if data.len() <= 1 << 16 {
                    assert_eq!(
                        serde_json::from_str::<Wire>(&data).ok().as_ref(),
                        Some(&w),
                        "the direct scan and serde read {data:?} differently"
                    );
                }
                Ok(w)
            }
            None => serde_json::from_str::<Wire>(&data),
        };
        match wire {
            Ok(w) => Ok(Event {
                w,
                raw: data,
                json: None,
                typed: None,
            }),
            Err(e) => Err((e, data)),
        }
    }

    /// Takes the object `key` of the event (for the snapshot).
    fn take(&mut self, key: &str) -> Result<Value, Bad> {
        match &mut self.json {
            Some(json) => json
                .as_object_mut()
                .and_then(|m| m.remove(key))
                .ok_or_else(|| format!("the event has no `{key}`")),
            None => raw_field(&self.raw, key),
        }
        .map_err(Bad::from)
    }

    /// The event as the generated typed event ([`ResponseStreamEvent::Other`]).
    fn other(&mut self) -> Result<ResponseStreamEvent, Error> {
        let event = match self.typed.take() {
            Some(event) => event,
            None => Box::new(
                match serde_json::from_str::<types::ResponseStreamEvent>(&self.raw) {
                    Ok(event) => event,
                    Err(e) => {
                        tracing::debug!(error = %e, "a response stream event does not fit its generated type; kept as JSON");
                        types::ResponseStreamEvent::Unknown(
                            serde_json::from_str(&self.raw).unwrap_or(Value::Null),
                        )
                    }
                },
            ),
        };
        Ok(ResponseStreamEvent::Other {
            event,
            raw: std::mem::take(&mut self.raw),
        })
    }

    /// The event as JSON (`None` if its text is not a JSON value).
    fn take_json(&mut self) -> Option<Value> {
        match self.json.take() {
            Some(json) => Some(json),
            None => serde_json::from_str(&self.raw).ok(),
        }
    }
}

/// The generated typed event of a whole event (its JSON kept as
/// [`Unknown`](types::ResponseStreamEvent::Unknown) when it does not fit).
fn typed_event(json: &Value) -> types::ResponseStreamEvent {
    use serde::Deserialize;
    match types::ResponseStreamEvent::deserialize(json) {
        Ok(event) => event,
        Err(e) => {
            tracing::debug!(error = %e, "a response stream event does not fit its generated type; kept as JSON");
            types::ResponseStreamEvent::Unknown(json.clone())
        }
    }
}

/// A problem with an event: its kind and what it is.
struct Bad {
    kind: StreamErrorKind,
    message: String,
}

impl From<String> for Bad {
    fn from(message: String) -> Self {
        Bad {
            kind: StreamErrorKind::OutOfOrder,
            message,
        }
    }
}

/// The fields of an event the state reads, from one pass over its JSON text (the big
/// objects, `response`, `item`, `part`, `logprobs`, are skipped). Its strings are its own
/// (serde gives an `Option<Cow<str>>` owned anyway), and a known `type` is not copied.
#[derive(serde::Deserialize)]
#[cfg_attr(debug_assertions, derive(Debug, PartialEq))]
struct Wire {
    #[serde(rename = "type", deserialize_with = "known_kind")]
    kind: Cow<'static, str>,
    #[serde(default)]
    sequence_number: Option<i64>,
    #[serde(default)]
    output_index: Option<i64>,
    #[serde(default)]
    content_index: Option<i64>,
    #[serde(default)]
    summary_index: Option<i64>,
    #[serde(default)]
    annotation_index: Option<i64>,
    #[serde(default)]
    item_id: Option<String>,
    #[serde(default)]
    delta: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
    #[serde(default)]
    input: Option<String>,
    #[serde(default, deserialize_with = "string_or_other")]
    code: Option<String>,
}

/// The event's `type`, [`intern`]ed.
fn known_kind<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Cow<'static, str>, D::Error> {
    struct Kind;
    impl serde::de::Visitor<'_> for Kind {
        type Value = Cow<'static, str>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: serde::de::Error>(self, kind: &str) -> Result<Self::Value, E> {
            Ok(intern(kind))
        }
    }
    d.deserialize_str(Kind)
}

/// `code` is a string in code-interpreter events and may be anything in others.
fn string_or_other<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    use serde::Deserialize;
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        _ => None,
    })
}

/// The event kinds [`ResponseStreamState::fold`] reads (and `error`), hot ones first: the
/// kind of such an event is a `&'static str`, not a copy of its text.
const KINDS: [&str; 30] = [
    "response.output_text.delta",
    "response.function_call_arguments.delta",
    "response.output_text.done",
    "response.created",
    "response.queued",
    "response.in_progress",
    "response.output_item.added",
    "response.output_item.done",
    "response.content_part.added",
    "response.content_part.done",
    "response.refusal.delta",
    "response.refusal.done",
    "response.reasoning_text.delta",
    "response.reasoning_text.done",
    "response.reasoning_summary_part.added",
    "response.reasoning_summary_part.done",
    "response.reasoning_summary_text.delta",
    "response.reasoning_summary_text.done",
    "response.output_text.annotation.added",
    "response.function_call_arguments.done",
    "response.custom_tool_call_input.delta",
    "response.custom_tool_call_input.done",
    "response.mcp_call_arguments.delta",
    "response.mcp_call_arguments.done",
    "response.code_interpreter_call_code.delta",
    "response.code_interpreter_call_code.done",
    "response.completed",
    "response.failed",
    "response.incomplete",
    "error",
];

/// `kind` as a `&'static str` when it is one of [`KINDS`], else its own copy.
fn intern(kind: &str) -> Cow<'static, str> {
    match KINDS.iter().find(|k| **k == kind) {
        Some(k) => Cow::Borrowed(k),
        None => Cow::Owned(kind.to_owned()),
    }
}

impl Wire {
    fn index(&self, i: Option<i64>, what: &str) -> Result<usize, Bad> {
        let Some(i) = i else {
            return Err(Bad {
                kind: StreamErrorKind::InvalidChunk,
                message: format!("it has no integer `{what}`"),
            });
        };
        index(i, what).map_err(|message| Bad {
            kind: StreamErrorKind::InvalidChunk,
            message,
        })
    }

    fn text<'s>(&self, s: Option<&'s str>, what: &str) -> Result<&'s str, Bad> {
        s.ok_or_else(|| Bad {
            kind: StreamErrorKind::InvalidChunk,
            message: format!("it has no string `{what}`"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREATED: &str = r#"{"type":"response.created","sequence_number":0,"response":{"id":"r","object":"response","status":"in_progress","output":[]}}"#;

    #[test]
    fn the_leading_type_is_read_without_parsing_and_only_when_it_is_first() {
        assert_eq!(
            leading_kind(r#" { "type" : "response.output_text.delta","delta":"x"}"#),
            Some("response.output_text.delta")
        );
        assert_eq!(leading_kind(r#"{"delta":"x","type":"a"}"#), None);
        assert_eq!(leading_kind(r#"{"type":"a\"b"}"#), None);
        assert_eq!(leading_kind(r#"{"type":1}"#), None);
        assert_eq!(leading_kind(""), None);
        // The byte fast path (no spaces) answers as the general peek does.
        for data in [
            r#"{"type":"response.output_text.delta","delta":"x"}"#,
            r#"{"type":"a\"b"}"#,
            r#"{"type":"a\\","x":1}"#,
            r#"{"type":"unterminated"#,
            r#"{"type":"""#,
            r#"{"type":"é…","x":"\""}"#,
            r#"{"type":1}"#,
            r#"{"type":"#,
        ] {
            assert_eq!(leading_kind(data), leading_kind_spaced(data), "{data}");
        }
        assert_eq!(leading_kind(r#"{"type":"é…"}"#), Some("é…"));
    }

    /// A known kind is not copied; an unknown one is kept as it is.
    #[test]
    fn known_kinds_are_static_and_unknown_ones_kept() {
        assert!(matches!(
            intern(&String::from("response.output_text.delta")),
            Cow::Borrowed("response.output_text.delta")
        ));
        assert_eq!(intern("response.new_kind"), "response.new_kind");
        for kind in KINDS {
            assert_eq!(intern(kind), kind);
        }
    }

    /// An event parsed whole keeps its objects in the snapshot and its generated typed
    /// event; the same event with `type` last (parsed whole too) gives the same.
    #[test]
    fn a_structural_event_is_parsed_once_whatever_the_key_order() {
        let added = r#"{"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"id":"m","type":"message","role":"assistant","status":"in_progress","content":[],"x_unknown":[1,2]}}"#;
        let reordered = r#"{"sequence_number":1,"output_index":0,"item":{"id":"m","type":"message","role":"assistant","status":"in_progress","content":[],"x_unknown":[1,2]},"type":"response.output_item.added"}"#;
        let mut seen = Vec::new();
        for data in [added, reordered] {
            let mut state = ResponseStreamState::new();
            state.handle_json(CREATED.into()).unwrap();
            let out = state.handle_json(data.into()).unwrap();
            let ResponseStreamEvent::Other { event, raw } = out else {
                panic!("not kept whole: {out:?}");
            };
            assert_eq!(raw, data);
            assert!(matches!(
                *event,
                types::ResponseStreamEvent::OutputItemAddedEvent(_)
            ));
            let snapshot = state.snapshot().unwrap();
            assert_eq!(snapshot.output()[0]["x_unknown"], serde_json::json!([1, 2]));
            seen.push(snapshot.output().to_vec());
        }
        assert_eq!(seen[0], seen[1]);
    }

    /// A number beyond `f64` in a field the state skips: the event does not parse as a
    /// value, so it takes the text-only path, as before (kept, not an error).
    #[test]
    fn an_event_that_is_not_a_json_value_but_fits_the_wire_takes_the_text_path() {
        let mut state = ResponseStreamState::new();
        state.handle_json(CREATED.into()).unwrap();
        let huge = r#"{"type":"response.in_progress","sequence_number":1,"response":{"id":"r","status":"in_progress","output":[]},"x":1e999}"#;
        assert!(serde_json::from_str::<Value>(huge).is_err());
        let out = state.handle_json(huge.into());
        // `raw_field` cannot parse the text either: a typed error naming the event, the
        // state unchanged, as before.
        let err = out.unwrap_err();
        assert!(err.to_string().contains("response.in_progress"), "{err}");
        assert_eq!(state.last_sequence_number(), Some(0));
        let delta =
            r#"{"type":"response.output_text.annotation.added","sequence_number":1,"x":1e999}"#;
        let err = state.handle_json(delta.into()).unwrap_err();
        assert!(err.to_string().contains("output_index"), "{err}");
    }

    /// A Wire field of the wrong type is the decode error of the text parse, with its
    /// line and column, on both paths.
    #[test]
    fn a_wire_field_of_the_wrong_type_is_a_decode_error_with_its_position() {
        for data in [
            r#"{"type":"response.created","sequence_number":"0","response":{}}"#,
            r#"{"type":"response.output_text.delta","sequence_number":"0","delta":"x"}"#,
        ] {
            let err = ResponseStreamState::new()
                .handle_json(data.into())
                .unwrap_err();
            let Error::Decode { message, .. } = &err else {
                panic!("{err:?}");
            };
            assert!(message.contains("line 1 column"), "{message}");
        }
    }
}
