//! API groups: which cargo feature each operation belongs to.
//!
//! An operation's group comes from its path prefix. A prefix the table does not know gets a
//! feature derived from its first path segment (kebab-case: `/agents/sessions` → `agents`),
//! which `cargo xtask gen` reports and writes into Cargo.toml, so a new API area in the
//! next spec needs no code change; adding its prefix to `GROUPS` names it deliberately.

use std::collections::BTreeMap;
use std::sync::Mutex;

use anyhow::{Context, Result};
use serde_json::Value;

/// An operation of the raw spec.
#[derive(Debug, Clone)]
pub struct Operation {
    pub operation_id: String,
    pub method: String,
    pub path: String,
    pub feature: &'static str,
}

/// Path prefix → feature. The first match wins.
const GROUPS: &[(&str, &str)] = &[
    ("/chat/completions", "chat"),
    ("/responses", "responses"),
    ("/completions", "completions"),
    ("/embeddings", "embeddings"),
    ("/models", "models"),
    ("/moderations", "moderations"),
    ("/audio", "audio"),
    ("/images", "images"),
    ("/files", "files"),
    ("/uploads", "uploads"),
    ("/batches", "batches"),
    ("/assistants", "assistants"),
    ("/threads", "assistants"),
    ("/vector_stores", "vector-stores"),
    ("/fine_tuning", "fine-tuning"),
    ("/evals", "evals"),
    ("/realtime", "realtime"),
    ("/organization", "admin"),
    ("/projects", "admin"),
    ("/containers", "containers"),
    ("/videos", "videos"),
    ("/conversations", "conversations"),
    ("/chatkit", "chatkit"),
    ("/skills", "skills"),
    ("/content_provenance_checks", "content-provenance"),
];

/// The groups in `default`; everything else is opt-in.
pub const DEFAULT: &[&str] = &[
    "chat",
    "responses",
    "files",
    "embeddings",
    "models",
    "moderations",
    "audio",
    "images",
];

/// Features derived this run for groups the table does not know: feature → where from.
static DERIVED: Mutex<BTreeMap<&'static str, String>> = Mutex::new(BTreeMap::new());

/// The features of the table (not the derived ones), sorted and deduplicated.
pub fn table_groups() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = GROUPS.iter().map(|(_, f)| *f).collect();
    v.push("responses-beta");
    v.sort_unstable();
    v.dedup();
    v
}

/// Every feature group (the table's and the derived ones), sorted and deduplicated.
pub fn all_groups() -> Vec<&'static str> {
    let mut v = table_groups();
    v.extend(derived().into_iter().map(|(f, _)| f));
    v.sort_unstable();
    v.dedup();
    v
}

/// The features derived this run, with what they were derived from.
pub fn derived() -> Vec<(&'static str, String)> {
    DERIVED
        .lock()
        .map(|m| m.iter().map(|(k, v)| (*k, v.clone())).collect())
        .unwrap_or_default()
}

/// The feature for a group name the table does not know: its kebab-case form, recorded
/// (with `source`, for the report) unless it is a known feature already.
pub fn derive(name: &str, source: &str) -> &'static str {
    let kebab = kebab_case(name);
    if let Some(known) = table_groups().into_iter().find(|g| *g == kebab) {
        return known;
    }
    let Ok(mut m) = DERIVED.lock() else {
        return Box::leak(kebab.into_boxed_str());
    };
    if let Some((k, _)) = m.get_key_value(kebab.as_str()) {
        return k;
    }
    let k: &'static str = Box::leak(kebab.into_boxed_str());
    m.insert(k, source.to_owned());
    k
}

/// `vector_stores`, `VectorStores`, `Vector stores` → `vector-stores`: a valid cargo feature name.
pub fn kebab_case(name: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && prev_lower && !out.ends_with('-') {
                out.push('-');
            }
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
            out.push(c.to_ascii_lowercase());
        } else {
            if !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
            prev_lower = false;
        }
    }
    let out = out.trim_matches('-').to_owned();
    if out.is_empty() {
        "misc".into()
    } else if out.starts_with(|c: char| c.is_ascii_digit()) {
        format!("api-{out}")
    } else {
        out
    }
}

