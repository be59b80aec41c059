//! Aggregates over time: metrics, error rate, top errors, frequent 404s, projects; and retention.
//! All read rollups.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use faultline_store::queries::{Dimension, Dims, Window};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::QueryError;
use crate::issues::Known;
use crate::params::{self, rfc3339};
use crate::status::Status;
use crate::{Api, ApiQuery, LabelCount, now_secs};

/// `?period=&project=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PeriodParams {
    /// `24h` (default), `7d`, `30d`, or any `Nd`/`Nh`.
    pub period: Option<String>,
    /// Only this project.
    pub project: Option<String>,
    /// Most items (top-errors: default 10, max 100; frequent-404s: default 20, max 100).
    pub limit: Option<u32>,
}

fn period(p: Option<&str>) -> Result<u32, QueryError> {
    params::parse_duration("period", p.unwrap_or("24h"))
}

/// Error metrics of a period.
#[derive(Debug, Serialize, ToSchema)]
pub struct Metrics {
    /// The period, as asked.
    pub period: String,
    /// Window start, RFC 3339.
    pub from: String,
    /// Window end, RFC 3339.
    pub to: String,
    /// Occurrences in the period.
    pub total_errors: u64,
    /// Occurrences per severity (low, medium, high, critical; every key present).
    pub errors_by_severity: HashMap<String, u64>,
    /// Occurrences per service.
    pub errors_by_service: HashMap<String, u64>,
    /// Occurrences per HTTP status (`0` = none).
    pub errors_by_http_status: HashMap<String, u64>,
    /// Average occurrences per hour over the period.
    pub error_rate_per_hour: f64,
    /// Top 10 issues by occurrences in the period.
    pub most_common: Vec<TopError>,
}

/// An issue ranked by occurrences.
#[derive(Debug, Serialize, ToSchema)]
pub struct TopError {
    /// Issue.
    pub fingerprint: String,
    /// Project.
    pub project: String,
    /// Exception type.
    pub exception_type: String,
    /// Message.
    pub message: String,
    /// Occurrences in the period.
    pub count: u64,
    /// Occurrences in the equal period before (top-errors only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_count: Option<u64>,
    /// Change from the previous period, percent; null when it had none (top-errors only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trend_pct: Option<Option<f64>>,
    /// Effective status.
    pub status: Status,
}

async fn top(
    api: &Api,
    project: Option<&str>,
    w: Window,
    limit: usize,
    now: u32,
) -> Result<Vec<TopError>, QueryError> {
    let dims = Dims {
        project: project.map(String::from),
        ..Dims::default()
    };
    let (mut rows, known) = tokio::try_join!(
        async {
            api.store
                .issues_in_window(&dims, w)
                .await
                .map_err(QueryError::from)
        },
        Known::load(&api.store, project, &[], now),
    )?;
    rows.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.project.cmp(&b.project))
            .then_with(|| a.fingerprint.cmp(&b.fingerprint))
    });
    rows.truncate(limit);
    Ok(rows
        .into_iter()
        .map(|r| {
            let key = (r.project.clone(), r.fingerprint.clone());
            let t = known.totals.get(&key);
            TopError {
                exception_type: t.map(|t| t.exception_type.clone()).unwrap_or_default(),
                message: t.map(|t| t.message.clone()).unwrap_or_default(),
                status: known.status.get(&key).copied().unwrap_or(Status::Open),
                fingerprint: r.fingerprint,
                project: r.project,
                count: r.count,
                previous_count: None,
                trend_pct: None,
            }
        })
        .collect())
}

/// Totals of a period by severity, service and HTTP status, the hourly rate and the top 10.
#[utoipa::path(get, path = "/api/v1/metrics", params(PeriodParams), tag = "stats",
    responses((status = 200, body = Metrics), (status = 400, description = "A parameter is invalid"), (status = 401)))]
