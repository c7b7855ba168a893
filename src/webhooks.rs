//! Verifying and decoding the webhooks OpenAI sends (feature `webhooks`).
//!
//! OpenAI signs each delivery the [Standard Webhooks](https://www.standardwebhooks.com/)
//! way: `webhook-id`, `webhook-timestamp` and `webhook-signature` headers, the signature
//! being HMAC-SHA256 over `"{id}.{timestamp}.{body}"` with the endpoint's secret
//! (`whsec_` + base64). [`WebhookVerifier`] checks that and decodes the body into
//! [`WebhookEvent`], the union of every webhook payload in the
//! spec, dispatched on `type`; a type this version does not know is kept whole in
//! `WebhookEvent::Unknown`.
//!
//! The same checks, messages and defaults as the official Python SDK's
//! `client.webhooks.unwrap()` / `verify_signature()` (a tolerance of 300 s either way, any
//! of several space-separated `v1,` signatures may match, the secret from
//! `OPENAI_WEBHOOK_SECRET`), with typed errors ([`WebhookError`]) instead of exceptions.
//!
//! ```
//! use openai_sdk::types::WebhookEvent;
//! use openai_sdk::webhooks::WebhookVerifier;
//!
//! # fn handle(body: &[u8], headers: &http::HeaderMap) -> Result<(), openai_sdk::Error> {
//! // In an HTTP handler, with the raw body bytes and the request headers:
//! let verifier = WebhookVerifier::new("whsec_c2VjcmV0");
//! match verifier.unwrap(body, headers)? {
//!     WebhookEvent::ResponseCompleted(event) => println!("response {} completed", event.data.id),
//!     WebhookEvent::Unknown(value) => println!("an event type this SDK does not know: {value}"),
//!     other => println!("{other:?}"),
//! }
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::client::ApiKey;
pub use crate::error::WebhookError;
use crate::types::WebhookEvent;
use crate::{Client, Error};

/// The default tolerance: a delivery may be this much older or newer than the local clock.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// The header names of a signed delivery.
pub const ID_HEADER: &str = "webhook-id";
/// See [`ID_HEADER`].
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// See [`ID_HEADER`].
pub const SIGNATURE_HEADER: &str = "webhook-signature";

/// Headers of a webhook delivery, looked up by name without regard to case.
///
/// Implemented for `http::HeaderMap` (what axum, hyper, actix-web 4's `http` types and
/// reqwest hand you), maps of strings and slices of name/value pairs.
pub trait WebhookHeaders {
    /// The value of the header `name` (lowercase), as bytes.
    fn header(&self, name: &str) -> Option<&[u8]>;
}

impl WebhookHeaders for http::HeaderMap {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.get(name).map(http::HeaderValue::as_bytes)
    }
}

impl<K: AsRef<str>, V: AsRef<str>> WebhookHeaders for [(K, V)] {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref().as_bytes())
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> WebhookHeaders for [(K, V); N] {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.as_slice().header(name)
    }
}

impl<K: AsRef<str>, V: AsRef<str>> WebhookHeaders for Vec<(K, V)> {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.as_slice().header(name)
    }
}

impl<K: AsRef<str>, V: AsRef<str>, S> WebhookHeaders for HashMap<K, V, S> {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref().as_bytes())
    }
}

impl<K: AsRef<str>, V: AsRef<str>> WebhookHeaders for BTreeMap<K, V> {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref().as_bytes())
    }
}

impl<T: WebhookHeaders + ?Sized> WebhookHeaders for &T {
    fn header(&self, name: &str) -> Option<&[u8]> {
        (**self).header(name)
    }
}

/// Checks the signature of webhook deliveries and decodes them.
///
/// Needs no [`Client`]: a server that only receives webhooks builds one from the
/// endpoint's secret. [`Client::webhooks`] gives one with the client's secret.
#[derive(Clone, Debug)]
pub struct WebhookVerifier {
    secret: ApiKey,
    tolerance: Duration,
}

