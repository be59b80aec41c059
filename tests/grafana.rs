//! The Grafana dashboards: structure checks, a snapshot of each, and every panel and variable
//! query run on the real ClickHouse after data went in through Faultline's ingest.
//!
//! Macro and variable expansion, written down as the plugin and Grafana do it:
//! - `$__timeFilter(col)` → `col >= toDateTime(<from>) AND col <= toDateTime(<to>)`, `$__fromTime`
//!   → `toDateTime(<from>)`, `$__toTime` → `toDateTime(<to>)`, `$__interval_s` → the interval in
//!   whole seconds, at least 1 (grafana-clickhouse-datasource, `pkg/macros/macros.go`: `TimeFilter`,
//!   `FromTimeFilter`, `ToTimeFilter`, `IntervalSeconds`; times are Unix seconds).
//! - `${var:singlequote}` → every selected value in single quotes, joined by commas (Grafana's
//!   variable format option `singlequote`); with "All" selected, every option of the variable.
//! - `${var}` and `$var` → the value as is (single-value variables).

mod common;

use std::collections::{BTreeSet, HashMap};

use serde_json::{Value, json};

const DASHBOARDS: &[(&str, &str)] = &[
    (
        "overview",
        include_str!("../grafana/dashboards/overview.json"),
    ),
    ("issue", include_str!("../grafana/dashboards/issue.json")),
];

fn parse(name: &str, text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}.json is not valid JSON: {e}"))
}

/// Every SQL text of a dashboard: panel targets and query variables, with a label.
fn queries(d: &Value) -> Vec<(String, String, i64)> {
    let mut out = Vec::new();
    for p in d["panels"].as_array().expect("panels") {
        for t in p["targets"].as_array().expect("targets") {
            out.push((
                format!("panel {}", p["title"]),
                t["rawSql"].as_str().expect("rawSql").to_string(),
                t["format"].as_i64().expect("format"),
            ));
        }
    }
    for v in d["templating"]["list"].as_array().expect("templating") {
        if v["type"] == "query" {
            out.push((
                format!("variable {}", v["name"]),
                v["query"].as_str().expect("query").to_string(),
                1,
            ));
        }
    }
    out
}

#[test]
fn dashboards_are_well_formed() {
    let var_use =
        regex::Regex::new(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::[a-z]+)?\}|\$([A-Za-z_][A-Za-z0-9_]*)")
            .expect("regex");
    for (name, text) in DASHBOARDS {
        let d = parse(name, text);
        for field in [
            "uid",
            "title",
            "schemaVersion",
            "panels",
            "templating",
            "time",
        ] {
            assert!(!d[field].is_null(), "{name}: missing {field}");
        }
        let vars: BTreeSet<String> = d["templating"]["list"]
            .as_array()
            .expect("list")
            .iter()
            .map(|v| v["name"].as_str().expect("name").to_string())
            .collect();
        assert!(
            vars.contains("datasource"),
            "{name}: no datasource variable"
        );
        let ds_var = d["templating"]["list"]
            .as_array()
            .expect("list")
            .iter()
            .find(|v| v["name"] == "datasource")
            .expect("ds");
        assert_eq!(ds_var["type"], "datasource");
        assert_eq!(ds_var["query"], "grafana-clickhouse-datasource");
        // Unique ids, inside 24 columns, no overlap.
        let panels = d["panels"].as_array().expect("panels");
        let mut ids = BTreeSet::new();
        let mut cells = BTreeSet::new();
        for p in panels {
            assert!(
                ids.insert(p["id"].as_i64().expect("id")),
                "{name}: duplicate panel id {}",
                p["id"]
            );
            let g = &p["gridPos"];
            let (x, y, w, h) = (
                g["x"].as_u64().expect("x"),
                g["y"].as_u64().expect("y"),
                g["w"].as_u64().expect("w"),
                g["h"].as_u64().expect("h"),
            );
            assert!(
                w > 0 && h > 0 && x + w <= 24,
                "{name}: panel {} outside 24 columns",
                p["title"]
            );
            for cx in x..x + w {
                for cy in y..y + h {
                    assert!(
                        cells.insert((cx, cy)),
                        "{name}: panel {} overlaps another at ({cx},{cy})",
                        p["title"]
                    );
                }
            }
            // Every datasource reference points at the variable.
            assert_eq!(
                p["datasource"]["uid"], "${datasource}",
                "{name}: panel {}",
                p["title"]
            );
            for t in p["targets"].as_array().expect("targets") {
                assert_eq!(
                    t["datasource"]["uid"], "${datasource}",
                    "{name}: target of {}",
                    p["title"]
                );
                assert_eq!(t["datasource"]["type"], "grafana-clickhouse-datasource");
            }
        }
        for v in d["templating"]["list"].as_array().expect("list") {
            if v["type"] == "query" {
                assert_eq!(
                    v["datasource"]["uid"], "${datasource}",
                    "{name}: variable {}",
                    v["name"]
                );
            }
        }
        // Every variable used is defined ($__ names are Grafana's and the plugin's own).
        for cap in var_use.captures_iter(text) {
            let used = cap.get(1).or(cap.get(2)).expect("name").as_str();
            if used.starts_with("__") {
                continue;
            }
            assert!(
                vars.contains(used),
                "{name}: ${used} is used but not defined"
            );
        }
    }
}

#[test]
fn dashboards_snapshot() {
    for (name, text) in DASHBOARDS {
        insta::assert_json_snapshot!(format!("dashboard_{name}"), parse(name, text));
    }
}

/// Expands the plugin's macros and Grafana's variables (see the module docs).
fn expand(
    sql: &str,
    from: u32,
    to: u32,
    interval_s: u32,
    vars: &HashMap<&str, Vec<String>>,
) -> String {
    let tf = regex::Regex::new(r"\$__timeFilter\(([^)]+)\)").expect("regex");
    let mut s = tf
        .replace_all(sql, |c: &regex::Captures| {
            format!(
                "{0} >= toDateTime({from}) AND {0} <= toDateTime({to})",
                c[1].trim()
            )
        })
        .into_owned();
    s = s
        .replace("$__fromTime", &format!("toDateTime({from})"))
        .replace("$__toTime", &format!("toDateTime({to})"));
    s = s.replace("$__interval_s", &interval_s.max(1).to_string());
    for (name, values) in vars {
        let quoted = values
            .iter()
            .map(|v| format!("'{}'", v.replace('\'', "\\'")))
            .collect::<Vec<_>>()
            .join(",");
        s = s.replace(&format!("${{{name}:singlequote}}"), &quoted);
        s = s.replace(
            &format!("${{{name}}}"),
            values.first().map(String::as_str).unwrap_or(""),
        );
    }
    s
}

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
    let s = common::start("shop:shop-token-0123456789").await;
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
    common::wait_count(&s, "shop", 5).await;

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
