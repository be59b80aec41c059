//! The query API against a known dataset sent through the real ingest paths (webhook and
//! OTLP/HTTP protobuf) with timestamps spread over 40 days. Every answer is checked against counts
//! computed here, independently, from what was sent.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use faultline_proto::otlp::collector::trace::v1::ExportTraceServiceRequest;
use faultline_proto::otlp::common::v1::{AnyValue, KeyValue, any_value::Value};
use faultline_proto::otlp::resource::v1::Resource;
use faultline_proto::otlp::trace::v1::{ResourceSpans, ScopeSpans, Span, span::Event};
use prost::Message;
use serde_json::{Value as Json, json};

/// `quiet` never reports: the overview lists it all the same.
const PROJECTS: &str =
    "shop:shop-token-0123456789,blog:blog-token-0123456789,quiet:quiet-token-0123456789";
const SHOP: &str = "shop-token-0123456789";
const BLOG: &str = "blog-token-0123456789";
const DAY: u32 = 86_400;

fn now() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as u32
}

fn rfc3339(t: u32) -> String {
    time::OffsetDateTime::from_unix_timestamp(i64::from(t))
        .expect("time")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format")
}

/// What the test sent, per occurrence.
#[derive(Debug, Clone)]
struct Sent {
    project: &'static str,
    issue: &'static str,
    ts: u32,
    service: &'static str,
    environment: &'static str,
    release: &'static str,
    http_status: u16,
}

impl Sent {
    fn severity(&self) -> &'static str {
        match self.http_status {
            404 => "low",
            403 | 422 => "high",
            _ => "critical",
        }
    }
}

struct Issue {
    exception_type: &'static str,
    message: &'static str,
    stack: &'static str,
    path: &'static str,
}

fn issue_def(name: &str) -> Issue {
    match name {
        "A" => Issue {
            exception_type: "TypeError",
            message: "Cannot read properties of undefined (reading 'price') for cart 17",
            stack: "TypeError: x\n    at total (/srv/shop/cart.js:10:5)\n    at checkout (/srv/shop/routes.js:20:3)",
            path: "/checkout",
        },
        "B" => Issue {
            exception_type: "NotFoundHttpException",
            message: "No route found for \"GET /products/991\"",
            stack: "",
            path: "/products/{id}",
        },
        "C" => Issue {
            exception_type: "PermissionDenied",
            message: "user 42 may not edit order 7",
            stack: "Traceback (most recent call last):\n  File \"/app/orders/views.py\", line 12, in edit\n    w.check(user)\n  File \"/app/orders/perms.py\", line 5, in check\n    raise PermissionDenied(msg)\norders.perms.PermissionDenied: user 42 may not edit order 7",
            path: "/orders/{id}/edit",
        },
        "D" => Issue {
            exception_type: "KeyError",
            message: "'slug'",
            stack: "Traceback (most recent call last):\n  File \"/app/blog/views.py\", line 3, in post\n    return d['slug']\nKeyError: 'slug'",
            path: "/posts/{slug}",
        },
        "E" => Issue {
            exception_type: "ValueError",
            message: "invalid literal for int() with base 10: 'abc'",
            stack: "Traceback (most recent call last):\n  File \"/app/pay/amount.py\", line 8, in parse\n    return int(raw)\nValueError: invalid literal",
            path: "/pay",
        },
        "F" => Issue {
            exception_type: "TimeoutError",
            message: "upstream took 3000ms",
            stack: "Error: timeout\n    at fetchRates (/srv/shop/rates.js:4:9)",
            path: "/rates",
        },
        _ => Issue {
            exception_type: "RangeError",
            message: "Invalid array length",
            stack: "RangeError: Invalid array length\n    at grow (/srv/shop/buffer.js:2:1)",
            path: "/upload",
        },
    }
}

/// The dataset as sent, and the server it was sent to.
struct World {
    /// The server, when this world owns it (the shared one's lives on its own runtime).
    s: Option<crate::common::Server>,
    api: String,
    http: String,
    /// Each test its own client: connections belong to the runtime that made them.
    c: reqwest::Client,
    sent: Vec<Sent>,
    fp: HashMap<&'static str, String>,
    /// When the dataset was sent; occurrence times are relative to it.
    t0: u32,
}

impl World {
    async fn webhook(&mut self, e: Sent) {
        let d = issue_def(e.issue);
        let token = if e.project == "shop" { SHOP } else { BLOG };
        let mut body = json!({
            "message": d.message, "exception_class": d.exception_type, "stack_trace": d.stack,
            "service": e.service, "environment": e.environment, "release": e.release,
            "http_status": e.http_status, "timestamp": rfc3339(e.ts),
            "request": {"url": format!("https://shop.example{}?x=1", d.path.replace("{id}", "991")), "method": "GET", "route": d.path},
        });
        if d.stack.is_empty() {
            body.as_object_mut().expect("object").remove("stack_trace");
        }
        let resp = self
            .c
            .post(format!("{}/webhook/error/{token}", self.http))
            .json(&body)
            .send()
            .await
            .expect("webhook");
        assert_eq!(resp.status(), 200);
        let ack: Json = resp.json().await.expect("ack");
        let fp = ack["fingerprint"]
            .as_str()
            .expect("fingerprint")
            .to_string();
        if let Some(known) = self.fp.get(e.issue) {
            assert_eq!(known, &fp, "issue {} must keep one fingerprint", e.issue);
        }
        self.fp.insert(e.issue, fp);
        self.sent.push(e);
    }

