//! The event handler: callbacks fired as a run stream is read.

use std::marker::PhantomData;
use std::ops::Deref;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::types;
use crate::Error;

/// A borrowed JSON value (a delta, or a part of an accumulated snapshot) with a typed
/// view on demand. It derefs to the [`Value`]; [`to_typed`](Self::to_typed) decodes it
/// into the generated type `T` (O(size of the value), only when asked).
pub struct View<'a, T> {
    json: &'a Value,
    _type: PhantomData<fn() -> T>,
}

impl<T> Clone for View<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for View<'_, T> {}

impl<T> std::fmt::Debug for View<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.json.fmt(f)
    }
}

impl<'a, T> View<'a, T> {
    pub(crate) fn new(json: &'a Value) -> Self {
        View {
            json,
            _type: PhantomData,
        }
    }

    /// The JSON, as sent and accumulated (fields this SDK does not know included).
    pub fn json(&self) -> &'a Value {
        self.json
    }
}

impl<T: DeserializeOwned> View<'_, T> {
    /// Decodes the value into its generated type.
    pub fn to_typed(&self) -> Result<T, Error> {
        crate::error::decode_value(self.json, std::any::type_name::<T>())
    }
}

impl<T> Deref for View<'_, T> {
    type Target = Value;

    fn deref(&self) -> &Value {
        self.json
    }
}

/// An owned JSON object (a run, message or run step) with a typed view on demand. It
/// derefs to the [`Value`]. The JSON is what the API sent, every field kept; the typed
/// form can fail where the API departs from its published spec (recorded runs carry
/// `"instructions": null`, which the spec does not allow), the JSON never does.
///
/// An object a poll helper returns also carries the status and headers of its last read
/// ([`metadata`](Self::metadata)); two snapshots compare by their JSON only.
#[derive(Clone)]
pub struct Snapshot<T> {
    json: Value,
    metadata: Option<crate::ResponseMetadata>,
    _type: PhantomData<fn() -> T>,
}

impl<T> PartialEq for Snapshot<T> {
    fn eq(&self, other: &Self) -> bool {
        self.json == other.json
    }
}

impl<T> std::fmt::Debug for Snapshot<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.json.fmt(f)
    }
}

impl<T> Snapshot<T> {
    /// Wraps a JSON object.
    pub fn new(json: Value) -> Self {
        Snapshot {
            json,
            metadata: None,
            _type: PhantomData,
        }
    }

    /// The status and headers of the answer this object came in, with its request id
    /// and rate limits: the last read of a `*_and_poll` helper (or the creation of
    /// `upload_file`). `None` for an object of a stream's events (the stream itself has
    /// the answer's [`metadata`](crate::assistants::AssistantStream::metadata)).
    pub fn metadata(&self) -> Option<&crate::ResponseMetadata> {
        self.metadata.as_ref()
    }

    /// The request id of [`metadata`](Self::metadata).
    pub fn request_id(&self) -> Option<&str> {
        self.metadata.as_ref()?.request_id()
    }

    pub(crate) fn with_metadata(mut self, metadata: crate::ResponseMetadata) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// The JSON.
    pub fn json(&self) -> &Value {
        &self.json
    }

    /// The JSON, owned.
    pub fn into_json(self) -> Value {
        self.json
    }

    /// The object's `id`.
    pub fn id(&self) -> Option<&str> {
        self.json.get("id").and_then(Value::as_str)
    }

    /// The object's `status` (`completed`, `requires_action`, `in_progress`, ...).
    pub fn status(&self) -> Option<&str> {
        self.json.get("status").and_then(Value::as_str)
    }
}

impl<T: DeserializeOwned> Snapshot<T> {
    /// Decodes the object into its generated type.
    pub fn to_typed(&self) -> Result<T, Error> {
        crate::error::decode_value(&self.json, std::any::type_name::<T>())
    }
}

impl<T> Deref for Snapshot<T> {
    type Target = Value;

    fn deref(&self) -> &Value {
        &self.json
    }
}

/// A run (JSON, typed on demand).
pub type Run = Snapshot<types::RunObject>;
/// A message (JSON, typed on demand).
pub type Message = Snapshot<types::MessageObject>;
/// A run step (JSON, typed on demand).
pub type RunStep = Snapshot<types::RunStepObject>;

/// An event as the handler sees it: its name, its data as sent (JSON, every field) and
/// its typed form.
#[derive(Debug, Clone, Copy)]
pub struct EventView<'a> {
    pub(crate) name: &'a str,
    pub(crate) data: &'a Value,
    pub(crate) typed: &'a types::AssistantStreamEvent,
}

