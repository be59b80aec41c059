//! One entry point per parser of untrusted input, taking arbitrary bytes and running them the way
//! ingest does; none may panic, whatever the bytes. The cargo-fuzz targets in `fuzz/` (nightly,
//! coverage-guided) and the property tests in `tests/robustness.rs` (stable, in CI) drive these
//! same functions.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, header};
use faultline_proto::otlp::collector::logs::v1::ExportLogsServiceRequest;
use faultline_proto::otlp::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

use crate::event::ErrorEvent;
use crate::fingerprint::{GroupingInput, Stack, fingerprint, mask_message};
use crate::limits::FieldLimits;
use crate::otlp::{self, Extracted};
use crate::otlp_wire::TraceView;
use crate::scrub::Scrubber;

/// Built once, as ingest builds it once (compiling its regexes per input would measure that).
static SCRUB: std::sync::LazyLock<Scrubber> =
    std::sync::LazyLock::new(|| Scrubber::new(true, true, &[], &[]));

fn store_all(events: Vec<ErrorEvent<'_>>) {
    for e in events {
        let mut row = e.into_row("fuzz", 0, None, None);
        FieldLimits::default().apply(&mut row);
        SCRUB.row(&mut row);
    }
}

fn extracted(x: Extracted<'_>) {
    store_all(x.events);
}

/// OTLP/protobuf trace and logs exports: decode, normalize, fingerprint, limit, scrub. Trace
/// exports are read in place as ingest reads them; whatever prost accepts, the in-place reader
/// must accept and read the same (panics otherwise, so the fuzzer reports it).
pub fn otlp_protobuf(data: &[u8]) {
    let wire = TraceView::parse(data);
    if let Ok(r) = ExportTraceServiceRequest::decode(data) {
        let view = wire
            .as_ref()
            .unwrap_or_else(|e| panic!("prost decodes what the wire reader refuses: {e}"));
        // Debug, not ==: a NaN double equals itself only as text.
        assert_eq!(
            format!("{view:?}"),
            format!("{:?}", TraceView::from_prost(&r)),
            "the wire reader and prost disagree"
        );
    }
    if let Ok(view) = wire {
        extracted(otlp::from_trace_view(&view, 0));
    }
    if let Ok(r) = ExportLogsServiceRequest::decode(data) {
        extracted(otlp::from_logs(&r));
    }
}

/// OTLP/JSON trace and logs exports. Trace exports are read into views as ingest reads them;
/// they must be accepted exactly when the `opentelemetry-proto` decoding accepts them, and read the
/// same (panics otherwise, so the fuzzer reports it).
pub fn otlp_json(data: &[u8]) {
    // The fast path is sound: what it reads, the full decoding reads the same. Ingest takes the
    // fast reading when there is one (`otlp_json::parse`), the full one otherwise.
    let full = crate::otlp_json::parse_serde(data);
    let ours = match crate::otlp_json::fast::parse(data) {
        Some(fast) => {
            let full = full.as_ref().unwrap_or_else(|e| {
                panic!("the fast path accepts what the full decoding refuses: {e}")
            });
            assert_eq!(
                format!("{fast:?}"),
                format!("{full:?}"),
                "the fast path and the full decoding disagree"
            );
            Ok(fast)
        }
        None => full,
    };
    match (
        &ours,
        serde_json::from_slice::<ExportTraceServiceRequest>(data),
    ) {
        (Ok(view), Ok(r)) => assert_eq!(
            format!("{view:?}"),
            format!("{:?}", TraceView::from_prost(&r)),
            "the JSON reader and the prost decoding disagree"
        ),
        (Err(e), Ok(_)) => panic!("prost decodes what the JSON reader refuses: {e}"),
        (Ok(_), Err(e)) => panic!("the JSON reader accepts what prost refuses: {e}"),
        (Err(_), Err(_)) => {}
    }
    if let Ok(view) = ours {
        extracted(otlp::from_trace_view(&view, 0));
    }
    if let Ok(r) = serde_json::from_slice::<ExportLogsServiceRequest>(data) {
        extracted(otlp::from_logs(&r));
    }
}

/// The webhook's JSON body (one event or an array).
pub fn webhook_json(data: &[u8]) {
    if let Ok(read) = crate::webhook::read(data)
        && let Ok(events) = read.to_events()
    {
        store_all(events);
    }
}

/// Stack traces and messages (text): every parser, masking, scrubbing.
pub fn stacktrace(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = fingerprint(&GroupingInput {
        project: "fuzz",
        service: "svc",
        exception_type: "Error",
        message: &text,
        stack: Stack::Text(&text),
        client_fingerprint: None,
        config: None,
    });
    let _ = mask_message(&text);
    let mut s = text.into_owned();
    SCRUB.text(&mut s);
}

/// Compressed bodies (gzip, deflate, br), inflated under a 1 MiB limit: never more.
pub fn gzip(data: &[u8]) {
    for encoding in ["gzip", "deflate", "br"] {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
        if let Ok(out) = crate::http::decompress(&h, Bytes::copy_from_slice(data), 1 << 20) {
            assert!(out.len() <= 1 << 20, "{encoding} inflated past its limit");
        }
    }
}

/// A Sentry envelope (and the same bytes as a `/store/` event or a Sentry webhook body): the
/// reader, every event's mapping, grouping, limits, scrubbing; client reports counted.
pub fn sentry_envelope(data: &[u8]) {
    use crate::event::Source;
    use crate::sentry::envelope::{self, ItemType};
    use crate::sentry::event::{Context, to_event};
    let map = |payload: &[u8], event_id: Option<&str>| {
        use crate::sentry::json::Json;
        let arena = Json::arena_for(payload.len());
        if let Ok(v) = Json::parse(payload, &arena) {
            let ctx = Context {
                source: Source::SentryEnvelope,
                project: "fuzz",
                event_id,
                traces: None,
            };
            if let Ok(ev) = to_event(&v, ctx) {
                store_all(vec![ev]);
            }
        }
    };
    if let Ok((header, items)) = envelope::parse(data) {
        let reports = crate::sentry::ClientReports::default();
        for item in items.flatten() {
            match item.kind {
                ItemType::Event | ItemType::Transaction => {
                    map(item.payload, header.event_id.as_deref())
                }
                ItemType::ClientReport => reports.add("fuzz", item.payload),
                ItemType::Other(_) => {}
            }
        }
    }
    map(data, None);
}
