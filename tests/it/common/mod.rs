//! Shared set-up of the end-to-end tests: a real `faultline serve` on port 0 against the test
//! ClickHouse, on a fresh database.

#![allow(dead_code)]

use std::time::Duration;

use faultline::config::Config;
use faultline::serve::{self, Roles, Running};
use faultline_store::{Store, testing};

pub struct Server {
    pub running: Running,
    pub store: Store,
    pub http: String,
    pub grpc: String,
    pub api: String,
}

pub fn test_config(projects: &str) -> (Config, faultline_store::StoreConfig) {
    let sc = testing::config("e2e");
    let cfg = Config {
        clickhouse_url: sc.url.clone(),
        clickhouse_database: sc.database.clone(),
        projects: projects.parse().expect("valid projects"),
        otlp_grpc_addr: "127.0.0.1:0".into(),
        http_addr: "127.0.0.1:0".into(),
        api_addr: "127.0.0.1:0".into(),
        batch_max_age_ms: 50,
        // Each test its own data directory (and so its own spool), named after its database.
        data_dir: std::env::temp_dir().join(format!("faultline-{}", sc.database)),
        ..Config::default()
    };
    (cfg, sc)
}

pub async fn start_with(cfg: Config, sc: &faultline_store::StoreConfig) -> Server {
    let running = serve::start(cfg, Roles::ALL).await.expect("server starts");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !running.readiness.get() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "server did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let url = |a: Option<std::net::SocketAddr>| format!("http://{}", a.expect("listener bound"));
    Server {
        http: url(running.http_addr),
        grpc: url(running.grpc_addr),
        api: url(running.api_addr),
        running,
        store: Store::new(sc),
    }
}

pub async fn start(projects: &str) -> Server {
    let (cfg, sc) = test_config(projects);
    start_with(cfg, &sc).await
}

/// Polls until `project` has `n` occurrences (or fails after 20 s).
/// Waits until `n` occurrences of `project` are in ClickHouse and the spool has nothing left to
/// insert. (An acknowledgement means "on disk"; and ClickHouse 18.16 shows a table's new part
/// before its materialized views have theirs, so the count alone does not mean the rollups are
/// complete. The spool is confirmed only after the whole insert, views included, returned.)
pub async fn wait_count(s: &Server, project: &str, n: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let c = s.store.count_occurrences(project).await.expect("count");
        let drained = s
            .running
            .spool
            .as_ref()
            .is_none_or(|sp| sp.oldest_age_ms().is_none());
        if c >= n && drained {
            assert_eq!(c, n, "more occurrences than sent");
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {c} of {n} occurrences arrived in {project} (spool drained: {drained})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The server's `/metrics` text.
pub async fn metrics(s: &Server) -> String {
    reqwest::get(format!("{}/metrics", s.api))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text")
}

/// The value of the unlabelled series `name` in the server's `/metrics` (`None` when absent).
pub async fn metric(s: &Server, name: &str) -> Option<u64> {
    let text = metrics(s).await;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

/// `GET {path}` on the server's API (`/api/v1/…`, with its query), answered as JSON.
pub async fn api_json(s: &Server, path: &str) -> serde_json::Value {
    reqwest::get(format!("{}{path}", s.api))
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: not JSON: {e}"))
}

/// `GET /api/v1/errors?{query}`: the issue list as JSON.
pub async fn issues(s: &Server, query: &str) -> serde_json::Value {
    api_json(s, &format!("/api/v1/errors?{query}")).await
}
