//! Parsing helpers for structured outputs: incremental partial JSON, strict JSON schemas,
//! and the strict formats and function tools built from them.
//!
//! Every public item is at `openai_sdk::parsing::*` (the files are private):
//!
//! - `partial_json.rs`: a linear-time replacement for re-parsing the whole accumulated
//!   content with jiter's partial mode after every stream delta ([`PartialJson`]);
//! - `strict_schema.rs`: the reference strict-mode conversion of a JSON schema, an extra
//!   check for what OpenAI's strict mode cannot express, and schemars integration
//!   ([`to_strict_json_schema`], [`strict_schema_for`]);
//! - `formats.rs`: strict response formats and function tools, sent by Chat Completions
//!   and the Responses API alike ([`JsonSchemaFormat`], [`FunctionTool`]).
//!
//! None depends on the generated OpenAI types.
//!
//! # Partial JSON
//!
//! The reference SDK computes the `parsed` field of a streamed structured output by running
//! `jiter.from_json(content, partial_mode=True)` over the *whole* accumulated content after every
//! delta, which is quadratic in the length of the content. [`PartialJson`] gives the same results
//! while looking at every byte once: [`PartialJson::push`] consumes only the new delta, keeps the
//! completed parts of the tree, and [`PartialJson::value`] returns what jiter's partial mode would
//! return for everything pushed so far.
//!
//! ```
//! use openai_sdk::parsing::PartialJson;
//! use serde_json::json;
//!
//! let mut p = PartialJson::new();
//! p.push(r#"{"city": "San Fr"#);
//! assert_eq!(p.value().unwrap(), Some(json!({})));
//! p.push(r#"ancisco", "temperature": 6"#);
//! assert_eq!(p.value().unwrap(), Some(json!({"city": "San Francisco", "temperature": 6})));
//! p.push(r#"1.5, "units": "c"}"#);
//! assert_eq!(p.finish().unwrap(), json!({"city": "San Francisco", "temperature": 61.5, "units": "c"}));
//! ```
//!
//! ## Semantics (jiter `PartialMode::On`)
//!
//! These were checked against jiter 0.18 (`JsonValue::parse_with_config(.., PartialMode::On)`)
//! by a differential property test that compares the two after every delta.
//!
//! - An incomplete string is dropped: an incomplete string *value* drops its array element or
//!   its object member, an incomplete *key* drops the member. So does a key without its `:` or
//!   without the first character of its value.
//! - Incomplete literals (`tru`, `nul`, `fals`) are dropped; so are numbers that are not valid yet
//!   (`-`, `1.`, `1e`, `1e+`). A number at the very end that is valid so far (`61`, `6.1`, `1e5`)
//!   counts, and may still grow with the next delta.
//! - Unfinished arrays and objects appear closed, holding their complete members so far: `[1, [2`
//!   gives `[1, [2]]`, `{"a": [` gives `{"a": []}`.
//! - Text after a complete top-level value is ignored (`{"a": 1} trailing` gives `{"a": 1}`).
//! - A top-level scalar that is not complete is an error, e.g. a bare partial string `"abc` or
//!   `tru` (see [`PartialJsonError::is_incomplete`]), except a valid-so-far number.
//! - Content that is not JSON is an error that gives the byte offset, line and column. Errors
//!   are sticky: once the text is invalid, no later delta makes it valid again.
//! - Like jiter's partial mode, a character that can't follow an array element or an object
//!   member *closes* that container instead of failing: `[1 2]` gives `[1]`, and `{"a": [1}, "b":
//!   2}` gives `{"a": [1], "b": 2}` (the `}` closes the array, then the object). These are not
//!   valid JSON; [`PartialJson::finish`], the strict parse for the end of a stream, rejects them.
//! - Duplicate keys: the last value wins, at the position of the first (as a Python dict).
//! - Nesting is limited as in jiter: a container more than [`MAX_DEPTH`] levels deep fails as
//!   soon as its first member starts (an empty one is accepted, as in jiter).
//!
//! Numbers become `serde_json` numbers of the same kind jiter reports: an integer stays an
//! integer (`61` is `i64`, not `61.0`), a number with a fraction or an exponent is an `f64`.
//! Differences from jiter, all for numbers that `serde_json::Value` cannot hold:
//! - integers beyond the `i64` range become `u64` when they fit, else `f64` (as `serde_json`
//!   itself does), where jiter returns an arbitrary-precision integer;
//! - a number whose `f64` value is infinite (`1e400`, or an integer of more than 308 digits) is an
//!   error of kind [`PartialJsonErrorKind::NumberOutOfRange`], where jiter returns `inf`.
//!
//! jiter's Python binding (what openai-python calls) counts the nesting limit slightly
//! differently (one level more, depending on the innermost value); nothing else differs.
//!
//! ## Cost model
//!
//! - [`push`](PartialJson::push) is amortised O(`delta.len()`): every byte is examined once, the
//!   text itself is not kept, and a completed value is stored once in an append-only tree
//!   (each level of nesting keeps its arrays' and its objects' members in one log apiece, so
//!   a long document takes one allocation per thousand or so members, not one per object;
//!   a member is 32 bytes in an array and 40 in an object, keys and long strings being
//!   kept once in logs of their own, and the tree is freed without being read again).
//! - [`snapshot`](PartialJson::snapshot) is O(nesting depth): it captures the partial value as
//!   it is now, sharing the completed parts of the tree with the parser (they are never
//!   modified, only appended to), so a snapshot stays valid and unchanged while more deltas
//!   are pushed. Keeping every snapshot costs O(depth) memory each.
//! - [`PartialSnapshot::to_value`] builds a `serde_json::Value`: O(size of the value).
//! - [`value`](PartialJson::value) is `snapshot` followed by `to_value`.
//!
//! A chat stream therefore takes a snapshot per delta (cheap) and builds the `parsed` value only
//! when the user reads it. Reading `parsed` after every one of n deltas is still O(n²) in total,
//! because each read materialises the whole value; the snapshot is what makes not reading it
//! free.
//!
//! # Strict schemas
//!
//! Three layers, kept apart so that the reference behaviour stays exact:
//!
//! 1. [`to_strict_json_schema`]: exactly the reference SDK's strict-mode conversion
//!    (`_ensure_strict_json_schema` in openai-python), applied to any JSON schema.
//! 2. [`check_strict_compatible`] (and [`strict_compatibility_issues`]): a separate check for what
//!    OpenAI's strict mode cannot express (maps, `true` schemas, `oneOf`, unsupported keywords and
//!    formats, a root that is not an object...), naming the JSON-pointer path and, under
//!    `$defs/Name`, the type name. The reference has no such check: the API rejects the request.
//! 3. [`strict_schema_for`]: a strict schema, a name and a description for a Rust type that
//!    implements [`schemars::JsonSchema`], from schemars' output through small schemars-specific
//!    adjustments, then layers 1 and 2.
//!
//! ```
//! use serde_json::json;
//! use openai_sdk::parsing::to_strict_json_schema;
//!
//! let strict = to_strict_json_schema(json!({
//!     "type": "object",
//!     "properties": {"city": {"type": "string"}, "units": {"type": "string", "default": null}},
//! }))
//! .unwrap();
//! assert_eq!(strict, json!({
//!     "type": "object",
//!     "properties": {"city": {"type": "string"}, "units": {"type": "string"}},
//!     "additionalProperties": false,
//!     "required": ["city", "units"],
//! }));
//! ```

