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
    let _ = writeln!(
        out,
        "# HELP faultline_batches_total Inserts into ClickHouse that succeeded.\n# TYPE faultline_batches_total counter\nfaultline_batches_total {}",
        s.batches.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        out,
        "# HELP faultline_rows_written_total Occurrence rows written.\n# TYPE faultline_rows_written_total counter\nfaultline_rows_written_total {}",
        s.rows.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        out,
        "# HELP faultline_insert_errors_total Insert attempts that failed.\n# TYPE faultline_insert_errors_total counter\nfaultline_insert_errors_total {}",
        s.insert_errors.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        out,
        "# HELP faultline_queue_depth Requests waiting for the writer.\n# TYPE faultline_queue_depth gauge\nfaultline_queue_depth {}",
        s.queue_depth.load(Ordering::Relaxed)
    );
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
