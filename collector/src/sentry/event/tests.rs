//! The Sentry mapping on envelopes sentry-python 2.76 really wrote
//! (`tests/python/capture_envelopes.py` → `collector/tests/data/sentry/`), and on hand-made
//! events for the protocol's other shapes.

use serde_json::{Value, json};

use super::*;
use crate::fingerprint::fingerprint;
use crate::sentry::envelope::{self, ItemType};

fn golden(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/sentry/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The event item of an envelope file, parsed.
fn event_of(name: &str) -> (Option<String>, &'static Json<'static>) {
    let body: &'static [u8] = Box::leak(golden(name).into_boxed_slice());
    let (header, items) = envelope::parse(body).expect("envelope");
    let item = items
        .map(|i| i.expect("item"))
        .find(|i| i.kind == ItemType::Event)
        .expect("an event item");
    (
        header.event_id,
        Box::leak(Box::new(
            Json::parse(item.payload, leaked_arena()).expect("event JSON"),
        )),
    )
}

/// A hand-made event read as its JSON text would be (`Json::parse`), kept for the test's life.
fn parsed(v: &Value) -> &'static Json<'static> {
    let text: &'static [u8] = Box::leak(v.to_string().into_bytes().into_boxed_slice());
    Box::leak(Box::new(Json::parse(text, leaked_arena()).expect("JSON")))
}

/// An arena kept for the test's life.
fn leaked_arena() -> &'static bumpalo::Bump {
    Box::leak(Box::new(bumpalo::Bump::new()))
}

fn ctx(event_id: Option<&str>) -> Context<'_> {
    Context {
        source: Source::SentryEnvelope,
        project: "shop",
        event_id,
        traces: None,
    }
}

fn attr<'e>(ev: &'e ErrorEvent<'_>, key: &str) -> Option<&'e str> {
    ev.attributes
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| &**v)
}

fn fp(ev: &ErrorEvent<'_>) -> String {
    fingerprint(&ev.grouping_input("shop", None)).fingerprint
}

#[test]
fn a_chained_python_exception_maps_to_its_reported_exception_and_groups_on_its_root_cause() {
    let (id, v) = event_of("python_chained.envelope");
    let ev = to_event(v, ctx(id.as_deref())).expect("maps");
    assert_eq!(Some(&*ev.event_id), id.as_deref(), "the header's id");
    assert_eq!(
        ev.exception_type, "__main__.PaymentError",
        "the last value is the reported one"
    );
    assert_eq!(ev.message, "payment failed for order 99");
    assert_eq!(ev.service, "checkout", "from the `service` tag");
    assert_eq!((&*ev.release, &*ev.environment), ("shop@1.2.3", "staging"));
    assert_eq!(
        attr(&ev, "host.name"),
        Some("pod-7f9c"),
        "server_name is a host"
    );
    assert_eq!(attr(&ev, "user.id"), Some("7"));
    assert!(attr(&ev, "user.email_hash").is_some_and(|h| !h.contains('@')));
    assert!(attr(&ev, "sdk.name").is_some_and(|n| n.starts_with("sentry.python")));
    assert_eq!(ev.trace_id.len(), 32);
    assert!(!ev.escaped, "capture_exception: handled");
    assert_eq!(ev.severity_hint, None, "level error is the default");
    // Outermost first, frames innermost first; the root cause (KeyError) last.
    let types: Vec<_> = ev
        .frames
        .iter()
        .map(|s| s.exception_type.as_deref())
        .collect();
    assert_eq!(types, [Some("PaymentError"), Some("KeyError")]);
    assert_eq!(ev.frames[1].frames[0].function, "load");
    assert!(
        ev.stacktrace
            .starts_with("Traceback (most recent call last):\n  File \"")
    );
    assert!(
        ev.stacktrace
            .contains("The above exception was the direct cause")
    );
    assert!(
        ev.stacktrace
            .ends_with("PaymentError: payment failed for order 99")
    );
    // Frame variables (which hold `secret_local = 'hunter2'`) are not kept.
    let everything = format!("{ev:?}");
    assert!(!everything.contains("hunter2"), "{everything}");
}

