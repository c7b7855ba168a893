//! API groups: which cargo feature each operation belongs to.
//!
//! An operation's group comes from its path prefix. A prefix the table does not know fails
//! the generation, so a new API area gets a deliberate feature instead of a silent one.

use anyhow::{bail, Context, Result};
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

/// Every feature group, sorted and deduplicated.
pub fn all_groups() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = GROUPS.iter().map(|(_, f)| *f).collect();
    v.push("responses-beta");
    v.sort_unstable();
    v.dedup();
    v
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
            let Some(feature) = group_of(path) else {
                bail!(
                    "{method} {path} ({operation_id}): no API group for this path; \
                     add its prefix to GROUPS in xtask/src/features.rs"
                );
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
