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
