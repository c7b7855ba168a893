//! Responses API streams over real HTTP on loopback (the scripted server): events and
//! snapshots from recordings, structured output, bad input, and resumption of background
//! streams cut at random points.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use openai_sdk::responses::{
    ResponseEventPipeline, ResponseParseOptions, ResponseStreamEvent, ResponseStreamState,
};
use openai_sdk::testing::{Chunking, Fault, Reply, ScriptedServer};
use openai_sdk::{Client, Error, StreamErrorKind};
use serde_json::{json, Value};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/responses")
        .join(name)
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap()
}

fn fixture_json(name: &str) -> Value {
    serde_json::from_slice(&fixture_bytes(name)).unwrap()
}

/// The SSE frames of a recording: (whole frame text with its blank line, data).
fn frames(body: &[u8]) -> Vec<(String, String)> {
    let text = std::str::from_utf8(body).unwrap().replace("\r\n", "\n");
    text.split("\n\n")
        .filter(|f| !f.trim().is_empty())
        .map(|f| {
            let data = f
                .lines()
                .filter_map(|l| l.strip_prefix("data: ").or_else(|| l.strip_prefix("data:")))
                .collect::<Vec<_>>()
                .join("\n");
            (format!("{f}\n\n"), data)
        })
        .collect()
}

fn describe(event: &ResponseStreamEvent) -> String {
    // A text snapshot's `Debug` is its text's (not the whole response's).
    match event {
        ResponseStreamEvent::OutputTextDelta {
            delta, snapshot, ..
        } => format!("text.delta {delta:?} -> {snapshot:?}"),
        ResponseStreamEvent::FunctionCallArgumentsDelta {
            delta, snapshot, ..
        } => {
            format!("arguments.delta {delta:?} -> {snapshot:?}")
        }
        ResponseStreamEvent::OutputTextDone { parsed, .. } => {
            format!("text.done parsed={}", parsed.clone().unwrap_or(Value::Null))
        }
        ResponseStreamEvent::Completed { response, .. } => {
            format!("completed {}", response.status().unwrap_or("?"))
        }
        other => format!(
            "{} #{}",
            other.event_type(),
            other.sequence_number().unwrap_or(-1)
        ),
    }
}

#[tokio::test]
async fn structured_stream_over_http_gives_snapshots_parsed_text_and_arguments() {
    let server = ScriptedServer::start().await;
    server.post("/v1/responses").respond(
        Reply::sse_file(fixture("responses_text_format_and_function_call.sse")).chunking(
            Chunking::Random {
                seed: 7,
                min: 1,
                max: 40,
            },
        ),
    );
    let request = crate::common::responses_request(json!({
        "text": {"format": fixture_json("text_format_location.json")},
        "tools": fixture_json("tools_get_weather.json"),
    }));
    let client = server.client();
    let mut stream = client.responses().stream_structured(request).await.unwrap();
    let mut lines = Vec::new();
    while let Some(event) = stream.next().await {
        lines.push(describe(&event.unwrap()));
    }
    insta::assert_snapshot!("structured_stream_events", lines.join("\n"));

    let response = stream.final_response().await.unwrap();
    assert_eq!(
        response.output_parsed(),
        Some(&json!({"city": "Paris", "temperature": 18, "units": "c"}))
    );
    let call = response.function_calls().next().unwrap();
    assert_eq!(
        call["parsed_arguments"],
        json!({"city": "Paris", "days": 3})
    );
    let snapshot = stream.current_snapshot().unwrap();
    assert_eq!(
        snapshot.arguments(1),
        Some("{\"city\":\"Paris\",\"days\":3}")
    );
    assert_eq!(response.id(), Some("resp_oracle1"));

    // The request: POST /v1/responses with stream: true.
    let sent = server.requests_to("/v1/responses");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].json().unwrap()["stream"], json!(true));

    // Taking the stream gives the same response.
    drop(snapshot);
    assert_eq!(stream.into_final_response().await.unwrap(), response);
}

