//! The shared pipeline behind every receiver: authenticate → decode/normalize/fingerprint off the
//! async runtime → one writer job → acknowledge only once stored.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use faultline_proto::otlp::collector::logs::v1::ExportLogsServiceRequest;
use faultline_store::RequestCountRow;
use faultline_store::writer::{Batch, Encoded, Writer};

use crate::auth::Auth;
use crate::drops::{DropCounter, DropReason};
use crate::error::IngestError;
use crate::event::{ErrorEvent, Row, now_secs};
use crate::fingerprint::{GroupingConfig, Transition};
use crate::jobs::JobQueue;
use crate::limits::{FieldLimits, RateLimits};
use crate::occurrence::{RowPolicy, TraceCache, with_rows};
use crate::otlp::{self, Extracted};
use crate::otlp_wire::TraceView;
use crate::receiver::Receiver;
use crate::scrub::Scrubber;
use crate::sentry::ClientReports;
use crate::sentry::hook::{HookDeliveries, HookSettings};

/// How an OTLP body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/x-protobuf` (and gRPC).
    Protobuf,
    /// `application/json` (OTLP/JSON).
    Json,
}

pub use crate::inflate::{Compression, inflate};

/// Limits applied to every request.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body, compressed, in bytes (HTTP and gRPC).
    pub max_body_bytes: usize,
    /// Largest request body after gzip decompression, in bytes.
    pub max_decompressed_bytes: usize,
    /// Most requests read, grouped and encoded at once (each is one job on a blocking thread);
    /// the others wait their turn, without a thread. 0: [`default_jobs`].
    pub jobs: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 16 << 20,
            max_decompressed_bytes: 64 << 20,
            jobs: 0,
        }
    }
}

/// Ingest jobs at once unless configured: half the cores, at least one. The rest of the machine
/// is left to the network and spool threads and to ClickHouse, which usually runs beside
/// Faultline: with a job per request in flight, ingest took about three quarters of a 2-core
/// machine under load, ClickHouse's inserts fell behind and the end-to-end rate was set by
/// their catching up alone afterwards (`bench/ingest.sh`, 1M events: OTLP/JSON 92–96k → 108–111k
/// events/s, webhook arrays 119–136k → 141–145k, gRPC unchanged).
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
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
    /// How Sentry's outgoing webhooks are checked (signature secret, accepted projects).
    pub sentry_hooks: HookSettings,
}

impl Default for Policy {
    /// Default limits, no rate limits, scrubbing on.
    fn default() -> Self {
        Policy {
            fields: FieldLimits::default(),
            rates: RateLimits::default(),
            scrub: Scrubber::new(true, false, &[], &[]),
            scrub_by_project: HashMap::new(),
            sentry_hooks: HookSettings::default(),
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
    drops: Arc<DropCounter>,
    client_reports: Arc<ClientReports>,
    hook_deliveries: Arc<HookDeliveries>,
    grouping: HashMap<String, GroupingConfig>,
    policy: Policy,
    traces: TraceCache,
    /// Issues of an older grouping version that keep their occurrences.
    transition: Arc<Transition>,
    /// The ingest jobs, at most [`Limits::jobs`] at once.
    jobs: Arc<JobQueue>,
}

/// Reads a trace export as it arrived: protobuf bytes in place ([`crate::otlp_wire`]), JSON into
/// the same views ([`crate::otlp_json`]); what does not read is a 400 naming the problem.
pub fn read_traces(format: Format, body: &[u8]) -> Result<TraceView<'_>, IngestError> {
    const WHAT: &str = "ExportTraceServiceRequest";
    match format {
        Format::Protobuf => TraceView::parse(body)
            .map_err(|e| IngestError::BadRequest(format!("malformed protobuf {WHAT}: {e}"))),
        Format::Json => crate::otlp_json::parse(body)
            .map_err(|e| IngestError::BadRequest(format!("malformed JSON {WHAT}: {e}"))),
    }
}

/// What a blocking ingest job made of a request.
pub(crate) struct Job<T> {
    /// The client's answer.
    pub(crate) answer: T,
    /// The spool record; `None` when the request held nothing to store (a Sentry envelope of
    /// sessions only, say).
    pub(crate) record: Option<Encoded>,
    /// Events in it.
    pub(crate) events: u64,
}

/// What a stored webhook event got (the answer, serialized as JSON in the ingest job).
#[derive(Debug, Clone, serde::Serialize)]
pub struct WebhookAck<'r> {
    /// Event id (client's or generated).
    pub id: &'r str,
    /// The issue it was grouped into.
    pub fingerprint: &'r str,
    /// Project it was stored in.
    pub project: &'r str,
}

