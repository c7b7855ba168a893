//! openai-sdk: a Rust SDK for the OpenAI API.

#[cfg(feature = "testing")]
pub mod testing;
