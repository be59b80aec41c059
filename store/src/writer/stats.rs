//! The writer's counters and its insert latency histogram.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the insert latency histogram's buckets.
pub const LATENCY_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A latency histogram with fixed buckets (cumulative when rendered).
#[derive(Debug, Default)]
pub struct Histogram {
    /// Observations per bucket of [`LATENCY_BUCKETS`], plus one for larger values (not cumulative).
    pub buckets: [AtomicU64; 12],
    /// Sum of observations, in microseconds.
    pub sum_micros: AtomicU64,
    /// Number of observations.
    pub count: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = LATENCY_BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }
}

/// Counters kept by the writer.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Latency of successful occurrence inserts.
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
}