/// `into_final_response` gives what `final_response` gives, and moves the response parsed
/// from `response.completed` out of the state when nothing else holds it: its `output` is
/// the very array the `response.completed` event carried. Holding that event makes it a
/// copy, with the same value; without `response.completed` it is the same error.
#[test]
fn into_final_response_moves_the_completed_response() {
    let body = fixture_bytes("dotnet_responses_FunctionCallStreamingWorks.sse");
    let tools = fixture_json("dotnet_responses_FunctionCallStreamingWorks.tools.json");
    let run = |keep: bool| {
        let mut pipeline = ResponseEventPipeline::new(
            ResponseParseOptions::new().tools(tools.as_array().unwrap().clone()),
        );
        pipeline.push(&body);
        pipeline.end_of_input();
        let (mut output, mut kept) = (None, Vec::new());
        while let Some(event) = pipeline.next_event() {
            let event = event.unwrap();
            if let ResponseStreamEvent::Completed { response, .. } = &event {
                output = Some(response.json()["output"].as_array().unwrap().as_ptr() as usize);
                if keep {
                    kept.push(event.clone());
                }
            }
        }
        (pipeline, output.expect("a response.completed event"), kept)
    };
    let output_of = |r: &openai_sdk::responses::ParsedResponse| {
        r.json()["output"].as_array().unwrap().as_ptr() as usize
    };
    let (pipeline, _, _) = run(false);
    let copied = pipeline.state().final_response().unwrap();

    let (pipeline, at_event, _) = run(false);
    let moved = pipeline.into_final_response().unwrap();
    assert_eq!(output_of(&moved), at_event, "moved, not copied");
    assert_eq!(moved, copied);

    let (pipeline, at_event, kept) = run(true);
    let shared = pipeline.into_state().into_final_response().unwrap();
    assert_ne!(output_of(&shared), at_event);
    assert_eq!(shared, copied);
    assert_eq!(kept.len(), 1);

    let mut state = ResponseStreamState::new();
    state.handle_json(CREATED.to_owned()).unwrap();
    let e = state.final_response().unwrap_err().to_string();
    assert_eq!(state.into_final_response().unwrap_err().to_string(), e);
}

#[tokio::test]
async fn plain_stream_does_not_parse_text_but_parses_strict_tool_arguments() {
    let server = ScriptedServer::start().await;
    server
        .post("/v1/responses")
        .respond(Reply::sse_file(fixture(
            "responses_text_format_and_function_call.sse",
        )));
    let request =
        crate::common::responses_request(json!({"tools": fixture_json("tools_get_weather.json")}));
    let client = server.client();
    let mut stream = client.responses().stream(request).await.unwrap();
    let mut parsed_on_done = Vec::new();
    while let Some(event) = stream.next().await {
        if let ResponseStreamEvent::OutputTextDone { parsed, .. } = event.unwrap() {
            parsed_on_done.push(parsed);
        }
    }
    assert_eq!(parsed_on_done, vec![None]);
    let response = stream.final_response().await.unwrap();
    assert_eq!(response.output_parsed(), None);
    assert_eq!(
        response.function_calls().next().unwrap()["parsed_arguments"],
        json!({"city": "Paris", "days": 3})
    );
}

#[test]
fn every_split_of_the_bytes_gives_the_same_events() {
    let body = fixture_bytes("dotnet_responses_FunctionCallStreamingWorks.sse");
    let tools = fixture_json("dotnet_responses_FunctionCallStreamingWorks.tools.json");
    let run = |pieces: &mut dyn Iterator<Item = &[u8]>| {
        let mut pipeline = ResponseEventPipeline::new(
            ResponseParseOptions::new().tools(tools.as_array().unwrap().clone()),
        );
        let mut out = Vec::new();
        for piece in pieces {
            pipeline.push(piece);
            while let Some(e) = pipeline.next_event() {
                out.push(e.unwrap().to_reference_json());
            }
        }
        pipeline.end_of_input();
        while let Some(e) = pipeline.next_event() {
            out.push(e.unwrap().to_reference_json());
        }
        out.push(pipeline.state().final_response().unwrap().into_json());
        out
    };
    let whole = run(&mut std::iter::once(&body[..]));
    assert!(whole.len() > 10);
    for size in [1, 2, 3, 7, 64, 1000] {
        assert_eq!(run(&mut body.chunks(size)), whole, "pieces of {size} bytes");
    }
    // Not strict: no parsed arguments (the reference rule).
    let last = whole.last().unwrap();
    assert_eq!(last["output"][0]["parsed_arguments"], Value::Null);
    assert_eq!(
        last["output"][0]["arguments"],
        json!("{\"location\":\"San Francisco, CA\"}")
    );
}

// ---- bad input -------------------------------------------------------------------------

const CREATED: &str = r#"{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","object":"response","status":"in_progress","background":false,"output":[]}}"#;
const ITEM: &str = r#"{"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"id":"msg_1","type":"message","role":"assistant","status":"in_progress","content":[],"future_field":{"kept":true}}}"#;
const PART: &str = r#"{"type":"response.content_part.added","sequence_number":2,"item_id":"msg_1","output_index":0,"content_index":0,"part":{"type":"output_text","text":"","annotations":[]}}"#;

