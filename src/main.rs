//! `faultline`: self-hosted error monitoring on OpenTelemetry and ClickHouse.

use std::collections::HashMap;

use anyhow::Context;
use clap::{Parser, Subcommand};
use faultline::config::Config;
use faultline::serve::{self, Roles};

/// mimalloc: small allocations freed on another thread than the one that made them (a request
/// body read on the runtime, dropped on an ingest thread) cost glibc's malloc most of its time
/// (`bench/RESULTS.md`, 2026-12-06).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "faultline",
    version,
    about = "Self-hosted error monitoring on OpenTelemetry and ClickHouse"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run everything: OTLP gRPC and HTTP, the webhook, and the API (the default deployment).
    Serve,
    /// Run only the ingest listeners (OTLP gRPC, OTLP HTTP, webhook).
    Collector,
    /// Run only the REST API.
    Query,
    /// Apply schema migrations to ClickHouse and exit.
    Migrate {
        /// Move a single-server installation (on the node of FAULTLINE_CLICKHOUSE_URL) onto the
        /// cluster of FAULTLINE_CLICKHOUSE_CLUSTER: stop the collectors first (README, "On a
        /// ClickHouse cluster").
        #[arg(long)]
        cluster_convert: bool,
    },
    /// Read corpus-format JSON lines on stdin, write `{"id", "fingerprint"}` lines.
    Fingerprint {
        /// Score lines carrying their true `group` (B-cubed, per `lang` and overall) on stderr.
        #[arg(long)]
        score: bool,
        /// Instead of JSON lines, show for each event which exception and frames counted and
        /// why (in-app or not, composition, recursion repeats), as text.
        #[arg(long)]
        explain: bool,
    },
    /// Send realistic errors (the grouping corpus) to a Faultline and report events/s and
    /// acknowledgement latency; the last line is machine-readable.
    Loadgen(faultline::loadgen::Args),
    /// For cron and CI: exit non-zero when Faultline is not ready, or a project had too many
    /// errors lately.
    #[command(subcommand)]
    Check(faultline::check::Check),
}

/// Logs to stderr (JSON or text); with `OTEL_EXPORTER_OTLP_ENDPOINT` set, Faultline's own spans
/// also go there over OTLP/gRPC. Returns the tracer provider to flush at exit.
fn init_logging(
    format: &str,
    env: &HashMap<String, String>,
) -> Option<opentelemetry_sdk::trace::SdkTracerProvider> {
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::WithExportConfig;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let mut provider = None;
    let otel = env
        .get("OTEL_EXPORTER_OTLP_ENDPOINT")
        .filter(|e| !e.trim().is_empty())
        .and_then(|endpoint| {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint.trim())
                .build()
                .map_err(|e| eprintln!("faultline: cannot export traces to {endpoint}: {e}"))
                .ok()?;
            let service = env
                .get("OTEL_SERVICE_NAME")
                .cloned()
                .unwrap_or_else(|| "faultline".into());
            let p = opentelemetry_sdk::trace::SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(
                    opentelemetry_sdk::Resource::builder()
                        .with_service_name(service)
                        .build(),
                )
                .build();
            let tracer = p.tracer("faultline");
            provider = Some(p);
            Some(tracing_opentelemetry::layer().with_tracer(tracer))
        });
    let registry = tracing_subscriber::registry().with(filter).with(otel);
    if format == "json" {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(std::io::stderr),
            )
            .init();
    } else {
        registry
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
            .init();
    }
    provider
}

async fn run_server(cfg: Config, roles: Roles) -> anyhow::Result<()> {
    let running = serve::start(cfg.clone(), roles).await?;
    println!("{}", serve::banner(&running, &cfg));
    let token = running.shutdown_token();
    tokio::spawn(async move {
        wait_signal().await;
        tracing::info!("signal received: shutting down (send again to exit at once)");
        token.cancel();
        wait_signal().await;
        tracing::warn!("second signal: exiting now");
        std::process::exit(130);
    });
    running.wait().await;
    Ok(())
}

