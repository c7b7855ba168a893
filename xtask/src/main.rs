//! `cargo xtask`: code generation and project chores for openai-sdk.
//!
//! - `cargo xtask gen`: regenerate `generated/` from `openapi/`.
//! - `cargo xtask gen --check`: fail when `generated/` (or Cargo.toml's group features) is
//!   stale (CI runs it).
//! - `cargo xtask gen --spec FILE [--source TEXT]`: take a new spec (copy it to
//!   `openapi/openapi.yaml`, record where from, write the API changes into CHANGELOG.md)
//!   and regenerate.
//! - `cargo xtask diff OLD.yaml [NEW.yaml] [--json]`: the API change report.
//! - `cargo xtask prism-spec OUT`: write the spec Prism validates requests against.
//!
//! `XTASK_ROOT` overrides the project directory (scripts run one build of the xtask on
//! scratch copies of the project).

mod cargo_features;
mod changelog;
mod diagnose;
mod diff;
mod extras;
mod features;
mod fingerprint;
mod normalize;
mod patches;
mod postprocess;
mod repair;
mod synth;
mod validate;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use serde_json::Value;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("gen") => GenArgs::parse(&args[1..]).and_then(|a| gen(&a)),
        Some("diff") => diff::cli(&args[1..]),
        Some("synth-next") => synth::cli(&args[1..]),
        Some("prism-spec") => match args.get(1) {
            Some(out) => prism_spec(Path::new(out)),
            None => Err(anyhow::anyhow!("usage: cargo xtask prism-spec OUT.json")),
        },
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: cargo xtask gen [--check] [--spec FILE [--source TEXT]]\n\
     \x20      cargo xtask diff OLD.yaml [NEW.yaml] [--json]\n\
     \x20      cargo xtask synth-next OUT.yaml [IN.yaml]\n\
     \x20      cargo xtask prism-spec OUT.json";

/// The options of `cargo xtask gen`.
#[derive(Debug, Default)]
struct GenArgs {
    check: bool,
    /// A new spec to take.
    spec: Option<PathBuf>,
    /// Where the new spec came from (recorded in openapi/README.md), the file if not given.
    source: Option<String>,
}

impl GenArgs {
    fn parse(args: &[String]) -> Result<GenArgs> {
        let mut out = GenArgs::default();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--check" => out.check = true,
                "--spec" => out.spec = Some(it.next().context("--spec needs a FILE")?.into()),
                "--source" => {
                    out.source = Some(it.next().context("--source needs a TEXT")?.clone())
                }
                other => bail!("unknown argument {other:?}\n{USAGE}"),
            }
        }
        if out.check && out.spec.is_some() {
            bail!("--check and --spec do not go together (--check changes nothing)");
        }
        Ok(out)
    }
}

