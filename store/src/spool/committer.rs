//! The committer thread: group commit. It takes every append waiting, waits a moment for the
//! appends announced ([`Expected`]), writes them in one go, covers them with one `fdatasync`, and
//! only then tells each append it is durable — the moment a client is acknowledged.

use std::fs::File;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc;

use super::{Append, Pos, Shared, SpoolError, frame, now_ms, segment_path, sync_dir};

/// Longest the committer waits for announced appends before an fsync. A request alone pays
/// nothing (nothing is announced); under concurrent load an append waits at most this long for
/// its siblings, and the fsyncs they share are what the load costs the disk.
pub const SIBLING_WAIT: std::time::Duration = std::time::Duration::from_millis(2);

/// An announced append ([`Spool::expect`](super::Spool::expect)).
pub struct Expected(pub(super) Arc<Shared>);

impl Drop for Expected {
    fn drop(&mut self) {
        // The last one wakes the committer if it is waiting for siblings; the others do not
        // (a wake-up per append cost the committer a context switch per request).
        if self.0.expected.fetch_sub(1, Ordering::SeqCst) == 1
            && let Some(committer) = self.0.committer.get()
        {
            committer.unpark();
        }
    }
}

/// The committer: waits for an append, takes every other one already waiting, writes them,
/// fsyncs once, acknowledges them all; starts a new segment when the current one is full.
pub(super) fn commit_loop(
    shared: Arc<Shared>,
    rx: mpsc::Receiver<Append>,
    mut file: File,
    active: (u64, u64),
) {
    let (mut segment, mut len) = active;
    let mut buf = Vec::new();
    let _ = shared.committer.set(std::thread::current());
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        let mut size = group[0].payload.len();
        // Everything already waiting; then, while more appends are announced, wait for them a
        // little (group commit with siblings: one fsync for a burst of small requests). The
        // wait is parked, not on the channel: sends do not wake it, the last announced append
        // does (`Expected::drop`), or the deadline.
        let deadline = std::time::Instant::now() + SIBLING_WAIT;
        while size < (16 << 20) {
            let a = match rx.try_recv() {
                Ok(a) => a,
                Err(mpsc::TryRecvError::Disconnected) => break,
                Err(mpsc::TryRecvError::Empty) => {
                    let left = deadline.saturating_duration_since(std::time::Instant::now());
                    if shared.expected.load(Ordering::SeqCst) == 0 || left.is_zero() {
                        break;
                    }
                    std::thread::park_timeout(left);
                    continue;
                }
            };
            size += a.payload.len();
            group.push(a);
        }
        buf.clear();
        let ms = now_ms();
        for a in &group {
            frame::put(&mut buf, &a.payload, ms);
        }
        let result = file.write_all(&buf).and_then(|()| file.sync_data());
        match result {
            Ok(()) => {
                len += buf.len() as u64;
                shared.bytes.fetch_add(buf.len() as u64, Ordering::Relaxed);
                {
                    let mut d = shared.durable.lock().unwrap_or_else(|p| p.into_inner());
                    *d = Pos {
                        segment,
                        offset: len,
                    };
                }
                // Durable: acknowledge now, before waiting for the reader's lock (the drainer
                // holds it while it reads a large batch back).
                let n = group.len() as u64;
                for a in group.drain(..) {
                    (a.done)(Ok(()));
                }
                {
                    let mut r = shared.reader.lock().unwrap_or_else(|p| p.into_inner());
                    if let Some(s) = r.segments.back_mut().filter(|s| s.0 == segment) {
                        s.1 = len;
                    }
                }
                shared.commits.fetch_add(1, Ordering::Relaxed);
                shared.records.fetch_add(n, Ordering::Relaxed);
                shared.appended.notify_one();
            }
            Err(e) => {
                // Nothing of this group is acknowledged; cut what may have been written.
                tracing::error!(error = %e, "spool: append failed");
                let _ = file.set_len(len);
                for a in group.drain(..) {
                    (a.done)(Err(SpoolError::Io(e.to_string())));
                }
            }
        }
        if len >= shared.cfg.segment_bytes {
            let next = segment + 1;
            match File::create(segment_path(&shared.cfg.dir, next))
                .and_then(|f| sync_dir(&shared.cfg.dir).map(|()| f))
            {
                Ok(f) => {
                    file = f;
                    segment = next;
                    len = 0;
                    let mut r = shared.reader.lock().unwrap_or_else(|p| p.into_inner());
                    r.segments.push_back((next, 0));
                    drop(r);
                    let mut d = shared.durable.lock().unwrap_or_else(|p| p.into_inner());
                    *d = Pos {
                        segment: next,
                        offset: 0,
                    };
                }
                Err(e) => tracing::error!(error = %e, "spool: cannot start a new segment"),
            }
        }
    }
}
