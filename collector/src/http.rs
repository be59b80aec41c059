//! OTLP/HTTP (`POST /v1/traces`, `POST /v1/logs`; protobuf or JSON; gzip, deflate, br or none)
//! and the native webhook (`POST /webhook/error/{token}`), as one axum router, with the Sentry
//! routes ([`crate::sentry::http`], [`crate::sentry::hook`]) merged in.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use faultline_proto::otlp::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use faultline_proto::otlp::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;

use crate::auth::Auth;
use crate::error::IngestError;
use crate::ingest::{Compression, Format, Ingest, inflate};
use crate::receiver::Receiver;

/// Body encodings OTLP/HTTP allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `application/x-protobuf`.
    Protobuf,
    /// `application/json`.
    Json,
}

/// The ingest routes. Mount health and metrics beside them.
pub fn router(ingest: Ingest) -> Router {
    // Bodies are read up to the limit by `read_request` (larger ones: JSON 413, counted).
    Router::new()
        .route("/v1/traces", post(traces))
        .route("/v1/logs", post(logs))
        .route("/webhook/error/{token}", post(webhook))
        .with_state(ingest.clone())
        .merge(crate::sentry::http::router(ingest.clone()))
        .merge(crate::sentry::hook::router(ingest))
}

/// The media type a `content-type` names, lower-cased, without parameters (`""` when absent).
fn media_type(headers: &HeaderMap) -> String {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    ct.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Which OTLP encoding a `content-type` names.
pub fn encoding_of(headers: &HeaderMap) -> Result<Encoding, IngestError> {
    match media_type(headers).as_str() {
        "application/x-protobuf" | "application/protobuf" => Ok(Encoding::Protobuf),
        "application/json" => Ok(Encoding::Json),
        "" => Err(IngestError::UnsupportedMediaType(
            "missing content-type: use application/x-protobuf or application/json".into(),
        )),
        other => Err(IngestError::UnsupportedMediaType(format!(
            "content-type {other:?} is not supported: use application/x-protobuf or application/json"
        ))),
    }
}

/// Which compression `content-encoding` names: gzip, deflate, br or none. `utf-8` counts as
/// none: some Sentry SDKs send it (Relay ignores it too).
pub fn compression_of(headers: &HeaderMap) -> Result<Compression, IngestError> {
    let enc = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match enc.as_str() {
        "" | "identity" | "utf-8" | "utf8" => Ok(Compression::None),
        "gzip" | "x-gzip" => Ok(Compression::Gzip),
        "deflate" => Ok(Compression::Deflate),
        "br" => Ok(Compression::Brotli),
        other => Err(IngestError::UnsupportedMediaType(format!(
            "content-encoding {other:?} is not supported: use gzip, deflate, br or none"
        ))),
    }
}

/// Undoes the `content-encoding` ([`compression_of`]), refusing to inflate past `max` bytes.
pub fn decompress(headers: &HeaderMap, body: Bytes, max: usize) -> Result<Bytes, IngestError> {
    inflate(compression_of(headers)?, body, max)
}

fn decode<T: Message + Default + serde::de::DeserializeOwned>(
    enc: Encoding,
    body: &[u8],
    what: &str,
) -> Result<T, IngestError> {
    match enc {
        Encoding::Protobuf => T::decode(body)
            .map_err(|e| IngestError::BadRequest(format!("malformed protobuf {what}: {e}"))),
        Encoding::Json => serde_json::from_slice(body)
            .map_err(|e| IngestError::BadRequest(format!("malformed JSON {what}: {e}"))),
    }
}

fn encode<T: Message + serde::Serialize>(enc: Encoding, msg: &T) -> Response {
    match enc {
        Encoding::Protobuf => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-protobuf"),
            )],
            msg.encode_to_vec(),
        )
            .into_response(),
        Encoding::Json => (
            StatusCode::OK,
            axum::Json(serde_json::to_value(msg).unwrap_or_default()),
        )
            .into_response(),
    }
}

