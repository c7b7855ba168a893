//! The automatic tool-call loop of the Responses API: `client.responses().run_tools(...)`
//! and its streamed form `run_tools_stream`.

use futures::future::BoxFuture;
use futures::FutureExt;
use serde_json::{json, Value};

use super::events::ResponseStreamEvent;
use super::snapshot::{parse_response, ParsedResponse, ResponseParseOptions};
use super::stream::ResponseStream;
use crate::tools::{LoopApi, PendingCall, ToolCall, ToolLoopEvent, ToolLoopStream, ToolRun, Tools};
use crate::{Client, Error, ResponseMetadata};

/// The outcome of [`Responses::run_tools`](super::Responses::run_tools): the loop's
/// [`ToolRun`] with the last [`ParsedResponse`] as its `answer` and the input items as its
/// `conversation`.
pub type ResponseToolRun = ToolRun<ParsedResponse>;

/// An event of [`Responses::run_tools_stream`](super::Responses::run_tools_stream).
pub type ResponseToolEvent = ToolLoopEvent<ResponseStreamEvent, ResponseToolRun>;

/// The stream of [`Responses::run_tools_stream`](super::Responses::run_tools_stream).
pub type ResponseToolStream = ToolLoopStream<ResponseStreamEvent, ResponseToolRun>;

/// The conversation of a Responses tool loop.
pub(crate) struct Conversation {
    /// The request without `input`.
    body: Value,
    /// The conversation so far, resent each round (works with `store: false` too).
    input: Vec<Value>,
    /// How the last response is parsed (the request's strict function tools).
    options: ResponseParseOptions,
}

impl Conversation {
    pub(crate) fn new(mut body: Value, tools: &Tools) -> Result<Self, Error> {
        let map = body
            .as_object_mut()
            .ok_or_else(|| Error::InvalidRequest("the request is not an object".into()))?;
        map.remove("stream");
        let mut all_tools = match map.remove("tools") {
            Some(Value::Array(t)) => t,
            _ => Vec::new(),
        };
        all_tools.extend(tools.definitions());
        map.insert("tools".into(), Value::Array(all_tools));
        let input = match map.remove("input") {
            Some(Value::String(text)) => vec![json!({"role": "user", "content": text})],
            Some(Value::Array(items)) => items,
            Some(other) => vec![other],
            None => Vec::new(),
        };
        let options = ResponseParseOptions::from_request(&body, false);
        Ok(Conversation {
            body,
            input,
            options,
        })
    }

    fn body(&self) -> Value {
        let mut body = self.body.clone();
        body["input"] = Value::Array(self.input.clone());
        body
    }
}

impl LoopApi for Conversation {
    type Stream = ResponseStream;
    type Event = ResponseStreamEvent;
    type Run = ResponseToolRun;

    fn send(
        &self,
        client: &Client,
    ) -> BoxFuture<'static, Result<(Value, ResponseMetadata), Error>> {
        let client = client.clone();
        let body = self.body();
        async move {
            let request = client
                .request(reqwest::Method::POST, "/responses")?
                .json(&body);
            let response = client.send(request).await?;
            let metadata = ResponseMetadata::of(&response);
            let bytes = response.bytes().await.map_err(Error::from_reqwest)?;
            let answer = serde_json::from_slice(&bytes).map_err(|e| Error::Decode {
                what: "Response".into(),
                path: ".".into(),
                message: e.to_string(),
                snippet: crate::error::snippet(&bytes),
            })?;
            Ok((answer, metadata))
        }
        .boxed()
    }

    fn open(&self, client: &Client) -> BoxFuture<'static, Result<ResponseStream, Error>> {
        let client = client.clone();
        let body = self.body();
        // Nothing is parsed during the stream: arguments that do not parse go to the
        // tool (and its error to the model), as in the loop that is not streamed.
        async move {
            client
                .responses()
                .stream_with_options(body, ResponseParseOptions::new())
                .await
        }
        .boxed()
    }

    fn streamed_answer(stream: &ResponseStream) -> Result<Value, Error> {
        stream
            .state()
            .final_response()
            .map(ParsedResponse::into_json)
    }

    fn stream_metadata(stream: &ResponseStream) -> ResponseMetadata {
        stream.metadata().clone()
    }

    fn record_answer(&mut self, answer: &Value) -> Vec<PendingCall> {
        let output = answer
            .get("output")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut pending = Vec::new();
        for item in output {
            if item.get("type").and_then(Value::as_str) == Some("function_call") {
                let text = |k: &str| item.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
                pending.push(PendingCall {
                    call_id: text("call_id"),
                    name: text("name"),
                    arguments: text("arguments"),
                });
            }
            self.input.push(unparsed(item));
        }
        pending
    }

    fn record_output(&mut self, call: &ToolCall) {
        self.input.push(
            json!({"type": "function_call_output", "call_id": call.call_id, "output": call.output}),
        );
    }

    fn finish(
        self,
        answer: Value,
        rounds: usize,
        finished: bool,
        calls: Vec<ToolCall>,
        metadata: Vec<ResponseMetadata>,
    ) -> Result<ResponseToolRun, Error> {
        let response = parse_response(answer, &self.options)?;
        Ok(ToolRun {
            answer: response,
            conversation: self.input,
            rounds,
            finished,
            calls,
            metadata,
        })
    }
}

/// An output item as the API sent it: without the `parsed` / `parsed_arguments` fields
/// this SDK adds to a final response (the API refuses them as input).
fn unparsed(item: &Value) -> Value {
    let mut item = item.clone();
    if let Some(map) = item.as_object_mut() {
        map.remove("parsed_arguments");
        if let Some(Value::Array(parts)) = map.get_mut("content") {
            for part in parts.iter_mut().filter_map(Value::as_object_mut) {
                if part.get("type").and_then(Value::as_str) == Some("output_text") {
                    part.remove("parsed");
                }
            }
        }
    }
    item
}
