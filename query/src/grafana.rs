//! The Grafana dashboards of `grafana/dashboards/`, served ready to import.

use axum::Json;
use axum::extract::Path;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::QueryError;

/// The dashboards, as shipped in `grafana/dashboards/` (compiled in).
pub const DASHBOARDS: &[(&str, &str)] = &[
    (
        "faultline-overview",
        include_str!("../../grafana/dashboards/overview.json"),
    ),
    (
        "faultline-issue",
        include_str!("../../grafana/dashboards/issue.json"),
    ),
];

/// One dashboard in the list.
#[derive(Debug, Serialize, ToSchema)]
pub struct DashboardInfo {
    /// Grafana uid.
    pub uid: String,
    /// Title.
    pub title: String,
    /// Where to get the JSON.
    pub url: String,
}

/// The list.
#[derive(Debug, Serialize, ToSchema)]
pub struct DashboardList {
    /// Every dashboard.
    pub data: Vec<DashboardInfo>,
}

/// Faultline's Grafana dashboards.
#[utoipa::path(get, path = "/api/v1/grafana/dashboards", tag = "grafana", responses((status = 200, body = DashboardList), (status = 401)))]
pub async fn list() -> Json<DashboardList> {
    let data = DASHBOARDS
        .iter()
        .map(|(uid, json)| {
            let title = serde_json::from_str::<serde_json::Value>(json)
                .ok()
                .and_then(|v| v["title"].as_str().map(String::from))
                .unwrap_or_default();
            DashboardInfo {
                uid: uid.to_string(),
                title,
                url: format!("/api/v1/grafana/dashboards/{uid}"),
            }
        })
        .collect();
    Json(DashboardList { data })
}

/// One dashboard's JSON, ready for Grafana's "Import dashboard".
#[utoipa::path(get, path = "/api/v1/grafana/dashboards/{uid}", params(("uid" = String, Path, description = "Dashboard uid")), tag = "grafana",
    responses((status = 200, description = "Dashboard JSON", body = Object), (status = 404, description = "No such dashboard"), (status = 401)))]
pub async fn get(Path(uid): Path<String>) -> Result<Json<serde_json::Value>, QueryError> {
    let (_, json) = DASHBOARDS
        .iter()
        .find(|(u, _)| *u == uid)
        .ok_or_else(|| QueryError::NotFound(format!("no dashboard {uid:?}")))?;
    serde_json::from_str(json)
        .map(Json)
        .map_err(|e| QueryError::Internal(e.to_string()))
}