/// The request's headers and its body, read up to `FAULTLINE_MAX_BODY_BYTES`; or the refusal
/// (counted): over the limit → 413 naming it, a broken stream → 400.
///
/// The headers are taken, not copied, and the limit is applied here rather than by a
/// `DefaultBodyLimit` layer: axum's `HeaderMap` extractor clones every header, and each router
/// layer wraps every route once more; together ~10 % of the CPU of a one-event request
/// (`bench/RESULTS.md`).
pub async fn read_request(
    ingest: &Ingest,
    receiver: Receiver,
    request: Request,
) -> Result<(HeaderMap, Bytes), IngestError> {
    let (parts, body) = request.into_parts();
    let limit = ingest.limits().max_body_bytes;
    match axum::body::to_bytes(body, limit).await {
        Ok(body) => Ok((parts.headers, body)),
        Err(e) => {
            let e = if too_large(e) {
                IngestError::PayloadTooLarge(format!(
                    "body over the {limit}-byte limit (FAULTLINE_MAX_BODY_BYTES)"
                ))
            } else {
                IngestError::BadRequest("the request body could not be read".into())
            };
            Err(ingest.refuse(receiver, e, 0))
        }
    }
}

/// Whether reading a body failed at its length limit (as axum's `Bytes` extractor tells it).
fn too_large(e: axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(err) = source {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = err.source();
    }
    false
}

/// Shared front half of both OTLP routes: auth, content type, decompression, decoding.
fn prepare<T: Message + Default + serde::de::DeserializeOwned>(
    ingest: &Ingest,
    receiver: Receiver,
    headers: &HeaderMap,
    body: Bytes,
    what: &str,
) -> Result<(String, Encoding, T), IngestError> {
    let run = || {
        let project = ingest
            .auth()
            .project_for(Auth::token_from_headers(headers))?;
        let enc = encoding_of(headers)?;
        let body = decompress(headers, body, ingest.limits().max_decompressed_bytes)?;
        let msg = decode::<T>(enc, &body, what)?;
        Ok((project, enc, msg))
    };
    run().map_err(|e| ingest.refuse(receiver, e, 0))
}

async fn traces(State(ingest): State<Ingest>, request: Request) -> Result<Response, IngestError> {
    const RECEIVER: Receiver = Receiver::OtlpHttpTraces;
    let (headers, body) = read_request(&ingest, RECEIVER, request).await?;
    // Inflated and decoded on a blocking thread by ingest (protobuf read in place), not here.
    let run = || {
        let project = ingest
            .auth()
            .project_for(Auth::token_from_headers(&headers))?;
        Ok((project, encoding_of(&headers)?, compression_of(&headers)?))
    };
    let (project, enc, compression) = run().map_err(|e| ingest.refuse(RECEIVER, e, 0))?;
    let format = match enc {
        Encoding::Protobuf => Format::Protobuf,
        Encoding::Json => Format::Json,
    };
    ingest
        .traces(RECEIVER, project, format, compression, body)
        .await?;
    Ok(encode(
        enc,
        &ExportTraceServiceResponse {
            partial_success: None,
        },
    ))
}

async fn logs(State(ingest): State<Ingest>, request: Request) -> Result<Response, IngestError> {
    const RECEIVER: Receiver = Receiver::OtlpHttpLogs;
    let (headers, body) = read_request(&ingest, RECEIVER, request).await?;
    let (project, enc, req) = prepare::<ExportLogsServiceRequest>(
        &ingest,
        RECEIVER,
        &headers,
        body,
        "ExportLogsServiceRequest",
    )?;
    ingest.logs(RECEIVER, project, req).await?;
    Ok(encode(
        enc,
        &ExportLogsServiceResponse {
            partial_success: None,
        },
    ))
}

async fn webhook(
    State(ingest): State<Ingest>,
    Path(token): Path<String>,
    request: Request,
) -> Result<Response, IngestError> {
    const RECEIVER: Receiver = Receiver::Webhook;
    let (headers, body) = read_request(&ingest, RECEIVER, request).await?;
    // Inflated, read and grouped on a blocking thread by ingest, which also writes the answer.
    let check = || {
        let project = ingest.auth().project_for(Some(&token))?;
        let mime = media_type(&headers);
        if !(mime.is_empty()
            || mime == "application/json"
            || mime.ends_with("+json")
            || mime == "text/plain")
        {
            return Err(IngestError::UnsupportedMediaType(format!(
                "content-type {mime:?} is not supported: send application/json"
            )));
        }
        Ok((project, compression_of(&headers)?))
    };
    let (project, compression) = check().map_err(|e| ingest.refuse(RECEIVER, e, 1))?;
    let answer = ingest.webhook(project, compression, body).await?;
    Ok(json_ok(answer))
}

/// A 200 with a JSON body already serialized (by the ingest job).
pub fn json_ok(body: Vec<u8>) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}
