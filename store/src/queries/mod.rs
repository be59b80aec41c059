//! Read queries. The query crate calls these; nothing here writes (writes are in `writer` and
//! [`Store::set_issue_state`], in `triage`).
//!
//! Aggregates read the rollups, never raw occurrences, so their cost follows the number of issues
//! and buckets, not of occurrences: a window `[from, to)` (minute-aligned) is read from
//! `issues_hour` for its whole hours and from `issues_minute` for the partial hours at its edges.
//! Only per-issue lookups (latest occurrence, activity since a resolution) touch `occurrences`, and
//! those by primary-key prefix (project, fingerprint, time).
//!
//! Each query is built by a function of its arguments, so [`catalog`] can list the exact text the
//! server receives for the portability tests.
//!
//! Here: issues in a window, all-time totals and states, activity since a change, breakdowns,
//! series, 404s. By area: `occurrences` (raw rows by issue, stack texts joined back, the replay's
//! event-id checks), `triage` (project trends and error rates, status history, one occurrence by
//! id, filter values), `grouping` (the issues the grouping transition keeps), `retention` (old
//! day partitions and dropping them); `sql` (the builder), `window` (windows and rollup sources).

use clickhouse::Row;
use serde::{Deserialize, Serialize};

use crate::rows::{ISSUE_STATE_COLUMNS, IssueStateRow};
use crate::{Store, StoreError};

mod grouping;
mod occurrences;
mod retention;
mod sql;
mod triage;
mod window;

pub use grouping::KnownIssue;
pub use retention::PartitionInfo;
pub(crate) use sql::{Arg, Sql, show};
pub use triage::{DimensionValues, ProjectBucket, ProjectRequests};
pub use window::{Dims, Window};
pub(crate) use window::{Level, rollup_source};

/// Severity order, most severe last; `severity_rank` in queries.
const SEVERITY_RANK: &str = "multiIf(severity = 'critical', 4, severity = 'high', 3, severity = 'medium', 2, severity = 'low', 1, 0)";

/// One issue's activity inside a window.
#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct IssueInWindow {
    /// Project.
    pub project: String,
    /// Issue.
    pub fingerprint: String,
    /// Occurrences in the window (matching the filters).
    pub count: u64,
    /// First occurrence in the window.
    pub first_seen: u32,
    /// Latest occurrence in the window.
    pub last_seen: u32,
    /// Most severe severity seen (1 low .. 4 critical).
    pub severity_rank: u8,
    /// HTTP statuses seen.
    pub http_statuses: Vec<u16>,
    /// Services seen.
    pub services: Vec<String>,
    /// Environments seen.
    pub environments: Vec<String>,
}

fn issues_in_window_sql(db: &str, dims: &Dims, w: Window) -> Sql {
    let mut sql = Sql::default();
    sql.push(&format!(
        "SELECT project, fingerprint, countMerge(occurrences) AS n, toUInt32(minMerge(first_seen)) AS fs, toUInt32(maxMerge(last_seen)) AS ls, toUInt8(max({SEVERITY_RANK})) AS sev, groupUniqArray(http_status) AS st, groupUniqArray(service) AS sv, groupUniqArray(environment) AS ev FROM "
    ));
    rollup_source(
        db,
        dims,
        w,
        Level::Day,
        "project, fingerprint, occurrences, first_seen, last_seen, severity, http_status, service, environment",
        &mut sql,
    );
    sql.push(" GROUP BY project, fingerprint");
    sql
}

/// All-time figures of one issue, from `issue_totals`.
#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct IssueTotals {
    /// Project.
    pub project: String,
    /// Issue.
    pub fingerprint: String,
    /// Every occurrence ever received (retention does not lower it).
    pub count: u64,
    /// First occurrence ever.
    pub first_seen: u32,
    /// Latest occurrence.
    pub last_seen: u32,
    /// Exception type of the latest occurrence.
    pub exception_type: String,
    /// Message of the latest occurrence.
    pub message: String,
    /// Culprit of the latest occurrence.
    pub culprit: String,
}

