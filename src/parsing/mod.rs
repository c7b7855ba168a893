//! Parsing helpers for structured outputs: incremental partial JSON and strict JSON schemas.
//!
//! - [`partial_json`]: a linear-time replacement for re-parsing the whole accumulated content
//!   with jiter's partial mode after every stream delta.
//! - [`strict_schema`]: the reference strict-mode conversion of a JSON schema, an extra check for
//!   what OpenAI's strict mode cannot express, and schemars integration.
//!
//! Neither module depends on the generated OpenAI types.

pub mod partial_json;
pub mod strict_schema;

pub use partial_json::{
    partial_parse, PartialJson, PartialJsonError, PartialJsonErrorKind, PartialSnapshot,
};
pub use strict_schema::{
    check_strict_compatible, strict_compatibility_issues, strict_schema_for, to_strict_json_schema,
    StrictSchema, StrictSchemaError,
};

/// Python truthiness of a JSON value (`if value:` in the reference): null, `false`, `0`,
/// `""`, `[]` and `{}` are false. The strict-schema conversion and the stream framing
/// (`if data.get("error")`) both follow it.
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