impl<'a> EventView<'a> {
    /// The event type (`thread.run.created`, `thread.message.delta`, ...).
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The event's data, as sent.
    pub fn data(&self) -> &'a Value {
        self.data
    }

    /// The typed event (the generated `AssistantStreamEvent`).
    pub fn typed(&self) -> &'a types::AssistantStreamEvent {
        self.typed
    }

    /// `{"event": name, "data": data}`, the reference's shape.
    pub fn to_json(&self) -> Value {
        serde_json::json!({"event": self.name, "data": self.data})
    }
}

/// A run step: `thread.run.step.*` data or the accumulated snapshot.
pub type RunStepView<'a> = View<'a, types::RunStepObject>;
/// A message: `thread.message.*` data or the accumulated snapshot.
pub type MessageView<'a> = View<'a, types::MessageObject>;
/// A tool call of a run step (accumulated).
pub type ToolCallView<'a> = View<'a, types::RunStepDetailsToolCallsObjectToolCallsItem>;
/// A tool-call fragment of a `thread.run.step.delta`.
pub type ToolCallDeltaView<'a> =
    View<'a, types::RunStepDeltaStepDetailsToolCallsObjectToolCallsItem>;
/// The text of a message content block (accumulated): `{"value": ..., "annotations": [...]}`.
pub type TextView<'a> = View<'a, types::MessageContentTextObjectText>;
/// The text fragment of a message delta.
pub type TextDeltaView<'a> = View<'a, types::MessageDeltaContentTextObjectText>;
/// An image file of a message content block.
pub type ImageFileView<'a> = View<'a, types::MessageContentImageFileObjectImageFile>;
/// The `delta` of a `thread.message.delta`.
pub type MessageDeltaView<'a> = View<'a, types::MessageDeltaObjectDelta>;
/// The `delta` of a `thread.run.step.delta`.
pub type RunStepDeltaView<'a> = View<'a, types::RunStepDeltaObjectDelta>;

