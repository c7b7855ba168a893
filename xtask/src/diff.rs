//! `cargo xtask diff OLD.yaml [NEW.yaml]`: what changed between two specs, for a Rust user.
//!
//! Operations are compared on the published documents (by method and path, with their
//! operation ids, parameters, request bodies and success answers); schemas on the
//! normalised documents (the shapes the generated types are made from). Each change is
//! marked breaking for a Rust user (a removed operation, type, field, union member or enum
//! value; a type change; a field that becomes required in a request type, or optional in a
//! response type) or additive. Markdown by default, JSON with `--json`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{json, Map, Value};

use crate::normalize;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

/// One change of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// `operation`, `schema`, `field`, `enum`, `member`, `parameter`, ...
    pub kind: &'static str,
    /// `added`, `removed` or `changed`.
    pub change: &'static str,
    pub breaking: bool,
    /// The operation (`GET /path (operationId)`) or schema (`Name`, `Name.field`).
    pub subject: String,
    pub detail: String,
}

/// The report.
#[derive(Debug, Default)]
pub struct Diff {
    pub old: String,
    pub new: String,
    pub notes: Vec<String>,
    pub changes: Vec<Change>,
}

impl Diff {
    fn count(&self, kind: &str, change: &str) -> usize {
        self.changes
            .iter()
            .filter(|c| c.kind == kind && c.change == change)
            .count()
    }

    pub fn breaking(&self) -> usize {
        self.changes.iter().filter(|c| c.breaking).count()
    }

    /// One line: the counts.
    pub fn summary(&self) -> String {
        format!(
            "{} operations added, {} removed, {} changed; {} schemas added, {} removed, {} changed; \
             {} breaking change(s), {} additive",
            self.count("operation", "added"),
            self.count("operation", "removed"),
            self.changes
                .iter()
                .filter(|c| c.kind != "operation" && c.subject.contains(' '))
                .map(|c| c.subject.as_str())
                .collect::<BTreeSet<_>>()
                .len(),
            self.count("schema", "added"),
            self.count("schema", "removed"),
            self.changed_schemas().len(),
            self.breaking(),
            self.changes.len() - self.breaking(),
        )
    }

    fn changed_schemas(&self) -> BTreeSet<&str> {
        self.changes
            .iter()
            .filter(|c| c.kind != "operation" && c.kind != "schema" && !c.subject.contains(' '))
            .map(|c| c.subject.split('.').next().unwrap_or_default())
            .collect()
    }

    /// The Markdown report.
    pub fn markdown(&self) -> String {
        let mut out = format!(
            "# API changes\n\nFrom `{}` to `{}`.\n\n",
            self.old, self.new
        );
        out += &format!("{}.\n", self.summary());
        for n in &self.notes {
            out += &format!("\nNote: {n}\n");
        }
        let line = |c: &Change| {
            let mark = if c.breaking {
                "**breaking**"
            } else {
                "additive"
            };
            format!("- {mark}: `{}`: {}\n", c.subject, c.detail)
        };
        let breaking: Vec<&Change> = self.changes.iter().filter(|c| c.breaking).collect();
        if !breaking.is_empty() {
            out += &format!("\n## Breaking changes ({})\n\n", breaking.len());
            for c in breaking {
                out += &line(c);
            }
        }
        let ops: Vec<&Change> = self
            .changes
            .iter()
            .filter(|c| c.subject.contains(' '))
            .collect();
        for (title, which) in [
            ("Operations added", "added"),
            ("Operations removed", "removed"),
        ] {
            let list: Vec<&&Change> = ops
                .iter()
                .filter(|c| c.kind == "operation" && c.change == which)
                .collect();
            if !list.is_empty() {
                out += &format!("\n## {title} ({})\n\n", list.len());
                for c in list {
                    out += &format!("- `{}`\n", c.subject);
                }
            }
        }
        let changed: Vec<&&Change> = ops.iter().filter(|c| c.kind != "operation").collect();
        if !changed.is_empty() {
            out += "\n## Operations changed\n\n";
            for c in changed {
                out += &line(c);
            }
        }
        for (title, which) in [("Schemas added", "added"), ("Schemas removed", "removed")] {
            let list: Vec<&Change> = self
                .changes
                .iter()
                .filter(|c| c.kind == "schema" && c.change == which)
                .collect();
            if !list.is_empty() {
                out += &format!("\n## {title} ({})\n\n", list.len());
                for c in list {
                    out += &format!("- `{}`\n", c.subject);
                }
            }
        }
        let schema_changes: Vec<&Change> = self
            .changes
            .iter()
            .filter(|c| c.kind != "schema" && c.kind != "operation" && !c.subject.contains(' '))
            .collect();
        if !schema_changes.is_empty() {
            out += &format!(
                "\n## Schemas changed ({})\n\n",
                self.changed_schemas().len()
            );
            for c in schema_changes {
                out += &line(c);
            }
        }
        out
    }

