//! Webhook verification and decoding (feature `webhooks`): a known-answer signature from
//! the reference SDK, every refusal as a typed error, and deliveries POSTed over loopback to
//! a scripted server whose handler verifies them as a user's webhook endpoint would.
#![cfg(feature = "webhooks")]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use openai_sdk::testing::{Reply, ScriptedServer};
use openai_sdk::types::WebhookEvent;
use openai_sdk::webhooks::{decode_event, WebhookVerifier};
use openai_sdk::{Client, Error, WebhookError};

// Known answer: the signature below was computed with openai-python 3.54's algorithm
// (`openai/lib/_webhooks.py`: HMAC-SHA256 of "{id}.{timestamp}.{body}" with the base64
// secret after `whsec_`), and `webhook_signature_matches` accepted it.
const SECRET: &str = "whsec_b3BlbmFpLXNkay1ydXN0IHdlYmhvb2sgdGVzdCBrZXk=";
const BODY: &str = r#"{"id": "evt_abc123", "type": "response.completed", "created_at": 1719168000, "data": {"id": "resp_abc123"}}"#;
const ID: &str = "wh_685342e6c53c8190a1be43f081506c52";
const TIMESTAMP: &str = "1719168000";
const SIGNATURE: &str = "l/HO8njkAu+HOYKYLGynebgpJKQAuCc7TI/dn/TxN6Y=";

fn at(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds)
}

fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Headers of a delivery signed now with `secret`.
fn signed_now(secret: &str, body: &str) -> Vec<(String, String)> {
    let timestamp = now_seconds().to_string();
    let signature = WebhookVerifier::new(secret)
        .signature(ID, &timestamp, body.as_bytes())
        .unwrap();
    vec![
        ("webhook-id".into(), ID.into()),
        ("webhook-timestamp".into(), timestamp),
        ("webhook-signature".into(), signature),
    ]
}

#[test]
fn the_reference_signature_verifies_and_is_the_one_we_compute() {
    let verifier = WebhookVerifier::new(SECRET);
    assert_eq!(
        verifier.signature(ID, TIMESTAMP, BODY.as_bytes()).unwrap(),
        format!("v1,{SIGNATURE}")
    );
    // Any of several space-separated signatures may match; `v1,` is optional.
    for header in [
        format!("v1,{SIGNATURE}"),
        format!("v1,bm90IGl0 v1,{SIGNATURE}"),
        SIGNATURE.to_owned(),
    ] {
        let headers = [
            ("webhook-id", ID),
            ("webhook-timestamp", TIMESTAMP),
            ("webhook-signature", &header),
        ];
        verifier
            .verify_at(BODY.as_bytes(), &headers, at(1719168000 + 299))
            .unwrap();
    }
}

#[test]
fn every_refusal_is_a_typed_error() {
    let verifier = WebhookVerifier::new(SECRET);
    let sig = format!("v1,{SIGNATURE}");
    let good = [
        ("webhook-id", ID),
        ("webhook-timestamp", TIMESTAMP),
        ("webhook-signature", sig.as_str()),
    ];
    let check = |payload: &str, headers: &[(&str, &str)], now: u64| {
        verifier.verify_at(payload.as_bytes(), headers, at(now))
    };

    // One changed byte of the body, of the id, or another secret: no match.
    assert_eq!(
        check(
            &BODY.replace("resp_abc123", "resp_abc124"),
            &good,
            1719168000
        ),
        Err(WebhookError::NoMatchingSignature { candidates: 1 })
    );
    let other_id = [("webhook-id", "wh_other"), good[1], good[2]];
    assert!(matches!(
        check(BODY, &other_id, 1719168000),
        Err(WebhookError::NoMatchingSignature { .. })
    ));
    let other_secret = WebhookVerifier::new("whsec_b3RoZXI=");
    assert!(matches!(
        other_secret.verify_at(BODY.as_bytes(), &good, at(1719168000)),
        Err(WebhookError::NoMatchingSignature { .. })
    ));
    let empty = [good[0], good[1], ("webhook-signature", " ")];
    assert_eq!(
        check(BODY, &empty, 1719168000),
        Err(WebhookError::NoMatchingSignature { candidates: 0 })
    );

    // Replay window: 300 s either way by default, configurable.
    assert!(matches!(
        check(BODY, &good, 1719168000 + 301),
        Err(WebhookError::TimestampTooOld {
            timestamp: 1719168000,
            now: 1719168301,
            ..
        })
    ));
    assert!(matches!(
        check(BODY, &good, 1719168000 - 301),
        Err(WebhookError::TimestampTooNew { .. })
    ));
    let lenient = WebhookVerifier::new(SECRET).tolerance(Duration::from_secs(3600));
    lenient
        .verify_at(BODY.as_bytes(), &good, at(1719168000 + 3000))
        .unwrap();

    // Headers: each one missing, and a timestamp that is not a number.
    for missing in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let headers: Vec<(&str, &str)> = good
            .iter()
            .copied()
            .filter(|(k, _)| *k != missing)
            .collect();
        assert_eq!(
            check(BODY, &headers, 1719168000),
            Err(WebhookError::MissingHeader { name: missing })
        );
    }
    let bad_time = [good[0], ("webhook-timestamp", "yesterday"), good[2]];
    assert_eq!(
        check(BODY, &bad_time, 1719168000),
        Err(WebhookError::InvalidTimestamp {
            value: "yesterday".into()
        })
    );

    // A `whsec_` secret that is not base64.
    let broken = WebhookVerifier::new("whsec_not base64!");
    assert!(matches!(
        broken.verify_at(BODY.as_bytes(), &good, at(1719168000)),
        Err(WebhookError::InvalidSecret { .. })
    ));

    // Through `verify`, the same errors are `Error::Webhook`, with the reference's classes.
    let e = verifier.verify(BODY.as_bytes(), &good).unwrap_err();
    assert!(
        matches!(e, Error::Webhook(WebhookError::TimestampTooOld { .. })),
        "{e:?}"
    );
    assert_eq!(e.reference_class(), "InvalidWebhookSignatureError");
    assert!(e.to_string().contains("too old"), "{e}");
    let e = verifier
        .verify(BODY.as_bytes(), &[("webhook-id", ID)])
        .unwrap_err();
    assert_eq!(e.reference_class(), "ValueError");
    assert_eq!(
        e.to_string(),
        "webhook verification failed: could not find webhook-signature header"
    );
}