fn delta(seq: i64, output: i64, content: i64, text: &str) -> String {
    json!({"type": "response.output_text.delta", "sequence_number": seq, "item_id": "msg_1",
        "output_index": output, "content_index": content, "delta": text, "obfuscation": "abc"})
    .to_string()
}

fn stream_error(kind: StreamErrorKind) -> impl Fn(&Error) -> bool {
    move |e| matches!(e, Error::Stream { kind: k, .. } if *k == kind)
}

#[test]
fn a_delta_before_its_item_is_an_out_of_order_error_and_the_snapshot_stays_readable() {
    let mut state = ResponseStreamState::new();
    state.handle_json(CREATED.into()).unwrap();
    let e = state.handle_json(delta(1, 0, 0, "Hi")).unwrap_err();
    assert!(stream_error(StreamErrorKind::OutOfOrder)(&e), "{e}");
    assert!(e.to_string().contains("output item 0 was not added"), "{e}");
    assert_eq!(e.reference_class(), "RuntimeError");
    // The state is unchanged and usable: the item and part, then the delta.
    state.handle_json(ITEM.into()).unwrap();
    let e = state.handle_json(delta(3, 0, 0, "Hi")).unwrap_err();
    assert!(
        e.to_string().contains("content part 0 was not added"),
        "{e}"
    );
    state.handle_json(PART.into()).unwrap();
    let event = state.handle_json(delta(4, 0, 0, "Hi")).unwrap();
    assert_eq!(event.text_delta(), Some("Hi"));
    let snapshot = state.snapshot().unwrap();
    assert_eq!(snapshot.output_text(), "Hi");
    // Unknown fields are kept: in the snapshot and in the event's JSON.
    assert_eq!(snapshot.output()[0]["future_field"], json!({"kept": true}));
    assert!(event.raw_json().contains("obfuscation"));
}

#[test]
fn a_sequence_number_going_backwards_is_an_error() {
    let mut state = ResponseStreamState::new();
    for data in [CREATED, ITEM, PART] {
        state.handle_json(data.into()).unwrap();
    }
    state.handle_json(delta(5, 0, 0, "a")).unwrap();
    for seq in [5, 4, 0] {
        let e = state.handle_json(delta(seq, 0, 0, "b")).unwrap_err();
        assert!(stream_error(StreamErrorKind::OutOfOrder)(&e), "{e}");
        assert!(
            e.to_string().contains(&format!(
                "sequence_number {seq} is not after the previous event's 5"
            )),
            "{e}"
        );
    }
    assert_eq!(state.snapshot().unwrap().output_text(), "a");
    assert_eq!(state.last_sequence_number(), Some(5));
}

#[test]
fn the_first_event_must_start_a_response() {
    let mut state = ResponseStreamState::new();
    let e = state.handle_json(ITEM.into()).unwrap_err();
    assert!(e.to_string().contains("before `response.created`"), "{e}");
    assert!(state.snapshot().is_none());
    let e = state.handle_json("{not json".into()).unwrap_err();
    assert!(matches!(e, Error::Decode { .. }), "{e}");
    let e = state
        .handle_json(
            r#"{"type":"response.output_text.delta","sequence_number":1,"output_index":"zero"}"#
                .into(),
        )
        .unwrap_err();
    assert!(matches!(e, Error::Decode { .. }), "{e}");
}

fn run_pipeline(frames: &[String]) -> (Vec<Result<String, Error>>, ResponseEventPipeline) {
    let mut pipeline = ResponseEventPipeline::new(ResponseParseOptions::new());
    for data in frames {
        pipeline.push(format!("data: {data}\n\n").as_bytes());
    }
    pipeline.end_of_input();
    let mut out = Vec::new();
    while let Some(e) = pipeline.next_event() {
        out.push(e.map(|e| e.event_type().to_owned()));
    }
    (out, pipeline)
}

#[test]
fn an_error_event_is_an_api_error() {
    let error = r#"{"type":"error","sequence_number":4,"code":"server_error","message":"The server had an error","param":null}"#;
    let frames = [
        CREATED.to_owned(),
        ITEM.to_owned(),
        PART.to_owned(),
        delta(3, 0, 0, "Hel"),
        error.to_owned(),
        delta(5, 0, 0, "lo"),
    ];
    let (out, pipeline) = run_pipeline(&frames);
    assert_eq!(out.len(), 5, "{out:?}");
    let e = out[4].as_ref().unwrap_err();
    let api = e.api_error().unwrap();
    assert_eq!(
        (api.code.as_deref(), api.message.as_str()),
        (Some("server_error"), "The server had an error")
    );
    assert_eq!(pipeline.state().snapshot().unwrap().output_text(), "Hel");
    assert!(pipeline.state().final_response().is_err());

    // With `event: error`, as the API sends it.
    let mut pipeline = ResponseEventPipeline::new(ResponseParseOptions::new());
    pipeline.push(
        format!("event: response.created\ndata: {CREATED}\n\nevent: error\ndata: {error}\n\n")
            .as_bytes(),
    );
    pipeline.end_of_input();
    assert!(pipeline.next_event().unwrap().is_ok());
    let e = pipeline.next_event().unwrap().unwrap_err();
    assert_eq!(e.api_error().unwrap().code.as_deref(), Some("server_error"));
    assert!(pipeline.next_event().is_none());
}

