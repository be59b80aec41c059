//! `faultline serve`: every listener in one process, and the order things start and stop in.
//!
//! Start: (embedded ClickHouse if no URL) → listeners bound (live = 200, ready = 503) → migrations
//! in the background, retried until ClickHouse answers → ready = 200.
//! Stop (first SIGTERM/SIGINT, or [`Running::shutdown`]): ready = 503 → listeners stop accepting and
//! finish in-flight requests → the writer flushes what was accepted (under a timeout) → the embedded
//! ClickHouse stops. A second signal exits at once (handled in `main`).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::routing::get;
use axum::serve::ListenerExt;
use faultline_collector::limits::{FieldLimits, RateLimits};
use faultline_collector::scrub::Scrubber;
use faultline_collector::{Auth, Ingest, Limits, Policy};
use faultline_health::{
    DiskSpace, FnCheck, Health, HttpMetrics, Outcome, ProcessMemory, Readiness, RequestLayer,
};
use faultline_store::embedded::EmbeddedClickHouse;
use faultline_store::writer::{Writer, WriterConfig};
use faultline_store::{Store, StoreConfig};
use tokio::net::TcpListener;
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

fn store_config(cfg: &Config, url: &str) -> StoreConfig {
    StoreConfig {
        url: url.to_string(),
        database: cfg.clickhouse_database.clone(),
        user: cfg.clickhouse_user.clone(),
        password: cfg.clickhouse_password.clone(),
    }
}

