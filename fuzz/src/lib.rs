//! The checks behind the fuzz targets, one module per target (`fuzz_targets/NAME.rs` calls
//! `NAME::check`). Each check panics when a property fails, which libFuzzer reports as a
//! crash; the library under test must never panic by itself.
//!
//! Shared pieces of the stream targets (chat, Responses, Assistants): [`gen`]
//! builds JSON values from a small vocabulary, [`sse_body`] renders events as an SSE body and
//! [`split`] cuts a body into chunks, drives a pipeline ([`split::Pipeline`],
//! [`split::transcript`]) and reads the raw-bytes mode ([`split::raw_body`]). A new `*_stream`
//! target is a generator of that family's events plus a call to
//! [`split::assert_split_invariant`] over its pipeline.

pub mod gen;
pub mod split;
pub mod sse_body;

pub mod accumulate_delta;
pub mod assistants_stream;
pub mod chat_stream;
pub mod partial_json;
pub mod path_segment;
pub mod responses_stream;
pub mod retry_headers;
pub mod sse_decoder;
pub mod strict_schema;
pub mod webhooks;
pub mod ws_events;
