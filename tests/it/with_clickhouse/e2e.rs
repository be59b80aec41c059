//! End to end, for real: `faultline serve` on port 0, the test ClickHouse, and real clients (the
//! Rust OpenTelemetry SDK's OTLP exporters over gRPC, HTTP/protobuf and HTTP/JSON; reqwest for the
//! webhook and for bad input; tonic for gRPC authentication).

use std::collections::HashMap;
use std::io::Write;

use crate::common::{start, start_with, test_config, wait_count};
use opentelemetry::KeyValue;
use opentelemetry::trace::{Span, SpanKind, Status, Tracer, TracerProvider};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use prost::Message;

const TOKEN: &str = "shop-token-0123456789";
const PROJECTS: &str = "shop:shop-token-0123456789,blog:blog-token-0123456789";

const PY_TRACE: &str = "Traceback (most recent call last):\n  File \"/srv/shop/releases/LINE/app/views.py\", line LINE, in checkout\n    total = cart.total()\n  File \"/srv/shop/releases/LINE/app/cart.py\", line 88, in total\n    return sum(i.price for i in self.items)\nTypeError: unsupported operand type(s) for +: 'int' and 'NoneType'";

fn record(provider: &SdkTracerProvider, release_line: u32, with_error: bool, status: i64) {
    let tracer = provider.tracer("e2e");
    let mut span = tracer
        .span_builder("GET /checkout")
        .with_kind(SpanKind::Server)
        .with_attributes(vec![
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("http.route", "/checkout"),
            KeyValue::new("http.response.status_code", status),
            KeyValue::new("url.full", "https://shop.example/checkout?cart=42"),
        ])
        .start(&tracer);
    if with_error {
        span.add_event(
            "exception",
            vec![
                KeyValue::new("exception.type", "TypeError"),
                KeyValue::new(
                    "exception.message",
                    format!("unsupported operand for cart {release_line}"),
                ),
                KeyValue::new(
                    "exception.stacktrace",
                    PY_TRACE.replace("LINE", &release_line.to_string()),
                ),
                KeyValue::new("exception.escaped", true),
            ],
        );
        span.set_status(Status::error("boom"));
    }
    span.end();
    // A client span is not a request and must not be counted.
    let mut client = tracer
        .span_builder("SELECT")
        .with_kind(SpanKind::Client)
        .start(&tracer);
    client.end();
}

