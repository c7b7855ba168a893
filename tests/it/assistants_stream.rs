//! Assistants run streams over real HTTP on loopback (the scripted server), the event
//! handler's callback sequences, and the state machine on bad input.
//!
//! The two recorded streams are the .NET SDK's `StreamingToolCall` test (a run that stops
//! at `requires_action`, then the stream of `submit_tool_outputs`), copied with the other
//! conformance inputs into `tests/fixtures/assistants/` (sources in its `README.md`).

use std::path::PathBuf;

use futures::StreamExt;
use openai_sdk::assistants::{
    AssistantEventHandler, AssistantEventPipeline, EventView, ImageFileView, MessageDeltaView,
    MessageView, RunStepDeltaView, RunStepView, TextDeltaView, TextView, ToolCallDeltaView,
    ToolCallView,
};
use openai_sdk::testing::{Chunking, Fault, Reply, ScriptedServer};
use openai_sdk::{types, Client, Error, StreamErrorKind};
use serde_json::{json, Value};

fn input(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/assistants")
        .join(name)
}

/// Records each callback as `name` plus a short summary of its arguments.
#[derive(Default)]
struct Log {
    lines: Vec<String>,
    errors: Vec<String>,
    /// How many times `on_end` fired.
    ends: usize,
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 80 {
        format!("{}…", &s[..80])
    } else {
        s
    }
}

impl AssistantEventHandler for Log {
    fn on_event(&mut self, event: EventView<'_>) {
        self.lines.push(format!("on_event {}", event.name()));
    }
    fn on_end(&mut self) {
        self.ends += 1;
        self.lines.push("on_end".into());
    }
    fn on_timeout(&mut self) {
        self.lines.push("on_timeout".into());
    }
    fn on_exception(&mut self, error: &Error) {
        self.errors.push(error.to_string());
        self.lines
            .push(format!("on_exception {}", error.reference_class()));
    }
    fn on_run_step_created(&mut self, run_step: RunStepView<'_>) {
        self.lines
            .push(format!("on_run_step_created {}", run_step["id"]));
    }
    fn on_run_step_delta(&mut self, _delta: RunStepDeltaView<'_>, snapshot: RunStepView<'_>) {
        self.lines
            .push(format!("on_run_step_delta {}", snapshot["id"]));
    }
    fn on_run_step_done(&mut self, run_step: RunStepView<'_>) {
        self.lines.push(format!(
            "on_run_step_done {} {}",
            run_step["id"], run_step["status"]
        ));
    }
    fn on_tool_call_created(&mut self, tool_call: ToolCallView<'_>) {
        self.lines
            .push(format!("on_tool_call_created {}", short(tool_call.json())));
    }
    fn on_tool_call_delta(&mut self, delta: ToolCallDeltaView<'_>, snapshot: ToolCallView<'_>) {
        self.lines.push(format!(
            "on_tool_call_delta {} -> {}",
            short(delta.json()),
            short(&snapshot["function"]["arguments"])
        ));
    }
    fn on_tool_call_done(&mut self, tool_call: ToolCallView<'_>) {
        self.lines
            .push(format!("on_tool_call_done {}", short(tool_call.json())));
    }
    fn on_message_created(&mut self, message: MessageView<'_>) {
        self.lines
            .push(format!("on_message_created {}", message["id"]));
    }
    fn on_message_delta(&mut self, _delta: MessageDeltaView<'_>, snapshot: MessageView<'_>) {
        self.lines
            .push(format!("on_message_delta {}", snapshot["id"]));
    }
    fn on_message_done(&mut self, message: MessageView<'_>) {
        self.lines.push(format!(
            "on_message_done {} {}",
            message["id"], message["status"]
        ));
    }
    fn on_text_created(&mut self, text: TextView<'_>) {
        self.lines
            .push(format!("on_text_created {}", text["value"]));
    }
    fn on_text_delta(&mut self, delta: TextDeltaView<'_>, snapshot: TextView<'_>) {
        self.lines.push(format!(
            "on_text_delta {} -> {}",
            delta["value"], snapshot["value"]
        ));
    }
    fn on_text_done(&mut self, text: TextView<'_>) {
        self.lines.push(format!("on_text_done {}", text["value"]));
    }
    fn on_image_file_done(&mut self, image_file: ImageFileView<'_>) {
        self.lines
            .push(format!("on_image_file_done {}", image_file["file_id"]));
    }
}

