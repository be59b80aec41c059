//! Alerting ([`faultline_alerts`]): the engine on this process's store, started once the
//! migrations ran (readiness), woken by the writer after each insert ClickHouse confirmed, and
//! stopped when shutdown begins (pending deliveries stay in the outbox for the next start). Every
//! role runs it; the lease in ClickHouse makes one process among replicas evaluate and deliver.

use std::sync::Arc;
use std::time::Duration;

use faultline_alerts::{AlertMetrics, Engine};
use faultline_collector::Ingest;
use faultline_health::Readiness;
use faultline_store::Store;
use tokio_util::sync::CancellationToken;

use crate::config::Config;

/// Builds the engine and starts it as soon as the database is ready.
pub(super) fn start(
    cfg: &Config,
    store: &Store,
    ingest: &Ingest,
    readiness: &Readiness,
    shutdown: &CancellationToken,
) -> anyhow::Result<Engine> {
    let alerts = cfg.alerts.validate().map_err(anyhow::Error::msg)?;
    let engine = Engine::new(
        store.clone(),
        alerts,
        &cfg.public_url(),
        Arc::new(AlertMetrics::default()),
    );
    let (me, inserted, readiness, shutdown) = (
        engine.clone(),
        ingest.writer().inserted(),
        readiness.clone(),
        shutdown.clone(),
    );
    tokio::spawn(async move {
        while !readiness.get() {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
        }
        let _ = me.spawn(inserted, shutdown).await;
    });
    Ok(engine)
}