/// The feature of an `x-oaiMeta` group that the event-group table does not know: the
/// feature of the operations it lists (its `endpoint` sections), else a known feature its
/// id starts with (`realtime-sessions` → `realtime`), else a derived one.
pub fn meta_group_feature(group: &Value, ops: &[Operation]) -> &'static str {
    let id = group.get("id").and_then(Value::as_str).unwrap_or_default();
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    for s in group
        .get("sections")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(key) = s.get("key").and_then(Value::as_str) else {
            continue;
        };
        if let Some(op) = ops.iter().find(|o| o.operation_id == key) {
            *counts.entry(op.feature).or_default() += 1;
        }
    }
    if let Some((f, _)) = counts
        .iter()
        .max_by_key(|(f, n)| (**n, std::cmp::Reverse(**f)))
    {
        return f;
    }
    let kebab = kebab_case(id);
    let mut known: Vec<&'static str> = all_groups();
    known.push("webhooks");
    // The longest known feature that is the id or a `-`-separated prefix of it.
    if let Some(f) = known
        .iter()
        .filter(|f| kebab == **f || kebab.starts_with(&format!("{f}-")))
        .max_by_key(|f| f.len())
    {
        return f;
    }
    // Singular/plural (`batch` → `batches`).
    if let Some(f) = known
        .iter()
        .find(|f| **f == format!("{kebab}s") || **f == format!("{kebab}es"))
    {
        return f;
    }
    derive(&kebab, &format!("x-oaiMeta group {id:?}"))
}

/// The group of a path.
pub fn group_of(path: &str) -> Option<&'static str> {
    // `?beta=true` operations come with a parallel tree of `Beta*` types, as large as the
    // stable one: they get their own opt-in feature so the default build stays small.
    if path.ends_with("?beta=true") {
        return match path.starts_with("/responses") {
            true => Some("responses-beta"),
            false => None,
        };
    }

    GROUPS.iter().find_map(|(prefix, f)| {
        let rest = path.strip_prefix(prefix)?;
        (rest.is_empty() || rest.starts_with(['/', '?'])).then_some(*f)
    })
}

/// Every operation of the raw spec, in document order.
pub fn operations(doc: &Value) -> Result<Vec<Operation>> {
    let paths = doc
        .get("paths")
        .and_then(Value::as_object)
        .context("the spec has no paths")?;
    let mut out = Vec::new();
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            continue;
        };
        for (method, op) in item {
            if ![
                "get", "put", "post", "delete", "patch", "head", "options", "trace",
            ]
            .contains(&method.as_str())
            {
                continue;
            }
            let operation_id = op
                .get("operationId")
                .and_then(Value::as_str)
                .with_context(|| format!("{method} {path} has no operationId"))?
                .to_owned();
            let feature = match group_of(path) {
                Some(f) => f,
                None => {
                    let segment = path
                        .trim_start_matches('/')
                        .split(['/', '?'])
                        .next()
                        .unwrap_or_default();
                    let name = match path.ends_with("?beta=true") {
                        true => format!("{segment}-beta"),
                        false => segment.to_owned(),
                    };
                    let tag = op
                        .pointer("/tags/0")
                        .and_then(Value::as_str)
                        .map(|t| format!(", tag {t:?}"))
                        .unwrap_or_default();
                    derive(&name, &format!("path {path}{tag}"))
                }
            };
            out.push(Operation {
                operation_id,
                method: method.clone(),
                path: path.clone(),
                feature,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kebab_case_names() {
        assert_eq!(kebab_case("vector_stores"), "vector-stores");
        assert_eq!(kebab_case("VectorStores"), "vector-stores");
        assert_eq!(kebab_case("Vector stores"), "vector-stores");
        assert_eq!(kebab_case("agents"), "agents");
        assert_eq!(kebab_case("3d"), "api-3d");
        assert_eq!(kebab_case("--"), "misc");
    }

    #[test]
    fn unknown_paths_and_groups_get_derived_features() {
        let doc = json!({"paths": {
            "/chat/completions": {"post": {"operationId": "createChatCompletion"}},
            "/agent_sessions/{id}": {"get": {"operationId": "getAgentSession", "tags": ["Agents"]}},
        }});
        let ops = operations(&doc).unwrap();
        assert_eq!(ops[0].feature, "chat");
        assert_eq!(ops[1].feature, "agent-sessions");
        assert!(all_groups().contains(&"agent-sessions"));
        assert!(derived()
            .iter()
            .any(|(f, from)| *f == "agent-sessions" && from.contains("Agents")));
        // x-oaiMeta groups: by their endpoints, by a known prefix, by plural, or derived.
        let g = |v| meta_group_feature(&v, &ops);
        assert_eq!(
            g(
                json!({"id": "chat", "sections": [{"type": "endpoint", "key": "createChatCompletion"}]})
            ),
            "chat"
        );
        assert_eq!(
            g(json!({"id": "realtime-sessions", "sections": []})),
            "realtime"
        );
        assert_eq!(g(json!({"id": "batch"})), "batches");
        assert_eq!(
            g(json!({"id": "agent-sessions-streaming"})),
            "agent-sessions"
        );
        assert_eq!(g(json!({"id": "Robots"})), "robots");
    }
}
