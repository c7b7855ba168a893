//! Strict JSON schemas for Structured Outputs and strict function tools (documented in the
//! parsing module).

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use serde_json::{Map, Value};

/// Deepest schema nesting followed (each recursion step of the conversion counts, including
/// re-processing an inlined `$ref`); deeper schemas are an error instead of a stack overflow.
pub const MAX_SCHEMA_DEPTH: usize = 512;

/// Most sub-schema visits one conversion may make: inlining `$ref`s can multiply a schema's
/// size, and a hostile schema could make that exponential.
pub const MAX_SCHEMA_VISITS: usize = 50_000;

/// Why a schema cannot be made strict, or is not accepted by OpenAI's strict mode.
///
/// Paths are JSON pointers into the schema (RFC 6901; `""` is the root), displayed as URI
/// fragments (`#/properties/a/anyOf/0`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StrictSchemaError {
    /// A sub-schema that is not a JSON object, e.g. `true` in an `anyOf` (the reference raises
    /// `TypeError` here).
    #[error("expected a JSON schema object at `#{path}`, found `{found}`")]
    NotAnObject {
        /// Where.
        path: String,
        /// The value found, as JSON.
        found: String,
    },
    /// A `$ref` that can't be resolved (the reference raises `ValueError`, `KeyError` or
    /// `AssertionError`).
    #[error("cannot resolve `$ref: {reference}` at `#{path}`: {reason}")]
    UnresolvableRef {
        /// Where the `$ref` is.
        path: String,
        /// The reference, as JSON text if it is not a string.
        reference: String,
        /// Why.
        reason: String,
    },
    /// Something OpenAI's strict mode does not support.
    #[error("{}", unsupported_message(.path, .type_name.as_deref(), .keyword, .reason))]
    Unsupported {
        /// Where.
        path: String,
        /// The type whose definition holds the problem, when it is under `$defs/Name`.
        type_name: Option<String>,
        /// The offending keyword (for a boolean schema, `true` or `false`).
        keyword: String,
        /// Why, and what to do instead.
        reason: String,
    },
    /// The schema is nested too deeply (the reference raises `RecursionError`), typically a
    /// recursive `$ref` with sibling keywords that the conversion keeps inlining.
    #[error("schema nested more than {limit} levels deep at `#{path}` (a recursive `$ref` with sibling keywords?)")]
    TooDeep {
        /// Where the limit was hit.
        path: String,
        /// [`MAX_SCHEMA_DEPTH`].
        limit: usize,
    },
    /// Inlining `$ref`s made the schema too large.
    #[error("schema conversion visits more than {limit} sub-schemas (`$ref`s with sibling keywords inlined too often?)")]
    TooLarge {
        /// [`MAX_SCHEMA_VISITS`].
        limit: usize,
    },
}

fn unsupported_message(path: &str, type_name: Option<&str>, keyword: &str, reason: &str) -> String {
    let mut out = format!("`{keyword}` at `#{path}`");
    if let Some(name) = type_name {
        let _ = write!(out, " (in type `{name}`)");
    }
    let _ = write!(out, " is not supported by OpenAI strict mode: {reason}");
    out
}

impl StrictSchemaError {
    /// The JSON-pointer path of the problem (`""` for the root, or for [`Self::TooLarge`]).
    pub fn path(&self) -> &str {
        match self {
            StrictSchemaError::NotAnObject { path, .. }
            | StrictSchemaError::UnresolvableRef { path, .. }
            | StrictSchemaError::Unsupported { path, .. }
            | StrictSchemaError::TooDeep { path, .. } => path,
            StrictSchemaError::TooLarge { .. } => "",
        }
    }

    /// The Python exception class the reference SDK raises for the same schema, for conformance
    /// output: `TypeError` for a non-object sub-schema, `ValueError` for a bad `$ref` or an
    /// unsupported schema, `RecursionError` for runaway nesting.
    pub fn reference_error_class(&self) -> &'static str {
        match self {
            StrictSchemaError::NotAnObject { .. } => "TypeError",
            StrictSchemaError::UnresolvableRef { .. } | StrictSchemaError::Unsupported { .. } => {
                "ValueError"
            }
            StrictSchemaError::TooDeep { .. } | StrictSchemaError::TooLarge { .. } => {
                "RecursionError"
            }
        }
    }
}

/// Escape one JSON-pointer reference token.
fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn unescape_token(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn pointer(path: &[String]) -> String {
    let mut out = String::new();
    for segment in path {
        out.push('/');
        out.push_str(&escape_token(segment));
    }
    out
}

/// A short description of a value found where a schema should be (never the whole of a large
/// array or object).
fn describe(value: &Value) -> String {
    match value {
        Value::Array(items) if items.is_empty() => "[]".into(),
        Value::Array(items) => format!("[…] (an array of {})", items.len()),
        Value::Object(_) => "{…}".into(),
        Value::String(s) if s.chars().count() > 60 => {
            format!(
                "{}…\"",
                Value::String(s.chars().take(60).collect())
                    .to_string()
                    .trim_end_matches('"')
            )
        }
        other => other.to_string(),
    }
}

fn get_path_mut<'a>(root: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    path.iter().try_fold(root, |node, segment| match node {
        Value::Object(map) => map.get_mut(segment),
        Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
        _ => None,
    })
}