/// One bug, one issue: the OTLP copy (the text `traceback.format_exc()` gives, what
/// OpenTelemetry's `record_exception` stores) groups with the Sentry copy (frames as data).
#[test]
fn the_sentry_copy_and_the_otlp_copy_of_a_python_error_share_a_fingerprint() {
    let (id, v) = event_of("python_chained.envelope");
    let sentry = to_event(v, ctx(id.as_deref())).expect("maps");
    let text = String::from_utf8(golden("python_chained.traceback")).expect("utf-8");
    let otlp = ErrorEvent {
        service: "checkout".into(),
        exception_type: "__main__.PaymentError".into(),
        message: "payment failed for order 99".into(),
        stacktrace: text.into(),
        ..Default::default()
    };
    assert_eq!(fp(&sentry), fp(&otlp));
    let grouped = fingerprint(&sentry.grouping_input("shop", None));
    assert_eq!(grouped.culprit, "capture_envelopes in load");
    // And a different service is a different issue.
    let other = ErrorEvent {
        service: "billing".into(),
        ..otlp
    };
    assert_ne!(fp(&sentry), fp(&other));
}

#[test]
fn log_messages_group_on_their_template() {
    let (id, v) = event_of("python_logging.envelope");
    let ev = to_event(v, ctx(id.as_deref())).expect("maps");
    assert_eq!(ev.exception_type, "");
    assert_eq!(ev.message, "Invoice INV-42 could not be sent");
    assert_eq!(
        ev.message_template.as_deref(),
        Some("Invoice %s could not be sent")
    );
    assert_eq!(attr(&ev, "logger"), Some("app.billing"));
    let mut other = serde_json::to_value(v).expect("JSON");
    other["logentry"]["formatted"] = json!("Invoice INV-43 could not be sent");
    other["logentry"]["params"] = json!(["INV-43"]);
    let other = to_event(parsed(&other), ctx(None)).expect("maps");
    assert_eq!(fp(&ev), fp(&other), "one template, one issue");
    let mut changed = serde_json::to_value(v).expect("JSON");
    changed["logentry"]["message"] = json!("Refund %s could not be sent");
    assert_ne!(
        fp(&ev),
        fp(&to_event(parsed(&changed), ctx(None)).expect("maps"))
    );
}

#[test]
fn default_in_a_client_fingerprint_stands_for_faultlines() {
    let (id, v) = event_of("python_fingerprint.envelope");
    let ev = to_event(v, ctx(id.as_deref())).expect("maps");
    assert_eq!(
        ev.client_fingerprint.as_deref(),
        Some("{{ default }} ⋄ eu-west")
    );
    let (_, plain) = event_of("python_chained.envelope");
    let plain = to_event(plain, ctx(None)).expect("maps");
    let g = fingerprint(&ev.grouping_input("shop", None));
    assert_eq!(g.fingerprint, format!("{} ⋄ eu-west", fp(&plain)));
    assert_eq!(g.version, crate::fingerprint::CLIENT_GROUPING_VERSION);
    // A lone `{{ default }}` is no client fingerprint at all.
    let mut lone = serde_json::to_value(v).expect("JSON");
    lone["fingerprint"] = json!(["{{ default }}"]);
    assert_eq!(
        to_event(parsed(&lone), ctx(None))
            .expect("maps")
            .client_fingerprint,
        None
    );
}

