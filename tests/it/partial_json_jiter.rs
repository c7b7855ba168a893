//! Differential tests: `PartialJson` against jiter's partial mode (the reference's parser), after
//! every delta.

use crate::common::cut;
use jiter::{JsonValue, PartialMode};
use openai_sdk::parsing::{partial_parse, PartialJson};
use proptest::prelude::*;
use serde_json::{Map, Number, Value};

/// jiter's value as `serde_json`, the way `PartialJson` documents its numbers: integers beyond
/// i64 as u64 or f64; `None` if a number is not finite (PartialJson reports an error there).
fn to_serde(v: &JsonValue<'_>) -> Option<Value> {
    Some(match v {
        JsonValue::Null => Value::Null,
        JsonValue::Bool(b) => Value::Bool(*b),
        JsonValue::Int(i) => Value::Number((*i).into()),
        JsonValue::BigInt(b) => {
            let text = b.to_string();
            if let Ok(u) = text.parse::<u64>() {
                Value::Number(u.into())
            } else {
                Value::Number(Number::from_f64(text.parse::<f64>().ok()?)?)
            }
        }
        JsonValue::Float(f) => Value::Number(Number::from_f64(*f)?),
        JsonValue::Str(s) => Value::String(s.to_string()),
        JsonValue::Array(items) => Value::Array(items.iter().map(to_serde).collect::<Option<_>>()?),
        JsonValue::Object(members) => {
            let mut map = Map::new();
            for (k, v) in members.iter() {
                map.insert(k.to_string(), to_serde(v)?);
            }
            Value::Object(map)
        }
    })
}

/// What jiter partial mode says about `text`, in `PartialJson::value`'s terms: `Err(())` for an
/// error (or a number serde_json can't hold), `Ok(None)` for whitespace only.
fn reference(text: &str) -> Result<Option<Value>, ()> {
    if text
        .bytes()
        .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        return Ok(None);
    }
    match JsonValue::parse_with_config(text.as_bytes(), false, PartialMode::On) {
        Ok(v) => to_serde(&v).map(Some).ok_or(()),
        Err(_) => Err(()),
    }
}

/// Strict (partial mode off) parse with jiter, for `finish`.
fn reference_strict(text: &str) -> Result<Value, ()> {
    match JsonValue::parse_with_config(text.as_bytes(), false, PartialMode::Off) {
        Ok(v) => to_serde(&v).ok_or(()),
        Err(_) => Err(()),
    }
}

fn ours(p: &PartialJson) -> Result<Option<Value>, ()> {
    p.value().map_err(|_| ())
}

/// Push `deltas` one by one, comparing with jiter on the prefix after each, and `finish` with
/// jiter's strict parse at the end.
fn check_deltas(deltas: &[String]) -> Result<(), TestCaseError> {
    let mut p = PartialJson::new();
    let mut prefix = String::new();
    for d in deltas {
        p.push(d);
        prefix.push_str(d);
        let expected = reference(&prefix);
        let got = ours(&p);
        prop_assert_eq!(&got, &expected, "prefix {:?}", prefix);
        prop_assert_eq!(p.len(), prefix.len());
    }
    prop_assert_eq!(
        p.finish().map_err(|_| ()),
        reference_strict(&prefix),
        "finish of {:?}",
        prefix
    );
    check_serde_json(&p, &prefix)?;
    Ok(())
}

/// When `finish_as_serde_json` gives a value, it is the very value `serde_json` reads from
/// the text: the same JSON text when written out (key order, number kinds), and equal.
fn check_serde_json(p: &PartialJson, text: &str) -> Result<(), TestCaseError> {
    let Some(tree) = p.finish_as_serde_json() else {
        return Ok(());
    };
    let theirs: Value = serde_json::from_str(text)
        .map_err(|e| TestCaseError::fail(format!("serde_json rejects {text:?}: {e}")))?;
    prop_assert_eq!(
        serde_json::to_string(&tree).unwrap(),
        serde_json::to_string(&theirs).unwrap(),
        "text {:?}",
        text
    );
    prop_assert_eq!(tree, theirs);
    Ok(())
}

/// Every prefix of `text` (at char boundaries), each parsed in one go.
fn check_all_prefixes(text: &str) -> Result<(), TestCaseError> {
    for (k, _) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        let prefix = &text[..k];
        prop_assert_eq!(
            partial_parse(prefix).map_err(|_| ()),
            reference(prefix),
            "prefix {:?}",
            prefix
        );
    }
    Ok(())
}

// ----------------------------------------------------------------------------------------
// Generators.
// ----------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Doc {
    Null,
    Bool(bool),
    Num(String),
    Str(Vec<(char, u8)>),
    Arr(Vec<Doc>),
    Obj(Vec<(Vec<(char, u8)>, Doc)>),
}

fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|i| i.to_string()),
        (0i64..1000).prop_map(|i| i.to_string()),
        any::<u64>().prop_map(|u| u.to_string()),
        "-?(0|[1-9][0-9]{0,30})(\\.[0-9]{1,12})?([eE][+-]?[0-9]{1,3})?",
        Just("-0".to_string()),
        Just("-0.0".to_string()),
        Just("1e400".to_string()),
        Just("123456789012345678901234567890".to_string()),
    ]
}

/// String content: each char with an encoding choice (raw, short escape, \u escape).
fn string_chars() -> impl Strategy<Value = Vec<(char, u8)>> {
    let ch = prop_oneof![
        6 => proptest::char::range('a', 'z'),
        1 => Just('"'),
        1 => Just('\\'),
        1 => Just('/'),
        1 => Just('\n'),
        1 => Just('\t'),
        1 => Just('\u{1}'),
        1 => Just('é'),
        1 => Just('€'),
        1 => Just('😀'),
        1 => Just('\u{10FFFF}'),
        1 => any::<char>(),
    ];
    prop::collection::vec((ch, 0u8..4), 0..8)
}

fn doc() -> impl Strategy<Value = Doc> {
    let leaf = prop_oneof![
        Just(Doc::Null),
        any::<bool>().prop_map(Doc::Bool),
        number_text().prop_map(Doc::Num),
        string_chars().prop_map(Doc::Str),
    ];
    leaf.prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Doc::Arr),
            prop::collection::vec((string_chars(), inner), 0..6).prop_map(Doc::Obj),
        ]
    })
}

fn write_str(out: &mut String, chars: &[(char, u8)]) {
    out.push('"');
    for &(c, how) in chars {
        let short = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '/' if how == 1 => Some("\\/"),
            '\n' => Some("\\n"),
            '\t' => Some("\\t"),
            '\u{8}' => Some("\\b"),
            '\u{c}' => Some("\\f"),
            '\r' => Some("\\r"),
            _ => None,
        };
        let must_escape = (c as u32) < 0x20 || c == '"' || c == '\\';
        if how >= 2 || (must_escape && short.is_none()) {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                if how == 3 {
                    out.push_str(&format!("\\u{u:04X}"));
                } else {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
        } else if let Some(s) = short {
            out.push_str(s);
        } else {
            out.push(c);
        }
    }
    out.push('"');
}

const WS: [&str; 7] = ["", " ", "\n  ", "", "\t", "\r\n", ""];

/// Whitespace between tokens cycles through `WS`, starting at a per-document offset.
fn space(out: &mut String, ws: &mut usize) {
    out.push_str(WS[*ws % WS.len()]);
    *ws += 1;
}

fn write_doc(out: &mut String, d: &Doc, ws: &mut usize) {
    match d {
        Doc::Null => out.push_str("null"),
        Doc::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Doc::Num(n) => out.push_str(n),
        Doc::Str(s) => write_str(out, s),
        Doc::Arr(items) => {
            out.push('[');
            for (k, item) in items.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                space(out, ws);
                write_doc(out, item, ws);
                space(out, ws);
            }
            out.push(']');
        }
        Doc::Obj(members) => {
            out.push('{');
            for (k, (key, value)) in members.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                space(out, ws);
                write_str(out, key);
                space(out, ws);
                out.push(':');
                space(out, ws);
                write_doc(out, value, ws);
            }
            space(out, ws);
            out.push('}');
        }
    }
}

fn render(d: &Doc, ws: usize) -> String {
    let mut out = String::new();
    let mut ws = ws;
    write_doc(&mut out, d, &mut ws);
    out
}