    /// The JSON report.
    pub fn json(&self) -> Value {
        json!({
            "old": self.old,
            "new": self.new,
            "notes": self.notes,
            "summary": {
                "operations_added": self.count("operation", "added"),
                "operations_removed": self.count("operation", "removed"),
                "schemas_added": self.count("schema", "added"),
                "schemas_removed": self.count("schema", "removed"),
                "schemas_changed": self.changed_schemas().len(),
                "breaking": self.breaking(),
                "additive": self.changes.len() - self.breaking(),
            },
            "changes": self.changes.iter().map(|c| json!({
                "kind": c.kind,
                "change": c.change,
                "breaking": c.breaking,
                "subject": c.subject,
                "detail": c.detail,
            })).collect::<Vec<_>>(),
        })
    }
}

/// `cargo xtask diff OLD [NEW] [--json]`.
pub fn cli(args: &[String]) -> Result<()> {
    let json_out = args.iter().any(|a| a == "--json");
    let files: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let old = files
        .first()
        .context("usage: cargo xtask diff OLD.yaml [NEW.yaml] [--json]")?;
    let new_default = crate::root().join("openapi/openapi.yaml");
    let new = files
        .get(1)
        .map(|f| Path::new(f.as_str()).to_path_buf())
        .unwrap_or(new_default);
    let d = diff_files(Path::new(old.as_str()), &new, true)?;
    let text = match json_out {
        true => serde_json::to_string_pretty(&d.json())? + "\n",
        false => d.markdown(),
    };
    // A closed pipe (`| head`) ends the output; it is not an error.
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// The diff of two spec files; `warn`: print the loader's warnings (duplicate keys).
pub fn diff_files(old: &Path, new: &Path, warn: bool) -> Result<Diff> {
    let load = |p: &Path| crate::load_spec_file_with(p, &mut normalize::Counts::new(), warn);
    let (a, b) = std::thread::scope(|s| {
        let ha = s.spawn(|| load(old));
        let b = load(new);
        (ha.join(), b)
    });
    let a = a.map_err(|_| anyhow::anyhow!("loading {} panicked", old.display()))??;
    let b = b?;
    let mut d = diff(&a, &b);
    d.old = label(old, &a);
    d.new = label(new, &b);
    Ok(d)
}

fn label(p: &Path, doc: &Value) -> String {
    match doc.pointer("/info/version").and_then(Value::as_str) {
        Some(v) => format!("{} (info.version {v})", p.display()),
        None => p.display().to_string(),
    }
}

/// The diff of two raw (published) documents.
pub fn diff(old: &Value, new: &Value) -> Diff {
    let mut d = Diff::default();
    diff_operations(old, new, &mut d.changes);
    let (old_n, note_a) = normalised(old);
    let (new_n, note_b) = normalised(new);
    d.notes.extend(note_a.map(|n| format!("the old spec: {n}")));
    d.notes.extend(note_b.map(|n| format!("the new spec: {n}")));
    diff_schemas(old, &old_n, new, &new_n, &mut d.changes);
    d
}

/// The normalised document, or the raw one with the reason when normalisation fails.
fn normalised(raw: &Value) -> (Value, Option<String>) {
    let mut v = raw.clone();
    match normalize::normalize(&mut v) {
        Ok(_) => (v, None),
        Err(e) => (
            raw.clone(),
            Some(format!(
                "normalisation failed ({e:#}); schemas compared as published"
            )),
        ),
    }
}

// --- operations --------------------------------------------------------------------------

struct Op {
    id: String,
    params: BTreeMap<String, (bool, String)>,
    body: Option<(bool, String)>,
    answers: BTreeMap<String, String>,
    deprecated: bool,
}

fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    let mut v = v;
    for _ in 0..8 {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r)
                if r.starts_with("#/components/parameters/")
                    || r.starts_with("#/components/requestBodies/")
                    || r.starts_with("#/components/responses/") =>
            {
                match doc.pointer(&r[1..]) {
                    Some(x) => v = x,
                    None => return v,
                }
            }
            _ => return v,
        }
    }
    v
}

