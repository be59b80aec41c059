//! The native webhook: a request body (one event, or a JSON array of them) → [`ErrorEvent`]s
//! borrowing from it.

use faultline_proto::webhook::WebhookEvent;
use serde_json::Value;

use crate::error::IngestError;
use crate::event::{ErrorEvent, Source, Text};
use crate::occurrence::TraceHint;

/// Most events in one webhook batch (a JSON array); the body size limit applies as well.
pub const MAX_WEBHOOK_BATCH: usize = 10_000;

/// What a webhook body held.
pub struct Read<'a> {
    /// Its events, in order.
    pub events: Vec<WebhookEvent<'a>>,
    /// Whether they came as an array (answered with a list) rather than one object.
    pub batch: bool,
}

/// Reads a webhook body: one event object, or an array of 1 to [`MAX_WEBHOOK_BATCH`] events.
pub fn read(body: &[u8]) -> Result<Read<'_>, IngestError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'[') {
        let ev = serde_json::from_slice(body)
            .map_err(|e| IngestError::BadRequest(format!("malformed webhook event: {e}")))?;
        return Ok(Read {
            events: vec![ev],
            batch: false,
        });
    }
    let events: Vec<WebhookEvent<'_>> =
        serde_json::from_slice(body).map_err(|e| bad_batch(body, e))?;
    if events.is_empty() {
        return Err(IngestError::BadRequest(
            "empty webhook batch: send at least one event".into(),
        ));
    }
    if events.len() > MAX_WEBHOOK_BATCH {
        return Err(IngestError::PayloadTooLarge(format!(
            "{} events in one webhook batch; at most {MAX_WEBHOOK_BATCH}",
            events.len()
        )));
    }
    Ok(Read {
        events,
        batch: true,
    })
}

impl<'a> Read<'a> {
    /// The events normalized ([`to_event`]), all or nothing: the first bad one (named by its
    /// index in an array) refuses them all.
    pub fn to_events(self) -> Result<Vec<ErrorEvent<'a>>, IngestError> {
        let batch = self.batch;
        self.events
            .into_iter()
            .enumerate()
            .map(|(i, ev)| {
                to_event(ev).map_err(|m| {
                    IngestError::BadRequest(if batch { format!("event {i}: {m}") } else { m })
                })
            })
            .collect()
    }
}

/// The error for a webhook array that did not parse, naming the first bad event when the array
/// itself is well-formed JSON (only on this error path is the body parsed a second time).
fn bad_batch(body: &[u8], e: serde_json::Error) -> IngestError {
    use serde::Deserialize;
    let named = serde_json::from_slice::<Vec<Value>>(body)
        .ok()
        .and_then(|items| {
            items.iter().enumerate().find_map(|(i, v)| {
                WebhookEvent::deserialize(v)
                    .err()
                    .map(|e| format!("malformed webhook batch: event {i}: {e}"))
            })
        });
    IngestError::BadRequest(named.unwrap_or_else(|| format!("malformed webhook batch: {e}")))
}

/// A context value as an attribute text: a string as it is, anything else as compact JSON.
fn json_string(v: Value) -> String {
    match v {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// Normalizes a webhook event, keeping its borrowed texts borrowed. Fails only on an unparsable
/// `timestamp`.
pub fn to_event(w: WebhookEvent<'_>) -> Result<ErrorEvent<'_>, String> {
    let timestamp = match w
        .timestamp
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => 0,
        Some(ts) => {
            let t = time::OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339)
                .map_err(|e| format!("field `timestamp`: {ts:?} is not an RFC 3339 time ({e})"))?;
            u32::try_from(t.unix_timestamp())
                .map_err(|_| format!("field `timestamp`: {ts:?} is out of range"))?
        }
    };
    let mut attributes: Vec<(Text<'_>, Text<'_>)> = Vec::new();
    if let Some(f) = w.file {
        attributes.push(("code.filepath".into(), f));
    }
    if let Some(l) = w.line {
        attributes.push(("code.lineno".into(), l.to_string().into()));
    }
    let request = w.request.unwrap_or_default();
    if let Some(ip) = request.ip {
        attributes.push(("client.address".into(), ip));
    }
    if let Some(ua) = request.user_agent {
        attributes.push(("user_agent.original".into(), ua));
    }
    for (k, v) in request.extra {
        attributes.push((format!("request.{k}").into(), json_string(v).into()));
    }
    for (k, v) in w.server.into_iter().flatten() {
        attributes.push((format!("server.{k}").into(), json_string(v).into()));
    }
    for (k, v) in w.extra {
        attributes.push((k.into(), json_string(v).into()));
    }
    let service = w.service.or(w.project).unwrap_or_default();
    if !service.is_empty() {
        attributes.push(("webhook.project".into(), service.clone()));
    }
    Ok(ErrorEvent {
        event_id: w
            .event_id
            .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string().into()),
        timestamp,
        source: Some(Source::Webhook),
        service,
        environment: w.environment.unwrap_or_default(),
        release: w.release.unwrap_or_default(),
        exception_type: w.exception_class.unwrap_or_default(),
        message: w.message,
        message_template: None,
        stacktrace: w.stack_trace.unwrap_or_default(),
        frames: Vec::new(),
        escaped: false,
        http_status: w.http_status.unwrap_or(0),
        http_method: request.method.unwrap_or_default(),
        http_route: request.route.unwrap_or_default(),
        url: request.url.unwrap_or_default(),
        trace_id: "".into(),
        span_id: "".into(),
        severity_hint: w.severity,
        client_fingerprint: w.fingerprint,
        attributes,
        trace_hint: TraceHint::Unknown,
    })
}
