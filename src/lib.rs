//! openai-sdk: a Rust SDK for the OpenAI API.

pub mod accumulate;
pub mod sse;