#[test]
fn the_protocols_other_shapes() {
    let v = json!({
        "event_id": "5FD5C47E-0C0B-4B8E-9F0E-2B6E5E1D9A11",
        "timestamp": 1796531729.88,
        "platform": "node",
        "level": "warning",
        "exception": [{
            "type": "TypeError",
            "value": "x is undefined",
            "mechanism": {"type": "auto.node.onuncaughtexception", "handled": false},
            "stacktrace": {"frames": [
                {"filename": "/srv/shop/node_modules/express/lib/router.js", "function": "next", "lineno": 1, "colno": 1, "in_app": false},
                {"filename": "/srv/shop/routes.js", "function": "checkout", "lineno": 20, "colno": 3, "in_app": true},
                {"filename": "/srv/shop/cart.js", "function": "total", "lineno": 10, "colno": 5, "in_app": true}
            ]}
        }],
        "tags": [["service.name", "web"], ["region", "eu"], ["count", 3]],
        "user": {"id": 42},
        "transaction": "/cart/:id",
        "transaction_info": {"source": "route"},
        "request": {"method": "POST", "url": "https://shop.example/cart/9", "query_string": {"a": "1"},
                    "headers": [["Authorization", "Bearer sekrit"], ["Accept", "*/*"]]},
        "contexts": {"trace": {"trace_id": "0af7651916cd43dd8448eb211c80319c", "span_id": "b7ad6b7169203331"},
                     "runtime": {"name": "node", "version": "v20.20.2"}},
        "server_name": "web-1"
    });
    let ev = to_event(parsed(&v), ctx(None)).expect("maps");
    assert_eq!(ev.event_id, "5fd5c47e0c0b4b8e9f0e2b6e5e1d9a11");
    assert_eq!(ev.timestamp, 1_796_531_729);
    assert_eq!(ev.exception_type, "TypeError");
    assert_eq!(ev.service, "web");
    assert!(ev.escaped);
    assert_eq!(ev.http_status, 500, "uncaught in a request");
    assert_eq!(attr(&ev, "http.status_inferred"), Some("true"));
    assert_eq!(ev.severity_hint.as_deref(), Some("warning"));
    assert_eq!(ev.http_route, "/cart/:id");
    assert_eq!(ev.http_method, "POST");
    assert_eq!(ev.url, "https://shop.example/cart/9?a=1");
    assert_eq!(ev.span_id, "b7ad6b7169203331");
    assert_eq!(attr(&ev, "user.id"), Some("42"));
    assert_eq!(attr(&ev, "count"), Some("3"));
    assert_eq!(attr(&ev, "context.runtime.version"), Some("v20.20.2"));
    assert_eq!(
        attr(&ev, "http.request.header.authorization"),
        Some("Bearer sekrit"),
        "kept here, scrubbed by key before spooling"
    );
    assert_eq!(
        ev.stacktrace,
        "TypeError: x is undefined\n    at total (/srv/shop/cart.js:10:5)\n    at checkout (/srv/shop/routes.js:20:3)\n    at next (/srv/shop/node_modules/express/lib/router.js:1:1)"
    );
    // The V8 text of the same error groups alike.
    let otlp = ErrorEvent {
        service: "web".into(),
        exception_type: "TypeError".into(),
        stacktrace: ev.stacktrace.clone(),
        ..Default::default()
    };
    assert_eq!(fp(&ev), fp(&otlp));

    // A synthetic exception (JS `captureMessage`) has no meaningful type.
    let synthetic = json!({
        "message": "plain message",
        "exception": {"values": [{"value": "plain message", "mechanism": {"type": "generic", "synthetic": true}}]}
    });
    let ev = to_event(parsed(&synthetic), ctx(None)).expect("maps");
    assert_eq!((&*ev.exception_type, &*ev.message), ("", "plain message"));
    assert_eq!(
        ev.service, "shop",
        "the project when no tag names a service"
    );
    assert_eq!(ev.event_id.len(), 32, "generated");

    // Timestamps as text, naive or not; a bad one is refused, naming the field.
    for (ts, want) in [
        ("2026-12-06T04:33:53.777456Z", 1_796_531_633),
        ("2026-12-06T04:33:53.777456", 1_796_531_633),
        ("2025-07-31T23:05:37.0926585+00:00", 1_754_003_137),
    ] {
        let v = json!({"timestamp": ts, "message": "m"});
        let ev = to_event(parsed(&v), ctx(None)).expect(ts);
        assert_eq!(ev.timestamp, want, "{ts}");
    }
    let e = to_event(parsed(&json!({"timestamp": "yesterday"})), ctx(None)).expect_err("bad time");
    assert!(e.contains("timestamp"), "{e}");
    assert!(to_event(parsed(&json!([1, 2])), ctx(None)).is_err());
}

#[test]
fn log_templates_are_filled_in_when_not_formatted() {
    assert_eq!(
        interpolate("a %s b %d %%", Some(parsed(&json!(["x", 2])))),
        "a x b 2 %"
    );
    assert_eq!(
        interpolate("{} and {}", Some(parsed(&json!([1])))),
        "1 and {}"
    );
    assert_eq!(
        interpolate("hi {name}", Some(parsed(&json!({"name": "ann"})))),
        "hi ann"
    );
    assert_eq!(interpolate("no params", None), "no params");
}

