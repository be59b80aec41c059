//! The shared pipeline behind every receiver: authenticate → decode/normalize/fingerprint off the
//! async runtime → one writer job → acknowledge only once stored.

use std::collections::HashMap;
use std::sync::Arc;

use faultline_proto::otlp::collector::logs::v1::ExportLogsServiceRequest;
use faultline_proto::webhook::WebhookEvent;
use faultline_store::writer::{Batch, Writer};
use faultline_store::{OccurrenceRow, RequestCountRow};

use crate::auth::Auth;
use crate::drops::{DropCounter, DropReason};
use crate::error::IngestError;
use crate::event::{ErrorEvent, now_secs};
use crate::fingerprint::GroupingConfig;
use crate::limits::{FieldLimits, RateLimits};
use crate::occurrence::TraceCache;
use crate::otlp::{self, Extracted};
use crate::scrub::Scrubber;

/// How an OTLP body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/x-protobuf` (and gRPC).
    Protobuf,
    /// `application/json` (OTLP/JSON).
    Json,
}

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

/// What is done to accepted occurrences: size limits, rate limits, scrubbing.
#[derive(Debug)]
pub struct Policy {
    /// Attribute count and text lengths.
    pub fields: FieldLimits,
    /// Token buckets per project.
    pub rates: RateLimits,
    /// Personal data scrubbing.
    pub scrub: Scrubber,
    /// Projects with their own scrubbing lists (used instead of `scrub` for them).
    pub scrub_by_project: HashMap<String, Scrubber>,
}

impl Default for Policy {
    /// Default limits, no rate limits, scrubbing on.
    fn default() -> Self {
        Policy {
            fields: FieldLimits::default(),
            rates: RateLimits::default(),
            scrub: Scrubber::new(true, false, &[], &[]),
            scrub_by_project: HashMap::new(),
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
    grouping: HashMap<String, GroupingConfig>,
    policy: Policy,
    traces: TraceCache,
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
        policy: Policy,
    ) -> Self {
        Ingest {
            inner: Arc::new(Inner {
                writer,
                auth,
                limits,
                drops: DropCounter::default(),
                grouping,
                policy,
                traces: TraceCache::default(),
            }),
        }
    }

    /// Fingerprints and enriches one event into a row, then cuts it to size and scrubs it
    /// (per-trace work from the trace cache).
    fn row(&self, ev: crate::event::ErrorEvent, project: &str, received_at: u32) -> OccurrenceRow {
        let policy = &self.inner.policy;
        crate::occurrence::build_row(
            ev,
            project,
            received_at,
            self.inner.grouping.get(project),
            &policy.fields,
            policy
                .scrub_by_project
                .get(project)
                .unwrap_or(&policy.scrub),
            &self.inner.traces,
        )
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
        let Extracted { events, requests } = extracted;
        self.spool(source, project, events, requests, |_, _| ())
            .await
    }

    /// Takes from the project's rate limit, builds and encodes the rows on a blocking thread (off
    /// the async runtime), spools them, and returns what `ack` makes of the rows.
    async fn spool<T: Send + 'static>(
        &self,
        source: &str,
        project: String,
        events: Vec<ErrorEvent>,
        requests: Vec<RequestCountRow>,
        ack: impl FnOnce(&[OccurrenceRow], &str) -> T + Send + 'static,
    ) -> Result<T, IngestError> {
        let n = events.len() as u64;
        self.inner
            .policy
            .rates
            .take(&project, n)
            .map_err(|e| self.refuse(source, e, n))?;
        let me = self.clone();
        let (answer, encoded) = tokio::task::spawn_blocking(move || {
            let received_at = now_secs();
            let occurrences: Vec<OccurrenceRow> = events
                .into_iter()
                .map(|e| me.row(e, &project, received_at))
                .collect();
            let answer = ack(&occurrences, &project);
            let batch = Batch {
                occurrences,
                requests: requests
                    .into_iter()
                    .map(|mut r| {
                        r.project.clone_from(&project);
                        r
                    })
                    .collect(),
                stacktraces: Vec::new(),
            };
            me.inner.writer.encode(batch).map(|e| (answer, e))
        })
        .await
        .map_err(|e| {
            self.refuse(
                source,
                IngestError::Internal(format!("grouping task failed: {e}")),
                n,
            )
        })?
        .map_err(|e| self.refuse(source, e.into(), n))?;
        match self.inner.writer.write_encoded(encoded).await {
            Ok(()) => {
                self.inner.drops.accepted(source, n);
                Ok(answer)
            }
            Err(e) => Err(self.refuse(source, e.into(), n)),
        }
    }

    /// Decodes and normalizes on a blocking thread (`extract`), then stores.
    async fn extract_and_store(
        &self,
        source: &str,
        project: String,
        extract: impl FnOnce() -> Result<Extracted, IngestError> + Send + 'static,
    ) -> Result<(), IngestError> {
        let extracted = tokio::task::spawn_blocking(extract)
            .await
            .map_err(|e| IngestError::Internal(format!("decode task failed: {e}")))
            .and_then(|r| r)
            .map_err(|e| self.refuse(source, e, 0))?;
        self.store(source, project, extracted).await
    }

    /// Stores the errors and request counts of a trace export, as it arrived: protobuf bytes are
    /// read in place ([`crate::otlp_wire`]), JSON into the same views ([`crate::otlp_json`]); both
    /// on a blocking thread.
    pub async fn traces(
        &self,
        source: &str,
        project: String,
        format: Format,
        body: bytes::Bytes,
    ) -> Result<(), IngestError> {
        const WHAT: &str = "ExportTraceServiceRequest";
        self.extract_and_store(source, project, move || match format {
            Format::Protobuf => otlp::from_trace_bytes(&body, now_secs())
                .map_err(|e| IngestError::BadRequest(format!("malformed protobuf {WHAT}: {e}"))),
            Format::Json => otlp::from_trace_json(&body, now_secs())
                .map_err(|e| IngestError::BadRequest(format!("malformed JSON {WHAT}: {e}"))),
        })
        .await
    }

    /// Stores the errors of a logs export.
    pub async fn logs(
        &self,
        source: &str,
        project: String,
        req: ExportLogsServiceRequest,
    ) -> Result<(), IngestError> {
        self.extract_and_store(source, project, move || Ok(otlp::from_logs(&req)))
            .await
    }

    /// Stores a batch of webhook events, all or nothing: one bad event (named by its index)
    /// refuses the whole batch; otherwise they are spooled together and acknowledged in order.
    pub async fn webhook_batch(
        &self,
        project: String,
        events: Vec<WebhookEvent>,
    ) -> Result<Vec<WebhookAck>, IngestError> {
        const SOURCE: &str = "webhook";
        let n = events.len() as u64;
        let single = events.len() == 1;
        let events = events
            .into_iter()
            .enumerate()
            .map(|(i, ev)| {
                crate::webhook::to_event(ev).map_err(|m| {
                    let m = if single { m } else { format!("event {i}: {m}") };
                    self.refuse(SOURCE, IngestError::BadRequest(m), n)
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.spool(SOURCE, project, events, Vec::new(), |rows, project| {
            rows.iter()
                .map(|r| WebhookAck {
                    id: r.event_id.clone(),
                    fingerprint: r.fingerprint.clone(),
                    project: project.to_string(),
                })
                .collect()
        })
        .await
    }
}