    /// Sends occurrences of one issue as span events on SERVER spans, plus `ok_requests` successful
    /// SERVER spans at the same times, over OTLP/HTTP protobuf.
    async fn otlp(&mut self, events: Vec<Sent>, ok_requests: u32) {
        let kv = |k: &str, v: Value| KeyValue {
            key: k.into(),
            value: Some(AnyValue { value: Some(v) }),
            ..Default::default()
        };
        let mut spans = Vec::new();
        for (i, e) in events.iter().enumerate() {
            let d = issue_def(e.issue);
            let nanos = u64::from(e.ts) * 1_000_000_000;
            let attrs = vec![
                kv(
                    "http.response.status_code",
                    Value::IntValue(i64::from(e.http_status)),
                ),
                kv("http.route", Value::StringValue(d.path.into())),
                kv("http.request.method", Value::StringValue("POST".into())),
            ];
            spans.push(Span {
                trace_id: vec![i as u8 + 1; 16],
                span_id: vec![i as u8 + 1; 8],
                name: "POST".into(),
                kind: 2,
                start_time_unix_nano: nanos,
                end_time_unix_nano: nanos,
                attributes: attrs.clone(),
                events: vec![Event {
                    time_unix_nano: nanos,
                    name: "exception".into(),
                    attributes: vec![
                        kv(
                            "exception.type",
                            Value::StringValue(d.exception_type.into()),
                        ),
                        kv("exception.message", Value::StringValue(d.message.into())),
                        kv("exception.stacktrace", Value::StringValue(d.stack.into())),
                    ],
                    ..Default::default()
                }],
                ..Default::default()
            });
            for j in 0..ok_requests {
                spans.push(Span {
                    trace_id: vec![200; 16],
                    span_id: vec![j as u8; 8],
                    name: "GET".into(),
                    kind: 2,
                    start_time_unix_nano: nanos,
                    end_time_unix_nano: nanos,
                    attributes: vec![kv("http.response.status_code", Value::IntValue(200))],
                    ..Default::default()
                });
            }
        }
        let first = events.first().expect("events");
        let req = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![
                        kv("service.name", Value::StringValue(first.service.into())),
                        kv(
                            "deployment.environment.name",
                            Value::StringValue(first.environment.into()),
                        ),
                        kv("service.version", Value::StringValue(first.release.into())),
                    ],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let resp = self
            .c
            .post(format!("{}/v1/traces", self.http))
            .header("content-type", "application/x-protobuf")
            .header("authorization", format!("Bearer {SHOP}"))
            .body(req.encode_to_vec())
            .send()
            .await
            .expect("otlp");
        assert_eq!(resp.status(), 200);
        self.sent.extend(events);
    }

    async fn get(&self, path: &str) -> Json {
        let resp = self
            .c
            .get(format!("{}{path}", self.api))
            .send()
            .await
            .expect("get");
        let status = resp.status();
        let body: Json = resp.json().await.expect("json");
        assert_eq!(status, 200, "{path}: {body}");
        body
    }

    async fn put_status(&self, issue: &str, body: Json) -> Json {
        let fp = &self.fp[issue];
        let resp = self
            .c
            .put(format!(
                "{}/api/v1/errors/{fp}/status?project=shop",
                self.api
            ))
            .json(&body)
            .send()
            .await
            .expect("put");
        let status = resp.status();
        let b: Json = resp.json().await.expect("json");
        assert_eq!(status, 200, "{b}");
        b
    }

    /// Occurrences stored in both projects.
    async fn stored(&self) -> u64 {
        let store = &self.server().store;
        store.count_occurrences("shop").await.expect("count")
            + store.count_occurrences("blog").await.expect("count")
    }

    fn server(&self) -> &crate::common::Server {
        self.s.as_ref().expect("a world that owns its server")
    }

    /// Issue letter of each fingerprint.
    fn issue_of(&self, fp: &str) -> &'static str {
        self.fp
            .iter()
            .find(|(_, v)| v.as_str() == fp)
            .map(|(k, _)| *k)
            .unwrap_or_else(|| panic!("unknown fingerprint {fp}"))
    }

    /// The list's issues and counts equal `want` (issues with 0 left out).
    fn check(&self, body: &Json, want: &[(&str, u64)]) {
        let got: HashMap<&str, u64> = body["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|i| {
                (
                    self.issue_of(i["fingerprint"].as_str().expect("fp")),
                    i["count"].as_u64().expect("n"),
                )
            })
            .collect();
        let want: HashMap<&str, u64> = want.iter().filter(|(_, n)| *n > 0).cloned().collect();
        assert_eq!(got, want, "{body}");
        assert_eq!(body["total"], want.len() as u64);
    }

    /// The list's issues, in order.
    fn order(&self, body: &Json) -> Vec<&'static str> {
        body["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|i| self.issue_of(i["fingerprint"].as_str().expect("fp")))
            .collect()
    }

    fn count(&self, f: impl Fn(&Sent) -> bool) -> u64 {
        self.sent.iter().filter(|e| f(e)).count() as u64
    }
}

fn window_start(now: u32, secs: u32) -> u32 {
    (now - now % 60 + 60) - secs
}