fn issue_totals_sql(db: &str, project: Option<&str>, fingerprints: &[String]) -> Sql {
    let mut sql = Sql::default();
    sql.push(&format!(
        "SELECT project, fingerprint, countMerge(occurrences) AS n, toUInt32(minMerge(first_seen)) AS fs, toUInt32(maxMerge(last_seen)) AS ls, argMaxMerge(exception_type) AS t, argMaxMerge(message) AS m, argMaxMerge(culprit) AS c FROM `{db}`.issue_totals WHERE 1"
    ));
    if let Some(p) = project {
        sql.arg(" AND project = ?", Arg::Str(p.to_string()));
    }
    sql.in_list(
        "fingerprint",
        fingerprints.iter().cloned().map(Arg::Str).collect(),
    );
    sql.push(" GROUP BY project, fingerprint");
    sql
}

fn issue_states_sql(db: &str, project: Option<&str>, fingerprints: &[String]) -> Sql {
    let cols: Vec<String> = ISSUE_STATE_COLUMNS
        .iter()
        .map(|(n, _)| match *n {
            "project" | "fingerprint" => n.to_string(),
            "version" => "max(version) AS v".to_string(),
            other => format!("argMax({other}, version) AS s_{other}"),
        })
        .collect();
    let mut sql = Sql::default();
    sql.push(&format!(
        "SELECT {} FROM `{db}`.issue_states WHERE 1",
        cols.join(", ")
    ));
    if let Some(p) = project {
        sql.arg(" AND project = ?", Arg::Str(p.to_string()));
    }
    sql.in_list(
        "fingerprint",
        fingerprints.iter().cloned().map(Arg::Str).collect(),
    );
    sql.push(" GROUP BY project, fingerprint");
    sql
}

/// Occurrences of one issue after a moment, and the releases they came from.
#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct ActivitySince {
    /// Issue.
    pub fingerprint: String,
    /// Occurrences strictly after the issue's moment.
    pub count: u64,
    /// Releases of those occurrences.
    pub releases: Vec<String>,
}

fn activity_since_sql(db: &str, project: &str, since: &[(String, u32)]) -> Sql {
    let fps: Vec<String> = since.iter().map(|(f, _)| f.clone()).collect();
    let ts: Vec<u32> = since.iter().map(|(_, t)| *t).collect();
    let mut sql = Sql::default();
    sql.push(&format!("SELECT fingerprint, count() AS n, groupUniqArray(release) AS rel FROM `{db}`.occurrences WHERE 1"))
        .arg(" AND project = ?", Arg::Str(project.to_string()))
        .in_list("fingerprint", fps.iter().cloned().map(Arg::Str).collect())
        .arg(" AND toUInt32(timestamp) > transform(fingerprint, ?", Arg::Strs(fps))
        .arg(", ?, toUInt32(4294967295))", Arg::U32s(ts))
        .push(" GROUP BY fingerprint");
    sql
}

/// A count per label (dimension value or time bucket).
#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct LabelCount {
    /// The label.
    pub label: String,
    /// The count.
    pub count: u64,
}

/// A count per combination of labels (in the order of the dimensions asked for).
#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct MultiCount {
    /// One label per dimension.
    pub labels: Vec<String>,
    /// The count.
    pub count: u64,
}

/// A count per time bucket.
#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct BucketCount {
    /// Bucket start, seconds since the epoch.
    pub t: u32,
    /// The count.
    pub count: u64,
}

/// Dimensions [`Store::breakdown`] can group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    /// `service`.
    Service,
    /// `environment`.
    Environment,
    /// `release`.
    Release,
    /// `severity`.
    Severity,
    /// `http_status` (as text).
    HttpStatus,
}

impl Dimension {
    fn name(self) -> &'static str {
        match self {
            Dimension::Service => "service",
            Dimension::Environment => "environment",
            Dimension::Release => "release",
            Dimension::Severity => "severity",
            Dimension::HttpStatus => "http_status",
        }
    }

    fn expr(self) -> &'static str {
        match self {
            Dimension::Service => "service",
            Dimension::Environment => "environment",
            Dimension::Release => "release",
            Dimension::Severity => "severity",
            Dimension::HttpStatus => "toString(http_status)",
        }
    }
}