/// Resolve a local `$ref` (`#/a/b`) against `root`: every step must be an object, as in the
/// reference. Reference tokens are unescaped as JSON pointers (`~1` is `/`, `~0` is `~`).
fn resolve_ref<'a>(root: &'a Value, reference: &str) -> Result<&'a Map<String, Value>, String> {
    let Some(rest) = reference.strip_prefix("#/") else {
        return Err("only local references starting with `#/` can be resolved".to_string());
    };
    let mut current = root;
    for token in rest.split('/') {
        let key = unescape_token(token);
        let Value::Object(map) = current else {
            return Err(format!(
                "`{key}` is looked up in a value that is not an object"
            ));
        };
        current = map
            .get(&key)
            .ok_or_else(|| format!("there is no `{key}`"))?;
        if !current.is_object() {
            return Err(format!("`{key}` is not an object"));
        }
    }
    match current {
        Value::Object(map) => Ok(map),
        _ => Err("the target is not an object".to_string()),
    }
}

// ---------------------------------------------------------------------------------------------
// 1. The reference conversion.
// ---------------------------------------------------------------------------------------------

/// Make a JSON schema strict exactly as the reference SDK does (openai-python
/// `_ensure_strict_json_schema`, the version in openai 3.4.0):
///
/// - recurses into `$defs`, `definitions`, `properties`, `items` (when it is an object),
///   `anyOf` and `allOf` — **not** into `oneOf`, `additionalProperties`, `prefixItems` or `not`;
/// - adds `additionalProperties: false` where `type` is exactly `"object"` and
///   `additionalProperties` is absent (not for `["object", "null"]`, and an existing
///   `additionalProperties` is kept);
/// - sets `required` to all property names, in property order;
/// - drops `default: null`;
/// - replaces an `allOf` of one entry by that entry's keywords;
/// - inlines a `$ref` that has sibling keywords (the siblings win) and processes the result
///   again; the reference is resolved against the root as converted so far;
/// - a sub-schema that is not an object (e.g. `true` in `anyOf`) is
///   [`StrictSchemaError::NotAnObject`] (the reference's `TypeError`).
///
/// Key order follows the reference (new keys are appended), given `serde_json`'s
/// `preserve_order`. Two deliberate differences, both for schemas the reference can't handle:
/// `$ref` tokens are unescaped as JSON pointers (`~1`, `~0`); and where the reference would
/// recurse forever (a recursive `$ref` with siblings) or blow up, this returns
/// [`StrictSchemaError::TooDeep`] / [`StrictSchemaError::TooLarge`]. An inlined `$ref` is a
/// copy: the reference shares nested dicts between the definition and the inlined copy, which
/// only matters for schemas whose conversion is not idempotent.
///
/// ```
/// use serde_json::json;
/// use openai_sdk::parsing::{to_strict_json_schema, StrictSchemaError};
///
/// let schema = json!({
///     "$defs": {"Units": {"enum": ["c", "f"], "type": "string"}},
///     "type": "object",
///     "properties": {"units": {"$ref": "#/$defs/Units", "description": "Temperature units"}},
/// });
/// let strict = to_strict_json_schema(schema).unwrap();
/// assert_eq!(
///     strict["properties"]["units"],
///     json!({"description": "Temperature units", "enum": ["c", "f"], "type": "string"})
/// );
///
/// let bad = json!({"type": "object", "properties": {"a": {"anyOf": [true, {"type": "string"}]}}});
/// let err = to_strict_json_schema(bad).unwrap_err();
/// assert!(matches!(err, StrictSchemaError::NotAnObject { ref path, .. } if path == "/properties/a/anyOf/0"));
/// assert_eq!(err.reference_error_class(), "TypeError");
/// ```
pub fn to_strict_json_schema(schema: Value) -> Result<Value, StrictSchemaError> {
    let mut converter = Converter {
        root: schema,
        visits: 0,
    };
    let mut path = Vec::new();
    converter.ensure(&mut path, 0).map_err(|e| *e)?;
    Ok(converter.root)
}

/// The children of a node, in the order the reference processes them.
struct MemberPlan {
    properties: Vec<String>,
    items: bool,
    any_of: usize,
    all_of: Option<usize>,
}

/// Errors are boxed inside the recursion to keep its stack frames small.
type Step = Result<(), Box<StrictSchemaError>>;

struct Converter {
    root: Value,
    visits: usize,
}

impl Converter {
    fn object_mut(
        &mut self,
        path: &[String],
    ) -> Result<&mut Map<String, Value>, Box<StrictSchemaError>> {
        match get_path_mut(&mut self.root, path) {
            Some(Value::Object(map)) => Ok(map),
            other => Err(Box::new(StrictSchemaError::NotAnObject {
                path: pointer(path),
                found: other.map_or_else(|| "nothing".to_string(), |v| describe(v)),
            })),
        }
    }

    /// Process the sub-schema at `path`, in place, in the reference's order. The node is looked
    /// up from the root again after each group of children (they may inline `$ref`s, which
    /// reads the whole root); the work is split into functions to keep the recursion's stack
    /// frames small.
    fn ensure(&mut self, path: &mut Vec<String>, depth: usize) -> Step {
        if depth > MAX_SCHEMA_DEPTH {
            return Err(Box::new(StrictSchemaError::TooDeep {
                path: pointer(path),
                limit: MAX_SCHEMA_DEPTH,
            }));
        }
        self.visits += 1;
        if self.visits > MAX_SCHEMA_VISITS {
            return Err(Box::new(StrictSchemaError::TooLarge {
                limit: MAX_SCHEMA_VISITS,
            }));
        }
        self.definitions(path, depth)?;
        self.members(path, depth)?;
        if self.finish_node(path)? {
            self.ensure(path, depth + 1)?;
        }
        Ok(())
    }

