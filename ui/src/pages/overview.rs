//! `/ui/`: every configured project (also those with no errors lately) and every project with
//! issues: errors in the last 24 hours with their hourly trend, error rate, open issues, issues,
//! last seen.

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use faultline_query::stats::{ProjectSummary, projects};

use super::{Layout, error, html, to_login};
use crate::Ui;

/// A project's row: the summary, its trend as an SVG polyline and its error rate as text.
struct Row {
    p: ProjectSummary,
    /// `points` of a 96 × 20 sparkline.
    trend: String,
    /// `1.2 %`, or empty without requests.
    rate: String,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct Overview {
    layout: Layout,
    projects: Vec<Row>,
}

/// The `points` of a sparkline of `counts` in a 96 × 20 box (scaled to the highest).
pub fn sparkline(counts: &[u64]) -> String {
    let max = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let step = 96.0 / (counts.len().max(2) - 1) as f64;
    counts
        .iter()
        .enumerate()
        .map(|(i, &c)| format!("{:.1},{:.1}", i as f64 * step, 19.0 - c as f64 / max * 18.0))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The overview.
pub async fn page(State(ui): State<Ui>, headers: HeaderMap) -> Response {
    let Some(s) = ui.access.session(&headers) else {
        return to_login();
    };
    let layout = Layout::new(&ui, &s);
    let list = match projects(State(ui.api.clone())).await {
        Ok(axum::Json(l)) => l.data,
        Err(e) => return error(layout, e),
    };
    let projects = list
        .into_iter()
        .map(|p| Row {
            trend: sparkline(&p.hourly_24h),
            rate: p
                .error_rate
                .map(|r| format!("{:.2} %", r * 100.0))
                .unwrap_or_default(),
            p,
        })
        .collect();
    html(&Overview { layout, projects })
}

#[cfg(test)]
mod tests {
    #[test]
    fn sparklines_scale_to_the_highest_hour() {
        assert_eq!(super::sparkline(&[0, 5, 10]), "0.0,19.0 48.0,10.0 96.0,1.0");
        assert_eq!(super::sparkline(&[]), "");
    }
}