async fn provider(protocol: &str, endpoint: &str, service: &str) -> SdkTracerProvider {
    let resource = Resource::builder()
        .with_service_name(service.to_string())
        .with_attribute(KeyValue::new("deployment.environment.name", "prod"))
        .with_attribute(KeyValue::new("service.version", "2.4.1"))
        .build();
    let endpoint = endpoint.to_string();
    let protocol = protocol.to_string();
    // The HTTP exporter's blocking client must be built off the async runtime.
    tokio::task::spawn_blocking(move || {
        let exporter = match protocol.as_str() {
            "grpc" => {
                let mut md = tonic::metadata::MetadataMap::new();
                md.insert(
                    "authorization",
                    format!("Bearer {TOKEN}").parse().expect("metadata"),
                );
                opentelemetry_otlp::SpanExporter::builder()
                    .with_tonic()
                    .with_endpoint(endpoint)
                    .with_metadata(md)
                    .with_compression(opentelemetry_otlp::Compression::Gzip)
                    .build()
                    .expect("grpc exporter")
            }
            proto => opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_endpoint(format!("{endpoint}/v1/traces"))
                .with_protocol(if proto == "http-json" {
                    Protocol::HttpJson
                } else {
                    Protocol::HttpBinary
                })
                .with_headers(HashMap::from([(
                    "x-faultline-token".to_string(),
                    TOKEN.to_string(),
                )]))
                .build()
                .expect("http exporter"),
        };
        SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build()
    })
    .await
    .expect("build provider")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rust_sdk_exports_over_grpc_http_proto_and_http_json() {
    let s = start(PROJECTS).await;
    for (i, protocol) in ["grpc", "http-proto", "http-json"].into_iter().enumerate() {
        let endpoint = if protocol == "grpc" {
            s.grpc.clone()
        } else {
            s.http.clone()
        };
        let service = format!("checkout-{protocol}");
        let p = provider(protocol, &endpoint, &service).await;
        // The same bug twice (line numbers and ids differ), and one plain successful request.
        record(&p, 10, true, 500);
        record(&p, 27, true, 500);
        record(&p, 0, false, 200);
        tokio::task::spawn_blocking(move || {
            p.force_flush().expect("flush");
            p.shutdown().expect("shutdown");
        })
        .await
        .expect("flush task");
        wait_count(&s, "shop", 2 * (i as u64 + 1)).await;
    }
    let rows = s.store.occurrences("shop", None, 100).await.expect("rows");
    assert_eq!(rows.len(), 6);
    for r in &rows {
        assert_eq!(r.exception_type, "TypeError");
        assert_eq!(r.severity, "critical");
        assert_eq!(r.http_status, 500);
        assert_eq!(r.http_method, "GET");
        assert_eq!(r.http_route, "/checkout");
        assert_eq!(
            (r.environment.as_str(), r.release.as_str()),
            ("prod", "2.4.1")
        );
        assert_eq!(r.trace_id.len(), 32);
        assert_eq!(r.span_id.len(), 16);
        assert_eq!(r.source, "otlp_trace");
        assert!(r.stacktrace.starts_with("Traceback"));
        assert_eq!(r.culprit, "cart in total");
    }
    // One bug per service: two occurrences each, sharing a fingerprint; services do not share.
    let mut by_service: HashMap<&str, Vec<&str>> = HashMap::new();
    for r in &rows {
        by_service
            .entry(r.service.as_str())
            .or_default()
            .push(r.fingerprint.as_str());
    }
    assert_eq!(by_service.len(), 3);
    let mut fps: Vec<&str> = by_service
        .values()
        .map(|v| {
            assert_eq!(v.len(), 2);
            assert_eq!(
                v[0], v[1],
                "line numbers and release paths must not split an issue"
            );
            v[0]
        })
        .collect();
    fps.dedup();
    assert_eq!(fps.len(), 3, "different services are different issues");
    // Request totals: 3 SERVER spans per service, 2 of them failed; client spans not counted.
    let totals = s.store.request_totals("shop").await.expect("totals");
    assert_eq!(totals.len(), 3, "{totals:?}");
    for t in totals {
        assert_eq!((t.requests, t.failed), (3, 2), "{t:?}");
    }
    // The API lists them.
    let body = crate::common::issues(&s, "project=shop").await;
    assert_eq!(body["total"], 3);
    assert!(
        body["data"]
            .as_array()
            .expect("array")
            .iter()
            .all(|i| i["count"] == 2)
    );
    s.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_batches_are_all_or_nothing_and_acknowledged_in_order() {
    let s = start(PROJECTS).await;
    let c = reqwest::Client::new();
    let url = format!("{}/webhook/error/{TOKEN}", s.http);
    let ev = |i: u32, cls: &str| {
        serde_json::json!({"event_id": format!("batch-{i}"), "message": format!("boom {i}"),
            "exception_class": cls, "stack_trace": format!("#0 /app/src/Jobs/{cls}.php(1{i}): run()\n#1 {{main}}")})
    };
    // One bad event (no message) refuses the whole array, naming it; nothing is stored.
    let bad = c
        .post(&url)
        .json(&serde_json::json!([ev(0, "A"), {"exception_class": "B"}, ev(2, "A")]))
        .send()
        .await
        .expect("bad");
    assert_eq!(bad.status(), 400);
    let body: serde_json::Value = bad.json().await.expect("json");
    let msg = body["error"]["message"].as_str().expect("message");
    assert!(msg.contains("event 1"), "{msg}");
    let empty = c
        .post(&url)
        .json(&serde_json::json!([]))
        .send()
        .await
        .expect("empty");
    assert_eq!(empty.status(), 400);
    // A good array: stored together, one acknowledgement per event, in order.
    let events: Vec<serde_json::Value> = (0..5)
        .map(|i| ev(i, if i % 2 == 0 { "A" } else { "B" }))
        .collect();
    let ok = c.post(&url).json(&events).send().await.expect("ok");
    assert_eq!(ok.status(), 200);
    let ack: serde_json::Value = ok.json().await.expect("json");
    assert_eq!(ack["accepted"], 5);
    let acks = ack["events"].as_array().expect("events");
    let ids: Vec<&str> = acks.iter().map(|a| a["id"].as_str().expect("id")).collect();
    assert_eq!(ids, ["batch-0", "batch-1", "batch-2", "batch-3", "batch-4"]);
    assert_eq!(acks[0]["fingerprint"], acks[2]["fingerprint"]);
    assert_ne!(acks[0]["fingerprint"], acks[1]["fingerprint"]);
    wait_count(&s, "shop", 5).await;
    let rows = s.store.occurrences("shop", None, 10).await.expect("rows");
    assert!(
        rows.iter()
            .all(|r| r.stacktrace.starts_with("#0 /app/src/Jobs/"))
    );
}

#[tokio::test]
async fn webhook_round_trip_and_grouping() {
    let s = start(PROJECTS).await;
    let c = reqwest::Client::new();
    let post = |body: serde_json::Value, token: &str| {
        c.post(format!("{}/webhook/error/{token}", s.http))
            .json(&body)
            .send()
    };
    let payload = |user: u32, line: u32, method: &str| {
        serde_json::json!({
            "message": format!("Call to undefined method User::{method}() for user {user}"),
            "exception_class": "Error",
            "stack_trace": format!("#0 /var/www/releases/{line}/src/Controller/UserController.php({line}): App\\Controller\\UserController->{method}()\n#1 /var/www/releases/{line}/vendor/symfony/http-kernel/HttpKernel.php(163): handle()\n#2 {{main}}"),
            "file": "/var/www/src/Controller/UserController.php",
            "line": line,
            "project": "mon-site-ecommerce",
            "environment": "prod",
            "http_status": 500,
            "timestamp": "2025-06-02T14:30:25+02:00",
            "request": {"url": "https://monsite.com/profile", "method": "GET", "route": "user_profile", "ip": "192.168.1.100", "user_agent": "Mozilla/5.0"},
            "server": {"php_version": "8.2.7", "memory_usage": 12582912},
            "custom_context": {"cart": 3}
        })
    };
    let a: serde_json::Value = post(payload(1, 45, "getEmaill"), TOKEN)
        .await
        .expect("a")
        .json()
        .await
        .expect("json");
    let b: serde_json::Value = post(payload(2, 51, "getEmaill"), TOKEN)
        .await
        .expect("b")
        .json()
        .await
        .expect("json");
    let other: serde_json::Value = post(payload(1, 45, "getNamme"), TOKEN)
        .await
        .expect("c")
        .json()
        .await
        .expect("json");
    let client_fp = post(
        serde_json::json!({"message": "x", "fingerprint": "my-own-group"}),
        TOKEN,
    )
    .await
    .expect("d");
    assert_eq!(client_fp.status(), 200);
    let client_fp: serde_json::Value = client_fp.json().await.expect("json");
    assert_eq!(a["project"], "shop");
    assert_eq!(
        a["fingerprint"], b["fingerprint"],
        "same bug, other user and line: one issue"
    );
    assert_ne!(
        a["fingerprint"], other["fingerprint"],
        "other method: other issue"
    );
    assert_eq!(
        client_fp["fingerprint"], "my-own-group",
        "client fingerprint wins"
    );
    wait_count(&s, "shop", 4).await;
    let fp = a["fingerprint"].as_str().expect("fp");
    let rows = s
        .store
        .occurrences("shop", Some(fp), 10)
        .await
        .expect("rows");
    let r = &rows[0];
    assert_eq!(
        r.timestamp, 1_748_867_425,
        "timestamp with offset converted to UTC"
    );
    assert_eq!(
        (r.service.as_str(), r.environment.as_str(), r.http_status),
        ("mon-site-ecommerce", "prod", 500)
    );
    assert_eq!(
        (
            r.http_method.as_str(),
            r.http_route.as_str(),
            r.url.as_str()
        ),
        ("GET", "user_profile", "https://monsite.com/profile")
    );
    assert_eq!(r.severity, "critical");
    let attrs: HashMap<&str, &str> = r
        .attr_keys
        .iter()
        .map(String::as_str)
        .zip(r.attr_values.iter().map(String::as_str))
        .collect();
    assert_eq!(attrs.get("server.php_version"), Some(&"8.2.7"));
    assert_eq!(attrs.get("client.address"), Some(&"192.168.1.100"));
    assert_eq!(attrs.get("custom_context"), Some(&"{\"cart\":3}"));
    let body = crate::common::api_json(&s, "/api/v1/errors").await;
    let item = body["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|i| i["fingerprint"] == fp)
        .expect("listed")
        .clone();
    assert_eq!(item["count"], 2);
    assert_eq!(item["exception_type"], "Error");
    s.running.shutdown().await;
}

#[tokio::test]
async fn wrong_or_missing_tokens_are_refused_and_nothing_is_stored() {
    let s = start(PROJECTS).await;
    let c = reqwest::Client::new();
    let req = faultline_proto::otlp::collector::trace::v1::ExportTraceServiceRequest::default()
        .encode_to_vec();
    for headers in [
        vec![],
        vec![("authorization", "Bearer nope-nope-nope")],
        vec![("x-faultline-token", "")],
    ] {
        let mut r = c
            .post(format!("{}/v1/traces", s.http))
            .header("content-type", "application/x-protobuf")
            .body(req.clone());
        for (k, v) in headers {
            r = r.header(k, v);
        }
        let resp = r.send().await.expect("send");
        assert_eq!(resp.status(), 401);
        let body: serde_json::Value = resp.json().await.expect("json");
        assert_eq!(body["error"]["code"], "unauthenticated");
    }
    let resp = c
        .post(format!("{}/webhook/error/not-a-token", s.http))
        .json(&serde_json::json!({"message": "m"}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 401);
    // gRPC without a token.
    let mut client = faultline_proto::otlp::collector::trace::v1::trace_service_client::TraceServiceClient::connect(s.grpc.clone())
        .await
        .expect("connect");
    let err = client
        .export(faultline_proto::otlp::collector::trace::v1::ExportTraceServiceRequest::default())
        .await
        .expect_err("unauthenticated");
    assert_eq!(err.code(), tonic::Code::Unauthenticated);
    // With the right token, the same gRPC call is fine.
    let mut ok = tonic::Request::new(
        faultline_proto::otlp::collector::trace::v1::ExportTraceServiceRequest::default(),
    );
    ok.metadata_mut().insert(
        "authorization",
        format!("Bearer {TOKEN}").parse().expect("md"),
    );
    client.export(ok).await.expect("authenticated export");
    assert_eq!(s.store.count_occurrences("shop").await.expect("count"), 0);
    assert_eq!(
        s.store.count_occurrences("default").await.expect("count"),
        0
    );
    s.running.shutdown().await;
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

#[tokio::test]
async fn bad_input_gets_clear_errors() {
    let (mut cfg, sc) = test_config("");
    cfg.max_body_bytes = 64 * 1024;
    cfg.max_decompressed_bytes = 256 * 1024;
    let s = start_with(cfg, &sc).await;
    let c = reqwest::Client::new();
    let send = |path: &str, ct: &str, enc: Option<&str>, body: Vec<u8>| {
        let mut r = c
            .post(format!("{}{path}", s.http))
            .header("content-type", ct)
            .body(body);
        if let Some(e) = enc {
            r = r.header("content-encoding", e);
        }
        r.send()
    };
    // (path, content type, content encoding, body, expected status, text the error must contain)
    type Case = (
        &'static str,
        &'static str,
        Option<&'static str>,
        Vec<u8>,
        u16,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "/v1/traces",
            "application/x-protobuf",
            None,
            b"\xff\xff\xff\xff garbage".to_vec(),
            400,
            "protobuf",
        ),
        (
            "/v1/logs",
            "application/json",
            None,
            b"{\"resourceLogs\": [".to_vec(),
            400,
            "JSON",
        ),
        (
            "/v1/traces",
            "text/xml",
            None,
            b"<x/>".to_vec(),
            415,
            "text/xml",
        ),
        (
            "/v1/traces",
            "application/json",
            Some("zstd"),
            b"{}".to_vec(),
            415,
            "zstd",
        ),
        (
            "/v1/traces",
            "application/json",
            Some("gzip"),
            b"not gzip".to_vec(),
            400,
            "gzip",
        ),
        (
            "/v1/traces",
            "application/json",
            None,
            vec![b' '; 100 * 1024],
            413,
            "FAULTLINE_MAX_BODY_BYTES",
        ),
        (
            "/v1/traces",
            "application/json",
            Some("gzip"),
            gzip(&vec![b' '; 1024 * 1024]),
            413,
            "decompressed",
        ),
        (
            "/webhook/error/dev",
            "application/json",
            None,
            b"{\"exception_class\": \"E\"}".to_vec(),
            400,
            "message",
        ),
        (
            "/webhook/error/dev",
            "application/json",
            None,
            b"{\"message\": \"m\", \"timestamp\": \"yesterday\"}".to_vec(),
            400,
            "timestamp",
        ),
        (
            "/webhook/error/dev",
            "application/xml",
            None,
            b"<x/>".to_vec(),
            415,
            "application/json",
        ),
    ];
    for (path, ct, enc, body, status, needle) in cases {
        let resp = send(path, ct, enc, body).await.expect("send");
        assert_eq!(resp.status().as_u16(), status, "{path} {ct} {enc:?}");
        let text = resp.text().await.expect("text");
        assert!(
            text.contains(needle),
            "{path}: body {text:?} should name {needle:?}"
        );
        let v: serde_json::Value = serde_json::from_str(&text).expect("a JSON error body");
        assert!(
            v["error"]["code"].is_string() && v["error"]["message"].is_string(),
            "{text}"
        );
    }
    // A chunked body (no Content-Length, as @sentry/node sends) is cut at the limit too.
    let chunked = {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = s.http.trim_start_matches("http://");
        let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let head = "POST /webhook/error/dev HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
        tcp.write_all(head.as_bytes()).await.expect("head");
        let chunk = format!("4000\r\n{}\r\n", " ".repeat(0x4000));
        // 80 KiB in 16 KiB chunks (the server may answer and close before the last).
        for _ in 0..5 {
            if tcp.write_all(chunk.as_bytes()).await.is_err() {
                break;
            }
        }
        let _ = tcp.write_all(b"0\r\n\r\n").await;
        // Read until the error body has come (or the server closed, or 10 s passed).
        let mut answer = Vec::new();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&answer).contains("}}") {
            match tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => answer.extend_from_slice(&buf[..n]),
                _ => break,
            }
        }
        String::from_utf8_lossy(&answer).into_owned()
    };
    assert!(
        chunked.starts_with("HTTP/1.1 413") && chunked.contains("FAULTLINE_MAX_BODY_BYTES"),
        "{chunked}"
    );
    // Well-formed but empty requests are fine, in both encodings, gzip or not.
    let empty = faultline_proto::otlp::collector::trace::v1::ExportTraceServiceRequest::default()
        .encode_to_vec();
    assert_eq!(
        send(
            "/v1/traces",
            "application/x-protobuf",
            Some("gzip"),
            gzip(&empty)
        )
        .await
        .expect("send")
        .status(),
        200
    );
    assert_eq!(
        send(
            "/v1/logs",
            "application/json; charset=utf-8",
            None,
            b"{}".to_vec()
        )
        .await
        .expect("send")
        .status(),
        200
    );
    // The server is still healthy and counted what it refused.
    assert_eq!(
        reqwest::get(format!("{}/health/live", s.http))
            .await
            .expect("live")
            .status(),
        200
    );
    let metrics = crate::common::metrics(&s).await;
    assert!(
        metrics.contains(
            "faultline_refused_requests_total{reason=\"malformed\",source=\"otlp_http_traces\"} 2"
        ),
        "{metrics}"
    );
    // Both 413s are counted: the body over the limit and the one inflating past it.
    assert!(
        metrics.contains(
            "faultline_refused_requests_total{reason=\"too_large\",source=\"otlp_http_traces\"} 2"
        ),
        "{metrics}"
    );
    assert_eq!(
        s.store.count_occurrences("default").await.expect("count"),
        0
    );
    s.running.shutdown().await;
}

#[tokio::test]
async fn clickhouse_down_means_spooled_not_ready_but_alive_and_a_full_spool_means_503() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead = format!("http://{}", l.local_addr().expect("addr"));
    drop(l);
    let (mut cfg, _) = test_config("");
    cfg.clickhouse_url = dead;
    cfg.spool_max_bytes = 1 << 20;
    let running = faultline::serve::start(cfg, faultline::serve::Roles::ALL)
        .await
        .expect("starts without ClickHouse");
    let http = format!("http://{}", running.http_addr.expect("http"));
    let c = reqwest::Client::new();
    let get = |path: &'static str| {
        let c = c.clone();
        let url = format!("{http}{path}");
        async move { c.get(url).send().await.expect("get").status().as_u16() }
    };
    assert_eq!(get("/health/live").await, 200);
    assert_eq!(get("/health/ready").await, 503, "migrations have not run");
    // Accepted anyway: on disk, acknowledged, inserted once ClickHouse answers.
    let resp = c
        .post(format!("{http}/webhook/error/dev"))
        .json(&serde_json::json!({"message": "kept on disk"}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200, "spooled");
    // Fill the spool (1 MiB): big distinct stack traces (a repeated one is spooled once), 64 KiB
    // each after truncation.
    let mut accepted = 1;
    let full = loop {
        let big = format!("{accepted}{}", "x".repeat(200_000));
        let resp = c
            .post(format!("{http}/webhook/error/dev"))
            .json(&serde_json::json!({"message": "big", "stack_trace": big}))
            .send()
            .await
            .expect("send");
        if resp.status() != 200 {
            break resp;
        }
        accepted += 1;
        assert!(accepted < 100, "the spool never filled");
    };
    assert_eq!(full.status(), 503);
    assert_eq!(
        full.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("10")
    );
    let body: serde_json::Value = full.json().await.expect("json");
    assert_eq!(body["error"]["code"], "spool_full", "{body}");
    // ClickHouse down and the spool full: the report names the failing check and answers 503.
    let report = c
        .get(format!("{http}/health"))
        .send()
        .await
        .expect("health");
    assert_eq!(report.status(), 503);
    let report: serde_json::Value = report.json().await.expect("json");
    assert_eq!(report["status"], "unhealthy", "{report}");
    assert_eq!(report["checks"]["clickhouse"]["status"], "down", "{report}");
    assert!(
        report["checks"]["clickhouse"]["message"].is_string(),
        "{report}"
    );
    assert_eq!(get("/health/ready").await, 503);
    assert_eq!(get("/health/live").await, 200);
    let metrics = c
        .get(format!("{http}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("faultline_dropped_total{reason=\"spool_full\",source=\"webhook\"} 1"),
        "{metrics}"
    );
    running.shutdown().await;
}

#[tokio::test]
async fn grpc_malformed_protobuf_is_invalid_argument() {
    let s = start("").await;
    let channel = tonic::transport::Endpoint::from_shared(s.grpc.clone())
        .expect("endpoint")
        .connect()
        .await
        .expect("connect");
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("ready");
    let path = http::uri::PathAndQuery::from_static(
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    );
    let err = grpc
        .unary(
            // Raw bytes on the wire, to put malformed protobuf there.
            tonic::Request::new(bytes::Bytes::from_static(&[0xff, 0xff, 0xff, 0xff, 0x0f])),
            path,
            faultline_collector::grpc::BytesCodec,
        )
        .await
        .expect_err("garbage must be refused");
    assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err:?}");
    assert!(
        err.message().contains("malformed protobuf"),
        "{}",
        err.message()
    );
    s.running.shutdown().await;
}

#[tokio::test]
async fn limits_scrubbing_and_rate_limits_on_the_real_path() {
    let (mut cfg, sc) = test_config("");
    cfg.rate_limits = "default=20:20".parse().expect("valid rates");
    cfg.max_attributes = 10;
    let s = start_with(cfg, &sc).await;
    let c = reqwest::Client::new();
    let mut extra = serde_json::Map::new();
    extra.insert("authorization".into(), "Bearer abc.def".into());
    for i in 0..30 {
        extra.insert(format!("k{i:02}"), "v".into());
    }
    // Unknown top-level fields become attributes.
    let mut body = serde_json::json!({
        "message": "card 4111 1111 1111 1111 rejected, password=hunter2",
        "exception_class": "PaymentError",
        "stack_trace": "x".repeat(100_000),
        "request": {"url": "https://shop.example/pay?token=t0k3n&step=2", "method": "POST"},
    });
    body.as_object_mut().expect("object").extend(extra);
    let resp = c
        .post(format!("{}/webhook/error/dev", s.http))
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
    wait_count(&s, "default", 1).await;
    let row = s
        .store
        .occurrences_page("default", None, None, 1)
        .await
        .expect("page")
        .pop()
        .expect("row");
    assert_eq!(row.message, "card [Filtered] rejected, password=[Filtered]");
    assert!(
        row.url.contains("token=[Filtered]") && row.url.contains("step=2"),
        "{}",
        row.url
    );
    assert!(row.stacktrace.len() <= 64 << 10);
    assert!(
        row.stacktrace
            .ends_with(faultline_collector::limits::TRUNCATED)
    );
    assert_eq!(row.attr_keys.len(), 10, "{:?}", row.attr_keys);
    assert_eq!(row.attr_keys[9], "faultline.dropped_attributes");
    assert!(
        row.attr_values.iter().all(|v| !v.contains("abc.def")),
        "{:?}",
        row.attr_values
    );

    // 20 per second with a burst of 20: a quick run of 40 is cut short with 429 + Retry-After.
    let mut limited = None;
    for i in 0..40 {
        let r = c
            .post(format!("{}/webhook/error/dev", s.http))
            .json(&serde_json::json!({"message": format!("burst {i}")}))
            .send()
            .await
            .expect("send");
        if r.status() == 429 {
            limited = Some(r);
            break;
        }
    }
    let r = limited.expect("the burst was limited");
    assert!(r.headers().get("retry-after").is_some());
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("default")),
        "{body}"
    );
    s.running.shutdown().await;
}
