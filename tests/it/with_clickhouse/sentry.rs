//! Sentry DSN ingest and Sentry's outgoing webhooks over real HTTP against a real `faultline
//! serve` and ClickHouse, with raw requests for every protocol rule (the real SDKs are in
//! `sentry_sdks.rs`): auth forms, 401/403, encodings, 413, 429 headers, item types, `/store/`,
//! scrubbing; signed, unsigned, forged and other-project webhooks.

use std::io::Write;

use faultline_collector::sentry::hook::sign;
use serde_json::{Value, json};

const KEY: &str = "shop_key_0123456789abcdef01234567";
const BLOG_KEY: &str = "blog_key_0123456789abcdef01234567";
const TINY_KEY: &str = "tiny_key_0123456789abcdef01234567";

fn projects() -> String {
    format!("shop:{KEY}:42,blog:{BLOG_KEY},tiny:{TINY_KEY}:7")
}

fn golden(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/collector/tests/data/sentry/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("golden envelope")
}

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(body).expect("gzip");
    e.finish().expect("gzip")
}

fn deflate(body: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(body).expect("deflate");
    e.finish().expect("deflate")
}

fn brotli(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = brotli::CompressorWriter::new(&mut out, 4096, 4, 22);
    w.write_all(body).expect("br");
    drop(w);
    out
}

