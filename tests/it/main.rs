//! The integration tests, one module per area, in one binary: the crate is linked once
//! rather than once per file. `cargo test --features full,blocking --test it MODULE::`
//! runs one area. Tests that need a process of their own stay apart: `fault_injection`
//! (a counting global allocator), `azure_env` and `escape_hatches` (environment variables).

#[allow(dead_code)] // each area uses a part of the shared helpers
#[path = "../common/mod.rs"]
mod common;

mod accumulate;
mod assistants_poll;
mod assistants_stream;
mod assistants_stream_props;
mod audio_stream;
mod azure;
mod bounds;
mod chat_parse;
mod chat_reasoning;
mod chat_stream;
mod chat_stream_props;
mod client;
mod credentials;
mod embeddings;
mod examples_cli;
mod file_helpers;
mod forward_compat;
mod idempotency;
mod large_values;
mod pagination;
mod partial_json_jiter;
mod path_params;
#[cfg(feature = "full")]
mod prism;
mod realtime_ws;
mod recorded_types;
mod recording_redaction;
mod redirects;
mod request_options;
mod responses_stream;
mod responses_ws;
mod retries;
mod retry_headers;
#[cfg(feature = "uploads")]
mod send_check;
mod sse;
mod sse_event_limit;
mod strict_schema;
mod strict_schema_schemars;
mod testing_server;
mod tool_concurrency;
mod tool_loops;
mod tracing_logs;
mod webhooks;
