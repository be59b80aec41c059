//! The batcher: reads spooled records into one insert's worth, by rows, bytes or age
//! (ClickHouse wants few large inserts).

use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::WriterConfig;
use crate::spool::{Record, Spool, SpoolError};

/// Records read from the spool at a time.
const READ_CHUNK: usize = 256;

/// Reads spooled batches until `max_rows` / `max_bytes` or until the first waited `max_age`.
pub(super) async fn gather(
    spool: &Spool,
    cfg: &WriterConfig,
    shutdown: &CancellationToken,
) -> Result<Vec<Record>, SpoolError> {
    let mut out: Vec<Record> = Vec::new();
    let mut bytes = 0usize;
    let mut deadline: Option<Instant> = None;
    loop {
        let s = spool.clone();
        let budget = cfg.max_bytes.saturating_sub(bytes).max(1);
        let more = tokio::task::spawn_blocking(move || s.read(READ_CHUNK, budget))
            .await
            .map_err(|e| SpoolError::Io(e.to_string()))??;
        // A full chunk means more is waiting (a backlog of small records, such as single
        // webhook events): read on before the age decides, or inserts stay one chunk small.
        let backlog = more.len() == READ_CHUNK;
        for r in &more {
            bytes += r.payload.len();
        }
        out.extend(more);
        if !out.is_empty() && deadline.is_none() {
            let oldest = out[0].appended_ms;
            let age = Duration::from_millis(crate::spool::now_ms().saturating_sub(oldest));
            deadline = Some(Instant::now() + cfg.max_age.saturating_sub(age));
        }
        // Rows are only known after decoding; bytes stand in for them (a row is ≥ 100 bytes).
        if bytes >= cfg.max_bytes || bytes / 100 >= cfg.max_rows {
            return Ok(out);
        }
        if backlog {
            continue;
        }
        let wait = match deadline {
            Some(d) if Instant::now() >= d => return Ok(out),
            Some(d) => d - Instant::now(),
            None => Duration::from_millis(500),
        };
        tokio::select! {
            _ = spool.wait_appended(wait) => {}
            _ = shutdown.cancelled() => return Ok(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spool::SpoolConfig;

    #[tokio::test]
    async fn a_backlog_of_small_records_is_gathered_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = Spool::open(SpoolConfig {
            dir: dir.path().to_path_buf(),
            max_bytes: 64 << 20,
            segment_bytes: 1 << 20,
        })
        .expect("spool");
        for i in 0..1000u32 {
            spool
                .append(i.to_le_bytes().to_vec())
                .await
                .expect("append");
        }
        let cfg = WriterConfig {
            max_age: Duration::ZERO,
            ..WriterConfig::new(dir.path())
        };
        let got = gather(&spool, &cfg, &CancellationToken::new())
            .await
            .expect("gather");
        // Old enough to insert at once, and all of it: not one read chunk.
        assert_eq!(got.len(), 1000);
    }
}