/// An envelope of one event (no `length`, as @sentry/node writes it) after `extra` items.
fn envelope(header: Value, extra: &[(&str, &[u8])], event: &Value) -> Vec<u8> {
    let mut out = header.to_string().into_bytes();
    out.push(b'\n');
    for (h, payload) in extra {
        out.extend_from_slice(h.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(payload);
        out.push(b'\n');
    }
    out.extend_from_slice(br#"{"type":"event"}"#);
    out.push(b'\n');
    out.extend_from_slice(event.to_string().as_bytes());
    out.push(b'\n');
    out
}

struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

async fn post(url: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Reply {
    let mut req = reqwest::Client::new().post(url).body(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Reply {
        status,
        headers,
        body,
    }
}

fn header<'r>(r: &'r Reply, name: &str) -> &'r str {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentry_envelopes_and_store_requests_follow_the_protocol() {
    let (mut cfg, sc) = crate::common::test_config(&projects());
    cfg.rate_limits = "tiny=1:1".parse().expect("rates");
    let s = crate::common::start_with(cfg, &sc).await;
    let url = |id: u64, endpoint: &str| format!("{}/api/{id}/{endpoint}/", s.http);
    let auth =
        format!("Sentry sentry_key={KEY}, sentry_version=7, sentry_client=sentry.python/2.76.0");
    let chained = golden("python_chained.envelope");
    let header_id =
        serde_json::from_slice::<Value>(chained.split(|b| *b == b'\n').next().expect("line"))
            .expect("header")["event_id"]
            .as_str()
            .expect("id")
            .to_string();

    // sentry-python's envelope, each encoding, each place of the key: 200 {"id": …}, CORS.
    let mut stored = 0;
    for (encoding, body) in [
        ("gzip", gzip(&chained)),
        ("br", brotli(&chained)),
        ("deflate", deflate(&chained)),
        ("", chained.clone()),
        ("utf-8", chained.clone()),
    ] {
        let r = post(
            &url(42, "envelope"),
            &[("x-sentry-auth", &auth), ("content-encoding", encoding)],
            body,
        )
        .await;
        assert_eq!(r.status, 200, "{encoding}: {:?}", r.body);
        assert_eq!(r.body, json!({ "id": header_id }), "{encoding}");
        assert_eq!(header(&r, "access-control-allow-origin"), "*");
        assert!(header(&r, "x-sentry-rate-limits").contains("replay"));
        assert_eq!(
            header(&r, "retry-after"),
            "",
            "never on a 200: it mutes the JS SDK"
        );
        stored += 1;
    }
    // The JS SDK's way: key in the query string, no content type, no trailing slash.
    let js = format!(
        "{}/api/42/envelope?sentry_version=7&sentry_key={KEY}&sentry_client=sentry.javascript.node%2F11.12.0",
        s.http
    );
    let r = post(&js, &[], chained.clone()).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    stored += 1;
    // A tunnel's: the key only in the envelope header's `dsn`.
    let event = json!({"message": "through a tunnel", "platform": "javascript"});
    let tunneled = envelope(
        json!({"event_id": "9ec79c33ec9942ab8353589fcb2e04dc", "dsn": format!("http://{KEY}@example.test/42")}),
        &[],
        &event,
    );
    let r = post(&url(42, "envelope"), &[], tunneled).await;
    assert_eq!(
        (r.status, &r.body),
        (200, &json!({"id": "9ec79c33ec9942ab8353589fcb2e04dc"}))
    );
    stored += 1;

    // Refusals: JSON bodies, CORS still there.
    for (what, target, headers, want) in [
        ("no key", url(42, "envelope"), vec![], 401),
        (
            "unknown key",
            url(42, "envelope"),
            vec![(
                "x-sentry-auth",
                "Sentry sentry_key=nope_nope_nope".to_string(),
            )],
            403,
        ),
        (
            "another project's key",
            url(42, "envelope"),
            vec![("x-sentry-auth", format!("Sentry sentry_key={BLOG_KEY}"))],
            403,
        ),
        (
            "two keys that disagree",
            format!("{}?sentry_key={BLOG_KEY}", url(42, "envelope")),
            vec![("x-sentry-auth", auth.clone())],
            401,
        ),
        (
            "not a project id",
            format!("{}/api/shop/envelope/", s.http),
            vec![("x-sentry-auth", auth.clone())],
            400,
        ),
        (
            "unknown encoding",
            url(42, "envelope"),
            vec![
                ("x-sentry-auth", auth.clone()),
                ("content-encoding", "zz".to_string()),
            ],
            415,
        ),
    ] {
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = post(&target, &h, chained.clone()).await;
        assert_eq!(r.status, want, "{what}: {:?}", r.body);
        assert!(
            r.body["error"]["message"].is_string(),
            "{what}: {:?}",
            r.body
        );
        assert_eq!(header(&r, "access-control-allow-origin"), "*", "{what}");
    }
    // The blog's key works on the blog's id (2: its place in the list).
    let r = post(
        &url(2, "envelope"),
        &[("x-sentry-auth", &format!("Sentry sentry_key={BLOG_KEY}"))],
        chained.clone(),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);

    // An event item over 1 MiB: 413 naming it.
    let big = json!({"message": "x".repeat(1_100_000)});
    let r = post(
        &url(42, "envelope"),
        &[("x-sentry-auth", &auth)],
        envelope(json!({}), &[], &big),
    )
    .await;
    assert_eq!(r.status, 413, "{:?}", r.body);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("event item"),
        "{:?}",
        r.body
    );

    // Other items are skipped, the event after them read; a client report is counted.
    let report = br#"{"timestamp":1796531729.5,"discarded_events":[{"reason":"ratelimit_backoff","category":"error","quantity":3}]}"#;
    let transaction = json!({
        "type": "transaction", "transaction": "/cart/{id}", "timestamp": 1796531729.5,
        "start_timestamp": 1796531729.4, "tags": {"service": "cart-api"},
        "contexts": {"trace": {"op": "http.server", "status": "internal_error", "trace_id": "0af7651916cd43dd8448eb211c80319c", "span_id": "b7ad6b7169203331", "data": {"http.response.status_code": 500}}}
    }).to_string();
    let attachment = b"line one\r\nline two\r\n";
    let mixed = envelope(
        json!({"event_id": "aa5fd5c47e0c4b8e9f0e2b6e5e1d9a11", "sent_at": "2025-07-31T23:05:37.0926585+00:00"}),
        &[
            (r#"{"type":"session"}"#, br#"{"sid":"x","status":"ok"}"#),
            (
                &format!(
                    r#"{{"type":"attachment","length":{},"filename":"a.txt"}}"#,
                    attachment.len()
                ),
                attachment,
            ),
            (r#"{"type":"trace_metric","length":2}"#, b"{}"),
            (r#"{"type":"client_report"}"#, report),
            (r#"{"type":"transaction"}"#, transaction.as_bytes()),
        ],
        &json!({
            "platform": "python", "timestamp": "2026-12-06T04:33:53.777456Z",
            "exception": {"values": [{"type": "ValueError", "value": "bad cart", "mechanism": {"type": "django", "handled": false},
                "stacktrace": {"frames": [{"filename": "cart/views.py", "abs_path": "/srv/cart/views.py", "function": "add", "lineno": 3, "in_app": true}]}}]},
            "tags": [["service", "cart-api"]],
            "request": {"method": "POST", "url": "https://shop.example/cart/9", "query_string": "token=abc&page=2",
                        "headers": {"Authorization": "Bearer sekrit", "Cookie": "sid=sekrit2", "Accept": "*/*"},
                        "data": {"card": {"password": "sekrit3", "note": "ok"}}}
        }),
    );
    let r = post(&url(42, "envelope"), &[("x-sentry-auth", &auth)], mixed).await;
    assert_eq!(
        (r.status, &r.body),
        (200, &json!({"id": "aa5fd5c47e0c4b8e9f0e2b6e5e1d9a11"}))
    );
    stored += 1;
    // Nothing to store (a session only): 200 and `{}`.
    let mut sessions = b"{}\n".to_vec();
    sessions.extend_from_slice(b"{\"type\":\"session\"}\n{\"sid\":\"y\"}\n");
    let r = post(&url(42, "envelope"), &[("x-sentry-auth", &auth)], sessions).await;
    assert_eq!((r.status, &r.body), (200, &json!({})));

    // `/store/`: one event as JSON; flat exception list, float timestamp, tags as pairs.
    let store_event = json!({
        "event_id": "bb5fd5c4-7e0c-4b8e-9f0e-2b6e5e1d9a11", "timestamp": 1796531729.25, "platform": "javascript",
        "exception": [{"type": "TypeError", "value": "x is undefined",
            "stacktrace": {"frames": [{"filename": "/srv/shop/cart.js", "function": "total", "lineno": 10, "colno": 5}]}}],
        "tags": [["service", "web"], ["region", "eu"]], "user": {"id": 42}
    });
    let r = post(
        &url(42, "store"),
        &[
            ("x-sentry-auth", &auth),
            ("content-type", "application/json"),
            ("content-encoding", "gzip"),
        ],
        gzip(store_event.to_string().as_bytes()),
    )
    .await;
    assert_eq!(
        (r.status, &r.body),
        (200, &json!({"id": "bb5fd5c47e0c4b8e9f0e2b6e5e1d9a11"}))
    );
    stored += 1;

    // Browser preflight.
    let pre = reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, url(42, "envelope"))
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("preflight");
    assert_eq!(pre.status(), 200);
    let allowed = pre
        .headers()
        .get("access-control-allow-headers")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        allowed.contains("x-sentry-auth") && allowed.contains("content-encoding"),
        "{allowed}"
    );

    // Rate limits: 429 with the headers both SDKs obey.
    let (tiny, tiny_auth) = (url(7, "envelope"), format!("Sentry sentry_key={TINY_KEY}"));
    let first = post(&tiny, &[("x-sentry-auth", &tiny_auth)], chained.clone()).await;
    assert_eq!(first.status, 200);
    let second = post(&tiny, &[("x-sentry-auth", &tiny_auth)], chained.clone()).await;
    assert_eq!(second.status, 429, "{:?}", second.body);
    let retry = header(&second, "retry-after")
        .parse::<u32>()
        .expect("Retry-After");
    assert!(retry >= 1);
    assert!(
        header(&second, "x-sentry-rate-limits").starts_with(&format!("{retry}::project")),
        "{}",
        header(&second, "x-sentry-rate-limits")
    );

    crate::common::wait_count(&s, "shop", stored).await;
    crate::common::wait_count(&s, "blog", 1).await;
    crate::common::wait_count(&s, "tiny", 1).await;
    let rows = s.store.occurrences("shop", None, 100).await.expect("rows");
    // Every copy of sentry-python's event is one issue, with its header's id.
    let chained_rows: Vec<_> = rows
        .iter()
        .filter(|r| r.exception_type == "__main__.PaymentError")
        .collect();
    assert_eq!(chained_rows.len(), 6);
    assert!(
        chained_rows
            .iter()
            .all(|r| r.fingerprint == chained_rows[0].fingerprint && r.event_id == header_id)
    );
    assert!(
        chained_rows
            .iter()
            .all(|r| r.source == "sentry_envelope" && r.service == "checkout")
    );
    let cart = rows
        .iter()
        .find(|r| r.exception_type == "ValueError")
        .expect("the mixed envelope's event");
    assert_eq!(
        (cart.http_status, cart.severity.as_str()),
        (500, "critical"),
        "uncaught in a request"
    );
    assert_eq!(
        cart.url,
        "https://shop.example/cart/9?token=[Filtered]&page=2"
    );
    let row_text = format!("{cart:?}");
    for secret in ["sekrit", "sekrit2", "sekrit3"] {
        assert!(!row_text.contains(secret), "{secret} stored: {row_text}");
    }
    let js_row = rows
        .iter()
        .find(|r| r.source == "sentry_store")
        .expect("the /store/ event");
    assert_eq!(
        (
            js_row.exception_type.as_str(),
            js_row.service.as_str(),
            js_row.timestamp
        ),
        ("TypeError", "web", 1_796_531_729)
    );
    assert!(rows.iter().any(|r| r.message == "through a tunnel"));
    // The transaction counted as a failed request of its service.
    let requests = s.store.request_totals("shop").await.expect("requests");
    let cart_api = requests
        .iter()
        .find(|r| r.service == "cart-api")
        .expect("cart-api requests");
    assert_eq!((cart_api.requests, cart_api.failed), (1, 1));

    let metrics = crate::common::metrics(&s).await;
    for line in [
        "faultline_sentry_client_discarded_events_total{project=\"shop\",reason=\"ratelimit_backoff\",category=\"error\"} 3",
        "faultline_refused_requests_total{reason=\"unauthenticated\",source=\"sentry_envelope\"} 4",
        "faultline_refused_requests_total{reason=\"too_large\",source=\"sentry_envelope\"} 1",
        "faultline_refused_requests_total{reason=\"rate_limited\",source=\"sentry_envelope\"} 1",
        "faultline_accepted_total{source=\"sentry_store\"} 1",
    ] {
        assert!(metrics.contains(line), "{line}\n{metrics}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentry_webhooks_are_checked_signed_and_dispatched() {
    const SECRET: &str = "hook-secret-0123456789";
    let (mut cfg, sc) = crate::common::test_config(&projects());
    cfg.sentry_hook_secret = SECRET.into();
    cfg.sentry_hook_projects = faultline::config::List::from("shop-web".to_string());
    let s = crate::common::start_with(cfg, &sc).await;
    let hook = format!("{}/sentry/webhook/{KEY}", s.http);
    let send = |resource: &'static str, body: Value, signature: Option<String>| {
        let hook = hook.clone();
        async move {
            let body = body.to_string().into_bytes();
            let sig = signature.unwrap_or_else(|| sign(SECRET, &body));
            let mut h = vec![
                ("content-type", "application/json".to_string()),
                ("sentry-hook-signature", sig),
            ];
            if !resource.is_empty() {
                h.push(("sentry-hook-resource", resource.to_string()));
            }
            let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post(&hook, &h, body).await
        }
    };
    let event = |slug: &str, value: &str| {
        json!({
            "event_id": "cc5fd5c47e0c4b8e9f0e2b6e5e1d9a11", "platform": "python", "level": "error",
            "url": format!("https://sentry.io/api/0/projects/acme/{slug}/events/cc5fd5c47e0c4b8e9f0e2b6e5e1d9a11/"),
            "exception": {"values": [{"type": "KeyError", "value": value, "stacktrace": {"frames": [
                {"abs_path": "/srv/shop/views.py", "filename": "views.py", "function": "checkout", "lineno": 3, "in_app": true}]}}]},
            "tags": [["service", "shop-web"], ["level", "error"]],
            "request": {"url": "https://shop.example/checkout", "method": "POST", "headers": [["Authorization", "Bearer sekrit"]]}
        })
    };

    let ok = send("event_alert", json!({"action": "triggered", "data": {"event": event("shop-web", "'card'"), "triggered_rule": "r"}}), None).await;
    assert_eq!(
        (ok.status, &ok.body),
        (200, &json!({"status": "ok", "stored": 1}))
    );
    let error = send(
        "error",
        json!({"action": "created", "data": {"error": event("shop-web", "'sku'")}}),
        None,
    )
    .await;
    assert_eq!(error.status, 200, "{:?}", error.body);
    let forged = send(
        "event_alert",
        json!({"action": "triggered", "data": {"event": event("shop-web", "x")}}),
        Some(sign("wrong", b"{}")),
    )
    .await;
    assert_eq!(forged.status, 401, "{:?}", forged.body);
    let unsigned = post(
        &hook,
        &[("sentry-hook-resource", "event_alert")],
        json!({"data": {"event": event("shop-web", "x")}})
            .to_string()
            .into_bytes(),
    )
    .await;
    assert_eq!(unsigned.status, 401);
    let other = send(
        "event_alert",
        json!({"action": "triggered", "data": {"event": event("blog-web", "x")}}),
        None,
    )
    .await;
    assert_eq!(other.status, 403, "{:?}", other.body);
    let issue = send("issue", json!({"action": "resolved", "data": {"issue": {"id": "1", "project": {"slug": "shop-web"}}}}), None).await;
    assert_eq!(
        (issue.status, &issue.body),
        (200, &json!({"status": "ok", "stored": 0}))
    );
    for resource in ["installation", "metric_alert", "comment", "seer"] {
        let r = send(resource, json!({"action": "created", "data": {}}), None).await;
        assert_eq!(r.status, 200, "{resource}: {:?}", r.body);
    }
    // The legacy plugin's body, signed here since a secret is set.
    let legacy = send(
        "",
        json!({"project_slug": "shop-web", "event": event("shop-web", "'legacy'")}),
        None,
    )
    .await;
    assert_eq!(legacy.status, 200, "{:?}", legacy.body);
    let bad_token = post(
        &format!("{}/sentry/webhook/nope", s.http),
        &[],
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(bad_token.status, 401);

    crate::common::wait_count(&s, "shop", 3).await;
    let rows = s.store.occurrences("shop", None, 10).await.expect("rows");
    assert!(
        rows.iter()
            .all(|r| r.source == "sentry_webhook" && r.service == "shop-web")
    );
    assert_eq!(
        rows.iter()
            .map(|r| &r.fingerprint)
            .collect::<std::collections::HashSet<_>>()
            .len(),
        1,
        "one bug, one issue"
    );
    assert!(rows.iter().all(|r| !format!("{r:?}").contains("sekrit")));
    let metrics = crate::common::metrics(&s).await;
    for line in [
        "faultline_sentry_hook_deliveries_total{resource=\"issue\",action=\"resolved\"} 1",
        "faultline_sentry_hook_deliveries_total{resource=\"legacy\",action=\"none\"} 1",
        // Forged, unsigned, unknown token (401) and the other project (403).
        "faultline_refused_requests_total{reason=\"unauthenticated\",source=\"sentry_webhook\"} 4",
    ] {
        assert!(metrics.contains(line), "{line}\n{metrics}");
    }

    // Without a secret or a filter: seed 003's flat event, unsigned, its trace as text.
    let s2 = crate::common::start(&projects()).await;
    let flat = json!({"event_id": "dd5fd5c47e0c4b8e9f0e2b6e5e1d9a11", "project": "anything", "message": "Something bad happened", "timestamp": 1796531729,
        "exception": {"type": "ValueError", "value": "Something bad happened",
            "stacktrace": "Traceback (most recent call last):\n  File \"/srv/app/jobs.py\", line 9, in run\n    go()\nValueError: Something bad happened"}});
    let r = post(
        &format!("{}/sentry/webhook/{KEY}", s2.http),
        &[],
        flat.to_string().into_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    crate::common::wait_count(&s2, "shop", 1).await;
    let row = &s2.store.occurrences("shop", None, 1).await.expect("rows")[0];
    assert_eq!(
        (row.exception_type.as_str(), row.culprit.as_str()),
        ("ValueError", "jobs in run")
    );
    assert!(row.stacktrace.contains("jobs.py"));
}