/// Sends the dataset (12 occurrences of A over 40 days, B to G, C over OTLP with request counts)
/// to a new server and waits until it is stored.
async fn send_dataset() -> World {
    let s = crate::common::start(PROJECTS).await;
    let t0 = now();
    let mut w = World {
        api: s.api.clone(),
        http: s.http.clone(),
        s: Some(s),
        c: reqwest::Client::new(),
        sent: Vec::new(),
        fp: HashMap::new(),
        t0,
    };
    // Occurrence times sit half an hour off any whole-day window edge, so a minute passing during
    // the test cannot move one across an edge.
    let at = |days: u32, extra: u32| t0 - days * DAY - 1800 - extra;
    let ev = |project, issue, ts, service, environment, release, http_status| Sent {
        project,
        issue,
        ts,
        service,
        environment,
        release,
        http_status,
    };

    for (i, d) in [0u32, 0, 1, 2, 3, 5, 8, 13, 21, 34, 38, 39]
        .into_iter()
        .enumerate()
    {
        w.webhook(ev(
            "shop",
            "A",
            at(d, i as u32 * 60),
            "api",
            "prod",
            "1.0.0",
            500,
        ))
        .await;
    }
    for d in [0u32, 1, 1, 4, 6, 9] {
        w.webhook(ev("shop", "B", at(d, 120), "web", "prod", "1.0.0", 404))
            .await;
    }
    for d in [0u32, 2, 3] {
        w.webhook(ev("blog", "D", at(d, 0), "blog", "prod", "0.9", 500))
            .await;
    }
    for d in [1u32, 2, 16] {
        w.webhook(ev("shop", "E", at(d, 0), "api", "prod", "1.0.0", 422))
            .await;
    }
    w.webhook(ev("shop", "F", at(0, 300), "api", "prod", "1.0.0", 504))
        .await;
    w.webhook(ev("shop", "G", at(3, 300), "api", "prod", "1.0.0", 500))
        .await;
    // C over OTLP: 5 occurrences with 2 ok requests each, in staging, release 1.1.0.
    let c_events: Vec<Sent> = [0u32, 0, 6, 12, 20]
        .iter()
        .enumerate()
        .map(|(i, d)| {
            ev(
                "shop",
                "C",
                at(*d, i as u32 * 7),
                "api",
                "staging",
                "1.1.0",
                403,
            )
        })
        .collect();
    w.otlp(c_events, 2).await;
    let total = w.sent.len() as u64;
    crate::common::wait_count(w.server(), "shop", total - 3).await;
    crate::common::wait_count(w.server(), "blog", 3).await;
    let c_list = w.get("/api/v1/errors?project=shop&q=permission").await;
    assert_eq!(c_list["total"], 1, "{c_list}");
    w.fp.insert(
        "C",
        c_list["data"][0]["fingerprint"]
            .as_str()
            .expect("fp")
            .to_string(),
    );
    w
}

/// What the shared world keeps: the read-only tests all read one dataset, sent once.
struct Shared {
    api: String,
    http: String,
    sent: Vec<Sent>,
    fp: HashMap<&'static str, String>,
    t0: u32,
}

/// The shared dataset, sent once, on a runtime of its own that outlives every test's.
fn shared() -> World {
    static SHARED: std::sync::OnceLock<Shared> = std::sync::OnceLock::new();
    let d = SHARED.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let w = send_dataset().await;
                let _ = tx.send(Shared {
                    api: w.api.clone(),
                    http: w.http.clone(),
                    sent: w.sent.clone(),
                    fp: w.fp.clone(),
                    t0: w.t0,
                });
                // Keep the server running for the other tests.
                std::future::pending::<()>().await;
            });
        });
        rx.recv().expect("the shared dataset was sent")
    });
    World {
        s: None,
        api: d.api.clone(),
        http: d.http.clone(),
        c: reqwest::Client::new(),
        sent: d.sent.clone(),
        fp: d.fp.clone(),
        t0: d.t0,
    }
}

/// The issue list: all-time counts, 1/7/10/30-day and custom windows, each filter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_counts_follow_windows_and_filters() {
    let w = shared();
    let t0 = w.t0;
    let now = now();
    let all = w.get("/api/v1/errors?project=shop&limit=500").await;
    assert_eq!(all["total"], 6);
    for it in all["data"].as_array().expect("data") {
        let issue = w.issue_of(it["fingerprint"].as_str().expect("fp"));
        let n = w.count(|e| e.issue == issue);
        assert_eq!(it["count"], n, "{issue}");
        assert_eq!(it["total_count"], n, "{issue}");
        assert_eq!(it["status"], "open");
        assert_eq!(it["project"], "shop");
        let first = w
            .sent
            .iter()
            .filter(|e| e.issue == issue)
            .map(|e| e.ts)
            .min()
            .expect("first");
        assert_eq!(it["first_seen"], rfc3339(first), "{issue}");
    }
    for days in [1u32, 7, 10, 30] {
        let from = window_start(now, days * DAY);
        let body = w
            .get(&format!(
                "/api/v1/errors?project=shop&since={days}d&limit=500"
            ))
            .await;
        let want: Vec<(&str, u64)> = ["A", "B", "C", "E", "F", "G"]
            .iter()
            .map(|i| (*i, w.count(|e| e.issue == *i && e.ts >= from)))
            .collect();
        w.check(&body, &want);
    }
    let from = t0 - 10 * DAY;
    let to = t0 - 2 * DAY;
    let body = w
        .get(&format!(
            "/api/v1/errors?project=shop&from={}&to={}",
            rfc3339(from),
            rfc3339(to)
        ))
        .await;
    let (f, t) = (from - from % 60, to - to % 60);
    let want: Vec<(&str, u64)> = ["A", "B", "C", "E", "F", "G"]
        .iter()
        .map(|i| (*i, w.count(|e| e.issue == *i && e.ts >= f && e.ts < t)))
        .collect();
    w.check(&body, &want);
    w.check(
        &w.get("/api/v1/errors?project=shop&http_status=403,404")
            .await,
        &[("B", 6), ("C", 5)],
    );
    w.check(
        &w.get("/api/v1/errors?project=shop&severity=critical").await,
        &[("A", 12), ("F", 1), ("G", 1)],
    );
    w.check(
        &w.get("/api/v1/errors?project=shop&environment=staging")
            .await,
        &[("C", 5)],
    );
    w.check(
        &w.get("/api/v1/errors?project=shop&release=1.1.0").await,
        &[("C", 5)],
    );
    w.check(
        &w.get("/api/v1/errors?project=shop&service=web").await,
        &[("B", 6)],
    );
    w.check(
        &w.get("/api/v1/errors?project=shop&q=INVALID").await,
        &[("E", 3), ("G", 1)],
    );
    w.check(&w.get("/api/v1/errors?project=blog").await, &[("D", 3)]);
    assert_eq!(w.get("/api/v1/errors").await["total"], 7, "all projects");
    let item = &w.get("/api/v1/errors?project=shop&service=web").await["data"][0];
    assert_eq!(
        (item["severity"].as_str(), item["http_status"].as_u64()),
        (Some("low"), Some(404))
    );
    assert_eq!(item["services"], json!(["web"]));
    assert_eq!(item["environments"], json!(["prod"]));
}

