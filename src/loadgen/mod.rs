//! `faultline loadgen`: realistic load for any Faultline (or any OTLP endpoint).
//!
//! Errors are drawn from the public grouping corpus (real stack traces of seven runtimes, compiled
//! in), spread over services, environments and HTTP statuses; each comes with its SERVER span, and
//! every error is followed by ordinary successful SERVER spans, so error rates have a denominator.
//! Requests are built before the clock starts (a pool cycled through) and HTTP senders each keep
//! one plain HTTP/1.1 connection ([`http1`]), so the generator is not what is measured. It
//! reports sent, acknowledged and rejected events, events/s and the acknowledgement latency of
//! requests (p50/p95/p99), and ends with one machine-readable line.
//!
//! Modules: [`corpus`] (the errors and the deterministic generator), one per wire format
//! ([`otlp`], [`webhook`], [`sentry`]), [`http1`] (the HTTP senders' connection), [`report`]
//! (what a run prints).

mod corpus;
mod http1;
mod otlp;
mod report;
mod sentry;
mod webhook;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use faultline_collector::grpc::BytesCodec;
use prost::Message;

use corpus::{Rng, SEED, corpus};
use otlp::otlp_request;
pub use otlp::sample_export;
pub use report::Report;
use report::percentile;
pub use sentry::corpus_events;
use sentry::sentry_envelope;
pub use webhook::sample_webhook_batch;
use webhook::{webhook_batch_body, webhook_body};

/// Wire protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    /// OTLP/gRPC (`/opentelemetry.proto.collector.trace.v1.TraceService/Export`).
    Grpc,
    /// OTLP/HTTP with protobuf bodies (`/v1/traces`).
    HttpProto,
    /// OTLP/HTTP with JSON bodies (`/v1/traces`).
    HttpJson,
    /// The native webhook (`/webhook/error/{token}`): one event per request with `--batch 1`,
    /// otherwise a JSON array of `--batch` events.
    Webhook,
    /// A Sentry SDK (`/api/{id}/envelope/`, `X-Sentry-Auth` with the token as the DSN key): one
    /// event per gzipped envelope, as sentry-python sends them (`--batch` must be 1).
    Sentry,
}

/// `faultline loadgen` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Wire protocol.
    #[arg(long, value_enum, default_value = "grpc")]
    pub protocol: Protocol,
    /// Base URL (default: http://127.0.0.1:4317 for gRPC, http://127.0.0.1:4318 otherwise).
    #[arg(long)]
    pub endpoint: Option<String>,
    /// Project token (`dev` when Faultline runs in development mode).
    #[arg(long, default_value = "dev")]
    pub token: String,
    /// Error events to send (default 100000 unless --duration is given).
    #[arg(long)]
    pub count: Option<u64>,
    /// Send for this many seconds instead of a count.
    #[arg(long)]
    pub duration: Option<f64>,
    /// Error events per second; absent = as fast as acknowledgements allow.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Error events per request (OTLP spans with an exception; webhook: a JSON array of this many
    /// events, or a single event object when 1).
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    /// Ordinary (successful) SERVER spans sent per error.
    #[arg(long, default_value_t = 1)]
    pub spans_per_error: usize,
    /// Sentry project id of the DSN (`--protocol sentry`).
    #[arg(long, default_value_t = 1)]
    pub sentry_project_id: u64,
    /// No progress line.
    #[arg(long)]
    pub quiet: bool,
    /// Send nothing: print every corpus error once as a Sentry event, one JSON line each
    /// (`{"id", "group", "event"}`), for sending the same events to a peer (`bench/bugsink.sh`).
    #[arg(long)]
    pub print_sentry_events: bool,
}

enum Payload {
    /// An encoded `ExportTraceServiceRequest` (encoded before the clock starts).
    Grpc(bytes::Bytes),
    Http(bytes::Bytes),
}

/// The OTLP gRPC method the load is sent to.
const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// Counters shared by the senders.
#[derive(Default)]
struct Tally {
    sent: AtomicU64,
    acked: AtomicU64,
    rejected: AtomicU64,
    failed_requests: AtomicU64,
}