    /// `$defs` and `definitions` first.
    #[inline(never)]
    fn definitions(&mut self, path: &mut Vec<String>, depth: usize) -> Step {
        let node = self.object_mut(path)?;
        let names = |key: &str| -> Vec<String> {
            match node.get(key) {
                Some(Value::Object(defs)) => defs.keys().cloned().collect(),
                _ => Vec::new(),
            }
        };
        let (defs, definitions) = (names("$defs"), names("definitions"));
        for name in defs {
            self.ensure_child(path, &["$defs", &name], depth)?;
        }
        for name in definitions {
            self.ensure_child(path, &["definitions", &name], depth)?;
        }
        Ok(())
    }

    /// `additionalProperties`, `required`, then `properties`, `items`, `anyOf` and `allOf`
    /// (processing a child never changes this node's own keys).
    #[inline(never)]
    fn members(&mut self, path: &mut Vec<String>, depth: usize) -> Step {
        let plan = self.plan_members(path)?;
        for name in &plan.properties {
            self.ensure_child(path, &["properties", name], depth)?;
        }
        if plan.items {
            self.ensure_child(path, &["items"], depth)?;
        }
        for i in 0..plan.any_of {
            self.ensure_child(path, &["anyOf", &i.to_string()], depth)?;
        }
        match plan.all_of {
            Some(1) => {
                self.ensure_child(path, &["allOf", "0"], depth)?;
                self.merge_single_all_of(path)?;
            }
            Some(n) => {
                for i in 0..n {
                    self.ensure_child(path, &["allOf", &i.to_string()], depth)?;
                }
            }
            None => {}
        }
        Ok(())
    }

    /// Add `additionalProperties` and `required`, and list the children to process.
    #[inline(never)]
    fn plan_members(&mut self, path: &[String]) -> Result<MemberPlan, Box<StrictSchemaError>> {
        let node = self.object_mut(path)?;
        if node.get("type").and_then(Value::as_str) == Some("object")
            && !node.contains_key("additionalProperties")
        {
            node.insert("additionalProperties".into(), Value::Bool(false));
        }
        let properties: Vec<String> = match node.get("properties") {
            Some(Value::Object(properties)) => {
                let names: Vec<String> = properties.keys().cloned().collect();
                node.insert(
                    "required".into(),
                    Value::Array(names.iter().cloned().map(Value::String).collect()),
                );
                names
            }
            _ => Vec::new(),
        };
        Ok(MemberPlan {
            properties,
            items: matches!(node.get("items"), Some(Value::Object(_))),
            any_of: match node.get("anyOf") {
                Some(Value::Array(variants)) => variants.len(),
                _ => 0,
            },
            all_of: match node.get("allOf") {
                Some(Value::Array(entries)) => Some(entries.len()),
                _ => None,
            },
        })
    }

    /// Replace an `allOf` of one (processed) entry by the entry's keywords.
    #[inline(never)]
    fn merge_single_all_of(&mut self, path: &[String]) -> Step {
        let node = self.object_mut(path)?;
        let entry = match node.get("allOf").and_then(|a| a.get(0)) {
            Some(Value::Object(entry)) => entry.clone(),
            _ => Map::new(),
        };
        for (key, value) in entry {
            node.insert(key, value);
        }
        node.shift_remove("allOf");
        Ok(())
    }

    /// Drop `default: null`, then inline a `$ref` that has sibling keywords, siblings winning;
    /// returns whether the node must be processed again.
    #[inline(never)]
    fn finish_node(&mut self, path: &mut [String]) -> Result<bool, Box<StrictSchemaError>> {
        let node = self.object_mut(path)?;
        if node.get("default") == Some(&Value::Null) {
            node.shift_remove("default");
        }
        let reference = match node.get("$ref") {
            Some(r) if crate::parsing::is_truthy(r) && node.len() > 1 => r.clone(),
            _ => return Ok(false),
        };
        let Value::String(reference) = reference else {
            return Err(Box::new(StrictSchemaError::UnresolvableRef {
                path: pointer(path),
                reference: reference.to_string(),
                reason: "`$ref` is not a string".into(),
            }));
        };
        let resolved = match resolve_ref(&self.root, &reference) {
            Ok(map) => map.clone(),
            Err(reason) => {
                return Err(Box::new(StrictSchemaError::UnresolvableRef {
                    path: pointer(path),
                    reference,
                    reason,
                }))
            }
        };
        let node = self.object_mut(path)?;
        for (key, value) in resolved {
            if !node.contains_key(&key) {
                node.insert(key, value);
            }
        }
        node.shift_remove("$ref");
        Ok(true)
    }

    fn ensure_child(&mut self, path: &mut Vec<String>, segments: &[&str], depth: usize) -> Step {
        let len = path.len();
        path.extend(segments.iter().map(|s| s.to_string()));
        let result = self.ensure(path, depth + 1);
        path.truncate(len);
        result
    }
}

// ---------------------------------------------------------------------------------------------
// 2. What OpenAI strict mode supports.
// ---------------------------------------------------------------------------------------------

/// String formats OpenAI strict mode supports.
pub const SUPPORTED_FORMATS: &[&str] = &[
    "date-time",
    "time",
    "date",
    "duration",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "uuid",
];

/// Most object properties in one schema, as documented by OpenAI.
pub const MAX_PROPERTIES: usize = 5000;
/// Deepest nesting of objects, as documented by OpenAI (counted in the schema text: an object
/// schema under `properties` of another is one level deeper; `$ref`s are not followed).
pub const MAX_OBJECT_NESTING: usize = 10;
/// Most enum values in one schema, as documented by OpenAI.
pub const MAX_ENUM_VALUES: usize = 1000;
/// Most characters of property names, definition names, enum and const values, as documented
/// by OpenAI.
pub const MAX_TOTAL_STRING_LENGTH: usize = 120_000;

const SCHEMA_TYPES: &[&str] = &[
    "string", "number", "integer", "boolean", "object", "array", "null",
];

