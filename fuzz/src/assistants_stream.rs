//! The Assistants run stream pipeline (`AssistantEventPipeline`: SSE bytes in, typed events
//! and handler callbacks out, no I/O) over arbitrary event sequences: `thread.run.*`,
//! `thread.run.step.*` (with tool-call deltas), `thread.message.*` (with content deltas),
//! `thread.created`, `error`, `done`, unknown event names, deltas for objects never
//! created, unknown fields and wrongly typed values; LF or CRLF; or arbitrary bytes.
//! - events, errors, every handler callback (with its arguments), and the state after the
//!   stream (run, messages, run steps, unhandled events, end check, final run / messages /
//!   steps) are the same whether the body arrives whole or split anywhere;
//! - the state reads back after any error;
//! - the transport-free `AssistantStreamState`, fed the same events (name and data)
//!   directly, gives the pipeline's events and callbacks up to the first error, and goes
//!   on after every error without panicking;
//! - nothing panics.

use arbitrary::{Result, Unstructured};
use openai_sdk::assistants::{
    AssistantEventHandler, EventView, ImageFileView, MessageDeltaView, MessageView,
    RunStepDeltaView, RunStepView, TextDeltaView, TextView, ToolCallDeltaView, ToolCallView,
};
use openai_sdk::assistants::{AssistantEventPipeline, AssistantStreamState};
use openai_sdk::types::AssistantStreamEvent;
use openai_sdk::Error;
use serde_json::{json, Map, Value};

use crate::{gen, split, sse_body};

/// Fields of Assistants objects, so that generated keys hit what the state reads.
const KNOWN_KEYS: &[&str] = &[
    "id",
    "status",
    "delta",
    "content",
    "step_details",
    "tool_calls",
    "last_error",
    "required_action",
    "object",
    "error",
];
const TEXT: &[&str] = &["Hi", "", "{\"", "a\": 1}", " ", "\u{e9}", "\n", "null"];
const MESSAGES: &[&str] = &["msg_1", "msg_2"];
const STEPS: &[&str] = &["step_1", "step_2"];
const RUN_STATUSES: &[&str] = &[
    "queued",
    "in_progress",
    "requires_action",
    "cancelling",
    "cancelled",
    "failed",
    "completed",
    "incomplete",
    "expired",
    "weird",
];
const NAMES: &[&str] = &[
    "thread.created",
    "thread.run.created",
    "thread.run.queued",
    "thread.run.in_progress",
    "thread.run.requires_action",
    "thread.run.completed",
    "thread.run.incomplete",
    "thread.run.failed",
    "thread.run.cancelling",
    "thread.run.cancelled",
    "thread.run.expired",
    "thread.run.step.created",
    "thread.run.step.in_progress",
    "thread.run.step.delta",
    "thread.run.step.completed",
    "thread.run.step.failed",
    "thread.run.step.cancelled",
    "thread.run.step.expired",
    "thread.message.created",
    "thread.message.in_progress",
    "thread.message.delta",
    "thread.message.completed",
    "thread.message.incomplete",
    "error",
    "done",
    "thread.run.future",
    "message",
];

/// A handler that writes down every callback with its arguments.
#[derive(Default)]
struct Recorder(Vec<String>);

impl Recorder {
    fn log(&mut self, what: &str, args: &[&Value]) {
        let args: Vec<String> = args.iter().map(|v| v.to_string()).collect();
        self.0.push(format!("{what}({})", args.join(", ")));
    }
}

