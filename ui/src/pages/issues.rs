//! `/ui/issues` (every project) and `/ui/p/{project}` (one): the issue list, filtered by a GET
//! form whose fields are `GET /api/v1/errors`'s parameters, so every view is a shareable URL.

use askama::Template;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use faultline_query::ApiQuery;
use faultline_query::error::QueryError;
use faultline_query::issues::{IssueItem, ListParams, list};
use faultline_query::stats::{FacetParams, Facets, facets};

use super::{Layout, enc, error, html, to_login};
use crate::Ui;

/// The filters the form shows (the same names as the API's parameters).
const FIELDS: [&str; 12] = [
    "since",
    "from",
    "to",
    "http_status",
    "status",
    "sort",
    "order",
    "q",
    "environment",
    "release",
    "service",
    "severity",
];

/// One option of a select.
pub struct Choice {
    /// Its value (the API's).
    pub value: &'static str,
    /// What people read.
    pub label: &'static str,
    /// Whether it is the current one.
    pub selected: bool,
}

/// The options of a select, the current one marked.
pub fn choices(options: &[(&'static str, &'static str)], current: &str) -> Vec<Choice> {
    options
        .iter()
        .map(|&(value, label)| Choice {
            value,
            label,
            selected: value == current,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "issues.html")]
struct Issues {
    layout: Layout,
    heading: String,
    action: String,
    all_projects: bool,
    periods: Vec<Choice>,
    statuses: Vec<Choice>,
    sorts: Vec<Choice>,
    orders: Vec<Choice>,
    all_time: bool,
    http_status: String,
    severity: String,
    environment: String,
    release: String,
    service: String,
    from: String,
    to: String,
    /// The values the project's occurrences took (last 30 days), offered by the text fields.
    facets: Option<Facets>,
    q: String,
    here: String,
    total: usize,
    issues: Vec<IssueItem>,
    next: Option<String>,
}

/// Every project's issues.
pub async fn all(State(ui): State<Ui>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    render(ui, headers, None, q).await
}

/// One project's issues.
pub async fn project(
    State(ui): State<Ui>,
    headers: HeaderMap,
    Path(project): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    render(ui, headers, Some(project), q).await
}

async fn render(
    ui: Ui,
    headers: HeaderMap,
    project: Option<String>,
    raw: Option<String>,
) -> Response {
    let Some(s) = ui.access.session(&headers) else {
        return to_login();
    };
    let layout = Layout::new(&ui, &s);
    // The form's fields, empty ones left out (an empty select means "any").
    let pairs: Vec<(String, String)> = raw
        .as_deref()
        .and_then(|q| {
            Query::<Vec<(String, String)>>::try_from_uri(&format!("/?{q}").parse().ok()?).ok()
        })
        .map(|Query(p)| p)
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, v)| !v.trim().is_empty() && (FIELDS.contains(&k.as_str()) || k == "cursor"))
        .collect();
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut query: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect();
    if let Some(p) = &project {
        query.push(format!("project={}", enc(p)));
    }
    let params = match Query::<ListParams>::try_from_uri(
        &format!("/?{}", query.join("&")).parse().unwrap_or_default(),
    ) {
        Ok(Query(p)) => p,
        Err(e) => return error(layout, QueryError::BadRequest(e.body_text())),
    };
    let menus = async {
        match &project {
            Some(p) => facets(
                State(ui.api.clone()),
                Path(p.clone()),
                ApiQuery(FacetParams::default()),
            )
            .await
            .map(|axum::Json(f)| Some(f)),
            None => Ok(None),
        }
    };
    let (page, facets) =
        match tokio::try_join!(list(State(ui.api.clone()), ApiQuery(params)), menus) {
            Ok((axum::Json(p), f)) => (p, f),
            Err(e) => return error(layout, e),
        };
    let action = match &project {
        Some(p) => format!("/ui/p/{}", enc(p)),
        None => "/ui/issues".to_string(),
    };
    let query_here = (pairs.iter())
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect::<Vec<_>>()
        .join("&");
    let next = page.next_cursor.as_ref().map(|c| {
        let mut q: Vec<String> = (pairs.iter())
            .filter(|(k, _)| k != "cursor")
            .map(|(k, v)| format!("{k}={}", enc(v)))
            .collect();
        q.push(format!("cursor={}", enc(c)));
        format!("{action}?{}", q.join("&"))
    });
    html(&Issues {
        layout,
        action: action.clone(),
        heading: match &project {
            Some(p) => format!("Issues of {p}"),
            None => "All issues".into(),
        },
        all_projects: project.is_none(),
        periods: choices(
            &[
                ("", "all time or custom"),
                ("1d", "1 day"),
                ("7d", "7 days"),
                ("10d", "10 days"),
                ("30d", "30 days"),
            ],
            &get("since"),
        ),
        statuses: choices(
            &[
                ("", "any"),
                ("open", "open"),
                ("regressed", "regressed"),
                ("resolved", "resolved"),
                ("ignored", "ignored"),
            ],
            &get("status"),
        ),
        sorts: choices(
            &[
                ("last_seen", "last seen"),
                ("count", "occurrences"),
                ("first_seen", "first seen"),
                ("type", "type"),
            ],
            Some(get("sort"))
                .filter(|s| !s.is_empty())
                .as_deref()
                .unwrap_or("last_seen"),
        ),
        orders: choices(
            &[("desc", "descending"), ("asc", "ascending")],
            Some(get("order"))
                .filter(|s| !s.is_empty())
                .as_deref()
                .unwrap_or("desc"),
        ),
        all_time: get("since").is_empty() && get("from").is_empty() && get("to").is_empty(),
        http_status: get("http_status"),
        severity: get("severity"),
        environment: get("environment"),
        release: get("release"),
        service: get("service"),
        from: get("from"),
        to: get("to"),
        facets,
        q: get("q"),
        here: if query_here.is_empty() {
            action.clone()
        } else {
            format!("{action}?{query_here}")
        },
        total: page.total,
        issues: page.data,
        next,
    })
}

