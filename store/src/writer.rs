//! The writer: append to the spool → acknowledge → drain in batches (rows, bytes, age) → insert →
//! classified retry → confirm.
//!
//! Receivers hand a [`Batch`] to [`Writer::write`], which returns `Ok` once the batch is durable
//! in the write-ahead [`Spool`] (one fsync per group of concurrent writes): a client is
//! acknowledged only for what is on disk, and ClickHouse being down costs nothing but disk space.
//! A full spool is refused at once ([`WriteError::SpoolFull`]) so receivers answer "retry later".
//!
//! Stack traces repeat, so each distinct text travels once per project and day: [`Writer::encode`]
//! moves a text out of its occurrences into the batch's `stacktraces` until a batch carrying it is
//! durable ([`StackTexts`]); occurrences keep its `stack_hash`. A spool record holds its rows
//! already in ClickHouse's `RowBinary` ([`crate::rowbinary`]), encoded once on the receiver's
//! blocking thread, and the drainer sends them as they are. Records are tagged with their format,
//! and the first format (postcard structs, texts inline) is still read, so an upgrade strands
//! nothing.
//!
//! The drainer reads spooled batches back in order and merges them into few large `INSERT`s
//! (ClickHouse wants few large inserts). Network and overload errors are retried with backoff for
//! as long as it takes; data and schema errors never are: those rows are moved to
//! `spool/rejected/` and counted, never silently dropped. A range is confirmed (and its disk space
//! freed) only after ClickHouse answered.
//!
//! Exactly once: the range about to be inserted is recorded first. After a crash it is replayed
//! as the very same insert. On servers that support it (ClickHouse ≥ 22.2), each insert carries
//! an `insert_deduplication_token` derived from its range and the spool's random id, so a replayed insert that had in fact
//! landed is dropped by the server, rollups included. On older servers (18.16) the replay first
//! asks which of the range's event ids are already stored and inserts only the others, so
//! duplicates are limited to request counts of the one range in flight at the crash.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use clickhouse::{RowOwned, RowWrite};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::rows::{OCCURRENCE_COLUMNS, STACKTRACE_COLUMNS};
use crate::spool::{Pos, Record, Spool, SpoolConfig, SpoolError};
use crate::{OccurrenceRow, RequestCountRow, StackTraceRow, Store, StoreError};

/// Thresholds of the writer.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// Flush when this many occurrence rows are pending.
    pub max_rows: usize,
    /// Flush when the pending rows are about this many bytes.
    pub max_bytes: usize,
    /// Flush when the oldest pending batch waited this long.
    pub max_age: Duration,
    /// Where the spool lives.
    pub spool_dir: PathBuf,
    /// Bound of the spool's size on disk; writes beyond it are refused.
    pub spool_max_bytes: u64,
}

impl WriterConfig {
    /// Defaults, with the spool in `spool_dir`.
    pub fn new(spool_dir: impl Into<PathBuf>) -> Self {
        WriterConfig {
            max_rows: 50_000,
            max_bytes: 16 << 20,
            max_age: Duration::from_millis(200),
            spool_dir: spool_dir.into(),
            spool_max_bytes: 1 << 30,
        }
    }
}

/// Rows from one request (text columns owned, or borrowed from the request: see
/// [`OccurrenceRow`]).
#[derive(Debug, Default, Clone)]
pub struct Batch<S = String> {
    /// Error occurrences.
    pub occurrences: Vec<OccurrenceRow<S>>,
    /// Request counts (merged with other jobs' before insert).
    pub requests: Vec<RequestCountRow>,
    /// Stack-trace texts the occurrences refer to by hash and that were not spooled yet that day
    /// (see [`StackTexts`]).
    pub stacktraces: Vec<StackTraceRow>,
}

/// First bytes of a spool record of this format: sections of rows already in ClickHouse's
/// `RowBinary` (sent by the drainer as they are), then the request counts. Records without them
/// are the first format (postcard-encoded structs, stack traces inline), still read after an
/// upgrade.
const BATCH_MAGIC: &[u8; 4] = b"FLB3";

/// Appends `n` rows as one section: row count and byte length (u32 LE each), then the rows.
fn put_section<T>(out: &mut Vec<u8>, rows: &[T], write: impl Fn(&T, &mut Vec<u8>)) {
    out.extend_from_slice(&(rows.len() as u32).to_le_bytes());
    let len_at = out.len();
    out.extend_from_slice(&[0; 4]);
    let start = out.len();
    for r in rows {
        write(r, out);
    }
    let len = (out.len() - start) as u32;
    out[len_at..start].copy_from_slice(&len.to_le_bytes());
}