/// The last `n` callbacks.
fn tail(log: &Log, n: usize) -> Vec<&str> {
    let start = log.lines.len().saturating_sub(n);
    log.lines[start..].iter().map(String::as_str).collect()
}

fn run_request() -> types::CreateRunRequest {
    serde_json::from_value(json!({"assistant_id": "asst_BFMmpHsel3a7MuFuKKY9i5uG"})).unwrap()
}

#[tokio::test]
async fn requires_action_then_submit_tool_outputs_streams_to_completion() {
    let server = ScriptedServer::start().await;
    let thread = "thread_6oUGUBxLwhyApwhYBhWjHI5f";
    let run = "run_oyfV44CrJXYJkvb2qsd80LvJ";
    server.post(&format!("/v1/threads/{thread}/runs")).respond(
        Reply::sse_file(input("dotnet_assistants_StreamingToolCall_e1.sse")).chunking(
            Chunking::Random {
                seed: 7,
                min: 1,
                max: 97,
            },
        ),
    );
    server
        .post(&format!(
            "/v1/threads/{thread}/runs/{run}/submit_tool_outputs"
        ))
        .respond(
            Reply::sse_file(input("dotnet_assistants_StreamingToolCall_e2.sse")).chunking(
                Chunking::Random {
                    seed: 11,
                    min: 1,
                    max: 211,
                },
            ),
        );
    let client = server.client();

    // 1. The run stops at `requires_action` with one function call to answer.
    let mut stream = client
        .assistants()
        .create_run_stream(thread, &run_request())
        .await
        .unwrap()
        .with_handler(Log::default());
    let first = stream.final_run().await.unwrap();
    assert_eq!(first.status(), Some("requires_action"));
    let typed = first.to_typed();
    // Recorded runs carry `"instructions": null`, which the spec does not allow: the JSON
    // stays readable whatever the typed form says.
    assert!(typed.is_ok() || matches!(typed, Err(Error::Decode { .. })));
    let calls = &first["required_action"]["submit_tool_outputs"]["tool_calls"];
    assert_eq!(calls.as_array().unwrap().len(), 1);
    let call_id = calls[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(calls[0]["function"]["name"], "get_current_weather");
    let steps = stream.state().final_run_steps().unwrap();
    assert_eq!(
        steps[0]["step_details"]["tool_calls"][0]["function"]["arguments"],
        "{}"
    );
    assert!(
        stream.state().final_messages().is_err(),
        "no message in this stream"
    );
    let log = stream.into_handler();
    assert!(log.ends == 1 && log.errors.is_empty(), "{:?}", log.errors);
    insta::assert_snapshot!("requires_action", log.lines.join("\n"));

    // 2. Submitting the output streams the rest of the run, to completion.
    let request: types::SubmitToolOutputsRunRequest = serde_json::from_value(json!({
        "tool_outputs": [{"tool_call_id": call_id, "output": "sunny, 21°C"}]
    }))
    .unwrap();
    let mut stream = client
        .assistants()
        .submit_tool_outputs_stream(thread, run, &request)
        .await
        .unwrap()
        .with_handler(Log::default());
    let done = stream.final_run().await.unwrap();
    assert_eq!(done.status(), Some("completed"));
    let messages = stream.state().final_messages().unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["status"], "completed");
    let text = messages[0]["content"][0]["text"]["value"].as_str().unwrap();
    assert!(!text.is_empty());
    let typed = messages[0].to_typed().unwrap();
    assert_eq!(typed.id, messages[0].id().unwrap());
    // Both steps are returned finished (the tool-call step created in the first stream
    // completes in this one).
    let steps = stream.final_run_steps().await.unwrap();
    assert!(
        steps.iter().all(|s| s.status() == Some("completed")),
        "{steps:?}"
    );
    let log = stream.into_handler();
    assert!(log.ends == 1 && log.errors.is_empty(), "{:?}", log.errors);
    insta::assert_snapshot!("submit_tool_outputs", log.lines.join("\n"));

    // What was sent: `stream: true`, the Assistants beta header, SSE accepted.
    let sent = server.requests();
    assert_eq!(sent.len(), 2);
    for r in &sent {
        assert_eq!(r.json().unwrap()["stream"], true);
        assert_eq!(r.header("openai-beta"), Some("assistants=v2"));
        assert_eq!(r.header("accept"), Some("text/event-stream"));
    }
    assert_eq!(
        sent[0].json().unwrap()["assistant_id"],
        "asst_BFMmpHsel3a7MuFuKKY9i5uG"
    );
    assert_eq!(
        sent[1].json().unwrap()["tool_outputs"][0]["tool_call_id"],
        call_id.as_str()
    );
}

