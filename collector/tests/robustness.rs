//! Untrusted input never panics: arbitrary text through the stack-trace parsers and message
//! masking, arbitrary bytes through OTLP protobuf decoding and normalization, the webhook JSON
//! parser and gzip inflation with its limit. The last property drives the very entry points the
//! coverage-guided fuzz targets in `fuzz/` call (`scripts/fuzz.sh`, nightly toolchain), so CI on a
//! stable toolchain still runs them.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, header};
use faultline_collector::fingerprint::{
    GroupingInput, Stack, fingerprint, mask_message, parse_stacktrace,
};
use faultline_collector::otlp_wire::TraceView;
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
            let g = fingerprint(&GroupingInput { project: "p", service: "s", exception_type: "E", message: t, stack: Stack::Text(t), client_fingerprint: None, config: None });
            prop_assert!(!g.fingerprint.is_empty());
        }
    }

    #[test]
    fn otlp_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(req) = ExportTraceServiceRequest::decode(&bytes[..]) {
            let _ = otlp::from_trace_view(&TraceView::from_prost(&req), 1_700_000_000);
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
        let body = serde_json::to_vec(&body).expect("json");
        if let Ok(ev) = serde_json::from_slice::<WebhookEvent>(&body) {
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
            f::sentry_envelope(data);
        }
    }
}

/// Arbitrary OTLP attribute values, a few levels deep (NaN excluded: compared with `==`).
fn any_value() -> impl Strategy<Value = faultline_proto::otlp::common::v1::AnyValue> {
    use faultline_proto::otlp::common::v1::{
        AnyValue, ArrayValue, KeyValue, KeyValueList, any_value::Value,
    };
    let leaf = prop_oneof![
        "\\PC{0,20}".prop_map(Value::StringValue),
        any::<bool>().prop_map(Value::BoolValue),
        any::<i64>().prop_map(Value::IntValue),
        (-1e9f64..1e9).prop_map(Value::DoubleValue),
        prop::collection::vec(any::<u8>(), 0..8).prop_map(Value::BytesValue),
        any::<i32>().prop_map(Value::StringValueStrindex),
    ]
    .prop_map(|v| AnyValue { value: Some(v) });
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|values| AnyValue {
                value: Some(Value::ArrayValue(ArrayValue { values }))
            }),
            prop::collection::vec(("[a-z.]{0,8}", prop::option::of(inner)), 0..4).prop_map(|kvs| {
                AnyValue {
                    value: Some(Value::KvlistValue(KeyValueList {
                        values: kvs
                            .into_iter()
                            .map(|(key, value)| KeyValue {
                                key,
                                value,
                                key_strindex: 0,
                            })
                            .collect(),
                    })),
                }
            }),
            Just(AnyValue { value: None }),
        ]
    })
}

fn attributes() -> impl Strategy<Value = Vec<faultline_proto::otlp::common::v1::KeyValue>> {
    use faultline_proto::otlp::common::v1::KeyValue;
    let key = prop_oneof![
        Just("exception.type".to_string()),
        Just("exception.message".to_string()),
        Just("exception.stacktrace".to_string()),
        Just("http.response.status_code".to_string()),
        Just("service.name".to_string()),
        "[a-z.]{0,10}",
    ];
    prop::collection::vec((key, prop::option::of(any_value())), 0..5).prop_map(|kvs| {
        kvs.into_iter()
            .map(|(key, value)| KeyValue {
                key,
                value,
                key_strindex: 0,
            })
            .collect()
    })
}

