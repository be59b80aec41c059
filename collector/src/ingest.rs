//! The shared pipeline behind every receiver: authenticate → decode/normalize/fingerprint off the
//! async runtime → one writer job → acknowledge only once stored.

use std::collections::HashMap;
use std::sync::Arc;

use faultline_proto::otlp::collector::logs::v1::ExportLogsServiceRequest;
use faultline_proto::otlp::collector::trace::v1::ExportTraceServiceRequest;
use faultline_proto::webhook::WebhookEvent;
use faultline_store::writer::{Batch, Writer};

use crate::auth::Auth;
use crate::drops::{DropCounter, DropReason};
use crate::error::IngestError;
use crate::event::now_secs;
use crate::fingerprint::GroupingConfig;
use crate::otlp::{self, Extracted};

/// Limits applied to every request.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body, compressed, in bytes (HTTP and gRPC).
    pub max_body_bytes: usize,
    /// Largest request body after gzip decompression, in bytes.
    pub max_decompressed_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 16 << 20,
            max_decompressed_bytes: 64 << 20,
        }
    }
}

/// Everything a receiver needs. Cheap to clone.
#[derive(Clone)]
pub struct Ingest {
    inner: Arc<Inner>,
}

struct Inner {
    writer: Writer,
    auth: Auth,
    limits: Limits,
    drops: DropCounter,
    grouping: Arc<HashMap<String, GroupingConfig>>,
}

/// What a stored webhook event got.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WebhookAck {
    /// Event id (client's or generated).
    pub id: String,
    /// The issue it was grouped into.
    pub fingerprint: String,
    /// Project it was stored in.
    pub project: String,
}

impl Ingest {
    /// Builds the pipeline; `grouping` holds the projects' grouping configurations.
    pub fn new(
        writer: Writer,
        auth: Auth,
        limits: Limits,
        grouping: HashMap<String, GroupingConfig>,
    ) -> Self {
        Ingest {
            inner: Arc::new(Inner {
                writer,
                auth,
                limits,
                drops: DropCounter::default(),
                grouping: Arc::new(grouping),
            }),
        }
    }

    /// The authenticator.
    pub fn auth(&self) -> &Auth {
        &self.inner.auth
    }

    /// The limits.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// Accepted/dropped counters.
    pub fn drops(&self) -> &DropCounter {
        &self.inner.drops
    }

    /// The writer (for queue depth and insert counters).
    pub fn writer(&self) -> &Writer {
        &self.inner.writer
    }

    /// Counts a refused request and passes the error on.
    pub fn refuse(&self, source: &str, e: IngestError, items: u64) -> IngestError {
        self.inner.drops.record(source, DropReason::of(&e), items);
        e
    }

    async fn store(
        &self,
        source: &str,
        project: String,
        extracted: Extracted,
    ) -> Result<(), IngestError> {
        let n = extracted.events.len() as u64;
        let grouping = self.inner.grouping.clone();
        let batch = tokio::task::spawn_blocking(move || {
            let received_at = now_secs();
            let config = grouping.get(&project);
            Batch {
                occurrences: extracted
                    .events
                    .into_iter()
                    .map(|e| e.into_row(&project, received_at, config))
                    .collect(),
                requests: extracted
                    .requests
                    .into_iter()
                    .map(|mut r| {
                        r.project.clone_from(&project);
                        r
                    })
                    .collect(),
            }
        })
        .await
        .map_err(|e| {
            self.refuse(
                source,
                IngestError::Internal(format!("grouping task failed: {e}")),
                n,
            )
        })?;
        match self.inner.writer.write(batch).await {
            Ok(()) => {
                self.inner.drops.accepted(source, n);
                Ok(())
            }
            Err(e) => Err(self.refuse(source, e.into(), n)),
        }
    }

    /// Normalizes on a blocking thread (`extract`), then stores.
    async fn extract_and_store(
        &self,
        source: &str,
        project: String,
        extract: impl FnOnce() -> Extracted + Send + 'static,
    ) -> Result<(), IngestError> {
        let extracted = tokio::task::spawn_blocking(extract).await.map_err(|e| {
            self.refuse(
                source,
                IngestError::Internal(format!("decode task failed: {e}")),
                0,
            )
        })?;
        self.store(source, project, extracted).await
    }

    /// Stores the errors and request counts of a trace export.
    pub async fn traces(
        &self,
        source: &str,
        project: String,
        req: ExportTraceServiceRequest,
    ) -> Result<(), IngestError> {
        self.extract_and_store(source, project, move || otlp::from_traces(&req, now_secs()))
            .await
    }

    /// Stores the errors of a logs export.
    pub async fn logs(
        &self,
        source: &str,
        project: String,
        req: ExportLogsServiceRequest,
    ) -> Result<(), IngestError> {
        self.extract_and_store(source, project, move || otlp::from_logs(&req))
            .await
    }

    /// Stores one webhook event.
    pub async fn webhook(
        &self,
        project: String,
        ev: WebhookEvent,
    ) -> Result<WebhookAck, IngestError> {
        const SOURCE: &str = "webhook";
        let event = crate::webhook::to_event(ev)
            .map_err(|m| self.refuse(SOURCE, IngestError::BadRequest(m), 1))?;
        let row = event.into_row(&project, now_secs(), self.inner.grouping.get(&project));
        let ack = WebhookAck {
            id: row.event_id.clone(),
            fingerprint: row.fingerprint.clone(),
            project,
        };
        match self
            .inner
            .writer
            .write(Batch {
                occurrences: vec![row],
                requests: Vec::new(),
            })
            .await
        {
            Ok(()) => {
                self.inner.drops.accepted(SOURCE, 1);
                Ok(ack)
            }
            Err(e) => Err(self.refuse(SOURCE, e.into(), 1)),
        }
    }
}
