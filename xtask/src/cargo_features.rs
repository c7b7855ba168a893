//! Keeps Cargo.toml's `[features]` in step with the API groups: one feature per group,
//! `full` with every group, `default` with the default groups.
//!
//! `cargo xtask gen` writes the group lines it is missing (a feature derived for a new API
//! group gets `name = [] # derived ...`, and goes when the spec no longer has the group);
//! `cargo xtask gen --check` fails while Cargo.toml is out of date. Other lines (features
//! with dependencies such as `embeddings = ["dep:base64"]`, comments) are left as written.

use anyhow::{bail, Context, Result};

/// The marker on the lines of derived features, so that gen knows they are its own.
const DERIVED_MARK: &str = "# derived by `cargo xtask gen`";

/// Cargo.toml's text with the group features brought in step, and what changed.
pub fn update(
    text: &str,
    groups: &[&str],
    derived: &[(&str, String)],
) -> Result<(String, Vec<String>)> {
    let manifest: toml::Table = text.parse().context("Cargo.toml does not parse")?;
    let feats = manifest
        .get("features")
        .and_then(|f| f.as_table())
        .context("Cargo.toml has no [features]")?;
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let start = lines
        .iter()
        .position(|l| l.trim() == "[features]")
        .context("Cargo.toml: no `[features]` line")?;
    let end = lines[start + 1..]
        .iter()
        .position(|l| l.trim_start().starts_with('['))
        .map(|i| start + 1 + i)
        .unwrap_or(lines.len());
    let key_of = |l: &str| -> Option<String> {
        let l = l.trim();
        if l.starts_with('#') {
            return None;
        }
        let (k, _) = l.split_once('=')?;
        Some(k.trim().trim_matches('"').to_owned())
    };
    let mut changes = Vec::new();
    let mut removed: Vec<String> = Vec::new();

    // Derived features the spec no longer has.
    let mut i = start + 1;
    let mut end = end;
    while i < end {
        if lines[i].contains(DERIVED_MARK) {
            if let Some(k) = key_of(&lines[i]) {
                if !groups.contains(&k.as_str()) {
                    changes.push(format!(
                        "removed feature `{k}` (its API group left the spec)"
                    ));
                    removed.push(k);
                    lines.remove(i);
                    end -= 1;
                    continue;
                }
            }
        }
        i += 1;
    }
    // Missing group features: after the greatest group line that sorts before them.
    for g in groups {
        if feats.contains_key(*g) {
            continue;
        }
        let from = derived
            .iter()
            .find(|(f, _)| f == g)
            .map(|(_, from)| format!(" from {from}"))
            .unwrap_or_default();
        let line = format!("{g} = [] {DERIVED_MARK}{from}");
        let mut at = None;
        for (j, l) in lines.iter().enumerate().take(end).skip(start + 1) {
            if let Some(k) = key_of(l) {
                if groups.contains(&k.as_str()) && k.as_str() < *g {
                    at = Some(j + 1);
                }
            }
        }
        let at = at.unwrap_or(end);
        lines.insert(at, line);
        end += 1;
        changes.push(format!("added feature `{g}`{from}"));
    }
    // `full`: every group, plus whatever else it held that is not a group.
    let full_idx = lines[start + 1..end]
        .iter()
        .position(|l| key_of(l).as_deref() == Some("full"))
        .map(|i| start + 1 + i);
    let old_full: Vec<String> = feats
        .get("full")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let mut new_full: Vec<String> = old_full
        .iter()
        .filter(|f| !removed.contains(f))
        .cloned()
        .collect();
    for g in groups {
        if !new_full.iter().any(|f| f == g) {
            new_full.push((*g).to_owned());
        }
    }
    new_full.sort();
    new_full.dedup();
    if new_full != old_full {
        let line = format!(
            "full = [{}]",
            new_full
                .iter()
                .map(|f| format!("{f:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        match full_idx {
            Some(i) => lines[i] = line,
            None => lines.insert(start + 1, line),
        }
        changes.push("`full` now holds every API group".into());
    }
    let mut out = lines.join("\n");
    if text.ends_with('\n') {
        out.push('\n');
    }
    Ok((out, changes))
}

/// Checks (`check`) or writes Cargo.toml's group features; `default` must hold `defaults`.
pub fn sync(
    path: &std::path::Path,
    groups: &[&str],
    defaults: &[&str],
    derived: &[(&str, String)],
    check: bool,
) -> Result<Vec<String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let (new, changes) =
        update(&text, groups, derived).with_context(|| path.display().to_string())?;
    let manifest: toml::Table = new
        .parse()
        .context("the updated Cargo.toml does not parse")?;
    let default: Vec<&str> = manifest
        .get("features")
        .and_then(|f| f.get("default"))
        .and_then(|d| d.as_array())
        .map(|a| a.iter().filter_map(|x| x.as_str()).collect())
        .unwrap_or_default();
    for g in defaults {
        if !default.contains(g) {
            bail!("{}: feature `default` must include `{g}`", path.display());
        }
    }
    if new != text {
        if check {
            bail!(
                "{}: [features] is out of date with the API groups ({}); run `cargo xtask gen`",
                path.display(),
                changes.join("; ")
            );
        }
        std::fs::write(path, new).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOML: &str = "[package]\nname = \"x\"\n\n[features]\ndefault = [\"chat\"]\nfull = [\"chat\", \"old\"]\nchat = []\nold = [] # derived by `cargo xtask gen` from path /old\nzeta = [\"dep:z\"]\n\n[dependencies]\n";

    #[test]
    fn adds_and_removes_group_features() {
        let (out, changes) = update(
            TOML,
            &["agents", "chat", "zeta"],
            &[("agents", "path /agents/sessions".into())],
        )
        .unwrap();
        let t: toml::Table = out.parse().unwrap();
        let f = t["features"].as_table().unwrap();
        assert!(f.contains_key("agents"));
        assert!(!f.contains_key("old"));
        assert_eq!(f["zeta"].as_array().unwrap()[0].as_str(), Some("dep:z"));
        let full: Vec<&str> = f["full"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert_eq!(full, ["agents", "chat", "zeta"]);
        assert_eq!(changes.len(), 3, "{changes:?}");
        assert!(
            out.contains("agents = [] # derived by `cargo xtask gen` from path /agents/sessions")
        );
        // In step: nothing changes.
        let (again, changes) = update(&out, &["agents", "chat", "zeta"], &[]).unwrap();
        assert_eq!(again, out);
        assert!(changes.is_empty());
    }
}
