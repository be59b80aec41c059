//! Issues: list, detail, occurrences, and triage status.

use std::cmp::Ordering;
use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use faultline_store::queries::{Dimension, Dims, IssueInWindow, IssueTotals, Window};
use faultline_store::{IssueStateRow, OccurrenceRow, Store};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::choice::{self, Choice, Order, Severity, Sort};
use crate::error::QueryError;
use crate::params::{self, rfc3339};
use crate::status::{self, Status};
use crate::{Api, ApiQuery, LabelCount, TimeCount, now_secs};

type Key = (String, String);

/// All-time totals, stored states and effective statuses of the issues of a project (or all).
pub(crate) struct Known {
    pub totals: HashMap<Key, IssueTotals>,
    pub states: HashMap<Key, IssueStateRow>,
    pub status: HashMap<Key, Status>,
}

impl Known {
    pub(crate) async fn load(
        store: &Store,
        project: Option<&str>,
        fingerprints: &[String],
        now: u32,
    ) -> Result<Known, QueryError> {
        let (totals, states) = tokio::try_join!(
            store.issue_totals(project, fingerprints),
            store.issue_states(project, fingerprints)
        )?;
        let totals: HashMap<Key, IssueTotals> = totals
            .into_iter()
            .map(|t| ((t.project.clone(), t.fingerprint.clone()), t))
            .collect();
        let states: HashMap<Key, IssueStateRow> = states
            .into_iter()
            .map(|s| ((s.project.clone(), s.fingerprint.clone()), s))
            .collect();
        let all: Vec<IssueTotals> = totals.values().cloned().collect();
        let status = status::resolve(store, &all, &states, now).await?;
        Ok(Known {
            totals,
            states,
            status,
        })
    }
}

/// One issue in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IssueItem {
    /// Grouping key.
    pub fingerprint: String,
    /// Project.
    pub project: String,
    /// Exception type of the latest occurrence.
    pub exception_type: String,
    /// Message of the latest occurrence.
    pub message: String,
    /// Innermost in-app frame of the latest occurrence.
    pub culprit: String,
    /// Effective status.
    pub status: Status,
    /// Most severe severity in the window: low, medium, high, critical.
    pub severity: String,
    /// Most severe HTTP status in the window (null when none).
    pub http_status: Option<u16>,
    /// HTTP statuses seen in the window.
    pub http_statuses: Vec<u16>,
    /// Occurrences in the window.
    pub count: u64,
    /// Occurrences ever received.
    pub total_count: u64,
    /// First occurrence ever, RFC 3339.
    pub first_seen: String,
    /// Latest occurrence, RFC 3339.
    pub last_seen: String,
    /// Services seen in the window.
    pub services: Vec<String>,
    /// Environments seen in the window.
    pub environments: Vec<String>,
}

const SEVERITIES: [&str; 5] = ["", "low", "medium", "high", "critical"];

fn item(w: IssueInWindow, totals: Option<&IssueTotals>, status: Status) -> IssueItem {
    let mut statuses = w.http_statuses;
    statuses.retain(|s| *s != 0);
    statuses.sort_unstable();
    let mut services = w.services;
    services.sort();
    let mut environments = w.environments;
    environments.sort();
    let (exception_type, message, culprit, total, first, last) = match totals {
        Some(t) => (
            t.exception_type.clone(),
            t.message.clone(),
            t.culprit.clone(),
            t.count,
            t.first_seen,
            t.last_seen,
        ),
        None => (
            String::new(),
            String::new(),
            String::new(),
            w.count,
            w.first_seen,
            w.last_seen,
        ),
    };
    IssueItem {
        fingerprint: w.fingerprint,
        project: w.project,
        exception_type,
        message,
        culprit,
        status,
        severity: SEVERITIES
            .get(w.severity_rank as usize)
            .copied()
            .unwrap_or("")
            .to_string(),
        http_status: statuses.last().copied(),
        http_statuses: statuses,
        count: w.count,
        total_count: total.max(w.count),
        first_seen: rfc3339(first.min(w.first_seen)),
        last_seen: rfc3339(last.max(w.last_seen)),
        services,
        environments,
    }
}

