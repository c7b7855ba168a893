//! Repairs of spec errors that a published revision contained, each a general rule that
//! reads the document the way its authors evidently meant, and each reported with the JSON
//! pointer of every place it changed (printed by `cargo xtask gen` under "spec errors
//! repaired"). They run first in [`crate::normalize::normalize`], so the API diff sees the
//! repaired document too. None fires on today's spec; the history (docs/regeneration.md)
//! shows where each one was needed.
//!
//! - 22: a `type` that is a format name (`float`, `double`, `int32`, `int64`, ...) becomes
//!   the JSON Schema type that format belongs to, the format kept (`type: float` →
//!   `type: number, format: float`). typify stops on unknown type names.
//! - 23: an annotation (`description`, `title`, `summary`) that is not a string: a `$ref` to
//!   a string in the document is replaced by that string (the author meant "the same text
//!   as there"), a number or boolean by its text, a list or mapping is removed.
//! - 24: a parameter with no schema (`schema: null`, as when the YAML indentation of its
//!   keywords slipped): the schema keywords written beside it (`type`, `format`, `enum`,
//!   `items`, ..., the Swagger 2 way) become its schema; with none, a string (what a path,
//!   query or header value is on the wire).
//! - 25: `null` where a schema is expected (a property, `items`, a member of `allOf`...)
//!   becomes `{}`, any JSON value, so whatever the server sends is kept.

use serde_json::{Map, Value};

use crate::normalize::Counts;

/// What the repairs changed: one line per place, `#/pointer: what was done`.
pub type Repairs = Vec<String>;

const RULE_TYPE: &str = "22 format name used as a type -> its JSON type + format";
const RULE_ANNOTATION: &str = "23 annotation that is not a string -> text or removed";
const RULE_PARAM_SCHEMA: &str = "24 parameter without a schema -> schema from its keywords";
const RULE_NULL_SCHEMA: &str = "25 null where a schema is expected -> any JSON";

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Keywords of a schema that a parameter may carry beside itself instead of inside
/// `schema` (Swagger 2's parameter style, or a slipped indentation).
const SCHEMA_KEYWORDS: [&str; 17] = [
    "type",
    "format",
    "items",
    "enum",
    "default",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
    "multipleOf",
    "nullable",
];

/// An annotation to resolve after the walk: where it is, and the `$ref` it holds.
struct PendingRef {
    parent: String,
    key: String,
    target: String,
}

struct Walk<'a> {
    counts: &'a mut Counts,
    repairs: Repairs,
    pending: Vec<PendingRef>,
}

/// Escapes one JSON-pointer token.
fn esc(token: &str) -> String {
    crate::validate::escape(token)
}

/// Applies rules 22-25 to the whole document (paths, webhooks and components).
pub fn repair(doc: &mut Value, counts: &mut Counts) -> Repairs {
    let mut w = Walk {
        counts,
        repairs: Vec::new(),
        pending: Vec::new(),
    };
    for section in ["paths", "webhooks"] {
        if let Some(Value::Object(items)) = doc.get_mut(section) {
            for (path, item) in items.iter_mut() {
                w.path_item(item, &format!("/{section}/{}", esc(path)));
            }
        }
    }
    if let Some(Value::Object(c)) = doc.get_mut("components") {
        let each = |c: &mut Map<String, Value>, key: &str, f: &mut dyn FnMut(&mut Value, &str)| {
            if let Some(Value::Object(m)) = c.get_mut(key) {
                for (name, v) in m.iter_mut() {
                    f(v, &format!("/components/{key}/{}", esc(name)));
                }
            }
        };
        each(c, "schemas", &mut |v, p| w.schema(v, p));
        each(c, "parameters", &mut |v, p| w.parameter(v, p));
        each(c, "headers", &mut |v, p| w.parameter(v, p));
        each(c, "responses", &mut |v, p| w.response(v, p));
        each(c, "requestBodies", &mut |v, p| w.response(v, p));
    }
    // Rule 23's `$ref`s, resolved now that the walk no longer holds the document.
    for p in std::mem::take(&mut w.pending) {
        let text = p
            .target
            .strip_prefix('#')
            .and_then(|t| doc.pointer(t))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let Some(Value::Object(parent)) = doc.pointer_mut(&p.parent) else {
            continue;
        };
        let at = format!("#{}/{}", p.parent, esc(&p.key));
        match text {
            Some(t) => {
                parent.insert(p.key, Value::String(t));
                w.repairs.push(format!(
                    "{at}: a $ref ({}) instead of text -> the text it points to",
                    p.target
                ));
            }
            None => {
                parent.remove(&p.key);
                w.repairs.push(format!(
                    "{at}: a $ref ({}) to no text instead of text -> removed",
                    p.target
                ));
            }
        }
        *w.counts.entry(RULE_ANNOTATION).or_default() += 1;
    }
    w.repairs
}

