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
    /// Malformed body (protobuf, JSON, gzip) or invalid field.
    #[error("{0}")]
    BadRequest(String),
    /// Body larger than the configured limit (compressed or decompressed).
    #[error("{0}")]
    PayloadTooLarge(String),
    /// Content type the endpoint does not take.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Storage unreachable or the ingest queue full: retry later.
    #[error("{0}")]
    Unavailable(String),
    /// A bug or an unexpected storage refusal; details are logged, not returned.
    #[error("internal error")]
    Internal(String),
}

impl IngestError {
    /// Short machine-readable code, used in JSON bodies and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            IngestError::Unauthenticated(_) => "unauthenticated",
            IngestError::BadRequest(_) => "bad_request",
            IngestError::PayloadTooLarge(_) => "payload_too_large",
            IngestError::UnsupportedMediaType(_) => "unsupported_media_type",
            IngestError::Unavailable(_) => "unavailable",
            IngestError::Internal(_) => "internal",
        }
    }

    /// HTTP status for this error.
    pub fn http_status(&self) -> StatusCode {
        match self {
            IngestError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            IngestError::BadRequest(_) => StatusCode::BAD_REQUEST,
            IngestError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            IngestError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            IngestError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            IngestError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// gRPC code for this error.
    pub fn grpc_code(&self) -> tonic::Code {
        match self {
            IngestError::Unauthenticated(_) => tonic::Code::Unauthenticated,
            IngestError::BadRequest(_) | IngestError::UnsupportedMediaType(_) => {
                tonic::Code::InvalidArgument
            }
            IngestError::PayloadTooLarge(_) => tonic::Code::ResourceExhausted,
            IngestError::Unavailable(_) => tonic::Code::Unavailable,
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

    fn log(&self) {
        match self {
            IngestError::Internal(detail) => tracing::error!(detail, "ingest failed"),
            IngestError::Unavailable(m) => tracing::warn!(reason = %m, "ingest unavailable"),
            other => tracing::debug!(code = other.code(), reason = %other, "ingest refused"),
        }
    }
}

impl From<faultline_store::writer::WriteError> for IngestError {
    fn from(e: faultline_store::writer::WriteError) -> Self {
        use faultline_store::writer::WriteError as W;
        match e {
            W::QueueFull => IngestError::Unavailable("ingest queue is full, retry later".into()),
            W::Unavailable(_) => {
                IngestError::Unavailable("storage is unavailable, retry later".into())
            }
            W::Rejected(detail) => IngestError::Internal(detail),
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
        if matches!(self, IngestError::Unavailable(_)) {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
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
