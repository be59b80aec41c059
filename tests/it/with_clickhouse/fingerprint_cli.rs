//! `faultline fingerprint` gives the very fingerprints ingest stores for the same events (webhook
//! and OTLP/HTTP JSON), grouping rules included.

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};

use crate::fingerprint_cli::{cli_fingerprints, events};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_and_ingest_agree() {
    let pred = cli_fingerprints();
    let s = crate::common::start("").await;
    let c = reqwest::Client::new();
    // Every corpus event through the webhook (development mode: project `default`, as the CLI).
    for e in events() {
        let body = serde_json::json!({
            "message": e["message"], "exception_class": e["exception_type"], "stack_trace": e["stacktrace"],
            "service": e["service"], "event_id": e["id"],
        });
        let ack: serde_json::Value = c
            .post(format!("{}/webhook/error/dev", s.http))
            .json(&body)
            .send()
            .await
            .expect("webhook")
            .json()
            .await
            .expect("ack");
        let id = e["id"].as_str().expect("id");
        assert_eq!(
            ack["fingerprint"].as_str(),
            Some(pred[id].as_str()),
            "{id}: webhook and CLI disagree"
        );
    }
    // And a few through OTLP/HTTP JSON, checked in what was stored.
    let some: Vec<serde_json::Value> = events().into_iter().step_by(15).collect();
    for (i, e) in some.iter().enumerate() {
        let kv = |k: &str, v: &serde_json::Value| serde_json::json!({"key": k, "value": {"stringValue": v}});
        let otlp = serde_json::json!({"resourceSpans": [{"resource": {"attributes": [kv("service.name", &e["service"])]},
            "scopeSpans": [{"spans": [{"traceId": format!("{:032x}", i + 1), "spanId": format!("{:016x}", i + 1), "name": "op", "kind": 1,
                "events": [{"name": "exception", "timeUnixNano": "1700000000000000000",
                    "attributes": [kv("exception.type", &e["exception_type"]), kv("exception.message", &e["message"]), kv("exception.stacktrace", &e["stacktrace"]), kv("faultline.event_id", &e["id"])]}]}]}]}]});
        let r = c
            .post(format!("{}/v1/traces", s.http))
            .json(&otlp)
            .send()
            .await
            .expect("otlp");
        assert_eq!(r.status(), 200);
    }
    crate::common::wait_count(&s, "default", 300 + some.len() as u64).await;
    let rows = s
        .store
        .occurrences("default", None, 1000)
        .await
        .expect("rows");
    let otlp_rows: Vec<_> = rows.iter().filter(|r| r.source == "otlp_trace").collect();
    assert_eq!(otlp_rows.len(), some.len());
    for r in otlp_rows {
        assert_eq!(
            r.fingerprint, pred[&r.event_id],
            "{}: OTLP ingest and CLI disagree",
            r.event_id
        );
    }
    s.running.shutdown().await;
}

#[tokio::test]
async fn grouping_rules_apply_to_ingest_and_cli_alike() {
    let toml = "[[grouping.default.rules]]\nexception_type = \"Timeout*\"\nservice = \"api\"\nfingerprint = \"timeouts-{{ default }}\"\n";
    let dir = std::env::temp_dir().join(format!("faultline-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("faultline.toml");
    std::fs::write(&path, toml).expect("write");
    let env: HashMap<String, String> =
        [("FAULTLINE_CONFIG".to_string(), path.display().to_string())].into();
    let file_cfg = faultline::config::Config::load(&env).expect("config");
    let (mut cfg, sc) = crate::common::test_config("");
    cfg.grouping = file_cfg.grouping;
    let s = crate::common::start_with(cfg, &sc).await;
    let c = reqwest::Client::new();
    let send = |ty: &str, svc: &str| {
        c.post(format!("{}/webhook/error/dev", s.http))
            .json(&serde_json::json!({"message": "upstream took 3000ms", "exception_class": ty, "service": svc}))
            .send()
    };
    let hit: serde_json::Value = send("TimeoutError", "api")
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let miss: serde_json::Value = send("TimeoutError", "worker")
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let hit_fp = hit["fingerprint"].as_str().expect("fp");
    assert!(hit_fp.starts_with("timeouts-"), "{hit}");
    assert!(
        !miss["fingerprint"]
            .as_str()
            .expect("fp")
            .starts_with("timeouts-"),
        "{miss}"
    );
    // The CLI, given the same file, says the same.
    let mut child = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .arg("fingerprint")
        .env("FAULTLINE_CONFIG", &path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"{\"id\": \"x\", \"service\": \"api\", \"exception_type\": \"TimeoutError\", \"message\": \"upstream took 3000ms\", \"stacktrace\": \"\"}\n")
        .expect("write");
    let out = child.wait_with_output().expect("out");
    let line: serde_json::Value = serde_json::from_slice(out.stdout.trim_ascii()).expect("json");
    assert_eq!(line["fingerprint"].as_str(), Some(hit_fp));
    s.running.shutdown().await;
}
