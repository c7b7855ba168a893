//! The incremental partial JSON parser:
//! - pushing the text in pieces gives, after every piece, what a one-shot parse of the text
//!   so far gives (`value()` equals `partial_parse(prefix)`, errors included);
//! - at the end, the strict parse (`finish()`) agrees with `serde_json` on the whole text
//!   (both accept with equal values, or both reject), and `value()` equals `finish()` when the
//!   text is complete;
//! - `finish_as_serde_json()`, when it gives a value, gives exactly `serde_json`'s (at any
//!   depth);
//! - nothing panics.

use arbitrary::Unstructured;
use openai_sdk::parsing::{partial_parse, PartialJson};
use serde_json::Value;

use crate::split;

/// serde_json's nesting limit; ours is deeper (`MAX_DEPTH`, as jiter), so deeper texts are
/// not compared with serde_json.
const SERDE_RECURSION_LIMIT: usize = 128;

pub fn check(data: &[u8]) {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    // The control byte says how many of the following bytes pick the cut points.
    let control_len = usize::from(control % 64).min(rest.len());
    let (control_bytes, text_bytes) = rest.split_at(control_len);
    let text = String::from_utf8_lossy(text_bytes);
    let text: &str = &text;
    let mut u = Unstructured::new(control_bytes);
    let mut cuts = split::cut_points(&mut u, text.len());
    for cut in &mut cuts {
        while !text.is_char_boundary(*cut) {
            *cut -= 1;
        }
    }

    let mut parser = PartialJson::new();
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&text.len())) {
        parser.push(&text[start..cut]);
        start = cut;
        let incremental = parser.value();
        let one_shot = partial_parse(&text[..cut]);
        assert_eq!(
            incremental, one_shot,
            "incremental and one-shot parses differ after {cut} bytes"
        );
        if parser.is_complete() {
            assert!(incremental.is_ok(), "a complete value must read back");
        }
    }
    assert_eq!(parser.len(), text.len());

    let ours = parser.finish();
    if let Ok(value) = &ours {
        assert_eq!(
            parser.value().ok().flatten().as_ref(),
            Some(value),
            "value() and finish() differ on complete text"
        );
    }
    check_tree(&parser, text);
    if max_nesting(text) >= SERDE_RECURSION_LIMIT {
        return;
    }
    let theirs = serde_json::from_str::<Value>(text);
    match (&ours, &theirs) {
        (Ok(a), Ok(b)) => assert!(
            same_json(a, b),
            "finish() gives {a:?}, serde_json gives {b:?}"
        ),
        (Err(_), Err(_)) => {}
        (a, b) => panic!("finish() gives {a:?}, serde_json gives {b:?}"),
    }
}

/// `finish_as_serde_json`, when it gives a value, gives exactly what `serde_json` reads:
/// equal, and the same text when written out (key order, number kinds, the sign of zero).
fn check_tree(parser: &PartialJson, text: &str) {
    let Some(tree) = parser.finish_as_serde_json() else {
        return;
    };
    let theirs = match serde_json::from_str::<Value>(text) {
        Ok(theirs) => theirs,
        Err(e) => panic!("finish_as_serde_json gives {tree:?}, serde_json fails: {e}"),
    };
    assert_eq!(tree, theirs, "finish_as_serde_json and serde_json differ");
    assert_eq!(
        serde_json::to_string(&tree).unwrap(),
        serde_json::to_string(&theirs).unwrap(),
        "finish_as_serde_json and serde_json write different JSON"
    );
}

/// The deepest bracket nesting of the text, counting brackets anywhere (an upper bound).
fn max_nesting(text: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    for b in text.bytes() {
        match b {
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// JSON equality where numbers compare by value (`-0` is the integer 0 for us, as in
/// jiter and Python, and the float -0.0 for serde_json).
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y || (x.as_f64().is_some() && x.as_f64() == y.as_f64() && x.as_f64() == Some(0.0))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_json(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, va), (kb, vb))| ka == kb && same_json(va, vb))
        }
        _ => a == b,
    }
}
