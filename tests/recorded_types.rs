//! Every event of every recorded stream in `tests/fixtures` decodes into its generated type:
//! the spec the types come from agrees with what the API sends (where it does not,
//! `openapi/patches.json` says so and mends the spec).

use std::path::{Path, PathBuf};

use openai_sdk::types;
use serde_json::Value;

fn fixtures(dir: &str, ext: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    files.sort();
    files
}

/// The `data:` payloads of an SSE file (one line each in these recordings), without `[DONE]`.
fn payloads(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|d| d.trim_start().to_owned())
        .filter(|d| d != "[DONE]")
        .collect()
}

fn decode<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| format!("{}: {}", e.path(), e.inner()))
}

#[cfg(feature = "chat")]
#[test]
fn recorded_chat_chunks_decode_as_their_type() {
    let mut failures = Vec::new();
    let mut count = 0;
    for dir in ["chat", "chat_parse"] {
        for file in fixtures(dir, "sse") {
            for data in payloads(&file) {
                count += 1;
                if let Err(e) = decode::<types::CreateChatCompletionStreamResponse>(&data) {
                    failures.push(format!("{}: {e}", file.display()));
                }
            }
        }
    }
    assert!(count > 100, "{count}");
    assert!(failures.is_empty(), "{failures:#?}");
}

#[cfg(feature = "responses")]
#[test]
fn recorded_response_events_decode_as_their_member() {
    let mut failures = Vec::new();
    let mut count = 0;
    for file in fixtures("responses", "sse") {
        for data in payloads(&file) {
            count += 1;
            let kind = serde_json::from_str::<Value>(&data).unwrap()["type"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            match decode::<types::ResponseStreamEvent>(&data) {
                Ok(types::ResponseStreamEvent::Unknown(_)) => {
                    failures.push(format!("{}: {kind} is Unknown", file.display()))
                }
                Ok(_) => {}
                Err(e) => failures.push(format!("{}: {kind}: {e}", file.display())),
            }
        }
    }
    assert!(count > 50, "{count}");
    assert!(failures.is_empty(), "{failures:#?}");
}

/// `event:` name and `data:` payload of each frame of an SSE file.
#[cfg(feature = "assistants")]
fn named_payloads(path: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    for frame in text.split("\n\n") {
        let mut name = None;
        let mut data = None;
        for line in frame.lines() {
            if let Some(n) = line.strip_prefix("event:") {
                name = Some(n.trim().to_owned());
            } else if let Some(d) = line.strip_prefix("data:") {
                data = Some(d.trim_start().to_owned());
            }
        }
        if let (Some(name), Some(data)) = (name, data) {
            out.push((name, data));
        }
    }
    out
}

#[cfg(feature = "assistants")]
#[test]
fn recorded_assistant_events_decode_as_their_member() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/assistants");
    let mut failures = Vec::new();
    let mut count = 0;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sse"))
        .collect();
    files.sort();
    for file in files {
        for (name, data) in named_payloads(&file) {
            count += 1;
            let data: Value =
                serde_json::from_str(&data).unwrap_or_else(|_| Value::String(data.clone()));
            let text = serde_json::json!({"event": name, "data": data}).to_string();
            match decode::<types::AssistantStreamEvent>(&text) {
                Ok(types::AssistantStreamEvent::Unknown(_)) => {
                    failures.push(format!("{}: {name} is Unknown", file.display()))
                }
                Ok(_) => {}
                Err(e) => failures.push(format!("{}: {name}: {e}", file.display())),
            }
        }
    }
    assert!(count > 50, "{count}");
    assert!(failures.is_empty(), "{failures:#?}");
}
