//! Embeddings fetched as base64 (feature `embeddings`), as the official SDKs do.
//!
//! [`Embeddings::create`] asks for `encoding_format: "base64"` when the request names no
//! format, and decodes the vectors (little-endian `f32`) into the typed response. The API's
//! vectors are `f32`, so nothing is lost; the answer is about a quarter of the size of the
//! JSON floats, and decoding it is a copy instead of parsing thousands of decimal numbers.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;

use crate::types::{
    CreateEmbeddingRequest, CreateEmbeddingRequestEncodingFormat, CreateEmbeddingResponse,
};
use crate::{Client, Error};

/// The Embeddings helper of a [`Client`].
#[derive(Clone, Copy, Debug)]
pub struct Embeddings<'a> {
    client: &'a Client,
}

impl Client {
    /// Embeddings, fetched as base64 unless the request names a format.
    pub fn embeddings(&self) -> Embeddings<'_> {
        Embeddings { client: self }
    }
}

impl Embeddings<'_> {
    /// Creates embeddings (`POST /embeddings`). Without an `encoding_format`, asks for
    /// `base64` and decodes it (the Python SDK's behaviour); with `float`, the API sends
    /// JSON numbers. A `base64` format asked for explicitly is decoded too: the typed
    /// response holds vectors, never strings.
    ///
    /// ```no_run
    /// # async fn run(client: openai_sdk::Client) -> Result<(), openai_sdk::Error> {
    /// let request = serde_json::from_value(serde_json::json!({
    ///     "model": "text-embedding-3-small",
    ///     "input": ["The food was delicious", "The waiter was friendly"],
    /// })).unwrap();
    /// let response = client.embeddings().create(&request).await?;
    /// println!("{} vectors of {} dimensions", response.data.len(), response.data[0].embedding.len());
    /// # Ok(()) }
    /// ```
    #[doc(alias = "createEmbedding")]
    pub async fn create(
        &self,
        request: &CreateEmbeddingRequest,
    ) -> Result<CreateEmbeddingResponse, Error> {
        let mut body = serde_json::to_value(request)
            .map_err(|e| Error::InvalidRequest(format!("the request does not serialize: {e}")))?;
        if request.encoding_format.is_none() {
            body["encoding_format"] =
                Value::from(CreateEmbeddingRequestEncodingFormat::Base64.as_str());
        }
        let http = self
            .client
            .request(reqwest::Method::POST, "/embeddings")?
            .json(&body);
        let response = self.client.send(http).await?;
        let value = crate::error::decode_json::<Value>(response)
            .await?
            .into_inner();
        decode_response(value)
    }
}

/// The typed response from its JSON, with base64 vectors decoded.
pub fn decode_response(mut value: Value) -> Result<CreateEmbeddingResponse, Error> {
    let mut decoded = Vec::new();
    if let Some(data) = value.get_mut("data").and_then(Value::as_array_mut) {
        for (i, item) in data.iter_mut().enumerate() {
            if let Some(Value::String(text)) = item.get_mut("embedding") {
                let vector = decode_vector(text).map_err(|message| {
                    decode_error(format!("data[{i}].embedding"), message, text)
                })?;
                item["embedding"] = Value::Array(Vec::new());
                decoded.push((i, vector));
            }
        }
    }
    let mut response: CreateEmbeddingResponse =
        crate::error::decode_value(&value, "CreateEmbeddingResponse")?;
    for (i, vector) in decoded {
        if let Some(item) = response.data.get_mut(i) {
            item.embedding = vector;
        }
    }
    Ok(response)
}

fn decode_error(path: String, message: String, body: &str) -> Error {
    Error::Decode {
        what: "CreateEmbeddingResponse".into(),
        path,
        message,
        snippet: crate::error::snippet(body.as_bytes()),
    }
}

/// Base64 of little-endian `f32`s.
fn decode_vector(text: &str) -> Result<Vec<f32>, String> {
    let bytes = STANDARD
        .decode(text)
        .map_err(|e| format!("not base64: {e}"))?;
    if bytes.len() % 4 != 0 {
        return Err(format!(
            "{} bytes is not a whole number of f32s",
            bytes.len()
        ));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}
