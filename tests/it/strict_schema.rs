//! The strict-schema conversion against the reference SDK's outputs, and the strict-mode check.

use std::path::PathBuf;

use openai_sdk::parsing::{
    check_strict_compatible, strict_compatibility_issues, to_strict_json_schema, StrictSchemaError,
};
use serde_json::{json, Value};

/// `{"type": "object", "properties": {"x": {"anyOf": [inner]}}}`, built without `json!`, which
/// would serialize (recursively) an interpolated value.
fn nest(inner: Value) -> Value {
    let mut any_of = serde_json::Map::new();
    any_of.insert("anyOf".into(), Value::Array(vec![inner]));
    let mut properties = serde_json::Map::new();
    properties.insert("x".into(), Value::Object(any_of));
    let mut node = serde_json::Map::new();
    node.insert("type".into(), json!("object"));
    node.insert("properties".into(), Value::Object(properties));
    Value::Object(node)
}

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/strict_schema")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Every case `gen_reference.py` recorded from openai-python 3.4.0: same output, key order
/// included, or the matching exception class.
#[test]
fn matches_reference_outputs() {
    let cases = fixture("reference_cases.json");
    let cases = cases["cases"].as_array().unwrap();
    assert!(cases.len() > 200);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let result = to_strict_json_schema(case["input"].clone());
        match (
            case.get("output"),
            case.get("error_class").and_then(Value::as_str),
        ) {
            (Some(expected), None) => {
                let got = result.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(
                    serde_json::to_string(&got).unwrap(),
                    serde_json::to_string(expected).unwrap(),
                    "{name}"
                );
            }
            (None, Some(class)) => {
                let err = result.expect_err(name);
                let ours = err.reference_error_class();
                let same = match class {
                    // Python raises these three for an unresolvable `$ref`.
                    "KeyError" | "AssertionError" | "ValueError" => ours == "ValueError",
                    other => ours == other,
                };
                assert!(same, "{name}: reference {class}, ours {ours} ({err})");
            }
            _ => panic!("{name}: malformed case"),
        }
    }
}

#[test]
fn conformance_case_bad_anyof_true() {
    let input = fixture("conformance_bad_anyof_true.input.json");
    let expected = fixture("conformance_bad_anyof_true.expected.json");
    let err = to_strict_json_schema(input).unwrap_err();
    assert_eq!(err.reference_error_class(), expected["error_class"]);
    assert_eq!(
        err,
        StrictSchemaError::NotAnObject {
            path: "/properties/a/anyOf/0".into(),
            found: "true".into()
        }
    );
    assert_eq!(
        err.to_string(),
        "expected a JSON schema object at `#/properties/a/anyOf/0`, found `true`"
    );
}

/// The schemas openai-python sent in its recorded requests are already strict: converting them
/// again changes nothing (key order included), and they pass the strict-mode check.
#[test]
fn recorded_schemas_are_fixed_points() {
    let mut checked = 0;
    for entry in std::fs::read_dir(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/strict_schema/recordings"),
    )
    .unwrap()
    {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let body = fixture(&format!("recordings/{name}"));
        let mut schemas = Vec::new();
        if let Some(format) = body.get("json_schema") {
            schemas.push(format["schema"].clone());
        }
        if let Some(tools) = body.as_array() {
            for tool in tools {
                if tool["function"]["strict"] == json!(true) {
                    schemas.push(tool["function"]["parameters"].clone());
                }
            }
        }
        for schema in schemas {
            let converted = to_strict_json_schema(schema.clone()).unwrap();
            assert_eq!(
                serde_json::to_string(&converted).unwrap(),
                serde_json::to_string(&schema).unwrap(),
                "{name}"
            );
            check_strict_compatible(&schema).unwrap_or_else(|e| panic!("{name}: {e}"));
            checked += 1;
        }
    }
    assert_eq!(checked, 10);
}

#[test]
fn non_strict_tool_schema_is_converted() {
    let tools = fixture("recordings/tools_nonstrict_get_weather.json");
    let schema = tools[0]["function"]["parameters"].clone();
    assert!(check_strict_compatible(&schema).is_err());
    let strict = to_strict_json_schema(schema).unwrap();
    assert_eq!(
        strict,
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": false})
    );
    check_strict_compatible(&strict).unwrap();
}