/// Query parameters of `GET /api/v1/errors`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only this project.
    pub project: Option<String>,
    /// Comma list of open, resolved, ignored, regressed.
    #[serde(default, deserialize_with = "choice::list")]
    #[param(value_type = Option<String>)]
    pub status: Vec<Status>,
    /// Comma list of HTTP statuses, e.g. `403,404,500`.
    pub http_status: Option<String>,
    /// Recency: `1d`, `7d`, `10d`, `30d`, any `Nd` or `Nh`. Default: all time.
    pub since: Option<String>,
    /// Window start, RFC 3339 or YYYY-MM-DD (UTC midnight), rounded down to the minute.
    pub from: Option<String>,
    /// Window end (exclusive), RFC 3339 or YYYY-MM-DD (UTC midnight).
    pub to: Option<String>,
    /// Comma list of low, medium, high, critical.
    #[serde(default, deserialize_with = "choice::list")]
    #[param(value_type = Option<String>)]
    pub severity: Vec<Severity>,
    /// Comma list of environments.
    pub environment: Option<String>,
    /// Comma list of releases.
    pub release: Option<String>,
    /// Comma list of services.
    pub service: Option<String>,
    /// Text in the exception type or message (case-insensitive).
    pub q: Option<String>,
    /// count, last_seen (default), first_seen or type.
    #[serde(default, deserialize_with = "choice::one")]
    #[param(value_type = Option<String>)]
    pub sort: Option<Sort>,
    /// asc or desc (default).
    #[serde(default, deserialize_with = "choice::one")]
    #[param(value_type = Option<String>)]
    pub order: Option<Order>,
    /// Page size, 1..=500, default 50.
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page of issues.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuePage {
    /// The issues of this page.
    pub data: Vec<IssueItem>,
    /// Issues matching the filters, all pages.
    pub total: usize,
    /// Pass as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(untagged)]
enum SortKey {
    Num(u64),
    Text(String),
}

#[derive(Debug, Serialize, Deserialize)]
struct ListCursor {
    k: SortKey,
    p: String,
    f: String,
}

fn sort_key(sort: Sort, it: &IssueItem, known: Option<&IssueTotals>) -> SortKey {
    match sort {
        Sort::Count => SortKey::Num(it.count),
        Sort::FirstSeen => SortKey::Num(known.map(|t| t.first_seen).unwrap_or(0) as u64),
        Sort::Type => SortKey::Text(it.exception_type.to_lowercase()),
        Sort::LastSeen => SortKey::Num(known.map(|t| t.last_seen).unwrap_or(0) as u64),
    }
}

pub(crate) fn dims_from(project: Option<&str>, p: &ListParams) -> Result<Dims, QueryError> {
    let severities = p.severity.iter().map(|s| s.as_str().to_string()).collect();
    Ok(Dims {
        project: project.map(String::from),
        fingerprints: Vec::new(),
        services: params::list(p.service.as_deref()),
        environments: params::list(p.environment.as_deref()),
        releases: params::list(p.release.as_deref()),
        http_statuses: params::status_list("http_status", p.http_status.as_deref())?,
        severities,
    })
}

/// Issues, filtered, sorted and paginated.
#[utoipa::path(get, path = "/api/v1/errors", params(ListParams), tag = "issues",
    responses((status = 200, body = IssuePage), (status = 400, description = "A parameter is invalid"), (status = 401)))]
