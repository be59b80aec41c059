//! Signed JSON webhooks.
//!
//! Body: `{"event", "rule", "project", "issue": {…}}` (plus `window`, `threshold` and what was
//! measured for `count` and `rate`). Headers: `X-Faultline-Event`, `X-Faultline-Delivery` (the
//! alert id: the same for every retry, so receivers can drop copies), `X-Faultline-Timestamp`
//! (Unix seconds of this attempt) and `X-Faultline-Signature: sha256=<hex HMAC-SHA256(secret,
//! "<timestamp>.<raw body>")>`. Verifying it, in Python:
//!
//! ```python
//! import hashlib, hmac
//! def verify(secret: bytes, headers, body: bytes) -> bool:
//!     signed = headers["X-Faultline-Timestamp"].encode() + b"." + body
//!     expected = "sha256=" + hmac.new(secret, signed, hashlib.sha256).hexdigest()
//!     return hmac.compare_digest(expected, headers["X-Faultline-Signature"])
//! ```
//! (and refuse timestamps more than a few minutes old, so a captured delivery cannot be replayed).

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::{Outcome, post_json};
use crate::alert::Alert;

/// `sha256=<hex>` of `"<timestamp>.<body>"` with `secret`.
pub fn signature(secret: &str, timestamp: u64, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(), // HMAC takes keys of any length
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", const_hex::encode(mac.finalize().into_bytes()))
}

/// The JSON body of an alert.
pub fn body(alert: &Alert) -> Value {
    let mut v = json!({
        "id": alert.id,
        "event": alert.event.as_str(),
        "rule": alert.rule,
        "project": alert.project,
        "issue": alert.issue,
        "fired_at": crate::alert::rfc3339(alert.fired_at),
    });
    if let Some(w) = alert.window_secs {
        v["window"] = json!(alert.window_text());
        v["window_secs"] = json!(w);
    }
    for (k, x) in [("threshold", alert.threshold), ("value", alert.value)] {
        if let Some(x) = x {
            v[k] = json!(x);
        }
    }
    if let Some(s) = &alert.service {
        v["service"] = json!(s);
    }
    for (k, x) in [("errors", alert.errors), ("requests", alert.requests)] {
        if let Some(x) = x {
            v[k] = json!(x);
        }
    }
    v
}

/// One signed POST.
pub async fn send(http: &reqwest::Client, url: &str, secret: &str, alert: &Alert) -> Outcome {
    let body = serde_json::to_vec(&body(alert)).unwrap_or_default();
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let headers = [
        ("x-faultline-event", alert.event.as_str().to_string()),
        ("x-faultline-delivery", alert.id.clone()),
        ("x-faultline-timestamp", ts.to_string()),
        ("x-faultline-signature", signature(secret, ts, &body)),
    ];
    post_json(http, url, &headers, body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_known_answer_and_our_framing() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?"
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").expect("key");
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            const_hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Python: hmac.new(b"s3cret", b"1700000000.{}", hashlib.sha256).hexdigest()
        assert_eq!(
            signature("s3cret", 1_700_000_000, b"{}"),
            "sha256=97926816e98fbb41ccb1673225ff29a2f35369099990e1b1561651e7bd097ebf"
        );
    }
}
