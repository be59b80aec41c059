//! The REST API under `/api/v1`: what a triage screen and Grafana need, from the API alone.
//!
//! | route | what |
//! |---|---|
//! | `GET /errors` | issues: filters, sorts, keyset pagination |
//! | `GET /errors/{fingerprint}` | one issue: latest occurrence, 24 h and 30 d trends, by environment and release |
//! | `GET /errors/{fingerprint}/occurrences` | its occurrences, newest first |
//! | `PUT /errors/{fingerprint}/status` | resolve, ignore, reopen (stored in ClickHouse) |
//! | `GET /metrics` | totals of a period by severity, service, HTTP status; rate; top 10 |
//! | `GET /error-rate` | errors ÷ requests per bucket, every bucket present |
//! | `GET /top-errors` | top issues with the previous period and the trend |
//! | `GET /frequent-404s` | paths with the most 404s |
//! | `GET /projects` | projects with errors in the last 24 h |
//! | `POST /cleanup` | retention: drop whole day partitions older than N days |
//! | `GET /grafana/dashboards`, `GET /grafana/dashboards/{uid}` | the Grafana dashboards, ready to import |
//! | `GET /openapi.json` | the OpenAPI 3 document, generated from the handlers |
//!
//! Aggregates read rollups (see `faultline_store::queries`). The API writes only triage state and
//! retention, through the store. With API keys configured, every route but `openapi.json` needs
//! `Authorization: Bearer <key>` (constant-time comparison). Errors are JSON
//! `{"error": {"code", "message"}}` from one table ([`error::QueryError`]); a bad parameter is a
//! 400 naming it.

pub mod choice;
pub mod error;
pub mod grafana;
pub mod issues;
pub mod params;
pub mod stats;
pub mod status;

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use faultline_store::Store;
use serde::Serialize;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::QueryError;

/// A count with a label.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LabelCount {
    /// Dimension value.
    pub label: String,
    /// Occurrences.
    pub count: u64,
}

/// A count in a time bucket.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimeCount {
    /// Bucket start, RFC 3339.
    pub t: String,
    /// Occurrences.
    pub count: u64,
}

/// Seconds since the epoch, now: the clock of the API, alerting and the triage screen.
pub fn now_secs() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(0)
}

/// Query-string extractor whose rejection is a 400 naming the parameter, in the API's JSON shape.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = QueryError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        serde_urlencoded_from_str(q).map(ApiQuery)
    }
}

fn serde_urlencoded_from_str<T: DeserializeOwned>(q: &str) -> Result<T, QueryError> {
    axum::extract::Query::<T>::try_from_uri(
        &format!("/?{q}")
            .parse()
            .map_err(|_| QueryError::BadRequest("malformed query string".into()))?,
    )
    .map(|axum::extract::Query(v)| v)
    .map_err(|e| {
        // A parameter's own text (see `choice`) goes out as it is; serde's others with a prefix.
        let text = e.body_text();
        match text.split_once("parameter `") {
            Some((_, rest)) => QueryError::BadRequest(format!("parameter `{rest}")),
            None => QueryError::BadRequest(format!("query string: {text}")),
        }
    })
}

/// API state. Cheap to clone.
#[derive(Clone)]
pub struct Api {
    pub(crate) store: Store,
    api_keys: Arc<Vec<Vec<u8>>>,
    /// The configured projects (listed by `/projects` even without errors).
    pub(crate) projects: Arc<Vec<String>>,
    /// The projects' grouping configurations (the issue detail explains grouping with them).
    pub(crate) grouping: Arc<HashMap<String, faultline_collector::fingerprint::GroupingConfig>>,
    /// Routes of other crates (alerts) served under `/api/v1` behind the same keys, and their
    /// part of the OpenAPI document.
    extensions: Arc<Vec<(Router, utoipa::openapi::OpenApi)>>,
}

/// The OpenAPI document's top level.
#[derive(utoipa::OpenApi)]
#[openapi(info(
    title = "Faultline API",
    description = "Errors, issues, trends and triage, from Faultline's ClickHouse."
))]
struct ApiDoc;

impl Api {
    /// An API over `store`; `api_keys` empty means no authentication.
    pub fn new(store: Store, api_keys: Vec<String>) -> Self {
        Api {
            store,
            api_keys: Arc::new(api_keys.into_iter().map(String::into_bytes).collect()),
            projects: Arc::default(),
            grouping: Arc::default(),
            extensions: Arc::default(),
        }
    }

    /// Explains grouping with the projects' configurations (in-app overrides, rules).
    pub fn with_grouping(
        mut self,
        grouping: HashMap<String, faultline_collector::fingerprint::GroupingConfig>,
    ) -> Self {
        self.grouping = Arc::new(grouping);
        self
    }

    /// Lists `projects` (the configured ones) in `/projects` even when they have no errors.
    pub fn with_projects(mut self, projects: Vec<String>) -> Self {
        self.projects = Arc::new(projects);
        self
    }

    /// Also serves `routes` (stateful already) behind the API keys, documented by `doc`.
    pub fn with_extension(mut self, (routes, doc): (Router, utoipa::openapi::OpenApi)) -> Self {
        let mut all = (*self.extensions).clone();
        all.push((routes, doc));
        self.extensions = Arc::new(all);
        self
    }

    fn documented(&self) -> (Router<Api>, utoipa::openapi::OpenApi) {
        OpenApiRouter::with_openapi(<ApiDoc as utoipa::OpenApi>::openapi())
            .routes(routes!(issues::list))
            .routes(routes!(issues::detail))
            .routes(routes!(issues::occurrences))
            .routes(routes!(issues::occurrence))
            .routes(routes!(issues::set_status))
            .routes(routes!(stats::metrics))
            .routes(routes!(stats::error_rate))
            .routes(routes!(stats::top_errors))
            .routes(routes!(stats::frequent_404s))
            .routes(routes!(stats::projects))
            .routes(routes!(stats::facets))
            .routes(routes!(stats::cleanup))
            .routes(routes!(grafana::list))
            .routes(routes!(grafana::get))
            .split_for_parts()
    }

