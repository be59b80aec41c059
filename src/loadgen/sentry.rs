//! Sentry envelopes as `loadgen` sends them: one gzipped event each, as sentry-python sends.

use super::corpus::{CorpusEvent, ENVIRONMENTS, ROUTES, Rng};

/// A gzipped Sentry envelope of one event, shaped as sentry-python writes them: the corpus
/// error's frames as data (oldest first), tags, request, trace context, SDK.
pub(super) fn sentry_envelope(rng: &mut Rng, events: &[CorpusEvent]) -> Vec<u8> {
    use std::io::Write;
    let e = rng.pick(events);
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
    let event_id = format!("{:016x}{:016x}", rng.next(), rng.next());
    let event = serde_json::json!({
        "event_id": event_id,
        "level": "error",
        "platform": "other",
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
    .to_string();
    let body = format!(
        "{{\"event_id\":\"{event_id}\",\"sent_at\":\"2026-12-06T04:33:53.833810Z\"}}\n{{\"type\":\"event\",\"content_type\":\"application/json\",\"length\":{}}}\n{event}\n",
        event.len()
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(9));
    let _ = gz.write_all(body.as_bytes());
    gz.finish().unwrap_or_default()
}