#[tokio::test]
async fn text_deltas_and_typed_events_over_http() {
    let server = ScriptedServer::start().await;
    server.post("/v1/threads/runs").respond(
        Reply::sse_file(input("assistants_text_message.sse")).chunking(Chunking::Fixed(5)),
    );
    let client = server.client();
    let request: types::CreateThreadAndRunRequest =
        serde_json::from_value(json!({"assistant_id": "asst_oracle"})).unwrap();

    let stream = client
        .assistants()
        .create_thread_and_run_stream(&request)
        .await
        .unwrap();
    let text: Vec<String> = stream.text_deltas().map(|t| t.unwrap()).collect().await;
    assert_eq!(text, ["Hello", "", " world!", " See [1]."]);

    let mut stream = client
        .assistants()
        .create_thread_and_run_stream(&request)
        .await
        .unwrap();
    let mut names = Vec::new();
    while let Some(event) = stream.next().await {
        let event = event.unwrap();
        let name = match &event {
            types::AssistantStreamEvent::RunStreamEvent(
                types::RunStreamEvent::ThreadRunCompleted(run),
            ) => {
                assert_eq!(run.id, "run_abc123");
                "run.completed"
            }
            types::AssistantStreamEvent::RunStreamEvent(_) => "run",
            types::AssistantStreamEvent::RunStepStreamEvent(_) => "step",
            types::AssistantStreamEvent::MessageStreamEvent(
                types::MessageStreamEvent::ThreadMessageDelta(d),
            ) => {
                assert_eq!(d.id, "msg_xyz789");
                "message.delta"
            }
            types::AssistantStreamEvent::MessageStreamEvent(_) => "message",
            other => panic!("unexpected event {other:?}"),
        };
        names.push(name);
        assert!(stream.current_event().is_some());
    }
    assert_eq!(names.iter().filter(|n| **n == "message.delta").count(), 6);
    assert_eq!(names.last(), Some(&"run.completed"));
    let message = stream.current_message_snapshot().unwrap();
    assert_eq!(
        message["content"][0]["text"]["value"],
        "Hello world! See [1]."
    );
    assert_eq!(message["content"][1]["image_file"]["file_id"], "file_img");
    assert_eq!(stream.current_run().unwrap()["status"], "completed");
    assert!(
        stream.current_run_step_snapshot().is_none(),
        "no step in progress after completion"
    );
    let steps = stream.final_run_steps().await.unwrap();
    assert_eq!(steps[0].status(), Some("completed"));
    assert_eq!(steps[0]["usage"]["total_tokens"], 62);
}

#[tokio::test]
async fn error_status_before_the_stream_is_an_api_error() {
    let server = ScriptedServer::start().await;
    server
        .post("/v1/threads/t/runs")
        .respond(Reply::openai_error(
            404,
            "invalid_request_error",
            "No thread found with id 't'.",
        ));
    let err = server
        .client()
        .assistants()
        .create_run_stream("t", &run_request())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert!(err.to_string().contains("No thread found"), "{err}");
}