mod formats;
mod partial_json;
mod strict_schema;

pub use formats::{FunctionTool, JsonSchemaFormat};
pub use partial_json::{
    partial_parse, PartialJson, PartialJsonError, PartialJsonErrorKind, PartialSnapshot, MAX_DEPTH,
};
pub use strict_schema::{
    check_strict_compatible, schema_name_for, strict_compatibility_issues, strict_schema_for,
    to_strict_json_schema, StrictSchema, StrictSchemaError, MAX_ENUM_VALUES, MAX_OBJECT_NESTING,
    MAX_PROPERTIES, MAX_SCHEMA_DEPTH, MAX_SCHEMA_VISITS, MAX_TOTAL_STRING_LENGTH,
    SUPPORTED_FORMATS,
};

/// The character a one-letter JSON escape stands for, given the byte after its `\`
/// (`"` `\` `/` `b` `f` `n` `r` `t`); `None` for `u` (four hex digits follow) and for
/// any byte JSON does not allow there. The partial parser and the Responses event scanner
/// both read escapes with it.
#[inline]
pub(crate) fn simple_escape(b: u8) -> Option<char> {
    Some(match b {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        _ => return None,
    })
}

/// Python truthiness of a JSON value (`if value:` in the reference): null, `false`, `0`,
/// `""`, `[]` and `{}` are false. The strict-schema conversion and the stream framing
/// (`if data.get("error")`) both follow it. The one place Python truthiness is written,
/// with [`truthy_str`].
pub(crate) fn is_truthy(value: &serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Python truthiness of a field the reference types `str | None` (`if message.refusal:`):
/// a non-empty string. A value of another JSON type is false here (the reference would
/// never hold one), so a malformed `refusal` or `finish_reason` is not taken as set.
#[cfg_attr(not(feature = "chat"), allow(dead_code))]
pub(crate) fn truthy_str(value: Option<&serde_json::Value>) -> bool {
    value
        .and_then(serde_json::Value::as_str)
        .is_some_and(|s| !s.is_empty())
}