impl AssistantEventHandler for Recorder {
    fn on_event(&mut self, event: EventView<'_>) {
        let _ = event.typed();
        self.log("event", &[&event.to_json()]);
    }
    fn on_end(&mut self) {
        self.log("end", &[]);
    }
    fn on_exception(&mut self, error: &Error) {
        self.log("exception", &[&Value::String(error.to_string())]);
    }
    fn on_timeout(&mut self) {
        self.log("timeout", &[]);
    }
    fn on_run_step_created(&mut self, run_step: RunStepView<'_>) {
        let _ = run_step.to_typed();
        self.log("run_step_created", &[&run_step]);
    }
    fn on_run_step_delta(&mut self, delta: RunStepDeltaView<'_>, snapshot: RunStepView<'_>) {
        self.log("run_step_delta", &[&delta, &snapshot]);
    }
    fn on_run_step_done(&mut self, run_step: RunStepView<'_>) {
        self.log("run_step_done", &[&run_step]);
    }
    fn on_tool_call_created(&mut self, tool_call: ToolCallView<'_>) {
        let _ = tool_call.to_typed();
        self.log("tool_call_created", &[&tool_call]);
    }
    fn on_tool_call_delta(&mut self, delta: ToolCallDeltaView<'_>, snapshot: ToolCallView<'_>) {
        self.log("tool_call_delta", &[&delta, &snapshot]);
    }
    fn on_tool_call_done(&mut self, tool_call: ToolCallView<'_>) {
        self.log("tool_call_done", &[&tool_call]);
    }
    fn on_message_created(&mut self, message: MessageView<'_>) {
        let _ = message.to_typed();
        self.log("message_created", &[&message]);
    }
    fn on_message_delta(&mut self, delta: MessageDeltaView<'_>, snapshot: MessageView<'_>) {
        let _ = delta.to_typed();
        self.log("message_delta", &[&delta, &snapshot]);
    }
    fn on_message_done(&mut self, message: MessageView<'_>) {
        self.log("message_done", &[&message]);
    }
    fn on_text_created(&mut self, text: TextView<'_>) {
        self.log("text_created", &[&text]);
    }
    fn on_text_delta(&mut self, delta: TextDeltaView<'_>, snapshot: TextView<'_>) {
        self.log("text_delta", &[&delta, &snapshot]);
    }
    fn on_text_done(&mut self, text: TextView<'_>) {
        let _ = text.to_typed();
        self.log("text_done", &[&text]);
    }
    fn on_image_file_done(&mut self, image_file: ImageFileView<'_>) {
        self.log("image_file_done", &[&image_file]);
    }
}

pub fn check(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(flags) = u.arbitrary::<u8>() else {
        return;
    };
    if flags & 0x80 != 0 {
        // Arbitrary bytes as the body.
        if let Some((body, cuts)) = split::raw_body(u) {
            run_split(&body, &cuts);
        }
        return;
    }
    let Ok(events) = event_sequence(&mut u) else {
        return;
    };
    let frames: Vec<(Option<&str>, &str)> = events
        .iter()
        .map(|(name, data)| (Some(name.as_str()), data.as_str()))
        .collect();
    let mut body = sse_body::render(&frames, flags & 0x40 != 0, flags & 0x10 != 0);
    if flags & 0x08 != 0 && split::truncate_somewhere(&mut u, &mut body).is_none() {
        // The connection drops somewhere; the input ran out choosing where.
        return;
    }
    let cuts = split::cut_points(&mut u, body.len());
    let (transcript, callbacks) = run_split(&body, &cuts);

    // The state alone, on the events' names and data.
    let mut state = AssistantStreamState::new();
    let mut recorder = Recorder::default();
    let mut agree = true;
    for (n, (name, data)) in events.iter().enumerate() {
        if name == "error" || name == "done" {
            // Handled by the SSE layer before the state.
            agree = false;
            continue;
        }
        let before = recorder.0.len();
        match state.handle_event(name, data, &mut recorder) {
            Ok((event, after)) => {
                let json = serde_json::to_value(&event).unwrap_or(Value::Null);
                if agree {
                    match transcript.get(n) {
                        Some(Ok(from_pipeline)) => {
                            assert_eq!(
                                &json, from_pipeline,
                                "event {n}: the state alone and the pipeline disagree"
                            );
                            // The callbacks of this event, in the pipeline's log.
                            assert!(
                                callbacks.get(before..recorder.0.len())
                                    == Some(&recorder.0[before..]),
                                "event {n}: the callbacks differ:\nalone: {:?}\npipeline: {:?}",
                                &recorder.0[before..],
                                callbacks.get(before..)
                            );
                        }
                        _ => agree = false,
                    }
                }
                if let Some(e) = after {
                    let _ = e.to_string();
                    agree = false;
                }
            }
            Err(e) => {
                let _ = e.to_string();
                agree = false;
            }
        }
        let _ = state.last_text_deltas();
    }
    read_state(&state);
}

crate::impl_pipeline!([H: AssistantEventHandler] AssistantEventPipeline<H> => AssistantStreamEvent);

type Transcript = Vec<std::result::Result<Value, String>>;

fn run_split(body: &[u8], cuts: &[usize]) -> (Transcript, Vec<String>) {
    let mut whole = None;
    split::assert_split_invariant(body, cuts, |pieces| {
        let mut pipeline = AssistantEventPipeline::with_handler(Recorder::default());
        let transcript = split::transcript(&mut pipeline, pieces, |pipeline, item| {
            let entry = match item {
                Ok(event) => Ok(serde_json::to_value(&event).unwrap_or(Value::Null)),
                Err(e) => Err(e.to_string()),
            };
            let _ = pipeline.state().last_text_deltas();
            entry
        });
        let state = read_state(pipeline.state());
        let callbacks = pipeline.into_handler().0;
        let out = (transcript, callbacks, state);
        if whole.is_none() {
            whole = Some((out.0.clone(), out.1.clone()));
        }
        out
    });
    whole.expect("ran whole")
}

