//! Integration tests against the Prism mock server of OpenAI's OpenAPI spec.
//!
//! Prism validates every request against the spec (a violation is a 422 listing what is
//! wrong) and answers with bodies that fit the response schemas; with
//! `Prefer: dynamic=true` the bodies are random and carry extra properties. So each
//! operation below checks that
//! - the SDK serializes a realistic request the way the spec says (no 422),
//! - the answer decodes into our types, including random ones (forward compatibility).
//!
//! Needs a running Prism: `.ci/prism.sh start`, then
//! `PRISM_URL=http://127.0.0.1:4010 cargo test --features full --test it prism::`
//! (`PRISM_DYNAMIC_ROUNDS=25` for a longer fuzzing run).
//!
//! Every operation of the SDK is called except `createSpeech` (Prism cannot answer it)
//! and streaming (Prism cannot send SSE). Where Prism or the spec stand in the way, the
//! test says so rather than skipping:
//! - a few static answers are examples of the spec that break the spec's own schema: those
//!   must fail to decode exactly there ([`BadSpecExample`]), and their dynamic answers must
//!   decode;
//! - Prism's random-body generator sometimes crashes (a 500 with a JavaScript
//!   `TypeError`): the harness calls again;
//! - Prism does not parse a JSON form field into an object, so `create_realtime_call` goes
//!   without `session`; and it reads an array field of a form only as repeated parts of the
//!   same name, so `create_image_edit_upload` sends one image (the SDK, like the official
//!   SDKs, sends several as `image[]`).

use crate::common;

use std::collections::BTreeSet;
use std::num::NonZeroU64;

use common::{body, client, describe, prism_url, BadSpecExample, Harness};
use openai_sdk::multipart::FilePart;
use openai_sdk::operations::{AuditLogQuery, TimeRange};
use openai_sdk::{types, Error};
use serde_json::json;

/// Operations of the spec (by operation id) that this run does not call, and why.
const NOT_CALLED: &[(&str, &str)] = &[(
    "createSpeech",
    "Prism cannot answer it: the answer is binary audio or an event stream",
)];

/// Operation ids whose method is named otherwise (hand-written in `src/operations.rs`).
const RENAMED: &[(&str, &str)] = &[(
    "Createcontentprovenancecheck",
    "create_content_provenance_check",
)];

/// Methods of the SDK that are a second form of an operation of the spec (another body
/// encoding or typed query), called in addition to the operation itself.
const EXTRA_FORMS: &[&str] = &[
    "create_image_edit_upload",
    "create_realtime_call_sdp",
    "list_audit_logs_filtered",
    "list_fine_tuning_jobs_with_metadata",
];

/// Every operation of the pinned spec, as (operation id, SDK method name): the generator
/// names a method after its operation id in snake case.
fn spec_operations() -> Vec<(String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.yaml");
    let spec = std::fs::read_to_string(path).expect("openapi/openapi.yaml");
    let ops: Vec<(String, String)> = spec
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("operationId:"))
        .map(|id| id.trim().trim_matches(|c| c == '"' || c == '\'').to_owned())
        .map(|id| {
            let method = RENAMED
                .iter()
                .find(|(from, _)| *from == id)
                .map_or_else(|| snake_case(&id), |(_, to)| (*to).to_owned());
            (id, method)
        })
        .collect();
    assert!(ops.len() > 200, "only {} operation ids read", ops.len());
    ops
}