// ---- Bad input: the transport-free pipeline ----

fn run(status: &str) -> String {
    json!({"id": "run_1", "object": "thread.run", "thread_id": "thread_1", "status": status})
        .to_string()
}

fn frame(event: &str, data: &str) -> String {
    format!("event: {event}\ndata: {data}\n\n")
}

/// Replays `body` with a logging handler: the items (`Ok(event name)` / `Err(error)`)
/// and the pipeline.
fn replay(body: &str) -> (Vec<Result<String, Error>>, AssistantEventPipeline<Log>) {
    let mut pipeline = AssistantEventPipeline::with_handler(Log::default());
    pipeline.push(body.as_bytes());
    pipeline.end_of_input();
    let mut items = Vec::new();
    while let Some(item) = pipeline.next_event() {
        items.push(item.map(|_| {
            pipeline
                .handler()
                .lines
                .iter()
                .rev()
                .find_map(|l| l.strip_prefix("on_event ").map(str::to_owned))
                .unwrap_or_default()
        }));
    }
    (items, pipeline)
}

fn stream_kind(item: &Result<String, Error>) -> Option<StreamErrorKind> {
    match item {
        Err(Error::Stream { kind, .. }) => Some(*kind),
        _ => None,
    }
}

#[test]
fn unknown_event_type_is_an_error_kept_in_the_state_and_the_stream_goes_on() {
    let body = [
        frame("thread.run.created", &run("queued")),
        frame("thread.run.teleported", r#"{"id":"run_1","where":"mars"}"#),
        frame("thread.run.completed", &run("completed")),
        "event: done\ndata: [DONE]\n\n".into(),
    ]
    .concat();
    let (items, pipeline) = replay(&body);
    assert_eq!(items.len(), 3);
    assert_eq!(stream_kind(&items[1]), Some(StreamErrorKind::UnknownEvent));
    let Err(Error::Stream { event, message, .. }) = &items[1] else {
        unreachable!()
    };
    assert_eq!(*event, Some(1));
    assert!(message.contains("thread.run.teleported"), "{message}");
    assert_eq!(items[2].as_ref().unwrap(), "thread.run.completed");
    let unhandled = pipeline.state().unhandled_events();
    assert_eq!(unhandled.len(), 1);
    assert_eq!(unhandled[0].0, "thread.run.teleported");
    assert_eq!(unhandled[0].1["where"], "mars");
    let log = pipeline.handler();
    assert_eq!(log.errors.len(), 1, "on_exception got the error");
    // Not the end of the stream: `on_end` only at its end, once.
    assert_eq!(log.ends, 1);
    assert_eq!(log.lines.last().unwrap(), "on_end");
    assert_eq!(pipeline.state().final_status(), Some("completed"));
}

#[test]
fn event_error_is_raised_and_given_to_on_exception() {
    let body = [
        frame("thread.run.created", &run("queued")),
        frame(
            "error",
            r#"{"message":"The server had an error","type":"server_error","code":"server_error"}"#,
        ),
        frame("thread.run.completed", &run("completed")),
    ]
    .concat();
    let (items, pipeline) = replay(&body);
    assert_eq!(items.len(), 2, "the error ends the stream");
    let Err(Error::Api(api)) = &items[1] else {
        panic!("{:?}", items[1])
    };
    assert_eq!(api.message, "The server had an error");
    assert_eq!(api.code.as_deref(), Some("server_error"));
    assert_eq!(api.status, None);
    let log = pipeline.handler();
    assert_eq!(log.errors.len(), 1);
    assert_eq!(tail(log, 2), ["on_exception APIError", "on_end"]);
    assert_eq!(log.ends, 1);
    // The state so far is readable.
    assert_eq!(pipeline.state().current_run().unwrap()["status"], "queued");
}

#[test]
fn delta_for_a_message_or_step_never_created_is_an_error() {
    let body = [
        frame("thread.run.created", &run("in_progress")),
        frame(
            "thread.message.delta",
            r#"{"id":"msg_ghost","object":"thread.message.delta","delta":{"content":[{"index":0,"type":"text","text":{"value":"boo"}}]}}"#,
        ),
        frame(
            "thread.run.step.delta",
            r#"{"id":"step_ghost","object":"thread.run.step.delta","delta":{"step_details":{"type":"tool_calls","tool_calls":[{"index":0,"type":"function"}]}}}"#,
        ),
        frame("thread.run.completed", &run("completed")),
    ]
    .concat();
    let (items, pipeline) = replay(&body);
    assert_eq!(items.len(), 4);
    assert_eq!(stream_kind(&items[1]), Some(StreamErrorKind::UnknownObject));
    assert_eq!(stream_kind(&items[2]), Some(StreamErrorKind::UnknownObject));
    // Each error names the kind of object and its id.
    let message = items[1].as_ref().unwrap_err().to_string();
    assert!(
        message.contains("a delta for message `msg_ghost`, which the stream never created"),
        "{message}"
    );
    let message = items[2].as_ref().unwrap_err().to_string();
    assert!(
        message.contains("a delta for run step `step_ghost`, which the stream never created"),
        "{message}"
    );
    assert_eq!(
        items[1].as_ref().unwrap_err().reference_class(),
        "RuntimeError"
    );
    let unhandled = pipeline.state().unhandled_events();
    assert_eq!(unhandled.len(), 2);
    assert_eq!(
        unhandled[0].1["delta"]["content"][0]["text"]["value"],
        "boo"
    );
    assert!(pipeline.state().messages_json().is_empty());
    assert_eq!(pipeline.handler().errors.len(), 2);
}

#[test]
fn a_failed_run_is_an_api_error_after_its_event() {
    let failed = json!({"id": "run_1", "object": "thread.run", "thread_id": "thread_1", "status": "failed",
        "last_error": {"code": "rate_limit_exceeded", "message": "You exceeded your current quota."}});
    let body = [
        frame("thread.run.created", &run("queued")),
        frame("thread.run.failed", &failed.to_string()),
        "event: done\ndata: [DONE]\n\n".into(),
    ]
    .concat();
    let (items, pipeline) = replay(&body);
    assert_eq!(items.len(), 3);
    assert_eq!(items[1].as_ref().unwrap(), "thread.run.failed");
    let Err(Error::Api(api)) = &items[2] else {
        panic!("{:?}", items[2])
    };
    assert_eq!(api.code.as_deref(), Some("rate_limit_exceeded"));
    assert!(
        api.message.contains("You exceeded your current quota."),
        "{}",
        api.message
    );
    assert_eq!(api.body.as_ref().unwrap()["status"], "failed");
    assert_eq!(pipeline.handler().errors.len(), 1);
    assert_eq!(
        pipeline.state().final_run().unwrap().status(),
        Some("failed")
    );
}

#[test]
fn a_stream_that_ends_early_is_an_error() {
    // Cleanly closed, but no final run status.
    let body = [
        frame("thread.run.created", &run("queued")),
        frame("thread.run.in_progress", &run("in_progress")),
    ]
    .concat();
    let (items, pipeline) = replay(&body);
    assert_eq!(
        stream_kind(items.last().unwrap()),
        Some(StreamErrorKind::Unfinished)
    );
    let message = items.last().unwrap().as_ref().unwrap_err().to_string();
    assert!(message.contains("in_progress"), "{message}");
    assert_eq!(pipeline.handler().errors.len(), 1);
    assert_eq!(
        tail(pipeline.handler(), 2),
        ["on_exception RuntimeError", "on_end"]
    );
    assert_eq!(pipeline.handler().ends, 1);

    // Cut in the middle of an event.
    let mut body = frame("thread.run.created", &run("queued"));
    body.push_str("event: thread.run.in_progress\ndata: {\"id\":\"run_1\",\"sta");
    let (items, pipeline) = replay(&body);
    assert_eq!(
        stream_kind(items.last().unwrap()),
        Some(StreamErrorKind::Incomplete)
    );
    assert_eq!(pipeline.state().current_run().unwrap()["status"], "queued");
}

#[test]
fn data_that_is_not_json_or_not_mergeable_is_an_error_not_a_panic() {
    let created = r#"{"id":"msg_1","object":"thread.message","status":"in_progress","content":[]}"#;
    let cases = [
        (
            frame("thread.run.created", "{not json"),
            StreamErrorKind::InvalidJson,
        ),
        (
            frame("thread.run.created", "[1,2]"),
            StreamErrorKind::InvalidJson,
        ),
        (
            [
                frame("thread.message.created", created),
                frame(
                    "thread.message.delta",
                    r#"{"id":"msg_1","delta":{"content":[{"type":"text"}]}}"#,
                ),
            ]
            .concat(),
            StreamErrorKind::MissingIndex,
        ),
        (
            [
                frame("thread.message.created", created),
                frame(
                    "thread.message.delta",
                    r#"{"id":"msg_1","delta":{"content":[7]}}"#,
                ),
            ]
            .concat(),
            StreamErrorKind::InvalidChunk,
        ),
        (
            [
                frame("thread.message.created", created),
                frame(
                    "thread.message.delta",
                    r#"{"id":"msg_1","delta":{"content":"text"}}"#,
                ),
            ]
            .concat(),
            StreamErrorKind::InvalidChunk,
        ),
    ];
    for (body, kind) in cases {
        let (items, pipeline) = replay(&body);
        assert_eq!(stream_kind(items.last().unwrap()), Some(kind), "{body}");
        assert_eq!(pipeline.handler().errors.len(), 1, "{body}");
    }
}

#[test]
fn tool_calls_fire_created_delta_and_done_once_each() {
    let step = |status: &str| {
        json!({"id": "step_1", "object": "thread.run.step", "run_id": "run_1", "type": "tool_calls", "status": status,
               "step_details": {"type": "tool_calls", "tool_calls": []}})
        .to_string()
    };
    let delta = |calls: Value| {
        json!({"id": "step_1", "object": "thread.run.step.delta",
               "delta": {"step_details": {"type": "tool_calls", "tool_calls": calls}}})
        .to_string()
    };
    let body = [
        frame("thread.run.created", &run("in_progress")),
        frame("thread.run.step.created", &step("in_progress")),
        frame("thread.run.step.delta", &delta(json!([{"index": 0, "id": "call_a", "type": "function", "function": {"name": "a", "arguments": ""}}]))),
        frame("thread.run.step.delta", &delta(json!([{"index": 0, "type": "function", "function": {"arguments": "{\"x\":"}}]))),
        frame("thread.run.step.delta", &delta(json!([{"index": 0, "type": "function", "function": {"arguments": "1}"}}]))),
        frame("thread.run.step.delta", &delta(json!([{"index": 1, "id": "call_b", "type": "function", "function": {"name": "b", "arguments": "{}"}}]))),
        frame("thread.run.step.completed", &step("completed")),
        frame("thread.run.requires_action", &run("requires_action")),
        frame("thread.run.completed", &run("completed")),
    ]
    .concat();
    let (items, pipeline) = replay(&body);
    assert!(items.iter().all(Result::is_ok), "{items:?}");
    let calls: Vec<&String> = pipeline
        .handler()
        .lines
        .iter()
        .filter(|l| l.starts_with("on_tool_call"))
        .collect();
    insta::assert_snapshot!(
        "tool_call_callbacks",
        calls
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    let done = calls
        .iter()
        .filter(|l| l.starts_with("on_tool_call_done"))
        .count();
    assert_eq!(done, 2, "once per tool call");
}

#[cfg(feature = "blocking")]
#[test]
fn blocking_stream_reads_the_same_events() {
    let server = ScriptedServer::start_blocking();
    server.post("/v1/threads/thread_1/runs").respond(
        Reply::sse_file(input("assistants_text_message.sse")).chunking(Chunking::Fixed(7)),
    );
    let client = server.client();
    let stream = client
        .assistants()
        .create_run_stream_blocking("thread_1", &run_request())
        .unwrap();
    let text: Vec<String> = stream.text_deltas().map(Result::unwrap).collect();
    assert_eq!(text.concat(), "Hello world! See [1].");

    let mut stream = client
        .assistants()
        .create_run_stream_blocking("thread_1", &run_request())
        .unwrap()
        .with_handler(Log::default());
    let messages = stream.final_messages().unwrap();
    assert_eq!(
        messages[0]["content"][1]["image_file"]["file_id"],
        "file_img"
    );
    assert_eq!(stream.final_run().unwrap().status(), Some("completed"));
    let log = stream.into_handler();
    assert_eq!(log.ends, 1);
    assert_eq!(
        log.lines
            .iter()
            .filter(|l| l.starts_with("on_text_done"))
            .count(),
        1
    );
    assert_eq!(
        log.lines
            .iter()
            .filter(|l| l.starts_with("on_image_file_done"))
            .count(),
        1
    );
    assert_eq!(server.request_count(), 2);
    for r in server.requests() {
        assert_eq!(r.header("openai-beta"), Some("assistants=v2"));
        assert_eq!(r.header("accept"), Some("text/event-stream"));
    }
}

/// Serves a run stream whose body stalls after its first two events, for far longer than
/// the client's read timeout (the test never waits for the stall to end).
fn serve_stall(server: &ScriptedServer) -> Client {
    let body = std::fs::read(input("assistants_text_message.sse")).unwrap();
    let two_events = body
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w == b"\n\n")
        .nth(1)
        .map(|(i, _)| i + 2)
        .unwrap();
    server
        .post("/v1/threads/thread_1/runs")
        .respond(Reply::sse_raw(body).fault(Fault::StallAfter {
            bytes: two_events,
            duration: std::time::Duration::from_secs(3600),
        }));
    Client::builder()
        .api_key("sk-test")
        .base_url(server.base_url())
        // Headroom: the events before the stall are counted exactly, so on a loaded machine
        // the gap before them must stay well inside the read timeout.
        .read_timeout(std::time::Duration::from_secs(2))
        .max_retries(0)
        .build()
        .unwrap()
}

/// The handler saw the two events, then the timeout (`on_timeout`, then `on_exception`),
/// then the end (`on_end`, once).
fn assert_timed_out(log: &Log, events: usize) {
    assert_eq!(events, 2, "the events before the stall");
    assert_eq!(
        tail(log, 3),
        ["on_timeout", "on_exception APITimeoutError", "on_end"],
        "{:#?}",
        log.lines
    );
    assert_eq!(log.ends, 1);
}

#[tokio::test]
async fn a_stall_longer_than_the_read_timeout_is_a_timeout_error() {
    let server = ScriptedServer::start().await;
    let client = serve_stall(&server);
    let mut stream = client
        .assistants()
        .create_run_stream("thread_1", &run_request())
        .await
        .unwrap()
        .with_handler(Log::default());
    let (events, error) = crate::common::until_error(&mut stream).await;
    assert!(
        matches!(error, Error::Timeout { .. }),
        "expected a timeout, got {error:?}"
    );
    assert!(stream.next().await.is_none(), "nothing follows the timeout");
    assert_eq!(stream.current_run().unwrap()["status"], "queued");
    assert_timed_out(&stream.into_handler(), events);
}

#[cfg(feature = "blocking")]
#[test]
fn a_blocking_stream_stall_longer_than_the_read_timeout_is_a_timeout_error() {
    let server = ScriptedServer::start_blocking();
    let client = serve_stall(&server);
    let mut stream = client
        .assistants()
        .create_run_stream_blocking("thread_1", &run_request())
        .unwrap()
        .with_handler(Log::default());
    let (events, error) = crate::common::until_error_blocking(&mut stream);
    assert!(
        matches!(error, Error::Timeout { .. }),
        "expected a timeout, got {error:?}"
    );
    assert!(stream.next().is_none(), "nothing follows the timeout");
    assert_timed_out(&stream.into_handler(), events);
}

// ---- `on_end` at the end of every stream, over loopback ----

/// A run stream body that fails one of the four ways, and the error class it must end
/// with.
fn failing_bodies() -> Vec<(&'static str, Reply, &'static str)> {
    let failed = json!({"id": "run_1", "object": "thread.run", "thread_id": "thread_1", "status": "failed",
        "last_error": {"code": "server_error", "message": "Sorry, something went wrong."}});
    let created = frame("thread.run.created", &run("queued"));
    let in_progress = frame("thread.run.in_progress", &run("in_progress"));
    vec![
        (
            "thread.run.failed",
            Reply::sse_raw(
                [
                    created.clone(),
                    frame("thread.run.failed", &failed.to_string()),
                    "event: done\ndata: [DONE]\n\n".into(),
                ]
                .concat(),
            ),
            "APIError",
        ),
        (
            "event: error",
            Reply::sse_raw(
                [
                    created.clone(),
                    frame(
                        "error",
                        r#"{"message":"The server had an error","type":"server_error"}"#,
                    ),
                    frame("thread.run.completed", &run("completed")),
                ]
                .concat(),
            ),
            "APIError",
        ),
        (
            "dropped connection",
            Reply::sse_raw([created.clone(), in_progress.clone(), in_progress.clone()].concat())
                .chunking(Chunking::Events)
                .fault(Fault::DropAfter(created.len() + in_progress.len() + 10)),
            "APIConnectionError",
        ),
        (
            "clean close before a final run status",
            Reply::sse_raw([created, in_progress].concat()),
            "RuntimeError",
        ),
    ]
}

/// Every way a stream ends gives `on_end` exactly once, last, after the `on_exception` of
/// the error that ended it; reading on after the end fires nothing more.
#[tokio::test]
async fn on_end_fires_once_after_on_exception_on_every_failing_path() {
    let server = ScriptedServer::start().await;
    for (what, reply, class) in failing_bodies() {
        server.clear_routes();
        server.post("/v1/threads/thread_1/runs").respond(reply);
        let mut stream = server
            .client()
            .assistants()
            .create_run_stream("thread_1", &run_request())
            .await
            .unwrap()
            .with_handler(Log::default());
        let mut errors = Vec::new();
        while let Some(item) = stream.next().await {
            if let Err(e) = item {
                errors.push(e);
            }
        }
        assert!(stream.next().await.is_none());
        assert_eq!(errors.len(), 1, "{what}: {errors:?}");
        assert_eq!(errors[0].reference_class(), class, "{what}: {}", errors[0]);
        let log = stream.into_handler();
        assert_eq!(
            tail(&log, 2),
            [format!("on_exception {class}").as_str(), "on_end"],
            "{what}: {:#?}",
            log.lines
        );
        assert_eq!(log.ends, 1, "{what}");
    }
}

/// The same over the blocking stream (and `final_run`, which stops at the error).
#[cfg(feature = "blocking")]
#[test]
fn blocking_on_end_fires_once_after_on_exception_on_every_failing_path() {
    let server = ScriptedServer::start_blocking();
    for (what, reply, class) in failing_bodies() {
        server.clear_routes();
        server.post("/v1/threads/thread_1/runs").respond(reply);
        let mut stream = server
            .client()
            .assistants()
            .create_run_stream_blocking("thread_1", &run_request())
            .unwrap()
            .with_handler(Log::default());
        let e = stream.final_run().unwrap_err();
        assert_eq!(e.reference_class(), class, "{what}: {e}");
        assert!(stream.next().is_none());
        let log = stream.into_handler();
        assert_eq!(
            tail(&log, 2),
            [format!("on_exception {class}").as_str(), "on_end"],
            "{what}: {:#?}",
            log.lines
        );
        assert_eq!(log.ends, 1, "{what}");
    }
}