pub async fn metrics(
    State(api): State<Api>,
    ApiQuery(p): ApiQuery<PeriodParams>,
) -> Result<Json<Metrics>, QueryError> {
    let now = now_secs();
    let secs = period(p.period.as_deref())?;
    let project = p.project.as_deref().filter(|s| !s.is_empty());
    let w = params::window(None, None, None, Some(secs), now)?;
    let dims = Dims {
        project: project.map(String::from),
        ..Dims::default()
    };
    let s = &api.store;
    let (cube, most) = tokio::try_join!(
        async {
            s.breakdown_by(
                &dims,
                w,
                &[
                    Dimension::Severity,
                    Dimension::Service,
                    Dimension::HttpStatus,
                ],
            )
            .await
            .map_err(QueryError::from)
        },
        top(&api, project, w, 10, now),
    )?;
    let total: u64 = cube.iter().map(|r| r.count).sum();
    let mut by_sev: HashMap<String, u64> = ["low", "medium", "high", "critical"]
        .iter()
        .map(|s| (s.to_string(), 0))
        .collect();
    let (mut by_svc, mut by_st): (HashMap<String, u64>, HashMap<String, u64>) = Default::default();
    for r in &cube {
        let label = |i: usize| r.labels.get(i).cloned().unwrap_or_default();
        *by_sev.entry(label(0)).or_default() += r.count;
        *by_svc.entry(label(1)).or_default() += r.count;
        *by_st.entry(label(2)).or_default() += r.count;
    }
    Ok(Json(Metrics {
        period: p.period.unwrap_or_else(|| "24h".into()),
        from: rfc3339(w.from),
        to: rfc3339(w.to),
        total_errors: total,
        errors_by_severity: by_sev,
        errors_by_service: by_svc,
        errors_by_http_status: by_st,
        error_rate_per_hour: total as f64 / (f64::from(w.to - w.from) / 3600.0),
        most_common: most,
    }))
}

/// `GET /api/v1/error-rate` parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RateParams {
    /// Only this project.
    pub project: Option<String>,
    /// Comma list of services.
    pub service: Option<String>,
    /// Start, RFC 3339 (default: 24 hours ago).
    pub from: Option<String>,
    /// End (exclusive), RFC 3339 (default: now).
    pub to: Option<String>,
    /// Bucket: `60s`, `5m`, `1h`, `1d` (or any whole number of minutes). Default `1h`.
    pub step: Option<String>,
}

/// One bucket of the error-rate series.
#[derive(Debug, Serialize, ToSchema)]
pub struct RatePoint {
    /// Bucket start, RFC 3339.
    pub t: String,
    /// Occurrences.
    pub errors: u64,
    /// Server requests (SERVER spans).
    pub requests: u64,
    /// errors ÷ requests; null without requests.
    pub ratio: Option<f64>,
}

/// The error-rate series.
#[derive(Debug, Serialize, ToSchema)]
pub struct RateSeries {
    /// Bucket size.
    pub step_seconds: u32,
    /// Every bucket of the window, zeros included.
    pub series: Vec<RatePoint>,
}

/// Errors, requests and their ratio per time bucket; every bucket present.
#[utoipa::path(get, path = "/api/v1/error-rate", params(RateParams), tag = "stats",
    responses((status = 200, body = RateSeries), (status = 400, description = "A parameter is invalid"), (status = 401)))]
pub async fn error_rate(
    State(api): State<Api>,
    ApiQuery(p): ApiQuery<RateParams>,
) -> Result<Json<RateSeries>, QueryError> {
    let now = now_secs();
    let step = params::parse_duration("step", p.step.as_deref().unwrap_or("1h"))?;
    if step % 60 != 0 || (step > 3600 && step % 3600 != 0) {
        return Err(QueryError::param(
            "step",
            "must be whole minutes (up to an hour) or whole hours",
        ));
    }
    let w = params::window(None, p.from.as_deref(), p.to.as_deref(), Some(86_400), now)?;
    let from = w.from - w.from % step;
    let to = w.to.div_ceil(step) * step;
    let buckets = (to - from) / step;
    if buckets > 10_000 {
        return Err(QueryError::param(
            "step",
            format!("gives {buckets} buckets for this window; at most 10000"),
        ));
    }
    let w = Window { from, to };
    let project = p.project.as_deref().filter(|s| !s.is_empty());
    let services = params::list(p.service.as_deref());
    let dims = Dims {
        project: project.map(String::from),
        services: services.clone(),
        ..Dims::default()
    };
    let (errors, requests) = tokio::try_join!(
        async {
            api.store
                .error_series(&dims, w, step)
                .await
                .map_err(QueryError::from)
        },
        async {
            api.store
                .request_series(project, &services, w, step)
                .await
                .map_err(QueryError::from)
        },
    )?;
    let e: HashMap<u32, u64> = errors.into_iter().map(|b| (b.t, b.count)).collect();
    let r: HashMap<u32, u64> = requests.into_iter().map(|b| (b.t, b.count)).collect();
    let series = (from..to)
        .step_by(step as usize)
        .map(|t| {
            let (errors, requests) = (
                e.get(&t).copied().unwrap_or(0),
                r.get(&t).copied().unwrap_or(0),
            );
            RatePoint {
                t: rfc3339(t),
                errors,
                requests,
                ratio: (requests > 0).then(|| errors as f64 / requests as f64),
            }
        })
        .collect();
    Ok(Json(RateSeries {
        step_seconds: step,
        series,
    }))
}

