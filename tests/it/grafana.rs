//! The Grafana dashboards: structure checks and a snapshot of each (their queries run on a real
//! ClickHouse in `with_clickhouse::grafana_queries`).
//!
//! Macro and variable expansion, written down as the plugin and Grafana do it:
//! - `$__timeFilter(col)` → `col >= toDateTime(<from>) AND col <= toDateTime(<to>)`, `$__fromTime`
//!   → `toDateTime(<from>)`, `$__toTime` → `toDateTime(<to>)`, `$__interval_s` → the interval in
//!   whole seconds, at least 1 (grafana-clickhouse-datasource, `pkg/macros/macros.go`: `TimeFilter`,
//!   `FromTimeFilter`, `ToTimeFilter`, `IntervalSeconds`; times are Unix seconds).
//! - `${var:singlequote}` → every selected value in single quotes, joined by commas (Grafana's
//!   variable format option `singlequote`); with "All" selected, every option of the variable.
//! - `${var}` and `$var` → the value as is (single-value variables).

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

pub(crate) const DASHBOARDS: &[(&str, &str)] = &[
    (
        "overview",
        include_str!("../../grafana/dashboards/overview.json"),
    ),
    ("issue", include_str!("../../grafana/dashboards/issue.json")),
];

pub(crate) fn parse(name: &str, text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}.json is not valid JSON: {e}"))
}

/// Every SQL text of a dashboard: panel targets and query variables, with a label.
pub(crate) fn queries(d: &Value) -> Vec<(String, String, i64)> {
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
pub(crate) fn expand(
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