fn trace_request() -> impl Strategy<Value = ExportTraceServiceRequest> {
    use faultline_proto::otlp::resource::v1::Resource;
    use faultline_proto::otlp::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span::Event};
    let event = (
        any::<u64>(),
        prop_oneof![Just("exception".to_string()), "\\PC{0,10}"],
        attributes(),
    )
        .prop_map(|(time_unix_nano, name, attributes)| Event {
            time_unix_nano,
            name,
            attributes,
            dropped_attributes_count: 1,
        });
    let span = (
        prop::collection::vec(any::<u8>(), 0..17),
        prop::collection::vec(any::<u8>(), 0..9),
        0i32..6,
        any::<u64>(),
        any::<u64>(),
        prop::option::of(0i32..3),
        attributes(),
        prop::collection::vec(event, 0..3),
        "\\PC{0,8}",
    )
        .prop_map(
            |(trace_id, span_id, kind, start, end, status, attributes, events, name)| Span {
                trace_id,
                span_id,
                kind,
                name,
                start_time_unix_nano: start,
                end_time_unix_nano: end,
                status: status.map(|code| Status {
                    message: "m".into(),
                    code,
                }),
                attributes,
                events,
                flags: 1,
                ..Default::default()
            },
        );
    let resource_spans = (
        prop::option::of(attributes()),
        prop::collection::vec(prop::collection::vec(span, 0..3), 0..3),
    )
        .prop_map(|(res, scopes)| ResourceSpans {
            resource: res.map(|attributes| Resource {
                attributes,
                ..Default::default()
            }),
            scope_spans: scopes
                .into_iter()
                .map(|spans| ScopeSpans {
                    spans,
                    ..Default::default()
                })
                .collect(),
            schema_url: String::new(),
        });
    prop::collection::vec(resource_spans, 0..3)
        .prop_map(|resource_spans| ExportTraceServiceRequest { resource_spans })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// The in-place protobuf reader sees exactly what prost decodes: canonical encodings, two
    /// exports concatenated (protobuf's merge), and corrupted bytes (never accepted differently).
    #[test]
    fn the_wire_reader_agrees_with_prost(a in trace_request(), b in trace_request(), cut in any::<prop::sample::Index>(), flip in any::<u8>()) {
        let (ea, eb) = (a.encode_to_vec(), b.encode_to_vec());
        let merged = [ea.clone(), eb].concat();
        for bytes in [&ea, &merged] {
            let prost = ExportTraceServiceRequest::decode(&bytes[..]).expect("prost");
            let wire = TraceView::parse(bytes).expect("wire");
            prop_assert_eq!(&wire, &TraceView::from_prost(&prost));
            let from_prost = TraceView::from_prost(&prost);
            let (mut x, mut y) = (otlp::from_trace_view(&wire, 7), otlp::from_trace_view(&from_prost, 7));
            // Request counts come out of a hash map: compare them in one order.
            for e in [&mut x, &mut y] {
                e.requests.sort_by_key(|r| (r.minute, r.service.clone(), r.environment.clone()));
            }
            prop_assert_eq!(format!("{:?}", x), format!("{:?}", y));
        }
        if !ea.is_empty() {
            let mut bad = ea.clone();
            let i = cut.index(bad.len());
            bad[i] ^= flip;
            bad.truncate(bad.len() - cut.index(3.min(bad.len())));
            // Whatever prost makes of corrupted bytes, the fuzz entry checks the reader agrees.
            faultline_collector::fuzz_entry::otlp_protobuf(&bad);
        }
    }
}

/// A JSON text with one character replaced, or cut short.
fn corrupt(text: &str, at: prop::sample::Index, with: char, cut: bool) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return String::new();
    }
    let i = at.index(chars.len());
    let mut out: String = chars[..i].iter().collect();
    if !cut {
        out.push(with);
        out.extend(&chars[i + 1..]);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// The OTLP/JSON reader sees exactly what the `opentelemetry-proto` decoding sees: exports as
    /// that crate writes them, the same with strings escaped and ints as numbers, pretty-printed,
    /// and corrupted texts (the fuzz entry panics on any difference in what is accepted or read).
    #[test]
    fn the_json_reader_agrees_with_prost(req in trace_request(), at in any::<prop::sample::Index>(), with in prop_oneof![Just('"'), Just('}'), Just(','), Just('1'), Just('n'), Just('\\'), any::<char>()], cut in any::<bool>()) {
        use faultline_collector::{otlp_json, otlp_wire::TraceView};
        let text = serde_json::to_string(&req).expect("serialize");
        // The same export with every '/' escaped and 64-bit times written as numbers.
        let numbers = regex::Regex::new(r#""(startTimeUnixNano|endTimeUnixNano|timeUnixNano)":"(\d+)""#).expect("re");
        let variant = numbers.replace_all(&text.replace('/', "\\/"), r#""$1":$2"#).into_owned();
        // And pretty-printed (whitespace between every token).
        let pretty = serde_json::to_string_pretty(&req).expect("serialize");
        for body in [&text, &variant, &pretty] {
            let prost: ExportTraceServiceRequest = serde_json::from_str(body).expect("prost");
            // Exports as SDKs write them are read by the fast path (a string-table index in an
            // attribute value is an unknown member there, left to the full decoding).
            prop_assert!(otlp_json::fast::parse(body.as_bytes()).is_some() || body.contains("Strindex"), "fast path gave up on {}", body);
            let view = otlp_json::parse(body.as_bytes()).expect("ours");
            prop_assert_eq!(format!("{:?}", view), format!("{:?}", TraceView::from_prost(&prost)));
            let from_prost = TraceView::from_prost(&prost);
            let (mut x, mut y) = (otlp::from_trace_view(&view, 7), otlp::from_trace_view(&from_prost, 7));
            for e in [&mut x, &mut y] {
                e.requests.sort_by_key(|r| (r.minute, r.service.clone(), r.environment.clone()));
            }
            prop_assert_eq!(format!("{:?}", x), format!("{:?}", y));
        }
        faultline_collector::fuzz_entry::otlp_json(corrupt(&text, at, with, cut).as_bytes());
    }
}
