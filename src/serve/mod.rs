//! `faultline serve`: every listener in one process, and the order things start and stop in.
//!
//! [`start`] is a list of named steps, one module each: [`clickhouse`] (the configured server or
//! the embedded one; migrations in the background, retried until ClickHouse answers, then
//! ready = 200) → [`ingest`] (spool, writer, pipeline) → [`alerts`] (the alerting engine, once
//! migrated) → [`health`] (probes, `/health/db`,
//! `/metrics` on every listener) → [`listeners`] (bound: live = 200, ready = 503 until migrated)
//! → [`shutdown`] (the stop sequence, waiting for the token). A new component is one line in
//! `start` and, if it needs one, a module here.
//!
//! Stop (first SIGTERM/SIGINT, or [`Running::shutdown`]): ready = 503 → listeners stop accepting
//! and finish in-flight requests → the writer flushes what was accepted (under a timeout) → the
//! embedded ClickHouse stops. A second signal exits at once (handled in `main`).

mod alerts;
mod banner;
mod clickhouse;
mod health;
mod ingest;
mod listeners;
mod shutdown;
mod transition;

pub use banner::banner;

use std::net::SocketAddr;
use std::time::Duration;

use faultline_health::{HttpMetrics, Readiness, RequestLayer};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
/// Which parts a process runs.
#[derive(Debug, Clone, Copy)]
pub struct Roles {
    /// OTLP gRPC, OTLP HTTP and webhook listeners.
    pub ingest: bool,
    /// The REST API listener.
    pub api: bool,
}

impl Roles {
    /// Everything (`faultline serve`).
    pub const ALL: Roles = Roles {
        ingest: true,
        api: true,
    };
}

/// A started server.
pub struct Running {
    /// Bound OTLP/gRPC address (when ingest runs).
    pub grpc_addr: Option<SocketAddr>,
    /// Bound OTLP/HTTP + webhook address (when ingest runs).
    pub http_addr: Option<SocketAddr>,
    /// Bound API address (when the API runs).
    pub api_addr: Option<SocketAddr>,
    /// ClickHouse in use.
    pub clickhouse_url: String,
    /// Whether ClickHouse is the embedded child.
    pub embedded: bool,
    /// Readiness flag (tests read it).
    pub readiness: Readiness,
    /// The ingest spool (tests wait for it to drain), when ingest runs.
    pub spool: Option<faultline_store::spool::Spool>,
    shutdown: CancellationToken,
    done: JoinHandle<()>,
}

impl Running {
    /// Starts the shutdown sequence.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Shuts down and waits for the sequence to finish.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        let _ = self.done.await;
    }

    /// Waits until the server stopped (after a shutdown was requested).
    pub async fn wait(self) {
        let _ = self.done.await;
    }
}

/// Starts every part named by `roles`.
pub async fn start(cfg: Config, roles: Roles) -> anyhow::Result<Running> {
    let shutdown = CancellationToken::new();
    let readiness = Readiness::default();

    let clickhouse = clickhouse::connect(&cfg).await?;
    clickhouse::migrate_in_background(&clickhouse.store, &readiness, &shutdown);
    let pipeline = ingest::build(&cfg, &clickhouse.store, roles.ingest)?;
    let alerting = alerts::start(
        &cfg,
        &clickhouse.store,
        &pipeline.ingest,
        &readiness,
        &shutdown,
    )?;

    // Old issues keep their occurrences across a grouping upgrade (the refresher stops with
    // the shutdown token; nothing waits for it).
    if roles.ingest {
        let _refresher = transition::start(&cfg, &clickhouse.store, &pipeline.ingest, &shutdown);
    }
    let http_metrics = HttpMetrics::default();
    let (common, probes) = health::routes(
        &cfg,
        &clickhouse.store,
        &pipeline.ingest,
        readiness.clone(),
        &http_metrics,
        alerting.metrics(),
    );
    let layer = RequestLayer::new(Duration::from_millis(cfg.slow_request_ms), http_metrics);
    let mut listeners = listeners::Listeners::new(common, layer);
    if roles.ingest {
        listeners.ingest(&cfg, &pipeline.ingest).await?;
    }
    if roles.api {
        listeners
            .api(&cfg, &clickhouse.store, &alerting, probes)
            .await?;
    }

    let (grpc_addr, http_addr, api_addr) =
        (listeners.grpc_addr, listeners.http_addr, listeners.api_addr);
    let spool = roles
        .ingest
        .then(|| pipeline.ingest.writer().spool().clone());
    let (clickhouse_url, embedded) = (clickhouse.url, clickhouse.embedded.is_some());
    let stopping = shutdown::Stopping::new(
        &cfg,
        shutdown.clone(),
        readiness.clone(),
        listeners,
        pipeline,
        clickhouse.embedded,
    );
    Ok(Running {
        grpc_addr,
        http_addr,
        api_addr,
        clickhouse_url,
        embedded,
        readiness,
        spool,
        shutdown,
        done: tokio::spawn(shutdown::sequence(stopping)),
    })
}
