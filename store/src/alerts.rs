//! What alerting reads and writes: issues that just arrived (by ingest time), counts in a window,
//! the deliveries outbox, and the lease that picks the one process evaluating and delivering.
//!
//! The outbox (`alert_deliveries`) is a ReplacingMergeTree by `step`: recording an alert inserts
//! step 1 (`pending`) for each of its channels *before* anything is sent, and every attempt
//! inserts the next step; reads take the highest step of each `(alert_id, channel)` with
//! `argMax`, never `FINAL` with a filter on a non-key column.

use clickhouse::Row;
use serde::{Deserialize, Serialize};

use crate::queries::{Arg, Dims, Level, Sql, Window, rollup_source, show};
use crate::rows::{ALERT_DELIVERY_COLUMNS, AlertDeliveryRow, AlertLeaseRow};
use crate::{Store, StoreError};

/// An issue's occurrences received since a moment.
#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct Arrival {
    /// Project.
    pub project: String,
    /// Issue.
    pub fingerprint: String,
    /// Occurrences received since the moment.
    pub occurrences: u64,
}

/// Occurrences of one issue of one service in a window.
#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct ServiceIssueCount {
    /// Project.
    pub project: String,
    /// Service.
    pub service: String,
    /// Issue.
    pub fingerprint: String,
    /// Occurrences.
    pub count: u64,
}

/// Requests of one service in a window.
#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct ServiceRequestCount {
    /// Project.
    pub project: String,
    /// Service.
    pub service: String,
    /// Requests.
    pub requests: u64,
}

/// When a rule last fired for one issue (or service).
#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct LastFired {
    /// The rule.
    pub rule: String,
    /// Project.
    pub project: String,
    /// The issue (empty for service alerts).
    pub fingerprint: String,
    /// The exception type, or the service of a `rate` alert.
    pub subject: String,
    /// When, seconds since the epoch.
    pub at: u32,
}

/// Which deliveries to list.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    /// Only this project.
    pub project: Option<String>,
    /// Only this status (`pending`, `delivered`, `failed`).
    pub status: Option<String>,
    /// Only deliveries created before this `(created_at, alert_id, channel)` (the page cursor).
    pub before: Option<(u32, String, String)>,
    /// At most this many.
    pub limit: u32,
}