impl WebhookVerifier {
    /// A verifier for the endpoint secret `secret` (`whsec_...`; a secret without that
    /// prefix is used as raw bytes, as the Python SDK does).
    ///
    /// A secret whose key is empty (`""`, or `"whsec_"` with nothing after it) verifies
    /// nothing: every check fails with [`WebhookError::InvalidSecret`], since an empty HMAC
    /// key would let anyone sign deliveries.
    pub fn new(secret: impl Into<String>) -> Self {
        WebhookVerifier {
            secret: ApiKey::new(secret),
            tolerance: DEFAULT_TOLERANCE,
        }
    }

    /// How far the delivery's timestamp may be from the local clock, either way
    /// (default [`DEFAULT_TOLERANCE`], 300 s). Guards against replays.
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Checks that `payload` (the raw request body, unchanged) and `headers` were signed
    /// with this secret, within the tolerance of the local clock.
    ///
    /// ```
    /// use openai_sdk::webhooks::{WebhookError, WebhookVerifier};
    /// use openai_sdk::Error;
    ///
    /// let verifier = WebhookVerifier::new("whsec_c2VjcmV0");
    /// let headers = [("webhook-id", "wh_1"), ("webhook-timestamp", "0"), ("webhook-signature", "v1,AAAA")];
    /// let error = verifier.verify(b"{}", &headers).unwrap_err();
    /// assert!(matches!(error, Error::Webhook(WebhookError::TimestampTooOld { .. })));
    /// ```
    pub fn verify(
        &self,
        payload: &[u8],
        headers: &(impl WebhookHeaders + ?Sized),
    ) -> Result<(), Error> {
        self.verify_at(payload, headers, SystemTime::now())
            .map_err(Error::Webhook)
    }

    /// [`verify`](Self::verify), then decodes the payload into a
    /// [`WebhookEvent`]. A payload that is signed but does not
    /// decode is [`Error::Decode`], with the JSON path.
    pub fn unwrap(
        &self,
        payload: &[u8],
        headers: &(impl WebhookHeaders + ?Sized),
    ) -> Result<WebhookEvent, Error> {
        self.verify(payload, headers)?;
        decode_event(payload)
    }

    /// [`verify`](Self::verify) against the given time instead of the system clock.
    pub fn verify_at(
        &self,
        payload: &[u8],
        headers: &(impl WebhookHeaders + ?Sized),
        now: SystemTime,
    ) -> Result<(), WebhookError> {
        let header = |name: &'static str| {
            headers
                .header(name)
                .ok_or(WebhookError::MissingHeader { name })
        };
        let signatures = header(SIGNATURE_HEADER)?;
        let timestamp = header(TIMESTAMP_HEADER)?;
        let id = header(ID_HEADER)?;

        let seconds = std::str::from_utf8(timestamp)
            .ok()
            .and_then(|t| t.trim().parse::<i64>().ok())
            .ok_or_else(|| WebhookError::InvalidTimestamp {
                value: String::from_utf8_lossy(timestamp).into_owned(),
            })?;
        let now = unix_seconds(now);
        let tolerance = i64::try_from(self.tolerance.as_secs()).unwrap_or(i64::MAX);
        if now.saturating_sub(seconds) > tolerance {
            return Err(WebhookError::TimestampTooOld {
                timestamp: seconds,
                now,
                tolerance: self.tolerance,
            });
        }
        if seconds > now.saturating_add(tolerance) {
            return Err(WebhookError::TimestampTooNew {
                timestamp: seconds,
                now,
                tolerance: self.tolerance,
            });
        }