/// Callbacks fired while an Assistants run stream is read, as the reference SDK's
/// `AssistantEventHandler`. Every method has a default that does nothing: implement the
/// ones you need. Attach a handler with
/// [`AssistantStream::with_handler`](super::AssistantStream::with_handler).
///
/// Firing rules (see the module docs for the differences from the reference):
/// - every event first gives [`on_event`](Self::on_event);
/// - `thread.run.step.created` gives `on_run_step_created`; each `thread.run.step.delta`
///   gives, per tool-call fragment, `on_tool_call_created` for a tool call seen for the
///   first time (with the call as accumulated, no `on_tool_call_delta`) or
///   `on_tool_call_delta`, then `on_run_step_delta`; a step's completion (or failure,
///   cancellation, expiry) gives `on_tool_call_done` for its last tool call not yet done,
///   then `on_run_step_done`. A new tool call ends the previous one (`on_tool_call_done`);
///   a run status event ends a tool call still open. Each tool call is done once;
/// - `thread.message.created` gives `on_message_created`; each `thread.message.delta`
///   gives `on_text_created` for a text block seen for the first time (with its text
///   after that first fragment), `on_text_delta` for each text fragment, `on_text_done` /
///   `on_image_file_done` for the previous block when a new block starts, then
///   `on_message_delta`; `thread.message.completed`/`incomplete` gives `on_text_done` /
///   `on_image_file_done` for the last block, then `on_message_done`;
/// - any error gives `on_exception` (a timeout first `on_timeout`) before the stream
///   returns it;
/// - the end of every stream gives `on_end`, exactly once, as the reference's `finally`:
///   after the last event of a stream that reached a final run status, and after the
///   `on_exception` of the error that ended any other stream (`thread.run.failed`, an
///   `event: error`, a timeout, a dropped connection, a stream that stopped before a
///   final run status). Errors the stream can be read on after (an unknown event type, a
///   delta for an object never created) do not end it. So `on_end` is the place to clean
///   up. A stream dropped before its end was read gives no `on_end`.
///
/// Delta callbacks get the delta and the accumulated snapshot, which already includes it.
///
/// ```
/// use openai_sdk::assistants::{AssistantEventHandler, TextDeltaView, TextView};
///
/// #[derive(Default)]
/// struct Printer { text: String }
///
/// impl AssistantEventHandler for Printer {
///     fn on_text_delta(&mut self, delta: TextDeltaView<'_>, _snapshot: TextView<'_>) {
///         if let Some(value) = delta["value"].as_str() {
///             self.text.push_str(value);
///         }
///     }
/// }
/// ```
#[allow(unused_variables)]
pub trait AssistantEventHandler {
    /// Every event, first, as decoded.
    fn on_event(&mut self, event: EventView<'_>) {}
    /// The stream is over: once, at its end, whether it completed or an error ended it
    /// (then after `on_exception`).
    fn on_end(&mut self) {}
    /// The stream gave an error (it is also returned by the stream).
    fn on_exception(&mut self, error: &Error) {}
    /// The request or the stream timed out (after which `on_exception` is called too).
    fn on_timeout(&mut self) {}
    /// A run step was created.
    fn on_run_step_created(&mut self, run_step: RunStepView<'_>) {}
    /// A run step delta, with the accumulated step.
    fn on_run_step_delta(&mut self, delta: RunStepDeltaView<'_>, snapshot: RunStepView<'_>) {}
    /// A run step completed, failed, was cancelled or expired (the event's data).
    fn on_run_step_done(&mut self, run_step: RunStepView<'_>) {}
    /// A tool call was seen for the first time (as accumulated after its first fragment).
    fn on_tool_call_created(&mut self, tool_call: ToolCallView<'_>) {}
    /// A fragment of a tool call, with the accumulated call.
    fn on_tool_call_delta(&mut self, delta: ToolCallDeltaView<'_>, snapshot: ToolCallView<'_>) {}
    /// A tool call is complete (once per tool call).
    fn on_tool_call_done(&mut self, tool_call: ToolCallView<'_>) {}
    /// A message was created.
    fn on_message_created(&mut self, message: MessageView<'_>) {}
    /// A message delta, with the accumulated message.
    fn on_message_delta(&mut self, delta: MessageDeltaView<'_>, snapshot: MessageView<'_>) {}
    /// A message completed (or ended incomplete): the event's data.
    fn on_message_done(&mut self, message: MessageView<'_>) {}
    /// A text block started (its text after the first fragment).
    fn on_text_created(&mut self, text: TextView<'_>) {}
    /// A text fragment, with the accumulated text of its block.
    fn on_text_delta(&mut self, delta: TextDeltaView<'_>, snapshot: TextView<'_>) {}
    /// A text block is complete.
    fn on_text_done(&mut self, text: TextView<'_>) {}
    /// An image file block is complete.
    fn on_image_file_done(&mut self, image_file: ImageFileView<'_>) {}
}

/// The handler that does nothing: the default of an [`AssistantStream`](super::AssistantStream).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHandler;

impl AssistantEventHandler for NoHandler {}

impl<H: AssistantEventHandler + ?Sized> AssistantEventHandler for &mut H {
    fn on_event(&mut self, event: EventView<'_>) {
        (**self).on_event(event)
    }
    fn on_end(&mut self) {
        (**self).on_end()
    }
    fn on_exception(&mut self, error: &Error) {
        (**self).on_exception(error)
    }
    fn on_timeout(&mut self) {
        (**self).on_timeout()
    }
    fn on_run_step_created(&mut self, run_step: RunStepView<'_>) {
        (**self).on_run_step_created(run_step)
    }
    fn on_run_step_delta(&mut self, delta: RunStepDeltaView<'_>, snapshot: RunStepView<'_>) {
        (**self).on_run_step_delta(delta, snapshot)
    }
    fn on_run_step_done(&mut self, run_step: RunStepView<'_>) {
        (**self).on_run_step_done(run_step)
    }
    fn on_tool_call_created(&mut self, tool_call: ToolCallView<'_>) {
        (**self).on_tool_call_created(tool_call)
    }
    fn on_tool_call_delta(&mut self, delta: ToolCallDeltaView<'_>, snapshot: ToolCallView<'_>) {
        (**self).on_tool_call_delta(delta, snapshot)
    }
    fn on_tool_call_done(&mut self, tool_call: ToolCallView<'_>) {
        (**self).on_tool_call_done(tool_call)
    }
    fn on_message_created(&mut self, message: MessageView<'_>) {
        (**self).on_message_created(message)
    }
    fn on_message_delta(&mut self, delta: MessageDeltaView<'_>, snapshot: MessageView<'_>) {
        (**self).on_message_delta(delta, snapshot)
    }
    fn on_message_done(&mut self, message: MessageView<'_>) {
        (**self).on_message_done(message)
    }
    fn on_text_created(&mut self, text: TextView<'_>) {
        (**self).on_text_created(text)
    }
    fn on_text_delta(&mut self, delta: TextDeltaView<'_>, snapshot: TextView<'_>) {
        (**self).on_text_delta(delta, snapshot)
    }
    fn on_text_done(&mut self, text: TextView<'_>) {
        (**self).on_text_done(text)
    }
    fn on_image_file_done(&mut self, image_file: ImageFileView<'_>) {
        (**self).on_image_file_done(image_file)
    }
}
