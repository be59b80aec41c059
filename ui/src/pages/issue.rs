//! `/ui/p/{project}/issues/{fingerprint}`: one issue — what, where, status, counts, the latest
//! occurrence's stack trace — and the triage actions as POST forms.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::{Form, Json};
use faultline_query::ApiQuery;
use faultline_query::issues::{
    GroupingExplanation, IssueItem, Occurrence, OccurrenceParams, ProjectParam, StateInfo,
    StatusChange, detail, occurrences,
};
use faultline_query::{LabelCount, TimeCount};
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

/// A run of trace lines: library frames in a row are one collapsed group.
pub struct TraceGroup {
    /// Whether these are library frames (shown collapsed).
    pub lib: bool,
    /// The lines.
    pub lines: Vec<TraceLine>,
}

/// The lines of a trace grouped: each run of library frames apart (collapsed on the page).
pub fn trace_groups(trace: &str) -> Vec<TraceGroup> {
    let mut out: Vec<TraceGroup> = Vec::new();
    for line in trace_lines(trace) {
        let lib = line.class == "lib";
        match out.last_mut() {
            Some(g) if g.lib == lib => g.lines.push(line),
            _ => out.push(TraceGroup {
                lib,
                lines: vec![line],
            }),
        }
    }
    out
}

/// One bar of a chart, in the SVG's units (a 720 × 120 box).
pub struct Bar {
    /// Left edge.
    pub x: String,
    /// Top edge.
    pub y: String,
    /// Width.
    pub w: String,
    /// Height.
    pub h: String,
    /// `time: count`, the bar's tooltip.
    pub title: String,
}

/// The bars of a series, scaled to its highest bucket.
pub fn bars(points: &[TimeCount]) -> Vec<Bar> {
    let max = points.iter().map(|p| p.count).max().unwrap_or(0).max(1) as f64;
    let n = points.len().max(1) as f64;
    let slot = 720.0 / n;
    points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let h = if p.count == 0 {
                0.0
            } else {
                (p.count as f64 / max * 116.0).max(2.0)
            };
            Bar {
                x: format!("{:.1}", i as f64 * slot + slot * 0.1),
                y: format!("{:.1}", 120.0 - h),
                w: format!("{:.1}", slot * 0.8),
                h: format!("{h:.1}"),
                title: format!("{}: {}", p.t, p.count),
            }
        })
        .collect()
}

/// A triage button: the form's fields and its label.
pub struct Action {
    /// resolved, ignored or open.
    pub status: &'static str,
    /// An extra field (`in_release`, `ignore_hours`, `ignore_count`) and its value, if any.
    pub extra: Option<(&'static str, String)>,
    /// The button.
    pub label: String,
}

#[derive(Template)]
#[template(path = "issue.html")]
struct IssuePage {
    layout: Layout,
    issue: IssueItem,
    actions: Vec<Action>,
    trace: Vec<TraceGroup>,
    hourly: Vec<Bar>,
    daily: Vec<Bar>,
    /// (column heading, caption, rows).
    breakdowns: Vec<(&'static str, &'static str, Vec<LabelCount>)>,
    history: Vec<StateInfo>,
    grouping: Option<GroupingExplanation>,
    occurrences: Vec<(Occurrence, Option<String>)>,
    older: Option<String>,
}

/// The page's own query: which page of occurrences.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    /// The occurrences' cursor.
    pub occurrences: Option<String>,
}