fn content_shapes(content: Option<&Value>) -> String {
    let Some(Value::Object(c)) = content else {
        return "no body".into();
    };
    // The JSON form is what the SDK sends and reads; other media types count without it.
    if let Some(j) = c.get("application/json") {
        let s = j.get("schema").map(shape).unwrap_or_default();
        return format!("application/json: {s}");
    }
    let mut parts: Vec<String> = c
        .iter()
        .map(|(mt, m)| {
            let s = m.get("schema").map(shape).unwrap_or_default();
            format!("{mt}: {s}")
        })
        .collect();
    parts.sort();
    parts.join(", ")
}

fn operations(doc: &Value) -> BTreeMap<(String, String), Op> {
    let mut out = BTreeMap::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return out;
    };
    for (path, item) in paths {
        let shared: Vec<&Value> = item
            .get("parameters")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        for m in METHODS {
            let Some(op) = item.get(m) else { continue };
            let mut params = BTreeMap::new();
            let own: Vec<&Value> = op
                .get("parameters")
                .and_then(Value::as_array)
                .map(|a| a.iter().collect())
                .unwrap_or_default();
            for p in shared.iter().chain(own.iter()) {
                let p = resolve(doc, p);
                let name = p.get("name").and_then(Value::as_str).unwrap_or("?");
                let loc = p.get("in").and_then(Value::as_str).unwrap_or("?");
                let required = p.get("required") == Some(&Value::Bool(true));
                let s = p.get("schema").map(shape).unwrap_or_default();
                params.insert(format!("{name} ({loc})"), (required, s));
            }
            let body = op.get("requestBody").map(|b| {
                let b = resolve(doc, b);
                (
                    b.get("required") == Some(&Value::Bool(true)),
                    content_shapes(b.get("content")),
                )
            });
            let mut answers = BTreeMap::new();
            if let Some(Value::Object(rs)) = op.get("responses") {
                for (code, r) in rs {
                    if code.starts_with('2') {
                        let r = resolve(doc, r);
                        answers.insert(code.clone(), content_shapes(r.get("content")));
                    }
                }
            }
            out.insert(
                (m.to_uppercase(), path.clone()),
                Op {
                    id: op
                        .get("operationId")
                        .and_then(Value::as_str)
                        .unwrap_or("?")
                        .to_owned(),
                    params,
                    body,
                    answers,
                    deprecated: op.get("deprecated") == Some(&Value::Bool(true)),
                },
            );
        }
    }
    out
}