/// Keywords accepted as they are: annotations, and the supported constraints.
const ALLOWED_KEYWORDS: &[&str] = &[
    // structure (checked below)
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "anyOf",
    "enum",
    "const",
    "$ref",
    "$defs",
    "definitions",
    // annotations
    "title",
    "description",
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
    "$comment",
    "$schema",
    // strings
    "pattern",
    "format",
    // numbers
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    // arrays
    "minItems",
    "maxItems",
];

fn unsupported_reason(keyword: &str) -> &'static str {
    match keyword {
        "oneOf" => "use `anyOf` (for a Rust enum, `strict_schema_for` rewrites schemars' `oneOf`)",
        "allOf" => "intersections (`allOf` with more than one entry) are not supported",
        "not" | "if" | "then" | "else" | "dependentRequired" | "dependentSchemas" | "dependencies" => {
            "conditional and negated schemas are not supported"
        }
        "patternProperties" | "propertyNames" | "unevaluatedProperties" | "minProperties"
        | "maxProperties" => {
            "maps can't be expressed: objects need fixed property names (use a struct, or a Vec of key/value pairs instead of a map)"
        }
        "prefixItems" | "additionalItems" => "tuples are not supported (use a struct)",
        "contains" | "minContains" | "maxContains" | "uniqueItems" | "unevaluatedItems" => {
            "this array constraint is not supported (only `items`, `minItems`, `maxItems`)"
        }
        "minLength" | "maxLength" => {
            "string length constraints are not supported (only `pattern` and `format`; a `char` field produces them)"
        }
        _ => "this keyword is not in the subset of JSON Schema that strict mode supports",
    }
}

/// Check that a (strict) schema only uses what OpenAI's strict mode can express; the first
/// problem found is returned. This is not part of the reference conversion: run it after
/// [`to_strict_json_schema`].
///
/// It reports: a root that is not an object (or is an `anyOf`); boolean schemas (`true` is what
/// `serde_json::Value` produces); maps (`additionalProperties` other than `false`,
/// `patternProperties`...); objects whose `required` misses a property; keywords outside the
/// supported subset (`oneOf`, `allOf`, `not`, `prefixItems`, `minLength`...) and string formats
/// other than [`SUPPORTED_FORMATS`]; unresolvable `$ref`s; and the documented size limits
/// ([`MAX_PROPERTIES`], [`MAX_OBJECT_NESTING`], [`MAX_ENUM_VALUES`],
/// [`MAX_TOTAL_STRING_LENGTH`]). Errors under `$defs/Name` carry `Name` as `type_name`.
///
/// Supported: `type` (one or a list of `string`, `number`, `integer`, `boolean`, `object`,
/// `array`, `null`), `properties`, `required`, `additionalProperties: false`, `items`, `enum`,
/// `const`, `anyOf`, `$ref` (`#` or `#/...`), `$defs`/`definitions`, annotations (`title`,
/// `description`, `default`, `examples`, ...), `pattern`, `format`, `minimum`, `maximum`,
/// `exclusiveMinimum`, `exclusiveMaximum`, `multipleOf`, `minItems`, `maxItems`.
///
/// ```
/// use serde_json::json;
/// use openai_sdk::parsing::{check_strict_compatible, StrictSchemaError};
///
/// let schema = json!({
///     "type": "object",
///     "properties": {"scores": {"$ref": "#/$defs/Scores"}},
///     "required": ["scores"],
///     "additionalProperties": false,
///     "$defs": {"Scores": {"type": "object", "additionalProperties": {"type": "integer"}}},
/// });
/// let err = check_strict_compatible(&schema).unwrap_err();
/// let StrictSchemaError::Unsupported { path, type_name, keyword, .. } = &err else { panic!() };
/// assert_eq!(path, "/$defs/Scores");
/// assert_eq!(type_name.as_deref(), Some("Scores"));
/// assert_eq!(keyword, "additionalProperties");
/// ```
pub fn check_strict_compatible(schema: &Value) -> Result<(), StrictSchemaError> {
    match strict_compatibility_issues(schema).into_iter().next() {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// Every problem [`check_strict_compatible`] finds, in schema order.
///
/// ```
/// use serde_json::json;
/// use openai_sdk::parsing::strict_compatibility_issues;
///
/// let issues = strict_compatibility_issues(&json!({
///     "type": "object",
///     "properties": {"a": {"type": "string", "minLength": 1}, "b": true},
///     "required": ["a", "b"],
///     "additionalProperties": false,
/// }));
/// assert_eq!(issues.len(), 2);
/// assert_eq!(issues[0].path(), "/properties/a");
/// assert_eq!(issues[1].path(), "/properties/b");
/// ```
pub fn strict_compatibility_issues(schema: &Value) -> Vec<StrictSchemaError> {
    let mut checker = Checker {
        root: schema,
        issues: Vec::new(),
        properties: 0,
        enum_values: 0,
        string_length: 0,
    };
    checker.check_all();
    if checker.properties > MAX_PROPERTIES {
        checker.issues.push(StrictSchemaError::Unsupported {
            path: String::new(),
            type_name: None,
            keyword: "properties".into(),
            reason: format!(
                "the schema has {} object properties in all, more than the {MAX_PROPERTIES} allowed",
                checker.properties
            ),
        });
    }
    if checker.enum_values > MAX_ENUM_VALUES {
        checker.issues.push(StrictSchemaError::Unsupported {
            path: String::new(),
            type_name: None,
            keyword: "enum".into(),
            reason: format!(
                "the schema has {} enum values in all, more than the {MAX_ENUM_VALUES} allowed",
                checker.enum_values
            ),
        });
    }
    if checker.string_length > MAX_TOTAL_STRING_LENGTH {
        checker.issues.push(StrictSchemaError::Unsupported {
            path: String::new(),
            type_name: None,
            keyword: "properties".into(),
            reason: format!(
                "property names, definition names, enum and const values add up to {} characters, more than the {MAX_TOTAL_STRING_LENGTH} allowed",
                checker.string_length
            ),
        });
    }
    checker.issues
}

struct Checker<'a> {
    root: &'a Value,
    issues: Vec<StrictSchemaError>,
    properties: usize,
    enum_values: usize,
    string_length: usize,
}

/// A sub-schema to check; the walk uses an explicit stack, not recursion.
struct Visit<'a> {
    node: &'a Value,
    path: Vec<String>,
    type_name: Option<&'a str>,
    depth: usize,
    /// Objects enclosing this one (in the schema text).
    nesting: usize,
}