pub async fn list(
    State(api): State<Api>,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Json<IssuePage>, QueryError> {
    let now = now_secs();
    let project = p.project.as_deref().filter(|s| !s.is_empty());
    let statuses = &p.status;
    let sort = p.sort.unwrap_or_default();
    let desc = p.order.unwrap_or_default() == Order::Desc;
    let limit = params::limit(p.limit, 50, 500)? as usize;
    let cursor: Option<ListCursor> = p.cursor.as_deref().map(params::decode_cursor).transpose()?;
    let window = params::window(
        p.since.as_deref(),
        p.from.as_deref(),
        p.to.as_deref(),
        None,
        now,
    )?;
    let dims = dims_from(project, &p)?;
    let q =
        p.q.as_deref()
            .map(str::to_lowercase)
            .filter(|s| !s.is_empty());

    let (rows, known) = tokio::try_join!(
        async {
            api.store
                .issues_in_window(&dims, window)
                .await
                .map_err(QueryError::from)
        },
        Known::load(&api.store, project, &[], now)
    )?;
    let mut items: Vec<(SortKey, IssueItem)> = rows
        .into_iter()
        .filter_map(|r| {
            let key = (r.project.clone(), r.fingerprint.clone());
            let st = known.status.get(&key).copied().unwrap_or(Status::Open);
            if !statuses.is_empty() && !statuses.contains(&st) {
                return None;
            }
            let totals = known.totals.get(&key);
            let it = item(r, totals, st);
            if let Some(q) = &q
                && !it.exception_type.to_lowercase().contains(q)
                && !it.message.to_lowercase().contains(q)
            {
                return None;
            }
            Some((sort_key(sort, &it, totals), it))
        })
        .collect();
    let cmp = |a: &(SortKey, IssueItem), b: &(SortKey, IssueItem)| {
        let o = a.0.partial_cmp(&b.0).unwrap_or(Ordering::Equal);
        let o = if desc { o.reverse() } else { o };
        o.then_with(|| a.1.project.cmp(&b.1.project))
            .then_with(|| a.1.fingerprint.cmp(&b.1.fingerprint))
    };
    items.sort_by(cmp);
    let total = items.len();
    let start = match &cursor {
        None => 0,
        Some(c) => {
            let probe = IssueItem {
                project: c.p.clone(),
                fingerprint: c.f.clone(),
                ..empty_item()
            };
            let probe = (c.k.clone(), probe);
            items.partition_point(|x| cmp(x, &probe) != Ordering::Greater)
        }
    };
    let page: Vec<(SortKey, IssueItem)> = items.into_iter().skip(start).take(limit + 1).collect();
    let next_cursor = if page.len() > limit {
        page.get(limit - 1).map(|(k, it)| {
            params::encode_cursor(&ListCursor {
                k: k.clone(),
                p: it.project.clone(),
                f: it.fingerprint.clone(),
            })
        })
    } else {
        None
    };
    let data = page.into_iter().take(limit).map(|(_, it)| it).collect();
    Ok(Json(IssuePage {
        data,
        total,
        next_cursor,
    }))
}

fn empty_item() -> IssueItem {
    IssueItem {
        fingerprint: String::new(),
        project: String::new(),
        exception_type: String::new(),
        message: String::new(),
        culprit: String::new(),
        status: Status::Open,
        severity: String::new(),
        http_status: None,
        http_statuses: Vec::new(),
        count: 0,
        total_count: 0,
        first_seen: String::new(),
        last_seen: String::new(),
        services: Vec::new(),
        environments: Vec::new(),
    }
}

/// `?project=` of the per-issue routes.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProjectParam {
    /// Project of the issue (needed only when the fingerprint exists in several).
    pub project: Option<String>,
}

/// Finds the project of an issue.
async fn locate(api: &Api, fingerprint: &str, project: Option<&str>) -> Result<String, QueryError> {
    locate_totals(api, fingerprint, project)
        .await
        .map(|t| t.project)
}

/// [`locate`], with the issue's all-time totals (its last occurrence among them).
async fn locate_totals(
    api: &Api,
    fingerprint: &str,
    project: Option<&str>,
) -> Result<faultline_store::queries::IssueTotals, QueryError> {
    let mut found = api
        .store
        .issue_totals(
            project.filter(|p| !p.is_empty()),
            &[fingerprint.to_string()],
        )
        .await?;
    match found.len() {
        0 => Err(QueryError::NotFound(format!(
            "no issue {fingerprint:?}{}",
            project
                .map(|p| format!(" in project {p:?}"))
                .unwrap_or_default()
        ))),
        1 => found
            .pop()
            .ok_or_else(|| QueryError::NotFound(format!("no issue {fingerprint:?}"))),
        _ => Err(QueryError::param(
            "project",
            "the fingerprint exists in several projects: name one",
        )),
    }
}

/// Current triage state, as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct StateInfo {
    /// open, resolved or ignored, as last set.
    pub status: String,
    /// Who set it.
    pub by: String,
    /// When, RFC 3339.
    pub changed_at: String,
    /// The release that fixes it (resolved only).
    pub resolved_in_release: Option<String>,
    /// End of the ignore period (ignored only).
    pub ignore_until: Option<String>,
    /// Occurrences that end the ignore (ignored only).
    pub ignore_until_count: Option<u64>,
}

