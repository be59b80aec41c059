//! Trace exports decoded and extracted per second, by format: `cargo bench -p faultline-collector
//! --bench decode`. One export of 1000 errors (real stack traces from the public corpus, each in its
//! SERVER span) plus 1000 ordinary spans, as `faultline loadgen` sends; criterion's `thrpt` line
//! gives errors per second on one core. `json-prost` is the former OTLP/JSON path (serde into
//! prost structs), kept for comparison.

#![allow(missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use faultline_collector::otlp;
use faultline_proto::otlp::collector::trace::v1::ExportTraceServiceRequest;
use faultline_proto::otlp::common::v1::{AnyValue, KeyValue, any_value::Value};
use faultline_proto::otlp::resource::v1::Resource;
use faultline_proto::otlp::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span::Event};
use prost::Message;

const ERRORS: usize = 1000;

fn kv(k: &str, v: Value) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

fn str_kv(k: &str, v: &str) -> KeyValue {
    kv(k, Value::StringValue(v.into()))
}

fn span(i: usize, status: i64) -> Span {
    let t = 1_764_000_000_000_000_000 + i as u64 * 1_000_000;
    Span {
        trace_id: (i as u128).to_le_bytes().to_vec(),
        span_id: (i as u64).to_le_bytes().to_vec(),
        name: "GET /api/orders/{id}".into(),
        kind: 2,
        start_time_unix_nano: t - 3_000_000,
        end_time_unix_nano: t,
        attributes: vec![
            str_kv("http.request.method", "GET"),
            str_kv("http.route", "/api/orders/{id}"),
            kv("http.response.status_code", Value::IntValue(status)),
        ],
        ..Default::default()
    }
}

/// One export: errors grouped by service, as SDKs batch them.
fn export() -> ExportTraceServiceRequest {
    let corpus: Vec<serde_json::Value> = include_str!("../tests/data/grouping/events.jsonl")
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let mut by_service: Vec<(String, Vec<Span>)> = Vec::new();
    for i in 0..ERRORS {
        let e = &corpus[(i * 7919) % corpus.len()];
        let s = |k: &str| e[k].as_str().unwrap_or("").to_string();
        let mut err = span(2 * i, 500);
        err.status = Some(Status {
            code: 2,
            message: s("message"),
        });
        err.events.push(Event {
            name: "exception".into(),
            time_unix_nano: err.end_time_unix_nano - 1_000_000,
            attributes: vec![
                str_kv("exception.type", &s("exception_type")),
                str_kv("exception.message", &s("message")),
                str_kv("exception.stacktrace", &s("stacktrace")),
            ],
            ..Default::default()
        });
        let spans = [err, span(2 * i + 1, 200)];
        match by_service.iter_mut().find(|(svc, _)| *svc == s("service")) {
            Some((_, v)) => v.extend(spans),
            None => by_service.push((s("service"), spans.to_vec())),
        }
    }
    ExportTraceServiceRequest {
        resource_spans: by_service
            .into_iter()
            .map(|(service, spans)| ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![
                        str_kv("service.name", &service),
                        str_kv("deployment.environment.name", "production"),
                    ],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect(),
    }
}

fn bench(c: &mut Criterion) {
    let req = export();
    let proto = req.encode_to_vec();
    let json = serde_json::to_vec(&req).expect("json");
    assert!(
        faultline_collector::otlp_json::fast::parse(&json).is_some(),
        "the fast path reads loadgen's exports"
    );
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(ERRORS as u64));
    g.bench_function("protobuf", |b| {
        b.iter(|| otlp::from_trace_bytes(&proto, 0).expect("decodes"))
    });
    g.bench_function("json", |b| {
        b.iter(|| otlp::from_trace_json(&json, 0).expect("decodes"))
    });
    g.bench_function("json-parse-only", |b| {
        b.iter(|| {
            faultline_collector::otlp_json::parse(&json)
                .expect("decodes")
                .resources
                .len()
        })
    });
    g.bench_function("protobuf-parse-only", |b| {
        b.iter(|| {
            faultline_collector::otlp_wire::TraceView::parse(&proto)
                .expect("decodes")
                .resources
                .len()
        })
    });
    eprintln!("sizes: protobuf {} json {}", proto.len(), json.len());
    g.bench_function("json-prost", |b| {
        b.iter(|| {
            let r: ExportTraceServiceRequest = serde_json::from_slice(&json).expect("decodes");
            otlp::from_traces(&r, 0)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
