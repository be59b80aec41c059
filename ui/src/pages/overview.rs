//! `/ui/`: every configured project (also those with no errors lately) and every project with
//! errors in the last 24 hours: errors, open issues, issues, last seen.

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use faultline_query::stats::{ProjectSummary, projects};

use super::{Layout, error, html, to_login};
use crate::Ui;

#[derive(Template)]
#[template(path = "overview.html")]
struct Overview {
    layout: Layout,
    projects: Vec<ProjectSummary>,
}

/// The overview.
pub async fn page(State(ui): State<Ui>, headers: HeaderMap) -> Response {
    let Some(s) = ui.access.session(&headers) else {
        return to_login();
    };
    let layout = Layout::new(&ui, &s);
    let mut list = match projects(State(ui.api.clone())).await {
        Ok(axum::Json(l)) => l.data,
        Err(e) => return error(layout, e),
    };
    for p in &ui.projects {
        if !list.iter().any(|s| &s.project == p) {
            list.push(ProjectSummary {
                project: p.clone(),
                errors_24h: 0,
                open_issues: 0,
                issues: 0,
                last_seen: String::new(),
            });
        }
    }
    html(&Overview {
        layout,
        projects: list,
    })
}
