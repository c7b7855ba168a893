//! `openapi/patches.json`: our API decisions, as JSON-pointer edits with a reason each.
//!
//! The file is a list of `{"op": "remove" | "replace" | "add", "path": "/json/pointer",
//! "value": ..., "reason": "one line"}`. Patches apply to the raw spec, before
//! normalisation, so their paths read like the published document.
//!
//! A patch that no longer applies never blocks the generation: when its target is gone
//! (the spec moved) or it would change nothing (OpenAI fixed the spec the same way), it is
//! *stale*: it is skipped, reported with its reason by `cargo xtask gen`, and listed by
//! `cargo xtask gen --check`, so that someone removes or updates it.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use serde_json::Value;

/// One edit of the patch file.
#[derive(Debug, Deserialize)]
pub struct Applied {
    pub op: String,
    pub path: String,
    #[serde(default)]
    pub value: Option<Value>,
    pub reason: String,
    /// Why the patch was skipped, when it is stale (not part of the file).
    #[serde(skip)]
    pub stale: Option<String>,
}

/// Applies the patch file to `doc` and returns the edits, in order, the stale ones marked.
pub fn apply(doc: &mut Value, file: &Path) -> Result<Vec<Applied>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let mut patches: Vec<Applied> =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", file.display()))?;
    for p in &mut patches {
        if p.reason.trim().is_empty() {
            bail!(
                "{}: patch {} {} has no reason",
                file.display(),
                p.op,
                p.path
            );
        }
        p.stale = apply_one(doc, p).with_context(|| format!("{}", file.display()))?;
    }
    Ok(patches)
}

/// Applies one patch; `Ok(Some(why))` when it is stale and was skipped. Errors are for a
/// patch that is wrong whatever the spec (an unknown op, a missing value, a bad pointer).
fn apply_one(doc: &mut Value, p: &Applied) -> Result<Option<String>> {
    let (parent_ptr, last) = split_pointer(&p.path)?;
    let value = || {
        p.value
            .clone()
            .with_context(|| format!("patch {} {}: needs a value", p.op, p.path))
    };
    if !["remove", "replace", "add"].contains(&p.op.as_str()) {
        bail!(
            "patch {} {}: unknown op (remove, replace or add)",
            p.op,
            p.path
        );
    }
    let Some(parent) = doc.pointer_mut(&parent_ptr) else {
        return Ok(Some(format!(
            "target gone: {parent_ptr} is not in the spec"
        )));
    };
    let stale = match (p.op.as_str(), parent) {
        ("remove", Value::Object(m)) => match m.shift_remove(&last) {
            Some(_) => None,
            None => Some(format!("nothing to remove: {} is not in the spec", p.path)),
        },
        ("remove", Value::Array(a)) => match last.parse::<usize>() {
            Ok(i) if i < a.len() => {
                a.remove(i);
                None
            }
            _ => Some(format!("nothing to remove: {} is not in the spec", p.path)),
        },
        ("replace", Value::Object(m)) => {
            let new = value()?;
            match m.get_mut(&last) {
                None => Some(format!("target gone: {} is not in the spec", p.path)),
                Some(slot) if *slot == new => {
                    Some("changes nothing: the spec already has this value".into())
                }
                Some(slot) => {
                    *slot = new;
                    None
                }
            }
        }
        ("replace", Value::Array(a)) => {
            let new = value()?;
            match last.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                None => Some(format!("target gone: {} is not in the spec", p.path)),
                Some(slot) if *slot == new => {
                    Some("changes nothing: the spec already has this value".into())
                }
                Some(slot) => {
                    *slot = new;
                    None
                }
            }
        }
        ("add", Value::Object(m)) => {
            let new = value()?;
            if m.get(&last) == Some(&new) {
                Some("changes nothing: the spec already has this value".into())
            } else {
                m.insert(last.clone(), new);
                None
            }
        }
        ("add", Value::Array(a)) if last == "-" => {
            a.push(value()?);
            None
        }
        (op, other) => Some(format!(
            "target changed shape: {parent_ptr} is {} (cannot {op} there)",
            kind(other)
        )),
    };
    Ok(stale)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn split_pointer(ptr: &str) -> Result<(String, String)> {
    let Some(i) = ptr.rfind('/') else {
        bail!("not a JSON pointer: {ptr:?}");
    };
    let last = ptr[i + 1..].replace("~1", "/").replace("~0", "~");
    Ok((ptr[..i].to_owned(), last))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patch(op: &str, path: &str, value: Option<Value>) -> Applied {
        Applied {
            op: op.into(),
            path: path.into(),
            value,
            reason: "test".into(),
            stale: None,
        }
    }

    #[test]
    fn applies_and_reports_stale_patches() {
        let mut doc = json!({"a": {"b": [1, 2], "c": "x"}});
        let p = patch("replace", "/a/c", Some(json!("y")));
        assert_eq!(apply_one(&mut doc, &p).unwrap(), None);
        assert_eq!(doc["a"]["c"], "y");
        // The same patch again changes nothing: stale.
        let why = apply_one(&mut doc, &p).unwrap().unwrap();
        assert!(why.starts_with("changes nothing"), "{why}");
        // Target gone.
        let why = apply_one(&mut doc, &patch("replace", "/zz/c", Some(json!(1))))
            .unwrap()
            .unwrap();
        assert!(why.contains("/zz"), "{why}");
        let why = apply_one(&mut doc, &patch("remove", "/a/nope", None))
            .unwrap()
            .unwrap();
        assert!(why.starts_with("nothing to remove"), "{why}");
        let why = apply_one(&mut doc, &patch("remove", "/a/b/5", None))
            .unwrap()
            .unwrap();
        assert!(why.starts_with("nothing to remove"), "{why}");
        let why = apply_one(&mut doc, &patch("add", "/a/c/d", Some(json!(1))))
            .unwrap()
            .unwrap();
        assert!(why.contains("a string"), "{why}");
        assert_eq!(doc, json!({"a": {"b": [1, 2], "c": "y"}}));
        // A patch that is wrong whatever the spec is an error.
        assert!(apply_one(&mut doc, &patch("move", "/a/c", None)).is_err());
        assert!(apply_one(&mut doc, &patch("replace", "/a/c", None)).is_err());
    }
}
