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

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use faultline_query::status::{Status, effective, needs_activity};
use faultline_store::alerts::DeliveryFilter;
use faultline_store::queries::{ActivitySince, Dims, IssueTotals, Window};
use faultline_store::{AlertDeliveryRow, AlertLeaseRow, IssueStateRow, Store, StoreError};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::alert::Alert;
use crate::channel::{Outcome, Sender};
use crate::config::Alerts;
use crate::eval::{self, IssueView, LastFired, NEW_LOOKBACK, Now, ServiceWindow};
use crate::metrics::AlertMetrics;
use crate::rule::{Severity, Trigger};

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

fn now_secs() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(0)
}

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

    /// Claims or renews the lease; whether this process holds it.
    async fn hold_lease(&self) -> Result<bool, StoreError> {
        let store = &self.inner.store;
        let now = now_secs();
        let current = store.lease("alerts").await?;
        let mine = current
            .as_ref()
            .is_some_and(|l| l.holder == self.inner.holder);
        let free = current.as_ref().is_none_or(|l| l.expires_at <= now);
        if !mine && !free {
            return Ok(false);
        }
        let claim = AlertLeaseRow {
            name: "alerts".into(),
            holder: self.inner.holder.clone(),
            expires_at: now + LEASE.as_secs() as u32,
            version: u64::from(now) * 1_000_000 + random_u64() % 1_000_000,
        };
        store.claim_lease(&claim).await?;
        if mine && !free {
            // Renewed before it ran out: rivals only claim an expired lease.
            return Ok(true);
        }
        // A new claim (or renewing one that ran out, which a rival may be claiming too): let a
        // rival's claim land, then see whose version won.
        tokio::time::sleep(SETTLE).await;
        Ok(store
            .lease("alerts")
            .await?
            .is_some_and(|l| l.holder == self.inner.holder))
    }

    /// Gives the lease up (at shutdown), so another replica takes over at once rather than when
    /// it expires.
    async fn release_lease(&self) {
        let now = now_secs();
        let release = AlertLeaseRow {
            name: "alerts".into(),
            holder: String::new(),
            expires_at: 0,
            version: u64::from(now) * 1_000_000 + 999_999,
        };
        if let Err(e) = self.inner.store.claim_lease(&release).await {
            tracing::warn!(error = %e, "alerts: cannot release the lease");
        }
    }

    /// Evaluates every rule (windowed ones when `windows`), records what fired.
    async fn evaluate(&self, windows: bool) -> Result<(), StoreError> {
        let rules = &self.inner.alerts.rules;
        let now = now_secs();
        let at = Now {
            now,
            public_url: self.inner.sender.public_url(),
        };
        let mut fired = Vec::new();
        let mut last = LastFired::new();
        for rule in rules {
            let since = now.saturating_sub(rule.interval.as_secs() as u32);
            for f in self.inner.store.last_fired(&rule.name, since).await? {
                let key = if f.fingerprint.is_empty() {
                    f.subject
                } else {
                    f.fingerprint
                };
                last.insert((rule.name.clone(), f.project, key), f.at);
            }
        }
        let arrival_rules: Vec<_> = rules
            .iter()
            .filter(|r| matches!(r.trigger, Trigger::NewIssue | Trigger::Regression))
            .cloned()
            .collect();
        if !arrival_rules.is_empty() {
            let issues = self.arrived(now).await?;
            fired.extend(eval::arrivals(&arrival_rules, &issues, &last, at));
        }
        if windows {
            let window_end = now - now % 60;
            for rule in rules {
                match rule.trigger {
                    Trigger::Count { window, .. } => {
                        let w = Window::new(window_end - window.as_secs() as u32, window_end + 60);
                        let counted = self.counted(rule, w).await?;
                        fired.extend(eval::counts(rule, &counted, window_end, &last, at));
                    }
                    Trigger::Rate { window, .. } => {
                        let w = Window::new(window_end - window.as_secs() as u32, window_end + 60);
                        let services = self.services(rule, w).await?;
                        fired.extend(eval::rates(rule, &services, window_end, &last, at));
                    }
                    _ => {}
                }
            }
        }
        self.record(fired).await
    }

    /// Records alerts not recorded before: one `pending` row per channel, then wakes delivery.
    async fn record(&self, fired: Vec<Alert>) -> Result<(), StoreError> {
        if fired.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = fired.iter().map(|a| a.id.clone()).collect();
        let known: HashSet<String> = self
            .inner
            .store
            .existing_alerts(&ids)
            .await?
            .into_iter()
            .collect();
        let mut rows = Vec::new();
        let mut seen = HashSet::new();
        for a in fired {
            if known.contains(&a.id) || !seen.insert(a.id.clone()) {
                continue;
            }
            let Some(rule) = self.inner.alerts.rules.iter().find(|r| r.name == a.rule) else {
                continue;
            };
            self.inner.metrics.fired(&a.rule, a.event.as_str());
            for channel in &rule.channels {
                rows.push(pending_row(&a, channel));
            }
        }
        if rows.is_empty() {
            return Ok(());
        }
        self.inner.store.insert_deliveries(&rows).await?;
        self.inner.deliver_now.notify_one();
        Ok(())
    }

    /// Issues that arrived lately, as the arrival rules see them.
    async fn arrived(&self, now: u32) -> Result<Vec<IssueView>, StoreError> {
        let store = &self.inner.store;
        let since = now.saturating_sub(CANDIDATES);
        let fresh = store.arrivals(since - since % 60, None, &[]).await?;
        if fresh.is_empty() {
            return Ok(Vec::new());
        }
        let fps: Vec<String> = fresh.iter().map(|a| a.fingerprint.clone()).collect();
        let lookback = now.saturating_sub(NEW_LOOKBACK);
        let recent: HashMap<(String, String), u64> = store
            .arrivals(lookback - lookback % 60, None, &fps)
            .await?
            .into_iter()
            .map(|a| ((a.project, a.fingerprint), a.occurrences))
            .collect();
        let wanted: HashSet<(String, String)> = fresh
            .into_iter()
            .map(|a| (a.project, a.fingerprint))
            .collect();
        let totals: Vec<IssueTotals> = store
            .issue_totals(None, &fps)
            .await?
            .into_iter()
            .filter(|t| wanted.contains(&(t.project.clone(), t.fingerprint.clone())))
            .collect();
        let seen = self.seen_lately(&fps, now).await?;
        let statuses = self.statuses(&totals, now).await?;
        Ok(totals
            .into_iter()
            .map(|t| {
                let key = (t.project.clone(), t.fingerprint.clone());
                let (status, state_version) =
                    statuses.get(&key).copied().unwrap_or((Status::Open, 0));
                let (services, environments, severity_rank) =
                    seen.get(&key).cloned().unwrap_or_default();
                IssueView {
                    recent: recent.get(&key).copied().unwrap_or(0),
                    totals: t,
                    status,
                    state_version,
                    services,
                    environments,
                    severity_rank,
                }
            })
            .collect())
    }

    /// Where issues were seen in the last day: services, environments, highest severity.
    async fn seen_lately(
        &self,
        fps: &[String],
        now: u32,
    ) -> Result<HashMap<(String, String), (Vec<String>, Vec<String>, u8)>, StoreError> {
        let end = now - now % 60 + 60;
        let dims = Dims {
            fingerprints: fps.to_vec(),
            ..Dims::default()
        };
        Ok(self
            .inner
            .store
            .issues_in_window(&dims, Window::new(end - 86_400, end))
            .await?
            .into_iter()
            .map(|i| {
                (
                    (i.project, i.fingerprint),
                    (i.services, i.environments, i.severity_rank),
                )
            })
            .collect())
    }

    /// Effective status and state version of each issue.
    async fn statuses(
        &self,
        totals: &[IssueTotals],
        now: u32,
    ) -> Result<HashMap<(String, String), (Status, u64)>, StoreError> {
        let store = &self.inner.store;
        let fps: Vec<String> = totals.iter().map(|t| t.fingerprint.clone()).collect();
        let states: HashMap<(String, String), IssueStateRow> = store
            .issue_states(None, &fps)
            .await?
            .into_iter()
            .map(|s| ((s.project.clone(), s.fingerprint.clone()), s))
            .collect();
        // Activity since the last change, per project, for the states that need it.
        let mut need: HashMap<String, Vec<(String, u32)>> = HashMap::new();
        for t in totals {
            if let Some(s) = states.get(&(t.project.clone(), t.fingerprint.clone()))
                && let Some(from) = needs_activity(s, t.last_seen)
            {
                need.entry(t.project.clone())
                    .or_default()
                    .push((t.fingerprint.clone(), from));
            }
        }
        let mut activity: HashMap<(String, String), ActivitySince> = HashMap::new();
        for (project, since) in need {
            for a in store.activity_since(&project, &since).await? {
                activity.insert((project.clone(), a.fingerprint.clone()), a);
            }
        }
        Ok(totals
            .iter()
            .map(|t| {
                let key = (t.project.clone(), t.fingerprint.clone());
                let state = states.get(&key);
                let status = effective(state, activity.get(&key), now);
                (key, (status, state.map_or(0, |s| s.version)))
            })
            .collect())
    }

    /// Issues of a `count` rule's scope with their occurrences in `w`.
    async fn counted(
        &self,
        rule: &crate::rule::Rule,
        w: Window,
    ) -> Result<Vec<(IssueView, u64)>, StoreError> {
        let Trigger::Count { threshold, .. } = rule.trigger else {
            return Ok(Vec::new());
        };
        let dims = rule_dims(rule);
        let over: Vec<_> = self
            .inner
            .store
            .issues_in_window(&dims, w)
            .await?
            .into_iter()
            .filter(|i| i.count > threshold)
            .collect();
        if over.is_empty() {
            return Ok(Vec::new());
        }
        let fps: Vec<String> = over.iter().map(|i| i.fingerprint.clone()).collect();
        let totals = self
            .inner
            .store
            .issue_totals(dims.project.as_deref(), &fps)
            .await?;
        let statuses = self.statuses(&totals, w.to).await?;
        let by_key: HashMap<(String, String), IssueTotals> = totals
            .into_iter()
            .map(|t| ((t.project.clone(), t.fingerprint.clone()), t))
            .collect();
        Ok(over
            .into_iter()
            .filter_map(|i| {
                let key = (i.project.clone(), i.fingerprint.clone());
                let t = by_key.get(&key)?.clone();
                let (status, state_version) = statuses.get(&key).copied()?;
                Some((
                    IssueView {
                        totals: t,
                        recent: 0,
                        status,
                        state_version,
                        services: i.services,
                        environments: i.environments,
                        severity_rank: i.severity_rank,
                    },
                    i.count,
                ))
            })
            .collect())
    }

    /// Services of a `rate` rule's scope: errors of issues not ignored, requests, top issue.
    async fn services(
        &self,
        rule: &crate::rule::Rule,
        w: Window,
    ) -> Result<Vec<ServiceWindow>, StoreError> {
        let store = &self.inner.store;
        let dims = rule_dims(rule);
        let counts = store.service_issue_counts(&dims, w).await?;
        let envs: Vec<String> = rule.environment.iter().cloned().collect();
        let requests = store
            .service_requests(dims.project.as_deref(), &envs, w)
            .await?;
        let fps: Vec<String> = counts.iter().map(|c| c.fingerprint.clone()).collect();
        let totals = if fps.is_empty() {
            Vec::new()
        } else {
            store.issue_totals(dims.project.as_deref(), &fps).await?
        };
        let statuses = self.statuses(&totals, w.to).await?;
        let totals: HashMap<(String, String), IssueTotals> = totals
            .into_iter()
            .map(|t| ((t.project.clone(), t.fingerprint.clone()), t))
            .collect();
        let mut out: HashMap<(String, String), ServiceWindow> = HashMap::new();
        for r in requests {
            out.insert(
                (r.project.clone(), r.service.clone()),
                ServiceWindow {
                    project: r.project,
                    service: r.service,
                    errors: 0,
                    requests: r.requests,
                    top: None,
                },
            );
        }
        let mut top_count: HashMap<(String, String), u64> = HashMap::new();
        for c in counts {
            let key = (c.project.clone(), c.fingerprint.clone());
            let (status, state_version) = statuses.get(&key).copied().unwrap_or((Status::Open, 0));
            if status == Status::Ignored {
                continue;
            }
            let Some(s) = out.get_mut(&(c.project.clone(), c.service.clone())) else {
                continue; // no requests known for this service: no ratio
            };
            s.errors += c.count;
            let best = top_count
                .entry((c.project.clone(), c.service.clone()))
                .or_default();
            if c.count > *best
                && let Some(t) = totals.get(&key)
            {
                *best = c.count;
                s.top = Some(IssueView {
                    totals: t.clone(),
                    recent: 0,
                    status,
                    state_version,
                    services: vec![c.service.clone()],
                    environments: Vec::new(),
                    severity_rank: 0,
                });
            }
        }
        Ok(out.into_values().collect())
    }

    /// Starts an attempt of every due delivery not already under way, each recording its
    /// outcome when done; returns how many were started.
    pub async fn deliver_due(&self) -> Result<usize, StoreError> {
        let now = now_secs();
        let since = now.saturating_sub(self.inner.alerts.retry_for.as_secs() as u32 + 86_400);
        let due = self.inner.store.due_deliveries(since, now, 100).await?;
        let mut started = 0;
        for row in due {
            let key = (row.alert_id.clone(), row.channel.clone());
            if !self.in_flight().insert(key.clone()) {
                continue;
            }
            started += 1;
            let me = self.clone();
            tokio::spawn(async move {
                let next = me.attempt(row).await;
                if let Err(e) = me
                    .inner
                    .store
                    .insert_deliveries(std::slice::from_ref(&next))
                    .await
                {
                    // Not recorded: the delivery is still due and is tried again (the receiver
                    // may get it twice, with the same X-Faultline-Delivery).
                    tracing::warn!(error = %e, "alerts: cannot record a delivery attempt");
                }
                me.in_flight().remove(&key);
            });
        }
        Ok(started)
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, HashSet<(String, String)>> {
        self.inner
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// One attempt of one delivery: the row to record after it.
    async fn attempt(&self, row: AlertDeliveryRow) -> AlertDeliveryRow {
        let now = now_secs();
        let outcome = match (
            serde_json::from_str::<Alert>(&row.payload),
            self.inner.alerts.channel(&row.channel),
        ) {
            (Ok(alert), Some(channel)) => self.inner.sender.send(channel, &alert).await,
            (Err(e), _) => Outcome::Failed {
                error: format!("unreadable alert: {e}"),
            },
            (_, None) => Outcome::Failed {
                error: format!("channel {:?} is no longer configured", row.channel),
            },
        };
        let kind = self
            .inner
            .alerts
            .channel(&row.channel)
            .map_or("unknown", |c| c.kind.kind());
        let retry_for = self.inner.alerts.retry_for.as_secs() as u32;
        let next = next_row(row, outcome, now, retry_for, random_u64());
        self.inner
            .metrics
            .delivered(&next.channel, kind, &next.status);
        next
    }

    /// Sends `alert` (an event `test`) to `channel` once, now, and records the delivery.
    pub async fn test(&self, channel: &str) -> Result<AlertDeliveryRow, TestError> {
        let c = self
            .inner
            .alerts
            .channel(channel)
            .ok_or_else(|| TestError::UnknownChannel(channel.to_string()))?;
        let now = now_secs();
        let id = crate::alert::alert_id(&["test", channel, &random_u64().to_string()]);
        let alert = Alert::new(id, crate::rule::Event::Test, "", "", None, now);
        let outcome = self.inner.sender.send(c, &alert).await;
        let (status, error) = match outcome {
            Outcome::Delivered => ("delivered", String::new()),
            Outcome::Retry { error, .. } | Outcome::Failed { error } => ("failed", error),
        };
        self.inner.metrics.delivered(channel, c.kind.kind(), status);
        let row = AlertDeliveryRow {
            status: status.into(),
            attempts: 1,
            last_error: error,
            updated_at: now,
            step: 2,
            ..pending_row(&alert, channel)
        };
        self.inner
            .store
            .insert_deliveries(std::slice::from_ref(&row))
            .await
            .map_err(TestError::Store)?;
        Ok(row)
    }

    /// Deliveries, newest first.
    pub async fn deliveries(
        &self,
        filter: &DeliveryFilter,
    ) -> Result<Vec<AlertDeliveryRow>, StoreError> {
        let since = now_secs().saturating_sub(90 * 86_400);
        self.inner.store.deliveries(since, filter).await
    }
}

/// Why a test send could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TestError {
    /// No such channel.
    #[error("unknown channel {0:?}")]
    UnknownChannel(String),
    /// The outbox could not be written.
    #[error(transparent)]
    Store(StoreError),
}

