//! Every event of every recorded stream in `tests/fixtures` decodes into its generated type:
//! the spec the types come from agrees with what the API sends (where it does not,
//! `openapi/patches.json` says so and mends the spec).

use std::path::{Path, PathBuf};

use openai_sdk::types;
use serde_json::{json, Value};

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

// --- unknown fields are kept (issue 13) -------------------------------------------------

/// Every file under `tests/fixtures` with `ext`.
fn all_fixtures(ext: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut stack = vec![root.join("tests/fixtures")];
    let mut out = Vec::new();
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == ext) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// `event:` name (if any) and `data:` payload of each frame of an SSE file, without `[DONE]`.
fn frames(path: &Path) -> Vec<(Option<String>, String)> {
    let text = std::fs::read_to_string(path).unwrap().replace("\r\n", "\n");
    let mut out = Vec::new();
    for frame in text.split("\n\n") {
        let mut name = None;
        let mut data = Vec::new();
        for line in frame.lines() {
            if let Some(n) = line.strip_prefix("event:") {
                name = Some(n.trim().to_owned());
            } else if let Some(d) = line.strip_prefix("data:") {
                data.push(d.strip_prefix(' ').unwrap_or(d).to_owned());
            }
        }
        let data = data.join("\n");
        if !data.is_empty() && data != "[DONE]" {
            out.push((name, data));
        }
    }
    out
}

/// Whether an object member holding `v` means the same as no member at all: `null`, and
/// also `[]`, because a typed list field cannot tell an absent list from an empty one
/// (an optional list is written only when it is not empty, a required one always; the
/// README's "Unknown object fields" says so).
fn is_nothing(v: &Value) -> bool {
    v.is_null() || v.as_array().is_some_and(|a| a.is_empty())
}

/// JSON equality where a `null` (or `[]`, see `is_nothing`) and an absent key are the same
/// and numbers compare by value.
fn same(a: &Value, b: &Value) -> bool {
    if is_nothing(a) && is_nothing(b) {
        return true;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x
                .iter()
                .chain(y.iter())
                .filter(|(_, v)| !is_nothing(v))
                .map(|(k, _)| k)
                .collect();
            keys.into_iter().all(|k| {
                same(
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                )
            })
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// The first path where `a` and `b` differ, for failure messages.
fn first_difference(a: &Value, b: &Value, path: &str) -> String {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys()) {
                let (va, vb) = (
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                );
                if !same(va, vb) {
                    return first_difference(va, vb, &format!("{path}.{k}"));
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                if !same(va, vb) {
                    return first_difference(va, vb, &format!("{path}[{i}]"));
                }
            }
        }
        _ => {}
    }
    format!("{path}: {a} became {b}")
}

/// Adds an unknown field to every object of `v` up to `max_depth` levels of objects deep:
/// a nested value near the top, a scalar deeper down (and only a string inside the maps
/// whose values the spec types, such as `metadata`).
fn inject(v: &mut Value, depth: usize, max_depth: usize) {
    match v {
        Value::Object(m) => {
            if depth > max_depth {
                return;
            }
            for (k, child) in m.iter_mut() {
                if k == "metadata" || k == "parameters" || k == "schema" {
                    continue;
                }
                inject(child, depth + 1, max_depth);
            }
            let value = if depth < 2 {
                json!({"nested": [1, {"deep": [null, "x", 2.5]}], "flag": true})
            } else {
                json!(format!("probe-{depth}"))
            };
            m.insert(format!("probe_unknown_{depth}"), value);
        }
        Value::Array(a) => {
            for x in a {
                inject(x, depth, max_depth);
            }
        }
        _ => {}
    }
}

/// Decodes `text` as `T` (the borrowing path) and `value` as `T` (the owned path), and
/// checks that each serializes back to the input.
fn round_trips<T: serde::de::DeserializeOwned + serde::Serialize>(
    value: &Value,
) -> Result<(), String> {
    let text = value.to_string();
    let typed: T = decode(&text)?;
    let back = serde_json::to_value(&typed).map_err(|e| e.to_string())?;
    if !same(value, &back) {
        return Err(format!(
            "changed on the way back: {}",
            first_difference(value, &back, "$")
        ));
    }
    let owned: T = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
    if serde_json::to_value(&owned).map_err(|e| e.to_string())? != back {
        return Err("decoding from a Value gave another result".into());
    }
    Ok(())
}

/// Checks `value` as it came and with unknown fields at 1, 3 and every depth.
fn round_trips_with_unknown<T: serde::de::DeserializeOwned + serde::Serialize>(
    value: &Value,
    what: &str,
    failures: &mut Vec<String>,
) {
    for max_depth in [None, Some(0), Some(2), Some(usize::MAX)] {
        let mut v = value.clone();
        if let Some(d) = max_depth {
            inject(&mut v, 0, d);
        }
        if let Err(e) = round_trips::<T>(&v) {
            failures.push(format!(
                "{what} ({}, unknown fields to depth {max_depth:?}): {e}",
                std::any::type_name::<T>().rsplit("::").next().unwrap_or("")
            ));
            return;
        }
    }
}

