//! An alert: what fired, about what, with a deterministic id. Recorded in the outbox as JSON (the
//! payload every channel renders), before anything is sent.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::rule::Event;

/// The issue an alert is about, as the receiver sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IssueFacts {
    /// The issue's fingerprint.
    pub fingerprint: String,
    /// Exception type of the latest occurrence.
    pub exception_type: String,
    /// Message of the latest occurrence.
    pub message: String,
    /// Where it was raised.
    pub culprit: String,
    /// Occurrences ever.
    pub count: u64,
    /// First occurrence, RFC 3339.
    pub first_seen: String,
    /// Latest occurrence, RFC 3339.
    pub last_seen: String,
    /// `open`, `regressed`, …
    pub status: String,
    /// The issue in Faultline's API.
    pub url: String,
}

/// One alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Deterministic: rule, issue (or service) and trigger window or resolution.
    pub id: String,
    /// What happened.
    pub event: Event,
    /// The rule's name (`""` for a test).
    pub rule: String,
    /// Project.
    pub project: String,
    /// The issue (for `rate`: the service's most frequent issue in the window).
    pub issue: Option<IssueFacts>,
    /// `rate`: the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// `count`, `rate`: the window, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_secs: Option<u64>,
    /// `count`, `rate`: the rule's threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// `count`: occurrences in the window; `rate`: the error ratio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// `rate`: errors and requests in the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<u64>,
    /// `rate`: requests in the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<u64>,
    /// When it fired, seconds since the epoch.
    pub fired_at: u32,
}

/// The id of an alert: hex SHA-256 (first 16 bytes) of its parts, so the same trigger gives the
/// same id in any process, after any restart.
pub fn alert_id(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    const_hex::encode(&h.finalize()[..16])
}

pub use faultline_query::params::rfc3339;

impl Alert {
    /// An alert about `issue` (or none), nothing measured yet.
    pub fn new(
        id: String,
        event: Event,
        rule: &str,
        project: &str,
        issue: Option<IssueFacts>,
        fired_at: u32,
    ) -> Alert {
        Alert {
            id,
            event,
            rule: rule.to_string(),
            project: project.to_string(),
            issue,
            service: None,
            window_secs: None,
            threshold: None,
            value: None,
            errors: None,
            requests: None,
            fired_at,
        }
    }

    /// A one-line summary: `[shop] New issue: ZeroDivisionError: division by zero`.
    pub fn summary(&self) -> String {
        let what = match (&self.issue, self.event) {
            (_, Event::Rate) => format!(
                "{} errors ÷ requests {:.1} % over {}",
                self.service.as_deref().unwrap_or(""),
                self.value.unwrap_or(0.0) * 100.0,
                self.window_text()
            ),
            (Some(i), Event::Count) => format!(
                "{} occurrences in {} of {}",
                self.value.unwrap_or(0.0),
                self.window_text(),
                headline(i)
            ),
            (Some(i), _) => headline(i),
            (None, _) => "a test of this channel".into(),
        };
        format!("[{}] {}: {what}", self.project, self.event.title())
    }

    /// The window as people write it (`1h`, `30m`).
    pub fn window_text(&self) -> String {
        match self.window_secs.unwrap_or(0) {
            s if s > 0 && s % 86_400 == 0 => format!("{}d", s / 86_400),
            s if s > 0 && s % 3600 == 0 => format!("{}h", s / 3600),
            s if s > 0 && s % 60 == 0 => format!("{}m", s / 60),
            s => format!("{s}s"),
        }
    }
}

/// `Type: message` (or whichever is present).
pub fn headline(i: &IssueFacts) -> String {
    match (i.exception_type.is_empty(), i.message.is_empty()) {
        (false, false) => format!("{}: {}", i.exception_type, first_line(&i.message)),
        (false, true) => i.exception_type.clone(),
        (true, _) => first_line(&i.message).to_string(),
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_deterministic_and_unambiguous() {
        assert_eq!(alert_id(&["a", "b"]), alert_id(&["a", "b"]));
        assert_ne!(alert_id(&["a", "b"]), alert_id(&["ab", ""]));
        assert_eq!(alert_id(&["x"]).len(), 32);
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
