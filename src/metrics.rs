//! Prometheus text for `GET /metrics`: accepted and dropped occurrences by reason and source,
//! requests by route and status, writer batches, insert latency histogram, queue depth.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use faultline_collector::Ingest;
use faultline_store::writer::LATENCY_BUCKETS;

/// Renders every counter Faultline keeps.
pub fn render(ingest: &Ingest, http: &faultline_health::HttpMetrics) -> String {
    let mut out = String::new();
    http.render(&mut out);
    ingest.drops().render(&mut out);
    let s = ingest.writer().stats();
    for (name, kind, help, value) in [
        (
            "faultline_batches_total",
            "counter",
            "Inserts into ClickHouse that succeeded.",
            s.batches.load(Ordering::Relaxed),
        ),
        (
            "faultline_rows_written_total",
            "counter",
            "Occurrence rows written.",
            s.rows.load(Ordering::Relaxed),
        ),
        (
            "faultline_insert_errors_total",
            "counter",
            "Insert attempts that failed.",
            s.insert_errors.load(Ordering::Relaxed),
        ),
        (
            "faultline_queue_depth",
            "gauge",
            "Requests waiting for the writer.",
            s.queue_depth.load(Ordering::Relaxed) as u64,
        ),
    ] {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    }
    let h = &s.insert_latency;
    out.push_str("# HELP faultline_insert_duration_seconds Latency of occurrence inserts into ClickHouse.\n# TYPE faultline_insert_duration_seconds histogram\n");
    let mut cumulative = 0;
    for (i, le) in LATENCY_BUCKETS.iter().enumerate() {
        cumulative += h.buckets[i].load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "faultline_insert_duration_seconds_bucket{{le=\"{le}\"}} {cumulative}"
        );
    }
    cumulative += h.buckets[LATENCY_BUCKETS.len()].load(Ordering::Relaxed);
    let _ = writeln!(
        out,
        "faultline_insert_duration_seconds_bucket{{le=\"+Inf\"}} {cumulative}"
    );
    let _ = writeln!(
        out,
        "faultline_insert_duration_seconds_sum {:.6}",
        h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
    );
    let _ = writeln!(
        out,
        "faultline_insert_duration_seconds_count {}",
        h.count.load(Ordering::Relaxed)
    );
    out
}
