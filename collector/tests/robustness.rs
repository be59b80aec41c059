//! Untrusted input never panics: arbitrary text through the stack-trace parsers and message
//! masking, arbitrary bytes through OTLP protobuf decoding and normalization, the webhook JSON
//! parser and gzip inflation with its limit. The last property drives the very entry points the
//! coverage-guided fuzz targets in `fuzz/` call (`scripts/fuzz.sh`, nightly toolchain), so CI on a
//! stable toolchain still runs them.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, header};
use faultline_collector::fingerprint::{
    GroupingInput, fingerprint, mask_message, parse_stacktrace,
};
use faultline_collector::{http, otlp};
use faultline_proto::otlp::collector::logs::v1::ExportLogsServiceRequest;
use faultline_proto::otlp::collector::trace::v1::ExportTraceServiceRequest;
use faultline_proto::webhook::WebhookEvent;
use proptest::prelude::*;
use prost::Message;

/// Lines that look like pieces of real traces, shuffled into nonsense.
fn trace_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("Traceback (most recent call last):".to_string()),
        Just("  File \"/a/b.py\", line 3, in f".to_string()),
        Just("\tat a.b.C.m(C.java:1)".to_string()),
        Just("    at f (/x/y.js:1:2)".to_string()),
        Just("goroutine 1 [running]:".to_string()),
        Just("\t/src/x.go:12 +0x1".to_string()),
        Just("#0 /a.php(1): f()".to_string()),
        Just("a.rb:1:in `x'".to_string()),
        Just("   0: std::rt::lang_start".to_string()),
        Just("             at /rustc/x/y.rs:1:2".to_string()),
        Just("Caused by: x".to_string()),
        "\\PC{0,40}",
    ];
    prop::collection::vec(piece, 0..30).prop_map(|v| v.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parsers_take_anything(text in "\\PC{0,400}", mixed in trace_like()) {
        for t in [&text, &mixed] {
            let _ = parse_stacktrace(t);
            let _ = mask_message(t);
            let g = fingerprint(&GroupingInput { project: "p", service: "s", exception_type: "E", message: t, stacktrace: t, client_fingerprint: None, config: None });
            prop_assert!(!g.fingerprint.is_empty());
        }
    }

    #[test]
    fn otlp_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(req) = ExportTraceServiceRequest::decode(&bytes[..]) {
            let _ = otlp::from_traces(&req, 1_700_000_000);
        }
        if let Ok(req) = ExportLogsServiceRequest::decode(&bytes[..]) {
            let _ = otlp::from_logs(&req);
        }
        let _ = serde_json::from_slice::<ExportTraceServiceRequest>(&bytes);
        let _ = serde_json::from_slice::<WebhookEvent>(&bytes);
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        let _ = http::decompress(&h, Bytes::from(bytes.clone()), 4096);
    }

    #[test]
    fn webhook_json_never_panics(msg in "\\PC{0,60}", status in any::<i64>(), line in "\\PC{0,8}", ts in "\\PC{0,30}") {
        let body = serde_json::json!({"message": msg, "http_status": status, "line": line, "timestamp": ts, "request": {"url": msg}});
        if let Ok(ev) = serde_json::from_value::<WebhookEvent>(body) {
            let _ = faultline_collector::webhook::to_event(ev);
        }
    }

    #[test]
    fn fuzz_entry_points_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..800),
        text in "\\PC{0,200}",
    ) {
        use faultline_collector::fuzz_entry as f;
        for data in [&bytes[..], text.as_bytes()] {
            f::otlp_protobuf(data);
            f::otlp_json(data);
            f::webhook_json(data);
            f::stacktrace(data);
            f::gzip(data);
        }
    }
}
