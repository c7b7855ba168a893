//! The automatic tool-call loop of Chat Completions: `client.chat().run_tools(...)` and its
//! streamed form `run_tools_stream`.

use futures::future::BoxFuture;
use futures::FutureExt;
use serde_json::{json, Map, Value};

use super::completion::{function_tool_calls, ParsedChatCompletion};
use super::events::ChatCompletionStreamEvent;
use super::snapshot::{parse_chat_completion, ParseOptions};
use super::stream::ChatCompletionStream;
use crate::error::StreamErrorKind;
use crate::tools::{LoopApi, PendingCall, ToolCall, ToolLoopEvent, ToolLoopStream, ToolRun, Tools};
use crate::{Client, Error, ResponseMetadata};

/// The outcome of [`Chat::run_tools`](super::Chat::run_tools): the loop's
/// [`ToolRun`] with the last [`ParsedChatCompletion`] as its `answer` and the messages as
/// its `conversation`.
pub type ChatToolRun = ToolRun<ParsedChatCompletion>;

/// An event of [`Chat::run_tools_stream`](super::Chat::run_tools_stream).
pub type ChatToolEvent = ToolLoopEvent<ChatCompletionStreamEvent, ChatToolRun>;

/// The stream of [`Chat::run_tools_stream`](super::Chat::run_tools_stream).
pub type ChatToolStream = ToolLoopStream<ChatCompletionStreamEvent, ChatToolRun>;

/// The conversation of a chat tool loop.
pub(crate) struct Conversation {
    /// The request without `messages`, `stream` and `stream_options`.
    body: Value,
    /// The request's `stream_options`, sent with the streamed rounds only.
    stream_options: Option<Value>,
    messages: Vec<Value>,
    /// The request's tools and the registry's: the last completion is parsed with them.
    options: ParseOptions,
    path: String,
}

impl Conversation {
    pub(crate) fn new(client: &Client, mut body: Value, tools: &Tools) -> Result<Self, Error> {
        let map = body
            .as_object_mut()
            .ok_or_else(|| Error::InvalidRequest("the request is not an object".into()))?;
        map.remove("stream");
        let stream_options = map.remove("stream_options");
        let mut all_tools = match map.remove("tools") {
            Some(Value::Array(t)) => t,
            _ => Vec::new(),
        };
        all_tools.extend(tools.chat_definitions());
        // Unknown tools and bad arguments are answered inside the loop; the last
        // completion is read with the same tool list, so strict calls are parsed.
        let options = ParseOptions::new()
            .tools(all_tools.clone())
            .deny_unknown_tools(false);
        map.insert("tools".into(), Value::Array(all_tools));
        let messages = match map.remove("messages") {
            Some(Value::Array(m)) => m,
            _ => {
                return Err(Error::InvalidRequest(
                    "the request has no `messages` list".into(),
                ))
            }
        };
        let path = client.config().chat_path.clone();
        Ok(Conversation {
            body,
            stream_options,
            messages,
            options,
            path,
        })
    }

    fn body(&self) -> Value {
        let mut body = self.body.clone();
        body["messages"] = Value::Array(self.messages.clone());
        body
    }
}

impl LoopApi for Conversation {
    type Stream = ChatCompletionStream;
    type Event = ChatCompletionStreamEvent;
    type Run = ChatToolRun;

    fn send(
        &self,
        client: &Client,
    ) -> BoxFuture<'static, Result<(Value, ResponseMetadata), Error>> {
        let client = client.clone();
        let body = self.body();
        let path = self.path.clone();
        async move {
            let request = client.request(reqwest::Method::POST, &path)?.json(&body);
            let response = client.send(request).await?;
            let metadata = ResponseMetadata::of(&response);
            let json = crate::error::decode_json::<Map<String, Value>>(response)
                .await?
                .into_inner();
            Ok((Value::Object(json), metadata))
        }
        .boxed()
    }

    fn open(&self, client: &Client) -> BoxFuture<'static, Result<ChatCompletionStream, Error>> {
        let client = client.clone();
        let mut body = self.body();
        if let Some(options) = &self.stream_options {
            body["stream_options"] = options.clone();
        }
        // Nothing is parsed during the stream: arguments that do not parse go to the
        // tool (and its error to the model), as in the loop that is not streamed.
        async move {
            client
                .chat()
                .stream_with_options(body, ParseOptions::new())
                .await
        }
        .boxed()
    }

    fn streamed_answer(stream: &ChatCompletionStream) -> Result<Value, Error> {
        match stream.current_snapshot() {
            Some(snapshot) => Ok(Value::Object(snapshot.to_json())),
            None => Err(Error::Stream {
                kind: StreamErrorKind::Unfinished,
                event: None,
                offset: None,
                message: "the stream of a tool-loop round ended before its first chunk".into(),
            }),
        }
    }

    fn stream_metadata(stream: &ChatCompletionStream) -> ResponseMetadata {
        stream.metadata().clone()
    }

    fn record_answer(&mut self, answer: &Value) -> Vec<PendingCall> {
        let Some(message) = answer
            .get("choices")
            .and_then(|c| c.get(0))
            .and_then(|c| c.get("message"))
        else {
            return Vec::new();
        };
        let message = as_sent(message);
        let pending = function_tool_calls(Some(&message))
            .map(|c| {
                let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_owned();
                let function = c.get("function");
                PendingCall {
                    call_id: text(c.get("id")),
                    name: text(function.and_then(|f| f.get("name"))),
                    arguments: text(function.and_then(|f| f.get("arguments"))),
                }
            })
            .collect();
        self.messages.push(message);
        pending
    }

    fn record_output(&mut self, call: &ToolCall) {
        self.messages
            .push(json!({"role": "tool", "tool_call_id": call.call_id, "content": call.output}));
    }

    fn finish(
        self,
        answer: Value,
        rounds: usize,
        finished: bool,
        calls: Vec<ToolCall>,
        metadata: Vec<ResponseMetadata>,
    ) -> Result<ChatToolRun, Error> {
        let Value::Object(answer) = answer else {
            return Err(Error::InvalidRequest(
                "the completion is not an object".into(),
            ));
        };
        // The loop parses nothing but the arguments of the calls it hands over: an answer
        // without calls (the final one) that stopped at the length limit or on the content
        // filter ends the loop normally, its `finish_reason` saying so. An answer cut off in
        // the middle of its calls (the round limit stopped the loop) is an error, as a
        // parse of what was cut off would be.
        let has_calls = answer
            .get("choices")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|c| {
                c.get("message")
                    .and_then(|m| m.get("tool_calls"))
                    .and_then(Value::as_array)
                    .is_some_and(|calls| !calls.is_empty())
            });
        let plain = ParseOptions::new();
        let options = if has_calls { &self.options } else { &plain };
        let completion =
            parse_chat_completion(&answer, options)?.with_metadata(metadata.last().cloned());
        Ok(ToolRun {
            answer: completion,
            conversation: self.messages,
            rounds,
            finished,
            calls,
            metadata,
        })
    }
}

/// The assistant message as the API takes it back: a streamed snapshot's tool calls carry
/// the `index` of their deltas, which a request must not have.
fn as_sent(message: &Value) -> Value {
    let mut message = message.clone();
    if let Some(Value::Array(calls)) = message.get_mut("tool_calls") {
        for call in calls.iter_mut().filter_map(Value::as_object_mut) {
            call.remove("index");
        }
    }
    message
}