fn diff_operations(old: &Value, new: &Value, out: &mut Vec<Change>) {
    let a = operations(old);
    let b = operations(new);
    let subject = |k: &(String, String), op: &Op| format!("{} {} ({})", k.0, k.1, op.id);
    for (k, op) in &b {
        if !a.contains_key(k) {
            out.push(Change {
                kind: "operation",
                change: "added",
                breaking: false,
                subject: subject(k, op),
                detail: "new operation".into(),
            });
        }
    }
    for (k, op) in &a {
        if !b.contains_key(k) {
            out.push(Change {
                kind: "operation",
                change: "removed",
                breaking: true,
                subject: subject(k, op),
                detail: "operation removed (its method is gone)".into(),
            });
        }
    }
    for (k, x) in &a {
        let Some(y) = b.get(k) else { continue };
        let s = subject(k, y);
        let mut push = |kind, change, breaking, detail: String| {
            out.push(Change {
                kind,
                change,
                breaking,
                subject: s.clone(),
                detail,
            })
        };
        if x.id != y.id {
            push(
                "operation-id",
                "changed",
                true,
                format!(
                    "operation id `{}` → `{}` (the method is renamed)",
                    x.id, y.id
                ),
            );
        }
        if !x.deprecated && y.deprecated {
            push("deprecation", "added", false, "now deprecated".into());
        }
        for (name, (req, _)) in &y.params {
            if !x.params.contains_key(name) {
                push(
                    "parameter",
                    "added",
                    *req,
                    format!(
                        "parameter `{name}` added ({})",
                        if *req { "required" } else { "optional" }
                    ),
                );
            }
        }
        for name in x.params.keys() {
            if !y.params.contains_key(name) {
                push(
                    "parameter",
                    "removed",
                    true,
                    format!("parameter `{name}` removed"),
                );
            }
        }
        for (name, (req_a, ty_a)) in &x.params {
            let Some((req_b, ty_b)) = y.params.get(name) else {
                continue;
            };
            if ty_a != ty_b {
                push(
                    "parameter",
                    "changed",
                    true,
                    format!("parameter `{name}`: type `{ty_a}` → `{ty_b}`"),
                );
            }
            if req_a != req_b {
                push(
                    "parameter",
                    "changed",
                    !req_a,
                    format!(
                        "parameter `{name}` is now {}",
                        if *req_b { "required" } else { "optional" }
                    ),
                );
            }
        }
        match (&x.body, &y.body) {
            (None, Some((req, _))) => push(
                "request-body",
                "added",
                *req,
                format!(
                    "request body added ({})",
                    if *req { "required" } else { "optional" }
                ),
            ),
            (Some(_), None) => push(
                "request-body",
                "removed",
                true,
                "request body removed".into(),
            ),
            (Some((_, a)), Some((_, b))) if a != b => push(
                "request-body",
                "changed",
                true,
                format!("request body `{a}` → `{b}`"),
            ),
            _ => {}
        }
        for (code, a) in &x.answers {
            match y.answers.get(code) {
                Some(b) if a != b => push(
                    "answer",
                    "changed",
                    true,
                    format!("{code} answer `{a}` → `{b}`"),
                ),
                None => push("answer", "removed", true, format!("{code} answer removed")),
                _ => {}
            }
        }
        for code in y.answers.keys() {
            if !x.answers.contains_key(code) {
                push("answer", "added", false, format!("{code} answer added"));
            }
        }
    }
}

// --- schemas -----------------------------------------------------------------------------

/// A compact description of a schema's Rust-relevant shape: its type, not its values or docs.
pub fn shape(s: &Value) -> String {
    shape_depth(s, 0)
}

