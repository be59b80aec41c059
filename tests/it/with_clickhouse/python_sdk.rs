//! Python's OpenTelemetry SDK (from PyPI) with its OTLP gRPC, HTTP and logs exporters, recording
//! real exceptions, against a real `faultline serve`. The interpreter is `FAULTLINE_TEST_PYTHON`
//! (scripts/test.sh points it at a virtualenv with tests/python/requirements.txt), else `python3`.

use std::collections::{HashMap, HashSet};

const PROJECTS: &str = "billing:billing-token-0123456789";

fn python() -> String {
    std::env::var("FAULTLINE_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_exceptions_are_stored_and_grouped() {
    let s = crate::common::start(PROJECTS).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/otel_client.py");
    let out = tokio::process::Command::new(python())
        .args([
            script,
            "--grpc",
            &s.grpc,
            "--http",
            &s.http,
            "--token",
            "billing-token-0123456789",
        ])
        .output()
        .await
        .expect("run python");
    assert!(
        out.status.success(),
        "python client failed (run scripts/test.sh, which installs tests/python/requirements.txt):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let counts: serde_json::Value =
        serde_json::from_slice(out.stdout.trim_ascii()).expect("counts JSON");
    let (exceptions, logs) = (
        counts["exceptions"].as_u64().expect("n"),
        counts["logs"].as_u64().expect("n"),
    );
    assert_eq!((exceptions, logs), (8, 1));
    crate::common::wait_count(&s, "billing", exceptions + logs).await;

    let rows = s
        .store
        .occurrences("billing", None, 100)
        .await
        .expect("rows");
    let traces: Vec<_> = rows.iter().filter(|r| r.source == "otlp_trace").collect();
    assert_eq!(traces.len(), 8);
    let mut fp_by_type: HashMap<&str, HashSet<&str>> = HashMap::new();
    for r in &traces {
        assert!(
            r.stacktrace
                .starts_with("Traceback (most recent call last):"),
            "{}",
            r.stacktrace
        );
        assert_eq!(
            (
                r.service.as_str(),
                r.environment.as_str(),
                r.release.as_str()
            ),
            ("billing-py", "staging", "3.1.0")
        );
        fp_by_type
            .entry(r.exception_type.as_str())
            .or_default()
            .insert(r.fingerprint.as_str());
    }
    // Real exceptions: KeyError for ids 7 and 8 over gRPC and HTTP is one issue; ValueError another.
    assert_eq!(
        fp_by_type.get("KeyError").map(HashSet::len),
        Some(1),
        "{fp_by_type:?}"
    );
    assert_eq!(
        fp_by_type.get("ValueError").map(HashSet::len),
        Some(1),
        "{fp_by_type:?}"
    );
    assert_ne!(fp_by_type["KeyError"], fp_by_type["ValueError"]);
    let key_error = traces
        .iter()
        .find(|r| r.exception_type == "KeyError")
        .expect("KeyError");
    assert_eq!(key_error.culprit, "otel_client in load_user");
    assert_eq!(key_error.http_route, "/users/{id}");

    let log = rows
        .iter()
        .find(|r| r.source == "otlp_log")
        .expect("log occurrence");
    assert_eq!(log.exception_type, "ValueError");
    assert!(log.stacktrace.contains("parse_amount"));
    assert_eq!(log.severity, "high");

    // Requests: 5 SERVER spans per exporter, 4 of them failed.
    let totals = s.store.request_totals("billing").await.expect("totals");
    assert_eq!(totals.len(), 1);
    assert_eq!((totals[0].requests, totals[0].failed), (10, 8));
    s.running.shutdown().await;
}