/// Reads everything the state offers; returns it for comparison.
fn read_state(state: &AssistantStreamState) -> Vec<String> {
    let _ = state.current_run().map(|r| r.to_typed());
    let _ = state.current_message_snapshot().map(|m| m.to_typed());
    let _ = state.current_run_step_snapshot().map(|s| s.to_typed());
    let outcome = |r: std::result::Result<String, Error>| match r {
        Ok(s) => s,
        Err(e) => format!("error: {e}"),
    };
    vec![
        format!("events handled: {}", state.events_handled()),
        format!("current event: {:?}", state.current_event()),
        format!("run: {:?}", state.run_json()),
        format!("final status: {:?}", state.final_status()),
        format!("messages: {:?}", state.messages_json()),
        format!("steps: {:?}", state.run_steps_json()),
        format!("current message: {:?}", state.current_message_snapshot()),
        format!("current step: {:?}", state.current_run_step_snapshot()),
        format!("unhandled: {:?}", state.unhandled_events()),
        format!("end: {:?}", state.check_end().map_err(|e| e.to_string())),
        outcome(state.final_run().map(|r| {
            let _ = r.to_typed();
            format!("{r:?}")
        })),
        outcome(state.final_messages().map(|m| format!("{m:?}"))),
        outcome(state.final_run_steps().map(|s| format!("{s:?}"))),
    ]
}

fn event_sequence(u: &mut Unstructured<'_>) -> Result<Vec<(String, String)>> {
    let count = u.int_in_range(0..=16u8)?;
    let mut events = Vec::new();
    if u.ratio(7u8, 8)? {
        let run = run(u, "queued")?;
        events.push(("thread.run.created".to_owned(), run.to_string()));
    }
    for _ in 0..count {
        events.push(event(u)?);
    }
    Ok(events)
}

fn event(u: &mut Unstructured<'_>) -> Result<(String, String)> {
    let name = *u.choose(NAMES)?;
    let mut data = match name {
        "thread.created" => {
            json!({"id": "thread_1", "object": "thread", "created_at": 1, "metadata": {}})
        }
        "error" => {
            let data = if u.ratio(1u8, 4)? {
                gen::string(u)?
            } else {
                json!({"error": {"message": "The server had an error", "type": "server_error"}})
                    .to_string()
            };
            return Ok((name.to_owned(), data));
        }
        "done" => return Ok((name.to_owned(), "[DONE]".to_owned())),
        "thread.run.step.delta" => step_delta(u)?,
        "thread.message.delta" => message_delta(u)?,
        _ if name.starts_with("thread.run.step.") => {
            let status = name.rsplit('.').next().unwrap_or("in_progress");
            step(u, status)?
        }
        _ if name.starts_with("thread.message.") => {
            let status = name.rsplit('.').next().unwrap_or("in_progress");
            message(u, status)?
        }
        _ if name.starts_with("thread.run.") => {
            let status = if u.ratio(1u8, 4)? {
                *u.choose(RUN_STATUSES)?
            } else {
                match name.rsplit('.').next().unwrap_or("") {
                    "created" => "queued",
                    s => s,
                }
            };
            run(u, status)?
        }
        _ => Value::Object(gen::object(u, 1)?),
    };
    if let Value::Object(map) = &mut data {
        if u.ratio(1u8, 10)? {
            map.insert(gen::key_among(u, KNOWN_KEYS)?, gen::value(u, 2)?);
        }
        if u.ratio(1u8, 40)? {
            map.remove("id");
        }
    }
    let text = if u.ratio(1u8, 60)? {
        // Data that is not an object.
        gen::value(u, 1)?.to_string()
    } else {
        data.to_string()
    };
    Ok((name.to_owned(), text))
}

fn index(u: &mut Unstructured<'_>) -> Result<Value> {
    Ok(match u.int_in_range(0..=19u8)? {
        0 => json!(-1),
        1 => json!("0"),
        2 => json!(u.arbitrary::<u64>()?),
        3 => Value::Null,
        _ => json!(u.int_in_range(0..=2u8)?),
    })
}

fn text(u: &mut Unstructured<'_>) -> Result<Value> {
    Ok(if u.ratio(1u8, 20)? {
        gen::value(u, 1)?
    } else {
        json!(*u.choose(TEXT)?)
    })
}

