//! The REST API over the store, under `/api/v1`. It only reads.
//!
//! - `GET /api/v1/errors?project=&limit=`: issues, most recently seen first.
//!
//! With API keys configured, every route needs `Authorization: Bearer <key>` (compared in constant
//! time). Errors are JSON `{"error": {"code", "message"}}`; internal detail is logged, never returned.

use std::sync::Arc;

use axum::extract::{Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use faultline_store::queries::IssueFilter;
use faultline_store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// The API's error-code table.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// Missing or wrong API key.
    #[error("missing or invalid API key: send `Authorization: Bearer <key>`")]
    Unauthorized,
    /// A parameter is invalid.
    #[error("{0}")]
    BadRequest(String),
    /// ClickHouse is unreachable.
    #[error("storage is unavailable, retry later")]
    Unavailable(String),
    /// Anything else; detail logged only.
    #[error("internal error")]
    Internal(String),
}

impl QueryError {
    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            QueryError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            QueryError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            QueryError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            QueryError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
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

/// API state. Cheap to clone.
#[derive(Clone)]
pub struct Api {
    store: Store,
    api_keys: Arc<Vec<Vec<u8>>>,
}

impl Api {
    /// An API over `store`; `api_keys` empty means no authentication.
    pub fn new(store: Store, api_keys: Vec<String>) -> Self {
        Api {
            store,
            api_keys: Arc::new(api_keys.into_iter().map(String::into_bytes).collect()),
        }
    }

    /// The `/api/v1` routes.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/api/v1/errors", get(list_errors))
            .route_layer(middleware::from_fn_with_state(self.clone(), require_key))
            .with_state(self.clone())
    }

    fn key_ok(&self, presented: Option<&str>) -> bool {
        if self.api_keys.is_empty() {
            return true;
        }
        let Some(p) = presented else { return false };
        let mut ok = false;
        for k in self.api_keys.iter() {
            ok |= bool::from(k.as_slice().ct_eq(p.as_bytes()));
        }
        ok
    }
}

async fn require_key(State(api): State<Api>, req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, k)| k.trim());
    if api.key_ok(presented) {
        next.run(req).await
    } else {
        QueryError::Unauthorized.into_response()
    }
}

/// Query parameters of `GET /api/v1/errors`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorsParams {
    /// Only this project.
    pub project: Option<String>,
    /// Most items (default 50, at most 500).
    pub limit: Option<u32>,
}

/// One issue in `GET /api/v1/errors`.
#[derive(Debug, Serialize)]
pub struct IssueItem {
    /// Grouping key.
    pub fingerprint: String,
    /// Project.
    pub project: String,
    /// Exception type.
    pub exception_type: String,
    /// Message of a recent occurrence.
    pub message: String,
    /// Innermost in-app frame.
    pub culprit: String,
    /// Occurrences, all time.
    pub count: u64,
    /// First occurrence, RFC 3339.
    pub first_seen: String,
    /// Latest occurrence, RFC 3339.
    pub last_seen: String,
}

/// Formats seconds since the epoch as RFC 3339 UTC.
pub fn rfc3339(secs: u32) -> String {
    time::OffsetDateTime::from_unix_timestamp(i64::from(secs))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

async fn list_errors(
    State(api): State<Api>,
    params: Result<Query<ErrorsParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, QueryError> {
    let Query(p) = params.map_err(|e| QueryError::BadRequest(e.body_text()))?;
    let limit = p.limit.unwrap_or(50);
    if limit == 0 || limit > 500 {
        return Err(QueryError::BadRequest(format!(
            "limit must be between 1 and 500, got {limit}"
        )));
    }
    let issues = api
        .store
        .list_issues(&IssueFilter {
            project: p.project.filter(|s| !s.is_empty()),
            limit,
        })
        .await?;
    let data: Vec<IssueItem> = issues
        .into_iter()
        .map(|i| IssueItem {
            fingerprint: i.fingerprint,
            project: i.project,
            exception_type: i.exception_type,
            message: i.message,
            culprit: i.culprit,
            count: i.count,
            first_seen: rfc3339(i.first_seen),
            last_seen: rfc3339(i.last_seen),
        })
        .collect();
    let total = data.len();
    Ok(Json(
        serde_json::json!({"data": data, "total": total, "next_cursor": null}),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt;

    fn api(keys: &[&str]) -> Api {
        let store = Store::new(&faultline_store::StoreConfig {
            url: "http://127.0.0.1:9".into(),
            database: "x".into(),
            user: String::new(),
            password: String::new(),
        });
        Api::new(store, keys.iter().map(|s| s.to_string()).collect())
    }

    async fn get(api: &Api, path: &str, key: Option<&str>) -> (StatusCode, serde_json::Value) {
        let mut req = Request::get(path);
        if let Some(k) = key {
            req = req.header("authorization", format!("Bearer {k}"));
        }
        let resp = api
            .router()
            .oneshot(req.body(Body::empty()).expect("req"))
            .await
            .expect("resp");
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .expect("body");
        (status, serde_json::from_slice(&bytes).unwrap_or_default())
    }

    #[tokio::test]
    async fn api_key_is_required_when_configured() {
        let a = api(&["secret-key"]);
        let (s, body) = get(&a, "/api/v1/errors", None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"]["code"], "unauthorized");
        let (s, _) = get(&a, "/api/v1/errors", Some("wrong")).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        // Right key: passes auth, then the store (unreachable here) answers 503, not 401.
        let (s, _) = get(&a, "/api/v1/errors", Some("secret-key")).await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    }

    #[tokio::test]
    async fn bad_parameters_are_named() {
        let a = api(&[]);
        let (s, body) = get(&a, "/api/v1/errors?limit=9999", None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("limit")
        );
        let (s, body) = get(&a, "/api/v1/errors?bogus=1", None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("bogus"),
            "{body}"
        );
    }
}
