//! The triage screen in a real headless Chromium (Debian's, driven by Playwright for Python from
//! `tests/python/ui_browser.py`, with axe-core checks), against a real server and ClickHouse.
//! `scripts/test.sh` installs both; the flows are listed in the script.

use serde_json::json;

use crate::common::{start_with, test_config, wait_count};

const KEY: &str = "browser-key-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_screen_in_a_real_browser() {
    let (mut cfg, sc) = test_config("shop:shoptoken0123456789,blog:blogtoken0123456789");
    cfg.api_keys = KEY.into();
    let s = start_with(cfg, &sc).await;
    let c = reqwest::Client::new();
    let errors = [
        ("RouteMissing", "no route for /old", 404),
        (
            "HostileInput",
            "<script>document.title='owned'</script><img src=x onerror=alert(1)>",
            500,
        ),
        ("ResolveAlpha", "first to resolve", 500),
        ("IgnoreAlpha", "first to ignore", 500),
        ("BulkOne", "bulk one", 500),
        ("BulkTwo", "bulk two", 500),
        ("ResolveBeta", "second to resolve", 500),
        ("IgnoreBeta", "second to ignore", 500),
        ("BulkThree", "bulk three", 500),
        ("BulkFour", "bulk four", 500),
        ("KeyboardTarget", "resolved from the keyboard", 500),
    ];
    for (class, message, status) in errors {
        let body = json!({"message": message, "exception_class": class, "http_status": status,
            "stack_trace": format!("#0 /app/src/{class}.php(3): run()\n#1 /app/vendor/acme/lib/Y.php(9): go()\n#2 {{main}}")});
        let r = c
            .post(format!("{}/webhook/error/shoptoken0123456789", s.http))
            .json(&body)
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), 200);
    }
    wait_count(&s, "shop", errors.len() as u64).await;
    let python = std::env::var("FAULTLINE_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = tokio::process::Command::new(python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/python/ui_browser.py"
        ))
        .args([s.api.as_str(), KEY])
        .args(std::env::var("FAULTLINE_TEST_UI_SCREENSHOTS").ok())
        .output()
        .await
        .expect(
            "ui_browser.py (pip install playwright axe-playwright-python; apt install chromium)",
        );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("ui_browser: ok"),
        "browser flows failed:\n{stdout}\n{stderr}"
    );
    eprintln!("{}", stdout.trim());
    s.running.shutdown().await;
}