/// JSON-ish token soup, valid or not, to reach the error paths and partial mode's lenient
/// closing of containers.
fn soup() -> impl Strategy<Value = String> {
    let tok = prop_oneof![
        Just("["),
        Just("]"),
        Just("{"),
        Just("}"),
        Just(","),
        Just(":"),
        Just(" "),
        Just("\n"),
        Just("\"a\""),
        Just("\"k\":"),
        Just("\"x"),
        Just("\\"),
        Just("\\u"),
        Just("\\ud83d"),
        Just("\\ude00"),
        Just("\\u00e9"),
        Just("\""),
        Just("tru"),
        Just("true"),
        Just("e"),
        Just("null"),
        Just("nul"),
        Just("fals"),
        Just("0"),
        Just("01"),
        Just("1"),
        Just("-"),
        Just("."),
        Just("5"),
        Just("E"),
        Just("+"),
        Just("1.5"),
        Just("x"),
        Just("\u{1}"),
        Just("é"),
        Just("I"),
        Just("N"),
        Just("\\n"),
        Just("\\q"),
        Just("/"),
    ];
    prop::collection::vec(tok, 0..24).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn random_documents_in_random_deltas(d in doc(), ws in 0usize..7, sizes in prop::collection::vec(1usize..9, 1..6), lead in "[ \n]{0,2}", trail in "( |x|,|\\]|\\}| \\{\\}){0,2}") {
        let text = format!("{lead}{}{trail}", render(&d, ws));
        check_deltas(&cut(&text, &sizes))?;
    }

    #[test]
    fn random_documents_every_prefix(d in doc(), ws in 0usize..7) {
        check_all_prefixes(&render(&d, ws))?;
    }

    #[test]
    fn token_soup_in_random_deltas(text in soup(), sizes in prop::collection::vec(1usize..5, 1..4)) {
        check_deltas(&cut(&text, &sizes))?;
        check_all_prefixes(&text)?;
    }

    #[test]
    fn numbers_every_prefix(n in number_text(), ctx in 0usize..4, trail in "(|,|\\]|x|\\.|e| )") {
        let text = match ctx {
            0 => format!("{n}{trail}"),
            1 => format!("[{n}{trail}"),
            2 => format!("{{\"a\": {n}{trail}"),
            _ => format!("[1, {n}{trail}, 2]"),
        };
        check_all_prefixes(&text)?;
        check_deltas(&cut(&text, &[1]))?;
    }
}

// ----------------------------------------------------------------------------------------
// Fixed cases.
// ----------------------------------------------------------------------------------------

/// Every byte-level probe that shaped the implementation, each compared with jiter in one
/// piece and one character at a time.
#[test]
fn probes_match_jiter() {
    let cases = [
        "1",
        "-",
        "-1",
        "1.",
        "1.5",
        "1e",
        "1e+",
        "1e5",
        "01",
        "-0",
        "0.",
        "00",
        "1.e5",
        ".5",
        "+1",
        "-x",
        "1.5.",
        "1ee",
        "12345678901234567890",
        "-9223372036854775808",
        "9223372036854775808",
        "-9223372036854775809",
        "18446744073709551616",
        "1e400",
        "-0.0",
        "I",
        "N",
        "-I",
        "Infinity",
        "NaN",
        "1.5e",
        "[1.",
        "[1.]",
        "[1.x",
        "[-]",
        "[1e]",
        "[01]",
        "[-0",
        "[1.5.",
        "[1.5e",
        "[1.5e3",
        "[1x",
        "[0x",
        "[truex",
        "[tru",
        "[trux",
        "truex",
        "tru",
        "\"ab",
        "[\"ab",
        "{\"a",
        "{\"a\"",
        "{\"a\":",
        "{\"a\":1",
        "{\"a\":1 \"b\"",
        "[1 2]",
        "{\"a\":[1}, \"b\": 2}",
        "[{\"a\":1], 5]",
        "[1,]",
        "[1,",
        "{\"a\":1,}",
        "{\"a\":1,",
        "{\"a\":1,x",
        "{x",
        "{\"a\" x",
        "  ",
        "",
        "[}",
        "{\"a\":}",
        "[,",
        "1 x",
        "[1]]",
        "\"\\u12",
        "[\"\\u12",
        "[\"\\u1G",
        "[\"\\u1G00",
        "[\"\\ud800",
        "[\"\\ud800\"",
        "[\"\\ud800\\",
        "[\"\\ud800x",
        "[\"\\ud800\\x",
        "[\"\\ud800\\u",
        "[\"\\ud800\\udc0",
        "[\"\\ud800\\udc00",
        "[\"\\ud800\\udc00\"]",
        "[\"\\ud800\\ud800\"",
        "[\"\\udc00",
        "[\"a\\",
        "[\"a\\x",
        "[\"a\nb\"",
        "[1e-400",
        "[-",
        "[--",
        "[-I",
        "[NaN",
        "[n",
        "[nul",
        "[null",
        "{\"a\":1}x",
        "{\"a\": 1, \"a\": 2}",
        "{\"a\": 1, \"b\": {}, \"a\": [",
        "[\"\\u00e9\\u20AC\\/\\b\\f\\n\\r\\t\\\"\\\\\"]",
        "\"é€😀\"",
        "[\"é€😀",
        "{\"é\": \"😀\"}",
        "[[[[]]]]",
        "[[[[",
        "{\"a\":{\"b\":{\"c\":",
        "[{}, [], {\"x\": []}, [[]]",
        "\n[\n1\n,\n2",
        "[\"\\u0000\"]",
        "[\"\u{7f}\"]",
    ];
    for case in cases {
        assert_eq!(
            partial_parse(case).map_err(|_| ()),
            reference(case),
            "{case:?}"
        );
        let deltas: Vec<String> = case.chars().map(String::from).collect();
        check_deltas(&deltas).unwrap_or_else(|e| panic!("{case:?}: {e}"));
    }
}

