//! Probes, request middleware and shutdown, for real: the server in-process against a ClickHouse it
//! can stop and restart, and the `faultline` binary as a child process for logs and signals.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use faultline_store::embedded::EmbeddedClickHouse;

async fn status(url: &str) -> u16 {
    match reqwest::Client::new()
        .get(url)
        .timeout(Duration::from_secs(10))
        .send()
        .await
    {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    }
}

async fn wait_status(url: &str, want: u16, secs: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let got = status(url).await;
        if got == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{url}: wanted {want}, still {got}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_clickhouse_and_liveness_does_not() {
    let dir = std::env::temp_dir().join(format!("faultline-health-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let ch = EmbeddedClickHouse::start(&dir)
        .await
        .expect("own ClickHouse starts");
    let ports = ch.ports();
    let (mut cfg, mut sc) = crate::common::test_config("");
    cfg.clickhouse_url = ch.url().to_string();
    sc.url = ch.url().to_string();
    let s = crate::common::start_with(cfg, &sc).await;
    for base in [&s.api, &s.http, &s.grpc] {
        assert_eq!(status(&format!("{base}/health/ready")).await, 200, "{base}");
        assert_eq!(status(&format!("{base}/ready")).await, 200, "{base}");
        assert_eq!(status(&format!("{base}/health/live")).await, 200, "{base}");
    }
    let report: serde_json::Value = reqwest::get(format!("{}/health", s.api))
        .await
        .expect("health")
        .json()
        .await
        .expect("json");
    assert_eq!(report["checks"]["clickhouse"]["status"], "ok", "{report}");
    for check in ["disk", "memory", "spool"] {
        assert!(
            report["checks"][check]["status"].is_string(),
            "{check} missing: {report}"
        );
    }
    assert!(
        report["uptime_seconds"].is_u64()
            && report["version"].is_string()
            && report["timestamp"].is_string()
    );
    let db: serde_json::Value = reqwest::get(format!("{}/health/db", s.api))
        .await
        .expect("db")
        .json()
        .await
        .expect("json");
    assert_eq!(db["tables_exist"], true, "{db}");
    assert!(db["server_version"].as_str().is_some_and(|v| !v.is_empty()));

    ch.stop(Duration::from_secs(15)).await;
    assert_eq!(
        status(&format!("{}/health/live", s.api)).await,
        200,
        "live never depends on ClickHouse"
    );
    // ClickHouse down, but the spool can absorb: degraded, still ready (clients keep sending and
    // are acknowledged from disk).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let report = loop {
        let resp = reqwest::get(format!("{}/health", s.api))
            .await
            .expect("health");
        let code = resp.status().as_u16();
        let report: serde_json::Value = resp.json().await.expect("json");
        if report["checks"]["clickhouse"]["status"] == "degraded" {
            assert_eq!(code, 200, "{report}");
            break report;
        }
        assert!(tokio::time::Instant::now() < deadline, "{report}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(report["status"], "degraded");
    assert_eq!(status(&format!("{}/health/ready", s.api)).await, 200);
    assert!(
        report["checks"]["clickhouse"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    assert_eq!(status(&format!("{}/health/db", s.api)).await, 503);

    let ch = EmbeddedClickHouse::start_on(&dir, Some(ports))
        .await
        .expect("restarts on the same ports");
    wait_status(&format!("{}/health/ready", s.api), 200, 30).await;
    s.running.shutdown().await;
    ch.stop(Duration::from_secs(15)).await;
    let _ = std::fs::remove_dir_all(&dir);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

struct Child {
    proc: std::process::Child,
    lines: Arc<Mutex<Vec<String>>>,
    http: String,
    api: String,
}

fn spawn_binary(extra: &[(&str, &str)]) -> Child {
    let (http, api, grpc) = (free_port(), free_port(), free_port());
    let sc = faultline_store::testing::config("e2e_bin");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_faultline"));
    cmd.arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "info")
        .env("FAULTLINE_CLICKHOUSE_URL", &sc.url)
        .env("FAULTLINE_CLICKHOUSE_DATABASE", &sc.database)
        .env(
            "FAULTLINE_DATA_DIR",
            std::env::temp_dir().join(format!("faultline-{}", sc.database)),
        )
        .env("FAULTLINE_HTTP_ADDR", format!("127.0.0.1:{http}"))
        .env("FAULTLINE_API_ADDR", format!("127.0.0.1:{api}"))
        .env("FAULTLINE_OTLP_GRPC_ADDR", format!("127.0.0.1:{grpc}"))
        .env("FAULTLINE_LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let mut proc = cmd.spawn().expect("spawn faultline");
    let lines = Arc::new(Mutex::new(Vec::new()));
    let stderr = proc.stderr.take().expect("stderr");
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            sink.lock().expect("lock").push(line);
        }
    });
    Child {
        proc,
        lines,
        http: format!("http://127.0.0.1:{http}"),
        api: format!("http://127.0.0.1:{api}"),
    }
}

fn signal(c: &Child, sig: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(c.proc.id().to_string())
        .status()
        .expect("kill");
    assert!(ok.success());
}

async fn wait_exit(c: &mut Child, secs: u64) -> std::process::ExitStatus {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(st) = c.proc.try_wait().expect("wait") {
            return st;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "process did not exit"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_logs_and_graceful_shutdown() {
    let mut c = spawn_binary(&[
        ("FAULTLINE_SHUTDOWN_DRAIN_SECS", "2"),
        ("FAULTLINE_BATCH_MAX_AGE_MS", "1500"),
    ]);
    wait_status(&format!("{}/health/ready", c.api), 200, 30).await;
    let client = reqwest::Client::new();

    // Request ids: echoed, taken from traceparent, or made; duration header; the log line has it.
    let r = client
        .get(format!("{}/health/live", c.http))
        .header("x-request-id", "rid-test-42")
        .send()
        .await
        .expect("get");
    assert_eq!(r.headers()["x-request-id"], "rid-test-42");
    assert!(
        r.headers()["x-request-duration"]
            .to_str()
            .expect("ascii")
            .parse::<f64>()
            .expect("ms")
            >= 0.0
    );
    let tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let r = client
        .get(format!("{}/api/v1/errors", c.api))
        .header("traceparent", tp)
        .send()
        .await
        .expect("get");
    assert_eq!(
        r.headers()["x-request-id"],
        "0af7651916cd43dd8448eb211c80319c"
    );
    let r = client
        .get(format!("{}/nowhere", c.api))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.headers()["x-request-id"].len(),
        32,
        "made up when none is given"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    {
        let lines = c.lines.lock().expect("lock");
        let line = lines
            .iter()
            .find(|l| l.contains("rid-test-42"))
            .unwrap_or_else(|| panic!("no log line with the id in {lines:?}"));
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON log line");
        assert_eq!(v["level"], "INFO", "{line}");
        assert_eq!(v["fields"]["status"], 200, "{line}");
        assert!(
            lines
                .iter()
                .any(|l| l.contains("\"level\":\"WARN\"") && l.contains("\"status\":404")),
            "a 404 logs a warning"
        );
    }
    let metrics = client
        .get(format!("{}/metrics", c.api))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains(
            "\nhttp_requests_total{route=\"/health/live\",method=\"GET\",status=\"200\"} 1"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("faultline_insert_duration_seconds_count"));
    assert!(metrics.contains("\nfaultline_spool_bytes "), "{metrics}");
    // Prometheus naming: counters' samples end in `_total`, no counter is named `…_sum`.
    let mut counters = Vec::new();
    for line in metrics.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("name and type");
            assert!(!name.ends_with("_sum"), "{line}");
            if kind == "counter" {
                counters.push(name.to_string());
            }
        } else if !line.starts_with('#') && !line.is_empty() {
            let name = line.split(['{', ' ']).next().unwrap_or_default();
            if let Some(c) = counters.iter().find(|c| name.starts_with(c.as_str())) {
                assert_eq!(name, format!("{c}_total"), "{line}");
            }
        }
    }
    assert!(counters.len() >= 10, "{counters:?}");

    // Shutdown: a request in flight completes, readiness is 503 during the drain, then the
    // listeners close and the process exits 0.
    let inflight = {
        let url = format!("{}/webhook/error/dev", c.http);
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(url)
                .json(&serde_json::json!({"message": "in flight during shutdown"}))
                .send()
                .await
                .map(|r| r.status().as_u16())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    signal(&c, "TERM");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        status(&format!("{}/health/ready", c.api)).await,
        503,
        "not ready from the first signal on"
    );
    assert_eq!(
        status(&format!("{}/health/live", c.api)).await,
        200,
        "still alive while draining"
    );
    assert_eq!(
        inflight
            .await
            .expect("join")
            .expect("in-flight request answered"),
        200
    );
    let st = wait_exit(&mut c, 30).await;
    assert_eq!(st.code(), Some(0), "clean exit");
    assert_eq!(
        status(&format!("{}/health/live", c.api)).await,
        0,
        "listeners closed"
    );
    let lines = c.lines.lock().expect("lock").join("\n");
    assert!(lines.contains("stopped"), "{lines}");

    // A second signal exits at once, even with a long drain ahead.
    let mut c = spawn_binary(&[("FAULTLINE_SHUTDOWN_DRAIN_SECS", "60")]);
    wait_status(&format!("{}/health/live", c.api), 200, 30).await;
    signal(&c, "TERM");
    tokio::time::sleep(Duration::from_millis(300)).await;
    signal(&c, "INT");
    let st = wait_exit(&mut c, 5).await;
    assert_eq!(st.code(), Some(130));
}
