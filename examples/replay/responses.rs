//! The `responses` kind of the replay example: an SSE body of `POST /responses` with
//! `stream: true`, one line per event in the reference shape, then
//! `{"type":"final_response","response":{...}}`.

use std::io::Write;

use openai_sdk::responses::{ResponseEventPipeline, ResponseParseOptions};
use serde_json::{json, Value};

use super::{agree, error_line, read_json};

/// Replays `input`; `text_format` and `tools` are JSON files (a text format whose output
/// is parsed; the request's tools).
pub fn run(
    input: &str,
    text_format: Option<&str>,
    tools: Option<&str>,
    out: &mut impl Write,
) -> Result<(), String> {
    let mut options = ResponseParseOptions::new();
    if let Some(path) = text_format {
        options = options.text_format(read_json(path)?);
    }
    if let Some(path) = tools {
        match read_json(path)? {
            Value::Array(tools) => options = options.tools(tools),
            _ => return Err(format!("{path} is not a JSON list of tools")),
        }
    }
    let body = std::fs::read(input).map_err(|e| format!("reading {input}: {e}"))?;
    let mut pipeline = ResponseEventPipeline::new(options);
    pipeline.push(&body);
    pipeline.end_of_input();
    let emit = |out: &mut _, value: &Value| super::emit(out, value).map_err(|e| e.to_string());
    while let Some(event) = pipeline.next_event() {
        match event {
            Ok(event) => emit(out, &event.to_reference_json())?,
            Err(e) => {
                return emit(
                    out,
                    &error_line(Some("stream"), e.reference_class(), &e.to_string()),
                );
            }
        }
    }
    // Both ways to finish, which must agree: the copy leaves the pipeline as it was, the
    // other takes it (and moves the response of `response.completed`).
    let copied = pipeline.state().final_response();
    let line = match agree("final_response", pipeline.into_final_response(), copied)? {
        Ok(response) => json!({"type": "final_response", "response": response.into_json()}),
        Err(e) => error_line(Some("final_response"), e.reference_class(), &e.to_string()),
    };
    emit(out, &line)
}
