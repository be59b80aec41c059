//! What a run reports: counts, rate, acknowledgement latency percentiles, one last line.

/// The final report.
#[derive(Debug, Clone)]
pub struct Report {
    /// Error events sent.
    pub sent: u64,
    /// Error events acknowledged.
    pub acked: u64,
    /// Error events refused (any non-success answer or transport error).
    pub rejected: u64,
    /// Acknowledged events per second over the run.
    pub events_per_s: f64,
    /// Request acknowledgement latency percentiles, ms.
    pub p50_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Wall time, seconds.
    pub seconds: f64,
}

impl Report {
    /// The machine-readable last line.
    pub fn line(&self) -> String {
        format!(
            "loadgen: sent={} acked={} rejected={} events_per_s={:.0} p50_ms={:.2} p95_ms={:.2} p99_ms={:.2}",
            self.sent,
            self.acked,
            self.rejected,
            self.events_per_s,
            self.p50_ms,
            self.p95_ms,
            self.p99_ms
        )
    }
}

pub(super) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}
