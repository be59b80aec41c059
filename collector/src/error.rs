//! The collector's error-code table: every way ingest can refuse a request, with its HTTP status,
//! gRPC code and the JSON body a client sees. Internal error text never reaches a client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Why a request was refused.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Missing or unknown token.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// A key that is not allowed here (unknown, or another project's).
    #[error("{0}")]
    Forbidden(String),
    /// Malformed body (protobuf, JSON, gzip) or invalid field.
    #[error("{0}")]
    BadRequest(String),
    /// Body larger than the configured limit (compressed or decompressed).
    #[error("{0}")]
    PayloadTooLarge(String),
    /// Content type the endpoint does not take.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Storage unavailable (the spool could not write): retry later.
    #[error("{0}")]
    Unavailable(String),
    /// The disk spool is at its size limit (ClickHouse has been unreachable for long): retry later.
    #[error("ingest spool is full (FAULTLINE_SPOOL_MAX_BYTES), retry later")]
    SpoolFull,
    /// The project sent more than its rate limit allows.
    #[error(
        "rate limit of project `{project}` exceeded ({per_second} occurrences/s), retry after {retry_after} s"
    )]
    RateLimited {
        /// The project.
        project: String,
        /// Its configured rate.
        per_second: u32,
        /// Seconds until there is room again.
        retry_after: u32,
    },
    /// A bug or an unexpected storage refusal; details are logged, not returned.
    #[error("internal error")]
    Internal(String),
}

impl IngestError {
    /// Short machine-readable code, used in JSON bodies and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            IngestError::Unauthenticated(_) => "unauthenticated",
            IngestError::Forbidden(_) => "forbidden",
            IngestError::BadRequest(_) => "bad_request",
            IngestError::PayloadTooLarge(_) => "payload_too_large",
            IngestError::UnsupportedMediaType(_) => "unsupported_media_type",
            IngestError::Unavailable(_) => "unavailable",
            IngestError::SpoolFull => "spool_full",
            IngestError::RateLimited { .. } => "rate_limited",
            IngestError::Internal(_) => "internal",
        }
    }

    /// HTTP status for this error.
    pub fn http_status(&self) -> StatusCode {
        match self {
            IngestError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            IngestError::Forbidden(_) => StatusCode::FORBIDDEN,
            IngestError::BadRequest(_) => StatusCode::BAD_REQUEST,
            IngestError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            IngestError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            IngestError::Unavailable(_) | IngestError::SpoolFull => StatusCode::SERVICE_UNAVAILABLE,
            IngestError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            IngestError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// gRPC code for this error.
    pub fn grpc_code(&self) -> tonic::Code {
        match self {
            IngestError::Unauthenticated(_) => tonic::Code::Unauthenticated,
            IngestError::Forbidden(_) => tonic::Code::PermissionDenied,
            IngestError::BadRequest(_) | IngestError::UnsupportedMediaType(_) => {
                tonic::Code::InvalidArgument
            }
            IngestError::PayloadTooLarge(_) | IngestError::RateLimited { .. } => {
                tonic::Code::ResourceExhausted
            }
            IngestError::Unavailable(_) | IngestError::SpoolFull => tonic::Code::Unavailable,
            IngestError::Internal(_) => tonic::Code::Internal,
        }
    }

    /// What the client may read.
    pub fn public_message(&self) -> String {
        match self {
            IngestError::Internal(_) => "internal error".into(),
            other => other.to_string(),
        }
    }

    /// Seconds a client should wait before retrying, for the errors worth retrying.
    pub fn retry_after(&self) -> Option<u32> {
        match self {
            IngestError::Unavailable(_) => Some(1),
            IngestError::SpoolFull => Some(10),
            IngestError::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    fn log(&self) {
        match self {
            IngestError::Internal(detail) => tracing::error!(detail, "ingest failed"),
            IngestError::Unavailable(m) => tracing::warn!(reason = %m, "ingest unavailable"),
            IngestError::SpoolFull => tracing::warn!("ingest refused: spool full"),
            other => tracing::debug!(code = other.code(), reason = %other, "ingest refused"),
        }
    }
}

impl From<faultline_store::writer::WriteError> for IngestError {
    fn from(e: faultline_store::writer::WriteError) -> Self {
        use faultline_store::writer::WriteError as W;
        match e {
            W::SpoolFull => IngestError::SpoolFull,
            W::Unavailable(detail) => {
                tracing::error!(detail, "spool write failed");
                IngestError::Unavailable("storage is unavailable, retry later".into())
            }
        }
    }
}

impl IntoResponse for IngestError {
    fn into_response(self) -> Response {
        self.log();
        let body = serde_json::json!({
            "error": { "code": self.code(), "message": self.public_message() }
        });
        let mut resp = (self.http_status(), axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after() {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

impl From<IngestError> for tonic::Status {
    fn from(e: IngestError) -> Self {
        e.log();
        tonic::Status::new(e.grpc_code(), e.public_message())
    }
}