#[test]
fn conversion_errors_name_the_path() {
    let err =
        to_strict_json_schema(json!({"type": "object", "properties": {"a~b/c": 5}})).unwrap_err();
    assert_eq!(err.path(), "/properties/a~0b~1c");
    assert_eq!(err.reference_error_class(), "TypeError");

    let err = to_strict_json_schema(
        json!({"type": "object", "properties": {"a": {"$ref": "#/$defs/X", "title": "t"}}}),
    )
    .unwrap_err();
    assert!(
        matches!(&err, StrictSchemaError::UnresolvableRef { path, reference, .. } if path == "/properties/a" && reference == "#/$defs/X")
    );
    assert_eq!(
        err.to_string(),
        "cannot resolve `$ref: #/$defs/X` at `#/properties/a`: there is no `$defs`"
    );
}

#[test]
fn ref_tokens_are_unescaped() {
    let strict = to_strict_json_schema(json!({
        "$defs": {"a/b": {"type": "string"}},
        "type": "object",
        "properties": {"p": {"$ref": "#/$defs/a~1b", "description": "d"}},
    }))
    .unwrap();
    assert_eq!(
        strict["properties"]["p"],
        json!({"description": "d", "type": "string"})
    );
}

/// The conversion's recursion is bounded, with frames small enough for a 1 MiB stack (debug
/// build) at the deepest nesting accepted.
#[test]
fn deepest_schemas_fit_a_small_stack() {
    let deep = || {
        let mut deep = json!({"type": "string"});
        for _ in 0..600 {
            deep = nest(deep);
        }
        deep
    };
    let run = move || {
        // Dropping (or cloning) a deep `Value` recurses in serde_json: these values are leaked,
        // to measure only our code.
        let result = to_strict_json_schema(deep());
        let err = result.as_ref().unwrap_err();
        assert!(matches!(err, StrictSchemaError::TooDeep { .. }), "{err}");
        std::mem::forget(result);
        let schema = deep();
        assert!(strict_compatibility_issues(&schema)
            .iter()
            .any(|e| matches!(e, StrictSchemaError::TooDeep { .. })));
        std::mem::forget(schema);
    };
    std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(run)
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn runaway_schemas_are_errors_not_overflows() {
    // A recursive `$ref` with siblings: the reference recurses until RecursionError.
    let recursive = json!({
        "$defs": {"T": {"type": "object", "properties": {"next": {"$ref": "#/$defs/T", "description": "d"}}}},
        "type": "object",
        "properties": {"t": {"$ref": "#/$defs/T"}},
    });
    let err = to_strict_json_schema(recursive).unwrap_err();
    assert!(matches!(err, StrictSchemaError::TooDeep { .. }), "{err}");
    assert_eq!(err.reference_error_class(), "RecursionError");

    // Deep nesting.
    let mut deep = json!({"type": "string"});
    for _ in 0..1000 {
        let mut node = serde_json::Map::new();
        node.insert("type".into(), json!("array"));
        node.insert("items".into(), deep);
        deep = Value::Object(node);
    }
    assert!(strict_compatibility_issues(&deep)
        .iter()
        .any(|e| matches!(e, StrictSchemaError::TooDeep { .. })));
    assert!(matches!(
        to_strict_json_schema(deep),
        Err(StrictSchemaError::TooDeep { .. })
    ));

    // Exponential inlining: each definition refers to the next one twice, with siblings.
    let mut defs = serde_json::Map::new();
    for i in 0..17 {
        defs.insert(
            format!("D{i}"),
            json!({"type": "object", "properties": {
                "a": {"$ref": format!("#/$defs/D{}", i + 1), "description": "a"},
                "b": {"$ref": format!("#/$defs/D{}", i + 1), "description": "b"},
            }}),
        );
    }
    defs.insert("D17".into(), json!({"type": "string"}));
    let wide = json!({"$defs": defs, "type": "object", "properties": {}});
    assert!(matches!(
        to_strict_json_schema(wide),
        Err(StrictSchemaError::TooLarge { .. })
    ));
}

fn unsupported(err: &StrictSchemaError) -> (&str, Option<&str>, &str) {
    match err {
        StrictSchemaError::Unsupported {
            path,
            type_name,
            keyword,
            ..
        } => (path, type_name.as_deref(), keyword),
        other => panic!("expected Unsupported, got {other}"),
    }
}

fn strict_object(properties: Value) -> Value {
    let required: Vec<String> = properties.as_object().unwrap().keys().cloned().collect();
    json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false})
}

