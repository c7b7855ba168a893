//! Assistants run streams with an event handler, and the `*_and_poll` helpers (feature
//! `assistants`).
//!
//! **OpenAI has announced the deprecation of the Assistants API** (in favour of the
//! Responses API). This module is complete, but new code should prefer
//! [`responses`](https://platform.openai.com/docs/api-reference/responses).
//!
//! ```no_run
//! # async fn run() -> Result<(), openai_sdk::Error> {
//! use openai_sdk::assistants::{AssistantEventHandler, TextDeltaView, TextView, ToolCallView};
//!
//! struct Printer;
//! impl AssistantEventHandler for Printer {
//!     fn on_text_delta(&mut self, delta: TextDeltaView<'_>, _snapshot: TextView<'_>) {
//!         print!("{}", delta["value"].as_str().unwrap_or(""));
//!     }
//!     fn on_tool_call_done(&mut self, call: ToolCallView<'_>) {
//!         println!("\ntool call: {}", call.json());
//!     }
//! }
//!
//! let client = openai_sdk::Client::new()?;
//! let request = serde_json::from_value(serde_json::json!({"assistant_id": "asst_123"})).unwrap();
//! let mut stream = client
//!     .assistants()
//!     .create_run_stream("thread_123", &request)
//!     .await?
//!     .with_handler(Printer);
//! let run = stream.final_run().await?;
//! println!("\nrun {:?} is {:?}", run.id(), run.status());
//! # Ok(()) }
//! ```
//!
//! # Layout
//!
//! Every public item is at `openai_sdk::assistants::*` (the files below are private):
//!
//! - `handler.rs`: the [`AssistantEventHandler`] trait and the [`View`]s its callbacks get;
//! - `state.rs`: [`AssistantStreamState`], the transport-free state machine;
//! - `stream.rs`: [`AssistantEventPipeline`] (bytes in, events out, no I/O), the async
//!   [`AssistantStream`] and, with the `blocking` feature, `BlockingAssistantStream`;
//! - `poll.rs`: the `*_and_poll` helpers (below).
//!
//! # Polling
//!
//! Between two reads the helper waits the `openai-poll-after-ms` header of the last
//! answer when the server sent one, else the poll interval of [`PollOptions`](crate::polling::PollOptions) (1 s by
//! default). With a timeout, the helper gives up with [`Error::Timeout`] as soon as the
//! next wait would end past it (and never waits past it). Dropping the future cancels
//! the polling (nothing runs in the background).
//!
//! Final statuses: for runs, everything but `queued`, `in_progress` and `cancelling`
//! (`requires_action`, `completed`, `failed`, `cancelled`, `expired`, `incomplete`, and a
//! status this SDK does not know); for vector store files and file batches, everything
//! but `in_progress`.
//!
//! # Design
//!
//! Snapshots are JSON, folded with [`accumulate_delta`](crate::accumulate::accumulate_delta)
//! as the reference folds dicts; every field is kept. Events are the generated
//! [`AssistantStreamEvent`](crate::types::AssistantStreamEvent), decoded by event name
//! (an event whose data does not fit its type is the group's `Unknown` member, kept as
//! sent). Callbacks borrow the snapshots ([`View`]) and decode them only when asked
//! ([`View::to_typed`]), so the work per event is O(size of the event).
//!
//! # Deliberate differences from the reference
//!
//! - `on_tool_call_done` fires once per tool call (the reference fires it again for the
//!   last tool call on every later step or run event);
//! - a finished run step's snapshot is its final data, so `final_run_steps()` returns
//!   completed steps (the reference returns them as of their last delta, `in_progress`);
//! - `event: error` is an error ([`Error::Api`]) given to
//!   `on_exception` (the reference passes it to `on_event` and goes on);
//! - a run that fails, a stream that ends before a final run status, an unknown event
//!   type and a delta for a message or step never created are typed errors, also given
//!   to `on_exception` (the last two are not fatal: the stream can be read on);
//! - deltas find their message by `id` (the reference applies every message delta to the
//!   last message created) and content blocks and tool calls by `index`.

mod handler;
mod poll;
mod state;
mod stream;

pub use handler::{
    AssistantEventHandler, EventView, ImageFileView, Message, MessageDeltaView, MessageView,
    NoHandler, Run, RunStep, RunStepDeltaView, RunStepView, Snapshot, TextDeltaView, TextView,
    ToolCallDeltaView, ToolCallView, View,
};
#[cfg(feature = "vector-stores")]
pub use poll::VectorStorePolling;
pub use state::{AssistantStreamState, DEFAULT_MAX_UNHANDLED_EVENTS};
#[cfg(feature = "blocking")]
pub use stream::BlockingAssistantStream;
pub use stream::{AssistantEventPipeline, AssistantStream, TextDeltas};

use serde::Serialize;

use crate::{Client, Error};

/// The `OpenAI-Beta` header the Assistants API requires.
pub(crate) const BETA_HEADER: (&str, &str) = ("OpenAI-Beta", "assistants=v2");