impl<'a> Checker<'a> {
    fn unsupported(
        &mut self,
        path: &[String],
        type_name: Option<&str>,
        keyword: &str,
        reason: impl Into<String>,
    ) {
        self.issues.push(StrictSchemaError::Unsupported {
            path: pointer(path),
            type_name: type_name.map(str::to_string),
            keyword: keyword.to_string(),
            reason: reason.into(),
        });
    }

    /// Check every sub-schema, depth first, in schema order.
    fn check_all(&mut self) {
        let root = self.root;
        if let Value::Object(map) = root {
            if map.contains_key("anyOf") {
                self.unsupported(
                    &[],
                    None,
                    "anyOf",
                    "the root schema must be an object, not `anyOf`",
                );
            } else if map.get("type").and_then(Value::as_str) != Some("object") {
                self.unsupported(
                    &[],
                    None,
                    "type",
                    "the root schema must have `type: \"object\"` (wrap the value in a struct)",
                );
            }
        }
        let mut stack = vec![Visit {
            node: root,
            path: Vec::new(),
            type_name: None,
            depth: 0,
            nesting: 0,
        }];
        while let Some(visit) = stack.pop() {
            let children = self.check(&visit);
            // Reversed, so that children are checked in schema order.
            stack.extend(children.into_iter().rev());
        }
    }

