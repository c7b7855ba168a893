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