impl From<&IssueStateRow> for StateInfo {
    fn from(s: &IssueStateRow) -> Self {
        StateInfo {
            status: s.status.clone(),
            by: s.actor.clone(),
            changed_at: rfc3339(s.changed_at),
            resolved_in_release: (!s.resolved_in_release.is_empty())
                .then(|| s.resolved_in_release.clone()),
            ignore_until: (s.ignore_until > 0).then(|| rfc3339(s.ignore_until)),
            ignore_until_count: (s.ignore_until_count > 0).then_some(s.ignore_until_count),
        }
    }
}

/// The request an occurrence happened in.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestInfo {
    /// HTTP method.
    pub method: String,
    /// Route template.
    pub route: String,
    /// Full URL.
    pub url: String,
    /// Response status (null when none).
    pub status: Option<u16>,
}

/// One occurrence, in full.
#[derive(Debug, Serialize, ToSchema)]
pub struct Occurrence {
    /// Stable id.
    pub event_id: String,
    /// Issue.
    pub fingerprint: String,
    /// Grouping version that computed the fingerprint (0 = sent by the client).
    pub grouping_version: u8,
    /// When it happened, RFC 3339.
    pub timestamp: String,
    /// When Faultline received it, RFC 3339.
    pub received_at: String,
    /// otlp_trace, otlp_log or webhook.
    pub source: String,
    /// Service.
    pub service: String,
    /// Environment.
    pub environment: String,
    /// Release.
    pub release: String,
    /// Exception type.
    pub exception_type: String,
    /// Message.
    pub message: String,
    /// Stack trace as sent.
    pub stacktrace: String,
    /// Innermost in-app frame.
    pub culprit: String,
    /// Severity.
    pub severity: String,
    /// HTTP context.
    pub request: RequestInfo,
    /// Trace id (hex), empty when none.
    pub trace_id: String,
    /// Span id (hex), empty when none.
    pub span_id: String,
    /// Other attributes.
    pub attributes: HashMap<String, String>,
}

impl From<OccurrenceRow> for Occurrence {
    fn from(r: OccurrenceRow) -> Self {
        Occurrence {
            event_id: r.event_id,
            fingerprint: r.fingerprint,
            grouping_version: r.grouping_version,
            timestamp: rfc3339(r.timestamp),
            received_at: rfc3339(r.received_at),
            source: r.source,
            service: r.service,
            environment: r.environment,
            release: r.release,
            exception_type: r.exception_type,
            message: r.message,
            stacktrace: r.stacktrace,
            culprit: r.culprit,
            severity: r.severity,
            request: RequestInfo {
                method: r.http_method,
                route: r.http_route,
                url: r.url,
                status: (r.http_status != 0).then_some(r.http_status),
            },
            trace_id: r.trace_id,
            span_id: r.span_id,
            attributes: r.attr_keys.into_iter().zip(r.attr_values).collect(),
        }
    }
}

/// One issue in detail.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssueDetail {
    /// The issue, with `count` over all retained data.
    #[serde(flatten)]
    pub issue: IssueItem,
    /// Triage state as last set (null when never set).
    pub state: Option<StateInfo>,
    /// The latest occurrence.
    pub latest: Option<Occurrence>,
    /// Occurrences per hour, the last 24 hours (every hour present).
    pub hourly_24h: Vec<TimeCount>,
    /// Occurrences per day, the last 30 days (every day present).
    pub daily_30d: Vec<TimeCount>,
    /// Occurrences per environment (retained data).
    pub by_environment: Vec<LabelCount>,
    /// Occurrences per release (retained data).
    pub by_release: Vec<LabelCount>,
    /// Occurrences per service (retained data).
    pub by_service: Vec<LabelCount>,
    /// Occurrences per HTTP status, `0` for none (retained data).
    pub by_http_status: Vec<LabelCount>,
    /// Every triage change, newest first (at most 50).
    pub history: Vec<StateInfo>,
    /// Why the latest occurrence was grouped as it was (null without one).
    pub grouping: Option<GroupingExplanation>,
}

