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

use std::collections::HashMap;

use clickhouse::Row;
use serde::{Deserialize, Serialize};

use crate::rows::{ISSUE_STATE_COLUMNS, IssueStateRow, OCCURRENCE_COLUMNS};
use crate::{OccurrenceRow, Store, StoreError};

mod grouping;
mod sql;
mod triage;
mod window;

pub use grouping::KnownIssue;
pub(crate) use sql::{Arg, Sql};
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

fn occurrences_sql(
    db: &str,
    project: &str,
    fingerprint: Option<&str>,
    before: Option<(u32, &str)>,
    limit: u32,
) -> Sql {
    let cols = OCCURRENCE_COLUMNS
        .iter()
        .map(|(n, _)| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    // The page's conditions, used twice: first to find the oldest timestamp on the page reading
    // the timestamp column only, then to read whole rows from that timestamp on. Sorting whole
    // rows of a busy issue (every stack trace) to keep fifty would read them all.
    let filter = |sql: &mut Sql| {
        sql.arg(" AND project = ?", Arg::Str(project.to_string()));
        if let Some(fp) = fingerprint {
            sql.arg(" AND fingerprint = ?", Arg::Str(fp.to_string()));
        }
        if let Some((ts, id)) = before {
            sql.arg(" AND (toUInt32(timestamp) < ?", Arg::U32(ts))
                .arg(" OR (toUInt32(timestamp) = ?", Arg::U32(ts))
                .arg(" AND event_id > ?))", Arg::Str(id.to_string()));
        }
    };
    let mut sql = Sql::default();
    sql.push(&format!("SELECT {cols} FROM `{db}`.occurrences WHERE 1"));
    filter(&mut sql);
    sql.push(&format!(
        " AND timestamp >= (SELECT ifNull(min(t), toDateTime(0, 'UTC')) FROM (SELECT timestamp AS t FROM `{db}`.occurrences WHERE 1"
    ));
    filter(&mut sql);
    sql.arg(
        " ORDER BY timestamp DESC LIMIT ?) AS page)",
        Arg::U32(limit),
    );
    sql.arg(
        " ORDER BY timestamp DESC, event_id ASC LIMIT ?",
        Arg::U32(limit),
    );
    sql
}

fn latest_sql(db: &str, project: &str, fingerprint: &str, last_seen: u32) -> Sql {
    let cols = OCCURRENCE_COLUMNS
        .iter()
        .map(|(n, _)| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut sql = Sql::default();
    sql.push(&format!("SELECT {cols} FROM `{db}`.occurrences WHERE 1"))
        .arg(" AND project = ?", Arg::Str(project.to_string()))
        .arg(" AND fingerprint = ?", Arg::Str(fingerprint.to_string()))
        .arg(
            " AND timestamp >= toDateTime(?, 'UTC')",
            Arg::U32(last_seen),
        )
        .push(" ORDER BY timestamp DESC, event_id ASC LIMIT 1");
    sql
}

/// The texts of a project's stack traces stored once (`stacktraces`), by hash: any copy will do
/// (the key is the text's hash), whatever its day.
fn stack_texts_sql(db: &str, project: &str, hashes: &[u64]) -> Sql {
    let mut sql = Sql::default();
    sql.push(&format!(
        "SELECT stack_hash, any(stacktrace) AS text FROM `{db}`.stacktraces WHERE 1"
    ))
    .arg(" AND project = ?", Arg::Str(project.to_string()))
    .in_list("stack_hash", hashes.iter().map(|h| Arg::U64(*h)).collect())
    .push(" GROUP BY stack_hash");
    sql
}

/// One stored stack-trace text.
#[derive(Debug, Row, Deserialize)]
struct StackText {
    stack_hash: u64,
    text: String,
}

fn count_sql(db: &str, project: &str) -> Sql {
    let mut sql = Sql::default();
    sql.push(&format!("SELECT count() FROM `{db}`.occurrences WHERE 1"))
        .arg(" AND project = ?", Arg::Str(project.to_string()));
    sql
}

/// Which of `event_ids` are stored, among occurrences of `projects` between `from` and `to`.
fn stored_ids_sql(
    db: &str,
    projects: Vec<String>,
    from: u32,
    to: u32,
    event_ids: Vec<String>,
) -> Sql {
    let mut sql = Sql::default();
    sql.push(&format!(
        "SELECT DISTINCT event_id FROM `{db}`.occurrences WHERE 1"
    ))
    .arg(" AND timestamp >= ?", Arg::U32(from))
    .arg(" AND timestamp <= ?", Arg::U32(to))
    .in_list("project", projects.into_iter().map(Arg::Str).collect())
    .in_list("event_id", event_ids.into_iter().map(Arg::Str).collect());
    sql
}

fn event_id_counts_sql(db: &str, project: &str) -> Sql {
    let mut sql = Sql::default();
    sql.push(&format!(
        "SELECT count(), uniqExact(event_id) FROM `{db}`.occurrences WHERE 1"
    ))
    .arg(" AND project = ?", Arg::Str(project.to_string()));
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

/// Partitions older than a day, per daily table.
#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct PartitionInfo {
    /// Table.
    pub table: String,
    /// Partition id (`YYYYMMDD`).
    pub partition: String,
    /// Rows in it.
    pub rows: u64,
}

/// Day partitions before `before_day` of the daily tables; on a cluster, of their local tables on
/// every shard (`cluster()` reads one replica per shard), named without `_local`.
fn old_partitions_sql(db: &str, before_day: u32, cluster: Option<&str>) -> Sql {
    let daily: Vec<String> = crate::tables::daily()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut sql = Sql::default();
    match cluster {
        None => {
            sql.arg("SELECT table, partition, toUInt64(sum(rows)) AS r FROM system.parts WHERE active AND database = ?", Arg::Str(db.to_string()))
                .arg(" AND has(?, table)", Arg::Strs(daily));
        }
        Some(c) => {
            // `cluster()` takes the cluster's name as an identifier; names are checked at start.
            sql.push(&format!("SELECT replaceRegexpOne(table, '_local$', '') AS base_table, partition, toUInt64(sum(rows)) AS r FROM cluster({c}, system.parts) WHERE active"))
                .arg(" AND database = ?", Arg::Str(db.to_string()))
                .arg(
                    " AND has(?, table)",
                    Arg::Strs(daily.iter().map(|t| crate::schema::local(t)).collect()),
                );
        }
    }
    let name = if cluster.is_some() {
        "base_table"
    } else {
        "table"
    };
    sql.arg(" AND toUInt32OrZero(partition) < ?", Arg::U32(before_day))
        .push(&format!(
            " GROUP BY {name}, partition ORDER BY {name}, partition"
        ));
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

    /// The latest occurrence of an issue, whose last occurrence is known to be at `last_seen`
    /// (from `issue_totals`): a literal time bound lets ClickHouse read one partition.
    pub async fn latest_occurrence(
        &self,
        project: &str,
        fingerprint: &str,
        last_seen: u32,
    ) -> Result<Option<OccurrenceRow>, StoreError> {
        let mut row: Option<OccurrenceRow> =
            latest_sql(self.database(), project, fingerprint, last_seen)
                .query(self.client())
                .fetch_optional()
                .await?;
        if let Some(r) = &mut row {
            self.fill_stacktraces(std::slice::from_mut(r)).await?;
        }
        Ok(row)
    }

    /// Puts back the stack-trace texts stored once in `stacktraces` into rows that refer to them.
    async fn fill_stacktraces(&self, rows: &mut [OccurrenceRow]) -> Result<(), StoreError> {
        let needs = |r: &OccurrenceRow| r.stack_hash != 0 && r.stacktrace.is_empty();
        let mut by_project: HashMap<String, Vec<u64>> = HashMap::new();
        for r in rows.iter().filter(|r| needs(r)) {
            by_project
                .entry(r.project.clone())
                .or_default()
                .push(r.stack_hash);
        }
        let mut texts: HashMap<String, HashMap<u64, String>> = HashMap::new();
        for (project, mut hashes) in by_project {
            hashes.sort_unstable();
            hashes.dedup();
            let found: Vec<StackText> = stack_texts_sql(self.database(), &project, &hashes)
                .fetch_all(self)
                .await?;
            texts.insert(
                project,
                found.into_iter().map(|t| (t.stack_hash, t.text)).collect(),
            );
        }
        for r in rows.iter_mut().filter(|r| needs(r)) {
            if let Some(t) = texts.get(&r.project).and_then(|p| p.get(&r.stack_hash)) {
                r.stacktrace.clone_from(t);
            }
        }
        Ok(())
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

    /// Occurrences of a project (optionally one issue), newest first, after the cursor `before`
    /// (`(timestamp, event_id)` of the last one already seen).
    pub async fn occurrences_page(
        &self,
        project: &str,
        fingerprint: Option<&str>,
        before: Option<(u32, &str)>,
        limit: u32,
    ) -> Result<Vec<OccurrenceRow>, StoreError> {
        let mut rows: Vec<OccurrenceRow> =
            occurrences_sql(self.database(), project, fingerprint, before, limit)
                .fetch_all(self)
                .await?;
        self.fill_stacktraces(&mut rows).await?;
        Ok(rows)
    }

    /// Occurrences of a project (optionally one issue), newest first.
    pub async fn occurrences(
        &self,
        project: &str,
        fingerprint: Option<&str>,
        limit: u32,
    ) -> Result<Vec<OccurrenceRow>, StoreError> {
        self.occurrences_page(project, fingerprint, None, limit)
            .await
    }

    /// Number of stored occurrences of a project.
    pub async fn count_occurrences(&self, project: &str) -> Result<u64, StoreError> {
        Ok(count_sql(self.database(), project)
            .query(self.client())
            .fetch_one()
            .await?)
    }

    /// The event ids among `rows` that are already stored (replay of an insert interrupted by a
    /// crash, on servers without insert deduplication tokens). Asked in chunks, by time range.
    pub async fn stored_event_ids(
        &self,
        rows: &[OccurrenceRow],
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        let mut stored = std::collections::HashSet::new();
        for chunk in rows.chunks(2000) {
            let from = chunk.iter().map(|r| r.timestamp).min().unwrap_or(0);
            let to = chunk.iter().map(|r| r.timestamp).max().unwrap_or(0);
            let mut projects: Vec<String> = chunk.iter().map(|r| r.project.clone()).collect();
            projects.sort();
            projects.dedup();
            let ids = chunk.iter().map(|r| r.event_id.clone()).collect();
            let found: Vec<String> = stored_ids_sql(self.database(), projects, from, to, ids)
                .fetch_all(self)
                .await?;
            stored.extend(found);
        }
        Ok(stored)
    }

    /// Stored occurrences of a project and how many distinct event ids they have (equal when
    /// nothing was stored twice).
    pub async fn event_id_counts(&self, project: &str) -> Result<(u64, u64), StoreError> {
        Ok(event_id_counts_sql(self.database(), project)
            .query(self.client())
            .fetch_one()
            .await?)
    }

    /// Request totals per service of a project, all time.
    pub async fn request_totals(&self, project: &str) -> Result<Vec<ServiceRequests>, StoreError> {
        requests_sql(self.database(), project).fetch_all(self).await
    }

    /// Drops every daily partition older than `before_day` (`YYYYMMDD`) and returns what it dropped.
    pub async fn drop_partitions_before(
        &self,
        before_day: u32,
    ) -> Result<Vec<PartitionInfo>, StoreError> {
        let cluster = self.cluster().map(|c| c.name.clone());
        let parts: Vec<PartitionInfo> =
            old_partitions_sql(self.database(), before_day, cluster.as_deref())
                .fetch_all(self)
                .await?;
        for p in &parts {
            // Partition ids are digits only (checked), so they are safe to splice.
            if !p.partition.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            // On a cluster: the local table, on every node (a replica drops for its shard).
            let sql = match &cluster {
                None => format!(
                    "ALTER TABLE `{}`.`{}` DROP PARTITION {}",
                    self.database(),
                    p.table,
                    p.partition
                ),
                Some(c) => format!(
                    "ALTER TABLE `{}`.`{}` ON CLUSTER {c} DROP PARTITION {}",
                    self.database(),
                    crate::schema::local(&p.table),
                    p.partition
                ),
            };
            self.client().query(&sql).execute().await?;
        }
        Ok(parts)
    }
}

/// The read queries with sample arguments, as the server receives them.
pub(crate) fn catalog(db: &str) -> Vec<(String, String)> {
    let c = clickhouse::Client::default();
    let show = |s: Sql| s.query(&c).sql_display().to_string();
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
            "stack_texts".into(),
            show(stack_texts_sql(db, "shop", &[1, u64::MAX])),
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
            "occurrences".into(),
            show(occurrences_sql(
                db,
                "shop",
                Some("abc"),
                Some((1_760_000_000, "ev-1")),
                20,
            )),
        ),
        ("count_occurrences".into(), show(count_sql(db, "shop"))),
        (
            "event_id_counts".into(),
            show(event_id_counts_sql(db, "shop")),
        ),
        (
            "stored_event_ids".into(),
            show(stored_ids_sql(
                db,
                vec!["shop".into()],
                1_760_000_000,
                1_760_003_600,
                vec!["ev-1".into(), "ev-2".into()],
            )),
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
        (
            "latest_occurrence".into(),
            show(latest_sql(db, "shop", "abc", 1_760_000_000)),
        ),
        ("request_totals".into(), show(requests_sql(db, "shop"))),
        (
            "old_partitions".into(),
            show(old_partitions_sql(db, 20_250_101, None)),
        ),
    ]
    .into_iter()
    .chain(triage::catalog(db))
    .chain(grouping::catalog(db))
    .collect()
}
