//! Step one: the ClickHouse in use — the configured server, or the embedded child when none is
//! configured — and its migrations, retried in the background until they are done (readiness
//! waits for them).

use std::time::Duration;

use anyhow::Context;
use faultline_health::Readiness;
use faultline_store::Store;
use faultline_store::embedded::EmbeddedClickHouse;
use tokio_util::sync::CancellationToken;

use crate::config::Config;

/// The ClickHouse in use.
pub(super) struct ClickHouse {
    pub(super) store: Store,
    pub(super) url: String,
    /// The embedded child, when Faultline started one (stopped last at shutdown).
    pub(super) embedded: Option<EmbeddedClickHouse>,
}

/// Connects to the configured ClickHouse, or starts the embedded one.
pub(super) async fn connect(cfg: &Config) -> anyhow::Result<ClickHouse> {
    let embedded = if cfg.clickhouse_url.is_empty() {
        let ch = EmbeddedClickHouse::start(&cfg.data_dir).await.context(
            "starting the embedded ClickHouse (set FAULTLINE_CLICKHOUSE_URL to use your own)",
        )?;
        tracing::info!(url = ch.url(), data_dir = %cfg.data_dir.display(), "started embedded ClickHouse");
        Some(ch)
    } else {
        None
    };
    let url = embedded
        .as_ref()
        .map(|e| e.url().to_string())
        .unwrap_or_else(|| cfg.clickhouse_url.clone());
    let store = Store::new(&cfg.store_config(&url));
    Ok(ClickHouse {
        store,
        url,
        embedded,
    })
}

/// Runs the migrations in the background until they succeed, then marks the process ready.
pub(super) fn migrate_in_background(
    store: &Store,
    readiness: &Readiness,
    shutdown: &CancellationToken,
) {
    tokio::spawn(migrate_until_done(
        store.clone(),
        readiness.clone(),
        shutdown.clone(),
    ));
}

async fn migrate_until_done(store: Store, readiness: Readiness, shutdown: CancellationToken) {
    let mut delay = Duration::from_millis(200);
    loop {
        if shutdown.is_cancelled() {
            return;
        }
        match store.migrate().await {
            Ok(applied) => {
                tracing::info!(applied = ?applied, database = store.database(), "schema is up to date");
                if !shutdown.is_cancelled() {
                    readiness.set(true);
                }
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "migrations failed; not ready");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}
