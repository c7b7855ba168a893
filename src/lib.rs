//! openai-sdk: a Rust SDK for the OpenAI API.

pub mod parsing;