/// Sentry events of every runtime: the corpus's errors with their frames as data (as the SDKs
/// send them, oldest first, in-app flags given), the envelopes sentry-python wrote, and events
/// whose grouping depends on the message or the client.
fn events_for_the_cache() -> Vec<&'static Json<'static>> {
    let path = format!(
        "{}/tests/data/grouping/events.jsonl",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("corpus");
    let mut out: Vec<&'static Json<'static>> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let e: Value = serde_json::from_str(l).expect("corpus line");
            let trace = crate::fingerprint::parse_stacktrace(e["stacktrace"].as_str().unwrap_or(""));
            let n = trace.len();
            let values: Vec<Value> = (trace.iter().rev().enumerate())
                .map(|(i, seg)| {
                    let frames: Vec<Value> = (seg.frames.iter().rev())
                        .enumerate()
                        .map(|(j, f)| {
                            json!({"module": f.module, "function": f.function, "in_app": f.in_app,
                                   "filename": format!("{}.src", f.module), "lineno": 10 + j,
                                   "vars": {"i": j}})
                        })
                        .collect();
                    json!({"type": if i + 1 == n { e["exception_type"].clone() } else { json!("Error") },
                           "value": if i + 1 == n { e["message"].clone() } else { json!("cause") },
                           "stacktrace": {"frames": frames}})
                })
                .collect();
            let platform = match e["lang"].as_str() {
                Some("rust") => "native",
                other => other.unwrap_or("other"),
            };
            parsed(&json!({"platform": platform, "exception": {"values": values},
                           "tags": {"service": e["service"]}, "message": e["message"]}))
        })
        .collect();
    for name in [
        "python_chained.envelope",
        "python_fingerprint.envelope",
        "python_logging.envelope",
    ] {
        out.push(event_of(name).1);
    }
    // Nothing in app: grouped on the message, one by one.
    out.push(parsed(
        &json!({"platform": "python", "exception": {"values": [{"type": "E",
        "value": "timeout #1", "stacktrace": {"frames": [{"function": "f", "in_app": false}]}}]}}),
    ));
    out
}

/// A trace found in the cache is mapped without its frames and text, and its rows are the rows
/// of the full mapping: cold and warm caches, disabled ones, message rules, client fingerprints.
#[test]
fn a_known_trace_maps_to_the_rows_of_the_full_mapping() {
    use crate::fingerprint::{FingerprintRule, GroupingConfig};
    use crate::limits::FieldLimits;
    use crate::occurrence::{RowPolicy, TraceCache, with_rows};
    use crate::scrub::Scrubber;

    let events = events_for_the_cache();
    assert!(events.len() > 300);
    let fields = FieldLimits::default();
    let scrubber = Scrubber::new(true, true, &[], &[]);
    let rules = GroupingConfig {
        rules: vec![FingerprintRule {
            message: Some("*timeout*".into()),
            fingerprint: "timeouts-{{ default }}".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let none = TraceCache::new(0);
    for config in [None, Some(&rules)] {
        let policy = RowPolicy {
            config,
            fields: &fields,
            scrubber: &scrubber,
            transition: None,
        };
        let rows = |v: &'static Json<'static>, traces: Option<&TraceCache>, cache: &TraceCache| {
            let ctx = Context {
                traces,
                ..ctx(None)
            };
            let mut ev = to_event(v, ctx).expect("maps");
            ev.event_id = "fixed".into();
            let found = matches!(&ev.trace_hint, TraceHint::Found(w) if w.groups_alone());
            assert_eq!(
                found,
                ev.frames.is_empty() && ev.stacktrace.is_empty() && found
            );
            let rows = with_rows(vec![ev], "shop", 1_700_000_000, policy, cache, |rows| {
                format!("{rows:?}")
            });
            (rows, found)
        };
        for max_bytes in [0, 32 << 20] {
            let cache = TraceCache::new(max_bytes);
            let mut found = 0;
            for round in 0..2 {
                for (i, v) in events.iter().enumerate() {
                    let (want, _) = rows(v, None, &none);
                    let (got, hit) = rows(v, Some(&cache), &cache);
                    assert_eq!(got, want, "event {i}, round {round}, cache {max_bytes}");
                    found += usize::from(hit);
                }
            }
            match (max_bytes, config) {
                // Nothing kept; a message rule makes every grouping read the message.
                (0, _) | (_, Some(_)) => assert_eq!(found, 0),
                // Every trace whose grouping does not read the message is known the second time.
                _ => assert!(found > events.len() / 2, "{found} of {}", events.len()),
            }
        }
    }
}
