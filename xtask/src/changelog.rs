//! What `cargo xtask gen --spec` records: where the spec came from (in `openapi/README.md`)
//! and what changed in the API (the "API changes" section of `CHANGELOG.md`).

use std::path::Path;

use anyhow::{Context, Result};

use crate::diff::Diff;

const SOURCE_START: &str = "<!-- spec-source: written by `cargo xtask gen --spec` -->";
const SOURCE_END: &str = "<!-- /spec-source -->";
const API_HEADING: &str = "### API changes";

/// Today's date (UTC), `YYYY-MM-DD`.
pub fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    civil_date((secs / 86_400) as i64)
}

/// The calendar date of a day number since 1970-01-01 (H. Hinnant's algorithm).
fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Records where the spec came from in `openapi/README.md` (part of the fingerprint, so
/// before the generation).
pub fn record_source(root: &Path, source: &str, info_version: &str) -> Result<()> {
    let date = today();
    let readme = root.join("openapi/README.md");
    let text = std::fs::read_to_string(&readme).unwrap_or_else(|_| "# openapi/\n".into());
    let block = format!(
        "{SOURCE_START}\n**Current spec:** `openapi.yaml` taken on {date} from {source} \
         (`info.version` {info_version}) with `cargo xtask gen --spec`.\n{SOURCE_END}"
    );
    std::fs::write(&readme, replace_block(&text, &block))
        .with_context(|| format!("writing {}", readme.display()))
}

/// Writes the API changes into the "API changes" section of `CHANGELOG.md`.
pub fn record_changes(root: &Path, source: &str, info_version: &str, d: &Diff) -> Result<()> {
    let changelog = root.join("CHANGELOG.md");
    let text = std::fs::read_to_string(&changelog)
        .unwrap_or_else(|_| "# Changelog\n\n## Unreleased\n".into());
    let entry = entry(&today(), source, info_version, d);
    std::fs::write(&changelog, insert_entry(&text, &entry))
        .with_context(|| format!("writing {}", changelog.display()))
}

fn replace_block(text: &str, block: &str) -> String {
    match (text.find(SOURCE_START), text.find(SOURCE_END)) {
        (Some(a), Some(b)) if b > a => {
            format!("{}{block}{}", &text[..a], &text[b + SOURCE_END.len()..])
        }
        _ => {
            // After the title line.
            let at = text.find('\n').map(|i| i + 1).unwrap_or(text.len());
            format!("{}\n{block}\n{}", &text[..at], &text[at..])
        }
    }
}

/// The CHANGELOG entry: the summary, every breaking change, the operations added.
fn entry(date: &str, source: &str, info_version: &str, d: &Diff) -> String {
    let mut out = format!(
        "#### Spec from {source} (`info.version` {info_version}), taken on {date}\n\n{}.\n",
        d.summary()
    );
    let breaking: Vec<_> = d.changes.iter().filter(|c| c.breaking).collect();
    if !breaking.is_empty() {
        out += "\nBreaking for Rust users:\n\n";
        for c in breaking {
            out += &format!("- `{}`: {}\n", c.subject, c.detail);
        }
    }
    let added: Vec<_> = d
        .changes
        .iter()
        .filter(|c| c.kind == "operation" && c.change == "added")
        .collect();
    if !added.is_empty() {
        out += "\nNew operations:\n\n";
        for c in added {
            out += &format!("- `{}`\n", c.subject);
        }
    }
    let rest = d.changes.len()
        - d.changes
            .iter()
            .filter(|c| c.breaking || (c.kind == "operation" && c.change == "added"))
            .count();
    if rest > 0 {
        out += &format!(
            "\n{rest} further additive change(s): `cargo xtask diff` with the previous spec lists them.\n"
        );
    }
    out
}

/// Puts `entry` first under "### API changes" of "## Unreleased" (made if missing).
fn insert_entry(text: &str, entry: &str) -> String {
    let mut text = text.to_owned();
    if !text.contains("## Unreleased") {
        let at = text.find("\n## ").map(|i| i + 1).unwrap_or(text.len());
        text.insert_str(at, "## Unreleased\n\n");
    }
    let unreleased = text.find("## Unreleased").unwrap_or(0);
    let section_end = text[unreleased + 3..]
        .find("\n## ")
        .map(|i| unreleased + 3 + i + 1)
        .unwrap_or(text.len());
    let heading = text[unreleased..section_end]
        .find(API_HEADING)
        .map(|i| unreleased + i);
    let at = match heading {
        Some(h) => text[h..]
            .find('\n')
            .map(|i| h + i + 1)
            .unwrap_or(text.len()),
        None => {
            let line_end = text[unreleased..]
                .find('\n')
                .map(|i| unreleased + i + 1)
                .unwrap_or(text.len());
            text.insert_str(line_end, &format!("\n{API_HEADING}\n"));
            line_end + API_HEADING.len() + 2
        }
    };
    text.insert_str(at, &format!("\n{entry}"));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(20_686), "2026-08-21");
        assert_eq!(civil_date(11_016), "2000-02-29");
    }

    #[test]
    fn changelog_entries_go_under_unreleased_api_changes() {
        let t = "# Changelog\n\n## Unreleased\n\n### Fixed\n\n- x\n\n## 0.1.0\n\n- y\n";
        let once = insert_entry(t, "#### Spec A\n");
        assert!(
            once.contains("## Unreleased\n\n### API changes\n\n#### Spec A\n"),
            "{once}"
        );
        let twice = insert_entry(&once, "#### Spec B\n");
        let a = twice.find("Spec A").unwrap();
        let b = twice.find("Spec B").unwrap();
        assert!(b < a && a < twice.find("## 0.1.0").unwrap(), "{twice}");
        assert_eq!(twice.matches(API_HEADING).count(), 1);
        let fresh = insert_entry("# Changelog\n", "#### Spec C\n");
        assert!(
            fresh.contains("## Unreleased\n\n### API changes\n\n#### Spec C"),
            "{fresh}"
        );
    }

    #[test]
    fn source_block_is_replaced() {
        let t = "# openapi/\n\nmore\n";
        let a = replace_block(t, &format!("{SOURCE_START}\none\n{SOURCE_END}"));
        let b = replace_block(&a, &format!("{SOURCE_START}\ntwo\n{SOURCE_END}"));
        assert!(
            b.contains("two") && !b.contains("one") && b.ends_with("more\n"),
            "{b}"
        );
    }
}