/// Reads a section written by [`put_section`]: `(rows, bytes)`.
fn take_section<'a>(buf: &mut &'a [u8]) -> Result<(usize, &'a [u8]), String> {
    let mut word = || -> Result<usize, String> {
        let (w, rest) = buf
            .split_first_chunk::<4>()
            .ok_or("spool record cut short")?;
        *buf = rest;
        Ok(u32::from_le_bytes(*w) as usize)
    };
    let (n, len) = (word()?, word()?);
    if buf.len() < len {
        return Err("spool record cut short".into());
    }
    let (rows, rest) = buf.split_at(len);
    *buf = rest;
    Ok((n, rows))
}

impl<S: AsRef<str> + Default + Into<String>> Batch<S> {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.occurrences.is_empty() && self.requests.is_empty()
    }

    /// The spool record of this batch; `None` when there is nothing to write.
    pub fn encode(&self) -> Result<Option<Vec<u8>>, WriteError> {
        if self.is_empty() {
            return Ok(None);
        }
        // Sized up front: growing a multi-megabyte record by doubling copies it again and again.
        let rows: usize = self
            .occurrences
            .iter()
            .map(OccurrenceRow::approx_bytes)
            .sum();
        let texts: usize = self
            .stacktraces
            .iter()
            .map(|t| t.project.len() + t.stacktrace.len() + 24)
            .sum();
        let mut out = Vec::with_capacity(BATCH_MAGIC.len() + 16 + rows + texts + 64);
        out.extend_from_slice(BATCH_MAGIC);
        put_section(&mut out, &self.occurrences, OccurrenceRow::write_row_binary);
        put_section(&mut out, &self.stacktraces, StackTraceRow::write_row_binary);
        postcard::to_extend(&self.requests, out)
            .map(Some)
            .map_err(|e| WriteError::Unavailable(e.to_string()))
    }

    /// Moves each occurrence's stack-trace text into [`Batch::stacktraces`] the first time it is
    /// seen that day (by `texts`, or earlier in this batch), leaving the occurrence its
    /// `stack_hash` only. Returns the keys to mark once the batch is durable.
    pub fn share_texts(&mut self, texts: &StackTexts) -> Vec<u64> {
        let mut keys = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let sent = texts.sent.lock().unwrap_or_else(|e| e.into_inner());
        for o in &mut self.occurrences {
            if o.stack_hash == 0 {
                continue;
            }
            let day = (o.timestamp / 86_400) as u16;
            let key = StackTexts::key(o.project.as_ref(), day, o.stack_hash);
            let text = std::mem::take(&mut o.stacktrace);
            if !sent.contains(&key) && seen.insert(key) {
                keys.push(key);
                self.stacktraces.push(StackTraceRow {
                    project: o.project.as_ref().to_string(),
                    day,
                    stack_hash: o.stack_hash,
                    stacktrace: text.into(),
                });
            }
        }
        keys
    }
}

/// The first spool record format, kept readable so an upgrade never strands spooled rows.
pub(crate) mod legacy {
    use serde::{Deserialize, Serialize};

    use crate::{OccurrenceRow, RequestCountRow};

    /// An occurrence as the first format spooled it (no `stack_hash`).
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[allow(missing_docs)]
    pub struct OccurrenceV1 {
        pub event_id: String,
        pub project: String,
        pub fingerprint: String,
        pub grouping_version: u8,
        pub timestamp: u32,
        pub received_at: u32,
        pub source: String,
        pub service: String,
        pub environment: String,
        pub release: String,
        pub exception_type: String,
        pub message: String,
        pub stacktrace: String,
        pub culprit: String,
        pub severity: String,
        pub http_status: u16,
        pub http_method: String,
        pub http_route: String,
        pub url: String,
        pub trace_id: String,
        pub span_id: String,
        pub attr_keys: Vec<String>,
        pub attr_values: Vec<String>,
    }

    /// A batch as the first format spooled it.
    #[derive(Debug, Clone, Default, Serialize, Deserialize)]
    pub struct BatchV1 {
        pub occurrences: Vec<OccurrenceV1>,
        pub requests: Vec<RequestCountRow>,
    }