/// Top issues with their trend.
#[derive(Debug, Serialize, ToSchema)]
pub struct TopErrors {
    /// The period, as asked.
    pub period: String,
    /// Top issues by occurrences in the period.
    pub data: Vec<TopError>,
}

/// Top issues of the period, with the count of the equal period before and the trend.
#[utoipa::path(get, path = "/api/v1/top-errors", params(PeriodParams), tag = "stats",
    responses((status = 200, body = TopErrors), (status = 400, description = "A parameter is invalid"), (status = 401)))]
pub async fn top_errors(
    State(api): State<Api>,
    ApiQuery(p): ApiQuery<PeriodParams>,
) -> Result<Json<TopErrors>, QueryError> {
    let now = now_secs();
    let secs = period(p.period.as_deref())?;
    let limit = params::limit(p.limit, 10, 100)? as usize;
    let project = p.project.as_deref().filter(|s| !s.is_empty());
    let w = params::window(None, None, None, Some(secs), now)?;
    let before = Window::new(w.from.saturating_sub(secs), w.from);
    let prev_dims = Dims {
        project: project.map(String::from),
        ..Dims::default()
    };
    let (mut data, prev) = tokio::try_join!(top(&api, project, w, limit, now), async {
        api.store
            .issues_in_window(&prev_dims, before)
            .await
            .map_err(QueryError::from)
    })?;
    let prev: HashMap<(String, String), u64> = prev
        .into_iter()
        .map(|r| ((r.project, r.fingerprint), r.count))
        .collect();
    for t in &mut data {
        let pc = prev
            .get(&(t.project.clone(), t.fingerprint.clone()))
            .copied()
            .unwrap_or(0);
        t.previous_count = Some(pc);
        t.trend_pct = Some(
            (pc > 0).then(|| ((t.count as f64 - pc as f64) / pc as f64 * 1000.0).round() / 10.0),
        );
    }
    Ok(Json(TopErrors {
        period: p.period.unwrap_or_else(|| "24h".into()),
        data,
    }))
}

/// A path with many 404s.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotFound {
    /// Route, or the URL's path.
    pub path: String,
    /// 404s in the period.
    pub count: u64,
    /// Latest 404, RFC 3339.
    pub last_seen: String,
}

/// The most frequent 404 paths.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotFoundList {
    /// Window start (the period, rounded down to the hour), RFC 3339.
    pub from: String,
    /// Paths, most 404s first.
    pub data: Vec<NotFound>,
}

/// Paths with the most 404s in the period (seed 004's report). The window starts on the hour.
#[utoipa::path(get, path = "/api/v1/frequent-404s", params(PeriodParams), tag = "stats",
    responses((status = 200, body = NotFoundList), (status = 400, description = "A parameter is invalid"), (status = 401)))]
pub async fn frequent_404s(
    State(api): State<Api>,
    ApiQuery(p): ApiQuery<PeriodParams>,
) -> Result<Json<NotFoundList>, QueryError> {
    let now = now_secs();
    let secs = period(p.period.as_deref())?;
    let limit = params::limit(p.limit, 20, 100)?;
    let start = now.saturating_sub(secs);
    let from = start - start % 3600;
    let rows = api
        .store
        .frequent_404s(p.project.as_deref().filter(|s| !s.is_empty()), from, limit)
        .await?;
    Ok(Json(NotFoundList {
        from: rfc3339(from),
        data: rows
            .into_iter()
            .map(|r| NotFound {
                path: r.path,
                count: r.count,
                last_seen: rfc3339(r.last_seen),
            })
            .collect(),
    }))
}