#[test]
fn failed_and_incomplete_responses_are_yielded_then_raised() {
    let failed = json!({"type": "response.failed", "sequence_number": 4, "response": {
        "id": "resp_1", "object": "response", "status": "failed", "output": [],
        "error": {"code": "server_error", "message": "The model crashed"}}})
    .to_string();
    let frames = [
        CREATED.to_owned(),
        ITEM.to_owned(),
        PART.to_owned(),
        delta(3, 0, 0, "Hel"),
        failed,
    ];
    let (out, pipeline) = run_pipeline(&frames);
    assert_eq!(out.len(), 6, "{out:?}");
    assert_eq!(out[4].as_ref().unwrap(), "response.failed");
    let e = out[5].as_ref().unwrap_err();
    assert_eq!(
        e.to_string(),
        "API error (in stream, response_failed, code server_error): response resp_1 failed: The model crashed"
    );
    assert_eq!(
        pipeline.state().snapshot().unwrap().status(),
        Some("failed")
    );
    assert_eq!(
        pipeline
            .state()
            .final_response()
            .unwrap_err()
            .api_error()
            .unwrap()
            .code
            .as_deref(),
        Some("server_error")
    );

    // The error says the response is incomplete and why; nothing was to be parsed, so
    // it says nothing of parsing.
    for (reason, class, text) in [
        (
            "max_output_tokens",
            "LengthFinishReasonError",
            "the response resp_1 is incomplete: the output token limit (`max_output_tokens`) was reached (incomplete_details.reason \"max_output_tokens\")",
        ),
        (
            "content_filter",
            "ContentFilterFinishReasonError",
            "the response resp_1 is incomplete: the content filter stopped the output (incomplete_details.reason \"content_filter\")",
        ),
        (
            "something_new",
            "APIError",
            "stream error (response incomplete): the response resp_1 is incomplete (incomplete_details.reason \"something_new\")",
        ),
    ] {
        let incomplete = json!({"type": "response.incomplete", "sequence_number": 4, "response": {
            "id": "resp_1", "object": "response", "status": "incomplete", "output": [],
            "incomplete_details": {"reason": reason}}})
        .to_string();
        let frames = [
            CREATED.to_owned(),
            ITEM.to_owned(),
            PART.to_owned(),
            delta(3, 0, 0, "Hel"),
            incomplete,
        ];
        let (out, pipeline) = run_pipeline(&frames);
        assert_eq!(out[4].as_ref().unwrap(), "response.incomplete");
        assert_eq!(
            out[5].as_ref().unwrap_err().reference_class(),
            class,
            "{reason}"
        );
        assert_eq!(out[5].as_ref().unwrap_err().to_string(), text);
        assert_eq!(
            pipeline
                .state()
                .final_response()
                .unwrap_err()
                .reference_class(),
            class
        );
    }
}

#[test]
fn a_stream_without_response_completed_is_a_typed_error() {
    let frames = [
        CREATED.to_owned(),
        ITEM.to_owned(),
        PART.to_owned(),
        delta(3, 0, 0, "Hel"),
    ];
    let (out, pipeline) = run_pipeline(&frames);
    assert_eq!(out.len(), 5);
    assert!(stream_error(StreamErrorKind::NoFinalEvent)(
        out[4].as_ref().unwrap_err()
    ));
    let e = pipeline.state().final_response().unwrap_err();
    assert!(stream_error(StreamErrorKind::NoFinalEvent)(&e), "{e}");
    assert_eq!(e.reference_class(), "RuntimeError");
    assert_eq!(pipeline.state().snapshot().unwrap().output_text(), "Hel");
}

