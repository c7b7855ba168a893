//! Replays a recorded stream (or a JSON input) through the SDK's helpers and prints what
//! they produce, one compact JSON value per line: the conformance contract of
//! `../shared/conformance/README.md`, and a handy way to see a recorded stream event by
//! event.
//!
//! ```text
//! cargo run --example replay -- chat tests/fixtures/chat/chat_basic_content.sse
//! cargo run --example replay -- chat STREAM.sse --response-format FORMAT.json --tools TOOLS.json
//! cargo run --example replay -- chat-parse COMPLETION.json --response-format FORMAT.json
//! cargo run --example replay -- accumulate DELTAS.json
//! cargo run --example replay -- strict-schema SCHEMA.json
//! cargo run --example replay -- assistants RUN_STREAM.sse
//! cargo run --example replay -- roundtrip CreateChatCompletionResponse COMPLETION.json
//! ```
//!
//! Kinds: `chat` (an SSE body of a streamed chat completion: one line per event, then
//! `{"type":"final_completion",...}`), `chat-parse` (a JSON chat completion:
//! `{"type":"parsed_completion",...}`), `accumulate` (a JSON list of deltas: the folded
//! object), `strict-schema` (a JSON schema: its strict form), `assistants` (an SSE body of an
//! Assistants run stream: one `{"type":"callback",...}` line per event-handler callback, then
//! `final_run`, `final_messages` and `final_run_steps`; needs the `assistants` feature, which
//! the crate's dev-dependency on itself turns on), `roundtrip TYPE FILE` (decodes FILE as
//! the generated `types::TYPE`, any type by name, and prints it serialized again as one
//! compact JSON line: fields the spec does not know come back too; a decode failure exits
//! with status 1 and the error, with its line and column, on stderr). An error is printed as
//! `{"type":"error","stage":...,"error_class":...,"error":"..."}` and the exit status is
//! still 0. Other kinds exit with status 2.
//!
//! Flags: `--response-format F` (a `json_schema` response format whose content is
//! parsed), `--response-format-param F` (a response format sent as is, not parsed),
//! `--tools F` (the request's tools; strict function tools get `parsed_arguments`).

#[cfg(feature = "assistants")]
#[path = "support/assistants_replay.rs"]
mod assistants_replay;
#[path = "replay/responses.rs"]
mod responses_kind;
/// `roundtrip_by_name`: every generated type by name (written by `cargo xtask gen`).
#[allow(clippy::all)]
#[rustfmt::skip]
#[path = "../generated/roundtrip.rs"]
mod roundtrip_table;

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use openai_sdk::accumulate::accumulate_delta;
use openai_sdk::chat::{parse_chat_completion, ChatEventPipeline, ParseOptions};
use openai_sdk::parsing::{to_strict_json_schema, JsonSchemaFormat};
use serde_json::{json, Map, Value};

struct Args {
    kind: String,
    input: String,
    response_format: Option<String>,
    tools: Option<String>,
    text_format: Option<String>,
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: replay KIND INPUT [--response-format F] [--response-format-param F] [--tools F]"
    );
    ExitCode::from(2)
}

fn parse_args() -> Option<Args> {
    let mut it = std::env::args().skip(1);
    let kind = it.next()?;
    let input = it.next()?;
    let mut args = Args {
        kind,
        input,
        response_format: None,
        tools: None,
        text_format: None,
    };
    while let Some(flag) = it.next() {
        let value = it.next()?;
        match flag.as_str() {
            "--response-format" => args.response_format = Some(value),
            "--text-format" => args.text_format = Some(value),
            "--response-format-param" => {}
            "--tools" => args.tools = Some(value),
            _ => return None,
        }
    }
    Some(args)
}

fn read_json(path: &str) -> Result<Value, String> {
    let text = std::fs::read(path).map_err(|e| format!("reading {path}: {e}"))?;
    serde_json::from_slice(&text).map_err(|e| format!("{path} is not JSON: {e}"))
}

