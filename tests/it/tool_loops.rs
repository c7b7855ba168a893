//! The tool loops over loopback: `run_tools` and `run_tools_stream` of Chat Completions,
//! `run_tools_stream` of the Responses API (its `run_tools` is in `responses_stream.rs`):
//! typed strict tools, parallel calls, errors sent back to the model, the round limit; and
//! dropping a tool loop (streamed or not) midway: the server sees the connection close, a
//! running tool's future is dropped.
//!
//! Each scripted round streams a complete answer event by event
//! (`Reply::responses_stream_of`, `Reply::chat_stream_of`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use openai_sdk::testing::{Chunking, Gate, Reply, ScriptedServer};
use openai_sdk::tools::{ToolLoopEvent, Tools};
use openai_sdk::Client;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(10);

/// A city.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct City {
    city: String,
}

/// A temperature to convert.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Celsius {
    celsius: f64,
}

fn tools() -> Tools {
    Tools::new()
        .tool("get_weather", "The weather in a city", |a: City| async move {
            if a.city == "Atlantis" {
                return Err(format!("no station in {}", a.city));
            }
            Ok(json!({"city": a.city, "celsius": 18}))
        })
        .unwrap()
        .tool("to_fahrenheit", "Celsius to Fahrenheit", |a: Celsius| async move {
            Ok::<_, String>(format!("{}", a.celsius * 9.0 / 5.0 + 32.0))
        })
        .unwrap()
}

fn client(server: &ScriptedServer) -> Client {
    Client::builder()
        .api_key("sk-test")
        .base_url(server.base_url())
        .max_retries(0)
        .build()
        .unwrap()
}

/// Counts the drops of a tool's futures that did not finish.
struct DropCounter(Arc<AtomicUsize>, bool);