#[test]
fn reasoning_summaries_refusals_and_annotations_are_folded() {
    let mut state = ResponseStreamState::new();
    let events = [
        CREATED.to_owned(),
        json!({"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"id":"rs_1","type":"reasoning","summary":[]}}).to_string(),
        json!({"type":"response.reasoning_summary_part.added","sequence_number":2,"item_id":"rs_1","output_index":0,"summary_index":0,"part":{"type":"summary_text","text":""}}).to_string(),
        json!({"type":"response.reasoning_summary_text.delta","sequence_number":3,"item_id":"rs_1","output_index":0,"summary_index":0,"delta":"Think"}).to_string(),
        json!({"type":"response.reasoning_summary_text.delta","sequence_number":4,"item_id":"rs_1","output_index":0,"summary_index":0,"delta":"ing"}).to_string(),
        json!({"type":"response.output_item.added","sequence_number":5,"output_index":1,"item":{"id":"msg_1","type":"message","role":"assistant","content":[]}}).to_string(),
        json!({"type":"response.content_part.added","sequence_number":6,"item_id":"msg_1","output_index":1,"content_index":0,"part":{"type":"refusal","refusal":""}}).to_string(),
        json!({"type":"response.refusal.delta","sequence_number":7,"item_id":"msg_1","output_index":1,"content_index":0,"delta":"No"}).to_string(),
        json!({"type":"response.content_part.added","sequence_number":8,"item_id":"msg_1","output_index":1,"content_index":1,"part":{"type":"output_text","text":"","annotations":[]}}).to_string(),
        json!({"type":"response.output_text.annotation.added","sequence_number":9,"item_id":"msg_1","output_index":1,"content_index":1,"annotation_index":0,"annotation":{"type":"url_citation","url":"https://example.com"}}).to_string(),
    ];
    for e in events {
        state.handle_json(e).unwrap();
    }
    let snapshot = state.snapshot().unwrap();
    assert_eq!(
        snapshot.output()[0]["summary"][0]["text"],
        json!("Thinking")
    );
    assert_eq!(snapshot.output()[1]["content"][0]["refusal"], json!("No"));
    assert_eq!(
        snapshot.output()[1]["content"][1]["annotations"][0]["url"],
        json!("https://example.com")
    );
}

// ---- resumption --------------------------------------------------------------------------

/// A tiny deterministic generator (the cut points of a seed).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, bound: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % bound.max(1)
    }
}

fn sequence_of(data: &str) -> i64 {
    serde_json::from_str::<Value>(data).unwrap()["sequence_number"]
        .as_i64()
        .unwrap()
}

/// Serves the background recording on `POST /v1/responses` and
/// `GET /v1/responses/{id}?stream=true&starting_after=N`, cutting every body at a random
/// point after its first event (the last body of a run may be whole).
fn serve_background(server: &ScriptedServer, seed: u64) {
    let frames = Arc::new(frames(&fixture_bytes(
        "dotnet_responses_CanStreamBackgroundResponses.sse",
    )));
    let rng = Arc::new(Mutex::new(Lcg(seed)));
    let body_from = move |after: Option<i64>, rng: &Mutex<Lcg>| {
        let chosen: Vec<&(String, String)> = frames
            .iter()
            .filter(|(_, d)| after.is_none_or(|a| sequence_of(d) > a))
            .collect();
        let body: String = chosen.iter().map(|(f, _)| f.as_str()).collect();
        let first = chosen.first().map_or(0, |(f, _)| f.len());
        let mut rng = rng.lock().unwrap();
        let reply = Reply::sse_raw(body.clone()).chunking(Chunking::Random {
            seed: rng.0,
            min: 1,
            max: 4096,
        });
        if rng.next(4) == 0 {
            reply
        } else {
            let cut = first + 1 + rng.next(body.len().saturating_sub(first + 1));
            reply.fault(Fault::DropAfter(cut))
        }
    };
    let post_body = body_from.clone();
    let post_rng = Arc::clone(&rng);
    server
        .post("/v1/responses")
        .respond_with(move |_| post_body(None, &post_rng));
    server.get("/v1/responses/*").respond_with(move |request| {
        assert_eq!(request.query_param("stream"), Some("true"));
        let after = request
            .query_param("starting_after")
            .map(|a| a.parse::<i64>().unwrap());
        assert!(after.is_some(), "a resume names the last event");
        body_from(after, &rng)
    });
}

#[tokio::test]
async fn background_streams_resume_after_random_cuts_with_no_event_lost_or_repeated() {
    let expected: Vec<String> = frames(&fixture_bytes(
        "dotnet_responses_CanStreamBackgroundResponses.sse",
    ))
    .into_iter()
    .map(|(_, d)| d)
    .collect();
    let mut total_resumes = 0;
    for seed in 0..40u64 {
        let server = ScriptedServer::start().await;
        serve_background(&server, seed);
        let client = server.client();
        let mut stream = client
            .responses()
            .stream(crate::common::responses_request(
                json!({"background": true}),
            ))
            .await
            .unwrap()
            .max_resumes(5);
        let mut got = Vec::new();
        while let Some(event) = stream.next().await {
            got.push(
                event
                    .unwrap_or_else(|e| panic!("seed {seed}: {e}"))
                    .raw_json()
                    .to_owned(),
            );
        }
        assert_eq!(got.len(), expected.len(), "seed {seed}");
        assert!(got == expected, "seed {seed}: the events differ");
        let response = stream.final_response().await.unwrap();
        assert_eq!(response.status(), Some("completed"));
        let resumes = server.requests().len() - 1;
        assert_eq!(stream.connections() as usize, resumes + 1, "seed {seed}");
        total_resumes += resumes;
    }
    assert!(
        total_resumes >= 40,
        "the cuts were exercised ({total_resumes} resumptions)"
    );
}