#[test]
fn long_numbers_match_jiter() {
    for n in [4299, 4300, 4301] {
        let digits = "1".repeat(n);
        for text in [
            format!("[{digits}"),
            format!("[{digits},"),
            format!("[-{digits}"),
            format!("[{digits}.5"),
            format!("[1.{digits}"),
            format!("[1e-{digits}"),
            digits.clone(),
        ] {
            assert_eq!(
                partial_parse(&text).map_err(|_| ()),
                reference(&text),
                "{n} digits"
            );
        }
    }
}

#[test]
fn nesting_limit_matches_jiter() {
    for depth in [199, 200, 201, 202, 203] {
        for inner in ["", "1", "]", "{}", "{\"a\":", "{\"a\": 1", "\"x"] {
            for open in ["[", "{\"k\":"] {
                let text = format!("{}{inner}", open.repeat(depth));
                assert_eq!(
                    partial_parse(&text).map_err(|_| ()),
                    reference(&text),
                    "depth {depth} open {open:?} inner {inner:?}"
                );
                let closed = format!("{}{inner}{}", "[".repeat(depth), "]".repeat(depth));
                assert_eq!(partial_parse(&closed).map_err(|_| ()), reference(&closed));
            }
        }
    }
    // A hostile document can't overflow the stack.
    let deep = "[".repeat(1_000_000);
    let mut p = PartialJson::new();
    p.push(&deep);
    assert!(p.value().is_err());
}

/// The pitfall from PERF-NOTES: `parse_owned` still checks for trailing characters, so it
/// fails on any prefix cut inside a string or a literal; `parse_with_config` on borrowed data
/// honours partial mode. Our reference must be the latter.
#[test]
fn jiter_pitfall_regression() {
    for (text, expected) in [
        (r#"{"a": "x"#, serde_json::json!({})),
        (r#"["ab"#, serde_json::json!([])),
        ("[1, tru", serde_json::json!([1])),
    ] {
        assert!(JsonValue::parse_owned(text.as_bytes(), false, PartialMode::On).is_err());
        let borrowed =
            JsonValue::parse_with_config(text.as_bytes(), false, PartialMode::On).unwrap();
        assert_eq!(to_serde(&borrowed.into_static()), Some(expected.clone()));
        assert_eq!(partial_parse(text).unwrap(), Some(expected));
    }
}

/// `finish_as_serde_json` gives what `serde_json` reads, or nothing where the tree cannot
/// vouch for that: an integer `-0`, a top-level number with nothing after it, nesting past
/// `serde_json`'s limit (127 levels read, 128 rejected), text after the value, JSON only
/// partial mode accepts, an incomplete text.
#[test]
fn finish_as_serde_json_is_what_serde_json_reads() {
    let read = |text: &str| {
        let mut p = PartialJson::new();
        for piece in cut(text, &[3]) {
            p.push(&piece);
        }
        p.finish_as_serde_json()
    };
    for text in [
        r#"{"b": 1, "a": 2, "b": {"c": [3]}}"#,
        r#"[18446744073709551615, -9223372036854775808, 1e300, 0.1, -0.0, 1.5e-7, 2E3]"#,
        r#"[123456789012345678901234567890, 1.0, 100, -1]"#,
        r#"{"k": "tab\t quote\" \u00e9 \ud83d\ude00 é", "": [], "o": {}}"#,
        r#"  "a string"  "#,
        "true",
        "5 ",
        " [null]\n",
    ] {
        let expected: Value = serde_json::from_str(text).unwrap();
        let tree = read(text).unwrap_or_else(|| panic!("no tree for {text:?}"));
        assert_eq!(
            serde_json::to_string(&tree).unwrap(),
            serde_json::to_string(&expected).unwrap(),
            "{text:?}"
        );
    }
    let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    assert!(serde_json::from_str::<Value>(&nested(127)).is_ok());
    assert_eq!(
        read(&nested(127)),
        Some(serde_json::from_str(&nested(127)).unwrap())
    );
    assert!(serde_json::from_str::<Value>(&nested(128)).is_err());
    for text in [
        "[-0]",
        r#"{"a": [1, -0, 2]}"#,
        "5",
        "-0 ",
        &nested(128),
        "[1] x",
        "[1 2]",
        r#"{"a": 1"#,
        "",
        "   ",
    ] {
        assert_eq!(read(text), None, "{text:?}");
    }
    // A float minus zero is the same for both.
    assert_eq!(read("[-0.0]"), Some(serde_json::json!([-0.0])));
}