/// Sorts by count, type, first and last seen, both directions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_sorts() {
    let w = shared();
    let by_count = w.get("/api/v1/errors?project=shop&sort=count").await;
    let counts: Vec<u64> = by_count["data"]
        .as_array()
        .expect("d")
        .iter()
        .map(|i| i["count"].as_u64().expect("n"))
        .collect();
    assert!(counts.windows(2).all(|p| p[0] >= p[1]), "{counts:?}");
    assert_eq!(w.order(&by_count)[0], "A");
    let asc = w
        .get("/api/v1/errors?project=shop&sort=count&order=asc")
        .await;
    let mut rev = w.order(&by_count);
    rev.reverse();
    assert_eq!(w.order(&asc).last(), Some(&"A"));
    assert_eq!(w.order(&asc).len(), rev.len());
    let by_type = w
        .get("/api/v1/errors?project=shop&sort=type&order=asc")
        .await;
    let types: Vec<String> = by_type["data"]
        .as_array()
        .expect("d")
        .iter()
        .map(|i| i["exception_type"].as_str().expect("t").to_lowercase())
        .collect();
    let mut sorted = types.clone();
    sorted.sort();
    assert_eq!(types, sorted);
    let by_first = w
        .get("/api/v1/errors?project=shop&sort=first_seen&order=asc")
        .await;
    assert_eq!(w.order(&by_first)[0], "A", "A is the oldest issue");
    let by_last = w.get("/api/v1/errors?project=shop").await;
    let lasts: Vec<String> = by_last["data"]
        .as_array()
        .expect("d")
        .iter()
        .map(|i| i["last_seen"].as_str().expect("l").to_string())
        .collect();
    assert!(
        lasts.windows(2).all(|p| p[0] >= p[1]),
        "default sort is last_seen desc: {lasts:?}"
    );
}

/// Cursor pagination of every sort gives the one-page order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_pages_cover_it_without_gaps_or_repeats() {
    let w = shared();
    for sort in ["count", "last_seen", "type"] {
        let full = w
            .order(
                &w.get(&format!(
                    "/api/v1/errors?project=shop&sort={sort}&limit=500"
                ))
                .await,
            )
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>();
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                None => format!("/api/v1/errors?project=shop&sort={sort}&limit=4"),
                Some(c) => format!("/api/v1/errors?project=shop&sort={sort}&limit=4&cursor={c}"),
            };
            let page = w.get(&path).await;
            assert_eq!(page["total"], 6);
            seen.extend(w.order(&page).into_iter().map(String::from));
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        assert_eq!(seen, full, "pages of sort={sort}");
    }
}

