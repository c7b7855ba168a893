//! What an answer says besides its body: the HTTP status, the headers, the request id
//! (`x-request-id`) and the rate limits (`x-ratelimit-*`).
//!
//! Where to find them:
//!
//! - a generated operation, a hand-written upload and a generic call ([`Client::get`](crate::Client::get),
//!   ...) return a [`ResponseValue`]: its `status()` and `headers()`, and with
//!   [`ResponseExt`] in scope `request_id()`, `rate_limits()` and `metadata()`;
//! - the helper streams (chat, Responses, Assistants, [`EventStream`](crate::streaming::EventStream))
//!   have `request_id()`, `headers()` and `metadata()` from the moment they are returned
//!   (a stream is returned once its answer's headers have arrived);
//! - the non-streamed helpers' results carry the metadata of their last answer:
//!   `chat::ParsedChatCompletion::metadata`, `responses::Parsed::metadata`; the tool loops' runs (`tools::ToolRun`) have
//!   `metadata`, one per round; the Assistants and vector-store poll helpers' objects
//!   (`assistants::Snapshot::metadata`) and `files().wait_for_processing` (a
//!   `ResponseValue`) the last read's;
//! - an error answer's request id is [`Error::request_id`](crate::Error::request_id).
//!
//! ```
//! use openai_sdk::{ResponseExt, ResponseValue};
//! # let mut headers = reqwest::header::HeaderMap::new();
//! # headers.insert("x-request-id", "req_123".parse().unwrap());
//! # headers.insert("x-ratelimit-remaining-requests", "59".parse().unwrap());
//! # headers.insert("x-ratelimit-reset-tokens", "6m0.5s".parse().unwrap());
//! # let models = ResponseValue::new((), reqwest::StatusCode::OK, headers);
//! // let models = client.list_models().await?;
//! assert_eq!(models.request_id(), Some("req_123"));
//! let limits = models.rate_limits();
//! assert_eq!(limits.requests.remaining, Some(59));
//! assert_eq!(limits.tokens.reset, Some(std::time::Duration::from_millis(360_500)));
//! ```

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;

pub use progenitor_client::ResponseValue;

/// The status and headers of an answer, with typed views of the ones the API documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseMetadata {
    status: StatusCode,
    headers: HeaderMap,
}

impl ResponseMetadata {
    /// The metadata of an answer with this status and these headers.
    pub fn new(status: StatusCode, headers: HeaderMap) -> Self {
        ResponseMetadata { status, headers }
    }

    /// The metadata of a response (its headers are copied).
    pub fn of(response: &reqwest::Response) -> Self {
        Self::new(response.status(), response.headers().clone())
    }

    /// The metadata of a blocking response (feature `blocking`).
    #[cfg(feature = "blocking")]
    pub fn of_blocking(response: &reqwest::blocking::Response) -> Self {
        Self::new(response.status(), response.headers().clone())
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Every header of the answer.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The `x-request-id` header: quote it to OpenAI support.
    pub fn request_id(&self) -> Option<&str> {
        request_id(&self.headers)
    }

    /// The `x-ratelimit-*` headers, typed.
    pub fn rate_limits(&self) -> RateLimits {
        RateLimits::from_headers(&self.headers)
    }

    /// A header's value as text (`None` when absent or not text).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// `inner` with this status and these headers, as a generated operation returns it.
    #[cfg_attr(not(feature = "files"), allow(dead_code))]
    pub(crate) fn into_value<T>(self, inner: T) -> ResponseValue<T> {
        ResponseValue::new(inner, self.status, self.headers)
    }
}

fn request_id(headers: &HeaderMap) -> Option<&str> {
    headers.get("x-request-id").and_then(|v| v.to_str().ok())
}

/// One rate limit (requests or tokens): `x-ratelimit-limit-*`, `x-ratelimit-remaining-*`
/// and `x-ratelimit-reset-*`. A header that is absent or does not parse is `None`; its
/// raw text stays in the headers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// The most allowed in the window.
    pub limit: Option<u64>,
    /// What is left in the window.
    pub remaining: Option<u64>,
    /// When the window resets (the API sends durations such as `1s`, `6m0s`, `20ms`).
    pub reset: Option<Duration>,
}

