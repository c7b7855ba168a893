//! How many tool calls of one round run at once (`Tools::max_concurrent_calls`, default 16),
//! over loopback, for the chat and Responses tool loops, streamed or not: a round of many
//! calls never has more than N running, has N running at some point, runs every call, and
//! sends the outputs back in the order of the calls (they finish in another order).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use openai_sdk::testing::{Reply, ScriptedServer};
use openai_sdk::tools::{ToolLoopEvent, Tools, DEFAULT_MAX_CONCURRENT_CALLS};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(20);

/// The job of one call.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Job {
    i: usize,
}

/// Counts the calls running at once. A call waits at the gate until the first `n` calls
/// have started (so the first `n` run together when the loop allows `n`), then finishes
/// after a delay that makes later calls finish first.
#[derive(Clone)]
struct Gauge {
    running: Arc<AtomicUsize>,
    max: Arc<AtomicUsize>,
    started: Arc<AtomicUsize>,
    done: Arc<AtomicUsize>,
    gate: usize,
    total: usize,
}

impl Gauge {
    fn new(n: usize, total: usize) -> Gauge {
        Gauge {
            running: Arc::default(),
            max: Arc::default(),
            started: Arc::default(),
            done: Arc::default(),
            gate: n.min(total),
            total,
        }
    }

    fn tools(&self) -> Tools {
        let g = self.clone();
        Tools::new()
            .tool("job", "A slow job", move |job: Job| {
                let g = g.clone();
                async move {
                    let now = g.running.fetch_add(1, Ordering::SeqCst) + 1;
                    g.max.fetch_max(now, Ordering::SeqCst);
                    g.started.fetch_add(1, Ordering::SeqCst);
                    let deadline = tokio::time::Instant::now() + WAIT;
                    while g.started.load(Ordering::SeqCst) < g.gate {
                        if tokio::time::Instant::now() > deadline {
                            return Err(format!(
                                "only {} calls ever ran at once",
                                g.started.load(Ordering::SeqCst)
                            ));
                        }
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                    let later_first = (g.total - job.i) as u64 % 8;
                    tokio::time::sleep(Duration::from_millis(later_first)).await;
                    g.running.fetch_sub(1, Ordering::SeqCst);
                    g.done.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, String>(format!("out {}", job.i))
                }
            })
            .unwrap()
    }

    fn check(&self, n: usize) {
        assert_eq!(self.max.load(Ordering::SeqCst), n, "calls running at once");
        assert_eq!(self.done.load(Ordering::SeqCst), self.total, "calls run");
        assert_eq!(self.running.load(Ordering::SeqCst), 0);
    }
}

fn expected_outputs(total: usize) -> Vec<String> {
    (0..total).map(|i| format!("out {i}")).collect()
}

#[test]
fn the_default_is_sixteen() {
    assert_eq!(DEFAULT_MAX_CONCURRENT_CALLS, 16);
    assert!(format!("{:?}", Tools::new()).contains("max_concurrent_calls: 16"));
}

#[cfg(feature = "chat")]
mod chat {
    use super::*;

    fn request() -> openai_sdk::types::CreateChatCompletionRequest {
        serde_json::from_value(json!({"model": "gpt-4o", "messages": [
            {"role": "user", "content": "Run the jobs"}]}))
        .unwrap()
    }

