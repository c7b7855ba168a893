//! Webhook verification (`WebhookVerifier`) and payload decoding (`decode_event`):
//! - never panics, whatever the secret, headers (missing, non-UTF-8, odd timestamps, many
//!   signatures) and payload;
//! - a delivery signed with `signature()` verifies at its own timestamp, and stops verifying
//!   when one byte of the payload changes or the clock moves past the tolerance;
//! - `decode_event` on arbitrary bytes, and on JSON built around webhook types, gives an
//!   event or a typed error, and a decoded event serializes back to JSON.

use std::time::{Duration, UNIX_EPOCH};

use arbitrary::{Result, Unstructured};
use openai_sdk::webhooks::{decode_event, WebhookVerifier};
use openai_sdk::WebhookError;
use serde_json::json;

use crate::gen;

const TYPES: &[&str] = &[
    "batch.completed",
    "batch.failed",
    "response.completed",
    "response.incomplete",
    "fine_tuning.job.succeeded",
    "eval.run.canceled",
    "realtime.call.incoming",
    "video.completed",
    "",
];

pub fn check(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let _ = run(&mut u);
}

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let secret = if u.ratio(1u8, 2)? {
        format!("whsec_{}", gen::string(u)?)
    } else {
        gen::string(u)?
    };
    let verifier =
        WebhookVerifier::new(secret).tolerance(Duration::from_secs(u.int_in_range(0..=600u64)?));
    let id = gen::string(u)?;
    let timestamp: i64 = u.int_in_range(0..=4_000_000_000i64)?;
    let payload: Vec<u8> = if u.ratio(1u8, 2)? {
        let mut event = json!({"id": gen::string(u)?, "type": *u.choose(TYPES)?, "created_at": u.arbitrary::<i64>()?,
            "data": gen::value(u, 2)?});
        if u.ratio(1u8, 4)? {
            event[gen::key(u)?] = gen::value(u, 2)?;
        }
        serde_json::to_vec(&event).unwrap()
    } else {
        let len = u.int_in_range(0..=256usize)?;
        u.bytes(len)?.to_vec()
    };

    // Arbitrary headers: no panic, and an error is typed.
    let raw: Vec<(String, String)> = (0..u.int_in_range(0..=4u8)?)
        .map(|_| Ok((gen::string(u)?, gen::string(u)?)))
        .collect::<Result<_>>()?;
    let _ = verifier.verify(&payload, &raw).map_err(|e| e.to_string());

    let now = UNIX_EPOCH + Duration::from_secs(timestamp as u64);
    let ts = timestamp.to_string();
    match verifier.signature(&id, &ts, &payload) {
        Err(WebhookError::InvalidSecret { .. }) => {}
        Err(e) => panic!("signing failed with {e:?}"),
        Ok(signature) => {
            let extra = gen::string(u)?;
            let header = format!("{extra} {signature}");
            let headers = [
                ("webhook-id", id.as_str()),
                ("webhook-timestamp", ts.as_str()),
                ("webhook-signature", header.as_str()),
            ];
            verifier
                .verify_at(&payload, &headers, now)
                .expect("a delivery we signed verifies");
            if !payload.is_empty() {
                let mut changed = payload.clone();
                let at = u.choose_index(changed.len())?;
                changed[at] ^= 1 + u.arbitrary::<u8>()? % 255;
                assert!(
                    verifier.verify_at(&changed, &headers, now).is_err(),
                    "a changed payload verifies"
                );
            }
            let late = now + Duration::from_secs(601);
            assert!(
                matches!(
                    verifier.verify_at(&payload, &headers, late),
                    Err(WebhookError::TimestampTooOld { .. })
                ),
                "a delivery older than the tolerance verifies"
            );
        }
    }

    if let Ok(event) = decode_event(&payload) {
        serde_json::to_value(&event).expect("a decoded event serializes");
    }
    Ok(())
}
