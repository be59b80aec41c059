//! Counters keyed by label values a client chose (Sentry's discard reasons, webhook resources):
//! bounded in series, so no client can grow them without end, and exposed as one Prometheus
//! counter family.

use std::collections::BTreeMap;
use std::sync::Mutex;

use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;

/// Counts by `N` label values, at most `max_series` distinct ones.
#[derive(Debug)]
pub struct LabelledCounts<const N: usize> {
    max_series: usize,
    counts: Mutex<BTreeMap<[String; N], u64>>,
}

impl<const N: usize> LabelledCounts<N> {
    /// Empty counts keeping at most `max_series` series.
    pub fn new(max_series: usize) -> Self {
        LabelledCounts {
            max_series,
            counts: Mutex::new(BTreeMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<[String; N], u64>> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds `n` to a series (ignored when the series is new and the table full).
    pub fn add(&self, labels: [String; N], n: u64) {
        let mut counts = self.lock();
        if counts.len() >= self.max_series && !counts.contains_key(&labels) {
            return;
        }
        *counts.entry(labels).or_default() += n;
    }

    /// One series' count.
    pub fn count(&self, labels: [&str; N]) -> u64 {
        let key = labels.map(str::to_string);
        self.lock().get(&key).copied().unwrap_or(0)
    }

    /// Encodes every series as counter family `name` with labels `label_names`.
    pub fn encode(
        &self,
        encoder: &mut DescriptorEncoder,
        name: &str,
        help: &str,
        label_names: [&str; N],
    ) -> Result<(), std::fmt::Error> {
        let counts = self.lock().clone();
        let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
        for (labels, n) in counts {
            let pairs: Vec<(&str, &str)> = label_names
                .iter()
                .copied()
                .zip(labels.iter().map(String::as_str))
                .collect();
            ConstCounter::new(n).encode(family.encode_family(&pairs)?)?;
        }
        Ok(())
    }
}

/// A label value as a client gave it: trimmed, cut to `max` characters, `empty` when nothing.
pub fn label(s: &str, max: usize, empty: &str) -> String {
    match s.trim() {
        "" => empty.to_string(),
        s => s.chars().take(max).collect(),
    }
}
