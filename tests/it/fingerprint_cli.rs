//! `faultline fingerprint` on the public grouping corpus: scored (B-cubed F1 ≥ 0.97), and proven to
//! give the very fingerprints ingest stores for the same events (webhook and OTLP/HTTP JSON).

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};

const CORPUS: &str = include_str!("../../collector/tests/data/grouping/events.jsonl");

pub(crate) fn events() -> Vec<serde_json::Value> {
    CORPUS
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("corpus JSON"))
        .collect()
}

pub(crate) fn cli_fingerprints() -> HashMap<String, String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .arg("fingerprint")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run faultline fingerprint");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(CORPUS.as_bytes())
        .expect("write corpus");
    let out = child.wait_with_output().expect("output");
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .expect("utf8")
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("prediction JSON");
            (
                v["id"].as_str().expect("id").to_string(),
                v["fingerprint"].as_str().expect("fp").to_string(),
            )
        })
        .collect()
}

#[test]
fn cli_scores_the_corpus() {
    let ev = events();
    let pred = cli_fingerprints();
    assert_eq!(pred.len(), ev.len(), "one line per event");
    let truth: Vec<&str> = ev
        .iter()
        .map(|e| e["group"].as_str().expect("group"))
        .collect();
    let p: Vec<&str> = ev
        .iter()
        .map(|e| pred[e["id"].as_str().expect("id")].as_str())
        .collect();
    let (precision, recall, f1) = faultline::fingerprint_cmd::bcubed(&truth, &p);
    println!(
        "faultline fingerprint: bcubed_precision={precision:.4} bcubed_recall={recall:.4} bcubed_f1={f1:.4}"
    );
    assert!(f1 >= 0.97, "B-cubed F1 {f1:.4} below 0.97");
}

/// `--explain`: per event, the fingerprint (the same as without it), the exception chosen and
/// every frame with `+` when it counted.
#[test]
fn cli_explains_what_counted() {
    let ev = events();
    let pick: Vec<&serde_json::Value> = ev
        .iter()
        .filter(|e| {
            e["lang"] == "java" && e["stacktrace"].as_str().unwrap_or("").contains("Caused by")
        })
        .take(1)
        .collect();
    let input = serde_json::to_string(pick[0]).expect("json") + "\n";
    let mut child = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["fingerprint", "--explain"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run faultline fingerprint --explain");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("output");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf8");
    let id = pick[0]["id"].as_str().expect("id");
    let fp = &cli_fingerprints()[id];
    assert!(
        text.starts_with(&format!("{id}  {fp}  (grouping v2, by frames)")),
        "{text}"
    );
    assert!(
        text.contains("the root cause (innermost of the chain)"),
        "{text}"
    );
    assert!(text.lines().any(|l| l.starts_with("  + ")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("  - ")), "{text}");
}