/// Starts every part named by `roles`.
pub async fn start(cfg: Config, roles: Roles) -> anyhow::Result<Running> {
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
    let store = Store::new(&store_config(&cfg, &url));
    let auth = Auth::parse(&cfg.projects).map_err(anyhow::Error::msg)?;
    if auth.is_dev_mode() && roles.ingest {
        tracing::warn!(
            "FAULTLINE_PROJECTS is not set: development mode, every occurrence goes to project `default` without authentication"
        );
    }

    let shutdown = CancellationToken::new();
    let readiness = Readiness::default();
    let migrated = CancellationToken::new();
    tokio::spawn(migrate_until_done(
        store.clone(),
        readiness.clone(),
        migrated.clone(),
        shutdown.clone(),
    ));

    let writer_stop = CancellationToken::new();
    let (writer, writer_task) = Writer::spawn(
        store.clone(),
        WriterConfig {
            max_rows: cfg.batch_max_rows,
            max_age: Duration::from_millis(cfg.batch_max_age_ms),
            spool_max_bytes: cfg.spool_max_bytes,
            ..WriterConfig::new(cfg.data_dir.join("spool"))
        },
        writer_stop.clone(),
    )
    .with_context(|| {
        format!(
            "opening the spool in {}",
            cfg.data_dir.join("spool").display()
        )
    })?;
    let list = |s: &str| -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(String::from)
            .collect()
    };
    let ingest = Ingest::new(
        writer,
        auth,
        Limits {
            max_body_bytes: cfg.max_body_bytes,
            max_decompressed_bytes: cfg.max_decompressed_bytes,
            jobs: cfg.ingest_jobs,
        },
        cfg.grouping.clone(),
        Policy {
            fields: FieldLimits {
                max_attributes: cfg.max_attributes,
                max_message_bytes: cfg.max_message_bytes,
                max_stacktrace_bytes: cfg.max_stacktrace_bytes,
            },
            rates: RateLimits::parse(&cfg.rate_limits).map_err(anyhow::Error::msg)?,
            scrub: Scrubber::new(
                cfg.scrub_pii,
                cfg.anonymize_ip,
                &list(&cfg.scrub_extra_fields),
                &list(&cfg.scrub_safe_fields),
            ),
            scrub_by_project: cfg
                .scrubbing
                .iter()
                .map(|(project, o)| {
                    let mut extra = list(&cfg.scrub_extra_fields);
                    extra.extend(o.extra_fields.iter().cloned());
                    let mut safe = list(&cfg.scrub_safe_fields);
                    safe.extend(o.safe_fields.iter().cloned());
                    (
                        project.clone(),
                        Scrubber::new(cfg.scrub_pii, cfg.anonymize_ip, &extra, &safe),
                    )
                })
                .collect(),
        },
    );

    let health = health_probes(&cfg, &store, &ingest, readiness.clone());
    let http_metrics = HttpMetrics::default();
    let metrics_ingest = ingest.clone();
    let metrics_http = http_metrics.clone();
    let db_store = store.clone();
    let common = health
        .router()
        .route(
            "/health/db",
            get(move || {
                let s = db_store.clone();
                async move { health_db(&s).await }
            }),
        )
        .route(
            "/metrics",
            get(move || {
                let (i, h) = (metrics_ingest.clone(), metrics_http.clone());
                async move { crate::metrics::render(&i, &h) }
            }),
        );
    let request_layer = RequestLayer::new(Duration::from_millis(cfg.slow_request_ms), http_metrics);

    // Listeners stop accepting only after the drain period that follows the shutdown signal.
    let stop_accepting = CancellationToken::new();
    let mut servers: Vec<JoinHandle<()>> = Vec::new();
    let mut serve = |name: &'static str, listener: TcpListener, app: Router| {
        let token = stop_accepting.clone();
        let app = app.layer(request_layer.clone());
        servers.push(tokio::spawn(async move {
            // No Nagle delay: a small acknowledgement must not wait for the client's delayed ACK.
            let listener = listener.tap_io(|tcp| {
                if let Err(e) = tcp.set_nodelay(true) {
                    tracing::debug!(error = %e, "cannot set TCP_NODELAY");
                }
            });
            let r = axum::serve(listener, app)
                .with_graceful_shutdown(token.cancelled_owned())
                .await;
            if let Err(e) = r {
                tracing::error!(listener = name, error = %e, "listener failed");
            }
        }));
    };
    let bind = |addr: String, what: &'static str| async move {
        TcpListener::bind(&addr)
            .await
            .with_context(|| format!("cannot listen on {addr} ({what})"))
    };

    let (mut grpc_addr, mut http_addr, mut api_addr) = (None, None, None);
    if roles.ingest {
        let grpc = faultline_collector::grpc::OtlpGrpc::new(ingest.clone());
        let grpc_app = tonic::service::Routes::new(grpc.trace_server())
            .add_service(grpc.logs_server())
            .into_axum_router()
            .layer(axum::middleware::map_response(
                |r: axum::response::Response| async move {
                    faultline_collector::grpc::decode_errors_are_invalid_argument(r)
                },
            ))
            .merge(common.clone());
        let l = bind(cfg.otlp_grpc_addr.clone(), "OTLP gRPC").await?;
        grpc_addr = Some(l.local_addr()?);
        serve("otlp_grpc", l, grpc_app);
        let http_app = faultline_collector::http::router(ingest.clone()).merge(common.clone());
        let l = bind(cfg.http_addr.clone(), "OTLP HTTP and webhook").await?;
        http_addr = Some(l.local_addr()?);
        serve("http", l, http_app);
    }
    if roles.api {
        let api = faultline_query::Api::new(store.clone(), cfg.api_key_list());
        let l = bind(cfg.api_addr.clone(), "API").await?;
        api_addr = Some(l.local_addr()?);
        serve("api", l, api.router().merge(common.clone()));
    }

    let drain = Duration::from_secs(cfg.shutdown_drain_secs);
    let grace = Duration::from_secs(cfg.shutdown_timeout_secs);
    let token = shutdown.clone();
    let ready = readiness.clone();
    let spool = ingest.writer().spool().clone();
    let spool_handle = spool.clone();
    let done = tokio::spawn(async move {
        token.cancelled().await;
        ready.set(false);
        tracing::info!(
            drain_secs = drain.as_secs(),
            "shutting down: readiness is 503; still serving while traffic drains"
        );
        tokio::time::sleep(drain).await;
        tracing::info!("closing listeners; finishing requests in flight");
        stop_accepting.cancel();
        let listeners = futures_join(servers);
        if tokio::time::timeout(grace, listeners).await.is_err() {
            tracing::warn!("listeners did not finish within the shutdown timeout");
        }
        // Give the drainer the shutdown timeout to empty the spool; whatever is left stays on
        // disk and is inserted at the next start (it was acknowledged, so it is not lost).
        let deadline = tokio::time::Instant::now() + grace;
        while spool.oldest_age_ms().is_some() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        writer_stop.cancel();
        if tokio::time::timeout(Duration::from_secs(5), writer_task)
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
        if let Some(ch) = embedded {
            ch.stop(Duration::from_secs(15)).await;
            tracing::info!("embedded ClickHouse stopped");
        }
        tracing::info!("stopped");
    });

    Ok(Running {
        grpc_addr,
        http_addr,
        api_addr,
        clickhouse_url: url,
        embedded: cfg.clickhouse_url.is_empty(),
        readiness,
        spool: roles.ingest.then(|| spool_handle.clone()),
        shutdown,
        done,
    })
}