fn shape_depth(s: &Value, depth: usize) -> String {
    if depth > 6 {
        return "…".into();
    }
    let Some(m) = s.as_object() else {
        return "any".into();
    };
    let nullable = m.get("nullable") == Some(&Value::Bool(true))
        || matches!(m.get("type"), Some(Value::Array(t)) if t.iter().any(|x| x == "null"));
    let base = if let Some(Value::String(r)) = m.get("$ref") {
        r.rsplit('/').next().unwrap_or(r).to_owned()
    } else if let Some(Value::Array(all)) = m
        .get("allOf")
        .filter(|a| a.as_array().is_some_and(|a| a.len() == 1))
    {
        shape_depth(&all[0], depth + 1)
    } else if let Some((key, Value::Array(members))) = ["oneOf", "anyOf", "allOf"]
        .iter()
        .find_map(|k| m.get(*k).map(|v| (*k, v)))
    {
        let mut parts: Vec<String> = members
            .iter()
            .filter(|x| x.get("type").and_then(Value::as_str) != Some("null"))
            .map(|x| shape_depth(x, depth + 1))
            .collect();
        let had_null = members
            .iter()
            .any(|x| x.get("type").and_then(Value::as_str) == Some("null"));
        parts.sort();
        if parts.len() == 1 {
            format!("{}{}", parts[0], if had_null { "?" } else { "" })
        } else if parts.len() > 6 {
            // Long unions: their members are compared one by one (`member` changes).
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for b in parts.join("|").bytes() {
                h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
            format!("{key}({} members, #{:04x})", parts.len(), h & 0xffff)
        } else {
            format!("{key}({})", parts.join(" | "))
        }
    } else {
        let ty = match m.get("type") {
            Some(Value::String(t)) => t.clone(),
            Some(Value::Array(t)) => t
                .iter()
                .filter_map(Value::as_str)
                .filter(|t| *t != "null")
                .collect::<Vec<_>>()
                .join("|"),
            _ if m.contains_key("properties") => "object".into(),
            _ if m.contains_key("enum") => "enum".into(),
            _ => "any".into(),
        };
        match ty.as_str() {
            "array" => format!(
                "array<{}>",
                m.get("items")
                    .map(|i| shape_depth(i, depth + 1))
                    .unwrap_or("any".into())
            ),
            "object" => match m.get("additionalProperties") {
                Some(ap) if ap.is_object() && !m.contains_key("properties") => {
                    format!("map<{}>", shape_depth(ap, depth + 1))
                }
                _ if m.contains_key("properties") => "object{…}".into(),
                _ => "object".into(),
            },
            // Only the formats that change the Rust type (i32, u64, f32, a file part).
            "string" | "integer" | "number" => match m.get("format").and_then(Value::as_str) {
                Some(
                    f @ ("binary" | "int8" | "int16" | "int32" | "uint8" | "uint16" | "uint32"
                    | "uint64" | "float"),
                ) => format!("{ty}({f})"),
                _ => ty,
            },
            _ => ty,
        }
    };
    if nullable && !base.ends_with('?') {
        format!("{base}?")
    } else {
        base
    }
}

/// Properties and required names of a schema, its inline `allOf` members merged.
fn fields(s: &Value) -> (Map<String, Value>, BTreeSet<String>) {
    let mut props = Map::new();
    let mut req = BTreeSet::new();
    let mut add = |x: &Value| {
        if let Some(Value::Object(p)) = x.get("properties") {
            for (k, v) in p {
                props.insert(k.clone(), v.clone());
            }
        }
        if let Some(Value::Array(r)) = x.get("required") {
            req.extend(r.iter().filter_map(Value::as_str).map(str::to_owned));
        }
    };
    add(s);
    if let Some(Value::Array(all)) = s.get("allOf") {
        for m in all {
            if m.get("$ref").is_none() {
                add(m);
            }
        }
    }
    (props, req)
}

/// Enum values of a schema (its `enum`, or the known values of an open enum), or None.
fn enum_values(s: &Value) -> Option<BTreeSet<String>> {
    let list = s
        .get("enum")
        .or_else(|| s.get("x-known-values"))
        .and_then(Value::as_array)
        .or_else(|| {
            // An open enum as published: anyOf [string, {enum}].
            ["anyOf", "oneOf"].iter().find_map(|k| {
                s.get(*k)?
                    .as_array()?
                    .iter()
                    .find_map(|m| m.get("enum").and_then(Value::as_array))
            })
        })?;
    Some(
        list.iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
    )
}

/// Union members of a schema: the `$ref` names (or shapes) of its `oneOf`/`anyOf`.
fn members(s: &Value) -> Option<BTreeSet<String>> {
    let list = ["oneOf", "anyOf"]
        .iter()
        .find_map(|k| s.get(*k).and_then(Value::as_array))?;
    let set: BTreeSet<String> = list
        .iter()
        .filter(|x| x.get("type").and_then(Value::as_str) != Some("null"))
        .map(shape)
        .collect();
    (set.len() > 1).then_some(set)
}

/// Names of the component schemas reachable from request bodies and parameters.
fn request_types(raw: &Value) -> BTreeSet<String> {
    let schemas = raw
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut stack = Vec::new();
    if let Some(paths) = raw.get("paths").and_then(Value::as_object) {
        for item in paths.values() {
            for m in METHODS {
                if let Some(op) = item.get(m) {
                    if let Some(b) = op.get("requestBody") {
                        collect_refs(resolve(raw, b), &mut stack);
                    }
                    if let Some(p) = op.get("parameters") {
                        collect_refs(p, &mut stack);
                    }
                }
            }
        }
    }
    let mut seen = BTreeSet::new();
    while let Some(n) = stack.pop() {
        if seen.insert(n.clone()) {
            if let Some(s) = schemas.get(&n) {
                collect_refs(s, &mut stack);
            }
        }
    }
    seen
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                if let Some(n) = r.strip_prefix("#/components/schemas/") {
                    out.push(n.to_owned());
                }
            }
            m.values().for_each(|x| collect_refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

fn diff_schemas(old_raw: &Value, old: &Value, new_raw: &Value, new: &Value, out: &mut Vec<Change>) {
    let empty = Map::new();
    let a = old
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let b = new
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let requests: BTreeSet<String> = request_types(old_raw)
        .union(&request_types(new_raw))
        .cloned()
        .collect();
    for name in b.keys() {
        if !a.contains_key(name) {
            out.push(Change {
                kind: "schema",
                change: "added",
                breaking: false,
                subject: name.clone(),
                detail: "new type".into(),
            });
        }
    }
    for name in a.keys() {
        if !b.contains_key(name) {
            out.push(Change {
                kind: "schema",
                change: "removed",
                breaking: true,
                subject: name.clone(),
                detail: "type removed".into(),
            });
        }
    }
    for (name, x) in a {
        let Some(y) = b.get(name) else { continue };
        if x == y {
            continue;
        }
        let is_request = requests.contains(name);
        compare(x, y, name, is_request, out);
    }
}

/// Compares one schema (or field schema): `x` of the old document, `y` of the new.
fn compare(x: &Value, y: &Value, subject: &str, is_request: bool, out: &mut Vec<Change>) {
    fn push(
        out: &mut Vec<Change>,
        kind: &'static str,
        change: &'static str,
        breaking: bool,
        subject: String,
        detail: String,
    ) {
        out.push(Change {
            kind,
            change,
            breaking,
            subject,
            detail,
        })
    }
    let (sa, sb) = (shape(x), shape(y));
    let shape_changed = sa != sb;
    let is_union = |t: &str| t.starts_with("oneOf(") || t.starts_with("anyOf(");
    // Two unions: their members are compared below, one change each.
    let both_unions = is_union(sa.trim_end_matches('?')) && is_union(sb.trim_end_matches('?'));
    let item_unions = |t: &str| {
        t.strip_prefix("array<")
            .is_some_and(|r| is_union(r.trim_end_matches('?')))
    };
    if item_unions(&sa) && item_unions(&sb) {
        if let (Some(ix), Some(iy)) = (x.get("items"), y.get("items")) {
            compare(ix, iy, &format!("{subject}[]"), is_request, out);
        }
        return;
    }
    let one_union_nullable_change = both_unions && sa.ends_with('?') != sb.ends_with('?');
    if one_union_nullable_change {
        push(
            out,
            "type",
            "changed",
            true,
            subject.to_owned(),
            format!(
                "now {}",
                if sb.ends_with('?') {
                    "nullable"
                } else {
                    "not nullable"
                }
            ),
        );
    }
    if shape_changed && !both_unions && !(sa.starts_with("object") && sb.starts_with("object")) {
        push(
            out,
            "type",
            "changed",
            true,
            subject.to_owned(),
            format!("type `{sa}` → `{sb}`"),
        );
    }
    if let (Some(ea), Some(eb)) = (enum_values(x), enum_values(y)) {
        for v in eb.difference(&ea) {
            push(
                out,
                "enum",
                "added",
                false,
                subject.to_owned(),
                format!("enum value `{v}` added"),
            );
        }
        for v in ea.difference(&eb) {
            push(
                out,
                "enum",
                "removed",
                true,
                subject.to_owned(),
                format!("enum value `{v}` removed"),
            );
        }
    }
    if let (Some(ma), Some(mb)) = (members(x), members(y)) {
        for v in mb.difference(&ma) {
            push(
                out,
                "member",
                "added",
                false,
                subject.to_owned(),
                format!("union member `{v}` added"),
            );
        }
        for v in ma.difference(&mb) {
            push(
                out,
                "member",
                "removed",
                true,
                subject.to_owned(),
                format!("union member `{v}` removed"),
            );
        }
    }
    // Fields: only where the path is shallow enough to read (Name.field.sub), and not
    // when the schema became (or stopped being) another named type: that is one change.
    if subject.matches('.').count() > 3
        || (shape_changed && (x.get("$ref").is_some() || y.get("$ref").is_some()))
    {
        return;
    }
    let (pa, ra) = fields(x);
    let (pb, rb) = fields(y);
    let kind_of = |r: bool| if r { "required" } else { "optional" };
    for (f, _) in pb.iter().filter(|(f, _)| !pa.contains_key(*f)) {
        let req = rb.contains(f);
        push(
            out,
            "field",
            "added",
            req && is_request,
            format!("{subject}.{f}"),
            format!(
                "field added ({}{})",
                kind_of(req),
                if req && is_request {
                    ", in a request type"
                } else {
                    ""
                }
            ),
        );
    }
    for f in pa.keys().filter(|f| !pb.contains_key(*f)) {
        push(
            out,
            "field",
            "removed",
            true,
            format!("{subject}.{f}"),
            "field removed".into(),
        );
    }
    for (f, fx) in &pa {
        let Some(fy) = pb.get(f) else { continue };
        let (was, is) = (ra.contains(f), rb.contains(f));
        if was != is {
            let breaking = if is { is_request } else { !is_request };
            let why = match (is, is_request) {
                (true, true) => ", in a request type",
                (false, false) => ", in a response type (the field becomes an Option)",
                _ => "",
            };
            push(
                out,
                "required",
                "changed",
                breaking,
                format!("{subject}.{f}"),
                format!("now {}{why}", kind_of(is)),
            );
        }
        if fx != fy {
            compare(fx, fy, &format!("{subject}.{f}"), is_request, out);
        }
    }
    // Array items and map values with inline objects.
    for key in ["items", "additionalProperties"] {
        if let (Some(ix), Some(iy)) = (x.get(key), y.get(key)) {
            if ix.is_object()
                && iy.is_object()
                && ix != iy
                && ix.get("$ref").is_none()
                && !shape_changed
            {
                compare(ix, iy, &format!("{subject}[]"), is_request, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(paths: Value, schemas: Value) -> Value {
        json!({"openapi": "3.1.0", "info": {"version": "1"}, "paths": paths, "components": {"schemas": schemas}})
    }

    #[test]
    fn reports_and_marks_changes() {
        let old = spec(
            json!({
                "/a": {"get": {"operationId": "getA", "responses": {"200": {"description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/A"}}}}}}},
                "/b": {"post": {"operationId": "postB", "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Req"}}}}, "responses": {"200": {"description": ""}}}},
                "/gone": {"delete": {"operationId": "gone", "responses": {"200": {"description": ""}}}},
            }),
            json!({
                "A": {"type": "object", "required": ["id"], "properties": {
                    "id": {"type": "string"}, "kind": {"type": "string", "enum": ["x", "y"]}, "old": {"type": "integer"}, "n": {"type": "integer"}}},
                "Req": {"type": "object", "properties": {"q": {"type": "string"}}},
                "Ev": {"anyOf": [{"$ref": "#/components/schemas/A"}, {"$ref": "#/components/schemas/Req"}]},
                "Dead": {"type": "string"},
            }),
        );
        let new = spec(
            json!({
                "/a": {"get": {"operationId": "getA", "responses": {"200": {"description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/A"}}}}}}},
                "/b": {"post": {"operationId": "postB", "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Req"}}}}, "responses": {"200": {"description": ""}}}},
                "/agents/sessions": {"get": {"operationId": "listAgentSessions", "responses": {"200": {"description": ""}}}},
            }),
            json!({
                "A": {"type": "object", "required": ["id"], "properties": {
                    "id": {"type": "string"}, "kind": {"type": "string", "enum": ["x", "z"]}, "n": {"type": "string"}, "extra": {"type": "string"}}},
                "Req": {"type": "object", "required": ["q"], "properties": {"q": {"type": "string"}}},
                "Ev": {"anyOf": [{"$ref": "#/components/schemas/A"}, {"$ref": "#/components/schemas/Req"}, {"$ref": "#/components/schemas/New"}]},
                "New": {"type": "object", "properties": {}},
            }),
        );
        let d = diff(&old, &new);
        let has = |breaking: bool, subject: &str, detail: &str| {
            d.changes.iter().any(|c| {
                c.breaking == breaking && c.subject == subject && c.detail.contains(detail)
            })
        };
        assert!(
            has(
                false,
                "GET /agents/sessions (listAgentSessions)",
                "new operation"
            ),
            "{:#?}",
            d.changes
        );
        assert!(has(true, "DELETE /gone (gone)", "removed"));
        assert!(has(false, "New", "new type"));
        assert!(has(true, "Dead", "type removed"));
        assert!(has(false, "A.extra", "field added (optional)"));
        assert!(has(true, "A.old", "field removed"));
        assert!(has(true, "A.n", "type `integer` → `string`"));
        assert!(has(false, "A.kind", "enum value `z` added"));
        assert!(has(true, "A.kind", "enum value `y` removed"));
        assert!(has(true, "Req.q", "now required, in a request type"));
        assert!(has(false, "Ev", "union member `New` added"));
        let md = d.markdown();
        assert!(md.contains("## Operations added (1)"), "{md}");
        assert!(md.contains("1 operations added, 1 removed"), "{md}");
        let j = d.json();
        assert_eq!(j["summary"]["operations_added"], 1);
        assert_eq!(j["summary"]["schemas_removed"], 1);
        // The same spec: nothing.
        assert!(diff(&new, &new).changes.is_empty());
    }
}
