//! `openapi/patches.json`: our API decisions, as JSON-pointer edits with a reason each.
//!
//! The file is a list of `{"op": "remove" | "replace" | "add", "path": "/json/pointer",
//! "value": ..., "reason": "one line"}`. Patches apply to the raw spec, before
//! normalisation, so their paths read like the published document. A patch whose path
//! no longer exists fails the generation: the spec moved and the decision needs a look.

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
}

/// Applies the patch file to `doc` and returns the edits, in order.
pub fn apply(doc: &mut Value, file: &Path) -> Result<Vec<Applied>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let patches: Vec<Applied> =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", file.display()))?;
    for p in &patches {
        if p.reason.trim().is_empty() {
            bail!("patch {} {} has no reason", p.op, p.path);
        }
        let (parent_ptr, last) = split_pointer(&p.path)?;
        let parent = doc
            .pointer_mut(&parent_ptr)
            .with_context(|| format!("patch {} {}: parent {parent_ptr} not found", p.op, p.path))?;
        match (p.op.as_str(), parent) {
            ("remove", Value::Object(m)) => {
                m.shift_remove(&last)
                    .with_context(|| format!("patch remove {}: nothing there", p.path))?;
            }
            ("remove", Value::Array(a)) => {
                let i: usize = last.parse().context("array index")?;
                if i >= a.len() {
                    bail!("patch remove {}: index out of range", p.path);
                }
                a.remove(i);
            }
            ("replace", Value::Object(m)) => {
                let slot = m
                    .get_mut(&last)
                    .with_context(|| format!("patch replace {}: nothing there", p.path))?;
                *slot = p.value.clone().context("replace needs a value")?;
            }
            ("add", Value::Object(m)) => {
                m.insert(last.clone(), p.value.clone().context("add needs a value")?);
            }
            ("add", Value::Array(a)) if last == "-" => {
                a.push(p.value.clone().context("add needs a value")?);
            }
            (op, _) => bail!("patch {op} {}: unsupported operation or target", p.path),
        }
    }
    Ok(patches)
}

fn split_pointer(ptr: &str) -> Result<(String, String)> {
    let Some(i) = ptr.rfind('/') else {
        bail!("not a JSON pointer: {ptr}");
    };
    let last = ptr[i + 1..].replace("~1", "/").replace("~0", "~");
    Ok((ptr[..i].to_owned(), last))
}