/// One issue: its latest occurrence, hourly and daily charts, breakdowns; an unknown one is a 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_detail_has_latest_occurrence_charts_and_breakdowns() {
    let w = shared();
    let now = now();
    let a = &w.fp["A"];
    let d = w.get(&format!("/api/v1/errors/{a}?project=shop")).await;
    assert_eq!(d["count"], 12);
    assert_eq!(d["exception_type"], "TypeError");
    let newest = w
        .sent
        .iter()
        .filter(|e| e.issue == "A")
        .map(|e| e.ts)
        .max()
        .expect("newest");
    assert_eq!(d["latest"]["timestamp"], rfc3339(newest));
    assert_eq!(d["latest"]["request"]["route"], "/checkout");
    assert_eq!(d["latest"]["request"]["status"], 500);
    assert!(
        d["latest"]["stacktrace"]
            .as_str()
            .expect("st")
            .contains("cart.js")
    );
    let hourly = d["hourly_24h"].as_array().expect("hourly");
    assert_eq!(hourly.len(), 24);
    let hour_end = now - now % 3600 + 3600;
    let h_sum: u64 = hourly.iter().map(|b| b["count"].as_u64().expect("n")).sum();
    assert_eq!(h_sum, w.count(|e| e.issue == "A" && e.ts >= hour_end - DAY));
    let daily = d["daily_30d"].as_array().expect("daily");
    assert_eq!(daily.len(), 30);
    let day_end = now - now % DAY + DAY;
    let d_sum: u64 = daily.iter().map(|b| b["count"].as_u64().expect("n")).sum();
    assert_eq!(
        d_sum,
        w.count(|e| e.issue == "A" && e.ts >= day_end - 30 * DAY)
    );
    assert_eq!(d["by_environment"], json!([{"label": "prod", "count": 12}]));
    assert_eq!(d["by_release"], json!([{"label": "1.0.0", "count": 12}]));
    // Breakdowns by service and HTTP status agree with what was sent.
    let mut by: HashMap<(&str, String), u64> = HashMap::new();
    for e in w.sent.iter().filter(|e| e.issue == "A") {
        *by.entry(("service", e.service.to_string())).or_default() += 1;
        *by.entry(("http", e.http_status.to_string())).or_default() += 1;
    }
    for (key, field) in [("service", "by_service"), ("http", "by_http_status")] {
        let got: HashMap<(&str, String), u64> = d[field]
            .as_array()
            .expect(field)
            .iter()
            .map(|l| {
                (
                    (key, l["label"].as_str().expect("label").to_string()),
                    l["count"].as_u64().expect("count"),
                )
            })
            .collect();
        let want: HashMap<(&str, String), u64> = by
            .iter()
            .filter(|(k, _)| k.0 == key)
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        assert_eq!(got, want, "{field}");
    }
    assert_eq!(d["history"], json!([]), "never triaged");
    // Why it was grouped so: the current version, recomputed on the stored latest occurrence,
    // gives the issue's own fingerprint, from counted frames.
    let g = &d["grouping"];
    assert_eq!(g["basis"], "frames", "{g}");
    assert_eq!(g["fingerprint"], a.as_str(), "{g}");
    assert_eq!(g["stored_version"], 2);
    let counted: Vec<&str> = g["frames"]
        .as_array()
        .expect("frames")
        .iter()
        .filter(|f| f["counted"] == true)
        .map(|f| f["function"].as_str().expect("function"))
        .collect();
    assert!(!counted.is_empty(), "{g}");
    // One occurrence by its id: the same as in the list, stack trace included; another issue's
    // id or an unknown one is a 404.
    let page = w
        .get(&format!(
            "/api/v1/errors/{a}/occurrences?project=shop&limit=1"
        ))
        .await;
    let first = &page["data"][0];
    let id = first["event_id"].as_str().expect("event_id");
    let one = w
        .get(&format!("/api/v1/errors/{a}/occurrences/{id}?project=shop"))
        .await;
    assert_eq!(&one, first);
    assert!(one["stacktrace"].as_str().expect("st").contains("cart.js"));
    let b = &w.fp["B"];
    for path in [
        format!("/api/v1/errors/{b}/occurrences/{id}?project=shop"),
        format!("/api/v1/errors/{a}/occurrences/nope?project=shop"),
    ] {
        let r =
            w.c.get(format!("{}{path}", w.api))
                .send()
                .await
                .expect("get");
        assert_eq!(r.status(), 404, "{path}");
        let body: Json = r.json().await.expect("json");
        assert_eq!(body["error"]["code"], "not_found", "{body}");
    }
    // Without ?project= it is found all the same; an unknown one is a 404.
    assert_eq!(w.get(&format!("/api/v1/errors/{a}")).await["count"], 12);
    let missing =
        w.c.get(format!("{}/api/v1/errors/0000?project=shop", w.api))
            .send()
            .await
            .expect("get");
    assert_eq!(missing.status(), 404);
}

/// An issue's occurrences page by page, newest first, none repeated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn occurrences_are_paginated_newest_first() {
    let w = shared();
    let a = &w.fp["A"];
    let mut got = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            None => format!("/api/v1/errors/{a}/occurrences?project=shop&limit=5"),
            Some(c) => format!("/api/v1/errors/{a}/occurrences?project=shop&limit=5&cursor={c}"),
        };
        let page = w.get(&path).await;
        for o in page["data"].as_array().expect("data") {
            got.push((
                o["timestamp"].as_str().expect("ts").to_string(),
                o["event_id"].as_str().expect("id").to_string(),
            ));
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(got.len(), 12);
    assert_eq!(
        got.iter().map(|g| &g.1).collect::<HashSet<_>>().len(),
        12,
        "no repeats"
    );
    assert!(got.windows(2).all(|p| p[0].0 >= p[1].0), "newest first");
}

/// `/metrics`: totals by severity, service and HTTP status, rate per hour, most common.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_match_the_dataset() {
    let w = shared();
    let now = now();
    let m = w.get("/api/v1/metrics?period=7d&project=shop").await;
    let from7 = window_start(now, 7 * DAY);
    let in7 = |e: &Sent| e.project == "shop" && e.ts >= from7;
    assert_eq!(m["total_errors"], w.count(in7));
    for sev in ["low", "medium", "high", "critical"] {
        assert_eq!(
            m["errors_by_severity"][sev],
            w.count(|e| in7(e) && e.severity() == sev),
            "{sev}"
        );
    }
    for svc in ["api", "web"] {
        assert_eq!(
            m["errors_by_service"][svc],
            w.count(|e| in7(e) && e.service == svc),
            "{svc}"
        );
    }
    for st in [403u16, 404, 422, 500, 504] {
        let n = w.count(|e| in7(e) && e.http_status == st);
        assert_eq!(
            m["errors_by_http_status"][st.to_string()]
                .as_u64()
                .unwrap_or(0),
            n,
            "{st}"
        );
    }
    assert!(
        (m["error_rate_per_hour"].as_f64().expect("rate") - w.count(in7) as f64 / 168.0).abs()
            < 1e-9
    );
    let top7 = ["A", "B", "C", "E", "F", "G"]
        .into_iter()
        .max_by_key(|i| w.count(|e| e.issue == *i && in7(e)))
        .expect("top");
    assert_eq!(
        m["most_common"][0]["fingerprint"].as_str(),
        Some(w.fp[top7].as_str()),
        "{m}"
    );
    assert_eq!(
        m["most_common"][0]["count"],
        w.count(|e| e.issue == top7 && in7(e))
    );
}

