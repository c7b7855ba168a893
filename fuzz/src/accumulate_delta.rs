//! `accumulate_delta`: never panics; the borrowing and the moving variants agree, on success
//! and on error (the accumulator keeps what was merged before the error in both).

use arbitrary::Unstructured;
use openai_sdk::accumulate::{accumulate_delta, accumulate_delta_owned};
use serde_json::{Map, Value};

use crate::gen;

pub fn check(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let mut deltas: Vec<Map<String, Value>> = Vec::new();
    while !u.is_empty() && deltas.len() < 16 {
        match gen::object(&mut u, 3) {
            Ok(delta) => deltas.push(delta),
            Err(_) => break,
        }
    }
    let mut borrowed = Map::new();
    let mut owned = Map::new();
    for delta in deltas {
        let a = accumulate_delta(&mut borrowed, &delta);
        let b = accumulate_delta_owned(&mut owned, delta);
        assert_eq!(a, b, "the two variants disagree on the outcome");
        assert_eq!(borrowed, owned, "the two variants accumulate differently");
        if let Err(error) = a {
            // The error names where, and the class the reference would raise.
            assert!(!error.reference_class().is_empty());
            let _ = error.path();
            let _ = error.to_string();
            break;
        }
    }
    // The accumulator stays a valid value that serializes.
    serde_json::to_string(&Value::Object(borrowed)).expect("accumulator serializes");
}