    /// Check one sub-schema; returns the sub-schemas it holds.
    fn check(&mut self, visit: &Visit<'a>) -> Vec<Visit<'a>> {
        let Visit {
            node,
            ref path,
            type_name,
            depth,
            nesting,
        } = *visit;
        let mut children = Vec::new();
        if depth > MAX_SCHEMA_DEPTH {
            self.issues.push(StrictSchemaError::TooDeep {
                path: pointer(path),
                limit: MAX_SCHEMA_DEPTH,
            });
            return children;
        }
        let map = match node {
            Value::Object(map) => map,
            Value::Bool(b) => {
                self.unsupported(
                    path,
                    type_name,
                    if *b { "true" } else { "false" },
                    if *b {
                        "`true` accepts any JSON value (it is what `serde_json::Value` produces); strict mode needs a concrete schema"
                    } else {
                        "`false` accepts nothing; strict mode needs a concrete schema"
                    },
                );
                return children;
            }
            other => {
                self.issues.push(StrictSchemaError::NotAnObject {
                    path: pointer(path),
                    found: describe(other),
                });
                return children;
            }
        };
        let mut child =
            |segments: &[&str], node: &'a Value, type_name: Option<&'a str>, nesting: usize| {
                let mut child_path = path.clone();
                child_path.extend(segments.iter().map(|s| s.to_string()));
                children.push(Visit {
                    node,
                    path: child_path,
                    type_name,
                    depth: depth + 1,
                    nesting,
                });
            };

        let types = schema_types(map);
        let is_object = types.contains(&"object") || map.contains_key("properties");
        let nesting = if is_object { nesting + 1 } else { nesting };
        if is_object && nesting == MAX_OBJECT_NESTING + 1 {
            self.unsupported(
                path,
                type_name,
                "properties",
                format!("objects are nested more than {MAX_OBJECT_NESTING} levels deep"),
            );
        }
        if is_object {
            self.check_object(map, path, type_name);
        }

        for (key, value) in map {
            match key.as_str() {
                "type" => {
                    let valid = match value {
                        Value::String(t) => SCHEMA_TYPES.contains(&t.as_str()),
                        Value::Array(ts) => {
                            !ts.is_empty()
                                && ts
                                    .iter()
                                    .all(|t| t.as_str().is_some_and(|t| SCHEMA_TYPES.contains(&t)))
                        }
                        _ => false,
                    };
                    if !valid {
                        self.unsupported(
                            path,
                            type_name,
                            "type",
                            format!(
                                "`type: {value}` is not one of {SCHEMA_TYPES:?} or a list of them"
                            ),
                        );
                    }
                }
                "properties" => match value {
                    Value::Object(properties) => {
                        for (name, schema) in properties {
                            self.properties += 1;
                            self.string_length += name.chars().count();
                            child(&["properties", name], schema, type_name, nesting);
                        }
                    }
                    _ => self.unsupported(
                        path,
                        type_name,
                        "properties",
                        "`properties` must be an object",
                    ),
                },
                "required" | "additionalProperties" => {}
                "items" => match value {
                    Value::Array(_) => self.unsupported(
                        path,
                        type_name,
                        "items",
                        "tuples (`items` as a list) are not supported (use a struct)",
                    ),
                    _ => child(&["items"], value, type_name, nesting),
                },
                "anyOf" => match value {
                    Value::Array(variants) if !variants.is_empty() => {
                        for (i, variant) in variants.iter().enumerate() {
                            child(&["anyOf", &i.to_string()], variant, type_name, nesting);
                        }
                    }
                    _ => self.unsupported(
                        path,
                        type_name,
                        "anyOf",
                        "`anyOf` must be a non-empty list",
                    ),
                },
                "$defs" | "definitions" => match value {
                    Value::Object(defs) => {
                        for (name, schema) in defs {
                            self.string_length += name.chars().count();
                            child(&[key, name], schema, Some(name.as_str()), 0);
                        }
                    }
                    _ => {
                        self.unsupported(path, type_name, key, format!("`{key}` must be an object"))
                    }
                },
                "enum" => match value {
                    Value::Array(values) if !values.is_empty() => {
                        self.enum_values += values.len();
                        let lengths: usize = values
                            .iter()
                            .filter_map(Value::as_str)
                            .map(|s| s.chars().count())
                            .sum();
                        self.string_length += lengths;
                        if values.len() > 250 && lengths > 15_000 {
                            self.unsupported(path, type_name, "enum", "an enum of more than 250 strings may have at most 15,000 characters in all");
                        }
                    }
                    _ => {
                        self.unsupported(path, type_name, "enum", "`enum` must be a non-empty list")
                    }
                },
                "const" => {
                    if let Value::String(s) = value {
                        self.string_length += s.chars().count();
                    }
                }
                "$ref" => self.check_ref(value, path),
                "format" => match value.as_str() {
                    Some(format) if SUPPORTED_FORMATS.contains(&format) => {
                        if !types.is_empty() && !types.contains(&"string") {
                            self.unsupported(
                                path,
                                type_name,
                                "format",
                                format!(
                                    "`format` applies to strings, not to `{}`",
                                    types.join("`/`")
                                ),
                            );
                        }
                    }
                    _ => self.unsupported(
                        path,
                        type_name,
                        "format",
                        format!(
                            "format {value} is not supported; supported formats: {}",
                            SUPPORTED_FORMATS.join(", ")
                        ),
                    ),
                },
                "pattern" => {
                    if !value.is_string() {
                        self.unsupported(path, type_name, "pattern", "`pattern` must be a string");
                    }
                }
                "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" | "multipleOf"
                | "minItems" | "maxItems" => {
                    if !value.is_number() {
                        self.unsupported(path, type_name, key, format!("`{key}` must be a number"));
                    }
                }
                k if ALLOWED_KEYWORDS.contains(&k) => {}
                k => self.unsupported(path, type_name, k, unsupported_reason(k)),
            }
        }
        children
    }

    /// `additionalProperties: false`, and every property required.
    fn check_object(&mut self, map: &Map<String, Value>, path: &[String], type_name: Option<&str>) {
        match map.get("additionalProperties") {
            Some(Value::Bool(false)) => {}
            None => self.unsupported(path, type_name, "additionalProperties", "every object needs `additionalProperties: false` (run `to_strict_json_schema` first; it is not added where `type` is a list such as `[\"object\", \"null\"]`)"),
            Some(_) => self.unsupported(path, type_name, "additionalProperties", "maps can't be expressed: objects need fixed property names and `additionalProperties: false` (a `HashMap`/`BTreeMap` field, or `#[serde(flatten)]` of a map; use a struct, or a Vec of key/value pairs)"),
        }
        let required: HashSet<&str> = map
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(Value::Object(properties)) = map.get("properties") {
            let missing: Vec<&str> = properties
                .keys()
                .map(String::as_str)
                .filter(|k| !required.contains(k))
                .collect();
            if !missing.is_empty() {
                self.unsupported(path, type_name, "required", format!("every property must be required, but `{}` is not (strict mode has no optional properties: use `Option<T>`, which allows null)", missing.join("`, `")));
            }
        }
    }

    fn check_ref(&mut self, value: &Value, path: &[String]) {
        let (reference, result) = match value {
            Value::String(r) if r == "#" => return,
            Value::String(r) => (r.clone(), resolve_ref(self.root, r).map(|_| ())),
            other => (other.to_string(), Err("`$ref` is not a string".to_string())),
        };
        if let Err(reason) = result {
            self.issues.push(StrictSchemaError::UnresolvableRef {
                path: pointer(path),
                reference,
                reason,
            });
        }
    }
}

fn schema_types(map: &Map<String, Value>) -> Vec<&str> {
    match map.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// 3. schemars integration.
// ---------------------------------------------------------------------------------------------

/// A strict schema ready for a `json_schema` response format or a strict function tool.
#[derive(Debug, Clone, PartialEq)]
pub struct StrictSchema {
    /// A name matching `^[a-zA-Z0-9_-]{1,64}$`, derived from the Rust type name (see
    /// [`schema_name_for`]).
    pub name: String,
    /// The type's doc comment, if any (also kept as the schema's `description`).
    pub description: Option<String>,
    /// The strict JSON schema.
    pub schema: Value,
}

/// The strict schema of a Rust type, for Structured Outputs (`response_format`) and strict
/// function tools.
///
/// The schema is generated by schemars with its draft 2020-12 settings, without `$schema`,
/// sub-schemas as `$defs` references (recursive types need them), for deserialization. Then
/// these schemars-specific adjustments are made, before the reference conversion
/// ([`to_strict_json_schema`]) and the [`check_strict_compatible`] check:
///
/// - `oneOf` becomes `anyOf`: schemars uses `oneOf` for enums whose variants are mutually
///   exclusive (unit variants, externally or internally tagged variants), so the meaning is the
///   same, and strict mode only supports `anyOf`;
/// - the numeric `format`s schemars adds (`int32`, `uint64`, `double`...) are dropped: strict
///   mode only knows string formats; the range (`minimum: 0` for unsigned types) stays;
/// - `Option<T>` is kept as schemars writes it: `type: ["string", "null"]` for a scalar,
///   `anyOf: [{"$ref": ...}, {"type": "null"}]` otherwise; both are accepted by OpenAI. Only an
///   inline object that allows null (`type: ["object", "null"]`) becomes
///   `anyOf: [{"type": "object", ...}, {"type": "null"}]`, since the reference conversion adds
///   `additionalProperties: false` only where `type` is exactly `"object"`;
/// - a `$ref` to a recursive type with sibling keywords (a doc comment on a field of the
///   type's own type) becomes `anyOf: [{"$ref": ...}]` with the siblings beside it: inlining it,
///   as the reference does for any `$ref` with siblings, would never end.
///
/// Errors name the JSON-pointer path, and the type when the problem is in one of its
/// definitions: a `HashMap` field gives [`StrictSchemaError::Unsupported`] for
/// `additionalProperties` at the field's path, a `serde_json::Value` field gives
/// [`StrictSchemaError::NotAnObject`] (`true`) at the field's path.
///
/// ```
/// use openai_sdk::parsing::strict_schema_for;
///
/// /// A city's weather.
/// #[derive(schemars::JsonSchema)]
/// struct Weather {
///     city: String,
///     /// Degrees Celsius.
///     temperature: f64,
///     units: Option<String>,
/// }
///
/// let strict = strict_schema_for::<Weather>().unwrap();
/// assert_eq!(strict.name, "Weather");
/// assert_eq!(strict.description.as_deref(), Some("A city's weather."));
/// assert_eq!(strict.schema["required"], serde_json::json!(["city", "temperature", "units"]));
/// assert_eq!(strict.schema["additionalProperties"], false);
/// assert_eq!(strict.schema["properties"]["temperature"], serde_json::json!({"type": "number", "description": "Degrees Celsius."}));
/// ```
pub fn strict_schema_for<T: schemars::JsonSchema>() -> Result<StrictSchema, StrictSchemaError> {
    let settings = schemars::generate::SchemaSettings::draft2020_12().with(|s| {
        s.meta_schema = None;
        s.inline_subschemas = false;
    });
    let schema = settings
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    let schema =
        to_strict_json_schema(adjust_schemars_output(schema)?).map_err(explain_boolean_schema)?;
    check_strict_compatible(&schema)?;
    let description = schema
        .get("description")
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(StrictSchema {
        name: schema_name_for::<T>(),
        description,
        schema,
    })
}

/// The reference conversion reports a `true`/`false` sub-schema as [`StrictSchemaError::NotAnObject`]
/// (its `TypeError`); for a Rust type, say what it means.
fn explain_boolean_schema(error: StrictSchemaError) -> StrictSchemaError {
    match error {
        StrictSchemaError::NotAnObject { path, found } if found == "true" || found == "false" => {
            let mut issues = strict_compatibility_issues(&if found == "true" {
                Value::Bool(true)
            } else {
                Value::Bool(false)
            });
            let reason = match issues.pop() {
                Some(StrictSchemaError::Unsupported { reason, .. }) => reason,
                _ => String::new(),
            };
            StrictSchemaError::Unsupported {
                type_name: type_name_in_path(&path),
                path,
                keyword: found,
                reason,
            }
        }
        other => other,
    }
}

/// `Name` for a path under `/$defs/Name` (or `/definitions/Name`).
fn type_name_in_path(path: &str) -> Option<String> {
    let mut segments = path.split('/').skip(1);
    let mut name = None;
    while let Some(segment) = segments.next() {
        if segment == "$defs" || segment == "definitions" {
            name = segments.next().map(unescape_token);
        }
    }
    name
}

/// The response-format / tool name for a type: its Rust name (`std::any::type_name`) without
/// module paths, every run of characters outside `[a-zA-Z0-9_-]` replaced by one `_`, cut to 64
/// characters. `my_app::Wrapper<my_app::Foo>` gives `Wrapper_Foo_`,
/// `HashMap<String, Vec<u8>>` gives `HashMap_String_Vec_u8_`.
///
/// ```
/// use openai_sdk::parsing::schema_name_for;
///
/// struct Wrapper<T>(T);
/// struct Foo;
/// assert_eq!(schema_name_for::<Wrapper<Foo>>(), "Wrapper_Foo_");
/// assert_eq!(schema_name_for::<Option<Vec<u8>>>(), "Option_Vec_u8_");
/// ```
pub fn schema_name_for<T: ?Sized>() -> String {
    sanitize_name(&strip_module_paths(std::any::type_name::<T>()))
}

/// `a::b::C<d::E>` → `C<E>`.
fn strip_module_paths(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("::") {
            // Drop the path segment just written.
            while out
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
            {
                out.pop();
            }
            rest = after;
        } else {
            let mut chars = rest.chars();
            if let Some(c) = chars.next() {
                out.push(c);
            }
            rest = chars.as_str();
        }
    }
    out
}

fn sanitize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('_');
            in_run = true;
        }
    }
    out.truncate(64);
    if out.is_empty() {
        out.push_str("schema");
    }
    out
}

