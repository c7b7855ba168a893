//! The path-parameter check (`openai_sdk::path_segment`), against the URL parser it guards:
//! - an empty value, `.` and `..` are refused with `Error::Config` naming the parameter, and
//!   nothing else is refused;
//! - every accepted value, placed between two segments of an `http` URL, stays exactly one
//!   segment after the URL parser's normalization (no `.`/`..` climbing, no `\` read as `/`,
//!   no tab or newline stripped, no `?`/`#` cutting the path), and that segment decodes back to
//!   the value byte for byte;
//! - nothing panics.

use openai_sdk::Error;

pub fn check(data: &[u8]) {
    let value = String::from_utf8_lossy(data);
    check_value(&value);
    // Short values are where `.`/`..` lurk: also try the value's first characters.
    for n in 0..value.chars().count().min(3) {
        let prefix: String = value.chars().take(n).collect();
        check_value(&prefix);
    }
}

fn check_value(value: &str) {
    let refused = matches!(value, "" | "." | "..");
    match openai_sdk::path_segment("param_id", value) {
        Err(Error::Config(message)) => {
            assert!(refused, "{value:?} refused: {message}");
            assert!(message.contains("`param_id`"), "{message}");
        }
        Err(other) => panic!("{value:?}: not a Config error: {other:?}"),
        Ok(encoded) => {
            assert!(!refused, "{value:?} accepted as {encoded:?}");
            for scheme in ["http", "https"] {
                let url = format!("{scheme}://h.example/v1/vector_stores/{encoded}/files");
                let parsed = url::Url::parse(&url)
                    .unwrap_or_else(|e| panic!("{value:?} -> {url:?} does not parse: {e}"));
                assert_eq!(parsed.query(), None, "{value:?} -> {parsed}");
                assert_eq!(parsed.fragment(), None, "{value:?} -> {parsed}");
                let segments: Vec<&str> = parsed.path_segments().unwrap().collect();
                assert_eq!(segments.len(), 4, "{value:?} -> {parsed}");
                assert_eq!(segments[0], "v1");
                assert_eq!(segments[1], "vector_stores");
                assert_eq!(segments[3], "files");
                let decoded: Vec<u8> = percent_encoding::percent_decode_str(segments[2]).collect();
                assert_eq!(decoded, value.as_bytes(), "{value:?} -> {parsed}");
            }
        }
    }
}
