//! The API's error-code table: every refusal with its HTTP status and the JSON body a client sees.
//! Internal error text is logged, never returned.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use faultline_store::StoreError;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// Missing or wrong API key.
    #[error("missing or invalid API key: send `Authorization: Bearer <key>`")]
    Unauthorized,
    /// A parameter is invalid; the message names it.
    #[error("{0}")]
    BadRequest(String),
    /// The issue (or other named thing) does not exist.
    #[error("{0}")]
    NotFound(String),
    /// ClickHouse is unreachable.
    #[error("storage is unavailable, retry later")]
    Unavailable(String),
    /// Anything else; detail logged only.
    #[error("internal error")]
    Internal(String),
}

impl QueryError {
    /// Status and machine-readable code.
    pub fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            QueryError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            QueryError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            QueryError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            QueryError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            QueryError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    /// A bad parameter, named.
    pub fn param(name: &str, why: impl std::fmt::Display) -> Self {
        QueryError::BadRequest(format!("parameter `{name}`: {why}"))
    }
}

impl From<StoreError> for QueryError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => QueryError::Unavailable(m),
            other => QueryError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for QueryError {
    fn into_response(self) -> Response {
        match &self {
            QueryError::Internal(d) => tracing::error!(detail = %d, "query failed"),
            QueryError::Unavailable(d) => tracing::warn!(detail = %d, "query: storage unavailable"),
            _ => {}
        }
        let (status, code) = self.parts();
        let body = serde_json::json!({"error": {"code": code, "message": self.to_string()}});
        (status, Json(body)).into_response()
    }
}