impl Walk<'_> {
    fn fired(&mut self, rule: &'static str, line: String) {
        *self.counts.entry(rule).or_default() += 1;
        self.repairs.push(line);
    }

    fn path_item(&mut self, item: &mut Value, ptr: &str) {
        let Some(obj) = item.as_object_mut() else {
            return;
        };
        self.annotations(obj, ptr, &["summary", "description"]);
        if let Some(Value::Array(ps)) = obj.get_mut("parameters") {
            for (i, p) in ps.iter_mut().enumerate() {
                self.parameter(p, &format!("{ptr}/parameters/{i}"));
            }
        }
        for m in METHODS {
            if let Some(Value::Object(op)) = obj.get_mut(m) {
                self.operation(op, &format!("{ptr}/{m}"));
            }
        }
    }

    fn operation(&mut self, op: &mut Map<String, Value>, ptr: &str) {
        self.annotations(op, ptr, &["summary", "description"]);
        if let Some(Value::Array(ps)) = op.get_mut("parameters") {
            for (i, p) in ps.iter_mut().enumerate() {
                self.parameter(p, &format!("{ptr}/parameters/{i}"));
            }
        }
        if let Some(body) = op.get_mut("requestBody") {
            self.response(body, &format!("{ptr}/requestBody"));
        }
        if let Some(Value::Object(rs)) = op.get_mut("responses") {
            for (code, r) in rs.iter_mut() {
                self.response(r, &format!("{ptr}/responses/{}", esc(code)));
            }
        }
    }

    /// A response or a request body: its description and its media types' schemas.
    fn response(&mut self, r: &mut Value, ptr: &str) {
        let Some(obj) = r.as_object_mut() else {
            return;
        };
        if obj.contains_key("$ref") {
            return;
        }
        self.annotations(obj, ptr, &["description"]);
        self.content(obj, ptr);
        if let Some(Value::Object(hs)) = obj.get_mut("headers") {
            for (name, h) in hs.iter_mut() {
                self.parameter(h, &format!("{ptr}/headers/{}", esc(name)));
            }
        }
    }

    fn content(&mut self, obj: &mut Map<String, Value>, ptr: &str) {
        if let Some(Value::Object(content)) = obj.get_mut("content") {
            for (media, m) in content.iter_mut() {
                if let Some(s) = m.get_mut("schema") {
                    self.schema(s, &format!("{ptr}/content/{}/schema", esc(media)));
                }
            }
        }
    }

    /// A parameter or a header (rule 24, then its schema).
    fn parameter(&mut self, p: &mut Value, ptr: &str) {
        let Some(obj) = p.as_object_mut() else {
            return;
        };
        if obj.contains_key("$ref") {
            return;
        }
        self.annotations(obj, ptr, &["description"]);
        let has_schema = obj.get("schema").is_some_and(|s| !s.is_null());
        if !has_schema && !obj.contains_key("content") {
            let mut schema = Map::new();
            for k in SCHEMA_KEYWORDS {
                if let Some(v) = obj.remove(k) {
                    schema.insert(k.to_owned(), v);
                }
            }
            let what = if schema.is_empty() {
                schema.insert("type".into(), Value::String("string".into()));
                "no schema and no schema keywords -> a string".to_owned()
            } else {
                let keys: Vec<&str> = schema.keys().map(String::as_str).collect();
                format!(
                    "no schema; the keywords beside it ({}) -> its schema",
                    keys.join(", ")
                )
            };
            obj.insert("schema".into(), Value::Object(schema));
            self.fired(RULE_PARAM_SCHEMA, format!("#{ptr}: {what}"));
        }
        if let Some(s) = obj.get_mut("schema") {
            self.schema(s, &format!("{ptr}/schema"));
        }
        self.content(obj, ptr);
    }

    /// Rule 23 on the annotation keys of one object.
    fn annotations(&mut self, obj: &mut Map<String, Value>, ptr: &str, keys: &[&str]) {
        for &key in keys {
            let text = match obj.get(key) {
                // A null annotation is an absent one to every reader.
                None | Some(Value::String(_) | Value::Null) => continue,
                Some(Value::Object(m)) => {
                    if let Some(Value::String(target)) = m.get("$ref") {
                        self.pending.push(PendingRef {
                            parent: ptr.to_owned(),
                            key: key.to_owned(),
                            target: target.clone(),
                        });
                        continue;
                    }
                    None
                }
                Some(Value::Number(n)) => Some(n.to_string()),
                Some(Value::Bool(b)) => Some(b.to_string()),
                Some(Value::Array(_)) => None,
            };
            let at = format!("#{ptr}/{}", esc(key));
            match text {
                Some(t) => {
                    obj.insert(key.to_owned(), Value::String(t));
                    self.fired(RULE_ANNOTATION, format!("{at}: not text -> its text"));
                }
                None => {
                    obj.remove(key);
                    self.fired(RULE_ANNOTATION, format!("{at}: not text -> removed"));
                }
            }
        }
    }

    /// One schema: rules 25, 22 and 23, then its sub-schemas.
    fn schema(&mut self, v: &mut Value, ptr: &str) {
        if v.is_null() {
            *v = Value::Object(Map::new());
            self.fired(
                RULE_NULL_SCHEMA,
                format!("#{ptr}: null instead of a schema -> any JSON"),
            );
            return;
        }
        let Some(obj) = v.as_object_mut() else {
            return;
        };
        if let Some(Value::String(t)) = obj.get("type") {
            if let Some((json_type, format)) = format_type(t) {
                let was = t.clone();
                obj.insert("type".into(), Value::String(json_type.into()));
                let kept = match (obj.get("format"), format) {
                    (None, Some(f)) => {
                        obj.insert("format".into(), Value::String(f.into()));
                        format!(", format: {f}")
                    }
                    _ => String::new(),
                };
                self.fired(
                    RULE_TYPE,
                    format!("#{ptr}/type: `{was}` is not a JSON type -> type: {json_type}{kept}"),
                );
            }
        }
        self.annotations(obj, ptr, &["description", "title"]);
        for key in ["properties", "patternProperties", "$defs", "definitions"] {
            if let Some(Value::Object(m)) = obj.get_mut(key) {
                for (name, s) in m.iter_mut() {
                    self.schema(s, &format!("{ptr}/{key}/{}", esc(name)));
                }
            }
        }
        for key in [
            "items",
            "additionalProperties",
            "not",
            "contains",
            "if",
            "then",
            "else",
        ] {
            match obj.get_mut(key) {
                Some(Value::Array(a)) => {
                    for (i, s) in a.iter_mut().enumerate() {
                        self.schema(s, &format!("{ptr}/{key}/{i}"));
                    }
                }
                // `additionalProperties: true/false` is not a schema to repair; a null one is.
                Some(s @ (Value::Object(_) | Value::Null)) => {
                    self.schema(s, &format!("{ptr}/{key}"))
                }
                _ => {}
            }
        }
        for key in ["allOf", "anyOf", "oneOf", "prefixItems"] {
            if let Some(Value::Array(a)) = obj.get_mut(key) {
                for (i, s) in a.iter_mut().enumerate() {
                    self.schema(s, &format!("{ptr}/{key}/{i}"));
                }
            }
        }
    }
}