#[test]
fn check_accepts_the_supported_subset() {
    let schema = json!({
        "type": "object",
        "title": "Everything",
        "description": "All supported keywords",
        "properties": {
            "s": {"type": "string", "pattern": "^a+$", "format": "date-time", "description": "d"},
            "n": {"type": "number", "minimum": 0, "maximum": 10, "exclusiveMinimum": -1, "exclusiveMaximum": 11, "multipleOf": 0.5},
            "i": {"type": ["integer", "null"]},
            "b": {"type": "boolean", "default": true},
            "e": {"enum": ["x", "y", null]},
            "c": {"const": "fixed"},
            "a": {"type": "array", "items": {"$ref": "#/$defs/Item"}, "minItems": 1, "maxItems": 3},
            "u": {"anyOf": [{"$ref": "#/$defs/Item"}, {"type": "null"}]},
            "r": {"$ref": "#"},
        },
        "required": ["s", "n", "i", "b", "e", "c", "a", "u", "r"],
        "additionalProperties": false,
        "$defs": {"Item": strict_object(json!({"name": {"type": "string"}}))},
    });
    check_strict_compatible(&schema).unwrap();
    for format in openai_sdk::parsing::SUPPORTED_FORMATS {
        check_strict_compatible(&strict_object(
            json!({"f": {"type": "string", "format": format}}),
        ))
        .unwrap();
    }
}

#[test]
fn check_reports_what_strict_mode_cannot_express() {
    let cases = [
        // maps
        (
            strict_object(
                json!({"m": {"type": "object", "additionalProperties": {"type": "integer"}}}),
            ),
            "/properties/m",
            "additionalProperties",
        ),
        (
            strict_object(json!({"m": {"type": "object", "additionalProperties": true}})),
            "/properties/m",
            "additionalProperties",
        ),
        (
            strict_object(
                json!({"m": {"type": "object", "patternProperties": {"^x": {"type": "string"}}, "additionalProperties": false}}),
            ),
            "/properties/m",
            "patternProperties",
        ),
        // objects the reference conversion leaves open
        (
            strict_object(json!({"m": {"type": ["object", "null"], "properties": {}}})),
            "/properties/m",
            "additionalProperties",
        ),
        // boolean schemas
        (strict_object(json!({"v": true})), "/properties/v", "true"),
        (strict_object(json!({"v": false})), "/properties/v", "false"),
        (
            strict_object(json!({"v": {"type": "array", "items": true}})),
            "/properties/v/items",
            "true",
        ),
        // unsupported keywords and formats
        (
            strict_object(json!({"o": {"oneOf": [{"type": "string"}]}})),
            "/properties/o",
            "oneOf",
        ),
        (
            strict_object(json!({"o": {"allOf": [{"type": "string"}, {"type": "string"}]}})),
            "/properties/o",
            "allOf",
        ),
        (
            strict_object(json!({"o": {"not": {"type": "string"}}})),
            "/properties/o",
            "not",
        ),
        (
            strict_object(json!({"t": {"type": "array", "prefixItems": [{"type": "string"}]}})),
            "/properties/t",
            "prefixItems",
        ),
        (
            strict_object(json!({"t": {"type": "array", "items": [{"type": "string"}]}})),
            "/properties/t",
            "items",
        ),
        (
            strict_object(json!({"s": {"type": "string", "minLength": 1}})),
            "/properties/s",
            "minLength",
        ),
        (
            strict_object(json!({"s": {"type": "string", "format": "uri"}})),
            "/properties/s",
            "format",
        ),
        (
            strict_object(json!({"s": {"type": "integer", "format": "int32"}})),
            "/properties/s",
            "format",
        ),
        (
            strict_object(json!({"s": {"type": "array", "uniqueItems": true}})),
            "/properties/s",
            "uniqueItems",
        ),
        (
            strict_object(json!({"s": {"type": "string", "x-custom": 1}})),
            "/properties/s",
            "x-custom",
        ),
        (
            strict_object(json!({"s": {"type": "date"}})),
            "/properties/s",
            "type",
        ),
        // optional properties
        (
            json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": [], "additionalProperties": false}),
            "",
            "required",
        ),
        // the root
        (json!({"anyOf": [strict_object(json!({}))]}), "", "anyOf"),
        (json!({"type": "string"}), "", "type"),
        (
            json!({"type": ["object", "null"], "properties": {}, "required": [], "additionalProperties": false}),
            "",
            "type",
        ),
    ];
    for (schema, path, keyword) in cases {
        let err = check_strict_compatible(&schema).unwrap_err();
        let (p, _, k) = unsupported(&err);
        assert_eq!((p, k), (path, keyword), "{schema}: {err}");
    }
}