#[tokio::test]
async fn a_refused_resume_is_an_api_error_and_the_snapshot_stays() {
    let server = ScriptedServer::start().await;
    let body = fixture_bytes("dotnet_responses_CanStreamBackgroundResponses.sse");
    server
        .post("/v1/responses")
        .respond(Reply::sse_raw(body.clone()).fault(Fault::DropAfter(body.len() / 2)));
    server.get("/v1/responses/*").respond(Reply::openai_error(
        404,
        "invalid_request_error",
        "No response found",
    ));
    let client = server.client();
    let mut stream = client
        .responses()
        .stream(crate::common::responses_request(
            json!({"background": true}),
        ))
        .await
        .unwrap();
    let (events, error) = crate::common::until_error(&mut stream).await;
    assert_eq!(error.status(), Some(404), "{error}");
    assert!(events > 2);
    assert!(stream.next().await.is_none());
    let snapshot = stream.current_snapshot().unwrap();
    assert_eq!(snapshot.status(), Some("in_progress"));
    assert!(!snapshot.output_text().is_empty());
    let get =
        server.requests_to("/v1/responses/resp_0a5004ef5dc3564c0069845a9c82c481938b9b7c975a6f56b1");
    assert_eq!(get.len(), 1);
    assert_eq!(
        get[0].query_param("starting_after"),
        Some(
            stream
                .state()
                .last_sequence_number()
                .unwrap()
                .to_string()
                .as_str()
        )
    );
}

#[tokio::test]
async fn a_dropped_foreground_stream_is_not_resumed() {
    let server = ScriptedServer::start().await;
    let body = fixture_bytes("responses_text_format_and_function_call.sse");
    server
        .post("/v1/responses")
        .respond(Reply::sse_raw(body.clone()).fault(Fault::DropAfter(body.len() / 2)));
    let client = server.client();
    let mut stream = client
        .responses()
        .stream(crate::common::responses_request(json!({})))
        .await
        .unwrap();
    let mut last = None;
    while let Some(event) = stream.next().await {
        last = Some(event);
    }
    let error = last.unwrap().unwrap_err();
    assert!(
        matches!(error, Error::Stream { .. } | Error::Connection { .. }),
        "{error}"
    );
    assert_eq!(server.requests().len(), 1);
    assert!(stream.final_response().await.is_err());
}

#[tokio::test]
async fn resumes_are_bounded_when_no_event_arrives() {
    let server = ScriptedServer::start().await;
    let body = fixture_bytes("dotnet_responses_CanStreamBackgroundResponses.sse");
    server
        .post("/v1/responses")
        .respond(Reply::sse_raw(body.clone()).fault(Fault::DropAfter(body.len() / 2)));
    // Every resume is cut before its first event ends.
    server.get("/v1/responses/*").respond_with(|_| {
        Reply::sse_raw("event: response.output_text.delta\ndata: {\"ty").fault(Fault::DropAfter(20))
    });
    let client = server.client();
    let mut stream = client
        .responses()
        .stream(crate::common::responses_request(
            json!({"background": true}),
        ))
        .await
        .unwrap()
        .max_resumes(4);
    let mut last = None;
    while let Some(event) = stream.next().await {
        last = Some(event);
    }
    assert!(last.unwrap().is_err());
    assert_eq!(server.requests().len(), 1 + 4);
}

// ---- structured output (non-streaming) -----------------------------------------------------

#[derive(serde::Deserialize, schemars::JsonSchema, Debug, PartialEq)]
struct Location {
    city: String,
    temperature: f64,
    units: Units,
}

#[derive(serde::Deserialize, schemars::JsonSchema, Debug, PartialEq)]
#[serde(rename_all = "lowercase")]
enum Units {
    C,
    F,
}

fn completed_response() -> Value {
    let frames = frames(&fixture_bytes(
        "responses_text_format_and_function_call.sse",
    ));
    let last: Value = serde_json::from_str(&frames.last().unwrap().1).unwrap();
    last["response"].clone()
}