    impl From<OccurrenceV1> for OccurrenceRow {
        fn from(o: OccurrenceV1) -> Self {
            OccurrenceRow {
                event_id: o.event_id,
                project: o.project,
                fingerprint: o.fingerprint,
                grouping_version: o.grouping_version,
                timestamp: o.timestamp,
                received_at: o.received_at,
                source: o.source,
                service: o.service,
                environment: o.environment,
                release: o.release,
                exception_type: o.exception_type,
                message: o.message,
                stacktrace: o.stacktrace,
                stack_hash: 0,
                culprit: o.culprit,
                severity: o.severity,
                http_status: o.http_status,
                http_method: o.http_method,
                http_route: o.http_route,
                url: o.url,
                trace_id: o.trace_id,
                span_id: o.span_id,
                attr_keys: o.attr_keys,
                attr_values: o.attr_values,
            }
        }
    }
}

impl From<legacy::BatchV1> for Batch {
    fn from(b: legacy::BatchV1) -> Self {
        Batch {
            occurrences: b.occurrences.into_iter().map(OccurrenceRow::from).collect(),
            requests: b.requests,
            stacktraces: Vec::new(),
        }
    }
}

/// A spool record as the drainer reads it: rows in `RowBinary`, ready to send.
#[derive(Debug, Default)]
pub struct Spooled {
    /// Occurrence rows, `RowBinary`.
    pub occurrences: Vec<u8>,
    /// How many.
    pub n_occurrences: usize,
    /// Stack-trace rows, `RowBinary`.
    pub stacktraces: Vec<u8>,
    /// Request counts.
    pub requests: Vec<RequestCountRow>,
}

impl Spooled {
    /// Reads a spool record, of this format or the first one.
    pub fn decode(record: &[u8]) -> Result<Spooled, String> {
        let mut s = Spooled::default();
        s.append(record)?;
        Ok(s)
    }

    /// Appends a spool record's rows (the drainer merges a range of records into one insert).
    /// Nothing is appended when the record does not read.
    fn append(&mut self, record: &[u8]) -> Result<(), String> {
        let Some(mut body) = record.strip_prefix(BATCH_MAGIC.as_slice()) else {
            let old = postcard::from_bytes::<legacy::BatchV1>(record).map_err(|e| e.to_string())?;
            let b = Batch::from(old);
            for o in &b.occurrences {
                o.write_row_binary(&mut self.occurrences);
            }
            self.n_occurrences += b.occurrences.len();
            self.requests.extend(b.requests);
            return Ok(());
        };
        let (n_occurrences, occurrences) = take_section(&mut body)?;
        let (_, stacktraces) = take_section(&mut body)?;
        let requests: Vec<RequestCountRow> =
            postcard::from_bytes(body).map_err(|e| e.to_string())?;
        self.occurrences.extend_from_slice(occurrences);
        self.n_occurrences += n_occurrences;
        self.stacktraces.extend_from_slice(stacktraces);
        self.requests.extend(requests);
        Ok(())
    }

    /// The occurrence rows, decoded (replays on servers without dedup tokens, tests).
    pub fn occurrence_rows(&self) -> Result<Vec<OccurrenceRow>, String> {
        crate::rowbinary::read_occurrences(&self.occurrences).map_err(|e| e.to_string())
    }

    /// The stack-trace rows, decoded (tests).
    pub fn stacktrace_rows(&self) -> Result<Vec<StackTraceRow>, String> {
        let mut r = crate::rowbinary::Reader(&self.stacktraces);
        let mut out = Vec::new();
        while !r.is_empty() {
            out.push(StackTraceRow::read_row_binary(&mut r).map_err(|e| e.to_string())?);
        }
        Ok(out)
    }
}

/// Which stack-trace texts are already durable in the spool, per project and day, so a batch
/// carries a text only the first time it is seen that day: occurrences refer to it by hash.
///
/// A key is marked only after the batch carrying its text was fsynced ([`StackTexts::mark`]), so
/// an occurrence never refers to a text that is not on disk before it (the spool drains in order,
/// and each insert writes texts before occurrences). Forgetting (a restart, or the bound) only
/// means a text is sent again, which the table merges away.
#[derive(Debug, Default)]
pub struct StackTexts {
    sent: std::sync::Mutex<std::collections::HashSet<u64>>,
}

/// Distinct (project, day, hash) keys remembered before the set is forgotten and starts again.
const STACK_TEXTS_MAX: usize = 200_000;

impl StackTexts {
    /// The key of a text of `project` on `day`.
    pub fn key(project: &str, day: u16, stack_hash: u64) -> u64 {
        let mut h = twox_hash::XxHash3_64::new();
        std::hash::Hasher::write(&mut h, project.as_bytes());
        std::hash::Hasher::write(&mut h, &day.to_le_bytes());
        std::hash::Hasher::write(&mut h, &stack_hash.to_le_bytes());
        std::hash::Hasher::finish(&h)
    }