/// What grouping looked at for an occurrence (`faultline fingerprint --explain`, as data).
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupingExplanation {
    /// The grouping version that stored the occurrence (0: the client's fingerprint).
    pub stored_version: u8,
    /// The grouping version explained here (the current one).
    pub version: u8,
    /// What the current version computes for the occurrence as stored (it differs from the
    /// issue's when the client chose the fingerprint, during a version transition, or when the
    /// stored trace was cut to its size limit).
    pub fingerprint: String,
    /// `frames`, `message`, `rule` or `client`.
    pub basis: String,
    /// The exception type hashed.
    pub exception_type: String,
    /// Which exception of the chain was used (0: the outermost), of how many, and why.
    pub exception_index: Option<usize>,
    /// How many exceptions the chain holds.
    pub exception_count: Option<usize>,
    /// Why that exception.
    pub exception_rule: Option<String>,
    /// The frames of that exception, innermost first.
    pub frames: Vec<ExplainedFrame>,
    /// The masked message, when the message was hashed.
    pub message: Option<String>,
}

/// One frame as grouping saw it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExplainedFrame {
    /// Module, package, class or file (normalized).
    pub module: String,
    /// Function (normalized).
    pub function: String,
    /// Whether it is the application's code.
    pub in_app: bool,
    /// Whether it is part of the fingerprint.
    pub counted: bool,
    /// Why: counted, library, composition, repeat, reporting, where it was caught, …
    pub note: String,
}

/// The explanation of `o`'s grouping under `config`.
fn explain_row(
    o: &OccurrenceRow,
    config: Option<&faultline_collector::fingerprint::GroupingConfig>,
) -> GroupingExplanation {
    use faultline_collector::fingerprint::{GroupingInput, Stack, explain};
    let (g, e) = explain(&GroupingInput {
        project: &o.project,
        service: &o.service,
        exception_type: &o.exception_type,
        message: &o.message,
        stack: Stack::Text(&o.stacktrace),
        client_fingerprint: None,
        config,
    });
    GroupingExplanation {
        stored_version: o.grouping_version,
        version: e.version,
        fingerprint: g.fingerprint,
        basis: e.basis.to_string(),
        exception_type: e.exception_type,
        exception_index: e.exception.map(|(i, _, _)| i),
        exception_count: e.exception.map(|(_, n, _)| n),
        exception_rule: e.exception.map(|(_, _, r)| r.to_string()),
        frames: e
            .frames
            .into_iter()
            .map(|f| ExplainedFrame {
                module: f.module,
                function: f.function,
                in_app: f.in_app,
                counted: f.note.counted(),
                note: f.note.as_str().to_string(),
            })
            .collect(),
        message: e.message,
    }
}

/// Fills every `step` bucket of `[from, to)`.
pub(crate) fn fill(
    from: u32,
    to: u32,
    step: u32,
    got: &[faultline_store::queries::BucketCount],
) -> Vec<TimeCount> {
    let by_t: HashMap<u32, u64> = got.iter().map(|b| (b.t, b.count)).collect();
    (from..to)
        .step_by(step as usize)
        .map(|t| TimeCount {
            t: rfc3339(t),
            count: by_t.get(&t).copied().unwrap_or(0),
        })
        .collect()
}

/// One issue: everything in the list plus the latest occurrence, trends and breakdowns.
#[utoipa::path(get, path = "/api/v1/errors/{fingerprint}", params(("fingerprint" = String, Path, description = "Issue fingerprint"), ProjectParam), tag = "issues",
    responses((status = 200, body = IssueDetail), (status = 404, description = "No such issue"), (status = 401)))]
