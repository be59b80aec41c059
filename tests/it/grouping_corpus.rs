//! Grouping quality on the public corpus (copied from shared/corpus/grouping into
//! collector/tests/data): 300 real exceptions from seven runtimes with the true grouping, scored
//! with B-cubed F1 by the evaluation tool of `faultline fingerprint --score`.

use faultline::fingerprint_cmd::{Labelled, score};
use faultline_collector::fingerprint::{GroupingInput, Stack, fingerprint};

struct Event {
    id: String,
    group: String,
    lang: String,
    fingerprint: String,
}

fn corpus() -> Vec<Event> {
    let text = include_str!("../../collector/tests/data/grouping/events.jsonl");
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
                stack: Stack::Text(&s("stacktrace")),
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
    let labelled: Vec<Labelled> = events
        .iter()
        .map(|e| Labelled {
            group: e.group.clone(),
            lang: e.lang.clone(),
            fingerprint: e.fingerprint.clone(),
        })
        .collect();
    let f1 = score(&labelled, std::io::stdout()).expect("stdout");
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
