//! Prometheus text for `GET /metrics`: accepted and dropped occurrences by reason and source,
//! requests by route and status, writer batches, insert latency histogram, spool size and age.

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
    let spool = ingest.writer().spool();
    let (commits, records) = spool.commit_counts();
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
            "faultline_spool_bytes",
            "gauge",
            "Bytes in the disk spool (acknowledged, not yet confirmed by ClickHouse).",
            spool.bytes(),
        ),
        (
            "faultline_spool_max_bytes",
            "gauge",
            "Size limit of the disk spool.",
            spool.max_bytes(),
        ),
        (
            "faultline_spool_oldest_age_seconds",
            "gauge",
            "Age of the oldest record in the spool not yet in ClickHouse.",
            spool.oldest_age_ms().unwrap_or(0) / 1000,
        ),
        (
            "faultline_spool_commits_total",
            "counter",
            "Group commits (fsyncs) of the spool.",
            commits,
        ),
        (
            "faultline_spool_records_total",
            "counter",
            "Batches appended to the spool (records / commits = batches per fsync).",
            records,
        ),
        (
            "faultline_storage_rejected_rows_total",
            "counter",
            "Occurrence rows ClickHouse refused as data errors (kept in spool/rejected).",
            s.rejected_rows.load(Ordering::Relaxed),
        ),
        (
            "faultline_replay_skipped_rows_total",
            "counter",
            "Rows of a crashed insert found already stored on replay (not inserted twice).",
            s.replay_skipped_rows.load(Ordering::Relaxed),
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
