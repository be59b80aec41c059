//! One Sentry envelope's work on the ingest thread, by stage, on envelopes sentry-python really
//! wrote (`tests/data/sentry`, gzipped as the SDK sends them):
//! `cargo bench -p faultline-collector --bench sentry`. One core; `thrpt` is envelopes per second.
//!
//! Stages: `inflate` (gzip), `parse` (the envelope read, its event's JSON parsed), `map` (envelope read, event JSON parsed and mapped to an
//! `ErrorEvent`, frames and text built), `rows` (map, then grouped, scrubbed and limited into
//! rows, as spooled; the trace's work cached, so a known trace is mapped without its frames and
//! text), `rows_uncached` (the same, every trace new).

#![allow(missing_docs)]

use std::io::Write;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use faultline_collector::event::Source;
use faultline_collector::inflate::{Compression, inflate};
use faultline_collector::limits::FieldLimits;
use faultline_collector::occurrence::{RowPolicy, TraceCache, with_rows};
use faultline_collector::scrub::Scrubber;
use faultline_collector::sentry::envelope::{self, ItemType};
use faultline_collector::sentry::event::{Context, to_event};
use faultline_collector::sentry::json::Json;

const ENVELOPES: [&[u8]; 3] = [
    include_bytes!("../tests/data/sentry/python_chained.envelope"),
    include_bytes!("../tests/data/sentry/python_fingerprint.envelope"),
    include_bytes!("../tests/data/sentry/python_logging.envelope"),
];

fn gzipped(body: &[u8]) -> bytes::Bytes {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    gz.write_all(body).expect("gzip");
    gz.finish().expect("gzip").into()
}

/// The event payload of an envelope.
fn event_item(body: &[u8]) -> &[u8] {
    let (_, items) = envelope::parse(body).expect("envelope");
    (items.map(|i| i.expect("item")))
        .find(|i| i.kind == ItemType::Event)
        .expect("an event item")
        .payload
}

fn ctx(traces: Option<&TraceCache>) -> Context<'_> {
    Context {
        source: Source::SentryEnvelope,
        project: "bench",
        event_id: None,
        traces,
    }
}

fn bench(c: &mut Criterion) {
    let zipped: Vec<bytes::Bytes> = ENVELOPES.iter().map(|e| gzipped(e)).collect();
    let mut g = c.benchmark_group("sentry");
    g.throughput(Throughput::Elements(ENVELOPES.len() as u64));
    g.bench_function("inflate", |b| {
        b.iter(|| {
            for z in &zipped {
                std::hint::black_box(inflate(Compression::Gzip, z.clone(), 1 << 24).expect("gzip"));
            }
        })
    });
    g.bench_function("parse", |b| {
        b.iter(|| {
            for e in ENVELOPES {
                let arena = Json::arena_for(e.len());
                std::hint::black_box(Json::parse(event_item(e), &arena).expect("json"));
            }
        })
    });
    g.bench_function("map", |b| {
        b.iter(|| {
            for e in ENVELOPES {
                let arena = Json::arena_for(e.len());
                let json = Json::parse(event_item(e), &arena).expect("json");
                std::hint::black_box(to_event(&json, ctx(None)).expect("event"));
            }
        })
    });
    let (limits, scrubber, cache) = (
        FieldLimits::default(),
        Scrubber::new(true, true, &[], &[]),
        TraceCache::new(64 << 20),
    );
    let policy = RowPolicy {
        config: None,
        fields: &limits,
        scrubber: &scrubber,
        transition: None,
    };
    // `rows_uncached`: every trace new (as when line numbers differ from one event to the next).
    let cold = TraceCache::new(0);
    for (name, cache) in [("rows", &cache), ("rows_uncached", &cold)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                for e in ENVELOPES {
                    let arena = Json::arena_for(e.len());
                    let json = Json::parse(event_item(e), &arena).expect("json");
                    let event = to_event(&json, ctx(Some(cache))).expect("event");
                    with_rows(vec![event], "bench", 0, policy, cache, |rows| {
                        std::hint::black_box(rows.len())
                    });
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