#[test]
fn header_names_match_without_regard_to_case() {
    let verifier = WebhookVerifier::new(SECRET);
    let sig = format!("v1,{SIGNATURE}");
    let headers = [
        ("Webhook-Id", ID),
        ("WEBHOOK-TIMESTAMP", TIMESTAMP),
        ("webhook-Signature", sig.as_str()),
    ];
    verifier
        .verify_at(BODY.as_bytes(), &headers, at(1719168000))
        .unwrap();
    let map: std::collections::HashMap<&str, &str> = headers.into_iter().collect();
    verifier
        .verify_at(BODY.as_bytes(), &map, at(1719168000))
        .unwrap();
}

#[test]
fn unwrap_decodes_known_types_keeps_unknown_ones_and_locates_bad_fields() {
    let verifier = WebhookVerifier::new(SECRET);
    let headers = signed_now(SECRET, BODY);
    match verifier.unwrap(BODY.as_bytes(), &headers).unwrap() {
        WebhookEvent::ResponseCompleted(event) => {
            assert_eq!(event.id, "evt_abc123");
            assert_eq!(event.data.id, "resp_abc123");
            assert_eq!(event.created_at, 1719168000);
        }
        other => panic!("expected response.completed, got {other:?}"),
    }

    // A type this SDK's spec does not have: kept whole.
    let future = r#"{"id": "evt_2", "type": "video.completed", "created_at": 1, "data": {"id": "video_1"}, "extra": [1, 2]}"#;
    let event = verifier
        .unwrap(future.as_bytes(), &signed_now(SECRET, future))
        .unwrap();
    let WebhookEvent::Unknown(value) = event else {
        panic!("expected Unknown, got {event:?}")
    };
    assert_eq!(
        value,
        serde_json::from_str::<serde_json::Value>(future).unwrap()
    );

    // A known type whose data does not fit: a decode error with the path.
    let bad = r#"{"id": "evt_3", "type": "batch.failed", "created_at": 1, "data": {"id": 42}}"#;
    let e = verifier
        .unwrap(bad.as_bytes(), &signed_now(SECRET, bad))
        .unwrap_err();
    let Error::Decode { path, .. } = &e else {
        panic!("expected a decode error, got {e:?}")
    };
    assert_eq!(path, "data.id", "{e}");

    // Not JSON at all (signed, so it gets as far as decoding); trailing bytes too.
    let e = decode_event(b"{\"type\": \"batch.failed\"").unwrap_err();
    assert!(matches!(e, Error::Decode { .. }), "{e:?}");
    let e = decode_event(br#"{"id": "e", "type": "x"} junk"#).unwrap_err();
    assert!(matches!(e, Error::Decode { .. }), "{e:?}");

    // A signature check comes first: an unsigned body is never decoded.
    let e = verifier
        .unwrap(BODY.as_bytes(), &signed_now(SECRET, "{}"))
        .unwrap_err();
    assert!(
        matches!(e, Error::Webhook(WebhookError::NoMatchingSignature { .. })),
        "{e:?}"
    );
}

#[test]
fn the_client_uses_its_secret() {
    let client = Client::builder()
        .api_key("sk-test")
        .webhook_secret(SECRET)
        .build()
        .unwrap();
    assert!(!format!("{client:?}").contains(SECRET));
    let headers = signed_now(SECRET, BODY);
    client
        .webhooks()
        .verify_signature(BODY.as_bytes(), &headers)
        .unwrap();
    assert!(matches!(
        client.webhooks().unwrap(BODY.as_bytes(), &headers).unwrap(),
        WebhookEvent::ResponseCompleted(_)
    ));

    let without = Client::builder().api_key("sk-test").build().unwrap();
    let e = without
        .webhooks()
        .unwrap(BODY.as_bytes(), &headers)
        .unwrap_err();
    assert!(
        matches!(e, Error::Webhook(WebhookError::MissingSecret)),
        "{e:?}"
    );
    assert!(e.to_string().contains("OPENAI_WEBHOOK_SECRET"), "{e}");
}

/// Deliveries sent over HTTP to a scripted endpoint whose handler verifies the raw body
/// and the received `http::HeaderMap`, as a user's axum or hyper handler would: 200 for a
/// good one, 400 with the reason otherwise.
#[tokio::test]
async fn an_endpoint_verifies_deliveries_received_over_http() {
    let server = ScriptedServer::start().await;
    let verifier = WebhookVerifier::new(SECRET);
    server.post("/webhook").respond_with(move |request| {
        match verifier.unwrap(&request.body, &request.headers) {
            Ok(WebhookEvent::ResponseCompleted(event)) => Reply::text(200, event.data.id),
            Ok(other) => Reply::text(200, format!("{other:?}")),
            Err(e) => Reply::text(400, e.to_string()),
        }
    });
    let http = reqwest::Client::new();
    let deliver = |headers: Vec<(String, String)>, body: &'static str| {
        let mut request = http
            .post(server.url("/webhook"))
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };

    assert_eq!(
        deliver(signed_now(SECRET, BODY), BODY).await,
        (200, "resp_abc123".to_owned())
    );
    let (status, text) = deliver(signed_now("whsec_b3RoZXI=", BODY), BODY).await;
    assert_eq!(status, 400);
    assert!(text.contains("does not match"), "{text}");
    let mut stale = signed_now(SECRET, BODY);
    stale[1].1 = (now_seconds() - 3600).to_string();
    let (status, text) = deliver(stale, BODY).await;
    assert_eq!(status, 400);
    assert!(text.contains("too old"), "{text}");
    assert_eq!(server.request_count_to("/webhook"), 3);
}