/// The filters of a rule as rollup dimensions.
fn rule_dims(rule: &crate::rule::Rule) -> Dims {
    Dims {
        project: rule.project.clone(),
        services: rule.service.iter().cloned().collect(),
        environments: rule.environment.iter().cloned().collect(),
        severities: rule
            .severity
            .map(|min| {
                [
                    Severity::Low,
                    Severity::Medium,
                    Severity::High,
                    Severity::Critical,
                ]
                .into_iter()
                .filter(|s| *s >= min)
                .map(|s| format!("{s:?}").to_lowercase())
                .collect()
            })
            .unwrap_or_default(),
        ..Dims::default()
    }
}

/// The first row of a delivery: `pending`, due now.
fn pending_row(a: &Alert, channel: &str) -> AlertDeliveryRow {
    let subject = match (&a.service, &a.issue) {
        (Some(s), _) => s.clone(),
        (None, Some(i)) => i.exception_type.clone(),
        (None, None) => String::new(),
    };
    AlertDeliveryRow {
        alert_id: a.id.clone(),
        channel: channel.to_string(),
        created_at: a.fired_at,
        rule: a.rule.clone(),
        event: a.event.as_str().into(),
        project: a.project.clone(),
        fingerprint: a
            .issue
            .as_ref()
            .filter(|_| a.service.is_none())
            .map(|i| i.fingerprint.clone())
            .unwrap_or_default(),
        subject,
        payload: serde_json::to_string(a).unwrap_or_default(),
        status: "pending".into(),
        attempts: 0,
        next_attempt_at: a.fired_at,
        last_error: String::new(),
        updated_at: a.fired_at,
        step: 1,
    }
}

