//! Fingerprints per second on the public corpus's real stack traces (seven runtimes), all together
//! and per runtime: `cargo bench -p faultline-collector --bench fingerprint`. One core; criterion's
//! `thrpt` line gives fingerprints per second.

#![allow(missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use faultline_collector::fingerprint::{GroupingInput, Stack, fingerprint};

struct Event {
    lang: String,
    service: String,
    exception_type: String,
    message: String,
    stacktrace: String,
}

fn corpus() -> Vec<Event> {
    include_str!("../tests/data/grouping/events.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json");
            let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
            Event {
                lang: s("lang"),
                service: s("service"),
                exception_type: s("exception_type"),
                message: s("message"),
                stacktrace: s("stacktrace"),
            }
        })
        .collect()
}

fn run(events: &[&Event]) {
    for e in events {
        std::hint::black_box(fingerprint(&GroupingInput {
            project: "bench",
            service: &e.service,
            exception_type: &e.exception_type,
            message: &e.message,
            stack: Stack::Text(&e.stacktrace),
            client_fingerprint: None,
            config: None,
        }));
    }
}

fn bench(c: &mut Criterion) {
    let events = corpus();
    let all: Vec<&Event> = events.iter().collect();
    let mut g = c.benchmark_group("fingerprint");
    g.throughput(Throughput::Elements(all.len() as u64));
    g.bench_function("corpus", |b| b.iter(|| run(&all)));
    let mut langs: Vec<&str> = events.iter().map(|e| e.lang.as_str()).collect();
    langs.sort();
    langs.dedup();
    for lang in langs {
        let subset: Vec<&Event> = events.iter().filter(|e| e.lang == lang).collect();
        g.throughput(Throughput::Elements(subset.len() as u64));
        g.bench_function(lang, |b| b.iter(|| run(&subset)));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
