//! The retry headers a server sends (`openai_sdk::retry::server_delay` and
//! `should_retry_header`): `retry-after-ms`, `Retry-After` (seconds or an HTTP date) and
//! `x-should-retry`, with any bytes as values, on every response (2xx included):
//! - never panics (`retry-after-ms: 1e23` once did, in `Duration::from_secs_f64`);
//! - the delay is `None` or at most `MAX_SERVER_DELAY` (60 s), whatever the values;
//! - a `retry-after-ms` that is a number from 0 to 60000 gives exactly that delay; a
//!   `Retry-After` alone that is a number from 0 to 60 gives that many seconds;
//! - `x-should-retry` is `Some` only for `true` / `false` (surrounding whitespace allowed).
//!
//! Input: three values separated by `\n` (`retry-after-ms`, `retry-after`, `x-should-retry`;
//! a missing one is absent, a value that is not a valid header value is left out), after
//! eight bytes that set the clock.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::{HeaderMap, HeaderValue};
use openai_sdk::retry::{server_delay, should_retry_header, MAX_SERVER_DELAY};

const NAMES: [&str; 3] = ["retry-after-ms", "retry-after", "x-should-retry"];

pub fn check(data: &[u8]) {
    let (clock, rest) = data.split_at(data.len().min(8));
    let mut seconds = [0u8; 8];
    seconds[..clock.len()].copy_from_slice(clock);
    // Any time from 1970 to about year 10000 (HTTP dates cover that range).
    let now = UNIX_EPOCH + Duration::from_secs(u64::from_le_bytes(seconds) % 253_402_300_800);
    let values: Vec<&[u8]> = rest.split(|&b| b == b'\n').take(NAMES.len()).collect();

    let mut headers = HeaderMap::new();
    for (name, value) in NAMES.iter().zip(&values) {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.insert(*name, value);
        }
    }
    check_headers(&headers, now);
    // Each header alone, too: the fallbacks from one to the other must hold as well.
    for name in NAMES {
        if let Some(value) = headers.get(name) {
            let mut alone = HeaderMap::new();
            alone.insert(name, value.clone());
            check_headers(&alone, now);
        }
    }
}

fn number(headers: &HeaderMap, name: &str) -> Option<f64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

fn check_headers(headers: &HeaderMap, now: SystemTime) {
    let delay = server_delay(headers, now);
    if let Some(delay) = delay {
        assert!(delay <= MAX_SERVER_DELAY, "{headers:?} gave {delay:?}");
    }
    if let Some(ms) = number(headers, "retry-after-ms").filter(|ms| (0.0..=60_000.0).contains(ms)) {
        let expected = Duration::from_secs_f64((ms / 1000.0).abs());
        assert_eq!(delay, Some(expected), "{headers:?}");
    } else if !headers.contains_key("retry-after-ms") {
        if let Some(secs) = number(headers, "retry-after").filter(|s| (0.0..=60.0).contains(s)) {
            assert_eq!(
                delay,
                Some(Duration::from_secs_f64(secs.abs())),
                "{headers:?}"
            );
        }
    }
    let advice = should_retry_header(headers);
    let said = headers
        .get("x-should-retry")
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    match advice {
        Some(true) => assert_eq!(said, Some("true")),
        Some(false) => assert_eq!(said, Some("false")),
        None => assert!(!matches!(said, Some("true" | "false"))),
    }
}
