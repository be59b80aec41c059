//! OTLP → [`ErrorEvent`]s and request counts.
//!
//! What is an error: span events named `exception` (or ending in `.exception`, or carrying
//! `exception.type`/`exception.message`), and log records with `exception.type` or
//! `exception.message` or severity ERROR and above. Every SERVER span, error or not, adds one to its
//! service's requests of that minute; spans are not stored otherwise.

use std::borrow::Cow;
use std::collections::HashSet;

use faultline_proto::otlp::collector::logs::v1::ExportLogsServiceRequest;
use faultline_proto::otlp::common::v1::AnyValue;
use faultline_store::RequestCountRow;
use sha2::{Digest, Sha256};

use crate::event::{ErrorEvent, Source, Text};
use crate::otlp_wire::{Attr, TraceView, Val, attrs_of};

/// OTLP `SPAN_KIND_SERVER`.
const SPAN_KIND_SERVER: i32 = 2;
/// OTLP `STATUS_CODE_ERROR`.
const STATUS_CODE_ERROR: i32 = 2;
/// OTLP `SEVERITY_NUMBER_ERROR`.
const SEVERITY_ERROR: i32 = 17;
/// OTLP `SEVERITY_NUMBER_FATAL`.
const SEVERITY_FATAL: i32 = 21;

/// Renders an attribute value as a string (arrays and maps as JSON).
pub fn value_string(v: &AnyValue) -> String {
    val_string(&Val::of(v))
}

/// Renders a borrowed attribute value as a string (arrays and maps as JSON).
pub fn val_string(v: &Val<'_>) -> String {
    match v {
        Val::Str(s) => s.to_string(),
        Val::Bool(b) => b.to_string(),
        Val::Int(i) => i.to_string(),
        Val::Double(d) => d.to_string(),
        Val::Bytes(b) => const_hex::encode(b),
        Val::Array(a) => {
            // tracing-opentelemetry may send a stack trace as an array of lines.
            let items: Vec<String> = a.iter().map(val_string).collect();
            serde_json::to_string(&items).unwrap_or_default()
        }
        Val::Kvlist(kv) => {
            let m: serde_json::Map<String, serde_json::Value> = kv
                .iter()
                .map(|(k, v)| (k.to_string(), serde_json::Value::String(val_string(v))))
                .collect();
            serde_json::Value::Object(m).to_string()
        }
        // Profiles' string-table references carry no text of their own here.
        Val::Empty => String::new(),
    }
}

/// [`val_string`], borrowing a string value (from the view, which borrows the request) instead of
/// copying it.
fn val_text<'v>(v: &'v Val<'_>) -> Text<'v> {
    match v {
        Val::Str(s) => Cow::Borrowed(s),
        v => Cow::Owned(val_string(v)),
    }
}

fn stacktrace_text<'v>(v: &'v Val<'_>) -> Text<'v> {
    match v {
        Val::Array(a) => a
            .iter()
            .map(val_string)
            .collect::<Vec<_>>()
            .join("\n")
            .into(),
        _ => val_text(v),
    }
}

/// Attributes as an ordered lookup over one or two lists (an event's, then its span's); the first
/// wins. Scanned, not hashed: spans carry a handful of attributes, and a linear scan beats hashing
/// every key of every span; nothing is allocated.
#[derive(Clone, Copy)]
struct Attrs<'v, 'a> {
    parts: [&'v [Attr<'a>]; 2],
}

impl<'v, 'a> Attrs<'v, 'a> {
    fn of(kvs: &'v [Attr<'a>]) -> Self {
        Attrs { parts: [kvs, &[]] }
    }
    /// These attributes, then `more` (a repeated key is kept but never found).
    fn then(self, more: &'v [Attr<'a>]) -> Self {
        Attrs {
            parts: [self.parts[0], more],
        }
    }
    fn iter(&self) -> impl Iterator<Item = &'v Attr<'a>> + use<'v, 'a> {
        self.parts[0].iter().chain(self.parts[1])
    }
    fn len(&self) -> usize {
        self.parts[0].len() + self.parts[1].len()
    }
    fn get(&self, k: &str) -> Option<&'v Val<'a>> {
        self.iter().find(|(key, _)| *key == k).map(|(_, v)| v)
    }
    fn str(&self, keys: &[&str]) -> Text<'v> {
        keys.iter()
            .find_map(|k| self.get(k).map(val_text))
            .unwrap_or_default()
    }
    fn int(&self, keys: &[&str]) -> Option<i64> {
        keys.iter().find_map(|k| match self.get(k)? {
            Val::Int(i) => Some(*i),
            Val::Str(s) => s.trim().parse().ok(),
            Val::Double(d) => Some(*d as i64),
            _ => None,
        })
    }
    fn has_exception(&self) -> bool {
        self.get("exception.type").is_some() || self.get("exception.message").is_some()
    }
}