/// Seconds before attempt `attempts + 1`: 1, 2, 4, … up to 5 minutes, ±20 % (from `jitter`), at
/// least what the receiver asked for.
pub fn backoff(attempts: u32, retry_after: Option<Duration>, jitter: u64) -> u32 {
    let base = 1u64 << attempts.saturating_sub(1).min(9);
    let base = base.min(300) as f64;
    let factor = 0.8 + (jitter % 401) as f64 / 1000.0;
    let secs = (base * factor).round().max(1.0) as u32;
    secs.max(retry_after.map_or(0, |d| d.as_secs() as u32))
}

/// The row recording an attempt's `outcome`.
pub fn next_row(
    row: AlertDeliveryRow,
    outcome: Outcome,
    now: u32,
    retry_for: u32,
    jitter: u64,
) -> AlertDeliveryRow {
    let attempts = row.attempts + 1;
    let (status, next_attempt_at, last_error) = match outcome {
        Outcome::Delivered => ("delivered", 0, String::new()),
        Outcome::Failed { error } => ("failed", 0, error),
        Outcome::Retry { error, after } => {
            let at = now + backoff(attempts, after, jitter);
            if at > row.created_at.saturating_add(retry_for) {
                (
                    "failed",
                    0,
                    format!("gave up after {attempts} attempts: {error}"),
                )
            } else {
                ("pending", at, error)
            }
        }
    };
    AlertDeliveryRow {
        status: status.into(),
        attempts,
        next_attempt_at,
        last_error,
        updated_at: now,
        step: row.step + 1,
        ..row
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_honours_retry_after() {
        assert!((1..=2).contains(&backoff(1, None, 0)));
        let b3: Vec<u32> = (0..500).map(|j| backoff(3, None, j)).collect();
        assert!(b3.iter().all(|s| (3..=5).contains(s)), "{b3:?}");
        assert!(b3.iter().collect::<HashSet<_>>().len() > 1, "jitter varies");
        assert_eq!(backoff(20, None, 200), 300);
        assert_eq!(backoff(1, Some(Duration::from_secs(30)), 0), 30);
    }

    #[test]
    fn attempts_move_a_delivery_on_and_retries_end() {
        let row = AlertDeliveryRow {
            created_at: 1000,
            step: 1,
            status: "pending".into(),
            ..AlertDeliveryRow::default()
        };
        let retry = |r: AlertDeliveryRow, now| {
            next_row(
                r,
                Outcome::Retry {
                    error: "HTTP 503".into(),
                    after: None,
                },
                now,
                3600,
                0,
            )
        };
        let r1 = retry(row.clone(), 1000);
        assert_eq!(
            (r1.status.as_str(), r1.attempts, r1.step),
            ("pending", 1, 2)
        );
        assert!(r1.next_attempt_at > 1000);
        let done = next_row(r1.clone(), Outcome::Delivered, 1002, 3600, 0);
        assert_eq!(
            (done.status.as_str(), done.attempts, done.step),
            ("delivered", 2, 3)
        );
        assert_eq!(done.last_error, "");
        let late = retry(r1, 4599);
        assert_eq!(late.status, "failed");
        assert!(
            late.last_error
                .starts_with("gave up after 2 attempts: HTTP 503")
        );
        let refused = next_row(
            row,
            Outcome::Failed {
                error: "HTTP 404".into(),
            },
            1000,
            3600,
            0,
        );
        assert_eq!(refused.status, "failed");
    }
}