/// The bulk form of a list.
#[derive(Debug, serde::Deserialize)]
pub struct BulkForm {
    /// The CSRF token.
    pub csrf: String,
    /// resolved or ignored.
    pub status: String,
    /// The list to go back to (a `/ui/` path).
    pub return_to: String,
    /// The checked issues, `project/fingerprint` each.
    #[serde(default)]
    pub issue: Vec<String>,
}

/// Resolves or ignores every checked issue, then back to the list.
pub async fn bulk(
    axum::extract::State(ui): axum::extract::State<Ui>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Some(s) = ui.access.session(&headers) else {
        return to_login();
    };
    let layout = Layout::new(&ui, &s);
    // Repeated `issue` fields: read as pairs.
    let pairs: Vec<(String, String)> = match Query::<Vec<(String, String)>>::try_from_uri(
        &format!("/?{}", String::from_utf8_lossy(&body))
            .parse()
            .unwrap_or_default(),
    ) {
        Ok(Query(p)) => p,
        Err(e) => return error(layout, QueryError::BadRequest(e.body_text())),
    };
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let f = BulkForm {
        csrf: field("csrf"),
        status: field("status"),
        return_to: field("return_to"),
        issue: (pairs.iter())
            .filter(|(k, _)| k == "issue")
            .map(|(_, v)| v.clone())
            .collect(),
    };
    if !ui.access.form_ok(&headers, &s, &f.csrf) {
        return super::forged(layout);
    }
    if !matches!(f.status.as_str(), "resolved" | "ignored") {
        return error(
            layout,
            QueryError::BadRequest("status: resolved or ignored".into()),
        );
    }
    for item in &f.issue {
        let Some((project, fingerprint)) = item.split_once('/') else {
            continue;
        };
        let change = faultline_query::issues::StatusChange {
            status: f.status.clone(),
            by: Some("ui".into()),
            resolved_in_release: None,
            ignore_until: None,
            ignore_until_count: None,
        };
        if let Err(e) = faultline_query::issues::set_status(
            axum::extract::State(ui.api.clone()),
            Path(fingerprint.to_string()),
            ApiQuery(faultline_query::issues::ProjectParam {
                project: Some(project.to_string()),
            }),
            Ok(axum::Json(change)),
        )
        .await
        {
            return error(layout, e);
        }
    }
    // Only back into the screen: never an open redirect.
    let back = if f.return_to.starts_with("/ui/") && !f.return_to.starts_with("//") {
        f.return_to
    } else {
        "/ui/".to_string()
    };
    super::see_other(&back)
}
