//! Reusable health probes for any axum (or tonic-behind-axum) service.
//!
//! The crate knows nothing about errors or ClickHouse: a service hands it [`Check`]s and flips its
//! [`Readiness`], and it serves:
//!
//! - `GET /health/live` and `GET /live`: 200 while the process serves. Never runs a check.
//! - `GET /health/ready` and `GET /ready`: 200 only when the service marked itself ready (for
//!   Faultline: migrations ran) *and* every check passes; 503 before, while a check fails, and from
//!   the first shutdown signal on.
//! - `GET /health`: the report of every check with its latency.
//!
//! Checks run concurrently, each under its own timeout, so a slow dependency cannot hang a probe.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

/// Outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Working.
    Ok,
    /// Working, but something needs attention.
    Degraded,
    /// Not working.
    Down,
}

/// A dependency check.
pub trait Check: Send + Sync + 'static {
    /// Name in reports.
    fn name(&self) -> &str;
    /// Runs the check; `Err` carries a message for the report.
    fn run(&self) -> Pin<Box<dyn Future<Output = Result<Status, String>> + Send + '_>>;
}

/// A check built from a closure returning a future.
pub struct FnCheck<F> {
    name: String,
    f: F,
}

impl<F, Fut> FnCheck<F>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Status, String>> + Send + 'static,
{
    /// Names a closure as a check.
    pub fn new(name: impl Into<String>, f: F) -> Self {
        FnCheck {
            name: name.into(),
            f,
        }
    }
}

impl<F, Fut> Check for FnCheck<F>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Status, String>> + Send + 'static,
{
    fn name(&self) -> &str {
        &self.name
    }
    fn run(&self) -> Pin<Box<dyn Future<Output = Result<Status, String>> + Send + '_>> {
        Box::pin((self.f)())
    }
}

/// The service's own word on readiness: false until it finished starting, false again from shutdown.
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
    started: Instant,
}

/// One check in a report.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// Check name.
    pub name: String,
    /// Outcome.
    pub status: Status,
    /// How long it took, in milliseconds.
    pub latency_ms: u64,
    /// Why it is not ok.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Health {
    /// Probes over `checks`, each limited to `timeout`.
    pub fn new(
        readiness: Readiness,
        checks: Vec<Box<dyn Check>>,
        timeout: Duration,
        version: &str,
    ) -> Self {
        Health {
            inner: Arc::new(Inner {
                readiness,
                checks,
                timeout,
                version: version.to_string(),
                started: Instant::now(),
            }),
        }
    }

    /// Runs every check concurrently, each under the timeout.
    pub async fn run_checks(&self) -> Vec<CheckReport> {
        let timeout = self.inner.timeout;
        let runs = self.inner.checks.iter().map(|c| async move {
            let t0 = Instant::now();
            let (status, message) = match tokio::time::timeout(timeout, c.run()).await {
                Ok(Ok(s)) => (s, None),
                Ok(Err(m)) => (Status::Down, Some(m)),
                Err(_) => (
                    Status::Down,
                    Some(format!("no answer within {} ms", timeout.as_millis())),
                ),
            };
            CheckReport {
                name: c.name().to_string(),
                status,
                latency_ms: t0.elapsed().as_millis() as u64,
                message,
            }
        });
        futures::future::join_all(runs).await
    }

    /// The probe routes.
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
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "not_ready", "reason": "starting or shutting down"})),
        )
            .into_response();
    }
    let checks = h.run_checks().await;
    let ok = checks.iter().all(|c| c.status != Status::Down);
    let code = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let status = if ok { "ready" } else { "not_ready" };
    (
        code,
        Json(serde_json::json!({"status": status, "checks": checks})),
    )
        .into_response()
}

async fn report(State(h): State<Health>) -> Response {
    let checks = h.run_checks().await;
    let status = if checks.iter().any(|c| c.status == Status::Down) {
        "unhealthy"
    } else if checks.iter().any(|c| c.status == Status::Degraded) {
        "degraded"
    } else {
        "healthy"
    };
    let code = if status == "unhealthy" {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let body = serde_json::json!({
        "status": status,
        "ready": h.inner.readiness.get(),
        "version": h.inner.version,
        "uptime_seconds": h.inner.started.elapsed().as_secs(),
        "checks": checks,
    });
    (code, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    fn health(ready: bool, check_ok: bool, slow: bool) -> Health {
        let r = Readiness::default();
        r.set(ready);
        let check = FnCheck::new("dep", move || async move {
            if slow {
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
            if check_ok {
                Ok(Status::Ok)
            } else {
                Err("down".to_string())
            }
        });
        Health::new(r, vec![Box::new(check)], Duration::from_millis(100), "test")
    }

    async fn status(h: &Health, path: &str) -> StatusCode {
        h.router()
            .oneshot(Request::get(path).body(Body::empty()).expect("request"))
            .await
            .expect("response")
            .status()
    }

    #[tokio::test]
    async fn live_ignores_checks_ready_needs_them() {
        let h = health(true, false, false);
        assert_eq!(status(&h, "/health/live").await, StatusCode::OK);
        assert_eq!(status(&h, "/live").await, StatusCode::OK);
        assert_eq!(
            status(&h, "/health/ready").await,
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(status(&h, "/health").await, StatusCode::SERVICE_UNAVAILABLE);
        let h = health(true, true, false);
        assert_eq!(status(&h, "/ready").await, StatusCode::OK);
        assert_eq!(status(&h, "/health").await, StatusCode::OK);
    }

    #[tokio::test]
    async fn not_ready_until_marked() {
        let h = health(false, true, false);
        assert_eq!(
            status(&h, "/health/ready").await,
            StatusCode::SERVICE_UNAVAILABLE
        );
        h.inner.readiness.set(true);
        assert_eq!(status(&h, "/health/ready").await, StatusCode::OK);
    }

    #[tokio::test]
    async fn slow_check_times_out() {
        let h = health(true, true, true);
        let t0 = Instant::now();
        assert_eq!(
            status(&h, "/health/ready").await,
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert!(t0.elapsed() < Duration::from_secs(2));
    }
}