#[tokio::test]
async fn parse_sends_a_strict_schema_and_decodes_the_output() {
    let server = ScriptedServer::start().await;
    server
        .post("/v1/responses")
        .respond(Reply::json(200, completed_response()));
    let client = server.client();
    let parsed = client
        .responses()
        .parse::<Location>(crate::common::responses_request(json!({})))
        .await
        .unwrap();
    assert_eq!(
        parsed.output_parsed(),
        Some(&Location {
            city: "Paris".into(),
            temperature: 18.0,
            units: Units::C
        })
    );
    let sent = server.requests()[0].json().unwrap();
    let format = &sent["text"]["format"];
    assert_eq!(format["type"], json!("json_schema"));
    assert_eq!(format["name"], json!("Location"));
    assert_eq!(format["strict"], json!(true));
    assert_eq!(format["schema"]["additionalProperties"], json!(false));
    assert_eq!(
        format["schema"]["required"],
        json!(["city", "temperature", "units"])
    );
    assert!(sent.get("stream").is_none());

    // An incomplete response is a typed error.
    let mut incomplete = completed_response();
    incomplete["status"] = json!("incomplete");
    incomplete["incomplete_details"] = json!({"reason": "max_output_tokens"});
    server
        .post("/v1/responses")
        .respond(Reply::json(200, incomplete));
    let e = client
        .responses()
        .parse::<Location>(crate::common::responses_request(json!({})))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::LengthFinishReason { .. }), "{e}");
}

/// A background stream whose body stalls after its first events, for longer than the
/// client's read timeout: the stall is not a dropped connection to resume, but the typed
/// timeout that ends the stream.
fn serve_stall(server: &ScriptedServer) -> usize {
    let body = fixture_bytes("dotnet_responses_CanStreamBackgroundResponses.sse");
    let before: usize = frames(&body).iter().take(3).map(|(f, _)| f.len()).sum();
    server
        .post("/v1/responses")
        .respond(Reply::sse_raw(body).fault(Fault::StallAfter {
            bytes: before,
            // Far longer than the read timeout: the test never waits for it to end.
            duration: std::time::Duration::from_secs(3600),
        }));
    server.get("/v1/responses/*").respond(Reply::openai_error(
        500,
        "server_error",
        "no resume expected",
    ));
    3
}

