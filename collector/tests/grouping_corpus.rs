//! Grouping quality on the public corpus (copied from shared/corpus/grouping into tests/data):
//! 300 real exceptions from seven runtimes with the true grouping. Scored with B-cubed F1.

use std::collections::HashMap;

use faultline_collector::fingerprint::{GroupingInput, bcubed, fingerprint};

struct Event {
    id: String,
    group: String,
    lang: String,
    fingerprint: String,
}

fn corpus() -> Vec<Event> {
    let text = include_str!("data/grouping/events.jsonl");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("corpus line is JSON");
            let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
            let g = fingerprint(&GroupingInput {
                project: "corpus",
                service: &s("service"),
                exception_type: &s("exception_type"),
                message: &s("message"),
                stacktrace: &s("stacktrace"),
                client_fingerprint: None,
                config: None,
            });
            Event {
                id: s("id"),
                group: s("group"),
                lang: s("lang"),
                fingerprint: g.fingerprint,
            }
        })
        .collect()
}

#[test]
fn public_corpus_groups_well() {
    let events = corpus();
    assert_eq!(events.len(), 300);
    let truth: Vec<&str> = events.iter().map(|e| e.group.as_str()).collect();
    let pred: Vec<&str> = events.iter().map(|e| e.fingerprint.as_str()).collect();
    let (p, r, f1) = bcubed(&truth, &pred);
    let mut langs: Vec<&str> = events.iter().map(|e| e.lang.as_str()).collect();
    langs.sort();
    langs.dedup();
    for lang in langs {
        let idx: Vec<usize> = (0..events.len())
            .filter(|&i| events[i].lang == lang)
            .collect();
        let t: Vec<&str> = idx.iter().map(|&i| truth[i]).collect();
        let q: Vec<&str> = idx.iter().map(|&i| pred[i]).collect();
        let (lp, lr, lf) = bcubed(&t, &q);
        println!("{lang:8} P={lp:.4} R={lr:.4} F1={lf:.4}");
    }
    let groups: HashMap<&str, usize> = pred.iter().map(|p| (*p, 0)).collect();
    println!("predicted groups: {} (true: 59)", groups.len());
    println!("corpus: bcubed_precision={p:.4} bcubed_recall={r:.4} bcubed_f1={f1:.4}");
    if std::env::var_os("FAULTLINE_DUMP_PREDICTIONS").is_some() {
        for e in &events {
            println!(
                "{}",
                serde_json::json!({"id": e.id, "fingerprint": e.fingerprint})
            );
        }
    }
    // Bugsink (type + masked message) scores 0.80 here; Faultline must do clearly better.
    assert!(f1 >= 0.97, "B-cubed F1 {f1:.4} fell below 0.97");
}
