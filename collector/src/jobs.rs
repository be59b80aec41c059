//! The ingest jobs: the CPU work of requests (inflate, read, group, encode), run off the async
//! runtime on at most `max` blocking threads at once.
//!
//! A request's job is queued; a worker thread takes queued jobs one after another until the
//! queue is empty, and a new worker starts only while fewer than `max` run. Under load one
//! worker runs job after job without a thread handoff per request (what made small requests,
//! one Sentry event or one webhook event each, cost several context switches apiece); a request
//! alone starts a worker at once. Waiting requests hold no thread.

use std::collections::VecDeque;
use std::sync::Mutex;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// The queue and its workers.
pub struct JobQueue {
    max: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    queued: VecDeque<Job>,
    /// Workers running now (at most `max`).
    workers: usize,
}

/// The job panicked (the bug is logged by the panic hook; the request is answered 500).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Panicked;

impl JobQueue {
    /// A queue running at most `max` jobs at once (at least one).
    pub fn new(max: usize) -> Self {
        JobQueue {
            max: max.max(1),
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `job` on a worker thread and returns what it returned.
    pub async fn run<T: Send + 'static>(
        self: &std::sync::Arc<Self>,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Panicked> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.spawn(move || {
            let _ = tx.send(job());
        });
        rx.await.map_err(|_| Panicked)
    }

    /// Queues `job` to run on a worker thread, without waiting for it: the job answers its
    /// caller itself (a panic is caught; what it owned is dropped). Call from within the
    /// runtime (a worker is a `spawn_blocking` thread).
    pub fn spawn(self: &std::sync::Arc<Self>, job: impl FnOnce() + Send + 'static) {
        let start_worker = {
            let mut s = self.lock();
            s.queued.push_back(Box::new(job));
            let start = s.workers < self.max;
            if start {
                s.workers += 1;
            }
            start
        };
        if start_worker {
            let me = self.clone();
            tokio::task::spawn_blocking(move || me.work());
        }
    }

    /// A worker: queued jobs one after another, until there are none.
    fn work(&self) {
        loop {
            let job = {
                let mut s = self.lock();
                match s.queued.pop_front() {
                    Some(job) => job,
                    None => {
                        s.workers -= 1;
                        return;
                    }
                }
            };
            // A panicking job drops its answer channel (its request gets a 500); the worker
            // goes on with the next one.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_most_max_jobs_run_at_once_and_a_panic_is_one_requests_error() {
        for max in [1, 3] {
            let q = Arc::new(JobQueue::new(max));
            let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
            let mut all = tokio::task::JoinSet::new();
            for i in 0..12 {
                let (q, running, most) = (q.clone(), running.clone(), most.clone());
                all.spawn(async move {
                    q.run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(10));
                        running.fetch_sub(1, Ordering::SeqCst);
                        assert!(i != 5, "job 5 fails");
                        i
                    })
                    .await
                });
            }
            let mut answers = Vec::new();
            while let Some(done) = all.join_next().await {
                answers.push(done.expect("task"));
            }
            assert_eq!(answers.iter().filter(|a| a.is_err()).count(), 1);
            assert_eq!(answers.iter().filter(|a| a.is_ok()).count(), 11);
            let most = most.load(Ordering::SeqCst);
            assert!(most <= max, "{most} jobs ran at once with {max} allowed");
            if max > 1 {
                assert!(most > 1, "jobs ran one at a time with {max} allowed");
            }
            // A worker ends just after sending its last answer.
            for _ in 0..200 {
                if q.lock().workers == 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            assert_eq!(q.lock().workers, 0, "every worker ended");
        }
    }
}
