//! Client reports: what Sentry SDKs say they dropped before sending (rate-limit backoff, a full
//! queue, `before_send`, sampling…), counted per project, reason and category and shown in
//! `/metrics` as `faultline_sentry_client_discarded_events_total`. Neither Bugsink nor GlitchTip
//! shows these; they are the only trace of events an SDK never sent.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use serde::Deserialize;

use crate::labelled::{LabelledCounts, label};

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
#[derive(Debug)]
pub struct ClientReports(LabelledCounts<3>);

impl Default for ClientReports {
    fn default() -> Self {
        ClientReports(LabelledCounts::new(MAX_SERIES))
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
        for d in report.discarded_events {
            let labels = [
                project.to_string(),
                label(&d.reason, 64, "unknown"),
                label(&d.category, 64, "unknown"),
            ];
            self.0.add(labels, d.quantity);
        }
    }

    /// The count for one series.
    pub fn count(&self, project: &str, reason: &str, category: &str) -> u64 {
        self.0.count([project, reason, category])
    }
}

/// [`ClientReports`] as a Prometheus collector (register it under the `faultline` prefix).
#[derive(Debug, Clone)]
pub struct ClientReportMetrics(pub std::sync::Arc<ClientReports>);

impl Collector for ClientReportMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        self.0.0.encode(
            &mut encoder,
            "sentry_client_discarded_events",
            "Events Sentry SDKs reported they discarded before sending (client reports), by project, reason and category.",
            ["project", "reason", "category"],
        )
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