/// The rate limits an answer reports: requests and tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimits {
    /// `x-ratelimit-{limit,remaining,reset}-requests`.
    pub requests: RateLimit,
    /// `x-ratelimit-{limit,remaining,reset}-tokens`.
    pub tokens: RateLimit,
}

impl RateLimits {
    /// Reads the `x-ratelimit-*` headers.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let number = |name: &str| get(name).and_then(|v| v.trim().parse::<u64>().ok());
        let reset = |name: &str| get(name).and_then(parse_reset);
        RateLimits {
            requests: RateLimit {
                limit: number("x-ratelimit-limit-requests"),
                remaining: number("x-ratelimit-remaining-requests"),
                reset: reset("x-ratelimit-reset-requests"),
            },
            tokens: RateLimit {
                limit: number("x-ratelimit-limit-tokens"),
                remaining: number("x-ratelimit-remaining-tokens"),
                reset: reset("x-ratelimit-reset-tokens"),
            },
        }
    }
}

/// Parses a reset duration as the API writes it: Go-style units (`1h2m3.5s`, `20ms`,
/// `6m0s`), or a bare number of seconds.
pub(crate) fn parse_reset(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(secs) = text.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let mut total = 0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if number_len == 0 {
            return None;
        }
        let value: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += value * scale;
    }
    (total.is_finite() && total >= 0.0).then(|| Duration::from_secs_f64(total))
}

/// Request id, rate limits and the whole [`ResponseMetadata`] of a [`ResponseValue`]
/// (what generated operations, uploads and generic calls return). Its `status()` and
/// `headers()` are its own methods.
pub trait ResponseExt {
    /// The `x-request-id` header.
    fn request_id(&self) -> Option<&str>;
    /// The `x-ratelimit-*` headers, typed.
    fn rate_limits(&self) -> RateLimits;
    /// The status and headers, as one value to keep.
    fn metadata(&self) -> ResponseMetadata;
}

impl<T> ResponseExt for ResponseValue<T> {
    fn request_id(&self) -> Option<&str> {
        request_id(self.headers())
    }
    fn rate_limits(&self) -> RateLimits {
        RateLimits::from_headers(self.headers())
    }
    fn metadata(&self) -> ResponseMetadata {
        ResponseMetadata::new(self.status(), self.headers().clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_durations_as_the_api_writes_them() {
        let ms = |n: u64| Some(Duration::from_millis(n));
        assert_eq!(parse_reset("1s"), ms(1000));
        assert_eq!(parse_reset("6m0s"), ms(360_000));
        assert_eq!(parse_reset("20ms"), ms(20));
        assert_eq!(parse_reset("1h2m3.5s"), ms(3_723_500));
        assert_eq!(parse_reset("0.5"), ms(500));
        assert_eq!(parse_reset("7.66s"), ms(7660));
        for bad in ["", "s", "5x", "-1s", "1m-2s", "NaN"] {
            assert_eq!(parse_reset(bad), None, "{bad}");
        }
    }

    #[test]
    fn rate_limits_from_headers() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("x-ratelimit-limit-requests", "60"),
            ("x-ratelimit-remaining-requests", "59"),
            ("x-ratelimit-reset-requests", "1s"),
            ("x-ratelimit-limit-tokens", "150000"),
            ("x-ratelimit-remaining-tokens", "not a number"),
        ] {
            h.insert(k, v.parse().unwrap());
        }
        let r = RateLimits::from_headers(&h);
        assert_eq!(r.requests.limit, Some(60));
        assert_eq!(r.requests.remaining, Some(59));
        assert_eq!(r.requests.reset, Some(Duration::from_secs(1)));
        assert_eq!(r.tokens.limit, Some(150_000));
        assert_eq!(
            r.tokens.remaining, None,
            "unparsable: None, raw header kept"
        );
        assert_eq!(r.tokens.reset, None);
        let m = ResponseMetadata::new(StatusCode::OK, h);
        assert_eq!(
            m.header("x-ratelimit-remaining-tokens"),
            Some("not a number")
        );
    }
}