fn run(u: &mut Unstructured<'_>, status: &str) -> Result<Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!("run_1"));
    m.insert("object".into(), json!("thread.run"));
    m.insert("created_at".into(), json!(1));
    m.insert("thread_id".into(), json!("thread_1"));
    m.insert("assistant_id".into(), json!("asst_1"));
    m.insert("status".into(), json!(status));
    m.insert("instructions".into(), Value::Null);
    if status == "failed" && u.ratio(3u8, 4)? {
        m.insert(
            "last_error".into(),
            json!({"code": "server_error", "message": "boom"}),
        );
    }
    if status == "requires_action" {
        m.insert(
            "required_action".into(),
            json!({"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}}),
        );
    }
    Ok(Value::Object(m))
}

fn message(u: &mut Unstructured<'_>, status: &str) -> Result<Value> {
    let content = if u.ratio(1u8, 2)? {
        json!([])
    } else {
        json!([{"type": "text", "text": {"value": *u.choose(TEXT)?, "annotations": []}}])
    };
    Ok(json!({
        "id": *u.choose(MESSAGES)?, "object": "thread.message", "created_at": 1,
        "thread_id": "thread_1", "run_id": "run_1", "role": "assistant",
        "status": status, "content": content,
    }))
}

fn message_delta(u: &mut Unstructured<'_>) -> Result<Value> {
    let mut content = Vec::new();
    for _ in 0..u.int_in_range(0..=2u8)? {
        let mut fragment = Map::new();
        if !u.ratio(1u8, 20)? {
            fragment.insert("index".into(), index(u)?);
        }
        match u.int_in_range(0..=5u8)? {
            0..=3 => {
                fragment.insert("type".into(), json!("text"));
                let mut t = Map::new();
                if u.ratio(7u8, 8)? {
                    t.insert("value".into(), text(u)?);
                }
                if u.ratio(1u8, 6)? {
                    t.insert(
                        "annotations".into(),
                        json!([{"index": 0, "type": "file_citation", "text": "x", "start_index": 0, "end_index": 1}]),
                    );
                }
                fragment.insert("text".into(), Value::Object(t));
            }
            4 => {
                fragment.insert("type".into(), json!("image_file"));
                fragment.insert("image_file".into(), json!({"file_id": "file_1"}));
            }
            _ => {
                fragment.extend(gen::object(u, 1)?);
            }
        }
        content.push(Value::Object(fragment));
    }
    let content = if u.ratio(1u8, 30)? {
        gen::value(u, 1)?
    } else {
        Value::Array(content)
    };
    Ok(
        json!({"id": *u.choose(MESSAGES)?, "object": "thread.message.delta", "delta": {"content": content}}),
    )
}

fn step(u: &mut Unstructured<'_>, status: &str) -> Result<Value> {
    let details = if u.ratio(1u8, 2)? {
        json!({"type": "tool_calls", "tool_calls": []})
    } else {
        json!({"type": "message_creation", "message_creation": {"message_id": "msg_1"}})
    };
    Ok(json!({
        "id": *u.choose(STEPS)?, "object": "thread.run.step", "created_at": 1,
        "run_id": "run_1", "assistant_id": "asst_1", "thread_id": "thread_1",
        "type": details["type"], "status": status, "step_details": details,
    }))
}

fn step_delta(u: &mut Unstructured<'_>) -> Result<Value> {
    let mut calls = Vec::new();
    for _ in 0..u.int_in_range(0..=2u8)? {
        let mut call = Map::new();
        if !u.ratio(1u8, 20)? {
            call.insert("index".into(), index(u)?);
        }
        if u.ratio(1u8, 2)? {
            call.insert("id".into(), json!("call_1"));
        }
        match u.int_in_range(0..=3u8)? {
            0 | 1 => {
                call.insert("type".into(), json!("function"));
                let mut f = Map::new();
                if u.ratio(1u8, 2)? {
                    f.insert("name".into(), json!("f"));
                }
                f.insert("arguments".into(), text(u)?);
                call.insert("function".into(), Value::Object(f));
            }
            2 => {
                call.insert("type".into(), json!("code_interpreter"));
                call.insert(
                    "code_interpreter".into(),
                    json!({"input": text(u)?, "outputs": []}),
                );
            }
            _ => call.extend(gen::object(u, 1)?),
        }
        calls.push(Value::Object(call));
    }
    let details = if u.ratio(1u8, 8)? {
        json!({"type": "message_creation", "message_creation": {"message_id": "msg_1"}})
    } else {
        json!({"type": "tool_calls", "tool_calls": calls})
    };
    let delta = if u.ratio(1u8, 30)? {
        gen::value(u, 1)?
    } else {
        json!({"step_details": details})
    };
    Ok(json!({"id": *u.choose(STEPS)?, "object": "thread.run.step.delta", "delta": delta}))
}