fn breakdown_sql(db: &str, dims: &Dims, w: Window, by: &[Dimension]) -> Sql {
    let labels: Vec<String> = by
        .iter()
        .map(|d| format!("{} AS l_{}", d.expr(), d.name()))
        .collect();
    let cols: Vec<&str> = by
        .iter()
        .map(|d| match d {
            Dimension::HttpStatus => "http_status",
            other => other.expr(),
        })
        .collect();
    let group: Vec<String> = by.iter().map(|d| format!("l_{}", d.name())).collect();
    let mut sql = Sql::default();
    sql.push(&format!(
        "SELECT [{}] AS labels, countMerge(occurrences) AS n FROM ",
        by.iter()
            .map(|d| format!("toString(l_{})", d.name()))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    // The labels are computed in an inner SELECT so the outer one can group by them.
    let mut inner = Sql::default();
    rollup_source(
        db,
        dims,
        w,
        Level::Day,
        &format!("occurrences, {}", cols.join(", ")),
        &mut inner,
    );
    sql.push(&format!("(SELECT {}, occurrences FROM ", labels.join(", ")));
    sql.text.push_str(&inner.text);
    sql.args.extend(inner.args);
    sql.push(&format!(
        ") AS b GROUP BY {} ORDER BY n DESC",
        group.join(", ")
    ));
    sql
}

fn error_series_sql(db: &str, dims: &Dims, w: Window, step: u32) -> Sql {
    let mut sql = Sql::default();
    sql.arg(
        "SELECT toUInt32(intDiv(toUInt32(bucket), ?)",
        Arg::U32(step),
    )
    .arg(
        " * ?) AS t, countMerge(occurrences) AS n FROM ",
        Arg::U32(step),
    );
    // A bucket of the series must hold whole rollup buckets (the window is aligned to the step).
    let max = if step.is_multiple_of(86_400) {
        Level::Day
    } else if step.is_multiple_of(3600) {
        Level::Hour
    } else {
        Level::Minute
    };
    rollup_source(db, dims, w, max, "occurrences", &mut sql);
    sql.push(" GROUP BY t ORDER BY t");
    sql
}

fn request_series_sql(
    db: &str,
    project: Option<&str>,
    services: &[String],
    w: Window,
    step: u32,
) -> Sql {
    let (table, col) = if step.is_multiple_of(3600) {
        ("requests_hour", "hour")
    } else {
        ("requests_minute", "minute")
    };
    let mut sql = Sql::default();
    sql.arg(
        &format!("SELECT toUInt32(intDiv(toUInt32({col}), ?)"),
        Arg::U32(step),
    )
    .arg(
        &format!(" * ?) AS t, toUInt64(sum(requests)) AS n FROM `{db}`.{table} WHERE 1"),
        Arg::U32(step),
    );
    if let Some(p) = project {
        sql.arg(" AND project = ?", Arg::Str(p.to_string()));
    }
    sql.in_list("service", services.iter().cloned().map(Arg::Str).collect());
    sql.arg(&format!(" AND {col} >= ?"), Arg::U32(w.from))
        .arg(&format!(" AND {col} < ?"), Arg::U32(w.to))
        .push(" GROUP BY t ORDER BY t");
    sql
}

fn issue_buckets_sql(db: &str, project: &str, fingerprint: &str, w: Window, step: u32) -> Sql {
    let dims = Dims {
        project: Some(project.to_string()),
        fingerprints: vec![fingerprint.to_string()],
        ..Dims::default()
    };
    error_series_sql(db, &dims, w, step)
}

/// A path with many 404s.
#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct NotFoundPath {
    /// Route, or the URL's path.
    pub path: String,
    /// 404s in the window.
    pub count: u64,
    /// Latest 404 on it.
    pub last_seen: u32,
}

fn not_found_sql(db: &str, project: Option<&str>, from_hour: u32, limit: u32) -> Sql {
    let mut sql = Sql::default();
    sql.push(&format!("SELECT path, countMerge(hits) AS n, toUInt32(maxMerge(last_seen)) AS ls FROM `{db}`.not_found_hour WHERE 1"));
    if let Some(p) = project {
        sql.arg(" AND project = ?", Arg::Str(p.to_string()));
    }
    sql.arg(" AND hour >= ?", Arg::U32(from_hour)).arg(
        " GROUP BY path ORDER BY n DESC, path ASC LIMIT ?",
        Arg::U32(limit),
    );
    sql
}

fn requests_sql(db: &str, project: &str) -> Sql {
    let mut sql = Sql::default();
    sql.push(&format!(
        "SELECT service, toUInt64(sum(requests)) AS r, toUInt64(sum(failed)) AS f FROM `{db}`.requests_minute WHERE 1"
    ))
    .arg(" AND project = ?", Arg::Str(project.to_string()))
    .push(" GROUP BY service ORDER BY service");
    sql
}

/// Requests counted for one service (all time), from [`Store::request_totals`].
#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct ServiceRequests {
    /// `service.name`.
    pub service: String,
    /// SERVER spans.
    pub requests: u64,
    /// Failed SERVER spans.
    pub failed: u64,
}