    /// Records texts as durable (call after their batch was written).
    pub fn mark(&self, keys: &[u64]) {
        let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        if sent.len() + keys.len() > STACK_TEXTS_MAX {
            sent.clear();
        }
        sent.extend(keys.iter().copied());
    }
}

/// A batch ready for the spool ([`Writer::encode`]).
#[derive(Debug)]
pub struct Encoded {
    payload: Option<Vec<u8>>,
    text_keys: Vec<u64>,
}

/// Why a write was not accepted.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WriteError {
    /// The spool is full (ClickHouse has been unreachable for a while): try again later.
    #[error("ingest spool is full")]
    SpoolFull,
    /// The spool could not store the batch (disk error) or the writer is stopping.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

impl From<SpoolError> for WriteError {
    fn from(e: SpoolError) -> Self {
        match e {
            SpoolError::Full { .. } => WriteError::SpoolFull,
            other => WriteError::Unavailable(other.to_string()),
        }
    }
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
    /// Occurrence rows ClickHouse refused as data errors (kept in `spool/rejected/`).
    pub rejected_rows: AtomicU64,
    /// Occurrence rows found already stored when a crashed insert was replayed (not re-inserted).
    pub replay_skipped_rows: AtomicU64,
}

/// Handle to the writer. Cheap to clone.
#[derive(Clone)]
pub struct Writer {
    spool: Spool,
    stats: Arc<WriterStats>,
    texts: Arc<StackTexts>,
}

impl Writer {
    /// Opens the spool and starts the drainer. The drainer stops when `shutdown` is cancelled,
    /// after finishing the insert in progress; what it has not inserted stays in the spool for
    /// the next start.
    pub fn spawn(
        store: Store,
        cfg: WriterConfig,
        shutdown: CancellationToken,
    ) -> Result<(Writer, tokio::task::JoinHandle<()>), SpoolError> {
        let spool = Spool::open(SpoolConfig {
            dir: cfg.spool_dir.clone(),
            max_bytes: cfg.spool_max_bytes,
            segment_bytes: (cfg.spool_max_bytes / 16).clamp(1 << 20, 64 << 20),
        })?;
        let stats = Arc::new(WriterStats::default());
        let task = tokio::spawn(drain(store, cfg, spool.clone(), shutdown, stats.clone()));
        let texts = Arc::new(StackTexts::default());
        Ok((
            Writer {
                spool,
                stats,
                texts,
            },
            task,
        ))
    }

    /// Makes `batch` durable in the spool; ClickHouse gets it shortly after.
    pub async fn write(&self, batch: Batch) -> Result<(), WriteError> {
        self.write_encoded(self.encode(batch)?).await
    }

    /// The spool record of `batch`, stack-trace texts already spooled left out. Receivers call
    /// this on the blocking thread that built the batch, not on the async runtime.
    pub fn encode<S: AsRef<str> + Default + Into<String>>(
        &self,
        mut batch: Batch<S>,
    ) -> Result<Encoded, WriteError> {
        let text_keys = batch.share_texts(&self.texts);
        Ok(Encoded {
            payload: batch.encode()?,
            text_keys,
        })
    }