/// `/error-rate`: every bucket present, errors over the SERVER spans counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_rate_divides_errors_by_requests() {
    let w = shared();
    let t0 = w.t0;
    let rate = w
        .get(&format!(
            "/api/v1/error-rate?project=shop&service=api&step=1d&from={}&to={}",
            rfc3339(t0 - 40 * DAY),
            rfc3339(t0)
        ))
        .await;
    assert_eq!(rate["step_seconds"], DAY);
    let series = rate["series"].as_array().expect("series");
    let (rf, rt) = ((t0 - 40 * DAY) / DAY * DAY, t0.div_ceil(DAY) * DAY);
    assert_eq!(series.len() as u32, (rt - rf) / DAY, "every day present");
    let errors: u64 = series
        .iter()
        .map(|b| b["errors"].as_u64().expect("e"))
        .sum();
    let f0 = (t0 - 40 * DAY) - (t0 - 40 * DAY) % 60;
    let t1 = t0 - t0 % 60;
    assert_eq!(
        errors,
        w.count(|e| e.project == "shop" && e.service == "api" && e.ts >= f0 && e.ts < t1)
    );
    let requests: u64 = series
        .iter()
        .map(|b| b["requests"].as_u64().expect("r"))
        .sum();
    assert_eq!(
        requests,
        5 * 3,
        "5 failing + 10 ok SERVER spans from the OTLP service"
    );
    for b in series {
        if b["requests"] == 0 {
            assert!(b["ratio"].is_null());
        } else {
            let r = b["errors"].as_f64().expect("e") / b["requests"].as_f64().expect("r");
            assert!((b["ratio"].as_f64().expect("ratio") - r).abs() < 1e-9);
        }
    }
    let (ff, ft) = (t0 - DAY, t0);
    let fine = w
        .get(&format!(
            "/api/v1/error-rate?project=shop&step=5m&from={}&to={}",
            rfc3339(ff),
            rfc3339(ft)
        ))
        .await;
    let (ff, ft) = (ff - ff % 60, ft - ft % 60);
    let buckets = (ft.div_ceil(300) * 300 - (ff - ff % 300)) / 300;
    assert_eq!(
        fine["series"].as_array().expect("s").len() as u32,
        buckets,
        "5-minute buckets, zeros filled"
    );
    let fine_errors: u64 = fine["series"]
        .as_array()
        .expect("s")
        .iter()
        .map(|b| b["errors"].as_u64().expect("e"))
        .sum();
    assert_eq!(
        fine_errors,
        w.count(|e| e.project == "shop" && e.ts >= ff && e.ts < ft)
    );
}

/// `/top-errors`: counts and trend against the previous period.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_errors_compare_with_the_previous_period() {
    let w = shared();
    let now = now();
    let from7 = window_start(now, 7 * DAY);
    let top = w
        .get("/api/v1/top-errors?project=shop&period=7d&limit=3")
        .await;
    let top_rows = top["data"].as_array().expect("data");
    assert_eq!(top_rows.len(), 3);
    let prev_from = from7 - 7 * DAY;
    for t in top_rows {
        let issue = w.issue_of(t["fingerprint"].as_str().expect("fp"));
        let cur = w.count(|e| e.issue == issue && e.ts >= from7);
        let prev = w.count(|e| e.issue == issue && e.ts >= prev_from && e.ts < from7);
        assert_eq!(
            (t["count"].as_u64(), t["previous_count"].as_u64()),
            (Some(cur), Some(prev)),
            "{issue}"
        );
        if prev == 0 {
            assert!(t["trend_pct"].is_null());
        } else {
            let want = ((cur as f64 - prev as f64) / prev as f64 * 1000.0).round() / 10.0;
            assert_eq!(t["trend_pct"].as_f64(), Some(want));
        }
    }
}