const SCHEMARS_NUMBER_FORMATS: &[&str] = &[
    "int", "uint", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
    "int128", "uint128", "float", "double",
];

/// The schemars-specific adjustments documented on [`strict_schema_for`].
fn adjust_schemars_output(mut schema: Value) -> Result<Value, StrictSchemaError> {
    let recursive = recursive_definitions(&schema);
    // Depth first over the paths of every object and array (an explicit stack, no recursion).
    let mut stack: Vec<Vec<String>> = vec![Vec::new()];
    while let Some(path) = stack.pop() {
        if path.len() > MAX_SCHEMA_DEPTH {
            return Err(StrictSchemaError::TooDeep {
                path: pointer(&path),
                limit: MAX_SCHEMA_DEPTH,
            });
        }
        let Some(node) = get_path_mut(&mut schema, &path) else {
            continue;
        };
        let children: Vec<String> = match node {
            Value::Array(items) => (0..items.len()).map(|i| i.to_string()).collect(),
            Value::Object(map) => {
                adjust_object(map, &recursive);
                map.keys()
                    .filter(|k| !matches!(k.as_str(), "const" | "enum" | "default" | "examples"))
                    .cloned()
                    .collect()
            }
            _ => Vec::new(),
        };
        for key in children.into_iter().rev() {
            let mut child = path.clone();
            child.push(key);
            stack.push(child);
        }
    }
    Ok(schema)
}

