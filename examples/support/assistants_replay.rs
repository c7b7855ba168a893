//! The `assistants` kind of the replay example: an Assistants run stream through
//! `AssistantEventPipeline`, one line per handler callback, then the final run, messages
//! and run steps.

use std::io::Write;

use openai_sdk::assistants::{
    AssistantEventHandler, AssistantEventPipeline, EventView, ImageFileView, MessageDeltaView,
    MessageView, RunStepDeltaView, RunStepView, TextDeltaView, TextView, ToolCallDeltaView,
    ToolCallView,
};
use openai_sdk::Error;
use serde_json::{json, Value};

/// Records every callback as a reference-shaped line.
#[derive(Default)]
struct Recorder {
    lines: Vec<Value>,
}

impl Recorder {
    fn push(&mut self, name: &str, args: Value) {
        self.lines
            .push(json!({"type": "callback", "name": name, "args": args}));
    }
}

impl AssistantEventHandler for Recorder {
    fn on_event(&mut self, event: EventView<'_>) {
        self.push("on_event", json!({ "event": event.to_json() }));
    }
    fn on_end(&mut self) {
        self.push("on_end", json!({}));
    }
    fn on_exception(&mut self, error: &Error) {
        self.push(
            "on_exception",
            json!({"exception": error.to_string(), "error_class": error.reference_class()}),
        );
    }
    fn on_timeout(&mut self) {
        self.push("on_timeout", json!({}));
    }
    fn on_run_step_created(&mut self, run_step: RunStepView<'_>) {
        self.push("on_run_step_created", json!({"run_step": run_step.json()}));
    }
    fn on_run_step_delta(&mut self, delta: RunStepDeltaView<'_>, snapshot: RunStepView<'_>) {
        self.push(
            "on_run_step_delta",
            json!({"delta": delta.json(), "snapshot": snapshot.json()}),
        );
    }
    fn on_run_step_done(&mut self, run_step: RunStepView<'_>) {
        self.push("on_run_step_done", json!({"run_step": run_step.json()}));
    }
    fn on_tool_call_created(&mut self, tool_call: ToolCallView<'_>) {
        self.push(
            "on_tool_call_created",
            json!({"tool_call": tool_call.json()}),
        );
    }
    fn on_tool_call_delta(&mut self, delta: ToolCallDeltaView<'_>, snapshot: ToolCallView<'_>) {
        self.push(
            "on_tool_call_delta",
            json!({"delta": delta.json(), "snapshot": snapshot.json()}),
        );
    }
    fn on_tool_call_done(&mut self, tool_call: ToolCallView<'_>) {
        self.push("on_tool_call_done", json!({"tool_call": tool_call.json()}));
    }
    fn on_message_created(&mut self, message: MessageView<'_>) {
        self.push("on_message_created", json!({"message": message.json()}));
    }
    fn on_message_delta(&mut self, delta: MessageDeltaView<'_>, snapshot: MessageView<'_>) {
        self.push(
            "on_message_delta",
            json!({"delta": delta.json(), "snapshot": snapshot.json()}),
        );
    }
    fn on_message_done(&mut self, message: MessageView<'_>) {
        self.push("on_message_done", json!({"message": message.json()}));
    }
    fn on_text_created(&mut self, text: TextView<'_>) {
        self.push("on_text_created", json!({"text": text.json()}));
    }
    fn on_text_delta(&mut self, delta: TextDeltaView<'_>, snapshot: TextView<'_>) {
        self.push(
            "on_text_delta",
            json!({"delta": delta.json(), "snapshot": snapshot.json()}),
        );
    }
    fn on_text_done(&mut self, text: TextView<'_>) {
        self.push("on_text_done", json!({"text": text.json()}));
    }
    fn on_image_file_done(&mut self, image_file: ImageFileView<'_>) {
        self.push(
            "on_image_file_done",
            json!({"image_file": image_file.json()}),
        );
    }
}

fn error_line(stage: &str, e: &Error) -> Value {
    let class = e.reference_class();
    json!({"type": "error", "stage": stage, "error_class": class, "error": format!("{class}: {e}")})
}

/// Replays `body` (an SSE body of a run stream) and writes the lines.
pub fn replay(body: &[u8], out: &mut impl Write) -> std::io::Result<()> {
    let mut pipeline = AssistantEventPipeline::with_handler(Recorder::default());
    pipeline.push(body);
    pipeline.end_of_input();
    let mut stream_error = None;
    while let Some(event) = pipeline.next_event() {
        for line in pipeline.handler_mut().lines.drain(..) {
            crate::emit(out, &line)?;
        }
        if let Err(e) = event {
            stream_error.get_or_insert(e);
        }
    }
    for line in pipeline.handler_mut().lines.drain(..) {
        crate::emit(out, &line)?;
    }
    if let Some(e) = &stream_error {
        crate::emit(out, &error_line("stream", e))?;
    }
    let state = pipeline.state();
    let run = match state.final_run() {
        Ok(run) => json!({"type": "final_run", "run": run.json()}),
        Err(e) => error_line("final_run", &e),
    };
    crate::emit(out, &run)?;
    let messages = match state.final_messages() {
        Ok(messages) => {
            json!({"type": "final_messages", "messages": messages.iter().map(|m| m.json()).collect::<Vec<_>>()})
        }
        Err(e) => error_line("final_messages", &e),
    };
    crate::emit(out, &messages)?;
    let steps = match state.final_run_steps() {
        Ok(steps) => {
            json!({"type": "final_run_steps", "run_steps": steps.iter().map(|s| s.json()).collect::<Vec<_>>()})
        }
        Err(e) => error_line("final_run_steps", &e),
    };
    crate::emit(out, &steps)
}
