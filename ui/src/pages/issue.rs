//! `/ui/p/{project}/issues/{fingerprint}`: one issue — what, where, status, counts, the latest
//! occurrence's stack trace — and the triage actions as POST forms.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::{Form, Json};
use faultline_query::ApiQuery;
use faultline_query::issues::{IssueItem, ProjectParam, StatusChange, detail};
use serde::Deserialize;

use super::{Layout, enc, error, html, see_other, to_login};
use crate::Ui;

/// One line of a stack trace, marked as the application's or a library's.
pub struct TraceLine {
    /// `app`, `lib` or empty (headers, messages).
    pub class: &'static str,
    /// The line.
    pub text: String,
}

/// Library code, by path: what is not the application's own.
const LIBRARY: [&str; 10] = [
    "site-packages",
    "dist-packages",
    "node_modules",
    "/vendor/",
    "/usr/lib",
    "/usr/local/lib",
    "/rustc/",
    "/.cargo/registry/",
    "GOROOT",
    "/go/pkg/mod/",
];

/// The lines of a trace, frames marked (`app` frames emphasised, `lib` ones muted).
pub fn trace_lines(trace: &str) -> Vec<TraceLine> {
    trace
        .lines()
        .map(|l| {
            let t = l.trim_start();
            let frame = t.starts_with("at ")
                || t.starts_with("File \"")
                || t.starts_with('#')
                || l.starts_with('\t')
                || (t.contains(".go:") || t.contains(".rs:"));
            let class = if !frame {
                ""
            } else if LIBRARY.iter().any(|m| t.contains(m))
                || t.starts_with("at java.")
                || t.starts_with("at node:")
                || t.starts_with("at jdk.")
            {
                "lib"
            } else {
                "app"
            };
            TraceLine {
                class,
                text: l.to_string(),
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "issue.html")]
struct IssuePage {
    layout: Layout,
    issue: IssueItem,
    actions: Vec<(&'static str, &'static str)>,
    trace: Vec<TraceLine>,
}

/// The issue page.
pub async fn page(
    State(ui): State<Ui>,
    headers: HeaderMap,
    Path((project, fingerprint)): Path<(String, String)>,
) -> Response {
    let Some(s) = ui.access.session(&headers) else {
        return to_login();
    };
    let layout = Layout::new(&ui, &s);
    let d = match detail(
        State(ui.api.clone()),
        Path(fingerprint),
        ApiQuery(ProjectParam {
            project: Some(project),
        }),
    )
    .await
    {
        Ok(Json(d)) => d,
        Err(e) => return error(layout, e),
    };
    let actions = match d.issue.status {
        faultline_query::status::Status::Open | faultline_query::status::Status::Regressed => {
            vec![("resolved", "Resolve"), ("ignored", "Ignore")]
        }
        _ => vec![("open", "Reopen")],
    };
    let trace = trace_lines(d.latest.as_ref().map_or("", |o| o.stacktrace.as_str()));
    html(&IssuePage {
        layout,
        issue: d.issue,
        actions,
        trace,
    })
}

/// A triage form.
#[derive(Debug, Deserialize)]
pub struct StatusForm {
    /// The CSRF token.
    pub csrf: String,
    /// resolved, ignored or open.
    pub status: String,
}

/// Resolves, ignores or reopens, then back to the issue (Post/Redirect/Get).
pub async fn set_status(
    State(ui): State<Ui>,
    headers: HeaderMap,
    Path((project, fingerprint)): Path<(String, String)>,
    Form(f): Form<StatusForm>,
) -> Response {
    let Some(s) = ui.access.session(&headers) else {
        return to_login();
    };
    let layout = Layout::new(&ui, &s);
    if !ui.access.form_ok(&headers, &s, &f.csrf) {
        return error(
            layout,
            faultline_query::error::QueryError::BadRequest(
                "this form did not come from this page (expired or forged): reload and try again"
                    .into(),
            ),
        );
    }
    let change = StatusChange {
        status: f.status,
        by: Some("ui".into()),
        resolved_in_release: None,
        ignore_until: None,
        ignore_until_count: None,
    };
    let back = format!("/ui/p/{}/issues/{}", enc(&project), enc(&fingerprint));
    match faultline_query::issues::set_status(
        State(ui.api.clone()),
        Path(fingerprint),
        ApiQuery(ProjectParam {
            project: Some(project),
        }),
        Ok(Json(change)),
    )
    .await
    {
        Ok(_) => see_other(&back),
        Err(e) => error(layout, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn application_frames_are_told_from_library_ones() {
        let lines = trace_lines(
            "Traceback (most recent call last):\n  File \"/srv/app/shop/views.py\", line 3, in pay\n  File \"/usr/lib/python3/site-packages/django/x.py\", line 9, in run\nKeyError: 'card'",
        );
        let classes: Vec<&str> = lines.iter().map(|l| l.class).collect();
        assert_eq!(classes, ["", "app", "lib", ""]);
        let java = trace_lines(
            "java.lang.IllegalStateException: x\n\tat com.shop.Cart.add(Cart.java:3)\n\tat java.base/java.lang.Thread.run(Thread.java:1)",
        );
        assert_eq!(
            java.iter().map(|l| l.class).collect::<Vec<_>>(),
            ["", "app", "lib"]
        );
    }
}