/// Runs the load and returns the report (also printed).
pub async fn run(args: Args) -> anyhow::Result<Report> {
    if args.concurrency == 0 || args.batch == 0 {
        bail!("--concurrency and --batch must be above 0");
    }
    if args.protocol == Protocol::Sentry && args.batch != 1 {
        bail!("--protocol sentry sends one event per envelope: give --batch 1");
    }
    let per_request = args.batch as u64;
    let count = match (args.count, args.duration) {
        (Some(c), _) => Some(c),
        (None, Some(_)) => None,
        (None, None) => Some(100_000),
    };
    let endpoint = args.endpoint.clone().unwrap_or_else(|| {
        if args.protocol == Protocol::Grpc {
            "http://127.0.0.1:4317".into()
        } else {
            "http://127.0.0.1:4318".into()
        }
    });
    let events = corpus();
    if events.is_empty() {
        bail!("the built-in corpus is empty");
    }

    // Build the request pool before the clock starts.
    let pool_size = 64usize;
    let mut rng = Rng(SEED);
    let pool: Vec<Payload> = (0..pool_size)
        .map(|_| match args.protocol {
            Protocol::Grpc => Payload::Grpc(
                otlp_request(&mut rng, &events, args.batch, args.spans_per_error)
                    .encode_to_vec()
                    .into(),
            ),
            Protocol::HttpProto => Payload::Http(
                otlp_request(&mut rng, &events, args.batch, args.spans_per_error)
                    .encode_to_vec()
                    .into(),
            ),
            Protocol::HttpJson => Payload::Http(
                serde_json::to_vec(&otlp_request(
                    &mut rng,
                    &events,
                    args.batch,
                    args.spans_per_error,
                ))
                .unwrap_or_default()
                .into(),
            ),
            Protocol::Webhook if args.batch > 1 => {
                Payload::Http(webhook_batch_body(&mut rng, &events, args.batch).into())
            }
            Protocol::Webhook => Payload::Http(webhook_body(&mut rng, &events).into()),
            Protocol::Sentry => Payload::Http(sentry_envelope(&mut rng, &events).into()),
        })
        .collect();
    let pool = Arc::new(pool);

    let path = match args.protocol {
        Protocol::Webhook => format!("/webhook/error/{}", args.token),
        Protocol::Sentry => format!("/api/{}/envelope/", args.sentry_project_id),
        _ => "/v1/traces".to_string(),
    };
    let headers: Vec<(&'static str, String)> = match args.protocol {
        Protocol::Sentry => vec![
            ("content-type", "application/x-sentry-envelope".into()),
            ("content-encoding", "gzip".into()),
            (
                "x-sentry-auth",
                format!(
                    "Sentry sentry_key={}, sentry_version=7, sentry_client=faultline-loadgen",
                    args.token
                ),
            ),
        ],
        Protocol::HttpProto => vec![
            ("content-type", "application/x-protobuf".into()),
            ("authorization", format!("Bearer {}", args.token)),
        ],
        _ => vec![
            ("content-type", "application/json".into()),
            ("authorization", format!("Bearer {}", args.token)),
        ],
    };
    let target = match args.protocol {
        Protocol::Grpc => None,
        _ => Some(http1::Target::new(&endpoint, &path, &headers)?),
    };
    let grpc = if args.protocol == Protocol::Grpc {
        let channel = tonic::transport::Endpoint::from_shared(endpoint.clone())
            .context("gRPC endpoint")?
            .connect()
            .await
            .with_context(|| format!("cannot connect to {endpoint}"))?;
        Some(tonic::client::Grpc::new(channel))
    } else {
        None
    };

    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let deadline = args.duration.map(|d| started + Duration::from_secs_f64(d));
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency {
        let (pool, tally, stop, next) = (pool.clone(), tally.clone(), stop.clone(), next.clone());
        let (grpc, token) = (grpc.clone(), args.token.clone());
        let mut http = target.clone().map(http1::Connection::new);
        let rate = args.rate;
        tasks.push(tokio::spawn(async move {
            let mut latencies: Vec<f64> = Vec::new();
            loop {
                if stop.load(Ordering::Relaxed) || deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                if count.is_some_and(|c| i * per_request >= c) {
                    break;
                }
                if let Some(r) = rate {
                    // Request i is due at i * per_request / rate seconds after the start.
                    let due = started + Duration::from_secs_f64((i * per_request) as f64 / r);
                    tokio::time::sleep_until(due.into()).await;
                }
                let payload = &pool[(i as usize) % pool.len()];
                tally.sent.fetch_add(per_request, Ordering::Relaxed);
                let t0 = Instant::now();
                let ok = match payload {
                    Payload::Grpc(body) => {
                        let mut client = grpc.clone().expect("grpc client for grpc payloads");
                        let mut request = tonic::Request::new(body.clone());
                        if let Ok(v) = format!("Bearer {token}").parse() {
                            request.metadata_mut().insert("authorization", v);
                        }
                        let path = axum::http::uri::PathAndQuery::from_static(EXPORT_PATH);
                        match client.ready().await {
                            Ok(()) => client.unary(request, path, BytesCodec).await.is_ok(),
                            Err(_) => false,
                        }
                    }
                    Payload::Http(body) => match &mut http {
                        Some(conn) => conn.post(body.clone()).await,
                        None => false,
                    },
                };
                latencies.push(t0.elapsed().as_secs_f64() * 1000.0);
                if ok {
                    tally.acked.fetch_add(per_request, Ordering::Relaxed);
                } else {
                    tally.rejected.fetch_add(per_request, Ordering::Relaxed);
                    tally.failed_requests.fetch_add(1, Ordering::Relaxed);
                }
            }
            latencies
        }));
    }

    let progress = {
        let (tally, stop) = (tally.clone(), stop.clone());
        let quiet = args.quiet;
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(500)).await;
                if quiet {
                    continue;
                }
                let secs = started.elapsed().as_secs_f64();
                let acked = tally.acked.load(Ordering::Relaxed);
                let total = count.map(|c| format!("/{c}")).unwrap_or_default();
                let width = 30usize;
                let filled = match count {
                    Some(c) if c > 0 => ((acked as f64 / c as f64) * width as f64) as usize,
                    _ => ((secs / args.duration.unwrap_or(1.0)) * width as f64) as usize,
                }
                .min(width);
                eprint!(
                    "\r[{}{}] {acked}{total} acked, {} rejected, {:.0} events/s   ",
                    "#".repeat(filled),
                    " ".repeat(width - filled),
                    tally.rejected.load(Ordering::Relaxed),
                    acked as f64 / secs.max(1e-9)
                );
            }
        })
    };

    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap_or_default());
    }
    let seconds = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let _ = progress.await;
    if !args.quiet {
        eprintln!();
    }
    latencies.sort_by(|a, b| a.total_cmp(b));
    let acked = tally.acked.load(Ordering::Relaxed);
    let report = Report {
        sent: tally.sent.load(Ordering::Relaxed),
        acked,
        rejected: tally.rejected.load(Ordering::Relaxed),
        events_per_s: acked as f64 / seconds.max(1e-9),
        p50_ms: percentile(&latencies, 0.50),
        p95_ms: percentile(&latencies, 0.95),
        p99_ms: percentile(&latencies, 0.99),
        seconds,
    };
    println!(
        "protocol {:?}, {} requests of {per_request} events, concurrency {}, {:.1} s",
        args.protocol,
        latencies.len(),
        args.concurrency,
        report.seconds
    );
    println!(
        "sent {}  acknowledged {}  rejected {} ({} failed requests)",
        report.sent,
        report.acked,
        report.rejected,
        tally.failed_requests.load(Ordering::Relaxed)
    );
    println!(
        "{:.0} events/s acknowledged; acknowledgement latency per request p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms",
        report.events_per_s, report.p50_ms, report.p95_ms, report.p99_ms
    );
    println!("{}", report.line());
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_proto::otlp::trace::v1::Span;

    #[test]
    fn requests_carry_the_asked_number_of_errors_and_spans() {
        let events = corpus();
        assert_eq!(events.len(), 300);
        let mut rng = Rng(7);
        let req = otlp_request(&mut rng, &events, 50, 2);
        let spans: Vec<&Span> = req
            .resource_spans
            .iter()
            .flat_map(|r| r.scope_spans.iter().flat_map(|s| s.spans.iter()))
            .collect();
        assert_eq!(spans.len(), 150);
        assert_eq!(spans.iter().filter(|s| !s.events.is_empty()).count(), 50);
        let view = faultline_collector::otlp_wire::TraceView::from_prost(&req);
        let extracted = faultline_collector::otlp::from_trace_view(&view, 0);
        assert_eq!(extracted.events.len(), 50, "every error is one occurrence");
        let requests: u64 = extracted.requests.iter().map(|r| r.requests).sum();
        assert_eq!(requests, 150, "every SERVER span is counted");
        let body: serde_json::Value =
            serde_json::from_slice(&webhook_body(&mut rng, &events)).expect("json");
        assert!(body["message"].is_string() && body["stack_trace"].is_string());
        let batch: Vec<serde_json::Value> =
            serde_json::from_slice(&webhook_batch_body(&mut rng, &events, 7)).expect("json");
        assert_eq!(batch.len(), 7);
        assert!(batch.iter().all(|b| b["message"].is_string()));
    }

    #[test]
    fn sentry_envelopes_are_gzipped_envelopes_of_one_mappable_event() {
        let events = corpus();
        let mut rng = Rng(7);
        let body = sentry_envelope(&mut rng, &events);
        let plain = faultline_collector::ingest::inflate(
            faultline_collector::ingest::Compression::Gzip,
            body.into(),
            1 << 20,
        )
        .expect("gzip");
        let (header, items) =
            faultline_collector::sentry::envelope::parse(&plain).expect("envelope");
        let items: Vec<_> = items.collect::<Result<_, _>>().expect("items");
        assert_eq!(items.len(), 1);
        let arena = faultline_collector::sentry::json::Json::arena_for(items[0].payload.len());
        let v = faultline_collector::sentry::json::Json::parse(items[0].payload, &arena)
            .expect("event");
        let ctx = faultline_collector::sentry::event::Context {
            source: faultline_collector::event::Source::SentryEnvelope,
            project: "p",
            event_id: header.event_id.as_deref(),
            traces: None,
        };
        let ev = faultline_collector::sentry::event::to_event(&v, ctx).expect("maps");
        assert!(!ev.exception_type.is_empty() && !ev.frames.is_empty());
    }

    #[test]
    fn percentiles_and_the_last_line() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 51.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        let r = Report {
            sent: 10,
            acked: 9,
            rejected: 1,
            events_per_s: 1234.4,
            p50_ms: 1.0,
            p95_ms: 2.0,
            p99_ms: 3.0,
            seconds: 1.0,
        };
        assert_eq!(
            r.line(),
            "loadgen: sent=10 acked=9 rejected=1 events_per_s=1234 p50_ms=1.00 p95_ms=2.00 p99_ms=3.00"
        );
    }
}
