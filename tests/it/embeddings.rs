//! `client.embeddings().create`: base64 by default, decoded exactly; floats when asked; bad
//! vectors are decode errors with the path. Over loopback to the scripted server and Prism.
#![cfg(feature = "embeddings")]

use crate::common;

use openai_sdk::testing::{Reply, ScriptedServer};
use openai_sdk::types::{CreateEmbeddingRequest, CreateEmbeddingRequestEncodingFormat};
use openai_sdk::Error;
use serde_json::{json, Value};

// `base64.b64encode(array.array('f', [0.1, -2.5, 3e-7, 1.0]).tobytes())` in Python: what
// the API sends for that vector with `encoding_format: "base64"`.
const VECTOR_B64: &str = "zczMPQAAIMCwD6E0AACAPw==";

fn request(format: Option<CreateEmbeddingRequestEncodingFormat>) -> CreateEmbeddingRequest {
    let mut request: CreateEmbeddingRequest =
        serde_json::from_value(json!({"model": "text-embedding-3-small", "input": ["a", "b"]}))
            .unwrap();
    request.encoding_format = format;
    request
}

fn answer(embeddings: [Value; 2]) -> Value {
    json!({"object": "list", "model": "text-embedding-3-small", "usage": {"prompt_tokens": 2, "total_tokens": 2},
           "data": [{"object": "embedding", "index": 0, "embedding": embeddings[0]},
                    {"object": "embedding", "index": 1, "embedding": embeddings[1]}]})
}

#[tokio::test]
async fn base64_by_default_decoded_exactly() {
    let server = ScriptedServer::start().await;
    server
        .post("/v1/embeddings")
        .respond(Reply::json(200, answer([json!(VECTOR_B64), json!("")])));
    let response = server
        .client()
        .embeddings()
        .create(&request(None))
        .await
        .unwrap();
    assert_eq!(response.data[0].embedding, [0.1f32, -2.5, 3e-7, 1.0]);
    assert!(response.data[1].embedding.is_empty());
    assert_eq!(response.usage.total_tokens, 2);
    let sent: Value = serde_json::from_slice(&server.last_request().unwrap().body).unwrap();
    assert_eq!(sent["encoding_format"], "base64");
    assert_eq!(sent["input"], json!(["a", "b"]));
}

#[tokio::test]
async fn an_explicit_format_is_sent_as_given() {
    let server = ScriptedServer::start().await;
    server
        .post("/v1/embeddings")
        .respond(Reply::json(200, answer([json!([0.5, -1.0]), json!([2.0])])));
    let response = server
        .client()
        .embeddings()
        .create(&request(Some(CreateEmbeddingRequestEncodingFormat::Float)))
        .await
        .unwrap();
    assert_eq!(response.data[0].embedding, [0.5f32, -1.0]);
    assert_eq!(response.data[1].embedding, [2.0f32]);
    let sent: Value = serde_json::from_slice(&server.last_request().unwrap().body).unwrap();
    assert_eq!(sent["encoding_format"], "float");

    // base64 asked for explicitly: decoded too (the typed response holds vectors).
    server
        .post("/v1/embeddings")
        .respond(Reply::json(200, answer([json!(VECTOR_B64), json!([1.0])])));
    let response = server
        .client()
        .embeddings()
        .create(&request(Some(CreateEmbeddingRequestEncodingFormat::Base64)))
        .await
        .unwrap();
    assert_eq!(response.data[0].embedding, [0.1f32, -2.5, 3e-7, 1.0]);
}

#[tokio::test]
async fn bad_vectors_are_decode_errors_with_the_path() {
    let server = ScriptedServer::start().await;
    for (bad, expect) in [
        (json!("not base64!"), "not base64"),
        (json!("AAAA"), "whole number of f32s"),
    ] {
        server
            .post("/v1/embeddings")
            .respond(Reply::json(200, answer([json!(VECTOR_B64), bad])));
        let e = server
            .client()
            .embeddings()
            .create(&request(None))
            .await
            .unwrap_err();
        let Error::Decode { path, message, .. } = &e else {
            panic!("expected a decode error, got {e:?}")
        };
        assert_eq!(path, "data[1].embedding");
        assert!(message.contains(expect), "{message}");
    }
    // Something else wrong in the answer: the typed decode's path.
    server.post("/v1/embeddings").respond(Reply::json(
        200,
        json!({"object": "list", "data": [], "model": 3}),
    ));
    let e = server
        .client()
        .embeddings()
        .create(&request(None))
        .await
        .unwrap_err();
    let Error::Decode { path, .. } = &e else {
        panic!("expected a decode error, got {e:?}")
    };
    assert_eq!(path, "model", "{e}");
    // API errors stay API errors.
    server.post("/v1/embeddings").respond(Reply::openai_error(
        400,
        "invalid_request_error",
        "bad model",
    ));
    let e = server
        .client()
        .embeddings()
        .create(&request(None))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(400));
}

/// Prism validates the request (with the added `encoding_format`) against the spec; its
/// example answer has float vectors, which decode as they are.
#[tokio::test]
async fn the_request_fits_the_spec() {
    let client = common::client(&common::prism_url(), false);
    let response = client
        .embeddings()
        .create(&request(None))
        .await
        .unwrap_or_else(|e| panic!("{}", common::describe(&e)));
    assert!(!response.data.is_empty());
}
