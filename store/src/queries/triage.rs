//! What the triage screen reads beyond lists and charts: every project's trend and error rate, an
//! issue's status history, and the values a project's filters offer.

use clickhouse::Row;
use serde::{Deserialize, Serialize};

use super::{Arg, Dimension, Dims, LabelCount, Level, Sql, Window, rollup_source, show};
use crate::rows::{ISSUE_STATE_COLUMNS, IssueStateRow};
use crate::{Store, StoreError};

/// One issue's triage changes, newest first.
fn state_history_sql(db: &str, project: &str, fingerprint: &str, limit: u32) -> Sql {
    let cols = ISSUE_STATE_COLUMNS
        .iter()
        .map(|(n, _)| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut sql = Sql::default();
    sql.push(&format!(
        "SELECT {cols} FROM `{db}`.issue_state_log WHERE 1"
    ))
    .arg(" AND project = ?", Arg::Str(project.to_string()))
    .arg(" AND fingerprint = ?", Arg::Str(fingerprint.to_string()))
    .arg(" ORDER BY version DESC LIMIT ?", Arg::U32(limit));
    sql
}

/// The distinct values of one dimension in a project's window, most occurrences first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DimensionValues {
    /// The dimension.
    pub dimension: Dimension,
    /// Values and their occurrences, most occurrences first.
    pub values: Vec<LabelCount>,
}

/// A project's occurrences in one time bucket.
#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct ProjectBucket {
    /// Project.
    pub project: String,
    /// Bucket start, Unix seconds.
    pub t: u32,
    /// Occurrences.
    pub count: u64,
}

/// Every project's occurrences per `step` seconds in `w` (aligned to whole hours).
fn project_series_sql(db: &str, w: Window, step: u32) -> Sql {
    let mut sql = Sql::default();
    sql.arg(
        "SELECT project, toUInt32(intDiv(toUInt32(bucket), ?)",
        Arg::U32(step),
    )
    .arg(
        " * ?) AS t, countMerge(occurrences) AS n FROM ",
        Arg::U32(step),
    );
    rollup_source(
        db,
        &Dims::default(),
        w,
        Level::Hour,
        "project, occurrences",
        &mut sql,
    );
    sql.push(" GROUP BY project, t ORDER BY project, t");
    sql
}

/// A project's requests (SERVER spans) in a window, and how many failed.
#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct ProjectRequests {
    /// Project.
    pub project: String,
    /// Requests.
    pub requests: u64,
    /// Failed requests.
    pub failed: u64,
}

fn project_requests_sql(db: &str, w: Window) -> Sql {
    let mut sql = Sql::default();
    sql.push(&format!(
        "SELECT project, toUInt64(sum(requests)) AS requests, toUInt64(sum(failed)) AS failed FROM `{db}`.requests_minute WHERE 1"
    ))
    .arg(" AND minute >= ?", Arg::U32(w.from))
    .arg(" AND minute < ?", Arg::U32(w.to))
    .push(" GROUP BY project");
    sql
}

impl Store {
    /// Every project's occurrences per `step`-second bucket of `w` (non-empty buckets only; `w`
    /// and `step` whole hours): the overview's trends.
    pub async fn project_series(
        &self,
        w: Window,
        step: u32,
    ) -> Result<Vec<ProjectBucket>, StoreError> {
        project_series_sql(self.database(), w, step)
            .fetch_all(self)
            .await
    }

    /// Every project's requests and failed requests in `w`: the overview's error rates.
    pub async fn project_requests(&self, w: Window) -> Result<Vec<ProjectRequests>, StoreError> {
        project_requests_sql(self.database(), w)
            .fetch_all(self)
            .await
    }

    /// Records a triage change: the current state, and the history beside it.
    pub async fn set_issue_state(&self, row: &IssueStateRow) -> Result<(), StoreError> {
        crate::writer::insert_all(self, "issue_states", std::slice::from_ref(row), None).await?;
        crate::writer::insert_all(self, "issue_state_log", std::slice::from_ref(row), None).await
    }

    /// One issue's triage changes, newest first (at most `limit`).
    pub async fn issue_state_history(
        &self,
        project: &str,
        fingerprint: &str,
        limit: u32,
    ) -> Result<Vec<IssueStateRow>, StoreError> {
        state_history_sql(self.database(), project, fingerprint, limit)
            .fetch_all(self)
            .await
    }

    /// The values each of `by` takes in a project's window, most occurrences first (the filter
    /// menus: environments, releases, services, HTTP statuses).
    pub async fn dimension_values(
        &self,
        project: &str,
        w: Window,
        by: &[Dimension],
    ) -> Result<Vec<DimensionValues>, StoreError> {
        let dims = Dims {
            project: Some(project.to_string()),
            ..Dims::default()
        };
        let queries = by.iter().map(|&d| {
            let dims = &dims;
            async move {
                let mut values = self.breakdown(dims, w, d).await?;
                values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.label.cmp(&b.label)));
                Ok::<_, StoreError>(DimensionValues {
                    dimension: d,
                    values,
                })
            }
        });
        futures::future::try_join_all(queries).await
    }
}

/// The queries of this module with sample arguments.
pub(super) fn catalog(db: &str) -> Vec<(String, String)> {
    let day = Window::new(1_759_968_000, 1_759_968_000 + 86_400);
    vec![
        (
            "project_series".into(),
            show(project_series_sql(db, day, 3600)),
        ),
        (
            "project_requests".into(),
            show(project_requests_sql(db, day)),
        ),
        (
            "issue_state_history".into(),
            show(state_history_sql(db, "shop", "abc", 50)),
        ),
    ]
}
