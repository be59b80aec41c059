//! Step two: the ingest pipeline — the spool and its writer draining into ClickHouse, and the
//! shared [`Ingest`] (authentication, limits, grouping, scrubbing) every receiver hands work to.

use std::time::Duration;

use anyhow::Context;
use faultline_collector::limits::{FieldLimits, RateLimits};
use faultline_collector::scrub::Scrubber;
use faultline_collector::sentry::hook::HookSettings;
use faultline_collector::{Auth, Ingest, Limits, Policy};
use faultline_store::Store;
use faultline_store::writer::{Writer, WriterConfig};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::Config;

/// The pipeline, and what the shutdown sequence needs to stop its writer.
pub(super) struct Pipeline {
    pub(super) ingest: Ingest,
    /// Cancelled last: the drainer stops after the insert in progress.
    pub(super) writer_stop: CancellationToken,
    pub(super) writer_task: JoinHandle<()>,
}

/// Opens the spool, starts its drainer, and builds the pipeline from the configuration.
pub(super) fn build(cfg: &Config, store: &Store, ingest_role: bool) -> anyhow::Result<Pipeline> {
    let auth = Auth::new(&cfg.projects);
    if auth.is_dev_mode() && ingest_role {
        tracing::warn!(
            "FAULTLINE_PROJECTS is not set: development mode, every occurrence goes to project `default` without authentication"
        );
    }
    let writer_stop = CancellationToken::new();
    let spool_dir = cfg.data_dir.join("spool");
    let (writer, writer_task) = Writer::spawn(
        store.clone(),
        WriterConfig {
            max_rows: cfg.batch_max_rows,
            max_age: Duration::from_millis(cfg.batch_max_age_ms),
            spool_max_bytes: cfg.spool_max_bytes,
            ..WriterConfig::new(spool_dir.clone())
        },
        writer_stop.clone(),
    )
    .with_context(|| format!("opening the spool in {}", spool_dir.display()))?;
    let ingest = Ingest::new(
        writer,
        auth,
        Limits {
            max_body_bytes: cfg.max_body_bytes,
            max_decompressed_bytes: cfg.max_decompressed_bytes,
            jobs: cfg.ingest_jobs,
        },
        cfg.grouping.clone(),
        policy(cfg),
    );
    Ok(Pipeline {
        ingest,
        writer_stop,
        writer_task,
    })
}

/// Field limits, rate limits and scrubbing (global, and per project on top of it).
fn policy(cfg: &Config) -> Policy {
    let (extra, safe) = (&cfg.scrub_extra_fields.0, &cfg.scrub_safe_fields.0);
    Policy {
        fields: FieldLimits {
            max_attributes: cfg.max_attributes,
            max_message_bytes: cfg.max_message_bytes,
            max_stacktrace_bytes: cfg.max_stacktrace_bytes,
        },
        rates: RateLimits::new(&cfg.rate_limits),
        scrub: Scrubber::new(cfg.scrub_pii, cfg.anonymize_ip, extra, safe),
        scrub_by_project: (cfg.scrubbing.iter())
            .map(|(project, o)| {
                let extra = [extra.as_slice(), &o.extra_fields].concat();
                let safe = [safe.as_slice(), &o.safe_fields].concat();
                (
                    project.clone(),
                    Scrubber::new(cfg.scrub_pii, cfg.anonymize_ip, &extra, &safe),
                )
            })
            .collect(),
        sentry_hooks: HookSettings {
            secret: Some(cfg.sentry_hook_secret.clone()).filter(|s| !s.is_empty()),
            projects: cfg.sentry_hook_projects.0.clone(),
        },
    }
}
