//! The writer's counters, its insert latency histogram, and their Prometheus collector
//! ([`WriterMetrics`], with the spool's size and age).

use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Unit;

use super::Writer;

/// Upper bounds (seconds) of the insert latency histogram's buckets.
pub const LATENCY_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Counters kept by the writer.
#[derive(Debug)]
pub struct WriterStats {
    /// Latency of successful occurrence inserts, in seconds.
    pub insert_latency: Histogram,
    /// Inserts that succeeded.
    pub batches: AtomicU64,
    /// Occurrence rows inserted.
    pub rows: AtomicU64,
    /// Insert attempts that failed (each retry counts).
    pub insert_errors: AtomicU64,
    /// Occurrence rows ClickHouse refused as data errors (kept in `spool/rejected/`).
    pub rejected_rows: AtomicU64,
    /// Occurrence rows found already stored when a crashed insert was replayed (not re-inserted).
    pub replay_skipped_rows: AtomicU64,
    /// Signalled after every insert ClickHouse confirmed (alerting evaluates new arrivals then).
    pub inserted: std::sync::Arc<tokio::sync::Notify>,
}

impl Default for WriterStats {
    fn default() -> Self {
        WriterStats {
            insert_latency: Histogram::new(LATENCY_BUCKETS),
            batches: AtomicU64::default(),
            rows: AtomicU64::default(),
            insert_errors: AtomicU64::default(),
            rejected_rows: AtomicU64::default(),
            replay_skipped_rows: AtomicU64::default(),
            inserted: std::sync::Arc::default(),
        }
    }
}

/// The writer's and the spool's figures as a Prometheus collector (register it under the
/// `faultline` prefix).
#[derive(Clone)]
pub struct WriterMetrics(pub Writer);

impl std::fmt::Debug for WriterMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WriterMetrics")
    }
}

impl Collector for WriterMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let s = self.0.stats();
        let spool = self.0.spool();
        let (commits, records) = spool.commit_counts();
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        for (name, help, value) in [
            (
                "batches",
                "Inserts into ClickHouse that succeeded.",
                load(&s.batches),
            ),
            ("rows_written", "Occurrence rows written.", load(&s.rows)),
            (
                "spool_commits",
                "Group commits (fsyncs) of the spool.",
                commits,
            ),
            (
                "spool_records",
                "Batches appended to the spool (records / commits = batches per fsync).",
                records,
            ),
            (
                "storage_rejected_rows",
                "Occurrence rows ClickHouse refused as data errors (kept in spool/rejected).",
                load(&s.rejected_rows),
            ),
            (
                "replay_skipped_rows",
                "Rows of a crashed insert found already stored on replay (not inserted twice).",
                load(&s.replay_skipped_rows),
            ),
        ] {
            let m = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            ConstCounter::new(value).encode(m)?;
        }
        // Per node: on a cluster each collector writes through its own node.
        let mut m = encoder.encode_descriptor(
            "insert_errors",
            "Insert attempts that failed, by the ClickHouse node they went to.",
            None,
            MetricType::Counter,
        )?;
        ConstCounter::new(load(&s.insert_errors))
            .encode(m.encode_family(&[("node", self.0.node())])?)?;
        for (name, help, unit, value) in [
            (
                "spool",
                "Bytes in the disk spool (acknowledged, not yet confirmed by ClickHouse).",
                Unit::Bytes,
                spool.bytes(),
            ),
            (
                "spool_max",
                "Size limit of the disk spool.",
                Unit::Bytes,
                spool.max_bytes(),
            ),
            (
                "spool_oldest_age",
                "Age of the oldest record in the spool not yet in ClickHouse.",
                Unit::Seconds,
                spool.oldest_age_ms().unwrap_or(0) / 1000,
            ),
        ] {
            let m = encoder.encode_descriptor(name, help, Some(&unit), MetricType::Gauge)?;
            ConstGauge::new(value).encode(m)?;
        }
        let m = encoder.encode_descriptor(
            "insert_duration",
            "Latency of occurrence inserts into ClickHouse.",
            Some(&Unit::Seconds),
            MetricType::Histogram,
        )?;
        s.insert_latency.encode(m)
    }
}
