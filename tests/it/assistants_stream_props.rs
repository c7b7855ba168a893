//! Properties of the Assistants run stream pipeline:
//! - a recorded stream delivered in random pieces gives the same events, callbacks and
//!   final state as the whole body at once;
//! - arbitrary sequences of event names and JSON data (well-formed, mangled, out of order)
//!   never panic: every item is an event or a typed error.

use openai_sdk::assistants::{
    AssistantEventHandler, AssistantEventPipeline, EventView, TextDeltaView, TextView,
};
use openai_sdk::Error;
use proptest::prelude::*;
use serde_json::{json, Value};

#[derive(Default)]
struct Count {
    events: usize,
    text: String,
    errors: usize,
}

impl AssistantEventHandler for Count {
    fn on_event(&mut self, _event: EventView<'_>) {
        self.events += 1;
    }
    fn on_text_delta(&mut self, delta: TextDeltaView<'_>, _snapshot: TextView<'_>) {
        self.text.push_str(delta["value"].as_str().unwrap_or(""));
    }
    fn on_exception(&mut self, _error: &Error) {
        self.errors += 1;
    }
}

fn recorded() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/assistants/dotnet_assistants_StreamingRunWorks_e2.sse"
    );
    std::fs::read(path).unwrap()
}

fn replay(pieces: &[&[u8]]) -> (Vec<String>, AssistantEventPipeline<Count>) {
    let mut pipeline = AssistantEventPipeline::with_handler(Count::default());
    let mut items = Vec::new();
    for piece in pieces {
        pipeline.push(piece);
        while let Some(item) = pipeline.next_event() {
            items.push(match item {
                Ok(_) => "ok".to_owned(),
                Err(e) => e.reference_class().to_owned(),
            });
        }
    }
    pipeline.end_of_input();
    while let Some(item) = pipeline.next_event() {
        items.push(match item {
            Ok(_) => "ok".to_owned(),
            Err(e) => e.reference_class().to_owned(),
        });
    }
    (items, pipeline)
}

const NAMES: [&str; 12] = [
    "thread.run.created",
    "thread.run.completed",
    "thread.run.failed",
    "thread.run.step.created",
    "thread.run.step.delta",
    "thread.run.step.completed",
    "thread.message.created",
    "thread.message.delta",
    "thread.message.completed",
    "thread.created",
    "error",
    "thread.unknown",
];

fn data() -> impl Strategy<Value = String> {
    let id = prop_oneof![Just("a"), Just("b")];
    let index = prop_oneof![
        Just(json!(0)),
        Just(json!(1)),
        Just(json!("x")),
        Just(Value::Null)
    ];
    let kind = prop_oneof![
        Just("text"),
        Just("image_file"),
        Just("tool_calls"),
        Just("function")
    ];
    (id, index, kind, any::<u8>()).prop_map(|(id, index, kind, pick)| {
        let v = match pick % 8 {
            0 => json!({"id": id, "status": "in_progress", "content": []}),
            1 => json!({"id": id, "delta": {"content": [{"index": index, "type": kind, "text": {"value": "hi"}}]}}),
            2 => json!({"id": id, "delta": {"step_details": {"type": kind, "tool_calls": [{"index": index, "type": "function", "function": {"arguments": "{"}}]}}}),
            3 => json!({"id": id, "status": "completed", "content": [{"type": kind}]}),
            4 => json!({"id": id, "delta": {"content": "nope", "step_details": 3}}),
            5 => json!([1, 2]),
            6 => json!({"id": 5, "status": null}),
            _ => json!({"id": id, "status": "failed", "last_error": {"code": "x", "message": "y"}, "step_details": {"type": "tool_calls", "tool_calls": [{"index": 0}]}}),
        };
        if pick > 250 { "{not json".to_owned() } else { v.to_string() }
    })
}

proptest! {
    #[test]
    fn pieces_do_not_change_the_result(cuts in proptest::collection::vec(0usize..100_000, 0..40)) {
        let body = recorded();
        let (whole_items, whole) = replay(&[&body]);
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (body.len() + 1)).collect();
        points.extend([0, body.len()]);
        points.sort_unstable();
        points.dedup();
        let pieces: Vec<&[u8]> = points.windows(2).map(|w| &body[w[0]..w[1]]).collect();
        let (items, pipeline) = replay(&pieces);
        prop_assert_eq!(items, whole_items);
        prop_assert_eq!(&pipeline.handler().text, &whole.handler().text);
        prop_assert_eq!(pipeline.handler().events, whole.handler().events);
        prop_assert_eq!(pipeline.state().messages_json(), whole.state().messages_json());
        prop_assert_eq!(pipeline.state().run_steps_json(), whole.state().run_steps_json());
        prop_assert_eq!(pipeline.handler().errors, 0);
    }

    #[test]
    fn arbitrary_events_never_panic(events in proptest::collection::vec((0usize..NAMES.len(), data()), 0..30)) {
        let mut body = String::new();
        for (name, data) in &events {
            body.push_str(&format!("event: {}\ndata: {}\n\n", NAMES[*name], data));
        }
        let (items, pipeline) = replay(&[body.as_bytes()]);
        let errors = items.iter().filter(|i| *i != "ok").count();
        // Every error was given to on_exception, and the state stays readable.
        prop_assert_eq!(errors, pipeline.handler().errors);
        let _ = pipeline.state().final_run();
        let _ = pipeline.state().final_messages();
        let _ = pipeline.state().current_message_snapshot();
    }
}
