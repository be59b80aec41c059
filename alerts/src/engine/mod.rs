//! The alerting task of `faultline serve`: hold the lease, evaluate, record, deliver.
//!
//! Every few seconds, and right after each insert ClickHouse confirmed (the writer's signal),
//! the process holding the lease:
//! 1. reads the issues that just arrived (`issue_arrivals_minute`, by ingest time: other
//!    replicas' ingest and spool replays included), their totals, triage state and where they
//!    were seen, and evaluates `new_issue` and `regression` rules ([`crate::eval::arrivals`]);
//!    at most every 5 s also `count` and `rate` rules over their windows;
//! 2. drops alerts whose id is already in the outbox, records the rest (one `pending` row per
//!    channel) — before anything is sent;
//! 3. a second loop delivers what is due (each attempt its own task, so a slow receiver delays no
//!    other alert), recording each attempt; retries with backoff and jitter (honouring
//!    `Retry-After`) for `retry_for`, then marks the delivery failed.
//!
//! The lease (`alert_leases`) makes one process among replicas evaluate and deliver: claims are
//! rows, the highest version wins, and a claimant waits a moment before reading the winner back,
//! so two claims at once settle on one holder. Receivers get the alert id to drop the copy a
//! change of holder mid-delivery could cause.
//!
//! Modules: [`lease`] (who evaluates and delivers), [`evaluate`] (rules over what ClickHouse
//! says, recorded in the outbox), [`deliver`] (attempts, retries, the test send, the log).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use faultline_query::now_secs;
use faultline_query::status::{Status, resolve};
use faultline_store::alerts::DeliveryFilter;
use faultline_store::queries::{Dims, IssueTotals, Window};
use faultline_store::{AlertDeliveryRow, AlertLeaseRow, IssueStateRow, Store, StoreError};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::alert::Alert;
use crate::channel::{Outcome, Sender};
use crate::config::Alerts;
use crate::eval::{self, IssueView, LastFired, NEW_LOOKBACK, Now, ServiceWindow};
use crate::metrics::AlertMetrics;
use crate::rule::{Severity, Trigger};

mod deliver;
mod evaluate;
mod lease;

pub use deliver::{TestError, backoff, next_row};

/// How often the engine wakes without a signal.
pub const TICK: Duration = Duration::from_secs(2);
/// How often, at most, `count` and `rate` rules are evaluated (each is one rollup query).
pub const WINDOW_EVERY: Duration = Duration::from_secs(5);
/// Lease length; renewed every [`TICK`] or so.
pub const LEASE: Duration = Duration::from_secs(15);
/// How long a claimant waits before reading the winner back.
pub const SETTLE: Duration = Duration::from_secs(1);
/// Arrivals younger than this are candidates for `new_issue` and `regression`.
const CANDIDATES: u32 = 180;

fn random_u64() -> u64 {
    let b = uuid::Uuid::new_v4().into_bytes();
    u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// The alerting engine. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    alerts: Alerts,
    sender: Sender,
    metrics: Arc<AlertMetrics>,
    holder: String,
    deliver_now: Notify,
    /// Whether this process holds the lease (set by the evaluation loop).
    leader: std::sync::atomic::AtomicBool,
    /// Deliveries whose attempt is under way: not started twice.
    in_flight: std::sync::Mutex<HashSet<(String, String)>>,
}

impl Engine {
    /// An engine over `store` running `alerts`, its links into `public_url`.
    pub fn new(store: Store, alerts: Alerts, public_url: &str, metrics: Arc<AlertMetrics>) -> Self {
        let host = std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_default();
        Engine {
            inner: Arc::new(Inner {
                store,
                alerts,
                sender: Sender::new(public_url),
                metrics,
                holder: format!("{host}:{}:{:08x}", std::process::id(), random_u64() as u32),
                deliver_now: Notify::new(),
                leader: std::sync::atomic::AtomicBool::new(false),
                in_flight: std::sync::Mutex::default(),
            }),
        }
    }

    /// The configuration it runs.
    pub fn alerts(&self) -> &Alerts {
        &self.inner.alerts
    }

    /// Its store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Its sender.
    pub fn sender(&self) -> &Sender {
        &self.inner.sender
    }

    /// Its metrics.
    pub fn metrics(&self) -> &Arc<AlertMetrics> {
        &self.inner.metrics
    }

    /// Runs until `shutdown`: lease, evaluation after each confirmed insert (`inserted`) and
    /// every [`TICK`], delivery. Nothing to do without rules and channels.
    pub fn spawn(
        &self,
        inserted: Arc<Notify>,
        shutdown: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            if me.inner.alerts.is_empty() {
                return;
            }
            let deliveries = tokio::spawn({
                let (me, shutdown) = (me.clone(), shutdown.clone());
                async move { me.deliver_loop(shutdown).await }
            });
            me.run(inserted, shutdown).await;
            let _ = deliveries.await;
        })
    }

    /// Starts due deliveries (each attempt its own task: a slow receiver delays no other) when
    /// told an alert was recorded, and every second.
    async fn deliver_loop(&self, shutdown: CancellationToken) {
        loop {
            if self.inner.leader.load(std::sync::atomic::Ordering::Relaxed)
                && let Err(e) = self.deliver_due().await
            {
                tracing::warn!(error = %e, "alerts: cannot read due deliveries");
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.inner.deliver_now.notified() => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    async fn run(&self, inserted: Arc<Notify>, shutdown: CancellationToken) {
        let mut leader_until = 0u32;
        let mut last_lease = std::time::Instant::now() - LEASE;
        let mut last_windows = std::time::Instant::now() - WINDOW_EVERY;
        loop {
            if std::time::Instant::now() - last_lease >= TICK {
                last_lease = std::time::Instant::now();
                match self.hold_lease().await {
                    Ok(true) => leader_until = now_secs() + LEASE.as_secs() as u32,
                    Ok(false) => leader_until = 0,
                    Err(e) => tracing::warn!(error = %e, "alerts: cannot read the lease"),
                }
                self.inner.metrics.set_leader(now_secs() < leader_until);
                self.inner.leader.store(
                    now_secs() < leader_until,
                    std::sync::atomic::Ordering::Relaxed,
                );
            }
            if now_secs() < leader_until {
                let windows = std::time::Instant::now() - last_windows >= WINDOW_EVERY;
                if windows {
                    last_windows = std::time::Instant::now();
                }
                let t0 = std::time::Instant::now();
                match self.evaluate(windows).await {
                    Ok(()) => tracing::debug!(
                        ms = t0.elapsed().as_millis() as u64,
                        windows,
                        "alerts: evaluated"
                    ),
                    Err(e) => tracing::warn!(error = %e, "alerts: evaluation failed"),
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => {
                    if now_secs() < leader_until {
                        self.release_lease().await;
                    }
                    return;
                }
                () = inserted.notified() => {
                    // Let the rollups of a burst of inserts land, then evaluate once.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                () = tokio::time::sleep(TICK) => {}
            }
        }
    }
}
