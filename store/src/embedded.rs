//! The embedded default: with no ClickHouse URL configured, `faultline serve` starts a local
//! `clickhouse-server` as a child process, with its data under the data directory, and stops it on
//! exit. The server configuration is `deploy/clickhouse/config.xml`, the same file
//! `scripts/clickhouse.sh` uses.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::StoreError;

const CONFIG_TEMPLATE: &str = include_str!("../../deploy/clickhouse/config.xml");

/// A running local ClickHouse server owned by this process.
#[derive(Debug)]
pub struct EmbeddedClickHouse {
    child: tokio::process::Child,
    url: String,
    tcp_port: u16,
    dir: PathBuf,
}

fn find_server() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("clickhouse-server"))
                .collect()
        })
        .unwrap_or_default();
    candidates.push("/usr/sbin/clickhouse-server".into());
    candidates.push("/usr/bin/clickhouse-server".into());
    candidates.into_iter().find(|p| p.is_file())
}

/// Two distinct free ports: both listeners are held until both are known, so the second bind
/// cannot hand back the first port.
fn free_ports() -> Result<(u16, u16), StoreError> {
    let bind = || TcpListener::bind("127.0.0.1:0").map_err(|e| StoreError::Local(e.to_string()));
    let (a, b) = (bind()?, bind()?);
    let port = |l: &TcpListener| {
        l.local_addr()
            .map(|a| a.port())
            .map_err(|e| StoreError::Local(e.to_string()))
    };
    Ok((port(&a)?, port(&b)?))
}

/// Fills the configuration template.
pub fn render_config(dir: &Path, http_port: u16, tcp_port: u16) -> String {
    CONFIG_TEMPLATE
        .replace("@DATA_DIR@", &dir.display().to_string())
        .replace("@HTTP_PORT@", &http_port.to_string())
        .replace("@TCP_PORT@", &tcp_port.to_string())
}

impl EmbeddedClickHouse {
    /// Starts `clickhouse-server` with its data in `data_dir/clickhouse` on free ports and waits
    /// until it answers.
    pub async fn start(data_dir: &Path) -> Result<Self, StoreError> {
        Self::start_on(data_dir, None).await
    }

    /// Like [`start`](Self::start), on the given `(http, tcp)` ports when `ports` is set (a server
    /// restarted on the same ports keeps its URL).
    pub async fn start_on(data_dir: &Path, ports: Option<(u16, u16)>) -> Result<Self, StoreError> {
        let server = find_server().ok_or_else(|| {
            StoreError::Local(
                "clickhouse-server is not installed: run `scripts/clickhouse.sh install`, \
                 or set FAULTLINE_CLICKHOUSE_URL to an existing server"
                    .into(),
            )
        })?;
        let dir = std::path::absolute(data_dir.join("clickhouse"))
            .map_err(|e| StoreError::Local(format!("data directory: {e}")))?;
        for sub in ["log", "tmp", "user_files", "format_schemas"] {
            std::fs::create_dir_all(dir.join(sub)).map_err(|e| {
                StoreError::Local(format!("cannot create {}: {e}", dir.join(sub).display()))
            })?;
        }
        stop_stale(&dir).await;
        let (http_port, tcp_port) = match ports {
            Some(p) => p,
            None => free_ports()?,
        };
        let config = dir.join("config.xml");
        std::fs::write(&config, render_config(&dir, http_port, tcp_port))
            .map_err(|e| StoreError::Local(format!("cannot write {}: {e}", config.display())))?;
        let out = std::fs::File::create(dir.join("log/stdout.log"))
            .map_err(|e| StoreError::Local(e.to_string()))?;
        let err = out
            .try_clone()
            .map_err(|e| StoreError::Local(e.to_string()))?;
        let child = tokio::process::Command::new(&server)
            .arg(format!("--config-file={}", config.display()))
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| StoreError::Local(format!("cannot start {}: {e}", server.display())))?;
        // Written here: 18.16 honours --pid-file only when it daemonizes. A later start uses it
        // to stop a server its crashed owner left behind (`stop_stale`).
        if let Some(pid) = child.id() {
            let _ = std::fs::write(dir.join("clickhouse.pid"), pid.to_string());
        }
        let url = format!("http://127.0.0.1:{http_port}");
        let mut me = EmbeddedClickHouse {
            child,
            url,
            tcp_port,
            dir,
        };
        me.wait_ready(Duration::from_secs(60)).await?;
        Ok(me)
    }

    async fn wait_ready(&mut self, total: Duration) -> Result<(), StoreError> {
        let probe = crate::Store::new(&crate::StoreConfig {
            url: self.url.clone(),
            database: "default".into(),
            user: String::new(),
            password: String::new(),
            cluster: None,
        });
        let deadline = tokio::time::Instant::now() + total;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(StoreError::Local(format!(
                    "clickhouse-server exited with {status}; see {}",
                    self.dir.join("log").display()
                )));
            }
            if probe.ping(Duration::from_secs(1)).await.is_ok() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(StoreError::Local(format!(
                    "clickhouse-server did not answer within {} s; see {}",
                    total.as_secs(),
                    self.dir.join("log").display()
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// `(http, tcp)` ports of the server.
    pub fn ports(&self) -> (u16, u16) {
        let http = self
            .url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        (http, self.tcp_port)
    }

    /// HTTP URL of the server.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Stops the server: SIGTERM, then SIGKILL after `grace`.
    pub async fn stop(mut self, grace: Duration) {
        if let Some(pid) = self.child.id() {
            let _ = tokio::process::Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status()
                .await;
            if tokio::time::timeout(grace, self.child.wait())
                .await
                .is_err()
            {
                let _ = self.child.kill().await;
            }
        } else {
            let _ = self.child.kill().await;
        }
        let _ = std::fs::remove_file(self.dir.join("clickhouse.pid"));
    }
}

/// A server left running by a previous process that died without stopping it would hold the data
/// directory's lock; stop it.
async fn stop_stale(dir: &Path) {
    let Ok(pid) = std::fs::read_to_string(dir.join("clickhouse.pid")) else {
        return;
    };
    let pid = pid.trim();
    let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    // Only a server started on this very config file: a reused pid is left alone.
    if !cmdline.contains(&*dir.join("config.xml").to_string_lossy()) {
        return;
    }
    tracing::warn!(
        pid,
        "stopping a clickhouse-server left running on this data directory"
    );
    let _ = tokio::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid)
        .status()
        .await;
    for _ in 0..100 {
        if !Path::new(&format!("/proc/{pid}")).exists() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
