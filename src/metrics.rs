//! Prometheus text for `GET /metrics`: accepted and dropped occurrences, writer batches and queue.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use faultline_collector::Ingest;

/// Renders every counter Faultline keeps.
pub fn render(ingest: &Ingest) -> String {
    let mut out = String::new();
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
    out
}
