//! The strict-schema conversion and the compatibility check: never panic, never overflow the
//! stack, whatever the schema (cyclic `$ref`s, refs into refs, deep nesting); errors carry a
//! JSON-pointer path. Inputs are either JSON text (from the seed corpus and the dictionary)
//! or values built from schema keywords.

use arbitrary::Unstructured;
use openai_sdk::parsing::{strict_compatibility_issues, to_strict_json_schema};
use serde_json::Value;

use crate::gen;

pub fn check(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let schema = if mode & 1 == 0 {
        match serde_json::from_slice::<Value>(rest) {
            Ok(value) => value,
            Err(_) => return,
        }
    } else {
        match gen::value(&mut Unstructured::new(rest), 6) {
            Ok(value) => value,
            Err(_) => return,
        }
    };
    for issue in strict_compatibility_issues(&schema) {
        assert_pointer(issue.path());
    }
    match to_strict_json_schema(schema) {
        Ok(strict) => {
            for issue in strict_compatibility_issues(&strict) {
                assert_pointer(issue.path());
            }
            // The converted schema converts again without panicking.
            if let Err(e) = to_strict_json_schema(strict) {
                assert_pointer(e.path());
            }
        }
        Err(e) => {
            assert_pointer(e.path());
            assert!(!e.reference_error_class().is_empty());
        }
    }
}

fn assert_pointer(path: &str) {
    assert!(
        path.is_empty() || path.starts_with('/'),
        "error path {path:?} is not a JSON pointer"
    );
}
