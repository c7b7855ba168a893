//! Checks of the input spec that turn bad input into an error naming the file and the
//! JSON pointer, before any generator sees it: not OpenAPI 3.x, a `$ref` to nothing, and a
//! reference cycle with no object or array in between (`A` is `B` is `A`), which no Rust
//! type can express and which would make typify recurse without end.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{bail, Result};
use serde_json::Value;

/// Escapes one JSON-pointer token.
pub fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Runs every check on the raw document read from `file`.
pub fn check(doc: &Value, file: &Path) -> Result<()> {
    let f = file.display();
    let Some(root) = doc.as_object() else {
        bail!("{f}: #: the document is not a mapping (not an OpenAPI spec)");
    };
    match root.get("openapi") {
        Some(Value::String(v)) if v.starts_with("3.") => {}
        Some(v) => bail!("{f}: #/openapi: version {v} is not OpenAPI 3.x"),
        None => match root.get("swagger") {
            Some(v) => bail!("{f}: #/swagger: Swagger {v} is not OpenAPI 3.x"),
            None => bail!("{f}: #/openapi: missing; the document is not OpenAPI 3.x"),
        },
    }
    if !root.get("paths").is_some_and(Value::is_object) {
        bail!("{f}: #/paths: missing or not a mapping");
    }
    let mut dangling = Vec::new();
    refs(doc, String::new(), &mut |at, target| {
        if let Some(ptr) = target.strip_prefix('#') {
            if doc.pointer(ptr).is_none() {
                dangling.push(format!("#{at}: $ref {target:?} points to nothing"));
            }
        }
    });
    if let Some(first) = dangling.first() {
        bail!(
            "{f}: {first}{}",
            match dangling.len() {
                1 => String::new(),
                n => format!(" (and {} more $ref to nothing)", n - 1),
            }
        );
    }
    if let Some(cycle) = direct_cycle(doc) {
        bail!(
            "{f}: #/components/schemas/{}: reference cycle with no object or array in between \
             ({}), which no Rust type can express",
            escape(&cycle[0]),
            cycle.join(" -> ")
        );
    }
    Ok(())
}

/// Calls `found(pointer of the $ref's object, target)` for every `$ref` string.
fn refs(v: &Value, at: String, found: &mut impl FnMut(&str, &str)) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                found(&at, r);
            }
            for (k, x) in m {
                refs(x, format!("{at}/{}", escape(k)), found);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                refs(x, format!("{at}/{i}"), found);
            }
        }
        _ => {}
    }
}

/// The component schemas a schema *is* (not contains): its own `$ref`, and the members of
/// its `allOf`/`anyOf`/`oneOf`, recursively, without entering properties or items.
fn direct_refs(s: &Value, out: &mut BTreeSet<String>) {
    let Some(m) = s.as_object() else { return };
    if let Some(Value::String(r)) = m.get("$ref") {
        if let Some(n) = r.strip_prefix("#/components/schemas/") {
            out.insert(n.replace("~1", "/").replace("~0", "~"));
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(a)) = m.get(key) {
            for x in a {
                direct_refs(x, out);
            }
        }
    }
}

/// A cycle of component schemas through direct references only, if any.
fn direct_cycle(doc: &Value) -> Option<Vec<String>> {
    let schemas = doc.pointer("/components/schemas")?.as_object()?;
    let graph: BTreeMap<&str, BTreeSet<String>> = schemas
        .iter()
        .map(|(k, s)| {
            let mut out = BTreeSet::new();
            direct_refs(s, &mut out);
            (k.as_str(), out)
        })
        .collect();
    // Iterative DFS with colours: 1 = on the stack, 2 = done.
    let mut colour: BTreeMap<&str, u8> = BTreeMap::new();
    for start in graph.keys() {
        if colour.contains_key(start) {
            continue;
        }
        let mut stack: Vec<(&str, Vec<&str>)> = vec![(start, next(&graph, start))];
        colour.insert(start, 1);
        while let Some((node, children)) = stack.last_mut() {
            let node: &str = node;
            match children.pop() {
                Some(c) => match colour.get(c) {
                    Some(1) => {
                        let from = stack.iter().position(|(n, _)| *n == c).unwrap_or(0);
                        let mut cycle: Vec<String> =
                            stack[from..].iter().map(|(n, _)| (*n).to_owned()).collect();
                        cycle.push(c.to_owned());
                        return Some(cycle);
                    }
                    Some(_) => {}
                    None => {
                        colour.insert(c, 1);
                        let kids = next(&graph, c);
                        stack.push((c, kids));
                    }
                },
                None => {
                    colour.insert(node, 2);
                    stack.pop();
                }
            }
        }
    }
    None
}

fn next<'a>(graph: &'a BTreeMap<&'a str, BTreeSet<String>>, n: &str) -> Vec<&'a str> {
    graph
        .get(n)
        .map(|s| {
            s.iter()
                .filter_map(|x| graph.get_key_value(x.as_str()).map(|(k, _)| *k))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(doc: Value) -> String {
        format!("{:#}", check(&doc, Path::new("spec.yaml")).unwrap_err())
    }

    #[test]
    fn rejects_bad_input_with_file_and_pointer() {
        let e = err(json!({"swagger": "2.0", "paths": {}}));
        assert!(e.starts_with("spec.yaml: #/swagger:"), "{e}");
        let e = err(json!({"openapi": "2.0", "paths": {}}));
        assert!(e.starts_with("spec.yaml: #/openapi:"), "{e}");
        let e = err(json!([1]));
        assert!(e.starts_with("spec.yaml: #:"), "{e}");
        let e = err(
            json!({"openapi": "3.1.0", "paths": {"/a": {"get": {"responses": {"200": {
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Gone"}}}}}}}}}),
        );
        assert!(
            e.starts_with(
                "spec.yaml: #/paths/~1a/get/responses/200/content/application~1json/schema: $ref"
            ),
            "{e}"
        );
        let e = err(
            json!({"openapi": "3.1.0", "paths": {}, "components": {"schemas": {
                "A": {"allOf": [{"$ref": "#/components/schemas/B"}]},
                "B": {"anyOf": [{"$ref": "#/components/schemas/A"}, {"type": "null"}]},
                "C": {"type": "object", "properties": {"c": {"$ref": "#/components/schemas/C"}}},
            }}}),
        );
        assert!(
            e.starts_with("spec.yaml: #/components/schemas/A: reference cycle"),
            "{e}"
        );
        assert!(e.contains("A -> B -> A"), "{e}");
    }

    #[test]
    fn accepts_recursion_through_objects() {
        let doc = json!({"openapi": "3.0.0", "paths": {}, "components": {"schemas": {
            "C": {"type": "object", "properties": {"c": {"$ref": "#/components/schemas/C"}}},
            "L": {"type": "array", "items": {"$ref": "#/components/schemas/L"}},
        }}});
        check(&doc, Path::new("spec.yaml")).unwrap();
    }
}