/// Keys consumed into dedicated columns, not repeated in `attributes`.
const CONSUMED: &[&str] = &[
    "service.name",
    "service.version",
    "deployment.environment.name",
    "deployment.environment",
    "exception.type",
    "exception.message",
    "exception.stacktrace",
    "exception.escaped",
    "http.response.status_code",
    "http.status_code",
    "http.request.method",
    "http.method",
    "http.route",
    "url.full",
    "http.url",
    "faultline.fingerprint",
    "faultline.event_id",
];

fn resource_fields<'v>(attrs: &Attrs<'v, '_>, ev: &mut ErrorEvent<'v>) {
    ev.service = attrs.str(&["service.name"]);
    ev.release = attrs.str(&["service.version"]);
    ev.environment = attrs.str(&["deployment.environment.name", "deployment.environment"]);
}

/// Which keys of an attribute lookup come first there (a handful of attributes: scanned; many: hashed).
struct FirstSeen<'k> {
    seen: Option<HashSet<&'k str>>,
}

impl<'k> FirstSeen<'k> {
    fn new(n: usize) -> Self {
        FirstSeen {
            seen: (n > 16).then(|| HashSet::with_capacity(n)),
        }
    }
    /// Whether `k`, the `i`th key of `attrs`, is its first occurrence there.
    fn first(&mut self, attrs: &Attrs<'k, '_>, i: usize, k: &'k str) -> bool {
        match &mut self.seen {
            Some(seen) => seen.insert(k),
            None => !attrs.iter().take(i).any(|(key, _)| key == k),
        }
    }
}

fn fill<'v>(attrs: &Attrs<'v, '_>, ev: &mut ErrorEvent<'v>) {
    ev.exception_type = attrs.str(&["exception.type"]);
    ev.message = attrs.str(&["exception.message"]);
    ev.stacktrace = attrs
        .get("exception.stacktrace")
        .map(stacktrace_text)
        .unwrap_or_default();
    ev.escaped = matches!(attrs.get("exception.escaped"), Some(Val::Bool(true)))
        || attrs.str(&["exception.escaped"]) == "true";
    ev.http_status = attrs
        .int(&["http.response.status_code", "http.status_code"])
        .and_then(|s| u16::try_from(s).ok())
        .unwrap_or(0);
    ev.http_method = attrs.str(&["http.request.method", "http.method"]);
    ev.http_route = attrs.str(&["http.route"]);
    ev.url = attrs.str(&["url.full", "http.url"]);
    ev.client_fingerprint = attrs.get("faultline.fingerprint").map(val_text);
    let mut seen = FirstSeen::new(attrs.len());
    ev.attributes = (attrs.iter().enumerate())
        .filter(|(i, (k, _))| seen.first(attrs, *i, k) && !CONSUMED.contains(&k.as_ref()))
        .map(|(_, (k, v))| (Cow::Borrowed(k.as_ref()), val_text(v)))
        .collect();
    if let Some(id) = attrs.get("faultline.event_id") {
        ev.event_id = val_text(id);
    }
}

fn secs(nanos: u64) -> u32 {
    u32::try_from(nanos / 1_000_000_000).unwrap_or(0)
}

fn derived_id(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
        h.update([0x1f]);
    }
    const_hex::encode(&h.finalize()[..16])
}

/// What one OTLP request yields (its events borrow from the request).
#[derive(Debug, Default)]
pub struct Extracted<'a> {
    /// Error occurrences.
    pub events: Vec<ErrorEvent<'a>>,
    /// SERVER spans per (service, environment, minute): (requests, failed).
    pub requests: Vec<RequestCountRow>,
}