/// `/frequent-404s` by route, and `/projects` with 24-hour counts and open issues.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frequent_404s_and_projects() {
    let w = shared();
    let now = now();
    let nf = w.get("/api/v1/frequent-404s?project=shop&period=30d").await;
    assert_eq!(nf["data"][0]["path"], "/products/{id}");
    assert_eq!(nf["data"][0]["count"], 6);
    assert_eq!(nf["data"].as_array().map(Vec::len), Some(1));

    let p = w.get("/api/v1/projects").await;
    let shop = p["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|x| x["project"] == "shop")
        .expect("shop")
        .clone();
    let from24 = window_start(now, DAY);
    assert_eq!(
        shop["errors_24h"],
        w.count(|e| e.project == "shop" && e.ts >= from24)
    );
    assert_eq!(shop["open_issues"], 6);
    assert_eq!(shop["configured"], true);
    let hourly: u64 = shop["hourly_24h"]
        .as_array()
        .expect("hourly")
        .iter()
        .map(|n| n.as_u64().expect("n"))
        .sum();
    let hour_end = now - now % 3600 + 3600;
    assert_eq!(
        hourly,
        w.count(|e| e.project == "shop" && e.ts >= hour_end - DAY)
    );
    // A configured project that never reported is listed, empty.
    let quiet = p["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|x| x["project"] == "quiet")
        .expect("quiet is listed")
        .clone();
    assert_eq!(quiet["errors_24h"], 0);
    assert_eq!(quiet["issues"], 0);
    assert_eq!(quiet["last_seen"], "");
    assert_eq!(quiet["error_rate"], Json::Null);

    // The filter menus: the values a project's occurrences took, most frequent first.
    let f = w.get("/api/v1/projects/shop/facets?days=30").await;
    let day_end = now - now % DAY + DAY;
    let in_30d = |e: &Sent| e.project == "shop" && e.ts >= day_end - 30 * DAY;
    let mut envs: HashMap<String, u64> = HashMap::new();
    for e in w.sent.iter().filter(|e| in_30d(e)) {
        *envs.entry(e.environment.to_string()).or_default() += 1;
    }
    let got: HashMap<String, u64> = f["environments"]
        .as_array()
        .expect("environments")
        .iter()
        .map(|l| {
            (
                l["label"].as_str().expect("label").to_string(),
                l["count"].as_u64().expect("count"),
            )
        })
        .collect();
    assert_eq!(got, envs);
    let counts: Vec<u64> = f["releases"]
        .as_array()
        .expect("releases")
        .iter()
        .map(|l| l["count"].as_u64().expect("count"))
        .collect();
    assert!(counts.windows(2).all(|c| c[0] >= c[1]), "{f}");
    let bad =
        w.c.get(format!("{}/api/v1/projects/shop/facets?days=0", w.api))
            .send()
            .await
            .expect("get");
    assert_eq!(bad.status(), 400);
}

/// Triage on a dataset of its own: resolution, regression, release-aware resolution, ignores by time and count; the state survives a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn triage_resolves_regresses_ignores_and_survives_a_restart() {
    let mut w = send_dataset().await;
    let now = now();
    let ev = |project, issue, ts, service, environment, release, http_status| Sent {
        project,
        issue,
        ts,
        service,
        environment,
        release,
        http_status,
    };
    let r = w
        .put_status("A", json!({"status": "resolved", "by": "ada"}))
        .await;
    assert_eq!(r["status"], "resolved");
    assert_eq!(r["state"]["by"], "ada");
    let r = w
        .put_status(
            "E",
            json!({"status": "resolved", "by": "ada", "resolved_in_release": "1.1.0"}),
        )
        .await;
    assert_eq!(r["status"], "resolved");
    let r = w
        .put_status("F", json!({"status": "ignored", "ignore_until_count": 2}))
        .await;
    assert_eq!(r["status"], "ignored");
    let r = w
        .put_status(
            "G",
            json!({"status": "ignored", "ignore_until": rfc3339(now + 3600)}),
        )
        .await;
    assert_eq!(r["status"], "ignored");
    let r = w
        .put_status(
            "B",
            json!({"status": "ignored", "ignore_until": rfc3339(now - 60)}),
        )
        .await;
    assert_eq!(
        r["status"], "open",
        "an ignore whose time has passed is over"
    );
    w.check(
        &w.get("/api/v1/errors?project=shop&status=resolved").await,
        &[("A", 12), ("E", 3)],
    );
    w.check(
        &w.get("/api/v1/errors?project=shop&status=ignored").await,
        &[("F", 1), ("G", 1)],
    );

    // Stamped from the clock read after the status changes (at least a second after them): `now`
    // was read before the window checks, which a loaded machine can stretch past two seconds,
    // and an occurrence stamped before a resolution does not regress it.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let later = self::now();
    w.webhook(ev("shop", "A", later, "api", "prod", "1.0.0", 500))
        .await;
    w.webhook(ev("shop", "E", later, "api", "prod", "1.0.0", 422))
        .await; // older release: still resolved
    w.webhook(ev("shop", "F", later, "api", "prod", "1.0.0", 504))
        .await; // 1 of 2
    crate::common::wait_count(w.server(), "shop", w.count(|e| e.project == "shop")).await;
    w.check(
        &w.get("/api/v1/errors?project=shop&status=regressed").await,
        &[("A", 13)],
    );
    w.check(
        &w.get("/api/v1/errors?project=shop&status=resolved").await,
        &[("E", 3 + 1)],
    );
    w.check(
        &w.get("/api/v1/errors?project=shop&status=ignored").await,
        &[("F", 2), ("G", 1)],
    );
    w.webhook(ev("shop", "E", later, "api", "prod", "1.2.0", 422))
        .await; // newer release: regressed
    w.webhook(ev("shop", "F", later, "api", "prod", "1.0.0", 504))
        .await; // 2 of 2: ignore over
    crate::common::wait_count(w.server(), "shop", w.count(|e| e.project == "shop")).await;
    w.check(
        &w.get("/api/v1/errors?project=shop&status=regressed").await,
        &[("A", 13), ("E", 5)],
    );
    w.check(
        &w.get("/api/v1/errors?project=shop&status=ignored").await,
        &[("G", 1)],
    );
    let open = w.get("/api/v1/errors?project=shop&status=open").await;
    assert_eq!(open["total"], 3, "B, C and F: {open}");
    let bad =
        w.c.put(format!(
            "{}/api/v1/errors/{}/status?project=shop",
            w.api, w.fp["A"]
        ))
        .json(&json!({"status": "closed"}))
        .send()
        .await
        .expect("put");
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.expect("t").contains("status"));
    // Every change is kept, newest first.
    let history = |d: &Json| -> Vec<(String, String)> {
        d["history"]
            .as_array()
            .expect("history")
            .iter()
            .map(|h| {
                (
                    h["status"].as_str().expect("status").to_string(),
                    h["by"].as_str().expect("by").to_string(),
                )
            })
            .collect()
    };
    w.put_status("G", json!({"status": "open", "by": "bob"}))
        .await;
    w.put_status(
        "G",
        json!({"status": "ignored", "by": "cy", "ignore_until": rfc3339(now + 3600)}),
    )
    .await;
    let g = w
        .get(&format!("/api/v1/errors/{}?project=shop", w.fp["G"]))
        .await;
    assert_eq!(
        history(&g),
        [
            ("ignored".to_string(), "cy".to_string()),
            ("open".to_string(), "bob".to_string()),
            ("ignored".to_string(), String::new()),
        ],
        "{g}"
    );

    // State survives a restart: a new server on the same database sees it.
    let store_cfg = faultline_store::StoreConfig {
        url: faultline_store::testing::server_url(),
        database: w.server().store.database().to_string(),
        user: String::new(),
        password: String::new(),
        cluster: None,
    };
    let crate::common::Server { running, .. } = w.s.take().expect("server");
    running.shutdown().await;
    let (mut cfg, _) = crate::common::test_config(PROJECTS);
    cfg.clickhouse_database = store_cfg.database.clone();
    w.s = Some(crate::common::start_with(cfg, &store_cfg).await);
    w.api = w.server().api.clone();
    w.http = w.server().http.clone();
    w.check(
        &w.get("/api/v1/errors?project=shop&status=ignored").await,
        &[("G", 1)],
    );
    w.check(
        &w.get("/api/v1/errors?project=shop&status=regressed").await,
        &[("A", 13), ("E", 5)],
    );

    let crate::common::Server { running, .. } = w.s.take().expect("server");
    running.shutdown().await;
}