/// A project in the overview.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectSummary {
    /// Project.
    pub project: String,
    /// Whether it is in the configuration (listed even without any error).
    pub configured: bool,
    /// Occurrences in the last 24 hours.
    pub errors_24h: u64,
    /// Occurrences per hour, the last 24 hours, oldest first (every hour present).
    pub hourly_24h: Vec<u64>,
    /// Requests (SERVER spans) in the last 24 hours.
    pub requests_24h: u64,
    /// Failed requests / requests in the last 24 hours; null without requests.
    pub error_rate: Option<f64>,
    /// Issues open or regressed.
    pub open_issues: u64,
    /// Issues in all.
    pub issues: u64,
    /// Latest occurrence, RFC 3339; empty when none is retained.
    pub last_seen: String,
}

/// The overview.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectList {
    /// Every configured project and every project with a retained issue: most errors in the
    /// last 24 hours first, then by name.
    pub data: Vec<ProjectSummary>,
}

/// The overview row of `p`, added empty when missing.
fn at<'a>(by: &'a mut HashMap<String, ProjectSummary>, p: &str) -> &'a mut ProjectSummary {
    by.entry(p.to_string()).or_insert_with(|| ProjectSummary {
        project: p.to_string(),
        configured: false,
        errors_24h: 0,
        hourly_24h: vec![0; 24],
        requests_24h: 0,
        error_rate: None,
        open_issues: 0,
        issues: 0,
        last_seen: String::new(),
    })
}

/// Every configured project (also those with no errors) and every project with issues: errors and
/// requests in the last 24 hours, error rate, hourly trend, open issues, last seen (seed 000's
/// global view).
#[utoipa::path(get, path = "/api/v1/projects", tag = "stats", responses((status = 200, body = ProjectList), (status = 401)))]
pub async fn projects(State(api): State<Api>) -> Result<Json<ProjectList>, QueryError> {
    let now = now_secs();
    let hour_end = now - now % 3600 + 3600;
    let day = Window::new(hour_end - 24 * 3600, hour_end);
    let (series, requests, known) = tokio::try_join!(
        async {
            api.store
                .project_series(day, 3600)
                .await
                .map_err(QueryError::from)
        },
        async {
            api.store
                .project_requests(day)
                .await
                .map_err(QueryError::from)
        },
        Known::load(&api.store, None, &[], now),
    )?;
    let mut by: HashMap<String, ProjectSummary> = HashMap::new();
    for p in api.projects.iter() {
        at(&mut by, p).configured = true;
    }
    for b in series {
        let s = at(&mut by, &b.project);
        s.errors_24h += b.count;
        if let Some(slot) =
            b.t.checked_sub(day.from)
                .map(|d| (d / 3600) as usize)
                .and_then(|i| s.hourly_24h.get_mut(i))
        {
            *slot += b.count;
        }
    }
    for r in requests {
        let s = at(&mut by, &r.project);
        s.requests_24h = r.requests;
        s.error_rate = (r.requests > 0).then(|| r.failed as f64 / r.requests as f64);
    }
    let mut last: HashMap<String, u32> = HashMap::new();
    for (key, t) in &known.totals {
        let s = at(&mut by, &key.0);
        s.issues += 1;
        if matches!(
            known.status.get(key),
            Some(Status::Open | Status::Regressed) | None
        ) {
            s.open_issues += 1;
        }
        let l = last.entry(key.0.clone()).or_default();
        *l = (*l).max(t.last_seen);
    }
    let mut data: Vec<ProjectSummary> = by
        .into_values()
        .map(|mut s| {
            if let Some(&l) = last.get(&s.project) {
                s.last_seen = rfc3339(l);
            }
            s
        })
        .collect();
    data.sort_by(|a, b| {
        b.errors_24h
            .cmp(&a.errors_24h)
            .then_with(|| a.project.cmp(&b.project))
    });
    Ok(Json(ProjectList { data }))
}

/// Query parameters of the facets route.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FacetParams {
    /// Look-back in days (1..=90, default 30).
    pub days: Option<u32>,
}

/// The values a project's filters offer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Facets {
    /// Project.
    pub project: String,
    /// Environments seen, most occurrences first.
    pub environments: Vec<LabelCount>,
    /// Releases seen, most occurrences first.
    pub releases: Vec<LabelCount>,
    /// Services seen, most occurrences first.
    pub services: Vec<LabelCount>,
    /// HTTP statuses seen (`0`: none), most occurrences first.
    pub http_statuses: Vec<LabelCount>,
}