/// The Assistants helpers of a [`Client`]: `client.assistants()`.
#[derive(Clone, Copy, Debug)]
pub struct Assistants<'a> {
    pub(crate) client: &'a Client,
}

impl Client {
    /// The Assistants helpers: run streams and polling (the Assistants API is deprecated
    /// by OpenAI; see [`assistants`](crate::assistants)).
    pub fn assistants(&self) -> Assistants<'_> {
        Assistants { client: self }
    }
}

/// The request as JSON with `stream: true`.
fn stream_body<R: Serialize>(request: &R) -> Result<serde_json::Value, Error> {
    let mut body = serde_json::to_value(request)
        .map_err(|e| Error::InvalidRequest(format!("the request does not serialize: {e}")))?;
    match body.as_object_mut() {
        Some(map) => {
            map.insert("stream".into(), serde_json::Value::Bool(true));
        }
        None => {
            return Err(Error::InvalidRequest(
                "the request is not a JSON object".into(),
            ))
        }
    }
    Ok(body)
}

fn thread_runs_path(thread_id: &str) -> Result<String, Error> {
    Ok(format!(
        "/threads/{}/runs",
        crate::path_segment("thread_id", thread_id)?
    ))
}

fn submit_path(thread_id: &str, run_id: &str) -> Result<String, Error> {
    Ok(format!(
        "/threads/{}/runs/{}/submit_tool_outputs",
        crate::path_segment("thread_id", thread_id)?,
        crate::path_segment("run_id", run_id)?
    ))
}

impl Assistants<'_> {
    async fn post_stream(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> Result<AssistantStream, Error> {
        let request = self
            .client
            .request(reqwest::Method::POST, path)?
            .header(BETA_HEADER.0, BETA_HEADER.1)
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .json(&body);
        let response = self.client.send(request).await?;
        Ok(AssistantStream::without_handler(response))
    }

    /// `POST /threads/{thread_id}/runs` with `stream: true`: creates a run and streams it.
    pub async fn create_run_stream(
        &self,
        thread_id: &str,
        request: &crate::types::CreateRunRequest,
    ) -> Result<AssistantStream, Error> {
        self.post_stream(&thread_runs_path(thread_id)?, stream_body(request)?)
            .await
    }

    /// `POST /threads/runs` with `stream: true`: creates a thread, runs it and streams
    /// the run.
    pub async fn create_thread_and_run_stream(
        &self,
        request: &crate::types::CreateThreadAndRunRequest,
    ) -> Result<AssistantStream, Error> {
        self.post_stream("/threads/runs", stream_body(request)?)
            .await
    }

    /// `POST /threads/{thread_id}/runs/{run_id}/submit_tool_outputs` with `stream: true`:
    /// submits the outputs of the tool calls a run asked for (`requires_action`) and
    /// streams the rest of the run.
    pub async fn submit_tool_outputs_stream(
        &self,
        thread_id: &str,
        run_id: &str,
        request: &crate::types::SubmitToolOutputsRunRequest,
    ) -> Result<AssistantStream, Error> {
        self.post_stream(&submit_path(thread_id, run_id)?, stream_body(request)?)
            .await
    }

    /// Any of the three with a request body given as JSON (`stream: true` is set here),
    /// for fields this SDK does not know. `path` is relative to the base URL, e.g.
    /// `/threads/thread_1/runs`.
    pub async fn stream_with_body(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> Result<AssistantStream, Error> {
        self.post_stream(path, stream_body(&body)?).await
    }

    #[cfg(feature = "blocking")]
    fn post_stream_blocking(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> Result<BlockingAssistantStream, Error> {
        let response = crate::streaming::driver::send_blocking_with(
            self.client,
            reqwest::Method::POST,
            path,
            &[],
            &[BETA_HEADER],
            Some(&body),
        )?;
        Ok(BlockingAssistantStream::without_handler(response))
    }

    /// The blocking [`create_run_stream`](Self::create_run_stream) (feature `blocking`).
    #[cfg(feature = "blocking")]
    pub fn create_run_stream_blocking(
        &self,
        thread_id: &str,
        request: &crate::types::CreateRunRequest,
    ) -> Result<BlockingAssistantStream, Error> {
        self.post_stream_blocking(&thread_runs_path(thread_id)?, stream_body(request)?)
    }

    /// The blocking [`create_thread_and_run_stream`](Self::create_thread_and_run_stream).
    #[cfg(feature = "blocking")]
    pub fn create_thread_and_run_stream_blocking(
        &self,
        request: &crate::types::CreateThreadAndRunRequest,
    ) -> Result<BlockingAssistantStream, Error> {
        self.post_stream_blocking("/threads/runs", stream_body(request)?)
    }

    /// The blocking [`submit_tool_outputs_stream`](Self::submit_tool_outputs_stream).
    #[cfg(feature = "blocking")]
    pub fn submit_tool_outputs_stream_blocking(
        &self,
        thread_id: &str,
        run_id: &str,
        request: &crate::types::SubmitToolOutputsRunRequest,
    ) -> Result<BlockingAssistantStream, Error> {
        self.post_stream_blocking(&submit_path(thread_id, run_id)?, stream_body(request)?)
    }
}