/// The issue page.
pub async fn page(
    State(ui): State<Ui>,
    headers: HeaderMap,
    Path((project, fingerprint)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
) -> Response {
    let Some(s) = ui.access.session(&headers) else {
        return to_login();
    };
    let layout = Layout::new(&ui, &s);
    let api = ui.api.clone();
    let found = tokio::try_join!(
        detail(
            State(api.clone()),
            Path(fingerprint.clone()),
            ApiQuery(ProjectParam {
                project: Some(project.clone()),
            }),
        ),
        occurrences(
            State(api),
            Path(fingerprint.clone()),
            ApiQuery(OccurrenceParams {
                project: Some(project.clone()),
                limit: Some(20),
                cursor: q.occurrences,
            }),
        ),
    );
    let (Json(d), Json(page)) = match found {
        Ok(f) => f,
        Err(e) => return error(layout, e),
    };
    let release = d
        .latest
        .as_ref()
        .map(|o| o.release.clone())
        .unwrap_or_default();
    let actions = actions(d.issue.status, &release);
    let trace = trace_groups(d.latest.as_ref().map_or("", |o| o.stacktrace.as_str()));
    let older = page.next_cursor.map(|c| {
        format!(
            "/ui/p/{}/issues/{}?occurrences={}#occurrences",
            enc(&project),
            enc(&fingerprint),
            enc(&c)
        )
    });
    html(&IssuePage {
        layout,
        issue: d.issue,
        actions,
        trace,
        hourly: bars(&d.hourly_24h),
        daily: bars(&d.daily_30d),
        breakdowns: vec![
            ("Environment", "By environment", d.by_environment),
            ("Release", "By release", d.by_release),
            ("Service", "By service", d.by_service),
            (
                "HTTP status",
                "By HTTP status",
                d.by_http_status
                    .into_iter()
                    .map(|l| LabelCount {
                        label: if l.label == "0" {
                            "none".into()
                        } else {
                            l.label
                        },
                        count: l.count,
                    })
                    .collect(),
            ),
        ],
        history: d.history,
        grouping: d.grouping,
        occurrences: page
            .data
            .into_iter()
            .map(|o| {
                let link = ui.trace_link(&o.trace_id);
                (o, link)
            })
            .collect(),
        older,
    })
}

/// The buttons an issue in `status` gets (`release`: its latest occurrence's).
pub fn actions(status: faultline_query::status::Status, release: &str) -> Vec<Action> {
    use faultline_query::status::Status;
    let act = |status, extra: Option<(&'static str, String)>, label: &str| Action {
        status,
        extra,
        label: label.to_string(),
    };
    match status {
        Status::Open | Status::Regressed => {
            let mut v = vec![act("resolved", None, "Resolve")];
            if !release.is_empty() {
                v.push(act(
                    "resolved",
                    Some(("in_release", release.to_string())),
                    "Resolve in next release",
                ));
            }
            v.push(act("ignored", None, "Ignore"));
            v.push(act(
                "ignored",
                Some(("ignore_hours", "24".into())),
                "Ignore for 24 hours",
            ));
            v.push(act(
                "ignored",
                Some(("ignore_count", "100".into())),
                "Ignore until 100 more",
            ));
            v
        }
        _ => vec![act("open", None, "Reopen")],
    }
}

/// A triage form.
#[derive(Debug, Deserialize)]
pub struct StatusForm {
    /// The CSRF token.
    pub csrf: String,
    /// resolved, ignored or open.
    pub status: String,
    /// resolved: only a release newer than this one regresses it.
    pub in_release: Option<String>,
    /// ignored: for this many hours.
    pub ignore_hours: Option<u32>,
    /// ignored: until this many more occurrences.
    pub ignore_count: Option<u64>,
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
        return super::forged(layout);
    }
    let until = f.ignore_hours.map(|h| {
        let now = faultline_query::now_secs();
        faultline_query::params::rfc3339(now.saturating_add(h.saturating_mul(3600)))
    });
    let change = StatusChange {
        status: f.status,
        by: Some("ui".into()),
        resolved_in_release: f.in_release.filter(|r| !r.is_empty()),
        ignore_until: until,
        ignore_until_count: f.ignore_count,
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
        let bars = bars(&[
            TimeCount {
                t: "a".into(),
                count: 0,
            },
            TimeCount {
                t: "b".into(),
                count: 5,
            },
            TimeCount {
                t: "c".into(),
                count: 10,
            },
        ]);
        assert_eq!(
            bars.iter().map(|b| b.h.as_str()).collect::<Vec<_>>(),
            ["0.0", "58.0", "116.0"]
        );
        assert_eq!(bars[2].title, "c: 10");
        let java = trace_lines(
            "java.lang.IllegalStateException: x\n\tat com.shop.Cart.add(Cart.java:3)\n\tat java.base/java.lang.Thread.run(Thread.java:1)",
        );
        assert_eq!(
            java.iter().map(|l| l.class).collect::<Vec<_>>(),
            ["", "app", "lib"]
        );
    }
}