#[test]
fn recorded_objects_round_trip_with_unknown_fields_at_every_depth() {
    let mut failures = Vec::new();
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    let mut check =
        |name: &'static str, value: &Value, what: String, failures: &mut Vec<String>| {
            *counts.entry(name).or_default() += 1;
            match name {
                #[cfg(feature = "chat")]
                "CreateChatCompletionStreamResponse" => round_trips_with_unknown::<
                    types::CreateChatCompletionStreamResponse,
                >(value, &what, failures),
                #[cfg(feature = "chat")]
                "CreateChatCompletionResponse" => round_trips_with_unknown::<
                    types::CreateChatCompletionResponse,
                >(value, &what, failures),
                #[cfg(feature = "responses")]
                "ResponseStreamEvent" => {
                    round_trips_with_unknown::<types::ResponseStreamEvent>(value, &what, failures)
                }
                #[cfg(feature = "responses")]
                "Response" => round_trips_with_unknown::<types::Response>(value, &what, failures),
                #[cfg(feature = "assistants")]
                "RunObject" => round_trips_with_unknown::<types::RunObject>(value, &what, failures),
                #[cfg(feature = "assistants")]
                "RunStepObject" => {
                    round_trips_with_unknown::<types::RunStepObject>(value, &what, failures)
                }
                #[cfg(feature = "assistants")]
                "RunStepDeltaObject" => {
                    round_trips_with_unknown::<types::RunStepDeltaObject>(value, &what, failures)
                }
                #[cfg(feature = "assistants")]
                "MessageObject" => {
                    round_trips_with_unknown::<types::MessageObject>(value, &what, failures)
                }
                #[cfg(feature = "assistants")]
                "MessageDeltaObject" => {
                    round_trips_with_unknown::<types::MessageDeltaObject>(value, &what, failures)
                }
                #[cfg(feature = "assistants")]
                "ThreadObject" => {
                    round_trips_with_unknown::<types::ThreadObject>(value, &what, failures)
                }
                _ => {}
            }
        };
    for file in all_fixtures("sse") {
        for (i, (event, data)) in frames(&file).into_iter().enumerate() {
            let Ok(value) = serde_json::from_str::<Value>(&data) else {
                continue;
            };
            let what = format!("{} frame {i}", file.display());
            let object = value["object"].as_str().unwrap_or("");
            let kind = value["type"].as_str().unwrap_or("");
            let name = match event.as_deref() {
                Some("thread.created") => "ThreadObject",
                Some("thread.run.step.delta") => "RunStepDeltaObject",
                Some(e) if e.starts_with("thread.run.step.") => "RunStepObject",
                Some(e) if e.starts_with("thread.run.") => "RunObject",
                Some("thread.message.delta") => "MessageDeltaObject",
                Some(e) if e.starts_with("thread.message.") => "MessageObject",
                _ if object == "chat.completion.chunk" => "CreateChatCompletionStreamResponse",
                _ if kind.starts_with("response.") => "ResponseStreamEvent",
                _ => continue,
            };
            if name == "ResponseStreamEvent" && value["response"].is_object() {
                check(
                    "Response",
                    &value["response"],
                    format!("{what} .response"),
                    &mut failures,
                );
            }
            check(name, &value, what, &mut failures);
        }
    }
    for file in all_fixtures("json") {
        let Ok(value) = serde_json::from_slice::<Value>(&std::fs::read(&file).unwrap()) else {
            continue;
        };
        if value["object"] == "chat.completion" {
            check(
                "CreateChatCompletionResponse",
                &value,
                file.display().to_string(),
                &mut failures,
            );
        }
    }
    #[cfg(feature = "chat")]
    assert!(
        counts["CreateChatCompletionStreamResponse"] > 1000,
        "{counts:?}"
    );
    #[cfg(feature = "chat")]
    assert!(counts["CreateChatCompletionResponse"] >= 10, "{counts:?}");
    #[cfg(feature = "responses")]
    assert!(
        counts["ResponseStreamEvent"] > 1000 && counts["Response"] > 20,
        "{counts:?}"
    );
    #[cfg(feature = "assistants")]
    for t in [
        "RunObject",
        "RunStepObject",
        "MessageObject",
        "MessageDeltaObject",
    ] {
        assert!(counts.get(t).copied().unwrap_or(0) >= 5, "{t}: {counts:?}");
    }
    assert!(
        failures.is_empty(),
        "{} failures: {failures:#?}",
        failures.len()
    );
}

/// Unknown fields nested deeper than serde_json's recursion limit are a typed decode
/// error, and a huge one decodes (its size is bounded by `max_response_bytes` upstream).
#[cfg(feature = "chat")]
#[test]
fn deep_or_huge_unknown_fields_are_errors_or_kept_never_panics() {
    let chunk = |unknown: &str| {
        format!(
            r#"{{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{{"index":0,"delta":{{"content":"x","probe":{unknown}}}}}]}}"#
        )
    };
    let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    let e = decode::<types::CreateChatCompletionStreamResponse>(&chunk(&deep)).unwrap_err();
    assert!(e.contains("recursion limit"), "{e}");
    assert!(e.starts_with("choices[0].delta.probe"), "{e}");
    let deep_obj = format!("{}1{}", r#"{"a":"#.repeat(5_000), "}".repeat(5_000));
    let e = decode::<types::CreateChatCompletionStreamResponse>(&chunk(&deep_obj)).unwrap_err();
    assert!(e.contains("recursion limit"), "{e}");
    let huge = format!("\"{}\"", "x".repeat(8 << 20));
    let c = decode::<types::CreateChatCompletionStreamResponse>(&chunk(&huge)).unwrap();
    assert_eq!(
        c.choices[0].delta.extra["probe"].as_str().map(str::len),
        Some(8 << 20)
    );
}