fn adjust_object(map: &mut Map<String, Value>, recursive: &HashSet<String>) {
    if !map.contains_key("anyOf")
        && let Some(one_of) = map.shift_remove("oneOf")
    {
        map.insert("anyOf".into(), one_of);
    }

    let types: Vec<String> = schema_types(map).into_iter().map(str::to_string).collect();
    if types.iter().any(|t| t == "integer" || t == "number")
        && map
            .get("format")
            .and_then(Value::as_str)
            .is_some_and(|f| SCHEMARS_NUMBER_FORMATS.contains(&f))
    {
        map.shift_remove("format");
    }

    if types.len() == 2 && types.iter().any(|t| t == "object") && types.iter().any(|t| t == "null")
    {
        let mut object = std::mem::take(map);
        object.insert("type".into(), Value::String("object".into()));
        // Annotations stay on the wrapper.
        for key in ["title", "description"] {
            if let Some(value) = object.shift_remove(key) {
                map.insert(key.into(), value);
            }
        }
        map.insert(
            "anyOf".into(),
            Value::Array(vec![
                Value::Object(object),
                serde_json::json!({"type": "null"}),
            ]),
        );
    }

    if let Some(Value::String(reference)) = map.get("$ref")
        && map.len() > 1
        && (reference == "#" || recursive.contains(reference))
    {
        let reference = reference.clone();
        map.shift_remove("$ref");
        map.insert(
            "anyOf".into(),
            Value::Array(vec![serde_json::json!({ "$ref": reference })]),
        );
    }
}

/// The `$ref` strings (`#/$defs/Name`) of definitions that reach themselves through `$ref`s
/// with sibling keywords: the reference conversion inlines those, so it would never end.
fn recursive_definitions(schema: &Value) -> HashSet<String> {
    let mut graph: HashMap<String, Vec<String>> = HashMap::new();
    for defs_key in ["$defs", "definitions"] {
        if let Some(Value::Object(defs)) = schema.get(defs_key) {
            for (name, def) in defs {
                let mut refs = Vec::new();
                collect_refs(def, &mut refs);
                graph.insert(format!("#/{defs_key}/{}", escape_token(name)), refs);
            }
        }
    }
    let mut recursive = HashSet::new();
    for start in graph.keys() {
        // Depth-first search for a path back to `start`.
        let mut seen: HashSet<&str> = HashSet::new();
        let mut stack: Vec<&str> = graph
            .get(start)
            .map(|r| r.iter().map(String::as_str).collect())
            .unwrap_or_default();
        while let Some(next) = stack.pop() {
            if next == start {
                recursive.insert(start.clone());
                break;
            }
            if seen.insert(next)
                && let Some(refs) = graph.get(next)
            {
                stack.extend(refs.iter().map(String::as_str));
            }
        }
    }
    recursive
}

/// The `$ref`s with sibling keywords in `node`.
fn collect_refs(node: &Value, out: &mut Vec<String>) {
    let mut stack = vec![node];
    while let Some(node) = stack.pop() {
        match node {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref")
                    && map.len() > 1
                {
                    out.push(r.clone());
                }
                stack.extend(map.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn module_paths_are_stripped() {
        assert_eq!(
            strip_module_paths("a::b::C<d::E, f::G<h::I>>"),
            "C<E, G<I>>"
        );
        assert_eq!(
            strip_module_paths("(alloc::string::String, u8)"),
            "(String, u8)"
        );
        assert_eq!(sanitize_name("C<E, G<I>>"), "C_E_G_I_");
        assert_eq!(sanitize_name(&"x".repeat(100)).len(), 64);
        assert_eq!(sanitize_name("<>"), "_");
        assert_eq!(sanitize_name(""), "schema");
    }

    #[test]
    fn truthiness_follows_python() {
        for falsy in [
            json!(null),
            json!(false),
            json!(0),
            json!(0.0),
            json!(""),
            json!([]),
            json!({}),
        ] {
            assert!(!crate::parsing::is_truthy(&falsy), "{falsy}");
        }
        for t in [
            json!(true),
            json!(1),
            json!("#"),
            json!([1]),
            json!({"a": 1}),
        ] {
            assert!(crate::parsing::is_truthy(&t), "{t}");
        }
    }

    #[test]
    fn recursive_definitions_are_found() {
        let schema = json!({
            "$defs": {
                "A": {"properties": {"b": {"$ref": "#/$defs/B", "description": "to B"}}},
                "B": {"items": {"$ref": "#/$defs/A", "title": "to A"}},
                "C": {"properties": {"a": {"$ref": "#/$defs/A", "description": "to A"}}},
                "D": {"type": "string"},
                "E": {"properties": {"e": {"$ref": "#/$defs/E"}}},
            }
        });
        let found = recursive_definitions(&schema);
        let mut found: Vec<_> = found.into_iter().collect();
        found.sort();
        assert_eq!(found, vec!["#/$defs/A", "#/$defs/B"]);
    }
}
