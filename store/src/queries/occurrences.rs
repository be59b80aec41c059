//! Raw occurrences, read by issue and time (the primary key's prefix): pages of an issue's
//! occurrences, its latest one, one by id, their stack texts joined back from `stacktraces`, and the counts
//! and event-id checks of the writer's replay and the tests.

use std::collections::HashMap;

use clickhouse::Row;
use serde::Deserialize;

use super::{Arg, Sql, show};
use crate::rows::OCCURRENCE_COLUMNS;
use crate::{OccurrenceRow, Store, StoreError};

/// Every column of `occurrences`, quoted, in the row's order.
fn occurrence_columns() -> String {
    OCCURRENCE_COLUMNS
        .iter()
        .map(|(n, _)| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One occurrence of an issue by its event id (the primary-key prefix narrows it to the issue).
fn occurrence_sql(db: &str, project: &str, fingerprint: &str, event_id: &str) -> Sql {
    let mut sql = Sql::default();
    sql.push(&format!(
        "SELECT {} FROM `{db}`.occurrences WHERE 1",
        occurrence_columns()
    ))
    .arg(" AND project = ?", Arg::Str(project.to_string()))
    .arg(" AND fingerprint = ?", Arg::Str(fingerprint.to_string()))
    .arg(" AND event_id = ?", Arg::Str(event_id.to_string()))
    .push(" LIMIT 1");
    sql
}

fn occurrences_sql(
    db: &str,
    project: &str,
    fingerprint: Option<&str>,
    before: Option<(u32, &str)>,
    limit: u32,
) -> Sql {
    let cols = occurrence_columns();
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
    let cols = occurrence_columns();
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

impl Store {
    /// One occurrence of an issue by event id, with its stack trace.
    pub async fn occurrence(
        &self,
        project: &str,
        fingerprint: &str,
        event_id: &str,
    ) -> Result<Option<OccurrenceRow>, StoreError> {
        let mut rows: Vec<OccurrenceRow> =
            occurrence_sql(self.database(), project, fingerprint, event_id)
                .fetch_all(self)
                .await?;
        self.fill_stacktraces(&mut rows).await?;
        Ok(rows.into_iter().next())
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
    pub(super) async fn fill_stacktraces(
        &self,
        rows: &mut [OccurrenceRow],
    ) -> Result<(), StoreError> {
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
}

/// The queries of this module with sample arguments.
pub(super) fn catalog(db: &str) -> Vec<(String, String)> {
    vec![
        (
            "occurrence_by_id".into(),
            show(occurrence_sql(db, "shop", "abc", "ev-1")),
        ),
        (
            "stack_texts".into(),
            show(stack_texts_sql(db, "shop", &[1, u64::MAX])),
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
            "latest_occurrence".into(),
            show(latest_sql(db, "shop", "abc", 1_760_000_000)),
        ),
    ]
}