        let expected = STANDARD.encode(self.sign(id, timestamp, payload)?);
        let mut candidates = 0;
        for part in signatures
            .split(u8::is_ascii_whitespace)
            .filter(|p| !p.is_empty())
        {
            candidates += 1;
            let signature = part.strip_prefix(b"v1,").unwrap_or(part);
            if constant_time_eq(expected.as_bytes(), signature) {
                return Ok(());
            }
        }
        Err(WebhookError::NoMatchingSignature { candidates })
    }

    /// The `webhook-signature` value (`v1,<base64>`) OpenAI would send for this delivery:
    /// for testing a webhook handler with deliveries signed like real ones.
    ///
    /// ```
    /// use openai_sdk::webhooks::WebhookVerifier;
    ///
    /// let verifier = WebhookVerifier::new("whsec_c2VjcmV0");
    /// let body = br#"{"id": "evt_1", "type": "batch.completed", "created_at": 1, "data": {"id": "batch_1"}}"#;
    /// let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    /// let timestamp = now.to_string();
    /// let signature = verifier.signature("wh_1", &timestamp, body)?;
    /// let headers = [("webhook-id", "wh_1"), ("webhook-timestamp", &timestamp), ("webhook-signature", &signature)];
    /// let event = verifier.unwrap(body, &headers)?;
    /// assert!(matches!(event, openai_sdk::types::WebhookEvent::BatchCompleted(_)));
    /// # Ok::<(), openai_sdk::Error>(())
    /// ```
    pub fn signature(
        &self,
        id: &str,
        timestamp: &str,
        payload: &[u8],
    ) -> Result<String, WebhookError> {
        Ok(format!(
            "v1,{}",
            STANDARD.encode(self.sign(id.as_bytes(), timestamp.as_bytes(), payload)?)
        ))
    }

    fn sign(&self, id: &[u8], timestamp: &[u8], payload: &[u8]) -> Result<[u8; 32], WebhookError> {
        let secret = self.secret.expose();
        let key = match secret.strip_prefix("whsec_") {
            Some(encoded) => STANDARD
                .decode(encoded)
                .map_err(|e| WebhookError::InvalidSecret {
                    message: format!("the part after `whsec_` is not base64: {e}"),
                })?,
            None => secret.as_bytes().to_vec(),
        };
        // With an empty key, anyone can compute the signature of any delivery.
        if key.is_empty() {
            return Err(WebhookError::InvalidSecret {
                message: "the secret is empty (an empty HMAC key would let anyone sign deliveries)"
                    .into(),
            });
        }
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes a key of any length");
        for piece in [id, b".", timestamp, b".", payload] {
            mac.update(piece);
        }
        Ok(mac.finalize().into_bytes().into())
    }
}

fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// Equal, in a time that depends on the lengths only.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Decodes a webhook payload (already verified, or from a trusted source such as a test)
/// into a [`WebhookEvent`]. A `type` this version does not know
/// is `WebhookEvent::Unknown` with the whole payload; a known type that does not fit its
/// schema is [`Error::Decode`] with the JSON path.
pub fn decode_event(payload: &[u8]) -> Result<WebhookEvent, Error> {
    crate::error::decode_bytes(payload, "the webhook payload (WebhookEvent)")
}

/// The webhook helpers of a [`Client`], with the secret it was built with.
#[derive(Clone, Copy, Debug)]
pub struct Webhooks<'a> {
    client: &'a Client,
}

impl Client {
    /// Webhook verification with the client's secret
    /// ([`ClientBuilder::webhook_secret`](crate::ClientBuilder::webhook_secret), or
    /// `OPENAI_WEBHOOK_SECRET` for [`Client::new`]).
    pub fn webhooks(&self) -> Webhooks<'_> {
        Webhooks { client: self }
    }
}

impl Webhooks<'_> {
    /// A verifier with the client's secret; [`WebhookError::MissingSecret`] without one.
    pub fn verifier(&self) -> Result<WebhookVerifier, Error> {
        let secret = self
            .client
            .config()
            .webhook_secret
            .clone()
            .ok_or(Error::Webhook(WebhookError::MissingSecret))?;
        Ok(WebhookVerifier {
            secret,
            tolerance: DEFAULT_TOLERANCE,
        })
    }

    /// [`WebhookVerifier::verify`] with the client's secret (Python: `verify_signature`).
    pub fn verify_signature(
        &self,
        payload: &[u8],
        headers: &(impl WebhookHeaders + ?Sized),
    ) -> Result<(), Error> {
        self.verifier()?.verify(payload, headers)
    }

    /// [`WebhookVerifier::unwrap`] with the client's secret.
    pub fn unwrap(
        &self,
        payload: &[u8],
        headers: &(impl WebhookHeaders + ?Sized),
    ) -> Result<WebhookEvent, Error> {
        self.verifier()?.unwrap(payload, headers)
    }
}
