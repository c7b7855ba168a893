//! When progenitor fails on the whole spec, find where: the schema (down to the property)
//! or the operation whose generation fails, so `cargo xtask gen` can say what and where
//! instead of showing a panic from deep inside the generator.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

/// Runs progenitor on `doc`; `Err` holds its message (a panic included).
pub fn try_generate(doc: &Value) -> Result<(), String> {
    let spec: openapiv3::OpenAPI =
        serde_json::from_value(doc.clone()).map_err(|e| format!("not valid OpenAPI 3.0: {e}"))?;
    let mut settings = progenitor_impl::GenerationSettings::new();
    settings
        .with_interface(progenitor_impl::InterfaceStyle::Positional)
        .with_tag(progenitor_impl::TagStyle::Merged)
        .with_replacement(
            "FileUpload",
            "crate::multipart::FilePart",
            std::iter::empty(),
        );
    let mut generator = progenitor_impl::Generator::new(&settings);
    match crate::guard_panics(|| generator.generate_tokens(&spec)) {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// A description of where generation fails: a JSON pointer into the normalised spec and
/// the generator's message.
pub fn locate(doc: &Value) -> String {
    let mut no_paths = doc.clone();
    if let Some(p) = no_paths.get_mut("paths") {
        *p = json!({});
    }
    match try_generate(&no_paths) {
        Err(msg) => locate_schema(doc, &msg),
        Ok(()) => locate_operation(doc),
    }
}

fn schemas(doc: &Value) -> Map<String, Value> {
    doc.pointer("/components/schemas")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// Names of the component schemas `v` refers to, directly or not, `name` included.
fn closure(name: &str, all: &Map<String, Value>) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![name.to_owned()];
    while let Some(n) = stack.pop() {
        if !seen.insert(n.clone()) {
            continue;
        }
        if let Some(s) = all.get(&n) {
            refs(s, &mut stack);
        }
    }
    seen
}

fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                if let Some(n) = r.strip_prefix("#/components/schemas/") {
                    out.push(n.to_owned());
                }
            }
            for x in m.values() {
                refs(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

fn with_schemas(doc: &Value, keep: &BTreeSet<String>, all: &Map<String, Value>) -> Value {
    let mut d = doc.clone();
    if let Some(p) = d.get_mut("paths") {
        *p = json!({});
    }
    let subset: Map<String, Value> = all
        .iter()
        .filter(|(k, _)| keep.contains(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some(s) = d.pointer_mut("/components/schemas") {
        *s = Value::Object(subset);
    }
    d
}

/// The failing schema with the smallest closure, then the sub-schema inside it.
fn locate_schema(doc: &Value, whole_msg: &str) -> String {
    let all = schemas(doc);
    let mut by_size: Vec<(usize, String, BTreeSet<String>)> = all
        .keys()
        .map(|k| {
            let c = closure(k, &all);
            (c.len(), k.clone(), c)
        })
        .collect();
    by_size.sort();
    for (_, name, keep) in by_size {
        let d = with_schemas(doc, &keep, &all);
        if let Err(msg) = try_generate(&d) {
            let pointer = narrow(&d, &format!("/components/schemas/{name}"));
            return format!("#{pointer}: {msg}");
        }
    }
    format!("the component schemas together (no single one fails alone): {whole_msg}")
}

/// Within the failing schema at `pointer`, the deepest sub-schema whose replacement by `{}`
/// makes generation pass.
fn narrow(doc: &Value, pointer: &str) -> String {
    let Some(schema) = doc.pointer(pointer) else {
        return pointer.to_owned();
    };
    let mut children: Vec<String> = Vec::new();
    if let Some(Value::Object(props)) = schema.get("properties") {
        for k in props.keys() {
            children.push(format!(
                "{pointer}/properties/{}",
                k.replace('~', "~0").replace('/', "~1")
            ));
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if schema.get(key).is_some_and(Value::is_object) {
            children.push(format!("{pointer}/{key}"));
        }
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(Value::Array(a)) = schema.get(key) {
            for i in 0..a.len() {
                children.push(format!("{pointer}/{key}/{i}"));
            }
        }
    }
    for child in children {
        let mut d = doc.clone();
        if let Some(slot) = d.pointer_mut(&child) {
            *slot = json!({});
        }
        if try_generate(&d).is_ok() {
            return narrow(doc, &child);
        }
    }
    pointer.to_owned()
}

/// Bisects over path items to find one whose operation fails.
fn locate_operation(doc: &Value) -> String {
    let paths: BTreeMap<String, Value> = doc
        .get("paths")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let mut candidates: Vec<String> = paths.keys().cloned().collect();
    let run = |keys: &[String]| {
        let mut d = doc.clone();
        let subset: Map<String, Value> = keys
            .iter()
            .filter_map(|k| paths.get(k).map(|v| (k.clone(), v.clone())))
            .collect();
        if let Some(p) = d.get_mut("paths") {
            *p = Value::Object(subset);
        }
        try_generate(&d)
    };
    if run(&candidates).is_ok() {
        return "the operations together (none fails alone)".into();
    }
    while candidates.len() > 1 {
        let half = candidates.len() / 2;
        let (a, b) = candidates.split_at(half);
        candidates = if run(a).is_err() {
            a.to_vec()
        } else if run(b).is_err() {
            b.to_vec()
        } else {
            return format!(
                "operations of {} paths together (no half fails alone)",
                candidates.len()
            );
        };
    }
    let path = candidates.pop().unwrap_or_default();
    let msg = run(std::slice::from_ref(&path)).err().unwrap_or_default();
    format!(
        "#/paths/{}: {msg}",
        path.replace('~', "~0").replace('/', "~1")
    )
}

/// The OpenAPI objects [`locate_invalid`] knows the shape of.
#[derive(Clone, Copy, Debug)]
enum Kind {
    PathItem,
    Operation,
    Parameter,
    Header,
    RequestBody,
    Response,
    MediaType,
    Schema,
}

impl Kind {
    /// Why `v` does not read as this object (serde's path inside `v`, message), if it does not.
    fn error(self, v: &Value) -> Option<(String, String)> {
        use openapiv3::{
            Header, MediaType, Operation, Parameter, PathItem, ReferenceOr, RequestBody, Response,
            Schema,
        };
        fn check<T: serde::de::DeserializeOwned>(v: &Value) -> Option<(String, String)> {
            serde_path_to_error::deserialize::<_, T>(v)
                .err()
                .map(|e| (crate::json_pointer(e.path()), e.inner().to_string()))
        }
        match self {
            Kind::PathItem => check::<ReferenceOr<PathItem>>(v),
            Kind::Operation => check::<Operation>(v),
            Kind::Parameter => check::<ReferenceOr<Parameter>>(v),
            Kind::Header => check::<ReferenceOr<Header>>(v),
            Kind::RequestBody => check::<ReferenceOr<RequestBody>>(v),
            Kind::Response => check::<ReferenceOr<Response>>(v),
            Kind::MediaType => check::<MediaType>(v),
            Kind::Schema => check::<ReferenceOr<Schema>>(v),
        }
    }

    /// The typed objects directly inside `v`, with their pointers.
    fn children<'a>(self, v: &'a Value, ptr: &str) -> Vec<(Kind, String, &'a Value)> {
        let esc = crate::validate::escape;
        let mut out = Vec::new();
        let Some(obj) = v.as_object() else {
            return out;
        };
        let map = |key: &str, kind: Kind, out: &mut Vec<(Kind, String, &'a Value)>| {
            if let Some(Value::Object(m)) = obj.get(key) {
                for (k, x) in m {
                    out.push((kind, format!("{ptr}/{key}/{}", esc(k)), x));
                }
            }
        };
        let list = |key: &str, kind: Kind, out: &mut Vec<(Kind, String, &'a Value)>| {
            if let Some(Value::Array(a)) = obj.get(key) {
                for (i, x) in a.iter().enumerate() {
                    out.push((kind, format!("{ptr}/{key}/{i}"), x));
                }
            }
        };
        let one = |key: &str, kind: Kind, out: &mut Vec<(Kind, String, &'a Value)>| {
            if let Some(x) = obj.get(key) {
                out.push((kind, format!("{ptr}/{key}"), x));
            }
        };
        match self {
            Kind::PathItem => {
                list("parameters", Kind::Parameter, &mut out);
                for m in [
                    "get", "put", "post", "delete", "options", "head", "patch", "trace",
                ] {
                    one(m, Kind::Operation, &mut out);
                }
            }
            Kind::Operation => {
                list("parameters", Kind::Parameter, &mut out);
                one("requestBody", Kind::RequestBody, &mut out);
                map("responses", Kind::Response, &mut out);
            }
            Kind::Parameter | Kind::Header => {
                one("schema", Kind::Schema, &mut out);
                map("content", Kind::MediaType, &mut out);
            }
            Kind::RequestBody => map("content", Kind::MediaType, &mut out),
            Kind::Response => {
                map("content", Kind::MediaType, &mut out);
                map("headers", Kind::Header, &mut out);
            }
            Kind::MediaType => one("schema", Kind::Schema, &mut out),
            Kind::Schema => {
                map("properties", Kind::Schema, &mut out);
                for key in ["items", "not"] {
                    one(key, Kind::Schema, &mut out);
                }
                if obj
                    .get("additionalProperties")
                    .is_some_and(|a| !a.is_boolean())
                {
                    one("additionalProperties", Kind::Schema, &mut out);
                }
                for key in ["allOf", "anyOf", "oneOf"] {
                    list(key, Kind::Schema, &mut out);
                }
            }
        }
        out
    }
}

/// The deepest object inside `v` (a `kind`) that does not read, and why.
fn deepest_invalid(kind: Kind, v: &Value, ptr: &str) -> Option<(String, String)> {
    let (inner, msg) = kind.error(v)?;
    for (k, p, x) in kind.children(v, ptr) {
        if let Some(found) = deepest_invalid(k, x, &p) {
            return Some(found);
        }
    }
    let msg = match v {
        Value::Null => format!("null where a {kind:?} is expected ({msg})"),
        _ => msg,
    };
    Some((format!("{ptr}{inner}"), msg))
}

/// Where the document stops being OpenAPI 3.0, down to the innermost object (serde loses
/// the path inside the untagged and flattened parts of `openapiv3`'s types): a JSON pointer
/// and the reason, or None when no path item or component alone fails.
pub fn locate_invalid(doc: &Value) -> Option<(String, String)> {
    let esc = crate::validate::escape;
    if let Some(Value::Object(paths)) = doc.get("paths") {
        for (path, item) in paths {
            if let Some(found) =
                deepest_invalid(Kind::PathItem, item, &format!("/paths/{}", esc(path)))
            {
                return Some(found);
            }
        }
    }
    for (key, kind) in [
        ("schemas", Kind::Schema),
        ("parameters", Kind::Parameter),
        ("headers", Kind::Header),
        ("requestBodies", Kind::RequestBody),
        ("responses", Kind::Response),
    ] {
        if let Some(Value::Object(m)) = doc.pointer(&format!("/components/{key}")) {
            for (name, x) in m {
                let ptr = format!("/components/{key}/{}", esc(name));
                if let Some(found) = deepest_invalid(kind, x, &ptr) {
                    return Some(found);
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_objects_are_located_below_the_untagged_parts() {
        let doc = json!({"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {
            "/a/{id}": {"get": {"operationId": "a", "parameters": [
                {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
                {"name": "after", "in": "query", "schema": null},
            ], "responses": {"200": {"description": "ok"}}}},
        }, "components": {"schemas": {
            "S": {"type": "object", "properties": {"x": {"type": "string", "description": {"a": 1}}}},
        }}});
        // serde alone says `#/paths` for the first, as `cargo xtask gen` used to report.
        let (ptr, msg) = locate_invalid(&doc).unwrap();
        assert_eq!(ptr, "/paths/~1a~1{id}/get/parameters/1/schema");
        assert!(msg.starts_with("null where a Schema is expected"), "{msg}");
        let mut doc = doc;
        doc["paths"]["/a/{id}"]["get"]["parameters"][1]["schema"] = json!({"type": "string"});
        let (ptr, msg) = locate_invalid(&doc).unwrap();
        assert_eq!(ptr, "/components/schemas/S/properties/x");
        assert!(msg.contains("expected a string"), "{msg}");
        doc["components"]["schemas"]["S"]["properties"]["x"]["description"] = json!("x");
        assert_eq!(locate_invalid(&doc), None);
        serde_json::from_value::<openapiv3::OpenAPI>(doc).unwrap();
    }
}
