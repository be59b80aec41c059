//! `/metrics` for alerting: alerts fired by rule and event, delivery attempts by channel, kind and
//! outcome, and whether this process holds the alerting lease. Label values come from the
//! configuration (rule and channel names), so the series are bounded.

use std::sync::atomic::AtomicI64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FiredLabels {
    rule: String,
    event: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    channel: String,
    kind: String,
    outcome: String,
}

/// The counters.
#[derive(Debug, Default)]
pub struct AlertMetrics {
    fired: Family<FiredLabels, Counter>,
    deliveries: Family<DeliveryLabels, Counter>,
    leader: Gauge<i64, AtomicI64>,
}

impl AlertMetrics {
    /// Registers them under `registry` (prefixed `faultline_` by the caller's sub-registry).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "alerts_fired",
            "Alerts recorded, by rule and event",
            self.fired.clone(),
        );
        registry.register(
            "alert_deliveries",
            "Delivery attempts, by channel, channel kind and outcome (delivered, pending: to be retried, failed)",
            self.deliveries.clone(),
        );
        registry.register(
            "alerts_leader",
            "Whether this process evaluates and delivers alerts (1: it holds the alerting lease)",
            self.leader.clone(),
        );
    }

    /// An alert recorded.
    pub fn fired(&self, rule: &str, event: &str) {
        self.fired
            .get_or_create(&FiredLabels {
                rule: rule.into(),
                event: event.into(),
            })
            .inc();
    }

    /// A delivery attempt and where it left the delivery.
    pub fn delivered(&self, channel: &str, kind: &str, outcome: &str) {
        self.deliveries
            .get_or_create(&DeliveryLabels {
                channel: channel.into(),
                kind: kind.into(),
                outcome: outcome.into(),
            })
            .inc();
    }

    /// Whether this process holds the lease.
    pub fn set_leader(&self, leader: bool) {
        self.leader.set(i64::from(leader));
    }

    /// Alerts recorded for a rule and event (tests).
    pub fn fired_count(&self, rule: &str, event: &str) -> u64 {
        self.fired
            .get_or_create(&FiredLabels {
                rule: rule.into(),
                event: event.into(),
            })
            .get()
    }

    /// Whether the lease is held, as last set.
    pub fn is_leader(&self) -> bool {
        self.leader.get() == 1
    }
}
