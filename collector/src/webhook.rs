//! The native webhook event → [`ErrorEvent`].

use faultline_proto::webhook::WebhookEvent;
use serde_json::Value;

use crate::event::{ErrorEvent, Source};

fn json_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Normalizes a webhook event. Fails only on an unparsable `timestamp`.
pub fn to_event(w: WebhookEvent) -> Result<ErrorEvent<'static>, String> {
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
    let mut attributes: Vec<(String, String)> = Vec::new();
    if let Some(f) = &w.file {
        attributes.push(("code.filepath".to_string(), f.clone()));
    }
    if let Some(l) = w.line {
        attributes.push(("code.lineno".to_string(), l.to_string()));
    }
    let request = w.request.unwrap_or_default();
    if let Some(ip) = request.ip {
        attributes.push(("client.address".into(), ip));
    }
    if let Some(ua) = request.user_agent {
        attributes.push(("user_agent.original".into(), ua));
    }
    for (k, v) in &request.extra {
        attributes.push((format!("request.{k}"), json_string(v)));
    }
    for (k, v) in w.server.iter().flatten() {
        attributes.push((format!("server.{k}"), json_string(v)));
    }
    for (k, v) in &w.extra {
        attributes.push((k.clone(), json_string(v)));
    }
    let service = w.service.or(w.project).unwrap_or_default();
    if !service.is_empty() {
        attributes.push(("webhook.project".into(), service.clone()));
    }
    Ok(ErrorEvent {
        event_id: w
            .event_id
            .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string())
            .into(),
        timestamp,
        source: Some(Source::Webhook),
        service: service.into(),
        environment: w.environment.unwrap_or_default().into(),
        release: w.release.unwrap_or_default().into(),
        exception_type: w.exception_class.unwrap_or_default().into(),
        message: w.message.into(),
        stacktrace: w.stack_trace.unwrap_or_default().into(),
        escaped: false,
        http_status: w.http_status.unwrap_or(0),
        http_method: request.method.unwrap_or_default().into(),
        http_route: request.route.unwrap_or_default().into(),
        url: request.url.unwrap_or_default().into(),
        trace_id: "".into(),
        span_id: "".into(),
        severity_hint: w.severity.map(Into::into),
        client_fingerprint: w.fingerprint.map(Into::into),
        attributes: attributes
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect(),
    })
}
