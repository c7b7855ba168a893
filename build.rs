//! Ties the crate to `generated/`: fails the build when `openapi/` changed without a
//! regeneration. It does no generation itself, so users never compile progenitor.

include!("build/fingerprint.rs");

/// The API groups with multipart (form) operations: the form-sending code is compiled only
/// when one of them is on, under the one cfg `sends_forms`.
const FORM_GROUPS: &[&str] = &[
    "AUDIO",
    "CONTAINERS",
    "CONTENT_PROVENANCE",
    "FILES",
    "IMAGES",
    "REALTIME",
    "SKILLS",
    "UPLOADS",
    "VIDEOS",
];

fn main() {
    println!("cargo::rustc-check-cfg=cfg(sends_forms)");
    if FORM_GROUPS
        .iter()
        .any(|g| std::env::var_os(format!("CARGO_FEATURE_{g}")).is_some())
    {
        println!("cargo::rustc-cfg=sends_forms");
    }
    println!("cargo:rerun-if-changed=openapi");
    println!("cargo:rerun-if-changed=generated/openai.rs");
    let manifest =
        std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let openapi = manifest.join("openapi");
    let generated = manifest.join("generated/openai.rs");
    let Ok(actual) = of_dir(&openapi) else {
        // A packaged crate without openapi/ has nothing to compare.
        return;
    };
    let header = std::fs::read_to_string(&generated).unwrap_or_default();
    let recorded = header
        .lines()
        .take(5)
        .find_map(|l| l.strip_prefix("// openapi-fingerprint: "))
        .map(str::trim);
    match recorded {
        Some(r) if r == actual => {}
        Some(r) => panic!(
            "openapi/ changed since generated/ was written (fingerprint {actual}, generated/ was \
             made from {r}): run `cargo xtask gen` and commit generated/"
        ),
        None => panic!(
            "generated/openai.rs is missing or has no openapi-fingerprint header: run `cargo xtask gen`"
        ),
    }
}