fn options(args: &Args) -> Result<ParseOptions, String> {
    let mut options = ParseOptions::new();
    if let Some(path) = &args.response_format {
        // The dynamic form of Structured Outputs: a response format known at run time.
        let format = JsonSchemaFormat::from_response_format(&read_json(path)?)
            .map_err(|e| format!("{path}: {e}"))?;
        options = options.response_format(&format);
    }
    if let Some(path) = &args.tools {
        match read_json(path)? {
            Value::Array(tools) => options = options.tools(tools),
            _ => return Err(format!("{path} is not a JSON list of tools")),
        }
    }
    Ok(options)
}

fn error_line(stage: Option<&str>, class: &str, message: &str) -> Value {
    let mut line =
        json!({"type": "error", "error_class": class, "error": format!("{class}: {message}")});
    if let (Some(stage), Value::Object(map)) = (stage, &mut line) {
        map.insert("stage".into(), Value::String(stage.into()));
    }
    line
}

fn emit(out: &mut impl Write, value: &Value) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
}

fn chat(args: &Args, out: &mut impl Write) -> Result<(), String> {
    let options = options(args)?;
    let body = std::fs::read(&args.input).map_err(|e| format!("reading {}: {e}", args.input))?;
    let mut pipeline = ChatEventPipeline::new(options);
    pipeline.push(&body);
    pipeline.end_of_input();
    while let Some(event) = pipeline.next_event() {
        let line = match event {
            Ok(event) => event.to_reference_json(),
            Err(e) => {
                emit(
                    out,
                    &error_line(Some("stream"), e.reference_class(), &e.to_string()),
                )
                .map_err(|e| e.to_string())?;
                return Ok(());
            }
        };
        emit(out, &line).map_err(|e| e.to_string())?;
    }
    // Both ways to finish, which must agree: the copy leaves the pipeline as it was, the
    // other takes it (and moves the content parsed at `content.done`).
    let copied = pipeline.state().final_completion();
    let line = match agree("final_completion", pipeline.into_final_completion(), copied)? {
        Ok(completion) => json!({"type": "final_completion", "completion": completion.into_json()}),
        Err(e) => error_line(
            Some("final_completion"),
            e.reference_class(),
            &e.to_string(),
        ),
    };
    emit(out, &line).map_err(|e| e.to_string())
}

/// The answer of `into_<what>()` (which takes the stream) when it agrees with that of
/// `<what>()` (which copies): the same value, or an error with the same message; else why
/// not, in one line.
fn agree<T: PartialEq>(
    what: &str,
    moved: Result<T, openai_sdk::Error>,
    copied: Result<T, openai_sdk::Error>,
) -> Result<Result<T, openai_sdk::Error>, String> {
    match (moved, copied) {
        (Ok(moved), Ok(copied)) if moved == copied => Ok(Ok(moved)),
        (Err(moved), Err(copied)) if moved.to_string() == copied.to_string() => Ok(Err(moved)),
        (Ok(_), Ok(_)) => Err(format!("into_{what}() and {what}() give different values")),
        (Ok(_), Err(e)) => Err(format!("into_{what}() succeeded, {what}() failed: {e}")),
        (Err(e), Ok(_)) => Err(format!("into_{what}() failed, {what}() succeeded: {e}")),
        (Err(moved), Err(copied)) => Err(format!(
            "into_{what}() failed with \"{moved}\", {what}() with \"{copied}\""
        )),
    }
}

fn chat_parse(args: &Args, out: &mut impl Write) -> Result<(), String> {
    let options = options(args)?;
    let line = match options.validate_tools() {
        Err(e) => error_line(Some("parse"), e.reference_class(), &e.to_string()),
        Ok(()) => {
            let completion = read_json(&args.input)?;
            let Value::Object(completion) = completion else {
                return Err(format!("{} is not a JSON object", args.input));
            };
            match parse_chat_completion(&completion, &options) {
                Ok(parsed) => {
                    json!({"type": "parsed_completion", "completion": parsed.into_json()})
                }
                Err(e) => error_line(Some("parse"), e.reference_class(), &e.to_string()),
            }
        }
    };
    emit(out, &line).map_err(|e| e.to_string())
}

