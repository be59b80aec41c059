//! The drainer: spooled records → one `INSERT … FORMAT RowBinary` of their bytes per range →
//! classified retry → confirm. Network and overload errors are retried with backoff for as long
//! as it takes (the rows stay in the spool); data and schema errors never are: those records are
//! moved to `spool/rejected/` and counted, never silently dropped. A range is confirmed (and its
//! disk space freed) only after ClickHouse answered. Each insert writes request counts, then
//! stack-trace texts, then the occurrences that refer to them.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use clickhouse::{RowOwned, RowWrite};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::record::Spooled;
use super::{WriterConfig, WriterStats, batcher::gather, dedup};
use crate::rows::{OCCURRENCE_COLUMNS, STACKTRACE_COLUMNS};
use crate::spool::{Pos, Record, Spool};
use crate::{OccurrenceRow, RequestCountRow, Store, StoreError};

pub(super) async fn drain(
    store: Store,
    cfg: WriterConfig,
    spool: Spool,
    shutdown: CancellationToken,
    stats: Arc<WriterStats>,
) {
    let mut dedup: Option<bool> = None;
    let mut replay = spool.inflight();
    while !shutdown.is_cancelled() {
        // What to insert next: the range in flight at the last stop, or what has been appended.
        let (records, replayed) = match replay.take() {
            Some((from, to)) => {
                let s = spool.clone();
                match tokio::task::spawn_blocking(move || s.read_range(from, to)).await {
                    Ok(Ok(r)) => (r, true),
                    other => {
                        tracing::error!(?other, "spool: cannot read the range in flight");
                        (Vec::new(), false)
                    }
                }
            }
            None => match gather(&spool, &cfg, &shutdown).await {
                Ok(r) => (r, false),
                Err(e) => {
                    tracing::error!(error = %e, "spool: read failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
        };
        let (Some(first), Some(last)) = (records.first(), records.last()) else {
            continue;
        };
        let (from, to) = (first.pos, last.next);
        let mut rows = Spooled::default();
        rows.reserve_for(records.iter().map(|r| &r.payload[..]));
        for r in &records {
            match rows.append(&r.payload) {
                Ok(()) => {}
                Err(e) => {
                    tracing::error!(error = %e, segment = r.pos.segment, offset = r.pos.offset, "spool: undecodable record set aside");
                    quarantine(&cfg, std::slice::from_ref(r));
                }
            }
        }
        rows.requests = RequestCountRow::merge(std::mem::take(&mut rows.requests));
        if let Err(e) = spool.begin(from, to) {
            tracing::error!(error = %e, "spool: cannot record the range in flight");
        }
        let outcome = insert_range(
            &store,
            &stats,
            &mut dedup,
            spool.id(),
            (from, to),
            replayed,
            &mut rows,
            &shutdown,
        )
        .await;
        match outcome {
            Ok(()) => stats.inserted.notify_one(),
            Err(e) if e.is_retryable() => {
                // Stopping: the range stays in the spool (and in flight) for the next start.
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, rows = rows.n_occurrences, "ClickHouse refused the rows; kept in spool/rejected");
                stats
                    .rejected_rows
                    .fetch_add(rows.n_occurrences as u64, Ordering::Relaxed);
                quarantine(&cfg, &records);
            }
        }
        if let Err(e) = spool.confirm(to) {
            tracing::error!(error = %e, "spool: cannot confirm");
        }
    }
}

/// Inserts one range: request counts, then stack traces, then occurrences; retries retryable
/// errors until it works or the writer stops.
#[allow(clippy::too_many_arguments)]
async fn insert_range(
    store: &Store,
    stats: &WriterStats,
    dedup: &mut Option<bool>,
    spool_id: &str,
    (from, to): (Pos, Pos),
    replayed: bool,
    rows: &mut Spooled,
    shutdown: &CancellationToken,
) -> Result<(), StoreError> {
    let token = dedup::token(spool_id, from, to);
    let mut backoff = Duration::from_millis(100);
    // An insert that failed may still have landed (the server committed, the answer was lost):
    // every attempt after the first is treated like a replay.
    let mut check_stored = replayed;
    let mut requests_done = false;
    // Frozen once: each attempt sends the same bytes without copying them.
    let texts = bytes::Bytes::from(std::mem::take(&mut rows.stacktraces));
    let mut occurrences = bytes::Bytes::from(std::mem::take(&mut rows.occurrences));
    loop {
        let attempt = async {
            let use_token = match *dedup {
                Some(d) => d,
                None => {
                    let info = store.ping(Duration::from_secs(5)).await?;
                    let d = dedup::supports_token(&info.version);
                    *dedup = Some(d);
                    d
                }
            };
            let token = use_token.then_some(token.as_str());
            let mut skip_requests = requests_done;
            if check_stored && !use_token {
                // 18.16: no dedup tokens. Insert only the occurrences not already stored; if any
                // were, the request counts (inserted first) were too.
                if let Some((kept, n)) = dedup::without_stored(store, stats, &occurrences).await? {
                    occurrences = kept;
                    rows.n_occurrences = n;
                    skip_requests = true;
                }
            }
            if !skip_requests {
                insert_all(
                    store,
                    "requests_minute",
                    &rows.requests,
                    token.map(|t| format!("{t}-r")),
                )
                .await?;
                requests_done = true;
            }
            let started = Instant::now();
            // Texts before the occurrences that refer to them; inserting one twice is harmless.
            insert_row_binary(
                store,
                "stacktraces",
                STACKTRACE_COLUMNS,
                texts.clone(),
                token.map(|t| format!("{t}-s")),
            )
            .await?;
            insert_row_binary(
                store,
                "occurrences",
                OCCURRENCE_COLUMNS,
                occurrences.clone(),
                token.map(|t| format!("{t}-o")),
            )
            .await?;
            stats
                .insert_latency
                .observe(started.elapsed().as_secs_f64());
            Ok::<(), StoreError>(())
        };
        match attempt.await {
            Ok(()) => {
                stats.batches.fetch_add(1, Ordering::Relaxed);
                stats
                    .rows
                    .fetch_add(rows.n_occurrences as u64, Ordering::Relaxed);
                return Ok(());
            }
            Err(e) => {
                stats.insert_errors.fetch_add(1, Ordering::Relaxed);
                if !e.is_retryable() {
                    return Err(e);
                }
                check_stored = true;
                tracing::warn!(error = %e, backoff_ms = backoff.as_millis() as u64, "insert failed, retrying (rows stay in the spool)");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.cancelled() => return Err(e),
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Keeps records ClickHouse refused (or that cannot be decoded) in `spool/rejected/`.
fn quarantine(cfg: &WriterConfig, records: &[Record]) {
    let dir = cfg.spool_dir.join("rejected");
    let result = std::fs::create_dir_all(&dir).and_then(|()| {
        use std::io::Write;
        let name = format!(
            "{:016}-{:012}.batches",
            records.first().map(|r| r.pos.segment).unwrap_or(0),
            records.first().map(|r| r.pos.offset).unwrap_or(0)
        );
        let mut f = std::fs::File::create(dir.join(name))?;
        for r in records {
            f.write_all(&(r.payload.len() as u64).to_le_bytes())?;
            f.write_all(&r.payload)?;
        }
        f.sync_all()
    });
    if let Err(e) = result {
        tracing::error!(error = %e, "cannot keep rejected rows in spool/rejected");
    }
}

/// Inserts `rows` into `table` of the store's database in one `INSERT`.
/// With `token`, the insert carries it as `insert_deduplication_token` (and dedups the rollups
/// fed by materialized views too).
pub(crate) async fn insert_all<T>(
    store: &Store,
    table: &str,
    rows: &[T],
    token: Option<String>,
) -> Result<(), StoreError>
where
    T: RowOwned + RowWrite,
{
    if rows.is_empty() {
        return Ok(());
    }
    let target = format!("`{}`.`{}`", store.database(), table);
    let mut insert = insert_client(store, table, token)
        .insert_unescaped::<T>(&target)
        .await?
        .with_timeouts(Some(Duration::from_secs(30)), Some(Duration::from_secs(60)));
    for r in rows {
        insert.write(r).await?;
    }
    insert.end().await?;
    Ok(())
}

/// The client for an insert into `table`: with `token`, the insert carries it as
/// `insert_deduplication_token` (and dedups the rollups fed by materialized views too). On a
/// cluster the insert goes through the Distributed table synchronously (ClickHouse answers once
/// every shard has its rows, so the spool frees a range only then), and request counts are not
/// deduplicated: two drains may legitimately send identical count rows, which a replicated table
/// would otherwise drop as a replayed block.
fn insert_client(store: &Store, table: &str, token: Option<String>) -> clickhouse::Client {
    let mut client = match token {
        Some(t) => store
            .client()
            .clone()
            .with_setting("insert_deduplication_token", t)
            .with_setting("deduplicate_blocks_in_dependent_materialized_views", "1"),
        None => store.client().clone(),
    };
    if store.cluster().is_some() {
        client = client.with_setting("insert_distributed_sync", "1");
        if table == "requests_minute" {
            client = client.with_setting("insert_deduplicate", "0");
        }
    }
    client
}

/// Sends rows already in `RowBinary` (columns in the order of `columns`) in one `INSERT`.
pub(crate) async fn insert_row_binary(
    store: &Store,
    table: &str,
    columns: &[(&str, &str)],
    data: bytes::Bytes,
    token: Option<String>,
) -> Result<(), StoreError> {
    if data.is_empty() {
        return Ok(());
    }
    let names = columns
        .iter()
        .map(|(n, _)| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO `{}`.`{table}` ({names}) FORMAT RowBinary",
        store.database()
    );
    let mut insert = insert_client(store, table, token)
        .insert_formatted_with(sql)
        .with_timeouts(Some(Duration::from_secs(30)), Some(Duration::from_secs(60)));
    insert.send(data).await?;
    insert.end().await?;
    Ok(())
}

impl Store {
    /// Inserts occurrence rows directly, bypassing the batching writer (tests, benchmarks, import).
    pub async fn insert_occurrences(&self, rows: &[OccurrenceRow]) -> Result<(), StoreError> {
        insert_all(self, "occurrences", rows, None).await
    }

    /// Inserts request-count rows directly, as the writer does (tests, benchmarks, import).
    pub async fn insert_request_counts(
        &self,
        rows: &[crate::RequestCountRow],
    ) -> Result<(), StoreError> {
        insert_all(self, "requests_minute", rows, None).await
    }
}
