//! Sentry envelopes as `loadgen` sends them: one gzipped event each, as sentry-python sends.

use super::corpus::{CorpusEvent, ENVIRONMENTS, ROUTES, Rng, SEED, corpus};

/// A gzipped Sentry envelope of one event (a corpus error picked at random).
pub(super) fn sentry_envelope(rng: &mut Rng, events: &[CorpusEvent]) -> Vec<u8> {
    use std::io::Write;
    let e = rng.pick(events);
    let event_id = format!("{:016x}{:016x}", rng.next(), rng.next());
    let event = sentry_event(rng, e, &event_id).to_string();
    let body = format!(
        "{{\"event_id\":\"{event_id}\",\"sent_at\":\"2026-12-06T04:33:53.833810Z\"}}\n{{\"type\":\"event\",\"content_type\":\"application/json\",\"length\":{}}}\n{event}\n",
        event.len()
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(9));
    let _ = gz.write_all(body.as_bytes());
    gz.finish().unwrap_or_default()
}

/// Every corpus error once as a Sentry event, one JSON line each:
/// `{"id": <corpus id>, "group": <true group>, "event": {…}}` (event ids: the corpus ids'
/// bytes in hex). What `bench/bugsink.sh` sends to Faultline and to Bugsink alike, to score both groupings.
pub fn corpus_events() -> Vec<String> {
    let mut rng = Rng(SEED);
    corpus()
        .iter()
        .map(|e| {
            // The corpus id's bytes in hex, zero-padded to 32 digits (unique, readable back).
            let hex: String = e.id.bytes().take(16).map(|b| format!("{b:02x}")).collect();
            let event_id = format!("{hex:0>32}");
            serde_json::json!({"id": e.id, "group": e.group,
                               "event": sentry_event(&mut rng, e, &event_id)})
            .to_string()
        })
        .collect()
}

/// One corpus error as sentry-python writes an event: its frames as data (oldest first), tags,
/// request, trace context, SDK.
fn sentry_event(rng: &mut Rng, e: &CorpusEvent, event_id: &str) -> serde_json::Value {
    let segments = faultline_collector::fingerprint::parse_stacktrace(&e.stacktrace);
    let values: Vec<serde_json::Value> = segments
        .iter()
        .rev()
        .enumerate()
        .map(|(i, seg)| {
            let frames: Vec<serde_json::Value> = (seg.frames.iter().rev())
                .map(|f| {
                    serde_json::json!({
                        "module": f.module, "function": f.function, "in_app": f.in_app,
                        "filename": format!("{}.src", f.module), "lineno": 10 + rng.next() % 400,
                        "context_line": format!("    {}()", f.function),
                    })
                })
                .collect();
            let last = i + 1 == segments.len();
            serde_json::json!({
                "type": if last { e.exception_type.as_str() } else { seg.exception_type.as_deref().unwrap_or("Error") },
                "value": if last { e.message.as_str() } else { "caused by" },
                "mechanism": {"type": "generic", "handled": true},
                "stacktrace": {"frames": frames},
            })
        })
        .collect();
    serde_json::json!({
        "event_id": event_id,
        "level": "error",
        // As the runtime's Sentry SDK names itself (sentry-rust says `native`).
        "platform": if e.lang == "rust" { "native" } else { e.lang.as_str() },
        "timestamp": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64()),
        "release": "shop@1.2.3",
        "environment": *rng.pick(ENVIRONMENTS),
        "server_name": "pod-7f9c",
        "exception": {"values": values},
        "tags": {"service": e.service},
        "request": {"method": "GET", "url": format!("https://shop.example{}", rng.pick(ROUTES)),
                    "headers": {"User-Agent": "loadgen", "Accept": "*/*"}},
        "contexts": {"trace": {"trace_id": format!("{:016x}{:016x}", rng.next(), rng.next()),
                               "span_id": format!("{:016x}", rng.next())},
                     "runtime": {"name": "CPython", "version": "3.11.7"}},
        "sdk": {"name": "sentry.python", "version": "2.76.0"},
    })
}
