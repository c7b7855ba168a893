//! Tests of the generic delta accumulator.

use openai_sdk::accumulate::{accumulate_delta, accumulate_delta_owned, AccumulateError};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// Folds every delta with both functions, checks they agree, and returns the result.
fn fold(deltas: &[Value]) -> Result<Value, AccumulateError> {
    let mut borrowed = Map::new();
    let mut owned = Map::new();
    let mut borrowed_result = Ok(());
    let mut owned_result = Ok(());
    for delta in deltas {
        let delta = object(delta.clone());
        if borrowed_result.is_ok() {
            borrowed_result = accumulate_delta(&mut borrowed, &delta);
        }
        if owned_result.is_ok() {
            owned_result = accumulate_delta_owned(&mut owned, delta);
        }
    }
    assert_eq!(borrowed, owned, "borrowed and owned folds differ");
    assert_eq!(borrowed_result, owned_result);
    borrowed_result.map(|()| Value::Object(borrowed))
}

fn fold_ok(deltas: &[Value]) -> Value {
    fold(deltas).expect("fold failed")
}

#[test]
fn conformance_basic_tool_calls() {
    // shared/conformance/inputs/basic_tool_calls.json and its expected output.
    let deltas = [
        json!({"role": "assistant", "content": null, "tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}),
        json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":"}}]}),
        json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"Paris\"}"}}]}),
        json!({"tool_calls": [{"index": 1, "id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]}),
        json!({"content": "done", "n": 1}),
        json!({"content": "!", "n": 2.5, "tags": ["a"], "meta": {"k": "x"}}),
        json!({"tags": ["b", 3], "meta": {"k": "y", "j": null}, "content": null}),
    ];
    let expected = json!({"role":"assistant","content":"done!","tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},{"index":1,"id":"call_2","type":"function","function":{"name":"get_time","arguments":"{}"}}],"n":3.5,"tags":["a","b",3],"meta":{"k":"xy","j":null}});
    assert_eq!(fold_ok(&deltas), expected);
}

#[test]
fn conformance_error_non_dict_entry() {
    // shared/conformance/inputs/error_non_dict_entry.json: the reference raises
    // TypeError at step 1.
    let first = object(json!({"items": [{"index": 0, "v": "a"}]}));
    let second = object(json!({"items": ["oops"]}));
    let mut acc = Map::new();
    accumulate_delta(&mut acc, &first).unwrap();
    let error = accumulate_delta(&mut acc, &second).unwrap_err();
    assert_eq!(
        error,
        AccumulateError::NotAnObject {
            path: "$.items[0]".into()
        }
    );
    assert_eq!(error.reference_class(), "TypeError");
    assert_eq!(error.path(), "$.items[0]");
    assert_eq!(
        error.to_string(),
        "list delta entry at $.items[0] is not an object"
    );
    assert_eq!(
        Value::Object(acc),
        json!({"items": [{"index": 0, "v": "a"}]})
    );
}

#[test]
fn strings_concatenate() {
    assert_eq!(
        fold_ok(&[
            json!({"s": "a"}),
            json!({"s": "b"}),
            json!({"s": ""}),
            json!({"s": "é😀"})
        ]),
        json!({"s": "abé😀"})
    );
}

#[test]
fn numbers_add_with_python_semantics() {
    let got = fold_ok(&[
        json!({"int": 1, "float": 1.5, "mixed": 1, "neg": -5, "big": 9_223_372_036_854_775_807_i64}),
        json!({"int": 2, "float": 0.25, "mixed": 0.5, "neg": 3, "big": 1}),
    ]);
    assert_eq!(got["int"], json!(3));
    assert!(got["int"].is_i64(), "int + int stays an integer");
    assert_eq!(got["float"], json!(1.75));
    assert_eq!(got["mixed"], json!(1.5));
    assert!(got["mixed"].is_f64());
    assert_eq!(got["neg"], json!(-2));
    assert_eq!(got["big"], json!(9_223_372_036_854_775_808_u64));

    // Beyond u64: a float, as JSON cannot carry Python's big integers here.
    let got = fold_ok(&[json!({"n": u64::MAX}), json!({"n": 1})]);
    assert!(got["n"].is_f64());
    assert_eq!(got["n"].as_f64(), Some(18_446_744_073_709_551_616.0));

    // A float sum that overflows to infinity leaves the value unchanged.
    let got = fold_ok(&[json!({"n": f64::MAX}), json!({"n": f64::MAX})]);
    assert_eq!(got["n"], json!(f64::MAX));
}

#[test]
fn booleans_add_as_integers() {
    let got = fold_ok(&[
        json!({"tt": true, "tf": true, "ff": false, "ti": true, "it": 5, "tx": true}),
        json!({"tt": true, "tf": false, "ff": false, "ti": 2, "it": true, "tx": 0.5}),
    ]);
    assert_eq!(
        got,
        json!({"tt": 2, "tf": 1, "ff": 0, "ti": 3, "it": 6, "tx": 1.5})
    );
}

#[test]
fn dicts_merge_recursively() {
    let got = fold_ok(&[
        json!({"a": {"b": {"c": "x", "n": 1}, "keep": true}}),
        json!({"a": {"b": {"c": "y", "new": [1]}, "other": "z"}}),
    ]);
    assert_eq!(
        got,
        json!({"a": {"b": {"c": "xy", "n": 1, "new": [1]}, "keep": true, "other": "z"}})
    );
}

#[test]
fn scalar_lists_extend() {
    let got = fold_ok(&[
        json!({"l": ["a", 1, true], "empty": []}),
        json!({"l": [2.5, "b"], "empty": ["x"]}),
        json!({"l": [], "empty": [{"index": 0}]}),
    ]);
    // An empty accumulated list counts as a list of scalars, so even objects are appended.
    assert_eq!(
        got,
        json!({"l": ["a", 1, true, 2.5, "b"], "empty": ["x", {"index": 0}]})
    );
    // Objects appended to a scalar list as a first step turn it into an object list.
    let got = fold_ok(&[
        json!({"l": []}),
        json!({"l": [{"index": 0, "s": "a"}]}),
        json!({"l": [{"index": 0, "s": "b"}]}),
    ]);
    assert_eq!(got, json!({"l": [{"index": 0, "s": "ab"}]}));
}

#[test]
fn object_lists_merge_by_index_and_append_new_entries() {
    let got = fold_ok(&[
        json!({"t": [{"index": 0, "a": "x"}]}),
        json!({"t": [{"index": 1, "a": "p"}, {"index": 0, "a": "y"}]}),
        json!({"t": [{"index": 1, "a": "q"}]}),
        json!({"t": [{"index": 0, "a": "z", "extra": 1}]}),
    ]);
    assert_eq!(
        got,
        json!({"t": [{"index": 0, "a": "xyz", "extra": 1}, {"index": 1, "a": "pq"}]})
    );
}

#[test]
fn entries_are_found_by_their_index_key_not_their_position() {
    // A list that starts at index 1 (some providers do this).
    let got = fold_ok(&[
        json!({"t": [{"index": 1, "args": "{"}]}),
        json!({"t": [{"index": 1, "args": "}"}]}),
        json!({"t": [{"index": 5, "args": "["}]}),
        json!({"t": [{"index": 1, "args": " "}, {"index": 5, "args": "]"}]}),
    ]);
    assert_eq!(
        got,
        json!({"t": [{"index": 1, "args": "{} "}, {"index": 5, "args": "[]"}]})
    );
}

#[test]
fn first_list_is_stored_as_is_even_with_duplicate_indices() {
    let got = fold_ok(&[json!({"tool_calls": [
        {"index": 0, "id": "call_1", "function": {"arguments": ""}},
        {"index": 0, "function": {"arguments": "{\"a\""}},
    ]})]);
    assert_eq!(got["tool_calls"].as_array().map(Vec::len), Some(2));
    // Later fragments go to the first entry with that index.
    let got = fold_ok(&[
        json!({"tool_calls": [{"index": 0, "s": "a"}, {"index": 0, "s": "b"}]}),
        json!({"tool_calls": [{"index": 0, "s": "c"}]}),
    ]);
    assert_eq!(
        got,
        json!({"tool_calls": [{"index": 0, "s": "ac"}, {"index": 0, "s": "b"}]})
    );
}

#[test]
fn index_and_type_are_replaced() {
    let got = fold_ok(&[
        json!({"type": "function", "index": 0, "inner": {"type": "text", "index": 3}}),
        json!({"type": "function", "index": 2, "inner": {"type": "image", "index": 4}}),
    ]);
    assert_eq!(
        got,
        json!({"type": "function", "index": 2, "inner": {"type": "image", "index": 4}})
    );
    // The reference replaces these two keys even with null or another type.
    let got = fold_ok(&[
        json!({"type": "function", "index": 1}),
        json!({"type": null, "index": "x"}),
    ]);
    assert_eq!(got, json!({"type": null, "index": "x"}));
}

#[test]
fn null_delta_values_never_overwrite() {
    let got = fold_ok(&[
        json!({"s": "a", "n": 1, "o": {"k": "v"}, "l": [1], "b": true}),
        json!({"s": null, "n": null, "o": null, "l": null, "b": null}),
    ]);
    assert_eq!(
        got,
        json!({"s": "a", "n": 1, "o": {"k": "v"}, "l": [1], "b": true})
    );
}

#[test]
fn accumulated_null_is_replaced_by_anything() {
    let got = fold_ok(&[
        json!({"s": null, "l": null, "o": null, "n": null}),
        json!({"s": "x", "l": [{"index": 0}], "o": {"a": 1}, "n": null}),
        json!({"s": "y", "o": {"a": 2}}),
    ]);
    assert_eq!(
        got,
        json!({"s": "xy", "l": [{"index": 0}], "o": {"a": 3}, "n": null})
    );
}

#[test]
fn values_of_another_type_are_ignored() {
    let got = fold_ok(&[
        json!({"s": "a", "n": 1, "o": {"k": 1}, "l": ["x"], "b": false}),
        json!({"s": 1, "n": "2", "o": [1], "l": {"k": 1}, "b": "yes"}),
        json!({"s": {"a": 1}, "n": [1], "o": "str", "l": 3, "b": {}}),
    ]);
    assert_eq!(
        got,
        json!({"s": "a", "n": 1, "o": {"k": 1}, "l": ["x"], "b": false})
    );
}

#[test]
fn new_keys_are_stored_as_they_are() {
    let got = fold_ok(&[
        json!({"a": 1}),
        json!({"b": {"c": [null, {"x": 1}]}, "d": null}),
    ]);
    assert_eq!(
        got,
        json!({"a": 1, "b": {"c": [null, {"x": 1}]}, "d": null})
    );
}

#[test]
fn missing_index_is_an_error_with_its_path() {
    let error = fold(&[
        json!({"tool_calls": [{"index": 0, "x": "a"}]}),
        json!({"tool_calls": [{"index": 0, "x": "b"}, {"x": "c"}]}),
    ])
    .unwrap_err();
    assert_eq!(
        error,
        AccumulateError::MissingIndex {
            path: "$.tool_calls[1]".into()
        }
    );
    assert_eq!(error.reference_class(), "RuntimeError");

    // Deep inside a merged entry.
    let error = fold(&[
        json!({"a": {"b": [{"index": 0, "c": [{"index": 0}]}]}}),
        json!({"a": {"b": [{"index": 0, "c": [{"index": 0}, {"index": 1}, {}]}]}}),
    ])
    .unwrap_err();
    assert_eq!(error.path(), "$.a.b[0].c[2]");
    assert!(matches!(error, AccumulateError::MissingIndex { .. }));
}

#[test]
fn invalid_index_is_an_error() {
    for index in [json!("0"), json!(1.0), json!(null), json!([0])] {
        let error = fold(&[
            json!({"l": [{"index": 0}]}),
            json!({"l": [{"index": index.clone()}]}),
        ])
        .unwrap_err();
        assert_eq!(
            error,
            AccumulateError::InvalidIndex {
                path: "$.l[0]".into()
            },
            "index {index}"
        );
        assert_eq!(error.reference_class(), "TypeError");
    }
    // Booleans are integers in Python.
    let got = fold_ok(&[
        json!({"l": [{"index": 0, "s": "a"}, {"index": 1, "s": "b"}]}),
        json!({"l": [{"index": true, "s": "c"}]}),
    ]);
    assert_eq!(got["l"][1]["s"], json!("bc"));
}

#[test]
fn every_non_object_entry_is_rejected() {
    for entry in [json!(null), json!(1), json!(true), json!([]), json!("s")] {
        let error = fold(&[
            json!({"l": [{"index": 0}]}),
            json!({"l": [{"index": 0}, entry.clone()]}),
        ])
        .unwrap_err();
        assert_eq!(
            error,
            AccumulateError::NotAnObject {
                path: "$.l[1]".into()
            },
            "entry {entry}"
        );
    }
}

#[test]
fn paths_quote_unusual_keys() {
    let error = fold(&[
        json!({"my key": {"a.b": [{"index": 0}]}}),
        json!({"my key": {"a.b": [7]}}),
    ])
    .unwrap_err();
    assert_eq!(error.path(), "$[\"my key\"][\"a.b\"][0]");
}

#[test]
fn a_list_with_non_scalar_entries_uses_index_merging() {
    // A null entry makes the list not a list of scalars.
    let error = fold(&[json!({"l": [null]}), json!({"l": ["x"]})]).unwrap_err();
    assert!(matches!(error, AccumulateError::NotAnObject { .. }));
    // Non-object accumulated entries are skipped when searching; a new index is appended.
    let got = fold_ok(&[
        json!({"l": [null, [1]]}),
        json!({"l": [{"index": 0, "a": 1}]}),
    ]);
    assert_eq!(got, json!({"l": [null, [1], {"index": 0, "a": 1}]}));
}

#[test]
fn an_error_keeps_what_was_merged_before_it() {
    let mut acc = object(json!({"s": "a", "l": [{"index": 0, "v": "x"}]}));
    let delta = object(json!({"l": [{"index": 0, "v": "y"}, 3], "s": "b"}));
    let error = accumulate_delta(&mut acc, &delta).unwrap_err();
    assert_eq!(error.path(), "$.l[1]");
    // Keys iterate in map order ("l" before "s"): "s" was not reached.
    assert_eq!(
        Value::Object(acc),
        json!({"s": "a", "l": [{"index": 0, "v": "xy"}]})
    );
}

#[test]
fn long_lists_merge_correctly_in_any_order() {
    let n = 2000;
    let mut acc = Map::new();
    for i in 0..n {
        let delta = object(json!({"l": [{"index": i, "s": "a"}]}));
        accumulate_delta_owned(&mut acc, delta).unwrap();
    }
    // Reverse order, and a second pass.
    for i in (0..n).rev() {
        let delta = object(json!({"l": [{"index": i, "s": "b"}]}));
        accumulate_delta_owned(&mut acc, delta).unwrap();
    }
    let list = acc["l"].as_array().unwrap();
    assert_eq!(list.len(), n);
    for (i, entry) in list.iter().enumerate() {
        assert_eq!(entry, &json!({"index": i, "s": "ab"}));
    }
}

fn split_string() -> impl Strategy<Value = (String, Vec<usize>)> {
    (
        "[a-z é€😀{}\"\\\\:,\\n]{0,80}",
        prop::collection::vec(any::<usize>(), 0..12),
    )
}

/// Splits `text` at char boundaries near the given cut points.
fn pieces(text: &str, cuts: &[usize]) -> Vec<String> {
    let boundaries: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .collect();
    let mut points: Vec<usize> = cuts
        .iter()
        .map(|cut| boundaries[cut % boundaries.len()])
        .collect();
    points.sort_unstable();
    let mut out = Vec::new();
    let mut start = 0;
    for point in points {
        out.push(text[start..point].to_owned());
        start = point;
    }
    out.push(text[start..].to_owned());
    out
}

proptest! {
    #[test]
    fn string_deltas_rebuild_the_string((text, cuts) in split_string()) {
        let parts = pieces(&text, &cuts);
        let deltas: Vec<Value> = parts
            .iter()
            .map(|part| json!({
                "content": part,
                "tool_calls": [{"index": 0, "type": "function", "function": {"arguments": part}}],
            }))
            .collect();
        let got = fold_ok(&deltas);
        prop_assert_eq!(&got["content"], &json!(text));
        prop_assert_eq!(&got["tool_calls"][0]["function"]["arguments"], &json!(text));
        prop_assert_eq!(got["tool_calls"].as_array().map(Vec::len), Some(1));
    }
}