    /// Like [`write`](Self::write), for a batch already [`encode`](Self::encode)d.
    pub async fn write_encoded(&self, encoded: Encoded) -> Result<(), WriteError> {
        match encoded.payload {
            Some(p) => {
                self.spool.append(p).await?;
                self.texts.mark(&encoded.text_keys);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// The writer's counters.
    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }

    /// The spool (size, age of the oldest record, group-commit counts).
    pub fn spool(&self) -> &Spool {
        &self.spool
    }
}

/// Whether the server dedups inserts by `insert_deduplication_token` (ClickHouse 22.2 and later).
pub(crate) fn supports_dedup_token(version: &str) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (22, 2)
}

async fn drain(
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
            Ok(()) => {}
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

/// Records read from the spool at a time.
const READ_CHUNK: usize = 256;

/// Reads spooled batches until `max_rows` / `max_bytes` or until the first waited `max_age`.
async fn gather(
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
    let token = format!(
        "faultline-{spool_id}-{}-{}-{}-{}",
        from.segment, from.offset, to.segment, to.offset
    );
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
                    let d = supports_dedup_token(&info.version);
                    *dedup = Some(d);
                    d
                }
            };
            let token = use_token.then_some(token.as_str());
            let mut skip_requests = requests_done;
            if check_stored && !use_token {
                // 18.16: no dedup tokens. Insert only the occurrences not already stored; if any
                // were, the request counts (inserted first) were too.
                let mut decoded = crate::rowbinary::read_occurrences(&occurrences)
                    .map_err(|e| StoreError::Rejected(format!("spool record: {e}")))?;
                let stored = store.stored_event_ids(&decoded).await?;
                if !stored.is_empty() {
                    let before = decoded.len();
                    decoded.retain(|o| !stored.contains(&o.event_id));
                    stats
                        .replay_skipped_rows
                        .fetch_add((before - decoded.len()) as u64, Ordering::Relaxed);
                    skip_requests = true;
                    let mut kept = Vec::new();
                    for o in &decoded {
                        o.write_row_binary(&mut kept);
                    }
                    occurrences = kept.into();
                    rows.n_occurrences = decoded.len();
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
            stats.insert_latency.observe(started.elapsed());
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
    let mut insert = insert_client(store, token)
        .insert_unescaped::<T>(&target)
        .await?
        .with_timeouts(Some(Duration::from_secs(30)), Some(Duration::from_secs(60)));
    for r in rows {
        insert.write(r).await?;
    }
    insert.end().await?;
    Ok(())
}

/// The client for an insert: with `token`, the insert carries it as `insert_deduplication_token`
/// (and dedups the rollups fed by materialized views too).
fn insert_client(store: &Store, token: Option<String>) -> clickhouse::Client {
    match token {
        Some(t) => store
            .client()
            .clone()
            .with_setting("insert_deduplication_token", t)
            .with_setting("deduplicate_blocks_in_dependent_materialized_views", "1"),
        None => store.client().clone(),
    }
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
    let mut insert = insert_client(store, token)
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
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn records_of_the_first_format_still_decode() {
        let old = legacy::BatchV1 {
            occurrences: vec![legacy::OccurrenceV1 {
                event_id: "e1".into(),
                project: "p".into(),
                stacktrace: "inline".into(),
                ..Default::default()
            }],
            requests: vec![RequestCountRow {
                project: "p".into(),
                requests: 3,
                ..Default::default()
            }],
        };
        let bytes = postcard::to_allocvec(&old).expect("encode");
        let b = Spooled::decode(&bytes).expect("decode");
        let rows = b.occurrence_rows().expect("rows");
        assert_eq!((b.n_occurrences, rows.len()), (1, 1));
        assert_eq!(rows[0].event_id, "e1");
        assert_eq!(rows[0].stacktrace, "inline");
        assert_eq!(rows[0].stack_hash, 0);
        assert_eq!(b.requests[0].requests, 3);
    }

    #[test]
    fn texts_travel_once_until_marked_then_never() {
        let texts = StackTexts::default();
        let row = |ts: u32| OccurrenceRow::<String> {
            project: "p".into(),
            timestamp: ts,
            stacktrace: "trace".into(),
            stack_hash: 7,
            ..Default::default()
        };
        let mut b = Batch {
            occurrences: vec![row(0), row(10), row(86_400)],
            ..Batch::default()
        };
        let keys = b.share_texts(&texts);
        // One text per day; every occurrence keeps only the hash.
        assert_eq!(keys.len(), 2);
        assert_eq!(b.stacktraces.len(), 2);
        assert!(b.occurrences.iter().all(|o| o.stacktrace.is_empty()));
        let round = Spooled::decode(&b.encode().expect("encode").expect("some")).expect("decode");
        assert_eq!(round.stacktrace_rows().expect("texts"), b.stacktraces);
        assert_eq!(round.occurrence_rows().expect("rows"), b.occurrences);
        assert_eq!(round.n_occurrences, 3);
        // A record cut anywhere is refused, never misread.
        let record = b.encode().expect("encode").expect("some");
        for cut in 4..record.len() {
            let r = Spooled::decode(&record[..cut]);
            assert!(
                r.is_err() || r.is_ok_and(|s| s.occurrence_rows().is_err()),
                "cut at {cut}"
            );
        }
        // Not marked (say the write failed): the next batch carries them again.
        let mut again = Batch {
            occurrences: vec![row(5)],
            ..Batch::default()
        };
        assert_eq!(again.share_texts(&texts).len(), 1);
        texts.mark(&keys);
        let mut after = Batch {
            occurrences: vec![row(5), row(86_401)],
            ..Batch::default()
        };
        assert!(after.share_texts(&texts).is_empty());
        assert!(after.stacktraces.is_empty());
    }
}
