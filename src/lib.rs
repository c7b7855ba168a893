//! # openai-sdk
//!
//! A Rust SDK for the OpenAI API. Every operation and type of the API is generated from
//! OpenAI's published OpenAPI spec (see [`generated`] and [`types`]); a hand-written layer
//! adds configuration, typed errors and the helpers on top.
//!
//! ```no_run
//! # async fn run() -> Result<(), openai_sdk::Error> {
//! use openai_sdk::Client;
//!
//! let client = Client::new()?; // reads OPENAI_API_KEY and OPENAI_BASE_URL
//! let models = client.list_models().await?;
//! println!("{} models", models.data.len());
//! # Ok(()) }
//! ```
//!
//! ## Forward compatibility
//!
//! The API grows faster than any SDK release. Every string enum of the spec has a
//! catch-all variant that keeps a value this version does not know (`Other(String)`),
//! every union has `Unknown(serde_json::Value)`, and unknown object fields never fail a
//! decode. All of them serialize back to the JSON they came from.
//!
//! ## Cargo features
//!
//! Each API group is a feature, so that a build compiles only the types it uses. `default`
//! holds chat, responses, files, embeddings, models, moderations, audio and images;
//! `full` turns on every group.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod accumulate;
#[cfg(feature = "assistants")]
pub mod assistants;
#[cfg(feature = "chat")]
pub mod chat;
pub mod client;
mod codegen_support;
#[cfg(feature = "embeddings")]
pub mod embeddings;
pub mod error;
mod extra_fields;
#[cfg(feature = "files")]
pub mod files;
pub mod generic;
pub mod metadata;
pub mod multipart;
pub mod operations;
pub mod pagination;
pub mod parsing;
#[cfg(any(feature = "assistants", feature = "files"))]
pub mod polling;
#[cfg(feature = "realtime")]
pub mod realtime;
#[cfg(feature = "responses")]
pub mod responses;
pub mod retry;
pub mod sse {
    //! Server-sent events (SSE) decoding, without any I/O.
    //!
    //! The first two steps of the stream layer ([`streaming`](crate::streaming)), public for
    //! callers with their own transport: `src/streaming/sse.rs` (WHATWG) and
    //! `src/streaming/frames.rs` (OpenAI conventions).
    //!
    //! This module has two layers:
    //!
    //! 1. [`SseDecoder`] turns raw bytes into [`SseFrame`]s following the WHATWG
    //!    `text/event-stream` rules. It is push-based: hand it whatever byte chunks
    //!    the transport delivers ([`SseDecoder::push`]), drain the complete frames
    //!    ([`SseDecoder::next_frame`]) and call [`SseDecoder::finish`] at end of input.
    //! 2. [`classify`] and [`OpenAiDecoder`] add the OpenAI conventions on top:
    //!    `data: [DONE]` ends the stream, `{"error": ...}` payloads and `event: error`
    //!    become [`ApiErrorPayload`]s, and an event with empty data is an error.
    //!    Everything else is handed back as undecoded JSON text for the caller to
    //!    deserialize into its own types.
    //!
    //! # Example
    //!
    //! ```
    //! use openai_sdk::sse::{OpenAiDecoder, StreamEnd};
    //!
    //! let mut decoder = OpenAiDecoder::new();
    //! // Chunks may be split anywhere, even inside a UTF-8 character or a CRLF.
    //! decoder.push(b"data: {\"id\":\"c1\",\"choices\":[]}\r");
    //! decoder.push(b"\n\r\n: keep-alive\n\nevent: thread.run.created\ndata: {\"a\":");
    //! decoder.push(b"1}\n\ndata: [DONE]\n\n");
    //!
    //! let mut payloads = Vec::new();
    //! while let Some(frame) = decoder.next_event() {
    //!     let frame = frame?;
    //!     // `frame.data` is the JSON text, ready for `serde_json::from_str`.
    //!     let value: serde_json::Value = serde_json::from_str(&frame.data)?;
    //!     payloads.push((frame.event, value));
    //! }
    //! assert_eq!(payloads.len(), 2);
    //! assert_eq!(payloads[1].0.as_deref(), Some("thread.run.created"));
    //! assert!(decoder.is_done());
    //! assert_eq!(decoder.finish(), StreamEnd::Clean);
    //! # Ok::<(), Box<dyn std::error::Error>>(())
    //! ```
    //!
    //! # Performance
    //!
    //! `push` appends the chunk to one internal buffer (a `memcpy`); `next_frame` parses
    //! lines from it on demand, so each frame is built and handed over right away
    //! whatever the chunk size. Line ends are found with `memchr`; the decoder remembers
    //! how far the unfinished line has been scanned and never scans those bytes again, so
    //! the work is linear in the input length however the input is split (a 10 MB line
    //! pushed one byte at a time is scanned once and validated as UTF-8 once). The parsed
    //! prefix of the buffer is dropped on a later push only when that moves no more bytes
    //! than it drops, so every byte is moved at most once.
    //!
    //! # Memory
    //!
    //! The decoder holds the bytes pushed but not parsed yet, and the data of the event
    //! being built. A single line, and the data of a single event, may be up to
    //! [`DEFAULT_MAX_EVENT_SIZE`] bytes (64 MiB) by default;
    //! [`SseDecoder::with_max_event_size`] changes that. Going over the limit is the
    //! [`SseError::EventTooLarge`] error rather than unbounded growth. The limit is checked
    //! while parsing, so it bounds memory for callers that drain frames after each push

    pub use crate::streaming::frames::{
        classify, ApiErrorPayload, Events, OpenAiDecoder, OpenAiFrame,
    };
    pub use crate::streaming::sse::{
        FrameIter, FramePosition, SseDecoder, SseError, SseFrame, StreamEnd, DEFAULT_MAX_EVENT_SIZE,
    };
}
pub mod streaming;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tools;
#[cfg(feature = "uploads")]
pub mod uploads;
#[cfg(feature = "webhooks")]
pub mod webhooks;
#[cfg(feature = "websocket")]
pub mod ws;

/// The client and types generated from `openapi/` by `cargo xtask gen`.
///
/// Do not edit `generated/openai.rs`: change `openapi/patches.json` or `xtask/` and
/// regenerate.
#[allow(
    missing_docs,
    unused_mut,
    unused_imports,
    irrefutable_let_patterns,
    clippy::all,
    rustdoc::bare_urls,
    rustdoc::broken_intra_doc_links,
    rustdoc::invalid_html_tags,
    rustdoc::invalid_rust_codeblocks
)]
#[path = "../generated/openai.rs"]
#[rustfmt::skip]
pub mod generated;

pub use client::{Client, ClientBuilder, RequestOptions};
pub use codegen_support::path_segment;
pub use error::{ApiError, Error, StreamErrorKind, WebhookError};
pub use extra_fields::ExtraFields;
pub use generated::types;
pub use metadata::{RateLimit, RateLimits, ResponseExt, ResponseMetadata};
pub use progenitor_client::ResponseValue;