fn stalling_client(server: &ScriptedServer) -> Client {
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

#[tokio::test]
async fn a_stall_longer_than_the_read_timeout_is_a_timeout_error() {
    let server = ScriptedServer::start().await;
    let sent = serve_stall(&server);
    let client = stalling_client(&server);
    let mut stream = client
        .responses()
        .stream(crate::common::responses_request(
            json!({"background": true}),
        ))
        .await
        .unwrap();
    let (events, error) = crate::common::until_error(&mut stream).await;
    assert!(
        matches!(error, Error::Timeout { .. }),
        "expected a timeout, got {error:?}"
    );
    assert_eq!(events, sent, "the events before the stall");
    assert!(stream.next().await.is_none(), "nothing follows the timeout");
    assert_eq!(server.requests().len(), 1, "a stall is not resumed");
    assert_eq!(stream.connections(), 1);
    assert_eq!(
        stream.current_snapshot().unwrap().status(),
        Some("in_progress")
    );
}

#[cfg(feature = "blocking")]
#[test]
fn a_blocking_stream_stall_longer_than_the_read_timeout_is_a_timeout_error() {
    let server = ScriptedServer::start_blocking();
    let sent = serve_stall(&server);
    let client = stalling_client(&server);
    let mut stream = client
        .responses()
        .stream_blocking(crate::common::responses_request(
            json!({"background": true}),
        ))
        .unwrap();
    let (events, error) = crate::common::until_error_blocking(&mut stream);
    assert!(
        matches!(error, Error::Timeout { .. }),
        "expected a timeout, got {error:?}"
    );
    assert_eq!(events, sent, "the events before the stall");
    assert!(stream.next().is_none(), "nothing follows the timeout");
    assert_eq!(server.requests().len(), 1, "a stall is not resumed");
    assert_eq!(
        stream.current_snapshot().unwrap().status(),
        Some("in_progress")
    );
}

#[cfg(feature = "blocking")]
#[test]
fn blocking_stream_resumes_too() {
    let expected: Vec<String> = frames(&fixture_bytes(
        "dotnet_responses_CanStreamBackgroundResponses.sse",
    ))
    .into_iter()
    .map(|(_, d)| d)
    .collect();
    let server = ScriptedServer::start_blocking();
    serve_background(&server, 99);
    let client = Client::builder()
        .api_key("sk-test")
        .base_url(server.base_url())
        .build()
        .unwrap();
    let mut stream = client
        .responses()
        .stream_blocking(crate::common::responses_request(
            json!({"background": true}),
        ))
        .unwrap()
        .max_resumes(5);
    let got: Vec<String> = stream
        .by_ref()
        .map(|e| e.unwrap().raw_json().to_owned())
        .collect();
    assert!(got == expected);
    let response = stream.final_response().unwrap();
    assert_eq!(response.status(), Some("completed"));
    assert!(server.requests().len() > 1);
    assert_eq!(stream.into_final_response().unwrap(), response);
}

#[test]
fn a_recorded_resume_continues_the_same_snapshot() {
    let full = frames(&fixture_bytes(
        "dotnet_responses_CanStreamBackgroundResponses.sse",
    ));
    let mut pipeline = ResponseEventPipeline::new(ResponseParseOptions::new());
    // The first connection gives events 0 and 1, then drops.
    for (frame, _) in &full[..2] {
        pipeline.push(frame.as_bytes());
    }
    pipeline.end_of_input();
    assert!(pipeline.next_event().unwrap().is_ok());
    assert!(pipeline.next_event().unwrap().is_ok());
    let dropped = pipeline.next_event().unwrap().unwrap_err();
    assert!(
        stream_error(StreamErrorKind::NoFinalEvent)(&dropped),
        "{dropped}"
    );
    // The recorded `GET ...?stream=true&starting_after=1` carries on from sequence number 2.
    pipeline.reconnect();
    pipeline.push(&fixture_bytes(
        "dotnet_responses_CanStreamBackgroundResponses_e2.sse",
    ));
    pipeline.end_of_input();
    let mut texts = String::new();
    while let Some(event) = pipeline.next_event() {
        if let Some(d) = event.unwrap().text_delta() {
            texts.push_str(d);
        }
    }
    assert_eq!(pipeline.connections(), 2);
    let response = pipeline.state().final_response().unwrap();
    assert_eq!(response.status(), Some("completed"));
    assert_eq!(response.output_text(), texts);
    assert_eq!(pipeline.state().snapshot().unwrap().output_text(), texts);
    assert!(texts.len() > 100);
}

// ---- tool loop -----------------------------------------------------------------------------

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct City {
    city: String,
}

#[tokio::test]
async fn the_tool_loop_runs_parallel_calls_sends_errors_back_and_stops_at_the_answer() {
    let server = ScriptedServer::start().await;
    let call = |id: &str, name: &str, args: Value| {
        json!({"type": "function_call", "id": format!("fc_{id}"), "call_id": format!("call_{id}"), "name": name,
            "arguments": args.to_string(), "status": "completed"})
    };
    let answer = |output: Value| {
        Reply::json(
            200,
            json!({"id": "resp", "object": "response", "status": "completed", "output": output}),
        )
    };
    server
        .post("/v1/responses")
        .respond(answer(json!([
            call("1", "get_weather", json!({"city": "Paris"})),
            call("2", "get_weather", json!({"city": "Atlantis"})),
            call("3", "nope", json!({})),
        ])))
        .respond(answer(
            json!([{"type": "message", "id": "m", "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": "Paris: 18", "annotations": []}]}]),
        ));
    let tools = openai_sdk::tools::Tools::new()
        .tool("get_weather", "Weather", |a: City| async move {
            if a.city == "Atlantis" {
                Err("no such city".to_owned())
            } else {
                Ok(json!({"celsius": 18}))
            }
        })
        .unwrap();
    let client = server.client();
    let run = client
        .responses()
        .run_tools(crate::common::responses_request(json!({})), tools)
        .await
        .unwrap();
    assert!(run.finished);
    assert_eq!(run.rounds, 2);
    assert_eq!(run.answer.output_text(), "Paris: 18");
    let sent = server.requests();
    assert_eq!(sent.len(), 2);
    let first = sent[0].json().unwrap();
    assert_eq!(first["tools"][0]["strict"], json!(true));
    assert_eq!(
        first["tools"][0]["parameters"]["additionalProperties"],
        json!(false)
    );
    let second = sent[1].json().unwrap();
    let outputs: Vec<(&str, &str)> = second["input"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "function_call_output")
        .map(|i| {
            (
                i["call_id"].as_str().unwrap(),
                i["output"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(outputs.len(), 3);
    assert_eq!(outputs[0], ("call_1", "{\"celsius\":18}"));
    assert_eq!(outputs[1], ("call_2", "{\"error\":\"no such city\"}"));
    assert!(outputs[2].1.contains("no tool named `nope`"), "{outputs:?}");
    // The conversation is resent: the user input, the three calls, their outputs.
    assert_eq!(second["input"].as_array().unwrap().len(), 1 + 3 + 3);
}
