//! Trace exports decoded and extracted per second, by format: `cargo bench -p faultline --bench
//! decode`. One export exactly as `faultline loadgen` sends it (1000 errors with real stack traces
//! from the public corpus, each in its SERVER span, plus 1000 ordinary spans); criterion's `thrpt`
//! line gives errors per second on one core. `json-prost` is the former OTLP/JSON path (serde into
//! prost structs), kept for comparison.

#![allow(missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use faultline_collector::otlp;
use faultline_proto::otlp::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

const ERRORS: usize = 1000;

fn bench(c: &mut Criterion) {
    let req = faultline::loadgen::sample_export(ERRORS);
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