/// Rule 22: the JSON type (and format) a format name used as a `type` stands for.
fn format_type(t: &str) -> Option<(&'static str, Option<&'static str>)> {
    Some(match t {
        "float" => ("number", Some("float")),
        "double" => ("number", Some("double")),
        "int32" => ("integer", Some("int32")),
        "int64" | "long" => ("integer", Some("int64")),
        "int" => ("integer", None),
        "bool" => ("boolean", None),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(doc: &mut Value) -> (Counts, Repairs) {
        let mut counts = Counts::new();
        let r = repair(doc, &mut counts);
        (counts, r)
    }

    #[test]
    fn format_names_used_as_types_become_json_types() {
        // As published in 2024-10 (`type: float`) and 2025-03 (`type: int64`).
        let mut doc = json!({"paths": {}, "components": {"schemas": {
            "Verbose": {"type": "object", "properties": {
                "duration": {"type": "float"},
                "seed": {"type": "int64", "nullable": true},
                "n": {"type": "int32", "format": "int32"},
                "ok": {"type": "string"},
            }},
        }}});
        let (counts, repairs) = run(&mut doc);
        let props = &doc["components"]["schemas"]["Verbose"]["properties"];
        assert_eq!(
            props["duration"],
            json!({"type": "number", "format": "float"})
        );
        assert_eq!(
            props["seed"],
            json!({"type": "integer", "format": "int64", "nullable": true})
        );
        assert_eq!(props["n"], json!({"type": "integer", "format": "int32"}));
        assert_eq!(props["ok"], json!({"type": "string"}));
        assert_eq!(counts[RULE_TYPE], 3);
        assert_eq!(
            repairs[0],
            "#/components/schemas/Verbose/properties/duration/type: `float` is not a JSON type \
             -> type: number, format: float"
        );
    }

    #[test]
    fn examples_and_property_names_are_not_schemas() {
        // `type: float` in an example and a property *named* `description` stay.
        let mut doc = json!({"paths": {}, "components": {"schemas": {
            "A": {"type": "object", "example": {"type": "float"}, "properties": {
                "description": {"type": "string"},
            }},
        }}});
        let before = doc.clone();
        let (counts, repairs) = run(&mut doc);
        assert_eq!(doc, before);
        assert!(counts.is_empty() && repairs.is_empty());
    }

    #[test]
    fn a_description_that_is_a_ref_becomes_the_text_it_points_to() {
        // As published in 2025-03: `description: {$ref: '#/components/schemas/Includable/description'}`.
        let mut doc = json!({"paths": {}, "components": {"schemas": {
            "Includable": {"type": "string", "description": "What to include."},
            "CreateResponse": {"allOf": [{"type": "object", "properties": {
                "include": {"type": "array", "description": {"$ref": "#/components/schemas/Includable/description"}},
                "other": {"type": "array", "description": {"$ref": "#/components/schemas/Includable"}},
                "n": {"type": "integer", "title": 3},
            }}]},
        }}});
        let (counts, repairs) = run(&mut doc);
        let props = &doc["components"]["schemas"]["CreateResponse"]["allOf"][0]["properties"];
        assert_eq!(props["include"]["description"], json!("What to include."));
        assert!(props["other"].get("description").is_none());
        assert_eq!(props["n"]["title"], json!("3"));
        assert_eq!(counts[RULE_ANNOTATION], 3);
        assert!(repairs.iter().any(|r| r.starts_with(
            "#/components/schemas/CreateResponse/allOf/0/properties/include/description: a $ref"
        )));
        assert!(repairs
            .iter()
            .any(|r| r.contains("to no text") && r.contains("/other/")));
    }

    #[test]
    fn a_parameter_without_schema_takes_the_keywords_beside_it() {
        // As published in 2024-08: `schema:` left empty, `type: string` one level too far out.
        let mut doc = json!({"paths": {"/p/{id}/keys": {"get": {"parameters": [
            {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
            {"name": "after", "in": "query", "schema": null, "type": "string"},
            {"name": "limit", "in": "query"},
            {"$ref": "#/components/parameters/X"},
        ], "responses": {}}}}});
        let (counts, repairs) = run(&mut doc);
        let ps = &doc["paths"]["/p/{id}/keys"]["get"]["parameters"];
        assert_eq!(
            ps[1],
            json!({"name": "after", "in": "query", "schema": {"type": "string"}})
        );
        assert_eq!(
            ps[2],
            json!({"name": "limit", "in": "query", "schema": {"type": "string"}})
        );
        assert_eq!(ps[3], json!({"$ref": "#/components/parameters/X"}));
        assert_eq!(counts[RULE_PARAM_SCHEMA], 2);
        assert_eq!(
            repairs[0],
            "#/paths/~1p~1{id}~1keys/get/parameters/1: no schema; the keywords beside it (type) \
             -> its schema"
        );
    }

    #[test]
    fn null_schemas_become_any_json() {
        let mut doc = json!({"paths": {"/a": {"post": {
            "requestBody": {"content": {"application/json": {"schema": null}}},
            "responses": {"200": {"description": "ok", "content": {"application/json": {
                "schema": {"type": "object", "properties": {"x": null}, "additionalProperties": false}
            }}}},
        }}}});
        let (counts, repairs) = run(&mut doc);
        let op = &doc["paths"]["/a"]["post"];
        assert_eq!(
            op["requestBody"]["content"]["application/json"]["schema"],
            json!({})
        );
        let answer = &op["responses"]["200"]["content"]["application/json"]["schema"];
        assert_eq!(answer["properties"]["x"], json!({}));
        assert_eq!(answer["additionalProperties"], json!(false));
        assert_eq!(counts[RULE_NULL_SCHEMA], 2);
        assert_eq!(repairs.len(), 2);
    }
}
