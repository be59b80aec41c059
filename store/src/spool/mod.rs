//! The write-ahead spool: what a client is told is stored is on disk first.
//!
//! Records are appended to numbered segment files under `<data_dir>/spool/`, each framed as
//! `[u32 payload length][u32 CRC-32 of payload][u64 appended at, ms][payload]` (little endian).
//! A committer thread takes every append waiting at that moment, writes them in one go and covers
//! them all with one `fdatasync` (group commit), and only then resolves their futures: that is the
//! moment a client is acknowledged.
//!
//! One consumer (the writer's drainer) reads records back in order with [`Spool::read`], marks the
//! range it is about to insert with [`Spool::begin`] and, once ClickHouse confirmed, calls
//! [`Spool::confirm`]; segments wholly confirmed are deleted. The confirmed position and the range
//! in flight live in the `cursor` file (fsynced), so that a restart replays exactly what was not
//! confirmed, starting with the range in flight at the crash as the very same insert.
//!
//! The spool is bounded ([`SpoolConfig::max_bytes`]): an append that would pass the bound fails at
//! once with [`SpoolError::Full`], which receivers answer with "retry later".

mod committer;
mod cursor;
mod frame;

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, oneshot};

use committer::commit_loop;
pub use committer::{Expected, SIBLING_WAIT};
use cursor::Cursor;
use frame::{HEADER, read_records};

/// Where and how large.
#[derive(Debug, Clone)]
pub struct SpoolConfig {
    /// Directory of the segment files (created if missing).
    pub dir: PathBuf,
    /// Largest total size of the segment files; appends beyond it are refused.
    pub max_bytes: u64,
    /// A segment is closed and a new one started once it reaches this size.
    pub segment_bytes: u64,
}

/// A position in the spool: segment number and byte offset in it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Pos {
    /// Segment number.
    pub segment: u64,
    /// Byte offset in the segment.
    pub offset: u64,
}

/// One record read back.
#[derive(Debug, Clone)]
pub struct Record {
    /// Where the record starts.
    pub pos: Pos,
    /// Where the next record starts.
    pub next: Pos,
    /// When it was appended, ms since the epoch.
    pub appended_ms: u64,
    /// What was appended.
    pub payload: Vec<u8>,
}

/// Why the spool could not take or give a record.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SpoolError {
    /// Taking the record would pass [`SpoolConfig::max_bytes`].
    #[error("spool is full ({bytes} of {max} bytes)")]
    Full {
        /// Bytes in the spool now.
        bytes: u64,
        /// The bound.
        max: u64,
    },
    /// The disk said no.
    #[error("spool I/O: {0}")]
    Io(String),
    /// The spool was closed.
    #[error("spool closed")]
    Closed,
}

impl From<std::io::Error> for SpoolError {
    fn from(e: std::io::Error) -> Self {
        SpoolError::Io(e.to_string())
    }
}

/// What is called once an append is durable (`Ok`) or is not going to be: exactly once, on the
/// committer's thread (or the caller's, when the append was refused before it was sent).
pub type Done = Box<dyn FnOnce(Result<(), SpoolError>) + Send>;

struct Append {
    payload: Vec<u8>,
    done: Done,
}

struct Shared {
    cfg: SpoolConfig,
    /// Random, fixed for the life of the spool directory.
    id: String,
    /// Bytes in the segment files.
    bytes: AtomicU64,
    /// End of the durable data.
    durable: Mutex<Pos>,
    /// Signalled after each commit.
    appended: Notify,
    /// Appends announced ([`Spool::expect`]) and not yet sent: the committer waits a moment for
    /// them rather than fsync without them.
    expected: AtomicU64,
    /// The committer thread, woken when the last announced append has been sent.
    committer: std::sync::OnceLock<std::thread::Thread>,
    /// Group commits done (fsyncs) and records they covered.
    commits: AtomicU64,
    records: AtomicU64,
    reader: Mutex<Reader>,
    /// Held (locked) for as long as the spool is open.
    _lock: File,
}

struct Reader {
    cursor: Cursor,
    next: Pos,
    file: Option<(u64, File)>,
    /// Sizes of the segments not yet deleted, oldest first.
    segments: VecDeque<(u64, u64)>,
}

/// The spool. Cheap to clone; the committer thread stops when the last clone is dropped.
#[derive(Clone)]
pub struct Spool {
    shared: Arc<Shared>,
    tx: mpsc::Sender<Append>,
}

fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("{n:016}.seg"))
}