/// The probes: ClickHouse (readiness depends on it only once the spool cannot absorb more), disk
/// under the data directory, process memory, and the spool (bytes, age of the oldest record).
fn health_probes(cfg: &Config, store: &Store, ingest: &Ingest, readiness: Readiness) -> Health {
    let ch = store.clone();
    let spool = ingest.writer().spool().clone();
    let clickhouse = FnCheck::critical("clickhouse", move || {
        let s = ch.clone();
        let spool = spool.clone();
        async move {
            match s.ping(Duration::from_secs(2)).await {
                Ok(info) => Outcome::ok_with(format!("ClickHouse {}", info.version)),
                // Accepting still works while the spool has room: degraded, not down, so
                // readiness stays 200 and clients keep sending.
                Err(e) if spool.bytes() * 10 < spool.max_bytes() * 9 => Outcome::degraded(format!(
                    "{e}; spooling to disk ({} of {} bytes)",
                    spool.bytes(),
                    spool.max_bytes()
                )),
                Err(e) => Outcome::down(format!("{e}; spool full")),
            }
        }
    });
    let sp = ingest.writer().spool().clone();
    let queue = FnCheck::informational("spool", move || {
        let (bytes, max, age) = (sp.bytes(), sp.max_bytes(), sp.oldest_age_ms());
        async move {
            let text = format!(
                "{bytes} of {max} bytes; oldest record {}",
                age.map_or("none".into(), |a| format!("{} s old", a / 1000))
            );
            if bytes * 10 >= max * 8 || age.is_some_and(|a| a > 60_000) {
                Outcome::degraded(text)
            } else {
                Outcome::ok_with(text)
            }
        }
    });
    Health::new(
        readiness,
        vec![
            Box::new(clickhouse),
            Box::new(DiskSpace::new(cfg.data_dir.clone(), 1 << 30)),
            Box::new(ProcessMemory::new(0)),
            Box::new(queue),
        ],
        Duration::from_secs(3),
    )
    .describe(env!("CARGO_PKG_VERSION"), &cfg.environment)
}

/// `GET /health/db`: ClickHouse version, round trip, uptime, and whether Faultline's tables exist.
async fn health_db(store: &Store) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    let t0 = std::time::Instant::now();
    let ping = store.ping(Duration::from_secs(2)).await;
    let latency_ms = t0.elapsed().as_secs_f64() * 1000.0;
    match ping {
        Ok(info) => {
            let tables = store.tables_exist().await.unwrap_or(false);
            let body = serde_json::json!({
                "status": if tables { "ok" } else { "degraded" },
                "server_version": info.version,
                "latency_ms": (latency_ms * 1000.0).round() / 1000.0,
                "uptime_seconds": info.uptime_seconds,
                "database": store.database(),
                "tables_exist": tables,
            });
            (StatusCode::OK, axum::Json(body)).into_response()
        }
        Err(e) => {
            let body = serde_json::json!({"status": "down", "database": store.database(), "error": e.to_string()});
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
        }
    }
}

async fn futures_join(handles: Vec<JoinHandle<()>>) {
    for h in handles {
        let _ = h.await;
    }
}

async fn migrate_until_done(
    store: Store,
    readiness: Readiness,
    migrated: CancellationToken,
    shutdown: CancellationToken,
) {
    let mut delay = Duration::from_millis(200);
    loop {
        if shutdown.is_cancelled() {
            return;
        }
        match store.migrate().await {
            Ok(applied) => {
                tracing::info!(applied = ?applied, database = store.database(), "schema is up to date");
                migrated.cancel();
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

/// Where to send things, for people.
pub fn banner(r: &Running, cfg: &Config) -> String {
    let data_dir = &cfg.data_dir;
    let host = |a: Option<SocketAddr>| {
        a.map(|a| {
            let ip = if a.ip().is_unspecified() {
                "localhost".to_string()
            } else {
                a.ip().to_string()
            };
            format!("http://{ip}:{}", a.port())
        })
    };
    let mut out = format!("Faultline {} is running.\n", env!("CARGO_PKG_VERSION"));
    if let Some(g) = host(r.grpc_addr) {
        out.push_str(&format!(
            "  OTLP gRPC:   {g}   (OTEL_EXPORTER_OTLP_ENDPOINT={g}, protocol grpc)\n"
        ));
    }
    if let Some(h) = host(r.http_addr) {
        out.push_str(&format!(
            "  OTLP HTTP:   {h}   ({h}/v1/traces, {h}/v1/logs)\n"
        ));
        let auth = Auth::parse(&cfg.projects).unwrap_or_default();
        if auth.is_dev_mode() {
            out.push_str(&format!("  Webhook:     {h}/webhook/error/dev   (development mode: any token, project `default`)\n"));
        } else {
            for p in auth.project_names() {
                out.push_str(&format!(
                    "  Webhook:     {h}/webhook/error/<token of {p}>\n"
                ));
            }
        }
    }
    if let Some(a) = host(r.api_addr) {
        out.push_str(&format!("  API:         {a}/api/v1/errors\n"));
        out.push_str(&format!(
            "  Health:      {a}/health/ready   Metrics: {a}/metrics\n"
        ));
    }
    if r.embedded {
        out.push_str(&format!(
            "  ClickHouse:  {} (embedded, data in {})\n",
            r.clickhouse_url,
            data_dir.join("clickhouse").display()
        ));
    } else {
        out.push_str(&format!("  ClickHouse:  {}\n", r.clickhouse_url));
    }
    out
}