fn root() -> PathBuf {
    if let Some(r) = std::env::var_os("XTASK_ROOT") {
        return PathBuf::from(r);
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Reads `openapi/openapi.yaml` as JSON, with the int64 literal fix applied.
/// `warn`: print the loader's warnings (duplicate keys); off where the same text was
/// already read and warned about.
fn load_spec(counts: &mut normalize::Counts, warn: bool) -> Result<Value> {
    load_spec_file_with(&root().join("openapi/openapi.yaml"), counts, warn)
}

/// Reads a spec file as JSON (int64 literal fix applied) and checks that it is OpenAPI 3.x
/// with no `$ref` to nothing: every error names the file (and the JSON pointer).
fn load_spec_file(path: &Path, counts: &mut normalize::Counts) -> Result<Value> {
    load_spec_file_with(path, counts, true)
}

fn load_spec_file_with(path: &Path, counts: &mut normalize::Counts, warn: bool) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let text = normalize::fix_int64_literals(&text, counts);
    let (doc, warnings) = validate::parse_yaml(&text, path)?;
    if warn {
        for w in warnings {
            eprintln!("warning: {w}");
        }
    }
    validate::check(&doc, path)?;
    Ok(doc)
}

fn gen(args: &GenArgs) -> Result<()> {
    if args.spec.is_none() {
        return gen_inner(args);
    }
    // Taking a new spec is all or nothing: when generation fails on it (a rule or a patch
    // is missing), the files it touched are put back, so that `gen --spec FILE` can simply
    // run again after the fix, and diff against the spec it really replaces.
    let touched = [
        "openapi/openapi.yaml",
        "openapi/README.md",
        "Cargo.toml",
        "CHANGELOG.md",
    ];
    let saved: Vec<(PathBuf, Option<Vec<u8>>)> = touched
        .iter()
        .map(|f| {
            let p = root().join(f);
            let text = std::fs::read(&p).ok();
            (p, text)
        })
        .collect();
    let result = gen_inner(args);
    if result.is_err() {
        let mut restored = Vec::new();
        for (path, text) in &saved {
            let Some(text) = text else { continue };
            if std::fs::read(path).ok().as_ref() != Some(text) && std::fs::write(path, text).is_ok()
            {
                restored.push(path.display().to_string());
            }
        }
        if !restored.is_empty() {
            eprintln!(
                "the new spec was not taken: {} put back as they were",
                restored.join(", ")
            );
        }
    }
    result
}

fn gen_inner(args: &GenArgs) -> Result<()> {
    let started = std::time::Instant::now();
    let check = args.check;
    let spec_path = root().join("openapi/openapi.yaml");
    // The file errors name: the one being taken (put back on failure), else the pinned one.
    let shown = args.spec.as_deref().unwrap_or(&spec_path).display();
    // The API change report against the spec this generation replaces: the current file when
    // taking a new one, else the committed one when the file was replaced by hand. It runs
    // beside the generation.
    let (old_spec, new_spec): (Option<PathBuf>, PathBuf) = match &args.spec {
        Some(new) => {
            // A copy: the file is replaced below while the diff reads it.
            let old =
                std::env::temp_dir().join(format!("openapi-replaced-{}.yaml", std::process::id()));
            std::fs::copy(&spec_path, &old)
                .with_context(|| format!("copying {} aside", spec_path.display()))?;
            (Some(old), new.clone())
        }
        None if !check => (committed_spec(), spec_path.clone()),
        None => (None, spec_path.clone()),
    };
    if let Some(new) = &args.spec {
        // A bad spec fails here, before anything is touched.
        load_spec_file(new, &mut normalize::Counts::new())?;
    }
    let differ = old_spec.map(|old| {
        let new = new_spec.clone();
        std::thread::spawn(move || {
            let d = diff::diff_files(&old, &new, false);
            (old, d)
        })
    });
    let source = args.spec.as_ref().map(|new| {
        args.source
            .clone()
            .unwrap_or_else(|| new.display().to_string())
    });
    if let Some(new) = &args.spec {
        std::fs::copy(new, &spec_path)
            .with_context(|| format!("copying {} to {}", new.display(), spec_path.display()))?;
    }
    let mut counts = normalize::Counts::new();
    // Taking a new spec, its text was read (and warned about) above.
    let mut doc = load_spec(&mut counts, args.spec.is_none())?;
    let info_version = doc_version(&doc);
    if let Some(source) = &source {
        changelog::record_source(&root(), source, &info_version)?;
    }
    let raw_ops = features::operations(&doc).map_err(|e| anyhow::anyhow!("{shown}: {e:#}"))?;

    let applied = patches::apply(&mut doc, &root().join("openapi/patches.json"))?;
    let mut report = normalize::normalize(&mut doc)
        .map_err(|e| anyhow::anyhow!("{shown}: normalising: {e:#}"))?;
    report.counts.extend(counts);

    let spec: openapiv3::OpenAPI = serde_path_to_error::deserialize(doc.clone()).map_err(|e| {
        // serde's path stops at the untagged and flattened parts of openapiv3's types: the
        // innermost object that does not read is found by reading them one by one.
        let (pointer, why) = diagnose::locate_invalid(&doc)
            .unwrap_or_else(|| (json_pointer(e.path()), e.inner().to_string()));
        anyhow::anyhow!(
            "{}: #{pointer}: not valid OpenAPI 3.0 after normalisation and patches: {why}",
            shown,
        )
    })?;
    let mut settings = progenitor_impl::GenerationSettings::new();
    settings
        .with_interface(progenitor_impl::InterfaceStyle::Positional)
        .with_tag(progenitor_impl::TagStyle::Merged)
        .with_inner_type(quote::quote! { crate::client::Inner })
        .with_hooks(progenitor_impl::HooksMode::Expected)
        .with_derive("PartialEq")
        .with_replacement(
            "FileUpload",
            "crate::multipart::FilePart",
            std::iter::empty(),
        );
    let mut generator = progenitor_impl::Generator::new(&settings);
    let generated = match guard_panics(|| generator.generate_tokens(&spec)) {
        Ok(Ok(t)) => Ok(t),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let tokens = match generated {
        Ok(t) => t,
        Err(msg) => {
            eprintln!("progenitor failed ({msg}); locating the schema or operation...");
            bail!(
                "{}: progenitor cannot generate the normalised spec at {}\n\
                 (paths are JSON pointers into the spec after normalisation and patches; \
                 fix it with a patch in openapi/patches.json or a rule in xtask/src/normalize.rs \
                 or xtask/src/repair.rs)",
                shown,
                diagnose::locate(&doc)
            );
        }
    };
    let file: syn::File =
        syn::parse2(tokens).context("progenitor's output does not parse as Rust")?;

    let out = postprocess::run(file, &doc, &raw_ops, &report)?;

    let fingerprint = fingerprint::of_dir(&root().join("openapi"))?;
    let header = |what: &str| {
        format!(
            "// @generated by `cargo xtask gen` from openapi/. DO NOT EDIT.\n\
             // openapi-fingerprint: {fingerprint}\n\
             // Change openapi/patches.json or xtask/ and run `cargo xtask gen`.\n{what}\n"
        )
    };
    // Every file of generated/, by path relative to it.
    let mut files: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    files.insert(
        "openai.rs".into(),
        header("") + &prettyplease::unparse(&out.file),
    );
    for (dir, parts) in [("types", &out.type_parts), ("methods", &out.method_parts)] {
        for (name, part) in parts {
            let cfg = part.cfg.to_string();
            let body = syn::File {
                shebang: None,
                attrs: vec![],
                items: part.items.clone(),
            };
            files.insert(
                format!("{dir}/{name}"),
                header(&format!("// Included by openai.rs under #[cfg({cfg})].\n"))
                    + &prettyplease::unparse(&body),
            );
        }
    }
    files.insert("roundtrip.rs".into(), header("") + &out.roundtrip_table);
    let mut groups = features::all_groups();
    groups.push("webhooks");
    let feature_changes = cargo_features::sync(
        &root().join("Cargo.toml"),
        &groups,
        features::DEFAULT,
        &features::derived(),
        check,
    )?;
    print_report(&report, &applied, &out, &raw_ops);
    for c in &feature_changes {
        println!("Cargo.toml: {c}");
    }
    if let Some(h) = differ {
        match h.join() {
            Ok((old, Ok(d))) => {
                println!(
                    "API changes against the spec this replaces: {}",
                    d.summary()
                );
                let _ = std::fs::remove_file(&old);
                if args.spec.is_none() {
                    println!(
                        "  (full report: cargo xtask diff OLD.yaml, OLD being the committed spec)"
                    );
                } else {
                    println!("  (full report: cargo xtask diff OLD.yaml with the replaced spec)");
                }
                if let Some(source) = &source {
                    changelog::record_changes(&root(), source, &info_version, &d)?;
                    println!(
                        "CHANGELOG.md: API changes recorded; openapi/README.md: source recorded"
                    );
                }
            }
            Ok((_, Err(e))) => println!("API changes: not computed ({e:#})"),
            Err(_) => println!("API changes: not computed (the diff panicked)"),
        }
    }

    let gen_dir = root().join("generated");
    let existing = list_files(&gen_dir)?;
    if check {
        let mut stale = Vec::new();
        for (rel, text) in &files {
            if std::fs::read_to_string(gen_dir.join(rel)).ok().as_deref() != Some(text.as_str()) {
                stale.push(rel.clone());
            }
        }
        for rel in &existing {
            if !files.contains_key(rel) {
                stale.push(format!("{rel} (no longer generated)"));
            }
        }
        if !stale.is_empty() {
            bail!(
                "generated/ is stale: {} file(s) differ from what `cargo xtask gen` would write \
                 (first: {}). Run `cargo xtask gen` and commit the result.",
                stale.len(),
                stale[0]
            );
        }
        println!(
            "generated/ is up to date ({} files, {:.1?})",
            files.len(),
            started.elapsed()
        );
    } else {
        for rel in &existing {
            if !files.contains_key(rel) {
                std::fs::remove_file(gen_dir.join(rel))?;
            }
        }
        let mut lines = 0;
        for (rel, text) in &files {
            let path = gen_dir.join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                std::fs::write(&path, text)?;
            }
            lines += text.lines().count();
        }
        println!(
            "wrote generated/: {} files, {lines} lines, in {:.1?}",
            files.len(),
            started.elapsed()
        );
    }
    Ok(())
}

/// The spec as committed (`git show HEAD:openapi/openapi.yaml`), written to a temporary
/// file, when the working file differs from it.
fn committed_spec() -> Option<PathBuf> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(root())
        .args(["show", "HEAD:openapi/openapi.yaml"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let current = std::fs::read(root().join("openapi/openapi.yaml")).ok()?;
    if current == out.stdout {
        return None;
    }
    let tmp = std::env::temp_dir().join(format!("openapi-committed-{}.yaml", std::process::id()));
    std::fs::write(&tmp, &out.stdout).ok()?;
    Some(tmp)
}

/// A serde path (`paths./a.get.responses`) as a JSON pointer (`/paths/~1a/get/responses`).
fn json_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    path.iter()
        .map(|s| match s {
            Segment::Seq { index } => format!("/{index}"),
            Segment::Map { key } => format!("/{}", validate::escape(key)),
            Segment::Enum { variant } => format!("/{}", validate::escape(variant)),
            Segment::Unknown => "/?".to_owned(),
        })
        .collect()
}

/// `info.version` of a document, or `?`.
fn doc_version(doc: &Value) -> String {
    doc.pointer("/info/version")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_owned()
}

/// Every file under `dir`, as paths relative to it.
fn list_files(dir: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(rel) = p.strip_prefix(dir) {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    Ok(out)
}

fn print_report(
    report: &normalize::Report,
    applied: &[patches::Applied],
    out: &postprocess::Output,
    raw_ops: &[features::Operation],
) {
    println!("transformations:");
    for (k, n) in &report.counts {
        println!("  {n:>5}  {k}");
    }
    for (k, n) in &out.counts {
        println!("  {n:>5}  {k}");
    }
    if !report.repairs.is_empty() {
        println!(
            "spec errors repaired ({}; rules 22-25 in xtask/src/repair.rs):",
            report.repairs.len()
        );
        for r in &report.repairs {
            println!("  {r}");
        }
    }
    let stale: Vec<&patches::Applied> = applied.iter().filter(|a| a.stale.is_some()).collect();
    println!(
        "patches (openapi/patches.json): {} applied, {} stale",
        applied.len() - stale.len(),
        stale.len()
    );
    for a in applied.iter().filter(|a| a.stale.is_none()) {
        println!("  {} {}: {}", a.op, a.path, a.reason);
    }
    if !stale.is_empty() {
        println!("stale patches (skipped; remove or update them in openapi/patches.json):");
        for a in &stale {
            println!(
                "  {} {}: {} [patch reason: {}]",
                a.op,
                a.path,
                a.stale.as_deref().unwrap_or_default(),
                a.reason
            );
        }
    }
    let derived = features::derived();
    if !derived.is_empty() {
        println!("new API groups (features derived from their names; name them in GROUPS in xtask/src/features.rs to choose another):");
        for (f, from) in &derived {
            println!("  feature `{f}` from {from}");
        }
    }
    for (id, file) in &out.hand_written_gone {
        println!(
            "hand-written operation {id} ({file}) is not in the spec any more: remove it or keep it deliberately"
        );
    }
    for w in &out.warnings {
        println!("warning: {w}");
    }
    println!(
        "coverage: {} operations in the spec / {} generated / {} hand-written in src/ / {} unsupported",
        raw_ops.len(),
        out.generated_ops,
        out.hand_written.len(),
        out.unsupported.len()
    );
    for (op, why) in &out.unsupported {
        println!("  unsupported: {op}: {why}");
    }
}

/// Turns a panic inside progenitor or typify into an error with its message.
fn guard_panics<T>(f: impl FnOnce() -> T) -> Result<T> {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(prev);
    r.map_err(|p| {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".into());
        anyhow::anyhow!("generator panicked: {msg}")
    })
}

/// Writes the spec Prism serves: the raw spec with every `nullable: true` that has no
/// `type` rewritten as `anyOf: [schema, {type: null}]`, since Prism's validator refuses
/// those schemas and then silently skips request validation.
fn prism_spec(out: &Path) -> Result<()> {
    let mut counts = normalize::Counts::new();
    let mut doc = load_spec(&mut counts, true)?;
    let n = fix_untyped_nullable(&mut doc);
    std::fs::write(out, serde_json::to_vec(&doc)?)?;
    println!(
        "wrote {} ({n} untyped nullable schemas rewritten)",
        out.display()
    );
    Ok(())
}

fn fix_untyped_nullable(v: &mut Value) -> usize {
    let mut n = 0;
    match v {
        Value::Object(obj) => {
            for (_, x) in obj.iter_mut() {
                n += fix_untyped_nullable(x);
            }
            if obj.get("nullable") == Some(&Value::Bool(true)) && !obj.contains_key("type") {
                obj.remove("nullable");
                let inner = Value::Object(std::mem::take(obj));
                obj.insert("anyOf".into(), serde_json::json!([inner, {"type": "null"}]));
                n += 1;
            }
        }
        Value::Array(a) => {
            for x in a {
                n += fix_untyped_nullable(x);
            }
        }
        _ => {}
    }
    n
}
