// Shared by build.rs and xtask (via `include!`): a stable fingerprint of the files in a
// directory. FNV-1a over each file's name and bytes, in sorted name order. It only has to
// notice that openapi/ changed, so a small non-cryptographic hash is enough and keeps
// build.rs free of dependencies.

/// Fingerprint of every regular file directly inside `dir`, as 16 hex digits.
pub fn of_dir(dir: &std::path::Path) -> std::io::Result<String> {
    let mut names: Vec<std::path::PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    names.sort();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for p in &names {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        eat(name.as_bytes());
        eat(&[0]);
        // Normalise line endings so a checkout with CRLF gives the same fingerprint.
        let bytes = std::fs::read(p)?;
        let text: Vec<u8> = bytes.into_iter().filter(|b| *b != b'\r').collect();
        eat(&text);
        eat(&[0]);
    }
    Ok(format!("{h:016x}"))
}