fn accumulate(args: &Args, out: &mut impl Write) -> Result<(), String> {
    let Value::Array(deltas) = read_json(&args.input)? else {
        return Err(format!("{} is not a JSON list of deltas", args.input));
    };
    let mut acc = Map::new();
    for (step, delta) in deltas.iter().enumerate() {
        let Value::Object(delta) = delta else {
            return Err(format!("delta {step} is not a JSON object"));
        };
        if let Err(e) = accumulate_delta(&mut acc, delta) {
            let mut line = error_line(None, e.reference_class(), &e.to_string());
            if let Value::Object(map) = &mut line {
                map.insert("step".into(), json!(step));
            }
            return emit(out, &line).map_err(|e| e.to_string());
        }
    }
    emit(out, &Value::Object(acc)).map_err(|e| e.to_string())
}

fn strict_schema(args: &Args, out: &mut impl Write) -> Result<(), String> {
    let schema = read_json(&args.input)?;
    let line = match to_strict_json_schema(schema) {
        Ok(strict) => strict,
        Err(e) => error_line(None, e.reference_error_class(), &e.to_string()),
    };
    emit(out, &line).map_err(|e| e.to_string())
}

/// The `roundtrip TYPE FILE` kind.
fn roundtrip(ty: &str, path: &str, out: &mut impl Write) -> Result<(), String> {
    let body = std::fs::read(path).map_err(|e| format!("reading {path}: {e}"))?;
    match roundtrip_table::roundtrip_by_name(ty, &body) {
        None => Err(format!(
            "no generated type {ty} (or its API group is not among the enabled features)"
        )),
        Some(Err(e)) => Err(format!("decoding {path} as {ty}: {e}")),
        Some(Ok(line)) => writeln!(out, "{line}").map_err(|e| e.to_string()),
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.first().map(String::as_str) == Some("roundtrip") {
        let [_, ty, path] = &argv[..] else {
            eprintln!("usage: replay roundtrip TYPE FILE");
            return ExitCode::from(2);
        };
        let stdout = std::io::stdout();
        let mut out = BufWriter::new(stdout.lock());
        let result =
            roundtrip(ty, path, &mut out).and_then(|()| out.flush().map_err(|e| e.to_string()));
        return match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("replay: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let Some(args) = parse_args() else {
        return usage();
    };
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let result = match args.kind.as_str() {
        "chat" => chat(&args, &mut out),
        "chat-parse" => chat_parse(&args, &mut out),
        "accumulate" => accumulate(&args, &mut out),
        "strict-schema" => strict_schema(&args, &mut out),
        #[cfg(feature = "assistants")]
        "assistants" => std::fs::read(&args.input)
            .map_err(|e| format!("reading {}: {e}", args.input))
            .and_then(|body| assistants_replay::replay(&body, &mut out).map_err(|e| e.to_string())),
        "responses" => responses_kind::run(
            &args.input,
            args.text_format.as_deref(),
            args.tools.as_deref(),
            &mut out,
        ),
        other => {
            eprintln!("unsupported kind {other:?} (supported: chat, chat-parse, accumulate, strict-schema, assistants, responses, roundtrip)");
            return ExitCode::from(2);
        }
    };
    let flushed = out.flush();
    match (result, flushed) {
        (Ok(()), Ok(())) => ExitCode::SUCCESS,
        (Err(e), _) => {
            eprintln!("replay: {e}");
            ExitCode::FAILURE
        }
        (_, Err(e)) => {
            eprintln!("replay: writing the output: {e}");
            ExitCode::FAILURE
        }
    }
}