/// The signature anyone can compute without knowing a secret: HMAC-SHA256 with an empty key.
fn forged_with_empty_key(timestamp: &str, body: &str) -> String {
    use base64::Engine;
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"").unwrap();
    mac.update(format!("{ID}.{timestamp}.{body}").as_bytes());
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

#[test]
fn an_empty_secret_is_refused_so_deliveries_cannot_be_forged() {
    let timestamp = now_seconds().to_string();
    let forged = forged_with_empty_key(&timestamp, BODY);
    let headers = [
        ("webhook-id", ID),
        ("webhook-timestamp", timestamp.as_str()),
        ("webhook-signature", forged.as_str()),
    ];
    for secret in ["", "whsec_"] {
        let verifier = WebhookVerifier::new(secret);
        let e = verifier.verify(BODY.as_bytes(), &headers).unwrap_err();
        assert!(
            matches!(&e, Error::Webhook(WebhookError::InvalidSecret { message }) if message.contains("empty")),
            "{secret:?}: {e:?}"
        );
        assert!(matches!(
            verifier.unwrap(BODY.as_bytes(), &headers),
            Err(Error::Webhook(WebhookError::InvalidSecret { .. }))
        ));
        assert!(matches!(
            verifier.signature(ID, &timestamp, BODY.as_bytes()),
            Err(WebhookError::InvalidSecret { .. })
        ));

        // The same through a client configured with that secret.
        let client = Client::builder()
            .api_key("sk-test")
            .webhook_secret(secret)
            .build()
            .unwrap();
        let e = client
            .webhooks()
            .verify_signature(BODY.as_bytes(), &headers)
            .unwrap_err();
        assert!(
            matches!(e, Error::Webhook(WebhookError::InvalidSecret { .. })),
            "{secret:?}: {e:?}"
        );
    }
    // A one-byte key is a (weak but) real secret: the empty-key forgery does not verify.
    let e = WebhookVerifier::new("x")
        .verify(BODY.as_bytes(), &headers)
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Webhook(WebhookError::NoMatchingSignature { candidates: 1 })
        ),
        "{e:?}"
    );
}