    /// The OpenAPI document of every route.
    pub fn openapi(&self) -> utoipa::openapi::OpenApi {
        let mut doc = self.documented().1;
        for (_, extra) in self.extensions.iter() {
            doc.merge(extra.clone());
        }
        doc.paths.paths.insert(
            "/api/v1/openapi.json".into(),
            utoipa::openapi::path::PathItem::new(
                utoipa::openapi::HttpMethod::Get,
                utoipa::openapi::path::OperationBuilder::new()
                    .summary(Some("This document."))
                    .response("200", utoipa::openapi::Response::new("OpenAPI 3 document"))
                    .build(),
            ),
        );
        doc
    }

    /// The `/api/v1` routes.
    pub fn router(&self) -> Router {
        let (routes, _) = self.documented();
        let doc = self.openapi();
        let mut routes = routes.with_state(self.clone());
        for (extra, _) in self.extensions.iter() {
            routes = routes.merge(extra.clone());
        }
        routes
            .route_layer(middleware::from_fn_with_state(self.clone(), require_key))
            .route(
                "/api/v1/openapi.json",
                get(move || async move { Json(doc) }),
            )
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::StatusCode;
    use tower::ServiceExt;

    fn api(keys: &[&str]) -> Api {
        let store = Store::new(&faultline_store::StoreConfig {
            url: "http://127.0.0.1:9".into(),
            database: "x".into(),
            user: String::new(),
            password: String::new(),
            cluster: None,
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
        let (s, _) = get(&a, "/api/v1/metrics", Some("wrong")).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        // Right key: passes auth, then the store (unreachable here) answers 503, not 401.
        let (s, _) = get(&a, "/api/v1/errors", Some("secret-key")).await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
        let (s, _) = get(&a, "/api/v1/openapi.json", None).await;
        assert_eq!(s, StatusCode::OK);
    }

    #[tokio::test]
    async fn bad_parameters_are_named() {
        let a = api(&[]);
        for (path, needle) in [
            ("/api/v1/errors?limit=9999", "limit"),
            ("/api/v1/errors?bogus=1", "bogus"),
            ("/api/v1/errors?since=7w", "since"),
            ("/api/v1/errors?status=closed", "status"),
            ("/api/v1/errors?http_status=abc", "http_status"),
            ("/api/v1/errors?sort=size", "sort"),
            ("/api/v1/errors?order=up", "order"),
            ("/api/v1/errors?severity=huge", "severity"),
            ("/api/v1/errors?from=yesterday", "from"),
            ("/api/v1/errors?cursor=zzz", "cursor"),
            ("/api/v1/metrics?period=forever", "period"),
            ("/api/v1/error-rate?step=7s", "step"),
            (
                "/api/v1/error-rate?step=1m&from=2020-01-01T00:00:00Z",
                "step",
            ),
            ("/api/v1/top-errors?limit=0", "limit"),
        ] {
            let (s, body) = get(&a, path, None).await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{path}");
            let msg = body["error"]["message"].as_str().unwrap_or("");
            assert!(msg.contains(needle), "{path}: {msg}");
        }
    }

    /// The enum parameters' 400 texts are exactly the ones the handlers wrote before they were
    /// enums (the parameter, the value, the choices).
    #[tokio::test]
    async fn enum_parameters_keep_their_texts() {
        let a = api(&[]);
        for (query, want) in [
            (
                "sort=size",
                "parameter `sort`: \"size\" is not one of count, last_seen, first_seen, type",
            ),
            ("order=up", "parameter `order`: \"up\" is not asc or desc"),
            (
                "status=open,closed",
                "parameter `status`: \"closed\" is not one of open, resolved, ignored, regressed",
            ),
            (
                "severity=low,huge",
                "parameter `severity`: \"huge\" is not one of low, medium, high, critical",
            ),
        ] {
            let (s, body) = get(&a, &format!("/api/v1/errors?{query}"), None).await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{query}");
            assert_eq!(body["error"]["message"], want, "{query}");
        }
        // Valid values (comma lists with spaces and empty items) pass parsing: the unreachable
        // store answers.
        let (s, _) = get(
            &a,
            "/api/v1/errors?sort=type&order=asc&status=open,%20regressed,&severity=critical",
            None,
        )
        .await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    }

    #[test]
    fn openapi_lists_every_route() {
        let doc = api(&[]).openapi();
        let paths: Vec<&String> = doc.paths.paths.keys().collect();
        for p in [
            "/api/v1/errors",
            "/api/v1/errors/{fingerprint}",
            "/api/v1/errors/{fingerprint}/occurrences",
            "/api/v1/errors/{fingerprint}/occurrences/{event_id}",
            "/api/v1/errors/{fingerprint}/status",
            "/api/v1/metrics",
            "/api/v1/error-rate",
            "/api/v1/top-errors",
            "/api/v1/frequent-404s",
            "/api/v1/projects",
            "/api/v1/projects/{project}/facets",
            "/api/v1/cleanup",
            "/api/v1/openapi.json",
            "/api/v1/grafana/dashboards",
            "/api/v1/grafana/dashboards/{uid}",
        ] {
            assert!(
                doc.paths.paths.contains_key(p),
                "{p} missing from {paths:?}"
            );
        }
        assert_eq!(paths.len(), 15, "{paths:?}");
    }
}
