//! Read queries. The query crate calls these; nothing here writes.
//!
//! Each query is built by a function of its arguments ([`issues_sql`] and friends) so that
//! [`catalog`] can list the exact text the server receives for the portability tests.

use clickhouse::Row;
use serde::{Deserialize, Serialize};

use crate::{OccurrenceRow, Store, StoreError, rows::OCCURRENCE_COLUMNS};

/// Filter for [`Store::list_issues`].
#[derive(Debug, Clone, Default)]
pub struct IssueFilter {
    /// Only this project (all projects when `None`).
    pub project: Option<String>,
    /// Most issues to return.
    pub limit: u32,
}

/// One issue (all occurrences sharing a fingerprint within a project), from the minute rollup.
#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct IssueSummary {
    /// Project.
    pub project: String,
    /// Grouping key.
    pub fingerprint: String,
    /// Exception type of a recent occurrence.
    pub exception_type: String,
    /// Message of a recent occurrence.
    pub message: String,
    /// Innermost in-app frame of a recent occurrence.
    pub culprit: String,
    /// Occurrences, all time.
    pub count: u64,
    /// First occurrence, seconds since the epoch.
    pub first_seen: u32,
    /// Latest occurrence, seconds since the epoch.
    pub last_seen: u32,
}

fn issues_query(
    client: &clickhouse::Client,
    db: &str,
    f: &IssueFilter,
) -> clickhouse::query::Query {
    let project = f.project.clone().unwrap_or_default();
    client
        .query(&format!(
            "SELECT project, fingerprint,
    anyLastMerge(exception_type) AS i_type,
    anyLastMerge(message) AS i_message,
    anyLastMerge(culprit) AS i_culprit,
    countMerge(occurrences) AS i_count,
    toUInt32(minMerge(first_seen)) AS i_first,
    toUInt32(maxMerge(last_seen)) AS i_last
FROM `{db}`.issues_minute
WHERE (? = '' OR project = ?)
GROUP BY project, fingerprint
ORDER BY i_last DESC, fingerprint ASC
LIMIT ?"
        ))
        .bind(&project)
        .bind(&project)
        .bind(f.limit)
}

fn occurrences_query(
    client: &clickhouse::Client,
    db: &str,
    project: &str,
    fingerprint: Option<&str>,
    limit: u32,
) -> clickhouse::query::Query {
    let cols = OCCURRENCE_COLUMNS
        .iter()
        .map(|(n, _)| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    client
        .query(&format!(
            "SELECT {cols} FROM `{db}`.occurrences
WHERE project = ? AND (? = '' OR fingerprint = ?)
ORDER BY timestamp DESC, event_id ASC
LIMIT ?"
        ))
        .bind(project)
        .bind(fingerprint.unwrap_or(""))
        .bind(fingerprint.unwrap_or(""))
        .bind(limit)
}

fn count_query(client: &clickhouse::Client, db: &str, project: &str) -> clickhouse::query::Query {
    client
        .query(&format!(
            "SELECT count() FROM `{db}`.occurrences WHERE project = ?"
        ))
        .bind(project)
}

fn requests_query(
    client: &clickhouse::Client,
    db: &str,
    project: &str,
) -> clickhouse::query::Query {
    client
        .query(&format!(
            "SELECT service, toUInt64(sum(requests)) AS r, toUInt64(sum(failed)) AS f
FROM `{db}`.requests_minute
WHERE project = ?
GROUP BY service
ORDER BY service"
        ))
        .bind(project)
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
    /// Issues, most recently seen first.
    pub async fn list_issues(&self, f: &IssueFilter) -> Result<Vec<IssueSummary>, StoreError> {
        Ok(issues_query(self.client(), self.database(), f)
            .fetch_all()
            .await?)
    }

    /// Occurrences of a project (optionally one fingerprint), newest first.
    pub async fn occurrences(
        &self,
        project: &str,
        fingerprint: Option<&str>,
        limit: u32,
    ) -> Result<Vec<OccurrenceRow>, StoreError> {
        Ok(
            occurrences_query(self.client(), self.database(), project, fingerprint, limit)
                .fetch_all()
                .await?,
        )
    }

    /// Number of stored occurrences of a project.
    pub async fn count_occurrences(&self, project: &str) -> Result<u64, StoreError> {
        Ok(count_query(self.client(), self.database(), project)
            .fetch_one()
            .await?)
    }

    /// Request totals per service of a project, all time.
    pub async fn request_totals(&self, project: &str) -> Result<Vec<ServiceRequests>, StoreError> {
        Ok(requests_query(self.client(), self.database(), project)
            .fetch_all()
            .await?)
    }
}

/// The read queries with sample arguments, as the server receives them.
pub(crate) fn catalog(db: &str) -> Vec<(String, String)> {
    let c = clickhouse::Client::default();
    let show = |q: clickhouse::query::Query| q.sql_display().to_string();
    vec![
        (
            "list_issues".into(),
            show(issues_query(
                &c,
                db,
                &IssueFilter {
                    project: Some("shop".into()),
                    limit: 50,
                },
            )),
        ),
        (
            "occurrences".into(),
            show(occurrences_query(&c, db, "shop", Some("abc"), 20)),
        ),
        (
            "count_occurrences".into(),
            show(count_query(&c, db, "shop")),
        ),
        (
            "request_totals".into(),
            show(requests_query(&c, db, "shop")),
        ),
    ]
}
