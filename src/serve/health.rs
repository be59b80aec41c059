//! What every listener serves beside its own routes: the health probes (ClickHouse — degraded
//! rather than down while the spool can absorb —, disk, memory, spool), `/health/db` and
//! `/metrics`. The health crate knows nothing of Faultline; its ClickHouse and spool checks are
//! built here.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use faultline_collector::Ingest;
use faultline_health::{
    DiskSpace, FnCheck, Health, HttpMetrics, Outcome, ProcessMemory, Readiness,
};
use faultline_store::Store;

use crate::config::Config;

/// The routes every listener gets: probes, `/health/db`, `/metrics`; and the probes themselves
/// (the triage screen's status page runs them too).
pub(super) fn routes(
    cfg: &Config,
    store: &Store,
    ingest: &Ingest,
    readiness: Readiness,
    http_metrics: &HttpMetrics,
    alert_metrics: &faultline_alerts::AlertMetrics,
) -> (Router, Health) {
    let health = probes(cfg, store, ingest, readiness);
    let registry = crate::metrics::registry(ingest, http_metrics, alert_metrics);
    let db_store = store.clone();
    let router = health
        .router()
        .route(
            "/health/db",
            get(move || {
                let s = db_store.clone();
                async move { health_db(&s).await }
            }),
        )
        .route(
            "/metrics",
            get(move || {
                let registry = registry.clone();
                async move {
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            crate::metrics::CONTENT_TYPE,
                        )],
                        crate::metrics::render(&registry),
                    )
                }
            }),
        );
    (router, health)
}

/// The probes: ClickHouse (readiness depends on it only once the spool cannot absorb more), disk
/// under the data directory, process memory, and the spool (bytes, age of the oldest record).
fn probes(cfg: &Config, store: &Store, ingest: &Ingest, readiness: Readiness) -> Health {
    let ch = store.clone();
    let spool = ingest.writer().spool().clone();
    let clickhouse = FnCheck::critical("clickhouse", move || {
        let s = ch.clone();
        let spool = spool.clone();
        async move {
            match s.ping(Duration::from_secs(2)).await {
                Ok(info) => Outcome::ok_with(format!("ClickHouse {}", info.version)),
                // Accepting still works while the spool has room: degraded, not down, so
                // readiness stays 200 and clients keep sending.
                Err(e) if spool.bytes() * 10 < spool.max_bytes() * 9 => Outcome::degraded(format!(
                    "{e}; spooling to disk ({} of {} bytes)",
                    spool.bytes(),
                    spool.max_bytes()
                )),
                Err(e) => Outcome::down(format!("{e}; spool full")),
            }
        }
    });
    let sp = ingest.writer().spool().clone();
    let queue = FnCheck::informational("spool", move || {
        let (bytes, max, age) = (sp.bytes(), sp.max_bytes(), sp.oldest_age_ms());
        async move {
            let text = format!(
                "{bytes} of {max} bytes; oldest record {}",
                age.map_or("none".into(), |a| format!("{} s old", a / 1000))
            );
            if bytes * 10 >= max * 8 || age.is_some_and(|a| a > 60_000) {
                Outcome::degraded(text)
            } else {
                Outcome::ok_with(text)
            }
        }
    });
    Health::new(
        readiness,
        vec![
            Box::new(clickhouse),
            Box::new(DiskSpace::new(cfg.data_dir.clone(), 1 << 30)),
            Box::new(ProcessMemory::new(0)),
            Box::new(queue),
        ],
        Duration::from_secs(3),
    )
    .describe(env!("CARGO_PKG_VERSION"), &cfg.environment)
}

/// `GET /health/db`: ClickHouse version, round trip, uptime, whether Faultline's tables exist, and
/// on a cluster its nodes, ZooKeeper and replicas (degraded when any is unwell).
async fn health_db(store: &Store) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    let t0 = std::time::Instant::now();
    let ping = store.ping(Duration::from_secs(2)).await;
    let latency_ms = t0.elapsed().as_secs_f64() * 1000.0;
    match ping {
        Ok(info) => {
            let tables = store.tables_exist().await.unwrap_or(false);
            // On a cluster: nodes answering, ZooKeeper, replicas read-only or behind.
            let cluster = store.cluster_health().await.unwrap_or(None);
            let degraded = !tables || cluster.as_ref().is_some_and(|c| c.degraded());
            let body = serde_json::json!({
                "status": if degraded { "degraded" } else { "ok" },
                "server_version": info.version,
                "latency_ms": (latency_ms * 1000.0).round() / 1000.0,
                "uptime_seconds": info.uptime_seconds,
                "database": store.database(),
                "tables_exist": tables,
                "cluster": cluster,
            });
            (StatusCode::OK, axum::Json(body)).into_response()
        }
        Err(e) => {
            let body = serde_json::json!({"status": "down", "database": store.database(), "error": e.to_string()});
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
        }
    }
}
