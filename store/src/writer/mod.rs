//! The writer: append to the spool → acknowledge → drain in batches (rows, bytes, age) → insert →
//! classified retry → confirm.
//!
//! Receivers hand a [`Batch`] to [`Writer::write`], which returns `Ok` once the batch is durable
//! in the write-ahead [`Spool`] (one fsync per group of concurrent writes): a client is
//! acknowledged only for what is on disk, and ClickHouse being down costs nothing but disk space.
//! A full spool is refused at once ([`WriteError::SpoolFull`]) so receivers answer "retry later".
//!
//! One job per module:
//! - [`record`]: the spool record format ([`Batch`] → bytes, bytes → [`Spooled`]);
//! - [`texts`]: each distinct stack-trace text travels once per project and day ([`StackTexts`]);
//! - `batcher`: spooled records gathered into one insert by rows, bytes or age;
//! - `drainer`: insert, classified retry (never a data error, always a network error),
//!   quarantine of refused records, confirm;
//! - `dedup`: exactly once on replay (dedup tokens on modern servers, the event-id check on
//!   18.16);
//! - [`stats`]: counters, the insert latency histogram and their Prometheus collector.

mod batcher;
mod dedup;
mod drainer;
pub mod record;
pub mod stats;
pub mod texts;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::Store;
use crate::spool::{Expected, Spool, SpoolConfig, SpoolError};

pub(crate) use dedup::supports_token as supports_dedup_token;
pub(crate) use drainer::insert_all;
pub use record::{Batch, Spooled};
pub use stats::{LATENCY_BUCKETS, WriterMetrics, WriterStats};
pub use texts::StackTexts;

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

/// Handle to the writer. Cheap to clone.
#[derive(Clone)]
pub struct Writer {
    spool: Spool,
    stats: Arc<WriterStats>,
    texts: Arc<StackTexts>,
    /// The ClickHouse node inserts go to (`host:port`), for the metrics.
    node: Arc<str>,
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
        let node: Arc<str> = Arc::from(store.node());
        let task = tokio::spawn(drainer::drain(
            store,
            cfg,
            spool.clone(),
            shutdown,
            stats.clone(),
        ));
        let texts = Arc::new(StackTexts::default());
        Ok((
            Writer {
                spool,
                stats,
                texts,
                node,
            },
            task,
        ))
    }

    /// `host:port` of the ClickHouse node inserts go to.
    pub fn node(&self) -> &str {
        &self.node
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
        self.write_encoded_expected(encoded, None).await
    }

    /// Announces a write that is coming (a request being read): concurrent small requests then
    /// share the spool's fsyncs ([`Spool::expect`]). Pass the guard to
    /// [`write_encoded_expected`](Self::write_encoded_expected), or drop it if the request fails.
    pub fn expect(&self) -> Expected {
        self.spool.expect()
    }

    /// [`write_encoded`](Self::write_encoded) of an announced write.
    pub async fn write_encoded_expected(
        &self,
        encoded: Encoded,
        expected: Option<Expected>,
    ) -> Result<(), WriteError> {
        let (done, wait) = tokio::sync::oneshot::channel();
        self.write_encoded_then(encoded, expected, move |r| {
            let _ = done.send(r);
        });
        wait.await
            .unwrap_or_else(|_| Err(SpoolError::Closed.into()))
    }

    /// Hands an encoded batch to the spool without waiting (from any thread, a blocking one
    /// included): `done` is called exactly once, when the batch is durable or with why it is
    /// not, at once when there is nothing to write or the spool refuses it, otherwise on the
    /// spool committer's thread after its fsync ([`Spool::append_then`]).
    pub fn write_encoded_then(
        &self,
        encoded: Encoded,
        expected: Option<Expected>,
        done: impl FnOnce(Result<(), WriteError>) + Send + 'static,
    ) {
        let Some(payload) = encoded.payload else {
            drop(expected);
            return done(Ok(()));
        };
        let (texts, keys) = (self.texts.clone(), encoded.text_keys);
        self.spool.append_then(
            payload,
            expected,
            Box::new(move |r| {
                if r.is_ok() {
                    texts.mark(&keys);
                }
                done(r.map_err(WriteError::from));
            }),
        );
    }

    /// Signalled after every insert ClickHouse confirmed.
    pub fn inserted(&self) -> std::sync::Arc<tokio::sync::Notify> {
        self.stats.inserted.clone()
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
