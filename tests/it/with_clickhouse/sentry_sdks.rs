//! The real Sentry SDKs, unchanged, reporting to Faultline's DSN: sentry-python in a Django app
//! on a real WSGI server (with and without `brotli`), and @sentry/node; and the same errors sent
//! through OpenTelemetry as well, which must land in the same issues. Interpreters:
//! `FAULTLINE_TEST_PYTHON` (scripts/test.sh's virtualenv with tests/python/requirements.txt) and
//! `node` with tests/node's packages (scripts/test.sh runs `npm ci` there).

use std::collections::{HashMap, HashSet};

const KEY: &str = "shop_key_0123456789abcdef01234567";

fn python() -> String {
    std::env::var("FAULTLINE_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

async fn run(program: &str, args: &[&str]) -> serde_json::Value {
    let out = tokio::process::Command::new(program)
        .args(args)
        .output()
        .await
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed (run scripts/test.sh, which installs the test clients):\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let last = out
        .stdout
        .trim_ascii()
        .rsplit(|b| *b == b'\n')
        .next()
        .unwrap_or(b"");
    serde_json::from_slice(last).expect("the client's JSON summary")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_django_app_with_sentry_sdk_reports_to_faultline() {
    let s = crate::common::start(&format!("shop:{KEY}:42")).await;
    let dsn = format!("http://{KEY}@{}/42", s.http.trim_start_matches("http://"));
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/django_sentry_app.py"
    );
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    for (flag, compression) in [(None, "br"), (Some("--no-brotli"), "gzip")] {
        let mut args = vec![script, "--dsn", &dsn, "--trace-id", trace_id];
        args.extend(flag);
        let summary = run(&python(), &args).await;
        assert_eq!(summary["compression"], compression, "{summary}");
        assert_eq!(
            summary["statuses"],
            serde_json::json!([500, 500, 500, 500, 500, 404, 200, 500, 400])
        );
    }
    // Per run: four PaymentDeclined, two KeyError, one DisallowedHost (a 400, logged by Django);
    // the 404 is not reported.
    crate::common::wait_count(&s, "shop", 14).await;
    let rows = s.store.occurrences("shop", None, 100).await.expect("rows");
    let mut by_fp: HashMap<&str, Vec<_>> = HashMap::new();
    for r in &rows {
        by_fp.entry(&r.fingerprint).or_default().push(r);
    }
    let mut counts: Vec<(String, usize)> = by_fp
        .values()
        .map(|rs| (rs[0].exception_type.clone(), rs.len()))
        .collect();
    counts.sort();
    assert_eq!(
        counts,
        [
            ("KeyError".to_string(), 4),
            ("__main__.PaymentDeclined".to_string(), 8),
            ("django.core.exceptions.DisallowedHost".to_string(), 2)
        ],
        "three issues with their counts"
    );
    for r in &rows {
        assert_eq!(r.source, "sentry_envelope");
        assert_eq!(
            (r.release.as_str(), r.environment.as_str()),
            ("shop@2.0.1", "staging")
        );
        assert!(
            !format!("{r:?}").contains("sekrit"),
            "a secret was stored: {r:?}"
        );
        assert!(
            !r.message.contains("no such page"),
            "Http404 is not an error"
        );
    }
    let declined: Vec<_> = rows
        .iter()
        .filter(|r| r.exception_type == "__main__.PaymentDeclined")
        .collect();
    for r in &declined {
        assert!(
            r.stacktrace.contains(", in checkout\n") && r.stacktrace.contains(", in charge\n"),
            "{}",
            r.stacktrace
        );
        assert_eq!(r.culprit, "django_sentry_app in charge");
        assert_eq!(r.http_method, "GET");
        assert!(r.url.contains("/checkout/"), "{}", r.url);
        assert_eq!(
            (r.http_status, r.severity.as_str()),
            (500, "critical"),
            "uncaught in a request"
        );
    }
    assert_eq!(
        declined.iter().filter(|r| r.trace_id == trace_id).count(),
        2,
        "one traced request per run"
    );
    let refund = rows
        .iter()
        .find(|r| r.exception_type == "KeyError")
        .expect("refund");
    assert!(
        refund.stacktrace.contains(", in refund\n"),
        "{}",
        refund.stacktrace
    );
    // Django logs it with its exception: the SDK's logging integration sends it as one.
    let host = rows
        .iter()
        .find(|r| r.exception_type.ends_with("DisallowedHost"))
        .expect("DisallowedHost");
    assert!(
        host.message.contains("Invalid HTTP_HOST header"),
        "{}",
        host.message
    );
    // Every request was a transaction: counted for error rates.
    let requests = s.store.request_totals("shop").await.expect("requests");
    let total: u64 = requests.iter().map(|r| r.requests).sum();
    assert!(total >= 16, "{requests:?}");
}

/// Runs a client that sends one bug twice through a Sentry SDK and twice through OpenTelemetry,
/// and returns the four stored rows, checked to be one issue from both doors.
async fn one_bug_both_ways(program: &str, script: &str) -> Vec<faultline_store::OccurrenceRow> {
    let s = crate::common::start(&format!("shop:{KEY}:42")).await;
    let dsn = format!("http://{KEY}@{}/42", s.http.trim_start_matches("http://"));
    let summary = run(
        program,
        &[script, "--dsn", &dsn, "--otlp", &s.http, "--token", KEY],
    )
    .await;
    assert_eq!(
        summary["sent"],
        serde_json::json!({"sentry": 2, "otel": 2}),
        "{summary}"
    );
    crate::common::wait_count(&s, "shop", 4).await;
    let rows = s.store.occurrences("shop", None, 10).await.expect("rows");
    let sources: HashSet<&str> = rows.iter().map(|r| r.source.as_str()).collect();
    assert_eq!(sources, HashSet::from(["sentry_envelope", "otlp_trace"]));
    let fps: HashSet<&str> = rows.iter().map(|r| r.fingerprint.as_str()).collect();
    assert_eq!(fps.len(), 1, "one bug, one issue: {rows:#?}");
    rows
}

/// @sentry/node's `captureException`, and the same error through OpenTelemetry JS's
/// `recordException` (OTLP/HTTP): stored, and one issue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentry_node_and_opentelemetry_js_report_one_bug_as_one_issue() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/node/sentry_and_otel.js");
    for r in one_bug_both_ways("node", script).await {
        assert_eq!(
            (r.exception_type.as_str(), r.service.as_str()),
            ("TypeError", "web")
        );
        assert!(r.stacktrace.contains("at total ("), "{}", r.stacktrace);
    }
}

/// sentry-python's `capture_exception` and OpenTelemetry Python's `record_exception` of one
/// chained exception: one issue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentry_python_and_opentelemetry_python_report_one_bug_as_one_issue() {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/sentry_and_otel.py"
    );
    for r in one_bug_both_ways(&python(), script).await {
        assert_eq!(
            (r.exception_type.as_str(), r.service.as_str()),
            ("__main__.LedgerError", "ledger")
        );
    }
}
