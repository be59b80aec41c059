//! The batched writer: jobs → batch (rows, bytes, age) → insert → classified retry → acks.
//!
//! Receivers hand a [`Batch`] to [`Writer::write`] and wait: the call returns `Ok` only after the
//! rows are in ClickHouse, so a client is acknowledged only for what is stored. Jobs from many
//! requests are merged into one `INSERT` (ClickHouse wants few large inserts: 1k-row batches run at
//! a third of the speed of 100k-row ones). A full queue is refused at once ([`WriteError::QueueFull`])
//! so receivers can answer "retry later" instead of piling up memory. Network and overload errors are
//! retried with backoff for up to `retry_for`; data and schema errors never are.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use clickhouse::{RowOwned, RowWrite};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::{OccurrenceRow, RequestCountRow, Store, StoreError};

/// Thresholds of the writer.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// Flush when this many occurrence rows are pending.
    pub max_rows: usize,
    /// Flush when the pending rows are about this many bytes.
    pub max_bytes: usize,
    /// Flush when the oldest pending job is this old.
    pub max_age: Duration,
    /// Jobs that may wait for the writer; beyond this, writes are refused.
    pub queue_capacity: usize,
    /// How long to keep retrying a batch on retryable errors before failing its jobs.
    pub retry_for: Duration,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            max_rows: 50_000,
            max_bytes: 64 << 20,
            max_age: Duration::from_millis(200),
            queue_capacity: 4096,
            retry_for: Duration::from_secs(10),
        }
    }
}

/// Rows from one request.
#[derive(Debug, Default, Clone)]
pub struct Batch {
    /// Error occurrences.
    pub occurrences: Vec<OccurrenceRow>,
    /// Request counts (merged with other jobs' before insert).
    pub requests: Vec<RequestCountRow>,
}

impl Batch {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.occurrences.is_empty() && self.requests.is_empty()
    }
}

/// Why a write did not complete.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WriteError {
    /// The writer's queue is full: try again shortly.
    #[error("ingest queue is full")]
    QueueFull,
    /// ClickHouse could not be reached (after retries) or the writer is stopping.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// ClickHouse rejected the rows; retrying will not help.
    #[error("storage rejected the rows: {0}")]
    Rejected(String),
}

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
    /// Jobs waiting or being written.
    pub queue_depth: AtomicUsize,
}

struct Job {
    batch: Batch,
    ack: oneshot::Sender<Result<(), WriteError>>,
}

/// Handle to the writer task. Cheap to clone.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Job>,
    stats: Arc<WriterStats>,
}

impl Writer {
    /// Starts the writer task. It stops when `shutdown` is cancelled, after writing every job
    /// already queued.
    pub fn spawn(
        store: Store,
        cfg: WriterConfig,
        shutdown: CancellationToken,
    ) -> (Writer, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(cfg.queue_capacity.max(1));
        let stats = Arc::new(WriterStats::default());
        let task = tokio::spawn(run(store, cfg, rx, shutdown, stats.clone()));
        (Writer { tx, stats }, task)
    }

    /// Writes `batch` and waits until ClickHouse has it.
    pub async fn write(&self, batch: Batch) -> Result<(), WriteError> {
        if batch.is_empty() {
            return Ok(());
        }
        let (ack, done) = oneshot::channel();
        self.tx.try_send(Job { batch, ack }).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => WriteError::QueueFull,
            mpsc::error::TrySendError::Closed(_) => {
                WriteError::Unavailable("writer stopped".into())
            }
        })?;
        self.stats.queue_depth.fetch_add(1, Ordering::Relaxed);
        done.await
            .unwrap_or_else(|_| Err(WriteError::Unavailable("writer stopped".into())))
    }

    /// The writer's counters.
    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }
}

