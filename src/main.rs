//! `faultline`: self-hosted error monitoring on OpenTelemetry and ClickHouse.

use std::collections::HashMap;

use anyhow::Context;
use clap::{Parser, Subcommand};
use faultline::config::Config;
use faultline::serve::{self, Roles};

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
    Migrate,
    /// Read corpus-format JSON lines on stdin, write `{"id", "fingerprint"}` lines.
    Fingerprint,
}

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Fingerprint = cli.command {
        let stdin = std::io::stdin().lock();
        let stdout = std::io::BufWriter::new(std::io::stdout().lock());
        faultline::fingerprint_cmd::run(stdin, stdout)?;
        return Ok(());
    }
    let env: HashMap<String, String> = std::env::vars().collect();
    let cfg = Config::load(&env).context("configuration")?;
    init_logging(&cfg.log_format);
    match cli.command {
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
        Command::Migrate => {
            anyhow::ensure!(
                !cfg.clickhouse_url.is_empty(),
                "migrate needs FAULTLINE_CLICKHOUSE_URL (serve migrates the embedded server itself)"
            );
            let store = faultline_store::Store::new(&faultline_store::StoreConfig {
                url: cfg.clickhouse_url.clone(),
                database: cfg.clickhouse_database.clone(),
                user: cfg.clickhouse_user.clone(),
                password: cfg.clickhouse_password.clone(),
            });
            store
                .wait_until_up(std::time::Duration::from_secs(30))
                .await?;
            let applied = store.migrate().await?;
            println!("migrations applied: {applied:?}");
            Ok(())
        }
        Command::Fingerprint => Ok(()),
    }
}
