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
pub mod sse;
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
pub use generated::types;
pub use metadata::{RateLimit, RateLimits, ResponseExt, ResponseMetadata};
pub use progenitor_client::ResponseValue;