/// Milliseconds since the epoch (the clock appends are stamped with).
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Spool {
    /// Opens (or creates) the spool in `cfg.dir`: keeps every whole record after the confirmed
    /// position, cuts a torn record off the end of the last segment, and starts the committer.
    pub fn open(cfg: SpoolConfig) -> Result<Spool, SpoolError> {
        std::fs::create_dir_all(&cfg.dir)?;
        // One process per spool: a second one would interleave appends with ours.
        // (A spool just dropped in this process lets go once its committer thread has ended:
        // wait a little for that.)
        let lock = File::create(cfg.dir.join("lock"))?;
        let mut tries = 0;
        while lock.try_lock().is_err() {
            tries += 1;
            if tries > 300 {
                return Err(SpoolError::Io(format!(
                    "{} is in use by another Faultline process",
                    cfg.dir.display()
                )));
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        // The spool's identity, part of every deduplication token: a spool started afresh (its
        // directory wiped) must not reuse the tokens of the previous one.
        let id = match std::fs::read_to_string(cfg.dir.join("id")) {
            Ok(id) if !id.trim().is_empty() => id.trim().to_string(),
            _ => {
                let id = uuid::Uuid::new_v4().simple().to_string();
                let mut f = File::create(cfg.dir.join("id"))?;
                f.write_all(id.as_bytes())?;
                f.sync_all()?;
                sync_dir(&cfg.dir)?;
                id
            }
        };
        let cursor = Cursor::load(&cfg.dir);
        let mut numbers: Vec<u64> = std::fs::read_dir(&cfg.dir)?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                name.strip_suffix(".seg")?.parse().ok()
            })
            .collect();
        numbers.sort_unstable();
        let mut segments = VecDeque::new();
        for &n in &numbers {
            let path = segment_path(&cfg.dir, n);
            if n < cursor.confirmed.segment {
                std::fs::remove_file(&path)?;
                continue;
            }
            let len = std::fs::metadata(&path)?.len();
            segments.push_back((n, len));
        }
        // Only the last segment can end in a torn write (a crash mid-append): find its last whole
        // record and cut there. Nothing past it was ever acknowledged.
        if let Some(last) = segments.back_mut() {
            let (n, len) = (last.0, &mut last.1);
            let f = OpenOptions::new()
                .read(true)
                .write(true)
                .open(segment_path(&cfg.dir, n))?;
            let mut at = 0u64;
            while let Ok(records) = read_records(&f, at, *len, usize::MAX, usize::MAX)
                && !records.is_empty()
            {
                at += records
                    .iter()
                    .map(|r| (HEADER + r.1.len()) as u64)
                    .sum::<u64>();
            }
            if at < *len {
                tracing::warn!(
                    segment = n,
                    kept = at,
                    cut = *len - at,
                    "spool: cutting a torn record off the last segment"
                );
                f.set_len(at)?;
                f.sync_all()?;
                *len = at;
            }
        }
        let last = segments
            .back()
            .copied()
            .unwrap_or((cursor.confirmed.segment, 0));
        let active = if last.1 >= cfg.segment_bytes || segments.is_empty() {
            let n = if segments.is_empty() {
                last.0
            } else {
                last.0 + 1
            };
            File::create(segment_path(&cfg.dir, n))?;
            sync_dir(&cfg.dir)?;
            segments.push_back((n, 0));
            (n, 0)
        } else {
            last
        };
        let start = if segments
            .front()
            .is_some_and(|s| s.0 > cursor.confirmed.segment)
        {
            Pos {
                segment: segments.front().map(|s| s.0).unwrap_or(0),
                offset: 0,
            }
        } else {
            cursor.confirmed
        };
        let bytes = segments.iter().map(|s| s.1).sum();
        let shared = Arc::new(Shared {
            bytes: AtomicU64::new(bytes),
            durable: Mutex::new(Pos {
                segment: active.0,
                offset: active.1,
            }),
            appended: Notify::new(),
            expected: AtomicU64::new(0),
            committer: std::sync::OnceLock::new(),
            commits: AtomicU64::new(0),
            records: AtomicU64::new(0),
            reader: Mutex::new(Reader {
                cursor: Cursor {
                    confirmed: start,
                    inflight: cursor.inflight,
                },
                next: start,
                file: None,
                segments,
            }),
            cfg,
            id,
            _lock: lock,
        });
        let file = OpenOptions::new()
            .append(true)
            .open(segment_path(&shared.cfg.dir, active.0))?;
        let (tx, rx) = mpsc::channel();
        let committer = shared.clone();
        std::thread::Builder::new()
            .name("faultline-spool".into())
            .spawn(move || commit_loop(committer, rx, file, active))?;
        Ok(Spool { shared, tx })
    }

    /// Announces an append that is coming (a request being read and grouped): while any is
    /// announced, the committer waits up to [`SIBLING_WAIT`] for it before an fsync, so that
    /// many small concurrent requests share one fsync instead of paying one each. The
    /// announcement ends when the guard is dropped (just before the append is sent, or when the
    /// request fails).
    pub fn expect(&self) -> Expected {
        self.shared.expected.fetch_add(1, Ordering::SeqCst);
        Expected(self.shared.clone())
    }

    /// [`append`](Self::append) of an announced append: the announcement ends once the payload
    /// is handed to the committer.
    pub async fn append_expected(
        &self,
        payload: Vec<u8>,
        expected: Expected,
    ) -> Result<(), SpoolError> {
        self.append_waiting(payload, Some(expected)).await
    }

    /// Appends `payload`; resolves once it is on disk (fsynced), or fails without having stored it.
    pub async fn append(&self, payload: Vec<u8>) -> Result<(), SpoolError> {
        self.append_waiting(payload, None).await
    }

    async fn append_waiting(
        &self,
        payload: Vec<u8>,
        expected: Option<Expected>,
    ) -> Result<(), SpoolError> {
        let (done, wait) = oneshot::channel();
        self.append_then(
            payload,
            expected,
            Box::new(move |r| {
                let _ = done.send(r);
            }),
        );
        wait.await.unwrap_or(Err(SpoolError::Closed))
    }

    /// Hands `payload` to the committer without waiting for it (from any thread): `done` is
    /// called once it is on disk, or with the reason it will not be: at once, on this thread,
    /// when the spool is full or closed; otherwise on the committer's thread after its fsync.
    /// The announcement `expected` ends once the payload is handed over. What a blocking ingest
    /// job uses, so that its request's task is woken once, by the fsync, not also by the job.
    pub fn append_then(&self, payload: Vec<u8>, expected: Option<Expected>, done: Done) {
        let size = (HEADER + payload.len()) as u64;
        let bytes = self.shared.bytes.load(Ordering::Relaxed);
        if bytes + size > self.shared.cfg.max_bytes {
            drop(expected);
            return done(Err(SpoolError::Full {
                bytes,
                max: self.shared.cfg.max_bytes,
            }));
        }
        let sent = self.tx.send(Append { payload, done });
        drop(expected);
        if let Err(mpsc::SendError(refused)) = sent {
            (refused.done)(Err(SpoolError::Closed));
        }
    }

    /// The spool's identity (random, kept in the directory).
    pub fn id(&self) -> &str {
        &self.shared.id
    }

    /// Bytes in the spool's files (appended and not yet deleted).
    pub fn bytes(&self) -> u64 {
        self.shared.bytes.load(Ordering::Relaxed)
    }

    /// The bound on [`bytes`](Self::bytes).
    pub fn max_bytes(&self) -> u64 {
        self.shared.cfg.max_bytes
    }

    /// Group commits so far, and the records they covered (records / commits = group size).
    pub fn commit_counts(&self) -> (u64, u64) {
        (
            self.shared.commits.load(Ordering::Relaxed),
            self.shared.records.load(Ordering::Relaxed),
        )
    }

    /// The range that was being inserted when the previous process stopped, if any: replay it as
    /// one insert before anything else.
    pub fn inflight(&self) -> Option<(Pos, Pos)> {
        self.lock_reader().cursor.inflight
    }

    /// Whether records wait to be read.
    pub fn has_unread(&self) -> bool {
        let durable = *self.lock_durable();
        self.lock_reader().next < durable
    }

    /// Waits until something is appended (or `timeout` passes).
    pub async fn wait_appended(&self, timeout: std::time::Duration) {
        if self.has_unread() {
            return;
        }
        let _ = tokio::time::timeout(timeout, self.shared.appended.notified()).await;
    }

    /// Age in ms of the oldest record not yet confirmed; `None` when everything is confirmed.
    pub fn oldest_age_ms(&self) -> Option<u64> {
        let durable = *self.lock_durable();
        let r = self.lock_reader();
        let mut at = r.cursor.confirmed;
        while at < durable {
            let f = File::open(segment_path(&self.shared.cfg.dir, at.segment)).ok()?;
            let len = f.metadata().ok()?.len();
            match read_records(&f, at.offset, len, 1, usize::MAX).map(|r| r.into_iter().next()) {
                Ok(Some((ms, _))) => return Some(now_ms().saturating_sub(ms)),
                // Confirmed up to the end of a closed segment: the oldest record left is the
                // first of the next one (not "nothing left").
                Ok(None) if at.segment < durable.segment => {
                    at = Pos {
                        segment: r
                            .segments
                            .iter()
                            .map(|s| s.0)
                            .find(|&n| n > at.segment)
                            .unwrap_or(durable.segment),
                        offset: 0,
                    };
                }
                // A record that cannot be read: unconfirmed rows are left, age unknown.
                Err(()) => return Some(0),
                Ok(None) => return None,
            }
        }
        None
    }

    /// Reads up to `max_records` records (and about `max_bytes` of payload) after the last one
    /// read, never past the durable end. Blocking file I/O: call from a blocking thread.
    pub fn read(&self, max_records: usize, max_bytes: usize) -> Result<Vec<Record>, SpoolError> {
        let durable = *self.lock_durable();
        let mut r = self.lock_reader();
        let mut out = Vec::new();
        let mut bytes = 0usize;
        while out.len() < max_records && bytes < max_bytes && r.next < durable {
            let at = r.next;
            let limit = if at.segment == durable.segment {
                durable.offset
            } else {
                match r.segments.iter().find(|s| s.0 == at.segment) {
                    Some(s) => s.1,
                    None => 0,
                }
            };
            if at.offset >= limit {
                // End of a closed segment: go on with the next one.
                let next = r
                    .segments
                    .iter()
                    .map(|s| s.0)
                    .find(|&n| n > at.segment)
                    .unwrap_or(durable.segment);
                r.next = Pos {
                    segment: next,
                    offset: 0,
                };
                continue;
            }
            if r.file.as_ref().is_none_or(|(n, _)| *n != at.segment) {
                let f = File::open(segment_path(&self.shared.cfg.dir, at.segment))?;
                r.file = Some((at.segment, f));
            }
            let Some((_, f)) = r.file.as_mut() else {
                break;
            };
            let (want, budget) = (max_records - out.len(), max_bytes - bytes);
            match read_records(f, at.offset, limit, want, budget) {
                Ok(records) if records.is_empty() => break,
                Ok(records) => {
                    for (ms, payload) in records {
                        let pos = r.next;
                        let next = Pos {
                            segment: pos.segment,
                            offset: pos.offset + (HEADER + payload.len()) as u64,
                        };
                        bytes += payload.len();
                        out.push(Record {
                            pos,
                            next,
                            appended_ms: ms,
                            payload,
                        });
                        r.next = next;
                    }
                }
                Err(()) => {
                    return Err(SpoolError::Io(format!(
                        "corrupt record in segment {} at {}",
                        at.segment, at.offset
                    )));
                }
            }
        }
        Ok(out)
    }

    /// Reads exactly the records of `[from, to)` (the range in flight at a crash).
    pub fn read_range(&self, from: Pos, to: Pos) -> Result<Vec<Record>, SpoolError> {
        self.lock_reader().next = from;
        let mut out = Vec::new();
        loop {
            let more = self.read(1, usize::MAX)?;
            let Some(rec) = more.into_iter().next() else {
                break;
            };
            if rec.pos >= to {
                self.lock_reader().next = rec.pos;
                break;
            }
            let end = rec.next >= to;
            out.push(rec);
            if end {
                break;
            }
        }
        Ok(out)
    }

    /// Records that `[from, to)` is about to be inserted (fsynced before the insert starts).
    pub fn begin(&self, from: Pos, to: Pos) -> Result<(), SpoolError> {
        let mut r = self.lock_reader();
        r.cursor.inflight = Some((from, to));
        r.cursor.store(&self.shared.cfg.dir)
    }

    /// Everything before `upto` is in ClickHouse: persist that and delete wholly confirmed
    /// segments.
    pub fn confirm(&self, upto: Pos) -> Result<(), SpoolError> {
        let durable = *self.lock_durable();
        let mut r = self.lock_reader();
        r.cursor = Cursor {
            confirmed: upto,
            inflight: None,
        };
        r.cursor.store(&self.shared.cfg.dir)?;
        while let Some(&(n, len)) = r.segments.front() {
            if n >= upto.segment || n == durable.segment {
                break;
            }
            std::fs::remove_file(segment_path(&self.shared.cfg.dir, n))?;
            self.shared.bytes.fetch_sub(len, Ordering::Relaxed);
            r.segments.pop_front();
            if r.file.as_ref().is_some_and(|(f, _)| *f == n) {
                r.file = None;
            }
        }
        Ok(())
    }

    fn lock_reader(&self) -> std::sync::MutexGuard<'_, Reader> {
        self.shared.reader.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_durable(&self) -> std::sync::MutexGuard<'_, Pos> {
        self.shared
            .durable
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}