/// The answer to a webhook array.
#[derive(serde::Serialize)]
struct WebhookBatchAck<'r> {
    accepted: usize,
    events: Vec<WebhookAck<'r>>,
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
                jobs: Arc::new(JobQueue::new(match limits.jobs {
                    0 => default_jobs(),
                    n => n,
                })),
                limits,
                drops: Arc::default(),
                client_reports: Arc::default(),
                hook_deliveries: Arc::default(),
                grouping,
                policy,
                traces: TraceCache::default(),
                transition: Arc::default(),
            }),
        }
    }

    /// The issues of an older grouping version that keep their occurrences (filled and
    /// refreshed by the binary from the store; empty: no transition).
    pub fn transition(&self) -> &Arc<Transition> {
        &self.inner.transition
    }

    /// How `project`'s occurrences are grouped, cut and scrubbed.
    /// The cache of trace work, shared by every receiver ([`crate::occurrence`]).
    pub(crate) fn trace_cache(&self) -> &TraceCache {
        &self.inner.traces
    }

    fn row_policy(&self, project: &str) -> RowPolicy<'_> {
        let policy = &self.inner.policy;
        RowPolicy {
            config: self.inner.grouping.get(project),
            fields: &policy.fields,
            scrubber: policy
                .scrub_by_project
                .get(project)
                .unwrap_or(&policy.scrub),
            transition: Some(&self.inner.transition),
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

    /// The accepted/dropped counters as a Prometheus collector.
    pub fn drop_metrics(&self) -> crate::drops::DropMetrics {
        crate::drops::DropMetrics(self.inner.drops.clone())
    }

    /// What Sentry SDKs reported they discarded (`client_report` items).
    pub fn client_reports(&self) -> &Arc<ClientReports> {
        &self.inner.client_reports
    }

    /// Sentry webhook deliveries, by resource and action.
    pub fn hook_deliveries(&self) -> &Arc<HookDeliveries> {
        &self.inner.hook_deliveries
    }

    /// How Sentry's webhooks are checked.
    pub fn sentry_hooks(&self) -> &HookSettings {
        &self.inner.policy.sentry_hooks
    }

    /// The writer (for queue depth and insert counters).
    pub fn writer(&self) -> &Writer {
        &self.inner.writer
    }

    /// `body` inflated ([`inflate`]) up to the decompressed-size limit; refused (counted as
    /// `items`) when it does not inflate.
    pub(crate) fn inflated(
        &self,
        receiver: Receiver,
        compression: Compression,
        body: Bytes,
        items: u64,
    ) -> Result<Bytes, IngestError> {
        inflate(compression, body, self.inner.limits.max_decompressed_bytes)
            .map_err(|e| self.refuse(receiver, e, items))
    }

    /// Counts a refused request and passes the error on.
    pub fn refuse(&self, receiver: Receiver, e: IngestError, items: u64) -> IngestError {
        self.inner.drops.record(receiver, DropReason::of(&e), items);
        e
    }

    /// Runs `job` on a blocking thread (off the async runtime; at most [`Limits::jobs`] at once,
    /// [`crate::jobs`]), which also hands the record it made to the spool; returns its answer
    /// once the record is durable. `job` reads the request, and refuses it (counted) when it
    /// must; it returns its answer, the record and how many events it holds. The request's task
    /// sleeps until then and is woken once: by the spool's fsync, or by the job when it refused
    /// the request or had nothing to store.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        receiver: Receiver,
        job: impl FnOnce(&Ingest) -> Result<Job<T>, IngestError> + Send + 'static,
    ) -> Result<T, IngestError> {
        let me = self.clone();
        // Announced to the spool now: while this request waits for a slot and is read, the
        // spool's committer may wait a moment for it rather than fsync without it.
        let expected = self.inner.writer.expect();
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.inner.jobs.spawn(move || {
            let Job {
                answer: ack,
                record,
                events,
            } = match job(&me) {
                Ok(done) => done,
                Err(e) => {
                    let _ = answer.send(Err(e));
                    return;
                }
            };
            let Some(record) = record else {
                let _ = answer.send(Ok(ack));
                return;
            };
            let writer = me.inner.writer.clone();
            writer.write_encoded_then(record, Some(expected), move |r| {
                let _ = answer.send(match r {
                    Ok(()) => {
                        me.inner.drops.accepted(receiver, events);
                        Ok(ack)
                    }
                    Err(e) => Err(me.refuse(receiver, e.into(), events)),
                });
            });
        });
        // A job that panicked dropped its answer (the bug is logged by the panic hook).
        answered.await.unwrap_or_else(|_| {
            Err(self.refuse(
                receiver,
                IngestError::Internal("ingest job panicked".into()),
                0,
            ))
        })
    }

    /// Takes `events` from the project's rate limit, groups and enriches them into rows (borrowing
    /// from the events and the trace cache's answers), and encodes the spool record; `ack` makes
    /// the client's answer of the rows. On the blocking thread of [`run`](Self::run).
    pub(crate) fn encode_rows<T>(
        &self,
        receiver: Receiver,
        project: &str,
        events: Vec<ErrorEvent<'_>>,
        requests: Vec<RequestCountRow>,
        ack: impl FnOnce(&[Row<'_>], &str) -> T,
    ) -> Result<Job<T>, IngestError> {
        let n = events.len() as u64;
        self.inner
            .policy
            .rates
            .take(project, n)
            .map_err(|e| self.refuse(receiver, e, n))?;
        let requests = requests
            .into_iter()
            .map(|mut r| {
                project.clone_into(&mut r.project);
                r
            })
            .collect();
        let (answer, record) = with_rows(
            events,
            project,
            now_secs(),
            self.row_policy(project),
            &self.inner.traces,
            |occurrences| {
                let answer = ack(&occurrences, project);
                let batch = Batch {
                    occurrences,
                    requests,
                    stacktraces: Vec::new(),
                };
                (answer, self.inner.writer.encode(batch))
            },
        );
        let record = record.map_err(|e| self.refuse(receiver, e.into(), n))?;
        Ok(Job {
            answer,
            record: Some(record),
            events: n,
        })
    }

    /// Stores the errors and request counts of a trace export, as it arrived: inflated, then
    /// protobuf bytes are read in place ([`crate::otlp_wire`]), JSON into the same views
    /// ([`crate::otlp_json`]); all on a blocking thread.
    pub async fn traces(
        &self,
        receiver: Receiver,
        project: String,
        format: Format,
        compression: Compression,
        body: Bytes,
    ) -> Result<(), IngestError> {
        self.run(receiver, move |me| {
            let body = me.inflated(receiver, compression, body, 0)?;
            let view = read_traces(format, &body).map_err(|e| me.refuse(receiver, e, 0))?;
            let Extracted { events, requests } = otlp::from_trace_view(&view, now_secs());
            me.encode_rows(receiver, &project, events, requests, |_, _| ())
        })
        .await
    }

    /// Stores the errors of a logs export.
    pub async fn logs(
        &self,
        receiver: Receiver,
        project: String,
        req: ExportLogsServiceRequest,
    ) -> Result<(), IngestError> {
        self.run(receiver, move |me| {
            let Extracted { events, requests } = otlp::from_logs(&req);
            me.encode_rows(receiver, &project, events, requests, |_, _| ())
        })
        .await
    }

    /// Stores a webhook body (one event, or an array of them: [`crate::webhook::read`]), all or
    /// nothing: one bad event refuses the whole body; otherwise its events are spooled together.
    /// Inflating, reading, grouping and the JSON answer (each event's id and issue, in order) all
    /// happen on a blocking thread.
    pub async fn webhook(
        &self,
        project: String,
        compression: Compression,
        body: Bytes,
    ) -> Result<Vec<u8>, IngestError> {
        const RECEIVER: Receiver = Receiver::Webhook;
        self.run(RECEIVER, move |me| {
            let body = me.inflated(RECEIVER, compression, body, 1)?;
            let read = crate::webhook::read(&body).map_err(|e| me.refuse(RECEIVER, e, 1))?;
            let (n, batch) = (read.events.len() as u64, read.batch);
            let events = read.to_events().map_err(|e| me.refuse(RECEIVER, e, n))?;
            me.encode_rows(RECEIVER, &project, events, Vec::new(), |rows, project| {
                let mut acks = rows.iter().map(|r| WebhookAck {
                    id: &r.event_id,
                    fingerprint: &r.fingerprint,
                    project,
                });
                let answer = if batch {
                    serde_json::to_vec(&WebhookBatchAck {
                        accepted: rows.len(),
                        events: acks.collect(),
                    })
                } else {
                    serde_json::to_vec(&acks.next())
                };
                answer.unwrap_or_default()
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use faultline_store::writer::WriterConfig;
    use faultline_store::{Store, StoreConfig};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_most_the_configured_jobs_run_at_once() {
        let dir = std::env::temp_dir().join(format!("faultline-jobs-{}", std::process::id()));
        let shutdown = tokio_util::sync::CancellationToken::new();
        // Nothing reaches ClickHouse here (the jobs spool nothing): an address nobody serves.
        let store = Store::new(&StoreConfig {
            url: "http://127.0.0.1:9".into(),
            database: "none".into(),
            user: String::new(),
            password: String::new(),
            cluster: None,
        });
        let (writer, _) =
            Writer::spawn(store, WriterConfig::new(&dir), shutdown.clone()).expect("spool");
        for jobs in [1, 3] {
            let limits = Limits {
                jobs,
                ..Limits::default()
            };
            let ingest = Ingest::new(
                writer.clone(),
                Auth::parse("").expect("dev mode"),
                limits,
                HashMap::new(),
                Policy::default(),
            );
            let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
            let mut all = tokio::task::JoinSet::new();
            for _ in 0..8 {
                let (ingest, running, most) = (ingest.clone(), running.clone(), most.clone());
                all.spawn(async move {
                    ingest
                        .run(Receiver::Webhook, move |me| {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(30));
                            running.fetch_sub(1, Ordering::SeqCst);
                            let record = me.inner.writer.encode(Batch::<String>::default())?;
                            Ok(Job {
                                answer: (),
                                record: Some(record),
                                events: 0,
                            })
                        })
                        .await
                });
            }
            while let Some(done) = all.join_next().await {
                done.expect("task").expect("job");
            }
            let most = most.load(Ordering::SeqCst);
            assert!(most <= jobs, "{most} jobs ran at once with {jobs} allowed");
            if jobs > 1 {
                assert!(most > 1, "jobs ran one at a time with {jobs} allowed");
            }
        }
        shutdown.cancel();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
