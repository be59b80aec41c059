//! Reusable health probes and request middleware for any axum (or tonic-behind-axum) service.
//!
//! The crate knows nothing about errors or ClickHouse: a service hands it [`Check`]s and flips its
//! [`Readiness`], and it serves:
//!
//! - `GET /health/live` and `GET /live`: 200 while the process serves. Never runs a check.
//! - `GET /health/ready` and `GET /ready`: 200 only when the service marked itself ready (for
//!   Faultline: migrations ran) *and* no critical check is down; 503 before, while one is down, and
//!   from the first shutdown signal on.
//! - `GET /health`: every check with its latency; `healthy`, `degraded` (a non-critical check is not
//!   ok, or any check is degraded) or `unhealthy` (a critical check is down, answered with 503).
//!
//! Checks run concurrently, each under its own timeout, so a slow dependency cannot hang a probe.
//! [`RequestLayer`] adds request ids, timing headers, one log line per request and per-route
//! counters, as a tower layer. `examples/minimal.rs` mounts both in a ten-line app.

mod checks;
mod probes;
mod request;

pub use checks::{Check, CheckFuture, DiskSpace, FnCheck, Outcome, ProcessMemory, Status};
pub use probes::{CheckReport, Health, Overall, Readiness, Snapshot, is_ready, overall};
pub use request::{HttpMetrics, RequestLayer, RequestService, request_id};

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use std::time::{Duration, Instant};
    use tower::ServiceExt;

    fn report(status: Status, critical: bool) -> CheckReport {
        CheckReport {
            status,
            critical,
            latency_ms: 0,
            message: None,
        }
    }

    #[test]
    fn aggregation_rules() {
        use Status::*;
        assert_eq!(
            overall([&report(Ok, true), &report(Ok, false)]),
            Overall::Healthy
        );
        assert_eq!(
            overall([&report(Ok, true), &report(Degraded, false)]),
            Overall::Degraded
        );
        assert_eq!(
            overall([&report(Ok, true), &report(Down, false)]),
            Overall::Degraded
        );
        assert_eq!(overall([&report(Degraded, true)]), Overall::Degraded);
        assert_eq!(
            overall([&report(Down, true), &report(Ok, false)]),
            Overall::Unhealthy
        );
        assert_eq!(overall([]), Overall::Healthy);
        assert!(is_ready(true, [&report(Ok, true), &report(Down, false)]));
        assert!(is_ready(true, [&report(Degraded, true)]));
        assert!(!is_ready(true, [&report(Down, true)]));
        assert!(!is_ready(false, [&report(Ok, true)]));
    }

    fn health(ready: bool, dep_ok: bool, slow: bool) -> Health {
        let r = Readiness::default();
        r.set(ready);
        let dep = FnCheck::critical("dep", move || async move {
            if slow {
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
            if dep_ok {
                Outcome::ok()
            } else {
                Outcome::down("down")
            }
        });
        let extra = FnCheck::informational("queue", || async { Outcome::degraded("deep") });
        Health::new(
            r,
            vec![Box::new(dep), Box::new(extra)],
            Duration::from_millis(100),
        )
        .describe("1.2.3", "test")
    }

    async fn call(h: &Health, path: &str) -> (StatusCode, serde_json::Value) {
        let resp = h
            .router()
            .oneshot(Request::get(path).body(Body::empty()).expect("request"))
            .await
            .expect("response");
        let status = resp.status();
        let body = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .expect("body");
        (status, serde_json::from_slice(&body).unwrap_or_default())
    }

    #[tokio::test]
    async fn live_ignores_checks_ready_needs_critical_ones() {
        let h = health(true, false, false);
        assert_eq!(call(&h, "/health/live").await.0, StatusCode::OK);
        assert_eq!(call(&h, "/live").await.0, StatusCode::OK);
        assert_eq!(
            call(&h, "/health/ready").await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );
        let (s, body) = call(&h, "/health").await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["status"], "unhealthy");
        assert_eq!(body["checks"]["dep"]["message"], "down");
        let h = health(true, true, false);
        assert_eq!(
            call(&h, "/ready").await.0,
            StatusCode::OK,
            "a degraded informational check does not block readiness"
        );
        let (s, body) = call(&h, "/health").await;
        assert_eq!(
            (s, body["status"].as_str()),
            (StatusCode::OK, Some("degraded"))
        );
        assert_eq!(
            (body["version"].as_str(), body["environment"].as_str()),
            (Some("1.2.3"), Some("test"))
        );
        assert!(body["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
    }

    #[tokio::test]
    async fn not_ready_until_marked() {
        let h = health(false, true, false);
        assert_eq!(
            call(&h, "/health/ready").await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );
        h.readiness().set(true);
        assert_eq!(call(&h, "/health/ready").await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn slow_check_times_out() {
        let h = health(true, true, true);
        let t0 = Instant::now();
        let (s, body) = call(&h, "/health").await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            body["checks"]["dep"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("no answer")
        );
        assert!(t0.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn request_ids_are_echoed_or_made() {
        let metrics = HttpMetrics::default();
        let app = axum::Router::new()
            .route("/x/{id}", axum::routing::get(|| async { "ok" }))
            .layer(RequestLayer::new(Duration::from_secs(1), metrics.clone()));
        let resp = app
            .clone()
            .oneshot(
                Request::get("/x/1")
                    .header("x-request-id", "abc-123")
                    .body(Body::empty())
                    .expect("req"),
            )
            .await
            .expect("resp");
        assert_eq!(resp.headers()["x-request-id"], "abc-123");
        assert!(
            resp.headers()["x-request-duration"]
                .to_str()
                .expect("ascii")
                .parse::<f64>()
                .is_ok()
        );
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let resp = app
            .clone()
            .oneshot(
                Request::get("/x/2")
                    .header("traceparent", tp)
                    .body(Body::empty())
                    .expect("req"),
            )
            .await
            .expect("resp");
        assert_eq!(
            resp.headers()["x-request-id"],
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        let resp = app
            .clone()
            .oneshot(Request::get("/x/3").body(Body::empty()).expect("req"))
            .await
            .expect("resp");
        assert_eq!(resp.headers()["x-request-id"].len(), 32);
        assert_eq!(metrics.count("/x/{id}", "GET", 200), 3);
        let mut registry = prometheus_client::registry::Registry::default();
        metrics.register(&mut registry);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).expect("encode");
        assert!(
            text.contains("http_requests_total{route=\"/x/{id}\",method=\"GET\",status=\"200\"} 3"),
            "{text}"
        );
        assert!(
            text.contains("http_request_duration_seconds_count{route=\"/x/{id}\"} 3"),
            "{text}"
        );
        assert!(!text.contains("faultline"), "no product name: {text}");
    }
}