fn arrivals_sql(db: &str, since: u32, project: Option<&str>, fingerprints: &[String]) -> Sql {
    let mut sql = Sql::default();
    sql.push(&format!(
        "SELECT project, fingerprint, toUInt64(sum(occurrences)) AS n FROM `{db}`.issue_arrivals_minute WHERE 1"
    ))
    .arg(" AND minute >= ?", Arg::U32(since));
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

fn service_issue_counts_sql(db: &str, dims: &Dims, w: Window) -> Sql {
    let mut sql = Sql::default();
    sql.push("SELECT project, service, fingerprint, countMerge(occurrences) AS n FROM ");
    rollup_source(
        db,
        dims,
        w,
        Level::Day,
        "project, service, fingerprint, occurrences",
        &mut sql,
    );
    sql.push(" GROUP BY project, service, fingerprint");
    sql
}

fn service_requests_sql(
    db: &str,
    project: Option<&str>,
    environments: &[String],
    w: Window,
) -> Sql {
    let mut sql = Sql::default();
    sql.push(&format!(
        "SELECT project, service, toUInt64(sum(requests)) AS n FROM `{db}`.requests_minute WHERE 1"
    ));
    if let Some(p) = project {
        sql.arg(" AND project = ?", Arg::Str(p.to_string()));
    }
    sql.in_list(
        "environment",
        environments.iter().cloned().map(Arg::Str).collect(),
    )
    .arg(" AND minute >= ?", Arg::U32(w.from))
    .arg(" AND minute < ?", Arg::U32(w.to))
    .push(" GROUP BY project, service");
    sql
}

fn existing_alerts_sql(db: &str, ids: &[String]) -> Sql {
    let mut sql = Sql::default();
    sql.push(&format!(
        "SELECT DISTINCT alert_id FROM `{db}`.alert_deliveries WHERE 1"
    ))
    .in_list("alert_id", ids.iter().cloned().map(Arg::Str).collect());
    sql
}

fn last_fired_sql(db: &str, rules: &[String], since: u32) -> Sql {
    let mut sql = Sql::default();
    sql.push(&format!(
        "SELECT rule, project, fingerprint, subject, toUInt32(max(created_at)) AS at FROM `{db}`.alert_deliveries WHERE 1"
    ))
    .in_list("rule", rules.iter().cloned().map(Arg::Str).collect())
    .arg(" AND created_at >= ?", Arg::U32(since))
    .push(" GROUP BY rule, project, fingerprint, subject");
    sql
}

/// The latest row of each delivery (created since `since`), as `alert_deliveries` columns.
fn latest_deliveries(db: &str, since: u32, sql: &mut Sql) {
    let cols: Vec<String> = ALERT_DELIVERY_COLUMNS
        .iter()
        .map(|(n, _)| match *n {
            "alert_id" | "channel" => n.to_string(),
            "step" => "max(step) AS s_step".to_string(),
            other => format!("argMax({other}, step) AS s_{other}"),
        })
        .collect();
    sql.push(&format!(
        "SELECT {} FROM `{db}`.alert_deliveries WHERE 1",
        cols.join(", ")
    ))
    .arg(" AND created_at >= ?", Arg::U32(since))
    .push(" GROUP BY alert_id, channel");
}

fn due_deliveries_sql(db: &str, since: u32, now: u32, limit: u32) -> Sql {
    let mut sql = Sql::default();
    latest_deliveries(db, since, &mut sql);
    sql.push(" HAVING s_status = 'pending'")
        .arg(" AND s_next_attempt_at <= ?", Arg::U32(now))
        .arg(
            " ORDER BY s_created_at, alert_id, channel LIMIT ?",
            Arg::U32(limit),
        );
    sql
}

fn deliveries_sql(db: &str, since: u32, f: &DeliveryFilter) -> Sql {
    let mut sql = Sql::default();
    latest_deliveries(db, since, &mut sql);
    sql.push(" HAVING 1");
    if let Some(p) = &f.project {
        sql.arg(" AND s_project = ?", Arg::Str(p.clone()));
    }
    if let Some(s) = &f.status {
        sql.arg(" AND s_status = ?", Arg::Str(s.clone()));
    }
    if let Some((at, id, channel)) = &f.before {
        sql.arg(" AND (s_created_at < ?", Arg::U32(*at))
            .arg(" OR (s_created_at = ?", Arg::U32(*at))
            .arg(" AND (alert_id < ?", Arg::Str(id.clone()))
            .arg(" OR (alert_id = ?", Arg::Str(id.clone()))
            .arg(" AND channel < ?))))", Arg::Str(channel.clone()));
    }
    sql.arg(
        " ORDER BY s_created_at DESC, alert_id DESC, channel DESC LIMIT ?",
        Arg::U32(f.limit),
    );
    sql
}

fn lease_sql(db: &str, name: &str) -> Sql {
    let mut sql = Sql::default();
    sql.push(&format!(
        "SELECT name, argMax(holder, version) AS h, toUInt32(argMax(expires_at, version)) AS e, max(version) AS v FROM `{db}`.alert_leases WHERE 1"
    ))
    .arg(" AND name = ?", Arg::Str(name.to_string()))
    .push(" GROUP BY name");
    sql
}

impl Store {
    /// Issues with occurrences received since `since` (seconds, minute-aligned), optionally only
    /// of one project and some issues, with how many.
    pub async fn arrivals(
        &self,
        since: u32,
        project: Option<&str>,
        fingerprints: &[String],
    ) -> Result<Vec<Arrival>, StoreError> {
        arrivals_sql(self.database(), since, project, fingerprints)
            .fetch_all(self)
            .await
    }

    /// Occurrences in `w` matching `dims`, per service and issue.
    pub async fn service_issue_counts(
        &self,
        dims: &Dims,
        w: Window,
    ) -> Result<Vec<ServiceIssueCount>, StoreError> {
        service_issue_counts_sql(self.database(), dims, w)
            .fetch_all(self)
            .await
    }

    /// Requests per project and service in `w` (one project when given; any of
    /// `environments`, all when empty).
    pub async fn service_requests(
        &self,
        project: Option<&str>,
        environments: &[String],
        w: Window,
    ) -> Result<Vec<ServiceRequestCount>, StoreError> {
        service_requests_sql(self.database(), project, environments, w)
            .fetch_all(self)
            .await
    }

    /// Which of `ids` are already recorded alerts.
    pub async fn existing_alerts(&self, ids: &[String]) -> Result<Vec<String>, StoreError> {
        #[derive(Row, Deserialize)]
        struct Id {
            alert_id: String,
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let found: Vec<Id> = existing_alerts_sql(self.database(), ids)
            .fetch_all(self)
            .await?;
        Ok(found.into_iter().map(|i| i.alert_id).collect())
    }

    /// When each rule last fired, per issue (or service), among alerts created since that rule's
    /// own moment (`(rule, since)` pairs): one query for every rule.
    pub async fn last_fired(&self, rules: &[(String, u32)]) -> Result<Vec<LastFired>, StoreError> {
        let Some(earliest) = rules.iter().map(|(_, s)| *s).min() else {
            return Ok(Vec::new());
        };
        let names: Vec<String> = rules.iter().map(|(r, _)| r.clone()).collect();
        let rows: Vec<LastFired> = last_fired_sql(self.database(), &names, earliest)
            .fetch_all(self)
            .await?;
        Ok(rows
            .into_iter()
            .filter(|f| {
                rules
                    .iter()
                    .any(|(r, since)| *r == f.rule && f.at >= *since)
            })
            .collect())
    }

    /// Records delivery rows (new alerts at step 1, attempts at the next step).
    pub async fn insert_deliveries(&self, rows: &[AlertDeliveryRow]) -> Result<(), StoreError> {
        crate::writer::insert_all(self, "alert_deliveries", rows, None).await
    }

    /// Pending deliveries due at `now` (created since `since`), oldest first.
    pub async fn due_deliveries(
        &self,
        since: u32,
        now: u32,
        limit: u32,
    ) -> Result<Vec<AlertDeliveryRow>, StoreError> {
        due_deliveries_sql(self.database(), since, now, limit)
            .fetch_all(self)
            .await
    }

    /// Deliveries created since `since`, newest first, filtered.
    pub async fn deliveries(
        &self,
        since: u32,
        filter: &DeliveryFilter,
    ) -> Result<Vec<AlertDeliveryRow>, StoreError> {
        deliveries_sql(self.database(), since, filter)
            .fetch_all(self)
            .await
    }

    /// The current claim on lease `name`, if any was ever made.
    pub async fn lease(&self, name: &str) -> Result<Option<AlertLeaseRow>, StoreError> {
        Ok(lease_sql(self.database(), name)
            .fetch_all::<AlertLeaseRow>(self)
            .await?
            .pop())
    }

    /// Claims (or renews) a lease.
    pub async fn claim_lease(&self, row: &AlertLeaseRow) -> Result<(), StoreError> {
        crate::writer::insert_all(self, "alert_leases", std::slice::from_ref(row), None).await
    }
}

/// Every alerting query, as the server receives it (for the portability tests).
pub(crate) fn catalog(db: &str) -> Vec<(String, String)> {
    let w = Window::new(1_760_000_000, 1_760_000_000 + 3 * 3600 + 600);
    let dims = Dims {
        project: Some("shop".into()),
        services: vec!["api".into()],
        environments: vec!["prod".into()],
        ..Dims::default()
    };
    let filter = DeliveryFilter {
        project: Some("shop".into()),
        status: Some("failed".into()),
        before: Some((1_760_000_000, "abc".into(), "hook".into())),
        limit: 50,
    };
    vec![
        (
            "alert_arrivals".into(),
            show(arrivals_sql(db, 1_760_000_000, Some("shop"), &["a".into()])),
        ),
        (
            "alert_arrivals_all".into(),
            show(arrivals_sql(db, 1_760_000_000, None, &[])),
        ),
        (
            "alert_service_issue_counts".into(),
            show(service_issue_counts_sql(db, &dims, w)),
        ),
        (
            "alert_service_requests".into(),
            show(service_requests_sql(db, Some("shop"), &["prod".into()], w)),
        ),
        (
            "alert_existing".into(),
            show(existing_alerts_sql(db, &["a".into(), "b".into()])),
        ),
        (
            "alert_last_fired".into(),
            show(last_fired_sql(
                db,
                &["bursts".into(), "new issues".into()],
                1_760_000_000,
            )),
        ),
        (
            "alert_due_deliveries".into(),
            show(due_deliveries_sql(db, 1_759_000_000, 1_760_000_000, 100)),
        ),
        (
            "alert_deliveries".into(),
            show(deliveries_sql(db, 1_759_000_000, &filter)),
        ),
        ("alert_lease".into(), show(lease_sql(db, "alerts"))),
    ]
}