#[test]
fn check_names_the_type_under_defs() {
    let schema = json!({
        "type": "object",
        "properties": {"inner": {"$ref": "#/$defs/Inner"}},
        "required": ["inner"],
        "additionalProperties": false,
        "$defs": {"Inner": strict_object(json!({"data": true}))},
    });
    let err = check_strict_compatible(&schema).unwrap_err();
    assert_eq!(
        unsupported(&err),
        ("/$defs/Inner/properties/data", Some("Inner"), "true")
    );
    assert!(err.to_string().starts_with("`true` at `#/$defs/Inner/properties/data` (in type `Inner`) is not supported by OpenAI strict mode: `true` accepts any JSON value"), "{err}");
}

#[test]
fn check_reports_bad_refs_and_limits() {
    let err = check_strict_compatible(&strict_object(json!({"a": {"$ref": "#/$defs/Missing"}})))
        .unwrap_err();
    assert!(
        matches!(&err, StrictSchemaError::UnresolvableRef { path, .. } if path == "/properties/a"),
        "{err}"
    );

    let mut nested = json!({"type": "string"});
    for _ in 0..11 {
        nested = strict_object(json!({"x": nested}));
    }
    let err = check_strict_compatible(&nested).unwrap_err();
    assert_eq!(unsupported(&err).2, "properties");
    assert_eq!(err.path().matches("/properties/x").count(), 10);

    let many: serde_json::Map<String, Value> = (0..5001)
        .map(|i| (format!("p{i}"), json!({"type": "string"})))
        .collect();
    let err = check_strict_compatible(&strict_object(Value::Object(many))).unwrap_err();
    assert!(err.to_string().contains("5001 object properties"), "{err}");

    let values: Vec<String> = (0..1001).map(|i| format!("v{i}")).collect();
    let err = check_strict_compatible(&strict_object(json!({"e": {"enum": values}}))).unwrap_err();
    assert!(err.to_string().contains("1001 enum values"), "{err}");

    let long: Vec<String> = (0..300).map(|i| format!("{i:0>60}")).collect();
    let err = check_strict_compatible(&strict_object(
        json!({"e": {"type": "string", "enum": long}}),
    ))
    .unwrap_err();
    assert_eq!(unsupported(&err), ("/properties/e", None, "enum"));
}

#[test]
fn all_issues_are_listed_in_order() {
    let issues = strict_compatibility_issues(&json!({
        "type": "object",
        "properties": {"a": {"oneOf": []}, "b": true, "c": {"type": "object"}},
        "required": ["a", "b"],
    }));
    let summary: Vec<(String, String)> = issues
        .iter()
        .map(|e| match e {
            StrictSchemaError::Unsupported { path, keyword, .. } => (path.clone(), keyword.clone()),
            other => (other.path().to_string(), other.to_string()),
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("".into(), "additionalProperties".into()),
            ("".into(), "required".into()),
            ("/properties/a".into(), "oneOf".into()),
            ("/properties/b".into(), "true".into()),
            ("/properties/c".into(), "additionalProperties".into()),
        ]
    );
}

mod arbitrary_schemas {
    use super::*;
    use proptest::prelude::*;

    /// JSON values shaped like schemas (keyword keys, `$ref`s into `$defs`), and not.
    fn schema_like() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(json!(null)),
            any::<bool>().prop_map(Value::Bool),
            (0i64..3).prop_map(|i| json!(i)),
            prop::sample::select(vec![
                "object",
                "string",
                "array",
                "#/$defs/A",
                "#/$defs/B",
                "#",
                "#/x",
                ""
            ])
            .prop_map(|s| json!(s)),
        ];
        leaf.prop_recursive(5, 64, 5, |inner| {
            let key = prop::sample::select(vec![
                "type",
                "properties",
                "items",
                "anyOf",
                "allOf",
                "oneOf",
                "$ref",
                "default",
                "description",
                "additionalProperties",
                "$defs",
                "definitions",
                "required",
                "A",
                "B",
                "format",
                "enum",
                "prefixItems",
                "not",
            ]);
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((key, inner), 0..6).prop_map(|members| Value::Object(
                    members
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect()
                )),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// No input makes the conversion or the check panic; a converted schema converts to
        /// itself again.
        #[test]
        fn never_panics_and_is_idempotent(schema in schema_like()) {
            let _ = strict_compatibility_issues(&schema);
            if let Ok(strict) = to_strict_json_schema(schema) {
                let again = to_strict_json_schema(strict.clone());
                prop_assert_eq!(again.as_ref().ok(), Some(&strict));
                let _ = check_strict_compatible(&strict);
            }
        }
    }
}