pub async fn detail(
    State(api): State<Api>,
    Path(fingerprint): Path<String>,
    ApiQuery(p): ApiQuery<ProjectParam>,
) -> Result<Json<IssueDetail>, QueryError> {
    let now = now_secs();
    let located = locate_totals(&api, &fingerprint, p.project.as_deref()).await?;
    let project = located.project.clone();
    let all = Window::new(0, params::now_end(now));
    let dims = Dims {
        project: Some(project.clone()),
        fingerprints: vec![fingerprint.clone()],
        ..Dims::default()
    };
    let hour_end = now - now % 3600 + 3600;
    let day_end = now - now % 86_400 + 86_400;
    let s = &api.store;
    // The last occurrence is known from locating the issue: its row is read beside the rest.
    let (win, known, latest, hourly, daily, breakdown, history) = tokio::try_join!(
        async {
            s.issues_in_window(&dims, all)
                .await
                .map_err(QueryError::from)
        },
        Known::load(s, Some(&project), std::slice::from_ref(&fingerprint), now),
        async {
            s.latest_occurrence(&project, &fingerprint, located.last_seen)
                .await
                .map_err(QueryError::from)
        },
        async {
            s.issue_buckets(
                &project,
                &fingerprint,
                Window::new(hour_end - 24 * 3600, hour_end),
                3600,
            )
            .await
            .map_err(QueryError::from)
        },
        async {
            s.issue_buckets(
                &project,
                &fingerprint,
                Window::new(day_end - 30 * 86_400, day_end),
                86_400,
            )
            .await
            .map_err(QueryError::from)
        },
        async {
            s.breakdown_by(
                &dims,
                all,
                &[
                    Dimension::Environment,
                    Dimension::Release,
                    Dimension::Service,
                    Dimension::HttpStatus,
                ],
            )
            .await
            .map_err(QueryError::from)
        },
        async {
            s.issue_state_history(&project, &fingerprint, 50)
                .await
                .map_err(QueryError::from)
        },
    )?;
    let key = (project.clone(), fingerprint.clone());
    let totals = known.totals.get(&key);
    let status = known.status.get(&key).copied().unwrap_or(Status::Open);
    let w = win.into_iter().next().unwrap_or(IssueInWindow {
        project: project.clone(),
        fingerprint: fingerprint.clone(),
        count: 0,
        first_seen: totals.map(|t| t.first_seen).unwrap_or(0),
        last_seen: totals.map(|t| t.last_seen).unwrap_or(0),
        severity_rank: 0,
        http_statuses: Vec::new(),
        services: Vec::new(),
        environments: Vec::new(),
    });
    let state = known.states.get(&key).map(StateInfo::from);
    let labels = |i: usize| {
        let mut by: HashMap<String, u64> = HashMap::new();
        for r in &breakdown {
            *by.entry(r.labels.get(i).cloned().unwrap_or_default())
                .or_default() += r.count;
        }
        let mut v: Vec<LabelCount> = by
            .into_iter()
            .map(|(label, count)| LabelCount { label, count })
            .collect();
        v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.label.cmp(&b.label)));
        v
    };
    Ok(Json(IssueDetail {
        issue: item(w, totals, status),
        state,
        hourly_24h: fill(hour_end - 24 * 3600, hour_end, 3600, &hourly),
        daily_30d: fill(day_end - 30 * 86_400, day_end, 86_400, &daily),
        by_environment: labels(0),
        by_release: labels(1),
        by_service: labels(2),
        by_http_status: labels(3),
        history: history.iter().map(StateInfo::from).collect(),
        grouping: latest
            .as_ref()
            .map(|o| explain_row(o, api.grouping.get(&project))),
        latest: latest.map(Occurrence::from),
    }))
}

/// Query parameters of the occurrences route.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OccurrenceParams {
    /// Project of the issue (needed only when the fingerprint exists in several).
    pub project: Option<String>,
    /// Page size, 1..=500, default 50.
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page of occurrences.
#[derive(Debug, Serialize, ToSchema)]
pub struct OccurrencePage {
    /// Newest first.
    pub data: Vec<Occurrence>,
    /// Pass as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

/// Occurrences of one issue, newest first.
#[utoipa::path(get, path = "/api/v1/errors/{fingerprint}/occurrences", params(("fingerprint" = String, Path, description = "Issue fingerprint"), OccurrenceParams), tag = "issues",
    responses((status = 200, body = OccurrencePage), (status = 404, description = "No such issue"), (status = 401)))]
pub async fn occurrences(
    State(api): State<Api>,
    Path(fingerprint): Path<String>,
    ApiQuery(p): ApiQuery<OccurrenceParams>,
) -> Result<Json<OccurrencePage>, QueryError> {
    let limit = params::limit(p.limit, 50, 500)?;
    let cursor: Option<(u32, String)> =
        p.cursor.as_deref().map(params::decode_cursor).transpose()?;
    let project = locate(&api, &fingerprint, p.project.as_deref()).await?;
    let rows = api
        .store
        .occurrences_page(
            &project,
            Some(&fingerprint),
            cursor.as_ref().map(|(t, id)| (*t, id.as_str())),
            limit + 1,
        )
        .await?;
    let next_cursor = if rows.len() > limit as usize {
        rows.get(limit as usize - 1)
            .map(|r| params::encode_cursor(&(r.timestamp, r.event_id.clone())))
    } else {
        None
    };
    Ok(Json(OccurrencePage {
        data: rows
            .into_iter()
            .take(limit as usize)
            .map(Occurrence::from)
            .collect(),
        next_cursor,
    }))
}