impl Store {
    /// Issues with occurrences in `w` matching `dims`.
    pub async fn issues_in_window(
        &self,
        dims: &Dims,
        w: Window,
    ) -> Result<Vec<IssueInWindow>, StoreError> {
        issues_in_window_sql(self.database(), dims, w)
            .fetch_all(self)
            .await
    }

    /// All-time figures of a project's issues (or of the given ones).
    pub async fn issue_totals(
        &self,
        project: Option<&str>,
        fingerprints: &[String],
    ) -> Result<Vec<IssueTotals>, StoreError> {
        issue_totals_sql(self.database(), project, fingerprints)
            .fetch_all(self)
            .await
    }

    /// Current triage state of issues that have one.
    pub async fn issue_states(
        &self,
        project: Option<&str>,
        fingerprints: &[String],
    ) -> Result<Vec<IssueStateRow>, StoreError> {
        issue_states_sql(self.database(), project, fingerprints)
            .fetch_all(self)
            .await
    }

    /// For each `(fingerprint, moment)`: occurrences strictly after the moment, and their releases.
    pub async fn activity_since(
        &self,
        project: &str,
        since: &[(String, u32)],
    ) -> Result<Vec<ActivitySince>, StoreError> {
        if since.is_empty() {
            return Ok(Vec::new());
        }
        activity_since_sql(self.database(), project, since)
            .fetch_all(self)
            .await
    }

    /// Occurrences in `w` matching `dims`, grouped by one dimension.
    pub async fn breakdown(
        &self,
        dims: &Dims,
        w: Window,
        by: Dimension,
    ) -> Result<Vec<LabelCount>, StoreError> {
        Ok(self
            .breakdown_by(dims, w, &[by])
            .await?
            .into_iter()
            .map(|r| LabelCount {
                label: r.labels.into_iter().next().unwrap_or_default(),
                count: r.count,
            })
            .collect())
    }

    /// Occurrences in `w` matching `dims`, grouped by several dimensions at once (one scan).
    pub async fn breakdown_by(
        &self,
        dims: &Dims,
        w: Window,
        by: &[Dimension],
    ) -> Result<Vec<MultiCount>, StoreError> {
        breakdown_sql(self.database(), dims, w, by)
            .fetch_all(self)
            .await
    }

    /// Occurrences per `step`-second bucket (non-empty buckets only). `w` must be aligned to `step`
    /// when `step` is a whole number of hours.
    pub async fn error_series(
        &self,
        dims: &Dims,
        w: Window,
        step: u32,
    ) -> Result<Vec<BucketCount>, StoreError> {
        error_series_sql(self.database(), dims, w, step)
            .fetch_all(self)
            .await
    }

