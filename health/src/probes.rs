//! The probe routes and the rules that turn check outcomes into answers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::checks::{Check, Status};

/// The service's own word on readiness: false until it finished starting, false again from the
/// first shutdown signal.
#[derive(Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    /// Marks the service ready (or not).
    pub fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::SeqCst);
    }
    /// Whether the service said it is ready.
    pub fn get(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// One check in a report.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// Outcome.
    pub status: Status,
    /// Whether readiness depends on it.
    pub critical: bool,
    /// How long it took, in milliseconds.
    pub latency_ms: u64,
    /// Why it is not ok, or a figure worth showing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Overall status of a full report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Overall {
    /// Every check ok.
    Healthy,
    /// Serving, but a non-critical check is down or any check degraded.
    Degraded,
    /// A critical check is down.
    Unhealthy,
}

/// The aggregation rule of `/health`.
pub fn overall<'a>(reports: impl IntoIterator<Item = &'a CheckReport>) -> Overall {
    let mut out = Overall::Healthy;
    for r in reports {
        match (r.status, r.critical) {
            (Status::Down, true) => return Overall::Unhealthy,
            (Status::Ok, _) => {}
            _ => out = Overall::Degraded,
        }
    }
    out
}

/// The rule of `/health/ready`: the service says it is ready and no critical check is down.
pub fn is_ready<'a>(readiness: bool, reports: impl IntoIterator<Item = &'a CheckReport>) -> bool {
    readiness
        && reports
            .into_iter()
            .all(|r| !(r.critical && r.status == Status::Down))
}

/// Probes and their checks. Cheap to clone.
#[derive(Clone)]
pub struct Health {
    inner: Arc<Inner>,
}

struct Inner {
    readiness: Readiness,
    checks: Vec<Box<dyn Check>>,
    timeout: Duration,
    version: String,
    environment: String,
    started: Instant,
}

impl Health {
    /// Probes over `checks`, each limited to `timeout`.
    pub fn new(readiness: Readiness, checks: Vec<Box<dyn Check>>, timeout: Duration) -> Self {
        Health {
            inner: Arc::new(Inner {
                readiness,
                checks,
                timeout,
                version: String::new(),
                environment: String::new(),
                started: Instant::now(),
            }),
        }
    }

    /// Sets the version and environment shown by `/health`.
    pub fn describe(mut self, version: &str, environment: &str) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.version = version.to_string();
            inner.environment = environment.to_string();
        }
        self
    }

    /// The readiness flag.
    pub fn readiness(&self) -> &Readiness {
        &self.inner.readiness
    }

    /// Runs the checks (only the critical ones when `critical_only`) concurrently, each under the
    /// timeout.
    pub async fn run_checks(&self, critical_only: bool) -> BTreeMap<String, CheckReport> {
        let timeout = self.inner.timeout;
        let runs = self
            .inner
            .checks
            .iter()
            .filter(|c| !critical_only || c.critical())
            .map(|c| async move {
                let t0 = Instant::now();
                let outcome = match tokio::time::timeout(timeout, c.run()).await {
                    Ok(o) => o,
                    Err(_) => crate::checks::Outcome::down(format!(
                        "no answer within {} ms",
                        timeout.as_millis()
                    )),
                };
                let report = CheckReport {
                    status: outcome.status,
                    critical: c.critical(),
                    latency_ms: t0.elapsed().as_millis() as u64,
                    message: outcome.message,
                };
                (c.name().to_string(), report)
            });
        futures::future::join_all(runs).await.into_iter().collect()
    }

    /// The probe routes: `/health`, `/health/live`, `/live`, `/health/ready`, `/ready`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/health", get(report))
            .route("/health/live", get(live))
            .route("/live", get(live))
            .route("/health/ready", get(ready))
            .route("/ready", get(ready))
            .with_state(self.clone())
    }
}

async fn live() -> Response {
    (StatusCode::OK, Json(serde_json::json!({"status": "alive"}))).into_response()
}

async fn ready(State(h): State<Health>) -> Response {
    if !h.inner.readiness.get() {
        let body =
            serde_json::json!({"status": "not_ready", "reason": "starting up or shutting down"});
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    }
    let checks = h.run_checks(true).await;
    let ok = is_ready(true, checks.values());
    let (code, status) = if ok {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not_ready")
    };
    (
        code,
        Json(serde_json::json!({"status": status, "checks": checks})),
    )
        .into_response()
}

/// A full report: what `/health` answers (and status pages show).
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    /// The aggregate of the checks.
    pub status: Overall,
    /// Whether the process takes traffic.
    pub ready: bool,
    /// Version, as described.
    pub version: String,
    /// Environment, as described.
    pub environment: String,
    /// Seconds since start.
    pub uptime_seconds: u64,
    /// Now, RFC 3339.
    pub timestamp: String,
    /// Every check, by name.
    pub checks: BTreeMap<String, CheckReport>,
}

impl Health {
    /// Runs every check and reports.
    pub async fn snapshot(&self) -> Snapshot {
        let checks = self.run_checks(false).await;
        Snapshot {
            status: overall(checks.values()),
            ready: self.inner.readiness.get(),
            version: self.inner.version.clone(),
            environment: self.inner.environment.clone(),
            uptime_seconds: self.inner.started.elapsed().as_secs(),
            timestamp: time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            checks,
        }
    }
}

async fn report(State(h): State<Health>) -> Response {
    let snapshot = h.snapshot().await;
    let code = if snapshot.status == Overall::Unhealthy {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (code, Json(snapshot)).into_response()
}
