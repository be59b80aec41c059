//! Grouping's upgrade transition (README, Grouping): the issues seen within
//! `grouping_transition_days`, loaded into the ingest pipeline as soon as ClickHouse answers
//! (tried every 5 s until then) and every minute after, so an occurrence whose older-version
//! fingerprint names one of them keeps it. Start-up never waits for it: occurrences taken before
//! the first read are grouped by the current version.

use std::time::Duration;

use faultline_collector::Ingest;
use faultline_store::Store;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::Config;

/// How often the known issues are read again.
const REFRESH: Duration = Duration::from_secs(60);

/// How often a failed read is tried again.
const RETRY: Duration = Duration::from_secs(5);

async fn load(store: &Store, ingest: &Ingest, days: u64) -> bool {
    let now = faultline_collector::event::now_secs();
    let since = now.saturating_sub(u32::try_from(days * 86_400).unwrap_or(u32::MAX));
    match tokio::time::timeout(Duration::from_secs(10), store.known_issues(since)).await {
        Ok(Ok(issues)) => {
            ingest.transition().replace(
                issues
                    .iter()
                    .map(|i| (i.project.as_str(), i.fingerprint.as_str())),
            );
            tracing::debug!(
                issues = issues.len(),
                "grouping transition: known issues loaded"
            );
            true
        }
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "grouping transition: cannot read known issues yet");
            false
        }
        Err(_) => {
            tracing::debug!("grouping transition: reading known issues timed out");
            false
        }
    }
}

/// Reads the known issues now and then until `shutdown`; `None` when the transition is off.
pub(super) fn start(
    cfg: &Config,
    store: &Store,
    ingest: &Ingest,
    shutdown: &CancellationToken,
) -> Option<JoinHandle<()>> {
    let days = cfg.grouping_transition_days;
    if days == 0 {
        return None;
    }
    let (store, ingest, shutdown) = (store.clone(), ingest.clone(), shutdown.clone());
    Some(tokio::spawn(async move {
        loop {
            let wait = if load(&store, &ingest, days).await {
                REFRESH
            } else {
                RETRY
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }))
}