/// The distinct environments, releases, services and HTTP statuses of a project's occurrences in
/// the last `days` days (the filter menus).
#[utoipa::path(get, path = "/api/v1/projects/{project}/facets", params(("project" = String, Path, description = "Project"), FacetParams), tag = "stats",
    responses((status = 200, body = Facets), (status = 400, description = "Invalid parameter"), (status = 401)))]
pub async fn facets(
    State(api): State<Api>,
    Path(project): Path<String>,
    ApiQuery(p): ApiQuery<FacetParams>,
) -> Result<Json<Facets>, QueryError> {
    let days = p.days.unwrap_or(30);
    if !(1..=90).contains(&days) {
        return Err(QueryError::BadRequest(format!(
            "parameter `days`: {days} is not in 1..=90"
        )));
    }
    let now = now_secs();
    let day_end = now - now % 86_400 + 86_400;
    let w = Window::new(day_end - days * 86_400, day_end);
    let mut got = api
        .store
        .dimension_values(
            &project,
            w,
            &[
                Dimension::Environment,
                Dimension::Release,
                Dimension::Service,
                Dimension::HttpStatus,
            ],
        )
        .await?
        .into_iter()
        .map(|d| {
            d.values
                .into_iter()
                .map(|v| LabelCount {
                    label: v.label,
                    count: v.count,
                })
                .collect::<Vec<_>>()
        });
    let mut next = || got.next().unwrap_or_default();
    Ok(Json(Facets {
        project,
        environments: next(),
        releases: next(),
        services: next(),
        http_statuses: next(),
    }))
}

/// Body of `POST /api/v1/cleanup`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CleanupRequest {
    /// Keep this many days (default 90, at least 1).
    #[serde(default)]
    pub retention_days: Option<u32>,
}

/// A dropped partition.
#[derive(Debug, Serialize, ToSchema)]
pub struct Dropped {
    /// Table.
    pub table: String,
    /// Day (`YYYYMMDD`).
    pub partition: String,
    /// Rows dropped.
    pub rows: u64,
}

/// What retention dropped.
#[derive(Debug, Serialize, ToSchema)]
pub struct CleanupReport {
    /// Days kept.
    pub retention_days: u32,
    /// Data before this day (UTC) was dropped, `YYYY-MM-DD`.
    pub cutoff: String,
    /// Occurrences dropped.
    pub occurrences_dropped: u64,
    /// Every partition dropped, of every table.
    pub dropped: Vec<Dropped>,
}

/// Drops data older than N days, in whole day partitions (occurrences and rollups alike).
#[utoipa::path(post, path = "/api/v1/cleanup", request_body = CleanupRequest, tag = "admin",
    responses((status = 200, body = CleanupReport), (status = 400, description = "Invalid body"), (status = 401)))]
pub async fn cleanup(
    State(api): State<Api>,
    body: Result<Json<CleanupRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<CleanupReport>, QueryError> {
    let req = match body {
        Ok(Json(r)) => r,
        Err(axum::extract::rejection::JsonRejection::MissingJsonContentType(_)) => {
            CleanupRequest::default()
        }
        Err(e) => return Err(QueryError::BadRequest(format!("body: {}", e.body_text()))),
    };
    let days = req.retention_days.unwrap_or(90);
    if days == 0 || days > 36_500 {
        return Err(QueryError::BadRequest(format!(
            "body field `retention_days`: must be between 1 and 36500, got {days}"
        )));
    }
    let now = now_secs();
    let cutoff_secs = now.saturating_sub(days * 86_400);
    let cutoff_secs = cutoff_secs - cutoff_secs % 86_400;
    let cutoff_day = params::yyyymmdd(cutoff_secs);
    let parts = api.store.drop_partitions_before(cutoff_day).await?;
    tracing::info!(
        retention_days = days,
        cutoff_day,
        partitions = parts.len(),
        "retention cleanup"
    );
    Ok(Json(CleanupReport {
        retention_days: days,
        cutoff: rfc3339(cutoff_secs)[..10].to_string(),
        occurrences_dropped: parts
            .iter()
            .filter(|p| p.table == "occurrences")
            .map(|p| p.rows)
            .sum(),
        dropped: parts
            .into_iter()
            .map(|p| Dropped {
                table: p.table,
                partition: p.partition,
                rows: p.rows,
            })
            .collect(),
    }))
}
