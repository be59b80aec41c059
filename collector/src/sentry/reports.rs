//! Client reports: what Sentry SDKs say they dropped before sending (rate-limit backoff, a full
//! queue, `before_send`, sampling…), counted per project, reason and category and shown in
//! `/metrics` as `faultline_sentry_client_discarded_events_total`. Neither Bugsink nor GlitchTip
//! shows these; they are the only trace of events an SDK never sent.

use std::collections::BTreeMap;
use std::sync::Mutex;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use serde::Deserialize;

/// Most distinct (project, reason, category) series kept: reasons and categories are the SDK's
/// words, so a client cannot grow the table without bound.
const MAX_SERIES: usize = 1000;

/// The payload of a `client_report` item.
#[derive(Debug, Default, Deserialize)]
struct Report {
    #[serde(default)]
    discarded_events: Vec<Discarded>,
}

#[derive(Debug, Deserialize)]
struct Discarded {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    quantity: u64,
}

/// Discarded-event counts by (project, reason, category).
#[derive(Debug, Default)]
pub struct ClientReports {
    counts: Mutex<BTreeMap<(String, String, String), u64>>,
}

/// A label value as the SDK gave it, cut to a sane length (`unknown` when empty).
fn label(s: &str) -> String {
    let s = s.trim();
    if s.is_empty() {
        "unknown".into()
    } else {
        s.chars().take(64).collect()
    }
}

impl ClientReports {
    /// Adds a `client_report` payload's discards to `project`'s counts. A payload that does not
    /// read is ignored (reports are advisory: the envelope's events still count).
    pub fn add(&self, project: &str, payload: &[u8]) {
        let Ok(report) = serde_json::from_slice::<Report>(payload) else {
            tracing::debug!(project, "unreadable client report ignored");
            return;
        };
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        for d in report.discarded_events {
            let key = (project.to_string(), label(&d.reason), label(&d.category));
            if counts.len() >= MAX_SERIES && !counts.contains_key(&key) {
                continue;
            }
            *counts.entry(key).or_default() += d.quantity;
        }
    }

    /// The count for one series.
    pub fn count(&self, project: &str, reason: &str, category: &str) -> u64 {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let key = (
            project.to_string(),
            reason.to_string(),
            category.to_string(),
        );
        counts.get(&key).copied().unwrap_or(0)
    }
}

/// [`ClientReports`] as a Prometheus collector (register it under the `faultline` prefix).
#[derive(Debug, Clone)]
pub struct ClientReportMetrics(pub std::sync::Arc<ClientReports>);

impl Collector for ClientReportMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let counts = self
            .0
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut family = encoder.encode_descriptor(
            "sentry_client_discarded_events",
            "Events Sentry SDKs reported they discarded before sending (client reports), by project, reason and category.",
            None,
            MetricType::Counter,
        )?;
        for ((project, reason, category), n) in counts {
            ConstCounter::new(n).encode(family.encode_family(&[
                ("project", project.as_str()),
                ("reason", reason.as_str()),
                ("category", category.as_str()),
            ])?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discards_add_up_per_series_and_bad_reports_are_ignored() {
        let r = ClientReports::default();
        let report = br#"{"timestamp":1.5,"discarded_events":[{"reason":"ratelimit_backoff","category":"error","quantity":3},{"reason":"queue_overflow","category":"transaction","quantity":1}]}"#;
        r.add("shop", report);
        r.add("shop", report);
        r.add("shop", b"not json");
        assert_eq!(r.count("shop", "ratelimit_backoff", "error"), 6);
        assert_eq!(r.count("shop", "queue_overflow", "transaction"), 2);
        assert_eq!(r.count("blog", "ratelimit_backoff", "error"), 0);
        let mut registry = prometheus_client::registry::Registry::with_prefix("faultline");
        registry.register_collector(Box::new(ClientReportMetrics(std::sync::Arc::new(r))));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).expect("encode");
        assert!(
            text.contains("faultline_sentry_client_discarded_events_total{project=\"shop\",reason=\"ratelimit_backoff\",category=\"error\"} 6"),
            "{text}"
        );
    }
}