/// Extracts errors and request counts from a trace export's view (read from protobuf by
/// [`TraceView::parse`], from OTLP/JSON by [`crate::otlp_json::parse`], from decoded structs by
/// [`TraceView::from_prost`]); the events borrow from the view.
pub fn from_trace_view<'v>(req: &'v TraceView<'_>, received_at: u32) -> Extracted<'v> {
    let mut out = Extracted::default();
    for rs in &req.resources {
        let res = Attrs::of(&rs.attributes);
        let mut base = ErrorEvent::default();
        resource_fields(&res, &mut base);
        // SERVER spans of this resource per minute: (requests, failed).
        let mut minutes: Vec<(u32, u64, u64)> = Vec::new();
        for span in &rs.spans {
            let span_attrs = Attrs::of(&span.attributes);
            let status_error = span.status_code == STATUS_CODE_ERROR;
            let http_status = span_attrs
                .int(&["http.response.status_code", "http.status_code"])
                .unwrap_or(0);
            if span.kind == SPAN_KIND_SERVER {
                let t = match secs(span.end_time_unix_nano) {
                    0 => secs(span.start_time_unix_nano),
                    t => t,
                };
                let t = if t == 0 { received_at } else { t };
                let minute = t - t % 60;
                let failed = u64::from(status_error || http_status >= 500);
                match minutes.iter_mut().find(|m| m.0 == minute) {
                    Some(m) => {
                        m.1 += 1;
                        m.2 += failed;
                    }
                    None => minutes.push((minute, 1, failed)),
                }
            }
            for (i, event) in span.events.iter().enumerate() {
                let attrs = Attrs::of(&event.attributes);
                let named = event.name == "exception" || event.name.ends_with(".exception");
                if !named && !attrs.has_exception() {
                    continue;
                }
                let attrs = attrs.then(&span.attributes);
                let mut ev = base.clone();
                ev.source = Some(Source::OtlpTrace);
                fill(&attrs, &mut ev);
                if ev.exception_type.is_empty() && ev.message.is_empty() {
                    ev.message = Cow::Borrowed(&event.name);
                }
                ev.timestamp = secs(event.time_unix_nano);
                ev.trace_id = span.trace_id.to_hex().into();
                ev.span_id = span.span_id.to_hex().into();
                if ev.event_id.is_empty() {
                    ev.event_id = derived_id(&[
                        &span.trace_id.bytes(),
                        &span.span_id.bytes(),
                        &(i as u64).to_le_bytes(),
                        &event.time_unix_nano.to_le_bytes(),
                        ev.exception_type.as_bytes(),
                    ])
                    .into();
                }
                out.events.push(ev);
            }
        }
        out.requests
            .extend(
                minutes
                    .into_iter()
                    .map(|(minute, requests, failed)| RequestCountRow {
                        project: String::new(),
                        service: base.service.to_string(),
                        environment: base.environment.to_string(),
                        minute,
                        requests,
                        failed,
                    }),
            );
    }
    out.requests = RequestCountRow::merge(std::mem::take(&mut out.requests));
    out
}

/// Extracts errors from a logs export (the events own their texts: logs are not the bulk of the
/// traffic, and their attribute views live only as long as each record's turn).
pub fn from_logs(req: &ExportLogsServiceRequest) -> Extracted<'static> {
    let mut out = Extracted::default();
    for rl in &req.resource_logs {
        let res_attrs = rl
            .resource
            .as_ref()
            .map(|r| attrs_of(&r.attributes))
            .unwrap_or_default();
        let res = Attrs::of(&res_attrs);
        let mut base = ErrorEvent::default();
        resource_fields(&res, &mut base);
        for sl in &rl.scope_logs {
            for (i, rec) in sl.log_records.iter().enumerate() {
                let rec_attrs = attrs_of(&rec.attributes);
                let attrs = Attrs::of(&rec_attrs);
                if !attrs.has_exception() && rec.severity_number < SEVERITY_ERROR {
                    continue;
                }
                let mut ev = base.clone();
                ev.source = Some(Source::OtlpLog);
                fill(&attrs, &mut ev);
                let body = rec.body.as_ref().map(value_string).unwrap_or_default();
                if ev.message.is_empty() {
                    ev.message = body.into();
                } else if !body.is_empty() && body != ev.message {
                    ev.attributes.push(("log.body".into(), body.into()));
                }
                if rec.severity_number >= SEVERITY_FATAL {
                    ev.severity_hint = Some("critical".into());
                } else if !rec.severity_text.is_empty() && rec.severity_number >= SEVERITY_ERROR {
                    ev.severity_hint = Some(rec.severity_text.as_str().into());
                }
                let t = if rec.time_unix_nano != 0 {
                    rec.time_unix_nano
                } else {
                    rec.observed_time_unix_nano
                };
                ev.timestamp = secs(t);
                ev.trace_id = const_hex::encode(&rec.trace_id).into();
                ev.span_id = const_hex::encode(&rec.span_id).into();
                if let Some(scope) = &sl.scope
                    && !scope.name.is_empty()
                {
                    ev.attributes
                        .push(("otel.scope.name".into(), scope.name.as_str().into()));
                }
                if ev.event_id.is_empty() {
                    ev.event_id = derived_id(&[
                        &rec.trace_id,
                        &rec.span_id,
                        &(i as u64).to_le_bytes(),
                        &t.to_le_bytes(),
                        ev.message.as_bytes(),
                    ])
                    .into();
                }
                out.events.push(ev.into_owned());
            }
        }
    }
    out
}
