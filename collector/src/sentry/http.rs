//! The Sentry DSN endpoints on the OTLP/HTTP listener: `POST /api/{project_id}/envelope/` and
//! `/store/` (trailing slash optional), `OPTIONS` for browsers' CORS preflight.
//!
//! Every answer carries `Access-Control-Allow-Origin: *` and exposes the rate-limit headers, or
//! browsers hide it from the SDK. A rate-limited project gets 429 with `Retry-After` and
//! `X-Sentry-Rate-Limits: <seconds>::project`, which both SDKs obey; every answer also tells SDKs
//! to stop sending what Faultline does not store (replays, profiles, …).

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use crate::error::IngestError;
use crate::http::{compression_of, json_ok, read_request};
use crate::ingest::Ingest;
use crate::receiver::Receiver;

use super::ingest::{Endpoint, Request};
use super::key;

/// Categories Faultline does not store: SDKs are told on every answer to stop sending them (as
/// Bugsink does), for a day at a time.
pub const NOT_STORED: &str =
    "86400:replay;profile;profile_chunk;attachment;feedback;monitor;log_item:organization";

/// `X-Sentry-Rate-Limits`, parsed once.
const X_SENTRY_RATE_LIMITS: HeaderName = HeaderName::from_static("x-sentry-rate-limits");

/// The DSN routes (mount them on the OTLP/HTTP router).
pub fn router(ingest: Ingest) -> Router {
    // Each endpoint with and without its trailing slash.
    ["", "/"]
        .into_iter()
        .fold(Router::new(), |router, slash| {
            router
                .route(
                    &format!("/api/{{project_id}}/envelope{slash}"),
                    post(envelope).options(preflight),
                )
                .route(
                    &format!("/api/{{project_id}}/store{slash}"),
                    post(store).options(preflight),
                )
        })
        .with_state(ingest)
}

/// The CORS headers every answer carries.
fn cors(resp: &mut Response) {
    let h = resp.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("x-sentry-error, x-sentry-rate-limits, retry-after"),
    );
}

async fn preflight() -> Response {
    let mut resp = StatusCode::OK.into_response();
    cors(&mut resp);
    let h = resp.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(
            "x-sentry-auth, x-requested-with, x-forwarded-for, origin, referer, accept, content-type, authentication, authorization, content-encoding, transfer-encoding, sentry-trace, baggage",
        ),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("3600"),
    );
    resp
}

/// The answer to a refused request: the usual JSON error, the rate-limit headers SDKs read, CORS.
fn refusal(e: IngestError) -> Response {
    let limited = match &e {
        IngestError::RateLimited { retry_after, .. } => Some(*retry_after),
        _ => None,
    };
    let message = e.public_message();
    let mut resp = e.into_response();
    let h = resp.headers_mut();
    if let Some(secs) = limited {
        if let Ok(v) = HeaderValue::from_str(&format!("{secs}::project, {NOT_STORED}")) {
            h.insert(X_SENTRY_RATE_LIMITS, v);
        }
    } else if let Ok(v) = HeaderValue::from_str(&message) {
        h.insert("x-sentry-error", v);
    }
    if !matches!(
        resp.status(),
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
    ) {
        // A Retry-After on any other status would mute the JavaScript SDK.
        resp.headers_mut().remove(header::RETRY_AFTER);
    }
    cors(&mut resp);
    resp
}

async fn envelope(
    State(ingest): State<Ingest>,
    Path(project_id): Path<String>,
    RawQuery(query): RawQuery,
    request: axum::extract::Request,
) -> Response {
    answer(handle(&ingest, Endpoint::Envelope, &project_id, query, request).await)
}

async fn store(
    State(ingest): State<Ingest>,
    Path(project_id): Path<String>,
    RawQuery(query): RawQuery,
    request: axum::extract::Request,
) -> Response {
    answer(handle(&ingest, Endpoint::Store, &project_id, query, request).await)
}

fn answer(r: Result<Vec<u8>, IngestError>) -> Response {
    match r {
        Ok(body) => {
            let mut resp = json_ok(body);
            resp.headers_mut()
                .insert(X_SENTRY_RATE_LIMITS, HeaderValue::from_static(NOT_STORED));
            cors(&mut resp);
            resp
        }
        Err(e) => refusal(e),
    }
}

async fn handle(
    ingest: &Ingest,
    endpoint: Endpoint,
    project_id: &str,
    query: Option<String>,
    request: axum::extract::Request,
) -> Result<Vec<u8>, IngestError> {
    let receiver = match endpoint {
        Endpoint::Envelope => Receiver::SentryEnvelope,
        Endpoint::Store => Receiver::SentryStore,
    };
    let (headers, body) = read_request(ingest, receiver, request).await?;
    let headers = &headers;
    let check = || {
        let sentry_id = project_id
            .parse::<u64>()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| {
                IngestError::BadRequest(format!(
                    "project id {project_id:?} in the path is not a positive number: use the DSN's last part"
                ))
            })?;
        let key = key::from_request(headers, query.as_deref())?;
        // Without a key in the headers or query, the envelope header's `dsn` is read for one.
        let project = match key {
            Some(k) => Some(ingest.auth().project_for_sentry(Some(k), sentry_id)?),
            None if endpoint == Endpoint::Store || ingest.auth().is_dev_mode() => {
                Some(ingest.auth().project_for_sentry(None, sentry_id)?)
            }
            None => None,
        };
        let store_envelope = endpoint == Endpoint::Store
            && headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|ct| ct.starts_with("application/x-sentry-envelope"));
        Ok(Request {
            endpoint,
            sentry_id,
            project,
            store_envelope,
            compression: compression_of(headers)?,
            body,
        })
    };
    let req = check().map_err(|e| ingest.refuse(receiver, e, 1))?;
    ingest.sentry(req).await
}
