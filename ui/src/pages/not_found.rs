//! `/ui/404s`: the paths with the most 404s in a period (seed 004's report), each linking to the
//! 404 issues that mention it.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use faultline_query::ApiQuery;
use faultline_query::stats::{NotFound, PeriodParams, frequent_404s};
use serde::Deserialize;

use super::issues::{Choice, choices};
use super::{Layout, error, html, to_login};
use crate::Ui;

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage {
    layout: Layout,
    periods: Vec<Choice>,
    project: String,
    from: String,
    paths: Vec<NotFound>,
}

/// The page's form.
#[derive(Debug, Default, Deserialize)]
pub struct Form {
    /// `24h`, `7d`, `30d`.
    pub period: Option<String>,
    /// One project (empty: all).
    pub project: Option<String>,
}

/// The page.
pub async fn page(State(ui): State<Ui>, headers: HeaderMap, Query(f): Query<Form>) -> Response {
    let Some(s) = ui.access.session(&headers) else {
        return to_login();
    };
    let layout = Layout::new(&ui, &s);
    let period = f
        .period
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "24h".into());
    let project = f.project.filter(|p| !p.trim().is_empty());
    let params = PeriodParams {
        period: Some(period.clone()),
        project: project.clone(),
        limit: Some(100),
    };
    let list = match frequent_404s(State(ui.api.clone()), ApiQuery(params)).await {
        Ok(axum::Json(l)) => l,
        Err(e) => return error(layout, e),
    };
    html(&NotFoundPage {
        layout,
        periods: choices(
            &[("24h", "24 hours"), ("7d", "7 days"), ("30d", "30 days")],
            &period,
        ),
        project: project.unwrap_or_default(),
        from: list.from,
        paths: list.data,
    })
}