    fn completion(message: Value, finish: &str) -> Value {
        json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o",
               "choices": [{"index": 0, "finish_reason": finish, "logprobs": null, "message": message}]})
    }

    fn calling(total: usize) -> Value {
        let calls: Vec<Value> = (0..total)
            .map(|i| {
                json!({"id": format!("call_{i}"), "type": "function",
                       "function": {"name": "job", "arguments": json!({"i": i}).to_string()}})
            })
            .collect();
        completion(
            json!({"role": "assistant", "content": null, "tool_calls": calls}),
            "tool_calls",
        )
    }

    fn answer() -> Value {
        completion(json!({"role": "assistant", "content": "done"}), "stop")
    }

    /// The tool messages of the second request, in order: (tool_call_id, content).
    fn sent_outputs(server: &ScriptedServer) -> Vec<(String, String)> {
        let second = server.requests()[1].json().unwrap();
        second["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["role"] == "tool")
            .map(|m| {
                (
                    m["tool_call_id"].as_str().unwrap().to_owned(),
                    m["content"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    fn expected_sent(total: usize) -> Vec<(String, String)> {
        (0..total)
            .map(|i| (format!("call_{i}"), format!("out {i}")))
            .collect()
    }

    #[tokio::test]
    async fn the_plain_loop_runs_at_most_sixteen_calls_at_once_by_default() {
        let total = 40;
        let server = ScriptedServer::start().await;
        server
            .post("/v1/chat/completions")
            .respond_all([Reply::json(200, calling(total)), Reply::json(200, answer())]);
        let gauge = Gauge::new(DEFAULT_MAX_CONCURRENT_CALLS, total);
        let run = tokio::time::timeout(
            WAIT,
            server.client().chat().run_tools(request(), gauge.tools()),
        )
        .await
        .unwrap()
        .unwrap();
        gauge.check(DEFAULT_MAX_CONCURRENT_CALLS);
        let outputs: Vec<String> = run.calls.iter().map(|c| c.output.clone()).collect();
        assert_eq!(outputs, expected_outputs(total));
        assert_eq!(sent_outputs(&server), expected_sent(total));
    }

    #[tokio::test]
    async fn the_streamed_loop_runs_at_most_the_setting() {
        let total = 10;
        let server = ScriptedServer::start().await;
        server.post("/v1/chat/completions").respond_all([
            Reply::chat_stream_of(&calling(total)),
            Reply::chat_stream_of(&answer()),
        ]);
        let gauge = Gauge::new(3, total);
        let tools = gauge.tools().max_concurrent_calls(3);
        let outputs = tokio::time::timeout(WAIT, async {
            let mut stream = server
                .client()
                .chat()
                .run_tools_stream(request(), tools)
                .unwrap();
            let mut outputs = Vec::new();
            while let Some(event) = stream.next().await {
                if let ToolLoopEvent::ToolOutput { call, .. } = event.unwrap() {
                    outputs.push(call.output);
                }
            }
            outputs
        })
        .await
        .unwrap();
        gauge.check(3);
        assert_eq!(outputs, expected_outputs(total));
        assert_eq!(sent_outputs(&server), expected_sent(total));
    }
}

#[cfg(feature = "responses")]
mod responses {
    use super::*;

    fn request() -> openai_sdk::types::CreateResponse {
        serde_json::from_value(json!({"model": "gpt-4o", "input": "Run the jobs"})).unwrap()
    }

    fn response(id: &str, output: Value) -> Value {
        json!({"id": id, "object": "response", "created_at": 1, "status": "completed",
               "model": "gpt-4o", "output": output})
    }

    fn calling(total: usize) -> Value {
        let calls: Vec<Value> = (0..total)
            .map(|i| {
                json!({"type": "function_call", "id": format!("fc_{i}"), "call_id": format!("call_{i}"),
                       "name": "job", "arguments": json!({"i": i}).to_string(), "status": "completed"})
            })
            .collect();
        response("resp_1", Value::Array(calls))
    }

    fn answer() -> Value {
        response(
            "resp_2",
            json!([{"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
                    "content": [{"type": "output_text", "text": "done", "annotations": []}]}]),
        )
    }

    /// The function call outputs of the second request, in order: (call_id, output).
    fn sent_outputs(server: &ScriptedServer) -> Vec<(String, String)> {
        let second = server.requests()[1].json().unwrap();
        second["input"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["type"] == "function_call_output")
            .map(|m| {
                (
                    m["call_id"].as_str().unwrap().to_owned(),
                    m["output"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    fn expected_sent(total: usize) -> Vec<(String, String)> {
        (0..total)
            .map(|i| (format!("call_{i}"), format!("out {i}")))
            .collect()
    }

    #[tokio::test]
    async fn the_plain_loop_runs_at_most_the_setting() {
        let total = 9;
        let server = ScriptedServer::start().await;
        server
            .post("/v1/responses")
            .respond_all([Reply::json(200, calling(total)), Reply::json(200, answer())]);
        let gauge = Gauge::new(4, total);
        let tools = gauge.tools().max_concurrent_calls(4);
        let run = tokio::time::timeout(
            WAIT,
            server.client().responses().run_tools(request(), tools),
        )
        .await
        .unwrap()
        .unwrap();
        gauge.check(4);
        let outputs: Vec<String> = run.calls.iter().map(|c| c.output.clone()).collect();
        assert_eq!(outputs, expected_outputs(total));
        assert_eq!(sent_outputs(&server), expected_sent(total));
    }

    #[tokio::test]
    async fn the_streamed_loop_runs_at_most_sixteen_calls_at_once_by_default() {
        let total = 40;
        let server = ScriptedServer::start().await;
        server.post("/v1/responses").respond_all([
            Reply::responses_stream_of(&calling(total)),
            Reply::responses_stream_of(&answer()),
        ]);
        let gauge = Gauge::new(DEFAULT_MAX_CONCURRENT_CALLS, total);
        let outputs = tokio::time::timeout(WAIT, async {
            let mut stream = server
                .client()
                .responses()
                .run_tools_stream(request(), gauge.tools())
                .unwrap();
            let mut outputs = Vec::new();
            while let Some(event) = stream.next().await {
                if let ToolLoopEvent::ToolOutput { call, .. } = event.unwrap() {
                    outputs.push(call.output);
                }
            }
            outputs
        })
        .await
        .unwrap();
        gauge.check(DEFAULT_MAX_CONCURRENT_CALLS);
        assert_eq!(outputs, expected_outputs(total));
        assert_eq!(sent_outputs(&server), expected_sent(total));
    }
}
