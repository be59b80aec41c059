//! Alerts end to end: a real `faultline serve` on the test ClickHouse, errors sent to its
//! webhook, and real receivers — an HTTP server on port 0 (answering from a script of statuses)
//! and an SMTP server (aiosmtpd, with AUTH). Every semantic of issue #17: new issue once, no
//! repeat, count once per interval, ignored silent, regression once per resolution, retries after
//! 503s and a 429 with Retry-After, signatures that a Python receiver verifies, restarts and two
//! processes on one database sending each alert once, the test endpoint, `faultline check`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use faultline::config::Config;
use faultline_alerts::config::{AlertsConfig, ChannelConfig, RuleConfig};
use serde_json::{Value as Json, json};

use crate::common::{Server, start_with, test_config, wait_count};

pub(crate) const PROJECTS: &str = "shop:shoptoken0123456789";
const TOKEN: &str = "shoptoken0123456789";
const SECRET: &str = "alert-secret-0123";

/// One request a receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Got {
    headers: HeaderMap,
    body: Bytes,
    status: u16,
}

impl Got {
    fn json(&self) -> Json {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// An answer: status and `Retry-After`.
pub(crate) type Answer = (u16, Option<&'static str>);

/// An HTTP receiver on port 0: records every request, answers from `script` (then 200 `ok`).
#[derive(Clone, Default)]
pub(crate) struct Receiver {
    got: Arc<Mutex<Vec<Got>>>,
    script: Arc<Mutex<VecDeque<Answer>>>,
}

impl Receiver {
    pub(crate) async fn start(script: &[Answer]) -> (Receiver, String) {
        let r = Receiver::default();
        r.script
            .lock()
            .expect("lock")
            .extend(script.iter().copied());
        async fn take(
            State(r): State<Receiver>,
            headers: HeaderMap,
            body: Bytes,
        ) -> impl IntoResponse {
            let (status, retry_after) = r
                .script
                .lock()
                .expect("lock")
                .pop_front()
                .unwrap_or((200, None));
            r.got.lock().expect("lock").push(Got {
                headers,
                body,
                status,
            });
            let mut h = HeaderMap::new();
            if let Some(s) = retry_after {
                h.insert("retry-after", s.parse().expect("header"));
            }
            (StatusCode::from_u16(status).expect("status"), h, "ok")
        }
        let app = Router::new()
            .route("/{*path}", axum::routing::post(take))
            .with_state(r.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (r, url)
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().expect("lock").clone()
    }

    /// Requests answered 2xx with event `event`.
    pub(crate) fn delivered(&self, event: &str) -> Vec<Got> {
        self.got()
            .into_iter()
            .filter(|g| g.status < 300 && g.header("x-faultline-event") == event)
            .collect()
    }

    /// Waits until `n` requests with event `event` were answered 2xx (20 s at most).
    pub(crate) async fn wait_delivered(&self, event: &str, n: usize) -> Vec<Got> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(25);
        loop {
            let d = self.delivered(event);
            if d.len() >= n {
                return d;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} of {n} {event} alerts received: {:?}",
                d.len(),
                self.got()
                    .iter()
                    .map(|g| g.header("x-faultline-event").to_string())
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

pub(crate) fn webhook_channel(name: &str, url: &str) -> ChannelConfig {
    ChannelConfig {
        name: name.into(),
        kind: "webhook".into(),
        url: Some(format!("{url}/hook")),
        secret: Some(SECRET.into()),
        smtp_url: None,
        from: None,
        to: None,
    }
}

pub(crate) fn rule(name: &str, when: &str, channels: &[&str]) -> RuleConfig {
    RuleConfig {
        name: name.into(),
        project: Some("shop".into()),
        service: None,
        environment: None,
        severity: None,
        when: when.into(),
        threshold: None,
        window: None,
        interval: None,
        min_requests: None,
        channels: channels.iter().map(|c| c.to_string()).collect(),
    }
}

fn config(
    channels: Vec<ChannelConfig>,
    rules: Vec<RuleConfig>,
) -> (Config, faultline_store::StoreConfig) {
    let (mut cfg, sc) = test_config(PROJECTS);
    cfg.alerts = AlertsConfig {
        channels,
        rules,
        retry_for: None,
    };
    cfg.public_url = "https://faultline.example".into();
    (cfg, sc)
}

/// Sends one occurrence of error `class` (its own issue per class); returns its fingerprint.
pub(crate) async fn send(s: &Server, class: &str) -> String {
    let body = json!({
        "message": format!("{class} went wrong"),
        "exception_class": class,
        "stack_trace": format!("#0 /app/src/Jobs/{class}.php(12): run()\n#1 {{main}}"),
        "service": "checkout", "environment": "production", "http_status": 500,
    });
    let resp = reqwest::Client::new()
        .post(format!("{}/webhook/error/{TOKEN}", s.http))
        .json(&body)
        .send()
        .await
        .expect("webhook");
    assert_eq!(resp.status(), 200);
    let ack: Json = resp.json().await.expect("ack");
    ack["fingerprint"]
        .as_str()
        .expect("fingerprint")
        .to_string()
}

async fn set_status(s: &Server, fp: &str, body: Json) {
    let resp = reqwest::Client::new()
        .put(format!("{}/api/v1/errors/{fp}/status?project=shop", s.api))
        .json(&body)
        .send()
        .await
        .expect("put");
    assert_eq!(resp.status(), 200);
}

async fn deliveries(s: &Server, query: &str) -> Json {
    crate::common::api_json(s, &format!("/api/v1/alerts/deliveries?{query}")).await
}

/// How many of `servers` say they lead alerting.
pub(crate) async fn leaders(servers: &[&Server]) -> usize {
    let mut n = 0;
    for s in servers {
        n += usize::from(crate::common::metric(s, "faultline_alerts_leader").await == Some(1));
    }
    n
}

/// The Python verifier README documents, run on what the receiver got.
fn python_verifies(g: &Got) -> bool {
    let script = r#"
import hashlib, hmac, sys
secret, ts, sig, body = sys.argv[1].encode(), sys.argv[2], sys.argv[3], sys.stdin.buffer.read()
expected = "sha256=" + hmac.new(secret, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
print(hmac.compare_digest(expected, sig))
"#;
    let mut child = std::process::Command::new("python3")
        .args([
            "-c",
            script,
            SECRET,
            g.header("x-faultline-timestamp"),
            g.header("x-faultline-signature"),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&g.body)
        .expect("write");
    let out = child.wait_with_output().expect("python");
    String::from_utf8_lossy(&out.stdout).trim() == "True"
}

#[tokio::test]
async fn new_issues_alert_once_signed_and_ignored_issues_stay_silent() {
    let (rx, url) = Receiver::start(&[]).await;
    let mut bursts = rule("bursts", "count", &["hook"]);
    bursts.threshold = Some(3.0);
    bursts.window = Some("1h".into());
    let (cfg, sc) = config(
        vec![webhook_channel("hook", &url)],
        vec![rule("new issues", "new_issue", &["hook"]), bursts],
    );
    let s = start_with(cfg, &sc).await;

    let t0 = std::time::Instant::now();
    let a = send(&s, "PaymentFailed").await;
    let got = rx.wait_delivered("new_issue", 1).await;
    let latency = t0.elapsed();
    let g = &got[0];
    let body = g.json();
    assert_eq!(body["event"], "new_issue");
    assert_eq!(body["rule"], "new issues");
    assert_eq!(body["project"], "shop");
    assert_eq!(body["issue"]["fingerprint"], a.as_str());
    assert_eq!(body["issue"]["exception_type"], "PaymentFailed");
    assert_eq!(body["issue"]["status"], "open");
    assert_eq!(
        body["issue"]["url"],
        format!("https://faultline.example/api/v1/errors/{a}?project=shop")
    );
    assert_eq!(
        g.header("x-faultline-delivery"),
        body["id"].as_str().expect("id")
    );
    assert!(g.header("x-faultline-signature").starts_with("sha256="));
    assert!(
        python_verifies(g),
        "the documented Python verifier accepts the signature"
    );
    eprintln!("new-issue alert {latency:?} after the acknowledgement");

    // More occurrences of the same issue: no second new-issue alert; a new issue: one more.
    for _ in 0..2 {
        send(&s, "PaymentFailed").await;
    }
    let b = send(&s, "StockMissing").await;
    let got = rx.wait_delivered("new_issue", 2).await;
    assert_eq!(got[1].json()["issue"]["fingerprint"], b.as_str());

    // Ignored: B stays silent whatever its count; A (4 occurrences > 3) gets one count alert.
    set_status(&s, &b, json!({"status": "ignored"})).await;
    for _ in 0..5 {
        send(&s, "StockMissing").await;
    }
    send(&s, "PaymentFailed").await;
    wait_count(&s, "shop", 10).await;
    let counts = rx.wait_delivered("count", 1).await;
    assert_eq!(counts[0].json()["issue"]["fingerprint"], a.as_str());
    assert_eq!(counts[0].json()["threshold"], 3.0);
    // Several evaluations later: still one count alert (interval 1 h), none for B, no repeats.
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert_eq!(rx.delivered("count").len(), 1);
    assert_eq!(rx.delivered("new_issue").len(), 2);
    let mut ids: Vec<String> = (rx.got().iter())
        .map(|g| g.header("x-faultline-delivery").to_string())
        .collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "every alert once");

    // The log, and the metrics.
    let log = deliveries(&s, "project=shop&status=delivered").await;
    assert_eq!(log["deliveries"].as_array().expect("list").len(), 3);
    assert_eq!(log["deliveries"][0]["attempts"], 1);
    let m = crate::common::metrics(&s).await;
    assert!(
        m.contains("faultline_alerts_fired_total{rule=\"new issues\",event=\"new_issue\"} 2"),
        "{m}"
    );
    assert!(m.lines().any(|l| l == "faultline_alerts_leader 1"), "{m}");
    s.running.shutdown().await;
}

#[tokio::test]
async fn regressions_alert_once_per_resolution() {
    let (rx, url) = Receiver::start(&[]).await;
    let (cfg, sc) = config(
        vec![webhook_channel("hook", &url)],
        vec![rule("back", "regression", &["hook"])],
    );
    let s = start_with(cfg, &sc).await;
    let a = send(&s, "CartLost").await;
    wait_count(&s, "shop", 1).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    set_status(&s, &a, json!({"status": "resolved"})).await;
    // Seen again after the resolution (the state's time is in whole seconds).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    send(&s, "CartLost").await;
    let got = rx.wait_delivered("regression", 1).await;
    assert_eq!(got[0].json()["issue"]["status"], "regressed");
    send(&s, "CartLost").await;
    wait_count(&s, "shop", 3).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(rx.delivered("regression").len(), 1, "once per resolution");
    s.running.shutdown().await;
}

#[tokio::test]
async fn deliveries_retry_after_503s_and_429_and_survive_a_restart() {
    // 503, 503, then 429 asking for 1 s, then 200.
    let (rx, url) = Receiver::start(&[(503, None), (503, None), (429, Some("1"))]).await;
    let (cfg, sc) = config(
        vec![webhook_channel("hook", &url)],
        vec![rule("new issues", "new_issue", &["hook"])],
    );
    let s = start_with(cfg.clone(), &sc).await;
    send(&s, "Flaky").await;
    let got = rx.wait_delivered("new_issue", 1).await;
    assert_eq!(rx.got().len(), 4, "three refusals, then delivered");
    let first = rx.got()[0].header("x-faultline-delivery").to_string();
    assert!(
        rx.got()
            .iter()
            .all(|g| g.header("x-faultline-delivery") == first)
    );
    assert_eq!(got[0].header("x-faultline-delivery"), first);
    let log = deliveries(&s, "status=delivered").await;
    assert_eq!(log["deliveries"][0]["attempts"], 4);

    // A receiver down (503 every time): the alert stays pending through a restart, then is
    // delivered once by the new process; the delivered one is not sent again.
    rx.script.lock().expect("lock").extend([(503, None); 100]);
    send(&s, "Outage").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while deliveries(&s, "status=pending").await["deliveries"]
        .as_array()
        .expect("list")
        .is_empty()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no pending delivery"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    s.running.shutdown().await;
    rx.script.lock().expect("lock").clear();
    let before = rx.got().len();
    let s = start_with(cfg, &sc).await;
    let got = rx.wait_delivered("new_issue", 2).await;
    assert_eq!(got[1].json()["issue"]["exception_type"], "Outage");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(rx.delivered("new_issue").len(), 2, "nothing sent twice");
    assert!(rx.got().len() > before);
    s.running.shutdown().await;
}

#[tokio::test]
async fn two_processes_on_one_database_send_each_alert_once() {
    let (rx, url) = Receiver::start(&[]).await;
    let (cfg, sc) = config(
        vec![webhook_channel("hook", &url)],
        vec![rule("new issues", "new_issue", &["hook"])],
    );
    let mut other = cfg.clone();
    other.data_dir = cfg.data_dir.join("second");
    let (s1, s2) = tokio::join!(start_with(cfg, &sc), start_with(other, &sc));
    let classes = ["Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Zeta"];
    for (i, class) in classes.iter().enumerate() {
        // Half through each process.
        send(if i % 2 == 0 { &s1 } else { &s2 }, class).await;
    }
    rx.wait_delivered("new_issue", classes.len()).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let got = rx.delivered("new_issue");
    assert_eq!(
        got.len(),
        classes.len(),
        "one alert per issue across both processes"
    );
    let leaders = leaders(&[&s1, &s2]).await;
    let claims = reqwest::Client::new()
        .post(&sc.url)
        .body(format!(
            "SELECT holder, expires_at, version FROM `{}`.alert_leases ORDER BY version",
            sc.database
        ))
        .send()
        .await
        .expect("claims")
        .text()
        .await
        .expect("text");
    assert_eq!(leaders, 1, "claims:\n{claims}");
    s1.running.shutdown().await;
    s2.running.shutdown().await;
}

#[tokio::test]
async fn slack_and_email_channels_and_the_test_endpoint() {
    let (rx, url) = Receiver::start(&[]).await;
    // The SMTP server: aiosmtpd with AUTH, writing what it receives as JSON lines.
    let dir = tempfile::tempdir().expect("dir");
    let out = dir.path().join("mail.jsonl");
    let python = std::env::var("FAULTLINE_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut smtp = tokio::process::Command::new(python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/python/smtp_sink.py"
        ))
        .args([out.to_str().expect("path"), "alerts", "p@ss word"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("smtp_sink.py (pip install aiosmtpd)");
    let port = {
        use tokio::io::AsyncBufReadExt;
        let mut lines = tokio::io::BufReader::new(smtp.stdout.take().expect("stdout")).lines();
        lines.next_line().await.expect("read").expect("a port")
    };
    let channels = vec![
        webhook_channel("hook", &url),
        ChannelConfig {
            name: "chat".into(),
            kind: "slack".into(),
            url: Some(format!("{url}/services/T0/B0/xyz")),
            secret: None,
            smtp_url: None,
            from: None,
            to: None,
        },
        ChannelConfig {
            name: "mail".into(),
            kind: "email".into(),
            url: None,
            secret: None,
            smtp_url: Some(format!("smtp://alerts:p%40ss%20word@127.0.0.1:{port}")),
            from: Some("faultline@example.com".into()),
            to: Some(vec!["oncall@example.com".into()]),
        },
    ];
    let (cfg, sc) = config(
        channels,
        vec![rule("new issues", "new_issue", &["chat", "mail"])],
    );
    let s = start_with(cfg, &sc).await;
    send(&s, "InvoiceMissing").await;

    // Slack: text and blocks, escaped.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let slack = loop {
        if let Some(g) = rx
            .got()
            .into_iter()
            .find(|g| g.json().get("blocks").is_some())
        {
            break g;
        }
        assert!(tokio::time::Instant::now() < deadline, "no Slack message");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let text = slack.json()["text"].as_str().expect("text").to_string();
    assert_eq!(
        text,
        "[shop] New issue: InvoiceMissing: InvoiceMissing went wrong"
    );
    assert_eq!(slack.json()["blocks"][0]["type"], "header");

    // E-mail: authenticated, subject naming the type and the project.
    let mail = loop {
        if let Ok(t) = std::fs::read_to_string(&out)
            && let Some(line) = t.lines().next()
        {
            break serde_json::from_str::<Json>(line).expect("mail JSON");
        }
        assert!(tokio::time::Instant::now() < deadline, "no mail");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(mail["authenticated"], true);
    assert_eq!(mail["rcpt_tos"], json!(["oncall@example.com"]));
    assert_eq!(
        mail["subject"],
        "[Faultline] shop: InvoiceMissing (new issue)"
    );
    assert_eq!(mail["headers"]["Auto-Submitted"], "auto-generated");
    assert!(
        mail["body"]
            .as_str()
            .expect("body")
            .contains("https://faultline.example/api/v1/errors/")
    );

    // The test endpoint: sent now, answered with the outcome; an unknown channel is a 404.
    let c = reqwest::Client::new();
    let resp = c
        .post(format!("{}/api/v1/alerts/test", s.api))
        .json(&json!({"channel": "hook"}))
        .send()
        .await
        .expect("test");
    assert_eq!(resp.status(), 200);
    let sent: Json = resp.json().await.expect("json");
    assert_eq!(sent["status"], "delivered");
    assert_eq!(rx.delivered("test").len(), 1);
    let missing = c
        .post(format!("{}/api/v1/alerts/test", s.api))
        .json(&json!({"channel": "pager"}))
        .send()
        .await
        .expect("test");
    assert_eq!(missing.status(), 404);
    let rules = crate::common::api_json(&s, "/api/v1/alerts/rules").await;
    assert_eq!(rules["rules"][0]["when"], "new_issue");
    let shown = rules.to_string();
    assert!(!shown.contains("xyz") && !shown.contains("p@ss") && !shown.contains(SECRET));
    // Bad input: 400 naming the parameter or the body; nothing sent.
    for (query, names) in [
        ("limit=0", "`limit`"),
        ("status=lost", "`status`"),
        ("cursor=nonsense", "`cursor`"),
    ] {
        let r = reqwest::get(format!("{}/api/v1/alerts/deliveries?{query}", s.api))
            .await
            .expect("get");
        assert_eq!(r.status(), 400, "{query}");
        let e: Json = r.json().await.expect("json");
        let message = e["error"]["message"].as_str().expect("message");
        assert!(message.contains(names), "{query}: {message}");
    }
    let before = rx.got().len();
    let bad = c
        .post(format!("{}/api/v1/alerts/test", s.api))
        .header("content-type", "application/json")
        .body("{\"channel\": ")
        .send()
        .await
        .expect("test");
    assert_eq!(bad.status(), 400);
    assert_eq!(rx.got().len(), before);
    s.running.shutdown().await;
    let _ = smtp.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faultline_check_exit_codes() {
    let (cfg, sc) = config(Vec::new(), Vec::new());
    let s = start_with(cfg, &sc).await;
    for _ in 0..3 {
        send(&s, "Timeout").await;
    }
    wait_count(&s, "shop", 3).await;
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_faultline"))
            .arg("check")
            .args(args)
            .output()
            .expect("faultline check");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    let (code, text) = run(&["health", "--url", &s.api]);
    assert_eq!(code, 0, "{text}");
    let (code, text) = run(&["health", "--url", "http://127.0.0.1:9"]);
    assert_eq!(code, 2, "{text}");
    let errors = |threshold: &str| {
        run(&[
            "errors",
            "--url",
            &s.api,
            "--project",
            "shop",
            "--hours",
            "1",
            "--threshold",
            threshold,
        ])
    };
    let (code, text) = errors("2");
    assert_eq!(code, 1, "{text}");
    assert!(
        text.starts_with("too many: 3 errors in project \"shop\" in the last 1h"),
        "{text}"
    );
    assert!(text.contains("Timeout"), "{text}");
    let (code, text) = errors("3");
    assert_eq!(code, 0, "{text}");
    let (code, _) = run(&[
        "errors",
        "--url",
        "http://127.0.0.1:9",
        "--project",
        "shop",
        "--threshold",
        "1",
    ]);
    assert_eq!(code, 2);
    s.running.shutdown().await;
}

#[tokio::test]
async fn rate_alerts_name_the_service_over_its_error_ratio() {
    let (rx, url) = Receiver::start(&[]).await;
    let mut ratio = rule("ratio", "rate", &["hook"]);
    ratio.threshold = Some(0.2);
    ratio.window = Some("10m".into());
    ratio.min_requests = Some(10);
    let (cfg, sc) = config(vec![webhook_channel("hook", &url)], vec![ratio]);
    let s = start_with(cfg, &sc).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos() as u64;
    // 20 SERVER spans per service over OTLP/JSON; `api` has 6 with an exception (0.3 > 0.2),
    // `web` 1 (0.05): only `api` alerts.
    for (service, failing) in [("api", 6), ("web", 1)] {
        let spans: Vec<Json> = (0..20u64)
            .map(|i| {
                let mut span = json!({
                    "traceId": format!("{:032x}", i + 1), "spanId": format!("{:016x}", i + 1),
                    "name": "GET /orders", "kind": 2,
                    "startTimeUnixNano": (now - 1_000_000).to_string(),
                    "endTimeUnixNano": now.to_string(),
                });
                if i < failing {
                    span["status"] = json!({"code": 2});
                    span["events"] = json!([{"name": "exception", "timeUnixNano": now.to_string(),
                        "attributes": [
                            {"key": "exception.type", "value": {"stringValue": "DbTimeout"}},
                            {"key": "exception.message", "value": {"stringValue": "query took too long"}}]}]);
                }
                span
            })
            .collect();
        let otlp = json!({"resourceSpans": [{"resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": service}}]},
            "scopeSpans": [{"spans": spans}]}]});
        let r = reqwest::Client::new()
            .post(format!("{}/v1/traces", s.http))
            .bearer_auth(TOKEN)
            .json(&otlp)
            .send()
            .await
            .expect("otlp");
        assert_eq!(r.status(), 200);
    }
    wait_count(&s, "shop", 7).await;
    let got = rx.wait_delivered("rate", 1).await;
    let body = got[0].json();
    assert_eq!(body["service"], "api");
    assert_eq!(
        (body["errors"].as_u64(), body["requests"].as_u64()),
        (Some(6), Some(20))
    );
    assert_eq!(body["value"], 0.3);
    assert_eq!(body["window"], "10m");
    assert_eq!(body["issue"]["exception_type"], "DbTimeout");
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        rx.delivered("rate").len(),
        1,
        "once per interval, and not for web"
    );
    s.running.shutdown().await;
}