async fn wait_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// glibc's heap, tuned for a server that handles megabyte-sized requests. The settings are read
/// from the environment when the process starts, so a long-running command re-executes itself
/// once with them, unless `MALLOC_ARENA_MAX` is already set (by the operator, or by the first
/// execution); each of the three is left alone when the operator set it.
///
/// - `MALLOC_ARENA_MAX` = cores: glibc gives each thread that contends for the heap an arena of
///   its own (up to eight per core) and keeps what is freed in each: with ingest's blocking
///   threads that held peak RSS about half again above what the process uses (`bench/ingest.sh`,
///   OTLP/JSON: 289 → 190 MB; gRPC: 230 → 145 MB, same CPU).
/// - `MALLOC_MMAP_THRESHOLD_` = 32 MiB, `MALLOC_TRIM_THRESHOLD_` = 64 MiB: a request's buffers
///   (its body, the spool record: a few MB each) come from the heap and go back to it, instead of
///   fresh `mmap`s whose every page faults in zeroed on first touch. Minor page faults per
///   1000-event request: OTLP/JSON 351 → 157, gRPC 184–319 → 117–149; Faultline's CPU per event
///   about 8 % lower; peak RSS unchanged (138–157 MB in 200k-event runs).
fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;
        if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
            return;
        }
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
        let mut cmd = std::process::Command::new(exe);
        cmd.args(std::env::args_os().skip(1))
            .env("MALLOC_ARENA_MAX", cores.to_string());
        for (var, value) in [
            ("MALLOC_MMAP_THRESHOLD_", 32usize << 20),
            ("MALLOC_TRIM_THRESHOLD_", 64 << 20),
        ] {
            if std::env::var_os(var).is_none() {
                cmd.env(var, value.to_string());
            }
        }
        let err = cmd.exec();
        eprintln!("faultline: cannot re-execute with glibc heap settings ({err}); going on");
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if matches!(
        cli.command,
        Command::Serve | Command::Collector | Command::Query
    ) {
        tune_malloc();
    }
    // The load generator runs on one thread: on a machine it shares with the Faultline and the
    // ClickHouse it measures, it takes as little of their CPU as it can (one thread drives 256
    // connections at 40k requests/s with a quarter of a core; a second worker thread only added
    // cross-thread wake-ups: bench/RESULTS.md).
    let mut runtime = match cli.command {
        Command::Loadgen(_) => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    runtime.enable_all().build()?.block_on(start(cli))
}

async fn start(cli: Cli) -> anyhow::Result<()> {
    if let Command::Loadgen(args) = cli.command {
        if args.print_sentry_events {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            for line in faultline::loadgen::corpus_events() {
                if writeln!(out, "{line}").is_err() {
                    break; // a closed pipe (`| head`) is not an error
                }
            }
            return Ok(());
        }
        let report = faultline::loadgen::run(args).await?;
        if report.acked == 0 {
            anyhow::bail!("nothing was acknowledged");
        }
        return Ok(());
    }
    if let Command::Check(check) = &cli.command {
        // Needs no configuration: it asks a running Faultline.
        let verdict = faultline::check::run(check).await;
        println!("{}", verdict.text);
        std::process::exit(verdict.code);
    }
    let env: HashMap<String, String> = std::env::vars().collect();
    let cfg = Config::load(&env).context("configuration")?;
    if let Command::Fingerprint { score, explain } = cli.command {
        let stdin = std::io::stdin().lock();
        let stdout = std::io::BufWriter::new(std::io::stdout().lock());
        let mode = if explain {
            faultline::fingerprint_cmd::Output::Explain
        } else {
            faultline::fingerprint_cmd::Output::Json
        };
        let (_, labelled) = faultline::fingerprint_cmd::run(stdin, stdout, &cfg.grouping, mode)?;
        if score {
            faultline::fingerprint_cmd::score(&labelled, std::io::stderr().lock())?;
        }
        return Ok(());
    }
    let tracer = init_logging(&cfg.log_format, &env);
    let result = run(cli.command, cfg).await;
    if let Some(t) = tracer {
        let _ = t.shutdown();
    }
    result
}

async fn run(command: Command, cfg: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => run_server(cfg, Roles::ALL).await,
        Command::Collector => {
            run_server(
                cfg,
                Roles {
                    ingest: true,
                    api: false,
                },
            )
            .await
        }
        Command::Query => {
            run_server(
                cfg,
                Roles {
                    ingest: false,
                    api: true,
                },
            )
            .await
        }
        Command::Migrate { cluster_convert } => {
            anyhow::ensure!(
                !cfg.clickhouse_url.is_empty(),
                "migrate needs FAULTLINE_CLICKHOUSE_URL (serve migrates the embedded server itself)"
            );
            let store = faultline_store::Store::new(&cfg.store_config(&cfg.clickhouse_url));
            store
                .wait_until_up(std::time::Duration::from_secs(30))
                .await?;
            if cluster_convert {
                let moved = store.convert_to_cluster().await?;
                println!(
                    "moved onto cluster {}: {} occurrences; partitions per table: {:?}",
                    cfg.clickhouse_cluster, moved.occurrences, moved.tables
                );
                return Ok(());
            }
            let applied = store.migrate().await?;
            println!("migrations applied: {applied:?}");
            Ok(())
        }
        Command::Fingerprint { .. } | Command::Loadgen(_) | Command::Check(_) => Ok(()),
    }
}