    /// SERVER spans per `step`-second bucket (non-empty buckets only).
    pub async fn request_series(
        &self,
        project: Option<&str>,
        services: &[String],
        w: Window,
        step: u32,
    ) -> Result<Vec<BucketCount>, StoreError> {
        request_series_sql(self.database(), project, services, w, step)
            .fetch_all(self)
            .await
    }

    /// One issue's occurrences per `step`-second bucket.
    pub async fn issue_buckets(
        &self,
        project: &str,
        fingerprint: &str,
        w: Window,
        step: u32,
    ) -> Result<Vec<BucketCount>, StoreError> {
        issue_buckets_sql(self.database(), project, fingerprint, w, step)
            .fetch_all(self)
            .await
    }

    /// Paths with the most 404s since `from_hour`.
    pub async fn frequent_404s(
        &self,
        project: Option<&str>,
        from_hour: u32,
        limit: u32,
    ) -> Result<Vec<NotFoundPath>, StoreError> {
        not_found_sql(self.database(), project, from_hour, limit)
            .fetch_all(self)
            .await
    }

    /// Request totals per service of a project, all time.
    pub async fn request_totals(&self, project: &str) -> Result<Vec<ServiceRequests>, StoreError> {
        requests_sql(self.database(), project).fetch_all(self).await
    }
}

/// The read queries with sample arguments, as the server receives them.
pub(crate) fn catalog(db: &str) -> Vec<(String, String)> {
    let dims = Dims {
        project: Some("shop".into()),
        fingerprints: vec!["abc".into()],
        services: vec!["api".into()],
        environments: vec!["prod".into()],
        releases: vec!["1.0".into()],
        http_statuses: vec![500, 404],
        severities: vec!["critical".into()],
    };
    let long = Window::new(1_760_000_000, 1_760_000_000 + 7 * 86_400 + 1234);
    let short = Window::new(1_760_000_000, 1_760_000_000 + 1800);
    let day = Window::new(1_759_968_000, 1_759_968_000 + 86_400);
    vec![
        (
            "issues_in_window_long".into(),
            show(issues_in_window_sql(db, &dims, long)),
        ),
        (
            "issues_in_window_short".into(),
            show(issues_in_window_sql(db, &Dims::default(), short)),
        ),
        (
            "issue_totals".into(),
            show(issue_totals_sql(db, Some("shop"), &["abc".into()])),
        ),
        (
            "issue_states".into(),
            show(issue_states_sql(db, Some("shop"), &[])),
        ),
        (
            "activity_since".into(),
            show(activity_since_sql(
                db,
                "shop",
                &[("abc".into(), 1_760_000_000), ("def".into(), 1_760_000_100)],
            )),
        ),
        (
            "breakdown".into(),
            show(breakdown_sql(db, &dims, long, &[Dimension::HttpStatus])),
        ),
        (
            "error_series_minutes".into(),
            show(error_series_sql(db, &dims, long, 300)),
        ),
        (
            "error_series_hours".into(),
            show(error_series_sql(db, &dims, day, 3600)),
        ),
        (
            "request_series_minutes".into(),
            show(request_series_sql(
                db,
                Some("shop"),
                &["api".into()],
                long,
                60,
            )),
        ),
        (
            "request_series_days".into(),
            show(request_series_sql(db, None, &[], day, 86_400)),
        ),
        (
            "issue_buckets".into(),
            show(issue_buckets_sql(db, "shop", "abc", day, 3600)),
        ),
        (
            "frequent_404s".into(),
            show(not_found_sql(db, Some("shop"), 1_760_000_400, 20)),
        ),
        (
            "breakdown_cube".into(),
            show(breakdown_sql(
                db,
                &Dims::default(),
                long,
                &[
                    Dimension::Severity,
                    Dimension::Service,
                    Dimension::HttpStatus,
                ],
            )),
        ),
        ("request_totals".into(), show(requests_sql(db, "shop"))),
    ]
    .into_iter()
    .chain(triage::catalog(db))
    .chain(grouping::catalog(db))
    .chain(occurrences::catalog(db))
    .chain(retention::catalog(db))
    .collect()
}
