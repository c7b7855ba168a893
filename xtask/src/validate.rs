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
    operations(root, &f)?;
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

/// The shape every operation must have for the generator to name and build it: a path item
/// is a mapping; an operation is a mapping with an `operationId` (the method's name) and
/// `responses`; a request body has `content`.
fn operations(root: &serde_json::Map<String, Value>, f: &impl std::fmt::Display) -> Result<()> {
    let Some(Value::Object(paths)) = root.get("paths") else {
        return Ok(());
    };
    for (path, item) in paths {
        let at = format!("#/paths/{}", escape(path));
        let Some(item) = item.as_object() else {
            bail!(
                "{f}: {at}: a path item must be a mapping, found {}",
                kind(item)
            );
        };
        if item.contains_key("$ref") {
            continue;
        }
        for method in [
            "get", "put", "post", "delete", "options", "head", "patch", "trace",
        ] {
            let Some(op) = item.get(method) else { continue };
            let at = format!("{at}/{method}");
            let Some(op) = op.as_object() else {
                bail!(
                    "{f}: {at}: an operation must be a mapping, found {}",
                    kind(op)
                );
            };
            if !op.get("operationId").is_some_and(Value::is_string) {
                bail!(
                    "{f}: {at}/operationId: missing or not a string (the SDK names the \
                     operation's method after it)"
                );
            }
            if !op.get("responses").is_some_and(Value::is_object) {
                bail!("{f}: {at}/responses: missing or not a mapping");
            }
            if let Some(body) = op.get("requestBody") {
                if !body.get("$ref").is_some_and(Value::is_string)
                    && !body.get("content").is_some_and(Value::is_object)
                {
                    bail!("{f}: {at}/requestBody/content: missing or not a mapping");
                }
            }
        }
    }
    Ok(())
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
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
            json!({"openapi": "3.1.0", "paths": {"/a": {"get": {"operationId": "a", "responses": {"200": {
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
    fn operations_without_what_the_generator_needs_are_located() {
        let with = |paths: Value| err(json!({"openapi": "3.0.0", "paths": paths}));
        let e = with(json!({"/a": null}));
        assert_eq!(
            e,
            "spec.yaml: #/paths/~1a: a path item must be a mapping, found null"
        );
        let e = with(json!({"/a": {"get": null}}));
        assert!(
            e.starts_with("spec.yaml: #/paths/~1a/get: an operation must be"),
            "{e}"
        );
        let e = with(json!({"/a": {"get": {"responses": {}}}}));
        assert!(
            e.starts_with("spec.yaml: #/paths/~1a/get/operationId: missing"),
            "{e}"
        );
        let e = with(json!({"/a": {"get": {"operationId": "a", "responses": null}}}));
        assert!(
            e.starts_with("spec.yaml: #/paths/~1a/get/responses: missing"),
            "{e}"
        );
        let e = with(json!({"/a": {"post": {"operationId": "a", "responses": {},
            "requestBody": {"content": null}}}}));
        assert!(
            e.starts_with("spec.yaml: #/paths/~1a/post/requestBody/content: missing"),
            "{e}"
        );
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

/// Parses the YAML text of `file` into JSON. A mapping key that appears twice (YAML
/// forbids it; most loaders keep the last value silently) keeps its last value and is
/// returned as a warning naming the file and the JSON pointer. Text that does not parse
/// gives an error naming the file, the line and the column, with the line itself and,
/// for a misindented key, what is wrong with it.
pub fn parse_yaml(text: &str, file: &Path) -> Result<(Value, Vec<String>)> {
    let dups = std::cell::RefCell::new(Vec::new());
    let seed = Node {
        ptr: String::new(),
        dups: &dups,
    };
    match serde::de::DeserializeSeed::deserialize(seed, serde_yaml::Deserializer::from_str(text)) {
        Ok(v) => {
            let warnings = dups
                .into_inner()
                .into_iter()
                .map(|(ptr, key)| {
                    format!(
                        "{}: #{ptr}: key {key:?} appears more than once in this mapping; \
                         the last value is kept",
                        file.display()
                    )
                })
                .collect();
            Ok((v, warnings))
        }
        Err(e) => Err(yaml_error(&e, text, file)),
    }
}

fn yaml_error(e: &serde_yaml::Error, text: &str, file: &Path) -> anyhow::Error {
    let f = file.display();
    let Some(loc) = e.location() else {
        return anyhow::anyhow!("{f}: not valid YAML: {e}");
    };
    let (line, col) = (loc.line(), loc.column());
    let source = text.lines().nth(line.saturating_sub(1)).unwrap_or_default();
    let mut msg = format!(
        "{f}:{line}:{col}: not valid YAML: {e}\n  {line} | {}",
        source.trim_end()
    );
    // libyaml names the mapping it was reading: "while parsing a block mapping at line M
    // column C". A key that starts at another column than that mapping's keys, and is not
    // inside the value above it, is an indentation slip.
    let context = e.to_string();
    if let Some(rest) = context
        .split("while parsing a block mapping at line ")
        .nth(1)
    {
        let nums: Vec<usize> = rest
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .take(2)
            .filter_map(|s| s.parse().ok())
            .collect();
        let indent = source.len() - source.trim_start().len() + 1;
        if let [m_line, m_col] = nums[..] {
            if indent != m_col && !source.trim().is_empty() {
                msg.push_str(&format!(
                    "\n  the line starts at column {indent}, but the keys of the mapping that \
                     begins at line {m_line} start at column {m_col}: a misindented key, to \
                     which YAML gives no meaning (nothing is guessed; fix the indentation)"
                ));
            }
        }
    }
    anyhow::anyhow!(msg)
}

/// Deserialises YAML into a JSON value, noting duplicate mapping keys (pointer, key).
struct Node<'a> {
    ptr: String,
    dups: &'a std::cell::RefCell<Vec<(String, String)>>,
}

impl<'de> serde::de::DeserializeSeed<'de> for Node<'_> {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Node<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(Node {
            ptr: format!("{}/{}", self.ptr, out.len()),
            dups: self.dups,
        })? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let v = map.next_value_seed(Node {
                ptr: format!("{}/{}", self.ptr, escape(&key)),
                dups: self.dups,
            })?;
            if out.contains_key(&key) {
                self.dups.borrow_mut().push((self.ptr.clone(), key.clone()));
                // The last value wins, in the place of the first (as serde_json's own map).
            }
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod yaml_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn duplicate_keys_keep_the_last_value_with_a_warning() {
        let text =
            "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      summary: one\n      summary: two\n";
        let (v, warnings) = parse_yaml(text, Path::new("spec.yaml")).unwrap();
        assert_eq!(v["paths"]["/a"]["get"], json!({"summary": "two"}));
        assert_eq!(
            warnings,
            [
                "spec.yaml: #/paths/~1a/get: key \"summary\" appears more than once in this \
              mapping; the last value is kept"
            ]
        );
        let (v, warnings) = parse_yaml("a: [1, 2.5, true, null, x]\n", Path::new("s")).unwrap();
        assert_eq!(v, json!({"a": [1, 2.5, true, null, "x"]}));
        assert!(warnings.is_empty());
    }

    #[test]
    fn a_misindented_key_is_an_error_naming_file_line_column() {
        // The shape of the two 2024-06-17 revisions (`service_tier:` two columns too deep).
        let text = [
            "components:",
            "  schemas:",
            "    A:",
            "      properties:",
            "        seed:",
            "            type: integer",
            "            x-oaiMeta:",
            "                beta: true",
            "          service_tier:",
            "            type: string",
        ]
        .join("\n");
        let e = format!(
            "{:#}",
            parse_yaml(&text, Path::new("spec.yaml")).unwrap_err()
        );
        assert!(e.starts_with("spec.yaml:9:11: not valid YAML: "), "{e}");
        assert!(e.contains("\n  9 |           service_tier:"), "{e}");
        assert!(e.contains("misindented key"), "{e}");
    }
}
