//! OTLP trace exports as `loadgen` sends them: corpus errors on SERVER spans, ordinary spans
//! beside them.

use faultline_proto::otlp::collector::trace::v1::ExportTraceServiceRequest;
use faultline_proto::otlp::common::v1::{AnyValue, KeyValue, any_value::Value};
use faultline_proto::otlp::resource::v1::Resource;
use faultline_proto::otlp::trace::v1::{ResourceSpans, ScopeSpans, Span, span::Event};

use super::corpus::{CorpusEvent, ENVIRONMENTS, ROUTES, Rng, SEED, STATUSES, corpus};

fn kv(k: &str, v: Value) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

fn s(v: &str) -> Value {
    Value::StringValue(v.into())
}

fn server_span(rng: &mut Rng, now: u64, route: &str, status: i64) -> Span {
    Span {
        trace_id: rng.bytes(16),
        span_id: rng.bytes(8),
        name: format!("GET {route}"),
        kind: 2,
        start_time_unix_nano: now - 3_000_000,
        end_time_unix_nano: now,
        attributes: vec![
            kv("http.request.method", s("GET")),
            kv("http.route", s(route)),
            kv("http.response.status_code", Value::IntValue(status)),
        ],
        ..Default::default()
    }
}

/// One export as `loadgen` sends it (`batch` corpus errors, each in its SERVER span, plus one
/// ordinary span per error), the same every call: what the decode bench reads.
pub fn sample_export(batch: usize) -> ExportTraceServiceRequest {
    otlp_request(&mut Rng(SEED), &corpus(), batch, 1)
}

/// One OTLP export of `batch` errors (each in its SERVER span) plus ordinary spans.
pub(super) fn otlp_request(
    rng: &mut Rng,
    events: &[CorpusEvent],
    batch: usize,
    spans_per_error: usize,
) -> ExportTraceServiceRequest {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut by_service: Vec<(String, &str, Vec<Span>)> = Vec::new();
    for _ in 0..batch {
        let e = rng.pick(events);
        let env = *rng.pick(ENVIRONMENTS);
        let route = *rng.pick(ROUTES);
        let status = *rng.pick(STATUSES);
        let mut span = server_span(rng, now, route, status);
        span.status = Some(faultline_proto::otlp::trace::v1::Status {
            code: 2,
            message: e.message.clone(),
        });
        span.events.push(Event {
            name: "exception".into(),
            time_unix_nano: now - 1_000_000,
            attributes: vec![
                kv("exception.type", s(&e.exception_type)),
                kv("exception.message", s(&e.message)),
                kv("exception.stacktrace", s(&e.stacktrace)),
            ],
            ..Default::default()
        });
        let mut spans = vec![span];
        for _ in 0..spans_per_error {
            spans.push(server_span(rng, now, route, 200));
        }
        match by_service
            .iter_mut()
            .find(|(svc, en, _)| *svc == e.service && *en == env)
        {
            Some((_, _, v)) => v.extend(spans),
            None => by_service.push((e.service.clone(), env, spans)),
        }
    }
    ExportTraceServiceRequest {
        resource_spans: by_service
            .into_iter()
            .map(|(service, env, spans)| ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![
                        kv("service.name", s(&service)),
                        kv("deployment.environment.name", s(env)),
                        kv("service.version", s("1.4.2")),
                    ],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect(),
    }
}