/// `createChatCompletion` -> `create_chat_completion`, `ListFTJobs` -> `list_ft_jobs`.
fn snake_case(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    let mut out = String::with_capacity(id.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        if c == '-' {
            out.push('_');
        } else if c.is_ascii_uppercase() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next_lower = chars.get(i + 1).is_some_and(char::is_ascii_lowercase);
            if prev.is_some_and(|p| {
                p.is_ascii_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_ascii_uppercase() && next_lower)
            }) {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A tiny RIFF/WAVE header followed by silence: enough to look like audio.
fn wav() -> FilePart {
    let mut data = b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x80\x3e\x00\x00\x00\x7d\x00\x00\x02\x00\x10\x00data\x00\x00\x00\x00".to_vec();
    data.extend_from_slice(&[0u8; 64]);
    FilePart::bytes("meeting.wav", data)
}

/// The 8-byte PNG signature and an IHDR chunk.
fn png(name: &str) -> FilePart {
    FilePart::bytes(
        name.to_owned(),
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89".to_vec(),
    )
}

fn mp4() -> FilePart {
    FilePart::bytes(
        "clip.mp4",
        b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom".to_vec(),
    )
}

fn metadata(pairs: &[(&str, &str)]) -> types::Metadata {
    body(json!(pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect::<serde_json::Map<_, _>>()))
}

const SDP_OFFER: &str = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\n";

async fn chat(h: &mut Harness) {
    const G: &str = "chat";
    h.check(G, "create_chat_completion", |c| async move {
        c.create_chat_completion(&body(json!({
            "model": "gpt-4o",
            "messages": [
                {"role": "developer", "content": "You are a terse assistant."},
                {"role": "user", "content": [
                    {"type": "text", "text": "What is in this image?"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "low"}}
                ]},
                {"role": "assistant", "tool_calls": [
                    {"id": "call_abc123", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "call_abc123", "content": "22 C and sunny"}
            ],
            "max_completion_tokens": 200,
            "temperature": 0.5,
            "tools": [{"type": "function", "function": {
                "name": "get_weather",
                "description": "The current weather in a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
                "strict": true
            }}],
            "tool_choice": "auto",
            "response_format": {"type": "json_schema", "json_schema": {
                "name": "answer",
                "schema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
                "strict": true
            }},
            "metadata": {"session": "s-42"},
            "store": true,
            "seed": 7
        })))
        .await
    })
    .await;
    h.check(G, "list_chat_completions", |c| async move {
        c.list_chat_completions(None, Some(10), None, Some("gpt-4o"), Some("desc".into()))
            .await
    })
    .await;
    h.check(G, "get_chat_completion", |c| async move {
        c.get_chat_completion("chatcmpl-abc123").await
    })
    .await;
    h.check(G, "update_chat_completion", |c| async move {
        c.update_chat_completion(
            "chatcmpl-abc123",
            &types::UpdateChatCompletionBody {
                metadata: Some(metadata(&[("reviewed", "yes")])),
                extra: Default::default(),
            },
        )
        .await
    })
    .await;
    h.check(G, "get_chat_completion_messages", |c| async move {
        c.get_chat_completion_messages("chatcmpl-abc123", None, Some(20), Some("asc".into()))
            .await
    })
    .await;
    h.check(G, "delete_chat_completion", |c| async move {
        c.delete_chat_completion("chatcmpl-abc123").await
    })
    .await;
}

async fn completions_embeddings_moderations_models(h: &mut Harness) {
    h.check("completions", "create_completion", |c| async move {
        c.create_completion(&body(json!({
            "model": "gpt-3.5-turbo-instruct",
            "prompt": "Say this is a test",
            "max_tokens": 16,
            "temperature": 0.0,
            "stop": ["\n"],
            "user": "user-1234"
        })))
        .await
    })
    .await;
    h.check_bad_example(
        "embeddings",
        "create_embedding",
        PRISM_FLOAT_EXAMPLE,
        |c| async move {
            c.create_embedding(&body(json!({
                "model": "text-embedding-3-small",
                "input": ["The food was delicious", "The waiter was friendly"],
                "encoding_format": "float",
                "dimensions": 256
            })))
            .await
        },
    )
    .await;
    h.check("moderations", "create_moderation", |c| async move {
        c.create_moderation(&body(json!({
            "model": "omni-moderation-latest",
            "input": [
                {"type": "text", "text": "I want to hug my cat"},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
            ]
        })))
        .await
    })
    .await;
    h.check(
        "models",
        "list_models",
        |c| async move { c.list_models().await },
    )
    .await;
    h.check("models", "retrieve_model", |c| async move {
        c.retrieve_model("gpt-4o-mini").await
    })
    .await;
    h.check("models", "delete_model", |c| async move {
        c.delete_model("ft:gpt-4o-mini-2024-07-18:acme::abc123")
            .await
    })
    .await;
}

/// The spec gives no example embedding; Prism's static value for a `format: float` number
/// is -3.402823669209385e+38, which is outside f32's range (f32::MIN is -3.4028235e38, one
/// ULP away) and, with serde_json's correctly rounded `float_roundtrip` parsing, is rejected
/// by the `f32` decode, as it should be.
const PRISM_FLOAT_EXAMPLE: BadSpecExample = BadSpecExample {
    path: "data[0].embedding",
    why: "Prism's static float, -3.402823669209385e+38, is outside f32's range",
};

/// The `example` of `CompactResource` has `message` items without the `id` and `status`
/// that `Message` requires (if the real API answers that way, `Message` must relax them).
const COMPACTION_EXAMPLE: BadSpecExample = BadSpecExample {
    path: "output[0]",
    why: "the example of CompactResource has messages without `id` and `status`, which Message requires",
};

async fn responses(h: &mut Harness) {
    const G: &str = "responses";
    h.check(G, "create_response", |c| async move {
        c.create_response(&body(json!({
            "model": "gpt-4.1",
            "instructions": "Answer in one sentence.",
            // A user message with a content list would match two members of the spec's
            // `InputItem` oneOf (EasyInputMessage and InputMessage), which Prism rightly
            // rejects; a string content matches one.
            "input": [
                {"role": "user", "content": "What is the weather like in Paris?"},
                {"type": "function_call", "call_id": "call_abc123", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
                {"type": "function_call_output", "call_id": "call_abc123", "output": "22 C and sunny"}
            ],
            "tools": [{
                "type": "function",
                "name": "get_weather",
                "description": "The current weather in a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
                "strict": true
            }],
            "tool_choice": "auto",
            "text": {"format": {"type": "json_schema", "name": "answer", "schema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}, "strict": true}},
            "reasoning": {"effort": "low"},
            "max_output_tokens": 512,
            "temperature": 0.2,
            "store": true,
            "metadata": {"team": "search"}
        })))
        .await
    })
    .await;
    h.check(G, "get_response", |c| async move {
        c.get_response("resp_abc123", None, None, None, None).await
    })
    .await;
    h.check(G, "list_input_items", |c| async move {
        c.list_input_items("resp_abc123", None, None, Some(10), Some("asc".into()))
            .await
    })
    .await;
    h.check(G, "getinputtokencounts", |c| async move {
        c.getinputtokencounts(&body(json!({
            "model": "gpt-4.1",
            "instructions": "Be brief.",
            "input": "Tell me a joke about otters."
        })))
        .await
    })
    .await;
    h.check_bad_example(
        G,
        "compactconversation",
        COMPACTION_EXAMPLE,
        |c| async move {
            c.compactconversation(&body(json!({
                "model": "gpt-4.1",
                "input": [
                    {"role": "user", "content": "Summarise our plan so far."},
                    {"role": "assistant", "content": "We ship on Friday."}
                ]
            })))
            .await
        },
    )
    .await;
    h.check(G, "cancel_response", |c| async move {
        c.cancel_response("resp_abc123").await
    })
    .await;
    h.check(G, "delete_response", |c| async move {
        c.delete_response("resp_abc123").await
    })
    .await;

    const B: &str = "responses-beta";
    h.check(B, "beta_create_response", |c| async move {
        c.beta_create_response(
            None,
            &body(json!({
                "model": "gpt-4.1",
                "input": "Write a haiku about the sea.",
                "max_output_tokens": 128
            })),
        )
        .await
    })
    .await;
    h.check(B, "beta_get_response", |c| async move {
        c.beta_get_response("resp_abc123", None, None, None, None, None)
            .await
    })
    .await;
    h.check(B, "beta_list_input_items", |c| async move {
        c.beta_list_input_items("resp_abc123", None, None, Some(5), None, None)
            .await
    })
    .await;
    h.check(B, "beta_getinputtokencounts", |c| async move {
        c.beta_getinputtokencounts(
            None,
            &body(json!({"model": "gpt-4.1", "input": "Count me."})),
        )
        .await
    })
    .await;
    h.check_bad_example(
        B,
        "beta_compactconversation",
        COMPACTION_EXAMPLE,
        |c| async move {
            c.beta_compactconversation(
                None,
                &body(json!({"model": "gpt-4.1", "previous_response_id": "resp_abc123"})),
            )
            .await
        },
    )
    .await;
    h.check(B, "beta_cancel_response", |c| async move {
        c.beta_cancel_response("resp_abc123", None).await
    })
    .await;
    h.check(B, "beta_delete_response", |c| async move {
        c.beta_delete_response("resp_abc123", None).await
    })
    .await;
}

async fn conversations(h: &mut Harness) {
    const G: &str = "conversations";
    h.check(G, "create_conversation", |c| async move {
        c.create_conversation(&body(json!({
            "metadata": {"topic": "demo"},
            "items": [{"type": "message", "role": "user", "content": "Hello!"}]
        })))
        .await
    })
    .await;
    h.check(G, "get_conversation", |c| async move {
        c.get_conversation("conv_abc123").await
    })
    .await;
    h.check(G, "update_conversation", |c| async move {
        c.update_conversation(
            "conv_abc123",
            &types::UpdateConversationBody {
                metadata: Some(metadata(&[("topic", "project-x")])),
                extra: Default::default(),
            },
        )
        .await
    })
    .await;
    h.check(G, "create_conversation_items", |c| async move {
        c.create_conversation_items(
            "conv_abc123",
            None,
            // String contents: a content list would match two members of the spec's oneOf.
            &body(json!({"items": [
                {"type": "message", "role": "user", "content": "Hi there"},
                {"type": "message", "role": "assistant", "content": "Hello! How can I help?"}
            ]})),
        )
        .await
    })
    .await;
    h.check(G, "list_conversation_items", |c| async move {
        c.list_conversation_items("conv_abc123", None, None, Some(10), Some("desc".into()))
            .await
    })
    .await;
    h.check(G, "get_conversation_item", |c| async move {
        c.get_conversation_item("conv_abc123", "msg_abc123", None)
            .await
    })
    .await;
    h.check(G, "delete_conversation_item", |c| async move {
        c.delete_conversation_item("conv_abc123", "msg_abc123")
            .await
    })
    .await;
    h.check(G, "delete_conversation", |c| async move {
        c.delete_conversation("conv_abc123").await
    })
    .await;
}

async fn audio(h: &mut Harness) {
    const G: &str = "audio";
    // createSpeech is left out: Prism cannot answer it (binary audio).
    h.check(G, "create_transcription (multipart)", |c| async move {
        c.create_transcription(&types::CreateTranscriptionRequest {
            file: wav(),
            model: "gpt-4o-transcribe".into(),
            language: Some("en".into()),
            prompt: Some("A product meeting about the Q3 roadmap.".into()),
            response_format: Some(types::AudioResponseFormat::Json),
            temperature: Some(0.0),
            include: vec![types::TranscriptionInclude::Logprobs],
            chunking_strategy: None,
            keywords: vec![],
            known_speaker_names: vec![],
            known_speaker_references: vec![],
            languages: vec![],
            stream: None,
            timestamp_granularities: vec![],
            extra: Default::default(),
        })
        .await
    })
    .await;
    h.check(G, "create_translation (multipart)", |c| async move {
        c.create_translation(&types::CreateTranslationRequest {
            file: wav(),
            model: "whisper-1".into(),
            prompt: None,
            response_format: Some(types::CreateTranslationRequestResponseFormat::Json),
            temperature: Some(0.2),
            extra: Default::default(),
        })
        .await
    })
    .await;
    h.check(G, "create_voice_consent (multipart)", |c| async move {
        c.create_voice_consent(&types::CreateVoiceConsentRequest {
            name: "Jane Doe consent".into(),
            language: "en-US".into(),
            recording: wav(),
            extra: Default::default(),
        })
        .await
    })
    .await;
    h.check(G, "create_voice (multipart)", |c| async move {
        c.create_voice(&types::CreateVoiceRequest {
            name: "Jane".into(),
            consent: "cons_abc123".into(),
            audio_sample: wav(),
            extra: Default::default(),
        })
        .await
    })
    .await;
    h.check(G, "list_voice_consents", |c| async move {
        c.list_voice_consents(None, Some(10)).await
    })
    .await;
    h.check(G, "get_voice_consent", |c| async move {
        c.get_voice_consent("cons_abc123").await
    })
    .await;
    h.check(G, "update_voice_consent", |c| async move {
        c.update_voice_consent(
            "cons_abc123",
            &types::UpdateVoiceConsentRequest {
                name: "Jane D.".into(),
                extra: Default::default(),
            },
        )
        .await
    })
    .await;
    h.check(G, "delete_voice_consent", |c| async move {
        c.delete_voice_consent("cons_abc123").await
    })
    .await;
}

async fn images(h: &mut Harness) {
    const G: &str = "images";
    h.check(G, "create_image", |c| async move {
        c.create_image(&body(json!({
            "model": "gpt-image-1",
            "prompt": "A watercolor fox in a snowy forest",
            "n": 1,
            "size": "1024x1024",
            "quality": "high",
            "output_format": "png",
            "background": "transparent"
        })))
        .await
    })
    .await;
    h.check(G, "create_image_edit (json)", |c| async move {
        c.create_image_edit(&body(json!({
            "model": "gpt-image-1",
            "prompt": "Give the fox a red scarf",
            "images": [{"image_url": "https://example.com/fox.png"}, {"file_id": "file-abc123"}],
            "size": "1024x1024",
            "quality": "medium"
        })))
        .await
    })
    .await;
    h.check(G, "create_image_edit_upload (multipart)", |c| async move {
        c.create_image_edit_upload(&body_image_edit()).await
    })
    .await;
    h.check(G, "create_image_variation (multipart)", |c| async move {
        c.create_image_variation(&types::CreateImageVariationRequest {
            image: png("fox.png"),
            model: Some("dall-e-2".into()),
            n: NonZeroU64::new(2),
            response_format: Some(types::CreateImageVariationRequestResponseFormat::Url),
            size: Some(types::CreateImageVariationRequestSize::X512x512),
            user: Some("user-1234".into()),
            extra: Default::default(),
        })
        .await
    })
    .await;
}

fn body_image_edit() -> types::CreateImageEditRequest {
    types::CreateImageEditRequest {
        // One image: several go out as repeated `image[]` parts, as the official SDKs send
        // them, which Prism (reading the spec literally) does not take for `image`.
        image: types::CreateImageEditRequestImage::FileUpload(png("fox.png")),
        prompt: "Put the scarf on the fox".into(),
        mask: Some(png("mask.png")),
        model: Some("gpt-image-1".into()),
        n: NonZeroU64::new(1),
        quality: Some(types::CreateImageEditRequestQuality::High),
        output_format: Some(types::CreateImageEditRequestOutputFormat::Webp),
        background: None,
        input_fidelity: None,
        output_compression: None,
        partial_images: None,
        response_format: None,
        size: None,
        stream: None,
        user: None,
        extra: Default::default(),
    }
}

async fn files_uploads_batches(h: &mut Harness) {
    h.check("files", "create_file (multipart)", |c| async move {
        c.create_file(&types::CreateFileRequest {
            file: FilePart::bytes(
                "train.jsonl",
                &br#"{"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"}]}
"#[..],
            ),
            purpose: types::CreateFileRequestPurpose::FineTune,
            expires_after: Some(types::FileExpirationAfter {
                anchor: types::FileExpirationAfterAnchor::CreatedAt,
                seconds: 86_400, extra: Default::default(),
            }), extra: Default::default(),
        })
        .await
    })
    .await;
    h.check("files", "list_files", |c| async move {
        c.list_files(None, Some(100), Some("desc".into()), Some("fine-tune"))
            .await
    })
    .await;
    h.check("files", "retrieve_file", |c| async move {
        c.retrieve_file("file-abc123").await
    })
    .await;
    h.check("files", "download_file", |c| async move {
        c.download_file("file-abc123").await
    })
    .await;
    h.check("files", "delete_file", |c| async move {
        c.delete_file("file-abc123").await
    })
    .await;

    h.check("uploads", "create_upload", |c| async move {
        c.create_upload(&types::CreateUploadRequest {
            bytes: 2_147_483,
            filename: "training_examples.jsonl".into(),
            mime_type: "text/jsonl".into(),
            purpose: types::CreateUploadRequestPurpose::FineTune,
            expires_after: None,
            extra: Default::default(),
        })
        .await
    })
    .await;
    h.check("uploads", "add_upload_part (multipart)", |c| async move {
        c.add_upload_part(
            "upload_abc123",
            &types::AddUploadPartRequest {
                data: FilePart::bytes("part-1", vec![b'x'; 1024]),
                extra: Default::default(),
            },
        )
        .await
    })
    .await;
    h.check("uploads", "complete_upload", |c| async move {
        c.complete_upload(
            "upload_abc123",
            &types::CompleteUploadRequest {
                part_ids: vec!["part_abc123".into(), "part_def456".into()],
                md5: None,
                extra: Default::default(),
            },
        )
        .await
    })
    .await;
    h.check("uploads", "cancel_upload", |c| async move {
        c.cancel_upload("upload_abc123").await
    })
    .await;

    h.check("batches", "create_batch", |c| async move {
        c.create_batch(&body(json!({
            "input_file_id": "file-abc123",
            "endpoint": "/v1/chat/completions",
            "completion_window": "24h",
            "metadata": {"job": "nightly-eval"}
        })))
        .await
    })
    .await;
    h.check("batches", "list_batches", |c| async move {
        c.list_batches(None, Some(20)).await
    })
    .await;
    h.check("batches", "retrieve_batch", |c| async move {
        c.retrieve_batch("batch_abc123").await
    })
    .await;
    h.check("batches", "cancel_batch", |c| async move {
        c.cancel_batch("batch_abc123").await
    })
    .await;
}

async fn assistants(h: &mut Harness) {
    const G: &str = "assistants";
    h.check(G, "create_assistant", |c| async move {
        c.create_assistant(&body(json!({
            "model": "gpt-4o",
            "name": "Math Tutor",
            "instructions": "You are a personal math tutor. Write and run code to answer math questions.",
            "tools": [{"type": "code_interpreter"}],
            "temperature": 0.2,
            "metadata": {"owner": "edu-team"}
        })))
        .await
    })
    .await;
    h.check(G, "list_assistants", |c| async move {
        c.list_assistants(None, None, Some(20), Some("desc".into()))
            .await
    })
    .await;
    h.check(G, "get_assistant", |c| async move {
        c.get_assistant("asst_abc123").await
    })
    .await;
    h.check(G, "modify_assistant", |c| async move {
        c.modify_assistant(
            "asst_abc123",
            &body(json!({"name": "Math Tutor v2", "tools": [{"type": "file_search"}]})),
        )
        .await
    })
    .await;
    h.check(G, "delete_assistant", |c| async move {
        c.delete_assistant("asst_abc123").await
    })
    .await;

    h.check(G, "create_thread", |c| async move {
        c.create_thread(&body(json!({
            "messages": [{"role": "user", "content": "Hello, what is AI?"}],
            "metadata": {"channel": "web"}
        })))
        .await
    })
    .await;
    h.check(G, "get_thread", |c| async move {
        c.get_thread("thread_abc123").await
    })
    .await;
    h.check(G, "modify_thread", |c| async move {
        c.modify_thread(
            "thread_abc123",
            &body(json!({"metadata": {"modified": "true", "user": "abc123"}})),
        )
        .await
    })
    .await;
    h.check(G, "delete_thread", |c| async move {
        c.delete_thread("thread_abc123").await
    })
    .await;

    h.check(G, "create_message", |c| async move {
        c.create_message(
            "thread_abc123",
            &body(
                json!({"role": "user", "content": "How does AI work? Explain it in simple terms."}),
            ),
        )
        .await
    })
    .await;
    h.check(G, "list_messages", |c| async move {
        c.list_messages(
            "thread_abc123",
            None,
            None,
            Some(20),
            Some("asc".into()),
            None,
        )
        .await
    })
    .await;
    h.check(G, "get_message", |c| async move {
        c.get_message("thread_abc123", "msg_abc123").await
    })
    .await;
    h.check(G, "modify_message", |c| async move {
        c.modify_message(
            "thread_abc123",
            "msg_abc123",
            &types::ModifyMessageRequest {
                metadata: Some(metadata(&[("modified", "true")])),
                extra: Default::default(),
            },
        )
        .await
    })
    .await;
    h.check(G, "delete_message", |c| async move {
        c.delete_message("thread_abc123", "msg_abc123").await
    })
    .await;

    h.check(G, "create_run", |c| async move {
        c.create_run(
            "thread_abc123",
            None,
            &body(json!({
                "assistant_id": "asst_abc123",
                "additional_instructions": "Address the user as Jane.",
                "temperature": 0.5
            })),
        )
        .await
    })
    .await;
    h.check(G, "create_thread_and_run", |c| async move {
        c.create_thread_and_run(&body(json!({
            "assistant_id": "asst_abc123",
            "thread": {"messages": [{"role": "user", "content": "Explain deep learning to a 5 year old."}]}
        })))
        .await
    })
    .await;
    h.check(G, "list_runs", |c| async move {
        c.list_runs("thread_abc123", None, None, Some(10), None)
            .await
    })
    .await;
    h.check(G, "get_run", |c| async move {
        c.get_run("thread_abc123", "run_abc123").await
    })
    .await;
    h.check(G, "modify_run", |c| async move {
        c.modify_run(
            "thread_abc123",
            "run_abc123",
            &types::ModifyRunRequest {
                metadata: Some(metadata(&[("user_id", "user_abc123")])),
                extra: Default::default(),
            },
        )
        .await
    })
    .await;
    h.check(G, "submit_tool_ouputs_to_run", |c| async move {
        c.submit_tool_ouputs_to_run(
            "thread_abc123",
            "run_abc123",
            &body(json!({"tool_outputs": [{"tool_call_id": "call_abc123", "output": "28C"}]})),
        )
        .await
    })
    .await;
    h.check(G, "cancel_run", |c| async move {
        c.cancel_run("thread_abc123", "run_abc123").await
    })
    .await;
    h.check(G, "list_run_steps", |c| async move {
        c.list_run_steps(
            "thread_abc123",
            "run_abc123",
            None,
            None,
            None,
            Some(10),
            None,
        )
        .await
    })
    .await;
    h.check(G, "get_run_step", |c| async move {
        c.get_run_step("thread_abc123", "run_abc123", "step_abc123", None)
            .await
    })
    .await;
}

async fn vector_stores(h: &mut Harness) {
    const G: &str = "vector-stores";
    const VS: &str = "vs_abc123";
    h.check(G, "create_vector_store", |c| async move {
        c.create_vector_store(&body(json!({
            "name": "Support FAQ",
            "file_ids": ["file-abc123"],
            "expires_after": {"anchor": "last_active_at", "days": 7},
            "metadata": {"team": "support"}
        })))
        .await
    })
    .await;
    h.check(G, "list_vector_stores", |c| async move {
        c.list_vector_stores(None, None, Some(20), None).await
    })
    .await;
    h.check(G, "get_vector_store", |c| async move {
        c.get_vector_store(VS).await
    })
    .await;
    h.check(G, "modify_vector_store", |c| async move {
        c.modify_vector_store(VS, &body(json!({"name": "Support FAQ v2"})))
            .await
    })
    .await;
    h.check(G, "search_vector_store", |c| async move {
        c.search_vector_store(
            VS,
            &body(json!({
                "query": "What is the return policy?",
                "max_num_results": 5,
                "rewrite_query": true,
                "filters": {"type": "eq", "key": "lang", "value": "en"},
                "ranking_options": {"ranker": "auto", "score_threshold": 0.5}
            })),
        )
        .await
    })
    .await;
    h.check(G, "create_vector_store_file", |c| async move {
        c.create_vector_store_file(
            VS,
            &body(json!({
                "file_id": "file-abc123",
                "chunking_strategy": {"type": "static", "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400}},
                "attributes": {"lang": "en", "public": true}
            })),
        )
        .await
    })
    .await;
    h.check(G, "list_vector_store_files", |c| async move {
        c.list_vector_store_files(VS, None, None, Some("completed".into()), Some(20), None)
            .await
    })
    .await;
    h.check(G, "get_vector_store_file", |c| async move {
        c.get_vector_store_file(VS, "file-abc123").await
    })
    .await;
    h.check(G, "update_vector_store_file_attributes", |c| async move {
        c.update_vector_store_file_attributes(
            VS,
            "file-abc123",
            &body(json!({"attributes": {"lang": "fr"}})),
        )
        .await
    })
    .await;
    h.check(G, "retrieve_vector_store_file_content", |c| async move {
        c.retrieve_vector_store_file_content(VS, "file-abc123")
            .await
    })
    .await;
    h.check(G, "delete_vector_store_file", |c| async move {
        c.delete_vector_store_file(VS, "file-abc123").await
    })
    .await;
    h.check(G, "create_vector_store_file_batch", |c| async move {
        c.create_vector_store_file_batch(
            VS,
            &body(json!({"file_ids": ["file-abc123", "file-def456"], "chunking_strategy": {"type": "auto"}})),
        )
        .await
    })
    .await;
    h.check(G, "get_vector_store_file_batch", |c| async move {
        c.get_vector_store_file_batch(VS, "vsfb_abc123").await
    })
    .await;
    h.check(G, "list_files_in_vector_store_batch", |c| async move {
        c.list_files_in_vector_store_batch(VS, "vsfb_abc123", None, None, None, Some(10), None)
            .await
    })
    .await;
    h.check(G, "cancel_vector_store_file_batch", |c| async move {
        c.cancel_vector_store_file_batch(VS, "vsfb_abc123").await
    })
    .await;
    h.check(G, "delete_vector_store", |c| async move {
        c.delete_vector_store(VS).await
    })
    .await;
}

async fn fine_tuning(h: &mut Harness) {
    const G: &str = "fine-tuning";
    const JOB: &str = "ftjob-abc123";
    const CKPT: &str = "ft:gpt-4o-mini-2024-07-18:acme::abc123:ckpt-step-1000";
    h.check(G, "create_fine_tuning_job", |c| async move {
        c.create_fine_tuning_job(&body(json!({
            "model": "gpt-4o-mini-2024-07-18",
            "training_file": "file-abc123",
            "validation_file": "file-def456",
            "suffix": "support-bot",
            "seed": 42,
            "method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 3, "batch_size": "auto", "learning_rate_multiplier": "auto"}}},
            "metadata": {"team": "support"}
        })))
        .await
    })
    .await;
    h.check(G, "list_paginated_fine_tuning_jobs", |c| async move {
        c.list_paginated_fine_tuning_jobs(None, Some(10)).await
    })
    .await;
    h.check(G, "list_fine_tuning_jobs_with_metadata", |c| async move {
        let filter = [("team".to_owned(), "support".to_owned())]
            .into_iter()
            .collect();
        c.list_fine_tuning_jobs_with_metadata(None, Some(10), &filter)
            .await
    })
    .await;
    h.check(G, "retrieve_fine_tuning_job", |c| async move {
        c.retrieve_fine_tuning_job(JOB).await
    })
    .await;
    h.check(G, "list_fine_tuning_events", |c| async move {
        c.list_fine_tuning_events(JOB, None, Some(20)).await
    })
    .await;
    h.check(G, "list_fine_tuning_job_checkpoints", |c| async move {
        c.list_fine_tuning_job_checkpoints(JOB, None, Some(10))
            .await
    })
    .await;
    h.check(G, "pause_fine_tuning_job", |c| async move {
        c.pause_fine_tuning_job(JOB).await
    })
    .await;
    h.check(G, "resume_fine_tuning_job", |c| async move {
        c.resume_fine_tuning_job(JOB).await
    })
    .await;
    h.check(G, "cancel_fine_tuning_job", |c| async move {
        c.cancel_fine_tuning_job(JOB).await
    })
    .await;
    h.check(
        G,
        "create_fine_tuning_checkpoint_permission",
        |c| async move {
            c.create_fine_tuning_checkpoint_permission(
                CKPT,
                &types::CreateFineTuningCheckpointPermissionRequest {
                    project_ids: vec!["proj_abc123".into()],
                    extra: Default::default(),
                },
            )
            .await
        },
    )
    .await;
    h.check(
        G,
        "list_fine_tuning_checkpoint_permissions",
        |c| async move {
            c.list_fine_tuning_checkpoint_permissions(
                CKPT,
                None,
                Some(10),
                None,
                Some("proj_abc123"),
            )
            .await
        },
    )
    .await;
    h.check(
        G,
        "delete_fine_tuning_checkpoint_permission",
        |c| async move {
            c.delete_fine_tuning_checkpoint_permission(CKPT, "cp_abc123")
                .await
        },
    )
    .await;

    const GR: &str = "graders";
    h.check(GR, "run_grader", |c| async move {
        c.run_grader(&body(json!({
            "grader": {
                "type": "string_check",
                "name": "exact answer",
                "input": "{{sample.output_text}}",
                "reference": "{{item.answer}}",
                "operation": "eq"
            },
            "item": {"answer": "Paris"},
            "model_sample": "Paris"
        })))
        .await
    })
    .await;
    h.check(GR, "validate_grader", |c| async move {
        c.validate_grader(&body(json!({
            "grader": {
                "type": "text_similarity",
                "name": "close enough",
                "input": "{{sample.output_text}}",
                "reference": "{{item.answer}}",
                "evaluation_metric": "fuzzy_match"
            }
        })))
        .await
    })
    .await;
}

/// `EvalCustomDataSourceConfig.schema` is `type: object` in the spec, but its `example`
/// is a string (JSON text), and Prism's static answers use it.
const EVAL_SCHEMA_EXAMPLE: BadSpecExample = BadSpecExample {
    path: "data_source_config.schema",
    why: "EvalCustomDataSourceConfig.schema is `type: object` but its `example` is a string",
};

async fn evals(h: &mut Harness) {
    const G: &str = "evals";
    const EVAL: &str = "eval_abc123";
    const RUN: &str = "evalrun_abc123";
    h.check_bad_example(G, "create_eval", EVAL_SCHEMA_EXAMPLE, |c| async move {
        c.create_eval(&body(json!({
            "name": "Sentiment",
            "data_source_config": {
                "type": "custom",
                "item_schema": {
                    "type": "object",
                    "properties": {"text": {"type": "string"}, "label": {"type": "string"}},
                    "required": ["text", "label"]
                },
                "include_sample_schema": true
            },
            "testing_criteria": [{
                "type": "string_check",
                "name": "Exact label",
                "input": "{{sample.output_text}}",
                "reference": "{{item.label}}",
                "operation": "eq"
            }],
            "metadata": {"owner": "qa"}
        })))
        .await
    })
    .await;
    let list_bad = BadSpecExample {
        path: "data[0].data_source_config.schema",
        ..EVAL_SCHEMA_EXAMPLE
    };
    h.check_bad_example(G, "list_evals", list_bad, |c| async move {
        c.list_evals(None, Some(10), Some("asc".into()), None).await
    })
    .await;
    h.check_bad_example(G, "get_eval", EVAL_SCHEMA_EXAMPLE, |c| async move {
        c.get_eval(EVAL).await
    })
    .await;
    h.check_bad_example(G, "update_eval", EVAL_SCHEMA_EXAMPLE, |c| async move {
        c.update_eval(
            EVAL,
            &types::UpdateEvalBody {
                name: Some("Sentiment v2".into()),
                metadata: None,
                extra: Default::default(),
            },
        )
        .await
    })
    .await;
    h.check(G, "create_eval_run", |c| async move {
        c.create_eval_run(
            EVAL,
            &body(json!({
                "name": "nightly",
                "data_source": {
                    "type": "completions",
                    "model": "gpt-4o-mini",
                    "input_messages": {"type": "template", "template": [
                        // With a string content an item would match two members of the
                        // spec's oneOf (EasyInputMessage and EvalItem); an object content
                        // matches EvalItem only.
                        {"role": "developer", "content": {"type": "input_text", "text": "Classify the sentiment."}},
                        {"role": "user", "content": {"type": "input_text", "text": "{{item.text}}"}}
                    ]},
                    "sampling_params": {"temperature": 0.0, "max_completion_tokens": 16},
                    "source": {"type": "file_id", "id": "file-abc123"}
                }
            })),
        )
        .await
    })
    .await;
    h.check(G, "get_eval_runs", |c| async move {
        c.get_eval_runs(EVAL, None, Some(10), None, None).await
    })
    .await;
    h.check(G, "get_eval_run", |c| async move {
        c.get_eval_run(EVAL, RUN).await
    })
    .await;
    h.check(G, "get_eval_run_output_items", |c| async move {
        c.get_eval_run_output_items(EVAL, RUN, None, Some(10), None, Some("fail".into()))
            .await
    })
    .await;
    h.check(G, "get_eval_run_output_item", |c| async move {
        c.get_eval_run_output_item(EVAL, RUN, "outputitem_abc123")
            .await
    })
    .await;
    h.check(G, "cancel_eval_run", |c| async move {
        c.cancel_eval_run(EVAL, RUN).await
    })
    .await;
    h.check(G, "delete_eval_run", |c| async move {
        c.delete_eval_run(EVAL, RUN).await
    })
    .await;
    h.check(
        G,
        "delete_eval",
        |c| async move { c.delete_eval(EVAL).await },
    )
    .await;
}

async fn realtime(h: &mut Harness) {
    const G: &str = "realtime";
    h.check(G, "create_realtime_client_secret", |c| async move {
        c.create_realtime_client_secret(&body(json!({
            "expires_after": {"anchor": "created_at", "seconds": 600},
            "session": {"type": "realtime", "model": "gpt-realtime", "instructions": "Be concise.", "output_modalities": ["audio"]}
        })))
        .await
    })
    .await;
    h.check(G, "create_realtime_session", |c| async move {
        c.create_realtime_session(&body(json!({
            "client_secret": {"value": "ek_abc123", "expires_at": 1_735_689_600},
            "modalities": ["audio", "text"],
            "instructions": "You are a friendly assistant.",
            "voice": "alloy",
            "input_audio_format": "pcm16",
            "output_audio_format": "pcm16"
        })))
        .await
    })
    .await;
    h.check(G, "create_realtime_transcription_session", |c| async move {
        c.create_realtime_transcription_session(&body(json!({
            "input_audio_format": "pcm16",
            "input_audio_transcription": {"model": "gpt-4o-transcribe", "language": "en"},
            "turn_detection": {"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300, "silence_duration_ms": 500},
            "include": ["item.input_audio_transcription.logprobs"]
        })))
        .await
    })
    .await;
    h.check(
        G,
        "create_realtime_translation_client_secret",
        |c| async move {
            c.create_realtime_translation_client_secret(&body(json!({
                "expires_after": {"anchor": "created_at", "seconds": 300},
                "session": {"model": "gpt-realtime", "audio": {"output": {"language": "fr"}}}
            })))
            .await
        },
    )
    .await;
    h.check(G, "create_realtime_call (multipart)", |c| async move {
        c.create_realtime_call(&types::RealtimeCallCreateRequest {
            sdp: SDP_OFFER.into(),
            // Prism cannot check a `session`: it does not parse a JSON form field into an
            // object, even one sent as `application/json` ("session must be object").
            session: None,
            extra: Default::default(),
        })
        .await
    })
    .await;
    h.check(G, "create_realtime_call_sdp", |c| async move {
        c.create_realtime_call_sdp(SDP_OFFER).await
    })
    .await;
    h.check(G, "accept_realtime_call", |c| async move {
        c.accept_realtime_call(
            "rtc_abc123",
            &body(json!({
                "type": "realtime",
                "model": "gpt-realtime",
                "instructions": "You are a support agent.",
                "audio": {"output": {"voice": "marin"}}
            })),
        )
        .await
    })
    .await;
    h.check(G, "refer_realtime_call", |c| async move {
        c.refer_realtime_call(
            "rtc_abc123",
            &types::RealtimeCallReferRequest {
                target_uri: "tel:+14155550123".into(),
                extra: Default::default(),
            },
        )
        .await
    })
    .await;
    h.check(G, "reject_realtime_call", |c| async move {
        c.reject_realtime_call(
            "rtc_abc123",
            &types::RealtimeCallRejectRequest {
                status_code: Some(486),
                extra: Default::default(),
            },
        )
        .await
    })
    .await;
    h.check(G, "hangup_realtime_call", |c| async move {
        c.hangup_realtime_call("rtc_abc123").await
    })
    .await;
}

async fn containers(h: &mut Harness) {
    const G: &str = "containers";
    const CNTR: &str = "cntr_abc123";
    h.check(G, "create_container", |c| async move {
        c.create_container(&body(json!({
            "name": "analysis",
            "file_ids": ["file-abc123"],
            "expires_after": {"anchor": "last_active_at", "minutes": 20},
            "memory_limit": "4g"
        })))
        .await
    })
    .await;
    h.check(G, "list_containers", |c| async move {
        c.list_containers(None, Some(10), None, None).await
    })
    .await;
    h.check(G, "retrieve_container", |c| async move {
        c.retrieve_container(CNTR).await
    })
    .await;
    h.check(G, "create_container_file", |c| async move {
        c.create_container_file(
            CNTR,
            &types::CreateContainerFileBody {
                file: None,
                file_id: Some("file-abc123".into()),
                extra: Default::default(),
            },
        )
        .await
    })
    .await;
    h.check(G, "list_container_files", |c| async move {
        c.list_container_files(CNTR, None, Some(10), None).await
    })
    .await;
    h.check(G, "retrieve_container_file", |c| async move {
        c.retrieve_container_file(CNTR, "cfile_abc123").await
    })
    .await;
    h.check(G, "retrieve_container_file_content", |c| async move {
        c.retrieve_container_file_content(CNTR, "cfile_abc123")
            .await
    })
    .await;
    h.check(G, "delete_container_file", |c| async move {
        c.delete_container_file(CNTR, "cfile_abc123").await
    })
    .await;
    h.check(G, "delete_container", |c| async move {
        c.delete_container(CNTR).await
    })
    .await;
}

async fn videos(h: &mut Harness) {
    const G: &str = "videos";
    h.check(G, "create_video", |c| async move {
        c.create_video(&body(json!({
            "model": "sora-2",
            "prompt": "A calico cat playing a grand piano on stage",
            "seconds": "8",
            "size": "1280x720"
        })))
        .await
    })
    .await;
    h.check(G, "list_videos", |c| async move {
        c.list_videos(None, Some(10), Some("desc".into())).await
    })
    .await;
    h.check(G, "get_video", |c| async move {
        c.get_video("video_abc123").await
    })
    .await;
    h.check(G, "create_video_remix", |c| async move {
        c.create_video_remix(
            "video_abc123",
            &body(json!({"prompt": "Same scene, at night"})),
        )
        .await
    })
    .await;
    h.check(G, "create_video_edit", |c| async move {
        c.create_video_edit(&body(
            json!({"video": {"id": "video_abc123"}, "prompt": "Make the piano red"}),
        ))
        .await
    })
    .await;
    h.check(G, "create_video_extend", |c| async move {
        c.create_video_extend(&body(json!({"video": {"id": "video_abc123"}, "prompt": "The cat takes a bow", "seconds": "4"})))
            .await
    })
    .await;
    h.check(G, "create_video_character (multipart)", |c| async move {
        c.create_video_character(&types::CreateVideoCharacterBody {
            name: "Mochi the cat".try_into().expect("a valid name"),
            video: mp4(),
            extra: Default::default(),
        })
        .await
    })
    .await;
    h.check(G, "get_video_character", |c| async move {
        c.get_video_character("char_abc123").await
    })
    .await;
    h.check(G, "retrieve_video_content", |c| async move {
        c.retrieve_video_content("video_abc123", None).await
    })
    .await;
    h.check(G, "delete_video", |c| async move {
        c.delete_video("video_abc123").await
    })
    .await;
}

/// `ChatkitWorkflow` requires `tracing`, but the `example` of `ChatSessionResource` has a
/// `workflow` without it, and Prism's static answers use that example.
const CHATKIT_SESSION_EXAMPLE: BadSpecExample = BadSpecExample {
    path: "workflow",
    why: "ChatkitWorkflow requires `tracing`; the example of ChatSessionResource omits it",
};

async fn chatkit(h: &mut Harness) {
    const G: &str = "chatkit";
    h.check_bad_example(
        G,
        "create_chat_session_method",
        CHATKIT_SESSION_EXAMPLE,
        |c| async move {
            c.create_chat_session_method(&body(json!({
            "workflow": {"id": "wf_abc123", "version": "3", "state_variables": {"locale": "en"}},
            "user": "user_abc123",
            "expires_after": {"anchor": "created_at", "seconds": 600},
            "rate_limits": {"max_requests_per_1_minute": 30},
            "chatkit_configuration": {"history": {"enabled": true, "recent_threads": 10}}
        })))
        .await
        },
    )
    .await;
    h.check_bad_example(
        G,
        "cancel_chat_session_method",
        CHATKIT_SESSION_EXAMPLE,
        |c| async move { c.cancel_chat_session_method("cksess_abc123").await },
    )
    .await;
    h.check(G, "list_threads_method", |c| async move {
        let user: types::ListThreadsMethodUser = "user_abc123".try_into().expect("a valid user");
        c.list_threads_method(None, None, Some(20), Some("desc".into()), Some(&user))
            .await
    })
    .await;
    h.check(G, "get_thread_method", |c| async move {
        c.get_thread_method("cthr_abc123").await
    })
    .await;
    h.check(G, "list_thread_items_method", |c| async move {
        c.list_thread_items_method("cthr_abc123", None, None, Some(20), None)
            .await
    })
    .await;
    h.check(G, "delete_thread_method", |c| async move {
        c.delete_thread_method("cthr_abc123").await
    })
    .await;
}

async fn skills(h: &mut Harness) {
    const G: &str = "skills";
    h.check(G, "create_skill", |c| async move {
        c.create_skill(&types::CreateSkillBody {
            files: types::CreateSkillBodyFiles::FileUpload(FilePart::bytes(
                "pdf-tools.zip",
                &b"PK\x05\x06"[..],
            )),
            extra: Default::default(),
        })
        .await
    })
    .await;
    h.check(G, "list_skills", |c| async move {
        c.list_skills(None, Some(10), None).await
    })
    .await;
    h.check(G, "get_skill", |c| async move {
        c.get_skill("skill_abc123").await
    })
    .await;
    h.check(G, "update_skill_default_version", |c| async move {
        c.update_skill_default_version(
            "skill_abc123",
            &types::SetDefaultSkillVersionBody {
                default_version: "2".into(),
                extra: Default::default(),
            },
        )
        .await
    })
    .await;
    h.check(G, "get_skill_content", |c| async move {
        c.get_skill_content("skill_abc123").await
    })
    .await;
    h.check(G, "create_skill_version", |c| async move {
        c.create_skill_version(
            "skill_abc123",
            &types::CreateSkillVersionBody {
                default: Some(true),
                files: types::CreateSkillVersionBodyFiles::FileUpload(FilePart::bytes(
                    "pdf-tools.zip",
                    &b"PK\x05\x06"[..],
                )),
                extra: Default::default(),
            },
        )
        .await
    })
    .await;
    h.check(G, "list_skill_versions", |c| async move {
        c.list_skill_versions("skill_abc123", None, Some(10), None)
            .await
    })
    .await;
    h.check(G, "get_skill_version", |c| async move {
        c.get_skill_version("skill_abc123", "2").await
    })
    .await;
    h.check(G, "get_skill_version_content", |c| async move {
        c.get_skill_version_content("skill_abc123", "2").await
    })
    .await;
    h.check(G, "delete_skill_version", |c| async move {
        c.delete_skill_version("skill_abc123", "1").await
    })
    .await;
    h.check(G, "delete_skill", |c| async move {
        c.delete_skill("skill_abc123").await
    })
    .await;

    h.check(
        "content-provenance",
        "create_content_provenance_check (multipart)",
        |c| async move {
            c.create_content_provenance_check(&types::CreateContentProvenanceBody {
                file: png("generated.png"),
                extra: Default::default(),
            })
            .await
        },
    )
    .await;
}

async fn admin(h: &mut Harness) {
    const G: &str = "admin";
    const PROJ: &str = "proj_abc123";
    const START: i64 = 1_730_419_200;
    h.check(G, "admin_api_keys_create", |c| async move {
        c.admin_api_keys_create(&types::AdminApiKeysCreateBody {
            name: "ci-admin-key".into(),
            expires_in_seconds: NonZeroU64::new(86_400),
            extra: Default::default(),
        })
        .await
    })
    .await;
    h.check(G, "admin_api_keys_list", |c| async move {
        c.admin_api_keys_list(None, Some(20), Some("asc".into()))
            .await
    })
    .await;
    h.check(G, "admin_api_keys_get", |c| async move {
        c.admin_api_keys_get("key_abc123").await
    })
    .await;
    h.check(G, "admin_api_keys_delete", |c| async move {
        c.admin_api_keys_delete("key_abc123").await
    })
    .await;

    h.check(G, "list_audit_logs", |c| async move {
        let types_ = vec![
            types::AuditLogEventType::from("project.created"),
            "api_key.created".into(),
        ];
        let projects = vec![PROJ.to_owned()];
        c.list_audit_logs(
            None,
            None,
            None,
            None,
            Some(&types_),
            Some(20),
            Some(&projects),
            None,
            None,
        )
        .await
    })
    .await;
    h.check(G, "list_audit_logs_filtered", |c| async move {
        c.list_audit_logs_filtered(&AuditLogQuery {
            effective_at: TimeRange {
                gte: Some(START),
                lt: Some(START + 86_400),
                ..TimeRange::default()
            },
            project_ids: vec![PROJ.into()],
            event_types: vec!["project.created".into()],
            actor_emails: vec!["jane@example.com".into()],
            limit: Some(50),
            ..AuditLogQuery::default()
        })
        .await
    })
    .await;

    h.check(G, "usage_completions", |c| async move {
        let group_by = vec![
            types::UsageCompletionsGroupByItem::from("model"),
            "project_id".into(),
        ];
        c.usage_completions(
            None,
            Some(false),
            Some("1d".into()),
            None,
            Some(&group_by),
            Some(7),
            None,
            None,
            None,
            START,
            None,
        )
        .await
    })
    .await;
    h.check(G, "usage_embeddings", |c| async move {
        c.usage_embeddings(
            None,
            Some("1h".into()),
            Some(START + 3_600),
            None,
            Some(24),
            None,
            None,
            None,
            START,
            None,
        )
        .await
    })
    .await;
    h.check(G, "usage_images", |c| async move {
        c.usage_images(
            None, None, None, None, None, None, None, None, None, None, START, None,
        )
        .await
    })
    .await;
    h.check(G, "usage_costs", |c| async move {
        let group_by = vec![types::UsageCostsGroupByItem::from("line_item")];
        c.usage_costs(
            None,
            Some("1d".into()),
            None,
            Some(&group_by),
            Some(30),
            None,
            None,
            START,
        )
        .await
    })
    .await;

    h.check(G, "list_organization_certificates", |c| async move {
        c.list_organization_certificates(None, Some(10), None).await
    })
    .await;
    h.check(G, "upload_certificate", |c| async move {
        c.upload_certificate(&types::UploadCertificateRequest {
            name: Some("corp-ca".into()),
            certificate:
                "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n"
                    .into(),
            extra: Default::default(),
        })
        .await
    })
    .await;
    h.check(G, "get_certificate", |c| async move {
        c.get_certificate(
            "cert_abc123",
            Some(&vec![types::GetCertificateIncludeItem::from("content")]),
        )
        .await
    })
    .await;
    h.check(G, "modify_certificate", |c| async move {
        c.modify_certificate(
            "cert_abc123",
            &types::ModifyCertificateRequest {
                name: Some("corp-ca-2025".into()),
                extra: Default::default(),
            },
        )
        .await
    })
    .await;
    h.check(G, "activate_organization_certificates", |c| async move {
        c.activate_organization_certificates(&types::ToggleCertificatesRequest {
            certificate_ids: vec!["cert_abc123".into()],
            extra: Default::default(),
        })
        .await
    })
    .await;
    h.check(G, "deactivate_project_certificates", |c| async move {
        c.deactivate_project_certificates(
            PROJ,
            &types::ToggleCertificatesRequest {
                certificate_ids: vec!["cert_abc123".into()],
                extra: Default::default(),
            },
        )
        .await
    })
    .await;
    h.check(G, "delete_certificate", |c| async move {
        c.delete_certificate("cert_abc123").await
    })
    .await;

    h.check(G, "create_project", |c| async move {
        c.create_project(&types::ProjectCreateRequest {
            name: "Project X".into(),
            external_key_id: None,
            residency: None,
            extra: Default::default(),
        })
        .await
    })
    .await;
    h.check(G, "list_projects", |c| async move {
        c.list_projects(None, Some(false), Some(20)).await
    })
    .await;
    h.check(G, "retrieve_project", |c| async move {
        c.retrieve_project(PROJ).await
    })
    .await;
    h.check(G, "modify_project", |c| async move {
        c.modify_project(
            PROJ,
            &types::ProjectUpdateRequest {
                name: Some("Project X (renamed)".into()),
                external_key_id: None,
                extra: Default::default(),
            },
        )
        .await
    })
    .await;
    h.check(G, "archive_project", |c| async move {
        c.archive_project(PROJ).await
    })
    .await;
    h.check(G, "list_project_users", |c| async move {
        c.list_project_users(PROJ, None, Some(20)).await
    })
    .await;
    h.check(G, "create_project_user", |c| async move {
        c.create_project_user(
            PROJ,
            &types::ProjectUserCreateRequest {
                user_id: Some("user_abc123".into()),
                email: None,
                role: "member".into(),
                extra: Default::default(),
            },
        )
        .await
    })
    .await;
    h.check(G, "retrieve_project_user", |c| async move {
        c.retrieve_project_user(PROJ, "user_abc123").await
    })
    .await;
    h.check(G, "modify_project_user", |c| async move {
        c.modify_project_user(
            PROJ,
            "user_abc123",
            &types::ProjectUserUpdateRequest {
                role: Some("owner".into()),
                extra: Default::default(),
            },
        )
        .await
    })
    .await;
    h.check(G, "delete_project_user", |c| async move {
        c.delete_project_user(PROJ, "user_abc123").await
    })
    .await;
    h.check(G, "list_project_service_accounts", |c| async move {
        c.list_project_service_accounts(PROJ, None, Some(20)).await
    })
    .await;
    h.check(G, "create_project_service_account", |c| async move {
        c.create_project_service_account(
            PROJ,
            &types::ProjectServiceAccountCreateRequest {
                name: "ci-bot".into(),
                create_service_account_only: None,
                extra: Default::default(),
            },
        )
        .await
    })
    .await;
    h.check(G, "retrieve_project_service_account", |c| async move {
        c.retrieve_project_service_account(PROJ, "svc_acct_abc123")
            .await
    })
    .await;
    h.check(G, "createan_ap_ikeyforaserviceaccount", |c| async move {
        c.createan_ap_ikeyforaserviceaccount(
            PROJ,
            "svc_acct_abc123",
            &types::CreateProjectServiceAccountApiKeyBody {
                name: Some("deploy".into()),
                scopes: vec![],
                extra: Default::default(),
            },
        )
        .await
    })
    .await;
    h.check(G, "delete_project_service_account", |c| async move {
        c.delete_project_service_account(PROJ, "svc_acct_abc123")
            .await
    })
    .await;
    h.check(G, "list_project_api_keys", |c| async move {
        c.list_project_api_keys(PROJ, None, Some(20), None).await
    })
    .await;
    h.check(G, "retrieve_project_api_key", |c| async move {
        c.retrieve_project_api_key(PROJ, "key_abc123").await
    })
    .await;
    h.check(G, "delete_project_api_key", |c| async move {
        c.delete_project_api_key(PROJ, "key_abc123").await
    })
    .await;
    h.check(G, "list_project_rate_limits", |c| async move {
        c.list_project_rate_limits(PROJ, None, None, Some(50)).await
    })
    .await;
    h.check(G, "update_project_rate_limits", |c| async move {
        c.update_project_rate_limits(
            PROJ,
            "rl-gpt-4o",
            &body(json!({"max_requests_per_1_minute": 500, "max_tokens_per_1_minute": 200_000})),
        )
        .await
    })
    .await;
    h.check(G, "update_project_model_permissions", |c| async move {
        c.update_project_model_permissions(
            PROJ,
            &body(json!({"mode": "allow_list", "model_ids": ["gpt-4o", "gpt-4o-mini"]})),
        )
        .await
    })
    .await;
    h.check(G, "retrieve_project_model_permissions", |c| async move {
        c.retrieve_project_model_permissions(PROJ).await
    })
    .await;
    h.check(
        G,
        "update_project_hosted_tool_permissions",
        |c| async move {
            c.update_project_hosted_tool_permissions(
            PROJ,
            &body(json!({"web_search": {"enabled": false}, "code_interpreter": {"enabled": true}})),
        )
        .await
        },
    )
    .await;
    h.check(G, "update_project_data_retention", |c| async move {
        c.update_project_data_retention(
            PROJ,
            &body(json!({"retention_type": "zero_data_retention"})),
        )
        .await
    })
    .await;
    h.check(G, "retrieve_organization_data_retention", |c| async move {
        c.retrieve_organization_data_retention().await
    })
    .await;
    h.check(G, "create_project_spend_alert", |c| async move {
        c.create_project_spend_alert(
            PROJ,
            &body(json!({
                "threshold_amount": 500,
                "currency": "USD",
                "interval": "month",
                "notification_channel": {"type": "email", "recipients": ["finance@example.com"], "subject_prefix": "[spend]"}
            })),
        )
        .await
    })
    .await;
    h.check(G, "list_organization_spend_alerts", |c| async move {
        c.list_organization_spend_alerts(None, None, Some(10), None)
            .await
    })
    .await;
    h.check(G, "updateorganizationspendlimit", |c| async move {
        c.updateorganizationspendlimit(&body(
            json!({"threshold_amount": 10_000, "currency": "USD", "interval": "month"}),
        ))
        .await
    })
    .await;
    h.check(G, "getprojectspendlimit", |c| async move {
        c.getprojectspendlimit(PROJ).await
    })
    .await;

    h.check(G, "list_users", |c| async move {
        c.list_users(None, Some(&vec!["jane@example.com".to_owned()]), Some(20))
            .await
    })
    .await;
    h.check(G, "retrieve_user", |c| async move {
        c.retrieve_user("user_abc123").await
    })
    .await;
    h.check(G, "modify_user", |c| async move {
        c.modify_user(
            "user_abc123",
            &types::UserRoleUpdateRequest {
                role: Some("reader".into()),
                role_id: None,
                technical_level: None,
                developer_persona: None,
                extra: Default::default(),
            },
        )
        .await
    })
    .await;
    h.check(G, "delete_user", |c| async move {
        c.delete_user("user_abc123").await
    })
    .await;

    h.check(G, "invite_user", |c| async move {
        c.invite_user(&types::InviteRequest {
            email: "new.hire@example.com".into(),
            role: types::InviteRequestRole::Reader,
            projects: vec![types::InviteRequestProjectsItem {
                id: PROJ.into(),
                role: types::InviteRequestProjectsItemRole::Member,
                extra: Default::default(),
            }],
            extra: Default::default(),
        })
        .await
    })
    .await;
    h.check(G, "list_invites", |c| async move {
        c.list_invites(None, Some(20)).await
    })
    .await;
    h.check(G, "retrieve_invite", |c| async move {
        c.retrieve_invite("invite-abc123").await
    })
    .await;
    h.check(G, "delete_invite", |c| async move {
        c.delete_invite("invite-abc123").await
    })
    .await;

    h.check(G, "create_group", |c| async move {
        c.create_group(&types::CreateGroupBody {
            name: "Engineering".try_into().expect("a valid group name"),
            extra: Default::default(),
        })
        .await
    })
    .await;
    h.check(G, "list_groups", |c| async move {
        c.list_groups(None, Some(20), None).await
    })
    .await;
    h.check(G, "add_group_user", |c| async move {
        c.add_group_user(
            "group_abc123",
            &types::CreateGroupUserBody {
                user_id: "user_abc123".into(),
                extra: Default::default(),
            },
        )
        .await
    })
    .await;
    h.check(G, "list_group_users", |c| async move {
        c.list_group_users("group_abc123", None, Some(20), None)
            .await
    })
    .await;
    h.check(G, "assign_group_role", |c| async move {
        c.assign_group_role(
            "group_abc123",
            &types::PublicAssignOrganizationGroupRoleBody {
                role_id: "role_abc123".into(),
                extra: Default::default(),
            },
        )
        .await
    })
    .await;
    h.check(G, "add_project_group", |c| async move {
        c.add_project_group(
            PROJ,
            &types::InviteProjectGroupBody {
                group_id: "group_abc123".into(),
                role: "role_abc123".into(),
                extra: Default::default(),
            },
        )
        .await
    })
    .await;
    h.check(G, "create_role", |c| async move {
        c.create_role(&types::PublicCreateOrganizationRoleBody {
            role_name: "Billing viewer".into(),
            permissions: vec!["api.organization.billing.read".into()],
            description: Some("Can see invoices".into()),
            extra: Default::default(),
        })
        .await
    })
    .await;
    h.check(G, "list_roles", |c| async move {
        c.list_roles(None, Some(20), None).await
    })
    .await;
    h.check(G, "list_project_roles", |c| async move {
        c.list_project_roles(PROJ, None, Some(20), None).await
    })
    .await;
    h.check(G, "assign_user_role", |c| async move {
        c.assign_user_role(
            "user_abc123",
            &types::PublicAssignOrganizationGroupRoleBody {
                role_id: "role_abc123".into(),
                extra: Default::default(),
            },
        )
        .await
    })
    .await;
    h.check(G, "list_project_user_role_assignments", |c| async move {
        c.list_project_user_role_assignments(PROJ, "user_abc123", None, Some(20), None)
            .await
    })
    .await;
}

/// The rest of the organization administration: usage, roles and their assignments,
/// groups, spend alerts and limits, certificates and permissions of projects.
async fn admin_more(h: &mut Harness) {
    const G: &str = "admin";
    const PROJ: &str = "proj_abc123";
    const GROUP: &str = "group_abc123";
    const ROLE: &str = "role_abc123";
    const USER: &str = "user_abc123";
    const START: i64 = 1_730_419_200;
    let projects = vec![PROJ.to_owned()];
    let projects = &projects;

    h.check(G, "usage_audio_speeches", |c| async move {
        c.usage_audio_speeches(
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            Some(projects),
            START,
            None,
        )
        .await
    })
    .await;
    h.check(G, "usage_audio_transcriptions", |c| async move {
        let models = vec!["whisper-1".to_owned()];
        c.usage_audio_transcriptions(
            None,
            None,
            None,
            None,
            Some(7),
            Some(&models),
            None,
            None,
            START,
            None,
        )
        .await
    })
    .await;
    h.check(G, "usage_code_interpreter_sessions", |c| async move {
        c.usage_code_interpreter_sessions(
            None,
            Some(START + 7 * 86_400),
            None,
            None,
            None,
            None,
            START,
        )
        .await
    })
    .await;
    h.check(G, "usage_file_search_calls", |c| async move {
        let stores = vec!["vs_abc123".to_owned()];
        c.usage_file_search_calls(
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            START,
            None,
            Some(&stores),
        )
        .await
    })
    .await;
    h.check(G, "usage_moderations", |c| async move {
        c.usage_moderations(None, None, None, None, None, None, None, None, START, None)
            .await
    })
    .await;
    h.check(G, "usage_vector_stores", |c| async move {
        c.usage_vector_stores(Some("1d".into()), None, None, Some(30), None, None, START)
            .await
    })
    .await;
    h.check(G, "usage_web_search_calls", |c| async move {
        c.usage_web_search_calls(
            None, None, None, None, None, None, None, None, None, START, None,
        )
        .await
    })
    .await;

    h.check(G, "update_organization_data_retention", |c| async move {
        c.update_organization_data_retention(&body(
            json!({"retention_type": "zero_data_retention"}),
        ))
        .await
    })
    .await;
    h.check(G, "retrieve_project_data_retention", |c| async move {
        c.retrieve_project_data_retention(PROJ).await
    })
    .await;
    h.check(
        G,
        "retrieve_project_hosted_tool_permissions",
        |c| async move { c.retrieve_project_hosted_tool_permissions(PROJ).await },
    )
    .await;
    h.check(G, "delete_project_model_permissions", |c| async move {
        c.delete_project_model_permissions(PROJ).await
    })
    .await;
    h.check(G, "update_project_service_account", |c| async move {
        c.update_project_service_account(
            PROJ,
            "svc_acct_abc123",
            &types::UpdateProjectServiceAccountBody {
                name: Some("ci-bot (deploys)".into()),
                role: Some(types::UpdateProjectServiceAccountBodyRole::Owner),
                extra: Default::default(),
            },
        )
        .await
    })
    .await;

    h.check(G, "deactivate_organization_certificates", |c| async move {
        c.deactivate_organization_certificates(&types::ToggleCertificatesRequest {
            certificate_ids: vec!["cert_abc123".into()],
            extra: Default::default(),
        })
        .await
    })
    .await;
    h.check(G, "list_project_certificates", |c| async move {
        c.list_project_certificates(PROJ, None, Some(10), None)
            .await
    })
    .await;
    h.check(G, "activate_project_certificates", |c| async move {
        c.activate_project_certificates(
            PROJ,
            &types::ToggleCertificatesRequest {
                certificate_ids: vec!["cert_abc123".into()],
                extra: Default::default(),
            },
        )
        .await
    })
    .await;

    let alert = || -> types::CreateSpendAlertBody {
        body(json!({
            "threshold_amount": 2_000,
            "currency": "USD",
            "interval": "month",
            "notification_channel": {"type": "email", "recipients": ["finance@example.com", "cto@example.com"]}
        }))
    };
    let alert = &alert;
    h.check(G, "create_organization_spend_alert", |c| async move {
        c.create_organization_spend_alert(&alert()).await
    })
    .await;
    h.check(G, "retrieve_organization_spend_alert", |c| async move {
        c.retrieve_organization_spend_alert("alert_abc123").await
    })
    .await;
    h.check(G, "update_organization_spend_alert", |c| async move {
        c.update_organization_spend_alert("alert_abc123", &alert())
            .await
    })
    .await;
    h.check(G, "delete_organization_spend_alert", |c| async move {
        c.delete_organization_spend_alert("alert_abc123").await
    })
    .await;
    h.check(G, "list_project_spend_alerts", |c| async move {
        c.list_project_spend_alerts(PROJ, None, None, Some(10), None)
            .await
    })
    .await;
    h.check(G, "retrieve_project_spend_alert", |c| async move {
        c.retrieve_project_spend_alert(PROJ, "alert_abc123").await
    })
    .await;
    h.check(G, "update_project_spend_alert", |c| async move {
        c.update_project_spend_alert(PROJ, "alert_abc123", &alert())
            .await
    })
    .await;
    h.check(G, "delete_project_spend_alert", |c| async move {
        c.delete_project_spend_alert(PROJ, "alert_abc123").await
    })
    .await;
    h.check(G, "getorganizationspendlimit", |c| async move {
        c.getorganizationspendlimit().await
    })
    .await;
    h.check(G, "deleteorganizationspendlimit", |c| async move {
        c.deleteorganizationspendlimit().await
    })
    .await;
    h.check(G, "updateprojectspendlimit", |c| async move {
        c.updateprojectspendlimit(
            PROJ,
            &body(json!({"threshold_amount": 500, "currency": "USD", "interval": "month"})),
        )
        .await
    })
    .await;
    h.check(G, "deleteprojectspendlimit", |c| async move {
        c.deleteprojectspendlimit(PROJ).await
    })
    .await;

    h.check(G, "retrieve_group", |c| async move {
        c.retrieve_group(GROUP).await
    })
    .await;
    h.check(G, "update_group", |c| async move {
        c.update_group(
            GROUP,
            &types::UpdateGroupBody {
                name: "Platform Engineering"
                    .try_into()
                    .expect("a valid group name"),
                extra: Default::default(),
            },
        )
        .await
    })
    .await;
    h.check(G, "retrieve_group_user", |c| async move {
        c.retrieve_group_user(GROUP, USER).await
    })
    .await;
    h.check(G, "remove_group_user", |c| async move {
        c.remove_group_user(GROUP, USER).await
    })
    .await;
    h.check(G, "list_group_role_assignments", |c| async move {
        c.list_group_role_assignments(GROUP, None, Some(20), None)
            .await
    })
    .await;
    h.check(G, "retrieve_group_role", |c| async move {
        c.retrieve_group_role(GROUP, ROLE).await
    })
    .await;
    h.check(G, "unassign_group_role", |c| async move {
        c.unassign_group_role(GROUP, ROLE).await
    })
    .await;
    h.check(
        G,
        "delete_group",
        |c| async move { c.delete_group(GROUP).await },
    )
    .await;

    h.check(G, "list_project_groups", |c| async move {
        c.list_project_groups(PROJ, None, Some(20), None).await
    })
    .await;
    h.check(G, "retrieve_project_group", |c| async move {
        c.retrieve_project_group(PROJ, GROUP, None).await
    })
    .await;
    h.check(G, "list_project_group_role_assignments", |c| async move {
        c.list_project_group_role_assignments(PROJ, GROUP, None, Some(20), None)
            .await
    })
    .await;
    h.check(G, "assign_project_group_role", |c| async move {
        c.assign_project_group_role(
            PROJ,
            GROUP,
            &types::PublicAssignOrganizationGroupRoleBody {
                role_id: ROLE.into(),
                extra: Default::default(),
            },
        )
        .await
    })
    .await;
    h.check(G, "retrieve_project_group_role", |c| async move {
        c.retrieve_project_group_role(PROJ, GROUP, ROLE).await
    })
    .await;
    h.check(G, "unassign_project_group_role", |c| async move {
        c.unassign_project_group_role(PROJ, GROUP, ROLE).await
    })
    .await;
    h.check(G, "remove_project_group", |c| async move {
        c.remove_project_group(PROJ, GROUP).await
    })
    .await;

    h.check(G, "retrieve_role", |c| async move {
        c.retrieve_role(ROLE).await
    })
    .await;
    h.check(G, "update_role", |c| async move {
        c.update_role(
            ROLE,
            &types::PublicUpdateOrganizationRoleBody {
                role_name: None,
                description: Some("Can see invoices and usage".into()),
                permissions: Some(vec![
                    "api.organization.billing.read".into(),
                    "api.organization.usage.read".into(),
                ]),
                extra: Default::default(),
            },
        )
        .await
    })
    .await;
    h.check(
        G,
        "delete_role",
        |c| async move { c.delete_role(ROLE).await },
    )
    .await;
    h.check(G, "create_project_role", |c| async move {
        c.create_project_role(
            PROJ,
            &types::PublicCreateOrganizationRoleBody {
                role_name: "Model reviewer".into(),
                permissions: vec!["api.model.read".into()],
                description: None,
                extra: Default::default(),
            },
        )
        .await
    })
    .await;
    h.check(G, "retrieve_project_role", |c| async move {
        c.retrieve_project_role(PROJ, ROLE).await
    })
    .await;
    h.check(G, "update_project_role", |c| async move {
        c.update_project_role(
            PROJ,
            ROLE,
            &types::PublicUpdateOrganizationRoleBody {
                role_name: Some("Model auditor".into()),
                description: None,
                permissions: None,
                extra: Default::default(),
            },
        )
        .await
    })
    .await;
    h.check(G, "delete_project_role", |c| async move {
        c.delete_project_role(PROJ, ROLE).await
    })
    .await;

    h.check(G, "list_user_role_assignments", |c| async move {
        c.list_user_role_assignments(USER, None, Some(20), None)
            .await
    })
    .await;
    h.check(G, "retrieve_user_role", |c| async move {
        c.retrieve_user_role(USER, ROLE).await
    })
    .await;
    h.check(G, "unassign_user_role", |c| async move {
        c.unassign_user_role(USER, ROLE).await
    })
    .await;
    h.check(G, "assign_project_user_role", |c| async move {
        c.assign_project_user_role(
            PROJ,
            USER,
            &types::PublicAssignOrganizationGroupRoleBody {
                role_id: ROLE.into(),
                extra: Default::default(),
            },
        )
        .await
    })
    .await;
    h.check(G, "retrieve_project_user_role", |c| async move {
        c.retrieve_project_user_role(PROJ, USER, ROLE).await
    })
    .await;
    h.check(G, "unassign_project_user_role", |c| async move {
        c.unassign_project_user_role(PROJ, USER, ROLE).await
    })
    .await;
}

#[tokio::test]
async fn every_api_group_answers_and_decodes() {
    let mut h = Harness::new();
    chat(&mut h).await;
    completions_embeddings_moderations_models(&mut h).await;
    responses(&mut h).await;
    conversations(&mut h).await;
    audio(&mut h).await;
    images(&mut h).await;
    files_uploads_batches(&mut h).await;
    assistants(&mut h).await;
    vector_stores(&mut h).await;
    fine_tuning(&mut h).await;
    evals(&mut h).await;
    realtime(&mut h).await;
    containers(&mut h).await;
    videos(&mut h).await;
    chatkit(&mut h).await;
    skills(&mut h).await;
    admin(&mut h).await;
    admin_more(&mut h).await;

    let report = h.report();
    println!("{report}");
    let failures = h
        .failures
        .iter()
        .map(|f| format!("  - {f}"))
        .collect::<Vec<_>>()
        .join("\n");
    let multipart = h
        .covered
        .values()
        .flatten()
        .filter(|op| op.contains("(multipart)"))
        .count();
    // Coverage is the spec's: every operation it lists is called, under its method name,
    // except those in NOT_CALLED; every name called is an operation of the spec or one of
    // the SDK's extra forms of one.
    let called: BTreeSet<&str> = h
        .covered
        .values()
        .flatten()
        .map(|op| op.split(' ').next().unwrap_or(op))
        .collect();
    let spec = spec_operations();
    let missing: Vec<&(String, String)> = spec
        .iter()
        .filter(|(id, method)| {
            !called.contains(method.as_str()) && !NOT_CALLED.iter().any(|(n, _)| n == id)
        })
        .collect();
    assert!(
        missing.is_empty(),
        "operations of the spec this run does not call (operation id, method): {missing:?}"
    );
    for (id, why) in NOT_CALLED {
        assert!(
            spec.iter().any(|(spec_id, _)| spec_id == id),
            "{id} is listed as not called ({why}) but is no longer in the spec"
        );
    }
    let unknown: Vec<&&str> = called
        .iter()
        .filter(|m| !spec.iter().any(|(_, method)| method == **m) && !EXTRA_FORMS.contains(*m))
        .collect();
    assert!(
        unknown.is_empty(),
        "called names that are no operation of the spec: {unknown:?}"
    );
    assert_eq!(
        called.len(),
        spec.len() - NOT_CALLED.len() + EXTRA_FORMS.len(),
        "every operation once, plus the extra forms"
    );
    assert!(
        multipart >= 3,
        "only {multipart} multipart operations covered"
    );
    assert!(
        h.failures.is_empty(),
        "{} failures:\n{failures}",
        h.failures.len()
    );
}

/// Prism's validation is on: a chat completion whose `messages` have the wrong shape gets
/// a 422, which the SDK surfaces as `Error::Api` with Prism's explanation.
#[tokio::test]
async fn an_invalid_request_is_rejected_with_422() {
    let c = client(&prism_url(), false);
    let mut req: types::CreateChatCompletionRequest =
        body(json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello"}]}));
    // A message must be an object with a role; a bare string is not.
    req.messages = vec![types::ChatCompletionRequestMessage::Unknown(json!("Hello"))];
    let err = c
        .create_chat_completion(&req)
        .await
        .expect_err("Prism must reject a malformed message");
    let Error::Api(api) = &err else {
        panic!("expected Error::Api, got {err:?}")
    };
    assert_eq!(api.status, Some(422), "{}", describe(&err));
    assert!(
        api.message.contains("Invalid request"),
        "the message should carry Prism's text: {}",
        api.message
    );
    let validation = api
        .body
        .as_ref()
        .and_then(|b| b.get("validation"))
        .expect("Prism's list of violations");
    assert!(
        validation.to_string().contains("messages"),
        "the violations should name `messages`: {validation}"
    );
}

/// A body that does not fit the expected type gives `Error::Decode` naming the JSON path.
/// Prism only answers bodies that fit the spec, so we make the SDK read another
/// operation's answer: with the base URL `{prism}/vector_stores/vs_abc123`, `list_files`
/// (`GET {base}/files`) reaches `listVectorStoreFiles`, whose items are vector store files
/// (no `bytes`, `filename` or `purpose`), not files.
#[tokio::test]
async fn a_body_that_does_not_fit_is_a_decode_error_with_its_path() {
    let c = client(&format!("{}/vector_stores/vs_abc123", prism_url()), false);
    let err = c
        .list_files(None, None, None, None)
        .await
        .expect_err("a vector store file list is not a file list");
    let Error::Decode { path, message, .. } = &err else {
        panic!("expected Error::Decode, got {err:?}")
    };
    assert!(
        path.starts_with("data[0]"),
        "the path should point into the first item: {err}"
    );
    assert!(message.contains("missing field"), "{err}");
}