impl Drop for DropCounter {
    fn drop(&mut self) {
        if !self.1 {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Counts the calls a stuck tool started and the futures of it that were dropped.
#[derive(Default, Clone)]
struct Stuck {
    started: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
}

impl Stuck {
    /// Waits (at most `WAIT`) until a call started.
    async fn wait_started(&self) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while self.started.load(Ordering::SeqCst) == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the tool never started"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    fn dropped(&self) -> usize {
        self.dropped.load(Ordering::SeqCst)
    }
}

/// A registry whose `get_weather` never finishes.
fn stuck_tools(stuck: &Stuck) -> Tools {
    let stuck = stuck.clone();
    Tools::new()
        .tool("get_weather", "The weather in a city", move |_: City| {
            stuck.started.fetch_add(1, Ordering::SeqCst);
            let guard = DropCounter(Arc::clone(&stuck.dropped), false);
            async move {
                futures::future::pending::<()>().await;
                let mut guard = guard;
                guard.1 = true;
                Ok::<_, String>("unreachable")
            }
        })
        .unwrap()
}

#[cfg(feature = "responses")]
mod responses {
    use super::*;
    use openai_sdk::responses::{ResponseStreamEvent, ResponseToolEvent};

    fn request() -> openai_sdk::types::CreateResponse {
        serde_json::from_value(
            json!({"model": "gpt-4o", "input": "Weather in Paris, in Fahrenheit?"}),
        )
        .unwrap()
    }

    fn response(id: &str, output: Value) -> Value {
        json!({"id": id, "object": "response", "created_at": 1, "status": "completed", "model": "gpt-4o",
            "output": output})
    }

    fn call(id: &str, name: &str, arguments: &str) -> Value {
        json!({"type": "function_call", "id": format!("fc_{id}"), "call_id": format!("call_{id}"), "name": name,
            "arguments": arguments, "status": "completed"})
    }

    fn message(text: &str) -> Value {
        json!({"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}]})
    }

    /// The kind of each item, with the event type for stream events.
    fn shape(events: &[ResponseToolEvent]) -> Vec<String> {
        events
            .iter()
            .map(|e| match e {
                ToolLoopEvent::RoundStarted { round } => format!("round {round}"),
                ToolLoopEvent::Event(event) => event.event_type().to_owned(),
                ToolLoopEvent::ToolOutput { round, call } => {
                    format!("output {round} {}", call.call_id)
                }
                ToolLoopEvent::Done(_) => "done".to_owned(),
                _ => "other".to_owned(),
            })
            .collect()
    }

    #[tokio::test]
    async fn every_round_is_streamed_then_its_tool_outputs_then_the_outcome() {
        let server = ScriptedServer::start().await;
        let first = response(
            "resp_1",
            json!([
                call("1", "get_weather", r#"{"city":"Paris"}"#),
                call("2", "get_weather", r#"{"city":"Atlantis"}"#),
                call("3", "no_such_tool", "{}"),
            ]),
        );
        let second = response(
            "resp_2",
            json!([call("4", "to_fahrenheit", r#"{"celsius": 18}"#)]),
        );
        let last = response("resp_3", json!([message("It is 64.4°F in Paris.")]));
        server
            .post("/v1/responses")
            .respond(Reply::responses_stream_of(&first).chunking(Chunking::Events))
            .respond(Reply::responses_stream_of(&second))
            .respond(Reply::responses_stream_of(&last).chunking(Chunking::Fixed(7)));
        let client = client(&server);
        let events: Vec<ResponseToolEvent> = client
            .responses()
            .run_tools_stream(request(), tools())
            .unwrap()
            .map(|e| e.unwrap())
            .collect()
            .await;

        let shape = shape(&events);
        let at = |s: &str| {
            shape
                .iter()
                .position(|x| x == s)
                .unwrap_or_else(|| panic!("no {s} in {shape:?}"))
        };
        assert_eq!(shape[0], "round 1");
        assert_eq!(shape[1], "response.created");
        assert_eq!(at("round 2"), at("output 1 call_3") + 1);
        assert_eq!(at("output 1 call_1") + 1, at("output 1 call_2"));
        assert_eq!(at("output 1 call_2") + 1, at("output 1 call_3"));
        assert_eq!(shape[at("output 1 call_1") - 1], "response.completed");
        assert_eq!(shape[at("round 3") - 1], "output 2 call_4");
        assert_eq!(shape.last().unwrap(), "done");
        assert_eq!(shape[shape.len() - 2], "response.completed");
        assert_eq!(
            shape
                .iter()
                .filter(|s| *s == "response.function_call_arguments.done")
                .count(),
            4
        );

        // Every delta of the last round carries the text so far.
        let mut text = String::new();
        for event in &events[at("round 3")..] {
            if let ToolLoopEvent::Event(ResponseStreamEvent::OutputTextDelta {
                delta,
                snapshot,
                ..
            }) = event
            {
                text.push_str(delta);
                assert_eq!(&**snapshot, text);
            }
        }
        assert_eq!(text, "It is 64.4°F in Paris.");

        let ToolLoopEvent::Done(run) = events.last().unwrap() else {
            unreachable!()
        };
        assert!(run.finished);
        assert_eq!(run.rounds, 3);
        assert_eq!(run.answer.output_text(), "It is 64.4°F in Paris.");
        let outputs: Vec<&str> = run.calls.iter().map(|c| c.output.as_str()).collect();
        assert_eq!(
            outputs,
            [
                json!({"city": "Paris", "celsius": 18}).to_string().as_str(),
                &json!({"error": "no station in Atlantis"}).to_string(),
                &json!({"error": "there is no tool named `no_such_tool`"}).to_string(),
                "64.4",
            ]
        );

        // Every round streams; the conversation is resent with the calls as the API gave
        // them (no `parsed_arguments`) and one output per call.
        let sent = server.requests();
        assert_eq!(sent.len(), 3);
        for request in &sent {
            assert_eq!(request.json().unwrap()["stream"], json!(true));
        }
        let third = sent[2].json().unwrap();
        let input = third["input"].as_array().unwrap();
        assert_eq!(input.len(), 1 + 3 + 3 + 1 + 1);
        assert_eq!(input[1], call("1", "get_weather", r#"{"city":"Paris"}"#));
        assert!(input.iter().all(|i| i.get("parsed_arguments").is_none()));
        let ids: Vec<&str> = input
            .iter()
            .filter(|i| i["type"] == "function_call_output")
            .map(|i| i["call_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["call_1", "call_2", "call_3", "call_4"]);
        assert_eq!(third["tools"][0]["strict"], json!(true));

        // The outcome's conversation: the last request's input, then the last answer's
        // output items (as the API gave them).
        assert_eq!(&run.conversation[..input.len()], input.as_slice());
        assert_eq!(
            run.conversation.len(),
            input.len() + run.answer.output().len()
        );
        assert_eq!(run.conversation.last().unwrap()["type"], "message");
    }

    #[tokio::test]
    async fn the_round_limit_ends_the_streamed_loop_unfinished() {
        let server = ScriptedServer::start().await;
        let calling = response(
            "resp",
            json!([call("1", "get_weather", r#"{"city":"Paris"}"#)]),
        );
        server
            .post("/v1/responses")
            .respond_all((0..3).map(|_| Reply::responses_stream_of(&calling)));
        let client = client(&server);
        let run = client
            .responses()
            .run_tools_stream(request(), tools().max_rounds(2))
            .unwrap()
            .final_run()
            .await
            .unwrap();
        assert!(!run.finished);
        assert_eq!(run.rounds, 2);
        assert_eq!(run.calls.len(), 1);
        assert_eq!(server.request_count(), 2);
        // The calls of the last round are in the outcome's response, not run.
        assert_eq!(run.answer.function_calls().count(), 1);
    }

    #[tokio::test]
    async fn an_error_event_ends_the_loop_with_the_error_after_the_events_before_it() {
        let server = ScriptedServer::start().await;
        let first = response(
            "resp_1",
            json!([call("1", "get_weather", r#"{"city":"Paris"}"#)]),
        );
        let failing = "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_2\",\"object\":\"response\",\"status\":\"in_progress\",\"output\":[]}}\n\n\
            event: error\ndata: {\"type\":\"error\",\"sequence_number\":1,\"code\":\"server_error\",\"message\":\"The model crashed\",\"param\":null}\n\n";
        server
            .post("/v1/responses")
            .respond(Reply::responses_stream_of(&first))
            .respond(Reply::sse_raw(failing));
        let client = client(&server);
        let mut run = client
            .responses()
            .run_tools_stream(request(), tools())
            .unwrap();
        let mut seen = Vec::new();
        let error = loop {
            match run.next().await.expect("the loop ended without its error") {
                Ok(event) => seen.push(event),
                Err(e) => break e,
            }
        };
        match error {
            openai_sdk::Error::Api(e) => assert_eq!(e.message, "The model crashed"),
            other => panic!("{other:?}"),
        }
        let shape = shape(&seen);
        assert_eq!(&shape[shape.len() - 2..], ["round 2", "response.created"]);
        assert!(
            run.next().await.is_none(),
            "the loop goes on after its error"
        );
    }

    #[tokio::test]
    async fn an_error_status_in_a_later_round_is_the_api_error() {
        let server = ScriptedServer::start().await;
        let first = response(
            "resp_1",
            json!([call("1", "get_weather", r#"{"city":"Paris"}"#)]),
        );
        server
            .post("/v1/responses")
            .respond(Reply::responses_stream_of(&first))
            .respond(Reply::openai_error(
                400,
                "invalid_request_error",
                "bad input",
            ));
        let client = client(&server);
        match client
            .responses()
            .run_tools_stream(request(), tools())
            .unwrap()
            .final_run()
            .await
        {
            Err(openai_sdk::Error::Api(e)) => assert_eq!(e.message, "bad input"),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_round_that_ends_without_response_completed_is_a_typed_error() {
        let server = ScriptedServer::start().await;
        let cut = "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"in_progress\",\"output\":[]}}\n\n";
        server.post("/v1/responses").respond(Reply::sse_raw(cut));
        let client = client(&server);
        match client
            .responses()
            .run_tools_stream(request(), tools())
            .unwrap()
            .final_run()
            .await
        {
            Err(openai_sdk::Error::Stream { kind, .. }) => {
                assert_eq!(kind, openai_sdk::StreamErrorKind::NoFinalEvent)
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(server.request_count(), 1);
    }

    #[tokio::test]
    async fn dropping_the_streamed_loop_mid_round_closes_the_connection() {
        let server = ScriptedServer::start().await;
        let gate = Gate::new();
        let last = response("resp_1", json!([message("Hello there, world")]));
        server.post("/v1/responses").respond(
            Reply::responses_stream_of(&last)
                .chunking(Chunking::Events)
                .gate(&gate),
        );
        let client = client(&server);
        gate.release(2);
        let mut run = client
            .responses()
            .run_tools_stream(request(), tools())
            .unwrap();
        assert!(matches!(
            run.next().await,
            Some(Ok(ToolLoopEvent::RoundStarted { round: 1 }))
        ));
        assert!(matches!(
            run.next().await,
            Some(Ok(ToolLoopEvent::Event(_)))
        ));
        assert!(server.disconnects().is_empty());
        drop(run);
        assert!(
            server.wait_for_disconnect(WAIT).await,
            "the server did not see the client leave"
        );
    }

    #[tokio::test]
    async fn dropping_the_streamed_loop_while_a_tool_runs_drops_the_tool() {
        let server = ScriptedServer::start().await;
        let first = response(
            "resp_1",
            json!([call("1", "get_weather", r#"{"city":"Paris"}"#)]),
        );
        server
            .post("/v1/responses")
            .respond(Reply::responses_stream_of(&first));
        let client = client(&server);
        let stuck = Stuck::default();
        let mut run = client
            .responses()
            .run_tools_stream(request(), stuck_tools(&stuck))
            .unwrap();
        // Read up to the end of round 1: the next poll runs the stuck tool.
        loop {
            if let ToolLoopEvent::Event(ResponseStreamEvent::Completed { .. }) =
                run.next().await.unwrap().unwrap()
            {
                break;
            }
        }
        {
            let next = run.next();
            futures::pin_mut!(next);
            tokio::select! {
                item = &mut next => panic!("the stuck tool finished: {item:?}"),
                () = stuck.wait_started() => {}
            }
        }
        assert_eq!(stuck.dropped(), 0);
        drop(run);
        assert_eq!(
            stuck.dropped(),
            1,
            "the running tool was not dropped with the loop"
        );
        assert_eq!(server.request_count(), 1);
    }

    #[tokio::test]
    async fn dropping_the_loop_future_before_the_answer_closes_the_connection() {
        let server = ScriptedServer::start().await;
        server.post("/v1/responses").respond(Reply::never());
        let client = client(&server);
        let run =
            tokio::spawn(async move { client.responses().run_tools(request(), tools()).await });
        assert!(server.wait_for_requests(1, WAIT).await);
        run.abort();
        assert!(run.await.unwrap_err().is_cancelled());
        assert!(
            server.wait_for_disconnect(WAIT).await,
            "the server did not see the client leave"
        );
    }
}

#[cfg(feature = "chat")]
mod chat {
    use super::*;
    use openai_sdk::chat::{ChatCompletionStreamEvent, ChatToolEvent};

    fn request(extra: Value) -> openai_sdk::types::CreateChatCompletionRequest {
        let mut body = json!({"model": "gpt-4o", "messages": [
            {"role": "user", "content": "Weather in Paris, in Fahrenheit?"}]});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::from_value(body).unwrap()
    }

    fn completion(message: Value, finish: &str) -> Value {
        json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o",
               "choices": [{"index": 0, "finish_reason": finish, "logprobs": null, "message": message}],
               "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}})
    }

    fn call(id: &str, name: &str, arguments: &str) -> Value {
        json!({"id": id, "type": "function", "function": {"name": name, "arguments": arguments}})
    }

    #[tokio::test]
    async fn every_round_is_streamed_then_its_tool_outputs_then_the_outcome() {
        let server = ScriptedServer::start().await;
        let calls = json!({"role": "assistant", "content": null, "tool_calls": [
            call("call_1", "get_weather", r#"{"city": "Paris"}"#),
            call("call_2", "to_fahrenheit", r#"{"celsius": "warm"}"#),
        ]});
        server
            .post("/v1/chat/completions")
            .respond(
                Reply::chat_stream_of(&completion(calls, "tool_calls")).chunking(Chunking::Events),
            )
            .respond(
                Reply::chat_stream_of(&completion(
                    json!({"role": "assistant", "content": "It is 64.4°F in Paris."}),
                    "stop",
                ))
                .chunking(Chunking::Fixed(5)),
            );
        let client = client(&server);
        let request = request(json!({"stream_options": {"include_usage": true}}));
        let events: Vec<ChatToolEvent> = client
            .chat()
            .run_tools_stream(request, tools())
            .unwrap()
            .map(|e| e.unwrap())
            .collect()
            .await;

        let kinds: Vec<String> = events
            .iter()
            .map(|e| match e {
                ToolLoopEvent::RoundStarted { round } => format!("round {round}"),
                ToolLoopEvent::Event(event) => event.event_type().to_owned(),
                ToolLoopEvent::ToolOutput { call, .. } => format!("output {}", call.call_id),
                ToolLoopEvent::Done(_) => "done".to_owned(),
                _ => "other".to_owned(),
            })
            .collect();
        let at = |s: &str| {
            kinds
                .iter()
                .position(|x| x == s)
                .unwrap_or_else(|| panic!("no {s} in {kinds:?}"))
        };
        assert_eq!(kinds[0], "round 1");
        assert_eq!(at("output call_1") + 1, at("output call_2"));
        assert_eq!(at("output call_2") + 1, at("round 2"));
        assert_eq!(
            kinds
                .iter()
                .filter(|k| *k == "tool_calls.function.arguments.done")
                .count(),
            2
        );
        assert!(at("content.done") > at("round 2"));
        assert_eq!(kinds.last().unwrap(), "done");

        let mut text = String::new();
        for event in &events {
            if let ToolLoopEvent::Event(ChatCompletionStreamEvent::ContentDelta {
                delta,
                snapshot,
                ..
            }) = event
            {
                text.push_str(delta);
                assert_eq!(&**snapshot, text);
            }
        }
        assert_eq!(text, "It is 64.4°F in Paris.");

        let ToolLoopEvent::Done(run) = events.last().unwrap() else {
            unreachable!()
        };
        assert!(run.finished);
        assert_eq!(run.rounds, 2);
        assert_eq!(run.answer.content(0), Some("It is 64.4°F in Paris."));
        assert_eq!(
            run.calls[0].output,
            json!({"city": "Paris", "celsius": 18}).to_string()
        );
        // Arguments that do not decode go to the model as the call's error, the loop goes on.
        assert!(
            run.calls[1].output.contains("invalid arguments"),
            "{}",
            run.calls[1].output
        );

        let sent = server.requests();
        assert_eq!(sent.len(), 2);
        let second = sent[1].json().unwrap();
        assert_eq!(second["stream"], json!(true));
        assert_eq!(second["stream_options"], json!({"include_usage": true}));
        let messages = second["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 1 + 1 + 2);
        // The assistant message as the API takes it: no `index` from the deltas.
        assert_eq!(
            messages[1]["tool_calls"][0],
            call("call_1", "get_weather", r#"{"city": "Paris"}"#)
        );
        assert_eq!(
            messages[2],
            json!({"role": "tool", "tool_call_id": "call_1", "content": run.calls[0].output})
        );
        assert_eq!(run.conversation.len(), 1 + 1 + 2 + 1);
    }

    #[tokio::test]
    async fn the_round_limit_ends_the_streamed_loop_unfinished() {
        let server = ScriptedServer::start().await;
        let calling = completion(
            json!({"role": "assistant", "content": null, "tool_calls": [call("c", "get_weather", r#"{"city":"Paris"}"#)]}),
            "tool_calls",
        );
        server
            .post("/v1/chat/completions")
            .respond_all((0..3).map(|_| Reply::chat_stream_of(&calling)));
        let client = client(&server);
        let run = client
            .chat()
            .run_tools_stream(request(json!({})), tools().max_rounds(2))
            .unwrap()
            .final_run()
            .await
            .unwrap();
        assert!(!run.finished);
        assert_eq!(run.rounds, 2);
        assert_eq!(run.calls.len(), 1);
        assert_eq!(server.request_count(), 2);
        assert_eq!(run.answer.choices[0].message.tool_calls.len(), 1);
    }

    #[tokio::test]
    async fn a_connection_cut_mid_round_ends_the_loop_with_a_typed_error() {
        let server = ScriptedServer::start().await;
        let answer = completion(
            json!({"role": "assistant", "content": "Hello there, world and more"}),
            "stop",
        );
        server.post("/v1/chat/completions").respond(
            Reply::chat_stream_of(&answer).fault(openai_sdk::testing::Fault::DropAfter(200)),
        );
        let client = client(&server);
        let mut run = client
            .chat()
            .run_tools_stream(request(json!({})), tools())
            .unwrap();
        let mut last = None;
        while let Some(item) = run.next().await {
            last = Some(item);
        }
        match last {
            Some(Err(openai_sdk::Error::Stream { .. } | openai_sdk::Error::Connection { .. })) => {}
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn dropping_the_streamed_loop_mid_round_closes_the_connection() {
        let server = ScriptedServer::start().await;
        let gate = Gate::new();
        let answer = completion(
            json!({"role": "assistant", "content": "Hello there, world and more"}),
            "stop",
        );
        server.post("/v1/chat/completions").respond(
            Reply::chat_stream_of(&answer)
                .chunking(Chunking::Events)
                .gate(&gate),
        );
        let client = client(&server);
        gate.release(2);
        let mut run = client
            .chat()
            .run_tools_stream(request(json!({})), tools())
            .unwrap();
        assert!(matches!(
            run.next().await,
            Some(Ok(ToolLoopEvent::RoundStarted { round: 1 }))
        ));
        assert!(matches!(
            run.next().await,
            Some(Ok(ToolLoopEvent::Event(_)))
        ));
        drop(run);
        assert!(
            server.wait_for_disconnect(WAIT).await,
            "the server did not see the client leave"
        );
    }

    #[tokio::test]
    async fn dropping_the_loop_future_while_a_tool_runs_drops_the_tool() {
        let server = ScriptedServer::start().await;
        let calling = completion(
            json!({"role": "assistant", "content": null, "tool_calls": [call("c", "get_weather", r#"{"city":"Paris"}"#)]}),
            "tool_calls",
        );
        server
            .post("/v1/chat/completions")
            .respond(Reply::json(200, calling));
        let client = client(&server);
        let stuck = Stuck::default();
        let tools = stuck_tools(&stuck);
        let run =
            tokio::spawn(async move { client.chat().run_tools(request(json!({})), tools).await });
        stuck.wait_started().await;
        assert_eq!(stuck.dropped(), 0);
        run.abort();
        assert!(run.await.unwrap_err().is_cancelled());
        assert_eq!(
            stuck.dropped(),
            1,
            "the running tool was not dropped with the loop"
        );
    }

    // ---- the loop that is not streamed (non-streamed requests) ----

    #[tokio::test]
    async fn the_plain_loop_runs_calls_feeds_outputs_back_and_stops_at_the_answer() {
        let server = ScriptedServer::start().await;
        server.post("/v1/chat/completions").respond_all([
            Reply::json(
                200,
                completion(
                    json!({"role": "assistant", "content": null, "tool_calls": [
                        call("call_1", "get_weather", r#"{"city":"Paris"}"#),
                        call("call_2", "get_weather", r#"{"city":"Atlantis"}"#),
                        call("call_3", "no_such_tool", "{}"),
                        call("call_4", "to_fahrenheit", r#"{"celsius":"warm"}"#),
                    ]}),
                    "tool_calls",
                ),
            ),
            Reply::json(
                200,
                completion(
                    json!({"role": "assistant", "content": null, "tool_calls": [
                        call("call_5", "to_fahrenheit", r#"{"celsius":18}"#),
                    ]}),
                    "tool_calls",
                ),
            ),
            Reply::json(
                200,
                completion(
                    json!({"role": "assistant", "content": "64.4°F in Paris."}),
                    "stop",
                ),
            ),
        ]);
        let client = client(&server);
        let run = client
            .chat()
            .run_tools(request(json!({})), tools())
            .await
            .unwrap();
        assert!(run.finished);
        assert_eq!(run.rounds, 3);
        assert_eq!(run.answer.content(0), Some("64.4°F in Paris."));
        let outputs: Vec<&str> = run.calls.iter().map(|c| c.output.as_str()).collect();
        assert_eq!(
            outputs[0],
            json!({"city": "Paris", "celsius": 18}).to_string()
        );
        assert_eq!(
            outputs[1],
            json!({"error": "no station in Atlantis"}).to_string()
        );
        assert_eq!(
            outputs[2],
            json!({"error": "there is no tool named `no_such_tool`"}).to_string()
        );
        assert!(outputs[3].contains("invalid arguments"), "{}", outputs[3]);
        assert_eq!(outputs[4], "64.4");

        let requests = server.requests();
        assert_eq!(requests.len(), 3);
        let first: Value = serde_json::from_slice(&requests[0].body).unwrap();
        assert_eq!(first["tools"][0]["type"], "function");
        assert_eq!(first["tools"][0]["function"]["name"], "get_weather");
        assert_eq!(first["tools"][0]["function"]["strict"], true);
        assert_eq!(
            first["tools"][0]["function"]["parameters"]["additionalProperties"],
            false
        );
        assert!(first.get("stream").is_none());
        // Round 2 carries the assistant's calls and one `tool` message per call, in order.
        let second: Value = serde_json::from_slice(&requests[1].body).unwrap();
        let messages = second["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 1 + 1 + 4);
        assert_eq!(messages[1]["tool_calls"].as_array().unwrap().len(), 4);
        let ids: Vec<&str> = messages[2..]
            .iter()
            .map(|m| m["tool_call_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["call_1", "call_2", "call_3", "call_4"]);
        assert!(messages[2..].iter().all(|m| m["role"] == "tool"));
        assert_eq!(run.conversation.len(), 1 + 5 + 2 + 1);
    }

    #[tokio::test]
    async fn the_round_limit_stops_a_model_that_keeps_calling_plain() {
        let server = ScriptedServer::start().await;
        let calling = completion(
            json!({"role": "assistant", "content": null, "tool_calls": [call("c", "get_weather", r#"{"city":"Paris"}"#)]}),
            "tool_calls",
        );
        server
            .post("/v1/chat/completions")
            .respond_all((0..5).map(|_| Reply::json(200, calling.clone())));
        let client = client(&server);
        let run = client
            .chat()
            .run_tools(request(json!({})), tools().max_rounds(2))
            .await
            .unwrap();
        assert!(!run.finished);
        assert_eq!(run.rounds, 2);
        assert_eq!(server.request_count(), 2);
        assert_eq!(run.calls.len(), 1);
    }

    /// A final answer that stopped at the length limit or on the content filter ends the
    /// loop normally (nothing of it is parsed), streamed or not; its `finish_reason` says so.
    #[tokio::test]
    async fn a_final_answer_cut_at_the_length_limit_or_by_the_filter_ends_the_loop_normally() {
        let server = ScriptedServer::start().await;
        let calling = completion(
            json!({"role": "assistant", "content": null, "tool_calls": [call("c", "get_weather", r#"{"city":"Paris"}"#)]}),
            "tool_calls",
        );
        for finish in ["length", "content_filter"] {
            let cut = completion(
                json!({"role": "assistant", "content": "It is 18°C in Pa"}),
                finish,
            );
            for streamed in [false, true] {
                server.clear_routes();
                let route = server.post("/v1/chat/completions");
                if streamed {
                    route
                        .respond(Reply::chat_stream_of(&calling))
                        .respond(Reply::chat_stream_of(&cut));
                } else {
                    route
                        .respond(Reply::json(200, calling.clone()))
                        .respond(Reply::json(200, cut.clone()));
                }
                let client = client(&server);
                let run = if streamed {
                    client
                        .chat()
                        .run_tools_stream(request(json!({})), tools())
                        .unwrap()
                        .final_run()
                        .await
                } else {
                    client.chat().run_tools(request(json!({})), tools()).await
                };
                let run = run.unwrap_or_else(|e| panic!("{finish}, streamed {streamed}: {e}"));
                assert!(run.finished);
                assert_eq!(run.rounds, 2);
                assert_eq!(run.calls.len(), 1);
                assert_eq!(run.answer.content(0), Some("It is 18°C in Pa"));
                assert_eq!(run.answer.choices[0].finish_reason.as_deref(), Some(finish));
            }
        }
    }

    /// The round limit stops the loop on an answer whose calls were cut at the length
    /// limit: their arguments would be parsed, so that is the typed error.
    #[tokio::test]
    async fn calls_cut_at_the_length_limit_when_the_round_limit_stops_the_loop_are_an_error() {
        let server = ScriptedServer::start().await;
        let cut = completion(
            json!({"role": "assistant", "content": null, "tool_calls": [call("c", "get_weather", r#"{"city":"Pa"#)]}),
            "length",
        );
        server
            .post("/v1/chat/completions")
            .respond(Reply::json(200, cut));
        let client = client(&server);
        let e = client
            .chat()
            .run_tools(request(json!({})), tools().max_rounds(1))
            .await
            .unwrap_err();
        assert!(
            matches!(e, openai_sdk::Error::LengthFinishReason { .. }),
            "{e}"
        );
    }

    #[tokio::test]
    async fn an_api_error_ends_the_plain_loop_with_the_error() {
        let server = ScriptedServer::start().await;
        server
            .post("/v1/chat/completions")
            .respond(Reply::openai_error(
                400,
                "invalid_request_error",
                "bad model",
            ));
        let client = client(&server);
        match client.chat().run_tools(request(json!({})), tools()).await {
            Err(openai_sdk::Error::Api(e)) => assert_eq!(e.message, "bad model"),
            other => panic!("expected an API error, got {other:?}"),
        }
    }
}
