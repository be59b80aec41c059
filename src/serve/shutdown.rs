//! The last step: the shutdown sequence, run when the shutdown token is cancelled. Not ready
//! (503) → keep serving for the drain period → listeners stop accepting and finish requests in
//! flight → the drainer empties the spool into ClickHouse under the shutdown timeout (what is
//! left stays on disk, acknowledged, for the next start) → the writer stops → the embedded
//! ClickHouse stops.

use std::time::Duration;

use faultline_health::Readiness;
use faultline_store::embedded::EmbeddedClickHouse;
use faultline_store::spool::Spool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::ingest::Pipeline;
use super::listeners::Listeners;

/// Everything the sequence stops, in order.
pub(super) struct Stopping {
    pub(super) shutdown: CancellationToken,
    pub(super) readiness: Readiness,
    pub(super) drain: Duration,
    pub(super) grace: Duration,
    pub(super) stop_accepting: CancellationToken,
    pub(super) listeners: Vec<JoinHandle<()>>,
    pub(super) spool: Spool,
    pub(super) writer_stop: CancellationToken,
    pub(super) writer_task: JoinHandle<()>,
    pub(super) embedded: Option<EmbeddedClickHouse>,
}

impl Stopping {
    pub(super) fn new(
        cfg: &crate::config::Config,
        shutdown: CancellationToken,
        readiness: Readiness,
        listeners: Listeners,
        pipeline: Pipeline,
        embedded: Option<EmbeddedClickHouse>,
    ) -> Self {
        Stopping {
            shutdown,
            readiness,
            drain: Duration::from_secs(cfg.shutdown_drain_secs),
            grace: Duration::from_secs(cfg.shutdown_timeout_secs),
            stop_accepting: listeners.stop_accepting,
            listeners: listeners.tasks,
            spool: pipeline.ingest.writer().spool().clone(),
            writer_stop: pipeline.writer_stop,
            writer_task: pipeline.writer_task,
            embedded,
        }
    }
}

/// Waits for the shutdown token, then stops everything in order.
pub(super) async fn sequence(s: Stopping) {
    s.shutdown.cancelled().await;
    s.readiness.set(false);
    tracing::info!(
        drain_secs = s.drain.as_secs(),
        "shutting down: readiness is 503; still serving while traffic drains"
    );
    tokio::time::sleep(s.drain).await;
    tracing::info!("closing listeners; finishing requests in flight");
    s.stop_accepting.cancel();
    let listeners = async {
        for h in s.listeners {
            let _ = h.await;
        }
    };
    if tokio::time::timeout(s.grace, listeners).await.is_err() {
        tracing::warn!("listeners did not finish within the shutdown timeout");
    }
    // Give the drainer the shutdown timeout to empty the spool; whatever is left stays on
    // disk and is inserted at the next start (it was acknowledged, so it is not lost).
    let spool = s.spool;
    let deadline = tokio::time::Instant::now() + s.grace;
    while spool.oldest_age_ms().is_some() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    s.writer_stop.cancel();
    if tokio::time::timeout(Duration::from_secs(5), s.writer_task)
        .await
        .is_err()
    {
        tracing::error!("the writer did not stop in time");
    }
    if spool.bytes() > 0 && spool.oldest_age_ms().is_some() {
        tracing::warn!(
            bytes = spool.bytes(),
            "spooled data not yet in ClickHouse stays on disk for the next start"
        );
    }
    if let Some(ch) = s.embedded {
        ch.stop(Duration::from_secs(15)).await;
        tracing::info!("embedded ClickHouse stopped");
    }
    tracing::info!("stopped");
}