/// One occurrence of an issue by its event id, with its stack trace.
#[utoipa::path(get, path = "/api/v1/errors/{fingerprint}/occurrences/{event_id}", params(("fingerprint" = String, Path, description = "Issue fingerprint"), ("event_id" = String, Path, description = "Event id"), ProjectParam), tag = "issues",
    responses((status = 200, body = Occurrence), (status = 404, description = "No such issue or occurrence"), (status = 401)))]
pub async fn occurrence(
    State(api): State<Api>,
    Path((fingerprint, event_id)): Path<(String, String)>,
    ApiQuery(p): ApiQuery<ProjectParam>,
) -> Result<Json<Occurrence>, QueryError> {
    let project = locate(&api, &fingerprint, p.project.as_deref()).await?;
    match api
        .store
        .occurrence(&project, &fingerprint, &event_id)
        .await?
    {
        Some(o) => Ok(Json(Occurrence::from(o))),
        None => Err(QueryError::NotFound(format!(
            "no occurrence {event_id:?} in issue {fingerprint:?}"
        ))),
    }
}

/// Body of `PUT /api/v1/errors/{fingerprint}/status`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// resolved, ignored or open.
    pub status: String,
    /// Who makes the change.
    #[serde(default)]
    pub by: Option<String>,
    /// With resolved: only occurrences in a newer release regress the issue.
    #[serde(default)]
    pub resolved_in_release: Option<String>,
    /// With ignored: the ignore ends at this time (RFC 3339).
    #[serde(default)]
    pub ignore_until: Option<String>,
    /// With ignored: the ignore ends after this many more occurrences.
    #[serde(default)]
    pub ignore_until_count: Option<u64>,
}

/// Resolves, ignores or reopens an issue. The state is stored in ClickHouse.
#[utoipa::path(put, path = "/api/v1/errors/{fingerprint}/status", params(("fingerprint" = String, Path, description = "Issue fingerprint"), ProjectParam), request_body = StatusChange, tag = "issues",
    responses((status = 200, body = IssueDetail), (status = 400, description = "Invalid body"), (status = 404, description = "No such issue"), (status = 401)))]
pub async fn set_status(
    State(api): State<Api>,
    Path(fingerprint): Path<String>,
    ApiQuery(p): ApiQuery<ProjectParam>,
    body: Result<Json<StatusChange>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<IssueDetail>, QueryError> {
    let Json(c) = body.map_err(|e| QueryError::BadRequest(format!("body: {}", e.body_text())))?;
    if !["resolved", "ignored", "open"].contains(&c.status.as_str()) {
        return Err(QueryError::BadRequest(format!(
            "body field `status`: {:?} is not one of resolved, ignored, open",
            c.status
        )));
    }
    if c.resolved_in_release.is_some() && c.status != "resolved" {
        return Err(QueryError::BadRequest(
            "body field `resolved_in_release` goes with status resolved only".into(),
        ));
    }
    if (c.ignore_until.is_some() || c.ignore_until_count.is_some()) && c.status != "ignored" {
        return Err(QueryError::BadRequest(
            "body fields `ignore_until` and `ignore_until_count` go with status ignored only"
                .into(),
        ));
    }
    let ignore_until = c
        .ignore_until
        .as_deref()
        .map(|t| params::parse_time("ignore_until", t))
        .transpose()?
        .unwrap_or(0);
    let project = locate(&api, &fingerprint, p.project.as_deref()).await?;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    api.store
        .set_issue_state(&IssueStateRow {
            project: project.clone(),
            fingerprint: fingerprint.clone(),
            status: c.status,
            actor: c.by.unwrap_or_default(),
            resolved_in_release: c.resolved_in_release.unwrap_or_default(),
            ignore_until,
            ignore_until_count: c.ignore_until_count.unwrap_or(0),
            changed_at: (now_ms / 1000) as u32,
            version: now_ms,
        })
        .await?;
    detail(
        State(api),
        Path(fingerprint),
        ApiQuery(ProjectParam {
            project: Some(project),
        }),
    )
    .await
}