/// Retention on a dataset of its own: whole days older than 30 dropped, all-time totals kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_drops_whole_old_days_and_keeps_all_time_totals() {
    let mut w = send_dataset().await;
    let now = now();
    let before: u64 = w.stored().await;
    let resp =
        w.c.post(format!("{}/api/v1/cleanup", w.api))
            .json(&json!({"retention_days": 30}))
            .send()
            .await
            .expect("cleanup");
    assert_eq!(resp.status(), 200);
    let report: Json = resp.json().await.expect("json");
    let cutoff = (now - 30 * DAY) / DAY * DAY;
    let old = w.count(|e| e.ts < cutoff);
    assert!(old > 0, "the dataset has data older than 30 days");
    assert_eq!(report["occurrences_dropped"], old, "{report}");
    assert!(
        report["dropped"]
            .as_array()
            .expect("d")
            .iter()
            .any(|p| p["table"] == "issues_hour")
    );
    let after: u64 = w.stored().await;
    assert_eq!(after, before - old);
    let a_now = w.get("/api/v1/errors?project=shop&q=TypeError").await;
    assert_eq!(
        a_now["data"][0]["count"],
        w.count(|e| e.issue == "A" && e.ts >= cutoff)
    );
    assert_eq!(
        a_now["data"][0]["total_count"],
        w.count(|e| e.issue == "A"),
        "all-time totals keep counting what retention dropped"
    );
    w.s.take().expect("server").running.shutdown().await;
}

#[tokio::test]
async fn api_keys_and_openapi() {
    let (mut cfg, sc) = crate::common::test_config("");
    cfg.api_keys = "key-one-123456,key-two-123456".into();
    let s = crate::common::start_with(cfg, &sc).await;
    let c = reqwest::Client::new();
    let routes = [
        "/api/v1/errors",
        "/api/v1/metrics",
        "/api/v1/error-rate",
        "/api/v1/top-errors",
        "/api/v1/frequent-404s",
        "/api/v1/projects",
    ];
    for r in routes {
        let resp = c.get(format!("{}{r}", s.api)).send().await.expect("get");
        assert_eq!(resp.status(), 401, "{r}");
        let body: Json = resp.json().await.expect("json");
        assert_eq!(body["error"]["code"], "unauthorized");
        let resp = c
            .get(format!("{}{r}", s.api))
            .bearer_auth("key-two-123456")
            .send()
            .await
            .expect("get");
        assert_eq!(resp.status(), 200, "{r}");
    }
    // Parameters that do not parse: 400 naming the parameter.
    for (query, name) in [
        ("since=banana", "since"),
        ("limit=0", "limit"),
        ("sort=size", "sort"),
        ("cursor=%%%", "cursor"),
        ("from=yesterday", "from"),
    ] {
        let resp = c
            .get(format!("{}/api/v1/errors?{query}", s.api))
            .bearer_auth("key-two-123456")
            .send()
            .await
            .expect("get");
        assert_eq!(resp.status(), 400, "{query}");
        let text = resp.text().await.expect("text");
        assert!(text.contains(name), "{query}: {text}");
    }
    // CORS is closed: a browser preflight from another origin gets no permission.
    let pre = c
        .request(reqwest::Method::OPTIONS, format!("{}/api/v1/errors", s.api))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .expect("preflight");
    assert!(pre.headers().get("access-control-allow-origin").is_none());
    let resp = c
        .get(format!("{}/api/v1/errors", s.api))
        .header("origin", "https://evil.example")
        .bearer_auth("key-two-123456")
        .send()
        .await
        .expect("get");
    assert!(resp.headers().get("access-control-allow-origin").is_none());
    assert_eq!(
        c.post(format!("{}/api/v1/cleanup", s.api))
            .json(&json!({}))
            .send()
            .await
            .expect("post")
            .status(),
        401
    );
    let doc: Json = c
        .get(format!("{}/api/v1/openapi.json", s.api))
        .send()
        .await
        .expect("doc")
        .json()
        .await
        .expect("json");
    assert!(doc["openapi"].as_str().expect("version").starts_with("3."));
    let paths = doc["paths"].as_object().expect("paths");
    assert_eq!(paths.len(), 18, "15 query routes and 3 alerts routes");
    // Every documented route exists: with the key it answers something other than 404/405.
    for (path, item) in paths {
        let concrete = path
            .replace("{fingerprint}", "none")
            .replace("{event_id}", "none")
            .replace("{project}", "shop")
            .replace("{uid}", "none");
        for method in item.as_object().expect("item").keys() {
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let resp = c
                .request(m, format!("{}{concrete}", s.api))
                .bearer_auth("key-one-123456")
                .json(&json!({"status": "open"}))
                .send()
                .await
                .expect("send");
            assert!(
                ![404u16, 405].contains(&resp.status().as_u16()) || concrete.contains("none"),
                "{method} {path}: {}",
                resp.status()
            );
            if concrete.contains("none") {
                assert_eq!(resp.status(), 404, "{method} {path}: unknown issue");
                let body: Json = resp.json().await.expect("json");
                assert_eq!(body["error"]["code"], "not_found");
            }
        }
    }
    s.running.shutdown().await;
}
