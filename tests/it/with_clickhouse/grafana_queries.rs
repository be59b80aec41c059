//! Every Grafana panel and variable query run on the real ClickHouse after data went in through
//! Faultline's ingest (macros and variables expanded as `crate::grafana` describes).

use std::collections::HashMap;

use crate::grafana::{DASHBOARDS, expand, parse, queries};
use serde_json::{Value, json};

async fn run(url: &str, db: &str, sql: &str) -> Value {
    let resp = reqwest::Client::new()
        .post(format!("{url}/?database={db}"))
        .body(format!("{sql}\nFORMAT JSON"))
        .send()
        .await
        .expect("send");
    let status = resp.status();
    let text = resp.text().await.expect("text");
    assert!(status.is_success(), "query failed: {text}\n{sql}");
    serde_json::from_str(&text).expect("JSON result")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_panel_query_runs_and_returns_rows() {
    let s = crate::common::start("shop:shop-token-0123456789").await;
    let c = reqwest::Client::new();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as u32;
    // Errors over two days, several services and environments, some 404s.
    for (i, (svc, env, status, path)) in [
        ("api", "prod", 500, "/checkout"),
        ("api", "prod", 500, "/checkout"),
        ("web", "staging", 404, "/missing/{id}"),
        ("web", "prod", 404, "/missing/{id}"),
        ("worker", "prod", 0, ""),
    ]
    .iter()
    .enumerate()
    {
        let ts = now - 3600 * (i as u32 * 7 + 1);
        let t = time::OffsetDateTime::from_unix_timestamp(i64::from(ts))
            .expect("ts")
            .format(&time::format_description::well_known::Rfc3339)
            .expect("fmt");
        let body = json!({"message": format!("failure {i}"), "exception_class": format!("E{}", i % 3), "service": svc, "environment": env,
            "release": "1.0", "http_status": status, "timestamp": t, "request": {"route": path, "url": format!("https://x.example{path}")},
            "stack_trace": format!("#0 /app/src/{svc}.php(10): run{}()\n#1 {{main}}", i % 3)});
        let r = c
            .post(format!("{}/webhook/error/shop-token-0123456789", s.http))
            .json(&body)
            .send()
            .await
            .expect("webhook");
        assert_eq!(r.status(), 200);
    }
    // Requests for the ratio panel: SERVER spans of "api" over OTLP/JSON.
    let spans: Vec<Value> = (0..4).map(|i| json!({"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": format!("b7ad6b716920333{i}"), "name": "GET", "kind": 2,
        "startTimeUnixNano": format!("{}", u64::from(now - 3600 - i * 60) * 1_000_000_000), "endTimeUnixNano": format!("{}", u64::from(now - 3600 - i * 60) * 1_000_000_000)})).collect();
    let otlp = json!({"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "api"}}, {"key": "deployment.environment.name", "value": {"stringValue": "prod"}}]},
        "scopeSpans": [{"spans": spans}]}]});
    let r = c
        .post(format!("{}/v1/traces", s.http))
        .header("authorization", "Bearer shop-token-0123456789")
        .json(&otlp)
        .send()
        .await
        .expect("otlp");
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    crate::common::wait_count(&s, "shop", 5).await;

    let url = faultline_store::testing::server_url();
    let db = s.store.database().to_string();
    let (from, to) = (now - 7 * 86_400, now);
    let mut vars: HashMap<&str, Vec<String>> = HashMap::new();
    vars.insert("project", vec!["shop".into()]);
    let mut expanded = Vec::new();
    for (name, text) in DASHBOARDS {
        let d = parse(name, text);
        // Variables first, in order: "All" of each is every option its query returns.
        for v in d["templating"]["list"].as_array().expect("list") {
            if v["type"] != "query" {
                continue;
            }
            let vname = v["name"].as_str().expect("name");
            let sql = expand(v["query"].as_str().expect("query"), from, to, 3600, &vars);
            let res = run(&url, &db, &sql).await;
            let options: Vec<String> = res["data"]
                .as_array()
                .expect("data")
                .iter()
                .map(|r| {
                    r.as_object()
                        .expect("row")
                        .values()
                        .next()
                        .expect("col")
                        .as_str()
                        .unwrap_or_default()
                        .to_string()
                })
                .collect();
            assert!(
                !options.is_empty(),
                "{name}: variable {vname} has no options"
            );
            if vname != "project" {
                let leaked: &'static str = Box::leak(vname.to_string().into_boxed_str());
                vars.insert(leaked, options);
            }
            expanded.push((format!("{name}: variable {vname}"), sql));
        }
        for (label, sql, format) in queries(&d) {
            if label.starts_with("variable") {
                continue;
            }
            let sql = expand(&sql, from, to, 3600, &vars);
            assert!(!sql.contains("$"), "{name} {label}: unexpanded: {sql}");
            let res = run(&url, &db, &sql).await;
            let rows = res["rows"].as_u64().expect("rows");
            assert!(rows > 0, "{name} {label} returned no rows:\n{sql}");
            let meta = res["meta"].as_array().expect("meta");
            // Stack traces are stored once and joined back: a panel showing one shows the text.
            if meta.iter().any(|m| m["name"] == "stacktrace") {
                for row in res["data"].as_array().expect("data") {
                    let st = row["stacktrace"].as_str().unwrap_or_default();
                    assert!(
                        st.starts_with("#0 /app/src/"),
                        "{name} {label}: stack trace {st:?}"
                    );
                }
            }
            if format == 0 {
                assert_eq!(
                    meta[0]["name"], "time",
                    "{name} {label}: a time series starts with `time`"
                );
                assert!(
                    meta[0]["type"]
                        .as_str()
                        .expect("type")
                        .starts_with("DateTime"),
                    "{name} {label}: {meta:?}"
                );
                assert!(
                    meta.iter().skip(1).any(|m| {
                        let t = m["type"].as_str().unwrap_or("");
                        t.starts_with("UInt") || t.starts_with("Int") || t.starts_with("Float")
                    }),
                    "{name} {label}: a time series needs a numeric column: {meta:?}"
                );
            }
            expanded.push((format!("{name}: {label}"), sql));
        }
    }
    // For the modern-engine check (scripts/check_sql_modern.py runs them on chDB).
    let out = concat!(env!("CARGO_MANIFEST_DIR"), "/target/grafana-queries.json");
    std::fs::write(out, serde_json::to_string_pretty(&expanded).expect("json")).expect("write");
    // The API serves the same dashboards.
    let list: Value = c
        .get(format!("{}/api/v1/grafana/dashboards", s.api))
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(list["data"].as_array().map(Vec::len), Some(2));
    for (name, text) in DASHBOARDS {
        let d = parse(name, text);
        let uid = d["uid"].as_str().expect("uid");
        let served: Value = c
            .get(format!("{}/api/v1/grafana/dashboards/{uid}", s.api))
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        assert_eq!(served, d);
    }
    s.running.shutdown().await;
}
