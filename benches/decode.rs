//! Trace exports decoded and extracted per second, by format: `cargo bench -p faultline --bench
//! decode`. One export exactly as `faultline loadgen` sends it (1000 errors with real stack traces
//! from the public corpus, each in its SERVER span, plus 1000 ordinary spans); criterion's `thrpt`
//! line gives errors per second on one core. `json-prost` is the former OTLP/JSON path (serde into
//! prost structs), kept for comparison; `webhook-array` reads a webhook array of as many errors as
//! loadgen posts it, into events. The `ingest` group runs the whole CPU path of one request
//! (that export as protobuf and as JSON, that webhook array) as `Ingest` does, minus the network,
//! the answer and the spool's disk write: read, extract, group and enrich into rows, encode the
//! spool record.

#![allow(missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use faultline_collector::event::ErrorEvent;
use faultline_collector::ingest::{Format, read_traces};
use faultline_collector::limits::FieldLimits;
use faultline_collector::occurrence::{RowPolicy, TraceCache, with_rows};
use faultline_collector::otlp;
use faultline_collector::otlp_json;
use faultline_collector::otlp_wire::TraceView;
use faultline_collector::scrub::Scrubber;
use faultline_proto::otlp::collector::trace::v1::ExportTraceServiceRequest;
use faultline_store::RequestCountRow;
use faultline_store::writer::{Batch, StackTexts};
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
        b.iter(|| {
            let view = TraceView::parse(&proto).expect("decodes");
            otlp::from_trace_view(&view, 0).events.len()
        })
    });
    g.bench_function("json", |b| {
        b.iter(|| {
            let view = otlp_json::parse(&json).expect("decodes");
            otlp::from_trace_view(&view, 0).events.len()
        })
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
    let webhook = faultline::loadgen::sample_webhook_batch(ERRORS);
    g.bench_function("webhook-array", |b| {
        b.iter(|| {
            (faultline_collector::webhook::read(&webhook).expect("decodes"))
                .to_events()
                .expect("events")
                .len()
        })
    });
    g.bench_function("json-prost", |b| {
        b.iter(|| {
            let r: ExportTraceServiceRequest = serde_json::from_slice(&json).expect("decodes");
            otlp::from_trace_view(&TraceView::from_prost(&r), 0)
                .events
                .len()
        })
    });
    g.finish();

    // The whole CPU path of one request, as `Ingest` runs it, minus the network, the answer and
    // the spool's disk write: read, extract, group and enrich into rows, encode the spool record.
    let mut g = c.benchmark_group("ingest");
    g.throughput(Throughput::Elements(ERRORS as u64));
    let cache = TraceCache::default();
    let texts = StackTexts::default();
    let (fields, scrubber) = (FieldLimits::default(), Scrubber::new(true, false, &[], &[]));
    let policy = RowPolicy {
        config: None,
        fields: &fields,
        scrubber: &scrubber,
        transition: None,
    };
    let to_record = |events: Vec<ErrorEvent<'_>>, requests: Vec<RequestCountRow>| {
        with_rows(events, "default", 1, policy, &cache, |occurrences| {
            let mut batch = Batch {
                occurrences,
                requests,
                stacktraces: Vec::new(),
            };
            let keys = batch.share_texts(&texts);
            texts.mark(&keys);
            batch.encode().expect("encodes").map_or(0, |r| r.len())
        })
    };
    let record = |body: &[u8], json: bool| {
        let format = if json { Format::Json } else { Format::Protobuf };
        let view = read_traces(format, body).expect("decodes");
        let ex = otlp::from_trace_view(&view, 1);
        to_record(ex.events, ex.requests)
    };
    g.bench_function("protobuf-to-record", |b| b.iter(|| record(&proto, false)));
    g.bench_function("json-to-record", |b| b.iter(|| record(&json, true)));
    g.bench_function("webhook-to-record", |b| {
        b.iter(|| {
            let read = faultline_collector::webhook::read(&webhook).expect("decodes");
            to_record(read.to_events().expect("events"), Vec::new())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