async fn run(
    store: Store,
    cfg: WriterConfig,
    mut rx: mpsc::Receiver<Job>,
    shutdown: CancellationToken,
    stats: Arc<WriterStats>,
) {
    let mut pending: Vec<Job> = Vec::new();
    loop {
        let first = tokio::select! {
            biased;
            job = rx.recv() => job,
            _ = shutdown.cancelled() => None,
        };
        let Some(first) = first else { break };
        let deadline = Instant::now() + cfg.max_age;
        let (mut rows, mut bytes) = (0usize, 0usize);
        add(&mut pending, first, &mut rows, &mut bytes);
        while rows < cfg.max_rows && bytes < cfg.max_bytes {
            tokio::select! {
                job = rx.recv() => match job {
                    Some(j) => add(&mut pending, j, &mut rows, &mut bytes),
                    None => break,
                },
                _ = tokio::time::sleep_until(deadline) => break,
                _ = shutdown.cancelled() => break,
            }
        }
        flush(&store, &cfg, &stats, std::mem::take(&mut pending)).await;
    }
    // Shutting down: write what was already accepted, then stop taking jobs.
    rx.close();
    let (mut rows, mut bytes) = (0usize, 0usize);
    while let Some(j) = rx.recv().await {
        add(&mut pending, j, &mut rows, &mut bytes);
        if rows >= cfg.max_rows || bytes >= cfg.max_bytes {
            flush(&store, &cfg, &stats, std::mem::take(&mut pending)).await;
            (rows, bytes) = (0, 0);
        }
    }
    flush(&store, &cfg, &stats, pending).await;
}

fn add(pending: &mut Vec<Job>, job: Job, rows: &mut usize, bytes: &mut usize) {
    *rows += job.batch.occurrences.len();
    *bytes += job
        .batch
        .occurrences
        .iter()
        .map(OccurrenceRow::approx_bytes)
        .sum::<usize>();
    pending.push(job);
}

async fn flush(store: &Store, cfg: &WriterConfig, stats: &WriterStats, jobs: Vec<Job>) {
    if jobs.is_empty() {
        return;
    }
    let mut occurrences = Vec::with_capacity(jobs.iter().map(|j| j.batch.occurrences.len()).sum());
    let mut requests = Vec::new();
    let mut acks = Vec::with_capacity(jobs.len());
    for j in jobs {
        occurrences.extend(j.batch.occurrences);
        requests.extend(j.batch.requests);
        acks.push(j.ack);
    }
    let requests = RequestCountRow::merge(requests);

    let mut result = with_retry(cfg, stats, || {
        insert_all(store, "requests_minute", &requests)
    })
    .await;
    if result.is_ok() {
        result = with_retry(cfg, stats, || {
            insert_all(store, "occurrences", &occurrences)
        })
        .await;
    }
    if result.is_ok() {
        stats.batches.fetch_add(1, Ordering::Relaxed);
        stats
            .rows
            .fetch_add(occurrences.len() as u64, Ordering::Relaxed);
    }
    let outcome = result.map_err(|e| match e {
        StoreError::Unavailable(m) => WriteError::Unavailable(m),
        StoreError::Rejected(m) | StoreError::Local(m) => WriteError::Rejected(m),
    });
    stats.queue_depth.fetch_sub(acks.len(), Ordering::Relaxed);
    for ack in acks {
        let _ = ack.send(outcome.clone());
    }
}

async fn with_retry<F, Fut>(
    cfg: &WriterConfig,
    stats: &WriterStats,
    mut f: F,
) -> Result<(), StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), StoreError>>,
{
    let give_up = Instant::now() + cfg.retry_for;
    let mut backoff = Duration::from_millis(100);
    loop {
        match f().await {
            Ok(()) => return Ok(()),
            Err(e) => {
                stats.insert_errors.fetch_add(1, Ordering::Relaxed);
                if !e.is_retryable() || Instant::now() + backoff > give_up {
                    tracing::error!(error = %e, retryable = e.is_retryable(), "insert failed");
                    return Err(e);
                }
                tracing::warn!(error = %e, backoff_ms = backoff.as_millis() as u64, "insert failed, retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        }
    }
}

/// Inserts `rows` into `table` of the store's database in one `INSERT`.
pub(crate) async fn insert_all<T>(store: &Store, table: &str, rows: &[T]) -> Result<(), StoreError>
where
    T: RowOwned + RowWrite,
{
    if rows.is_empty() {
        return Ok(());
    }
    let target = format!("`{}`.`{}`", store.database(), table);
    let mut insert = store
        .client()
        .insert_unescaped::<T>(&target)
        .await?
        .with_timeouts(Some(Duration::from_secs(30)), Some(Duration::from_secs(60)));
    for r in rows {
        insert.write(r).await?;
    }
    insert.end().await?;
    Ok(())
}

impl Store {
    /// Inserts occurrence rows directly, bypassing the batching writer (tests, benchmarks, import).
    pub async fn insert_occurrences(&self, rows: &[OccurrenceRow]) -> Result<(), StoreError> {
        insert_all(self, "occurrences", rows).await
    }
}
