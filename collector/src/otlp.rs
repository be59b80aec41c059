//! OTLP → [`ErrorEvent`]s and request counts.
//!
//! What is an error: span events named `exception` (or ending in `.exception`, or carrying
//! `exception.type`/`exception.message`), and log records with `exception.type` or
//! `exception.message` or severity ERROR and above. Every SERVER span, error or not, adds one to its
//! service's requests of that minute; spans are not stored otherwise.

use std::borrow::Cow;
use std::collections::HashSet;

use faultline_proto::otlp::collector::logs::v1::ExportLogsServiceRequest;
use faultline_proto::otlp::collector::trace::v1::ExportTraceServiceRequest;
use faultline_proto::otlp::common::v1::AnyValue;
use faultline_store::RequestCountRow;
use sha2::{Digest, Sha256};

use crate::event::{ErrorEvent, Source, Text};
use crate::otlp_wire::{Attr, TraceView, Val, WireError, attrs_of};

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

/// [`val_string`], borrowing a string value instead of copying it.
fn val_text<'a>(v: &Val<'a>) -> Text<'a> {
    match v {
        Val::Str(Cow::Borrowed(s)) => Cow::Borrowed(s),
        v => Cow::Owned(val_string(v)),
    }
}

fn stacktrace_text<'a>(v: &Val<'a>) -> Text<'a> {
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

/// Attributes as an ordered lookup; the first source added wins (event over span). A plain list:
/// spans carry a handful of attributes, and a linear scan beats hashing every key of every span.
#[derive(Default)]
struct Attrs<'v, 'a> {
    list: Vec<&'v Attr<'a>>,
}

impl<'v, 'a> Attrs<'v, 'a> {
    /// Appends (linear: a repeated key is kept but never found, the first one wins).
    fn add(&mut self, kvs: &'v [Attr<'a>]) {
        self.list.extend(kvs.iter());
    }
    fn get(&self, k: &str) -> Option<&'v Val<'a>> {
        self.list.iter().find(|(key, _)| *key == k).map(|(_, v)| v)
    }
    fn str(&self, keys: &[&str]) -> Text<'a> {
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

fn resource_fields<'a>(attrs: &Attrs<'_, 'a>, ev: &mut ErrorEvent<'a>) {
    ev.service = attrs.str(&["service.name"]);
    ev.release = attrs.str(&["service.version"]);
    ev.environment = attrs.str(&["deployment.environment.name", "deployment.environment"]);
}

/// Whether `list[i]`'s key came earlier in `list` (a handful of attributes: scanned; many: hashed).
struct FirstSeen<'k> {
    seen: Option<HashSet<&'k str>>,
}

impl<'k> FirstSeen<'k> {
    fn new(n: usize) -> Self {
        FirstSeen {
            seen: (n > 16).then(|| HashSet::with_capacity(n)),
        }
    }
    fn first(&mut self, list: &[&'k Attr<'_>], i: usize) -> bool {
        let k = list[i].0.as_ref();
        match &mut self.seen {
            Some(seen) => seen.insert(k),
            None => !list[..i].iter().any(|(key, _)| key == k),
        }
    }
}

fn fill<'a>(attrs: &Attrs<'_, 'a>, ev: &mut ErrorEvent<'a>) {
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
    let list = &attrs.list;
    let mut seen = FirstSeen::new(list.len());
    ev.attributes = (0..list.len())
        .filter(|&i| seen.first(list, i) && !CONSUMED.contains(&list[i].0.as_ref()))
        .map(|i| (key_text(&list[i].0), val_text(&list[i].1)))
        .collect();
    if let Some(id) = attrs.get("faultline.event_id") {
        ev.event_id = val_text(id);
    }
}

fn key_text<'a>(k: &Cow<'a, str>) -> Text<'a> {
    match k {
        Cow::Borrowed(k) => Cow::Borrowed(k),
        Cow::Owned(k) => Cow::Owned(k.clone()),
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

/// Extracts errors and request counts from a decoded trace export (project filled in later).
pub fn from_traces(req: &ExportTraceServiceRequest, received_at: u32) -> Extracted<'_> {
    from_trace_view(&TraceView::from_prost(req), received_at)
}

/// Extracts errors and request counts from a trace export's protobuf bytes, read in place
/// ([`crate::otlp_wire`]).
pub fn from_trace_bytes(body: &[u8], received_at: u32) -> Result<Extracted<'_>, WireError> {
    Ok(from_trace_view(&TraceView::parse(body)?, received_at))
}

/// Extracts errors and request counts from an OTLP/JSON trace export ([`crate::otlp_json`]).
pub fn from_trace_json(body: &[u8], received_at: u32) -> Result<Extracted<'_>, serde_json::Error> {
    Ok(from_trace_view(
        &crate::otlp_json::parse(body)?,
        received_at,
    ))
}

/// Extracts errors and request counts from a trace export's view.
pub fn from_trace_view<'a>(req: &TraceView<'a>, received_at: u32) -> Extracted<'a> {
    let mut out = Extracted::default();
    for rs in &req.resources {
        let mut res = Attrs::default();
        res.add(&rs.attributes);
        let mut base = ErrorEvent::default();
        resource_fields(&res, &mut base);
        // SERVER spans of this resource per minute: (requests, failed).
        let mut minutes: Vec<(u32, u64, u64)> = Vec::new();
        for span in &rs.spans {
            let mut span_attrs = Attrs::default();
            span_attrs.add(&span.attributes);
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
                let mut attrs = Attrs::default();
                attrs.add(&event.attributes);
                let named = event.name == "exception" || event.name.ends_with(".exception");
                if !named && !attrs.has_exception() {
                    continue;
                }
                attrs.add(&span.attributes);
                let mut ev = base.clone();
                ev.source = Some(Source::OtlpTrace);
                fill(&attrs, &mut ev);
                if ev.exception_type.is_empty() && ev.message.is_empty() {
                    ev.message = key_text(&event.name);
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

/// Extracts errors from a logs export.
pub fn from_logs(req: &ExportLogsServiceRequest) -> Extracted<'_> {
    let mut out = Extracted::default();
    for rl in &req.resource_logs {
        let res_attrs = rl
            .resource
            .as_ref()
            .map(|r| attrs_of(&r.attributes))
            .unwrap_or_default();
        let mut res = Attrs::default();
        res.add(&res_attrs);
        let mut base = ErrorEvent::default();
        resource_fields(&res, &mut base);
        for sl in &rl.scope_logs {
            for (i, rec) in sl.log_records.iter().enumerate() {
                let rec_attrs = attrs_of(&rec.attributes);
                let mut attrs = Attrs::default();
                attrs.add(&rec_attrs);
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
                out.events.push(ev);
            }
        }
    }
    out
}
