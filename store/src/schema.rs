//! Schema and migrations.
//!
//! Migrations are numbered, applied in order at start, and recorded in `schema_migrations`. Every
//! statement is idempotent (`IF NOT EXISTS`), so a migration interrupted half-way, or run by two
//! processes at once, is simply run again. Every statement runs on ClickHouse 18.16 and on modern
//! servers (tests run them on both): no TTL, codecs, LowCardinality, DateTime64 or skip indexes here;
//! those go in version-gated migrations when they are needed.

use crate::rows::{ISSUE_STATE_COLUMNS, OCCURRENCE_COLUMNS, REQUEST_COLUMNS, STACKTRACE_COLUMNS};

/// One schema migration.
#[derive(Debug, Clone)]
pub struct Migration {
    /// Increasing version number.
    pub version: u32,
    /// Short name, stored with the version.
    pub name: &'static str,
    /// The statements, in order, for the given database.
    pub statements: Vec<Statement>,
}

/// One statement of a migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The SQL.
    pub sql: String,
    /// `(table, column)` when the statement adds that column: 18.16 has no `ADD COLUMN IF NOT
    /// EXISTS`, so the runner skips the statement when the column is there (a migration
    /// interrupted after its `ALTER` then runs again cleanly).
    pub adds_column: Option<(&'static str, &'static str)>,
}

impl From<String> for Statement {
    fn from(sql: String) -> Self {
        Statement {
            sql,
            adds_column: None,
        }
    }
}

fn columns(cols: &[(&str, &str)]) -> String {
    cols.iter()
        .map(|(n, t)| format!("    `{n}` {t}"))
        .collect::<Vec<_>>()
        .join(",\n")
}

/// The statement that creates the database itself (run before any migration).
pub fn create_database(db: &str) -> String {
    format!("CREATE DATABASE IF NOT EXISTS `{db}`")
}

/// The table recording which migrations ran.
pub fn create_migrations_table(db: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS `{db}`.schema_migrations (\n    version UInt32,\n    name String,\n    applied_at DateTime('UTC')\n) ENGINE = ReplacingMergeTree() ORDER BY version"
    )
}

/// Per-issue rollup of occurrences into time buckets (`minute`, `hour` or `day`), by the dimensions
/// the API filters on. Ordered by time first: every aggregate reads a time window, most of them
/// across issues (and often across projects), so the window is what the primary key must prune.
fn issue_rollup(db: &str, table: &str, bucket_col: &str, bucket_fn: &str) -> [String; 2] {
    [
        format!(
            "CREATE TABLE IF NOT EXISTS `{db}`.{table} (
    project String,
    fingerprint String,
    {bucket_col} DateTime('UTC'),
    service String,
    environment String,
    release String,
    http_status UInt16,
    severity String,
    occurrences AggregateFunction(count),
    first_seen AggregateFunction(min, DateTime('UTC')),
    last_seen AggregateFunction(max, DateTime('UTC')),
    exception_type AggregateFunction(anyLast, String),
    message AggregateFunction(anyLast, String),
    culprit AggregateFunction(anyLast, String)
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMMDD({bucket_col})
ORDER BY ({bucket_col}, project, fingerprint, service, environment, release, http_status, severity)"
        ),
        format!(
            "CREATE MATERIALIZED VIEW IF NOT EXISTS `{db}`.{table}_mv TO `{db}`.{table} AS
SELECT
    project,
    fingerprint,
    {bucket_fn}(timestamp) AS {bucket_col},
    service,
    environment,
    release,
    http_status,
    severity,
    countState() AS occurrences,
    minState(timestamp) AS first_seen,
    maxState(timestamp) AS last_seen,
    anyLastState(exception_type) AS exception_type,
    anyLastState(message) AS message,
    anyLastState(culprit) AS culprit
FROM `{db}`.occurrences
GROUP BY project, fingerprint, {bucket_col}, service, environment, release, http_status, severity"
        ),
    ]
}

/// All migrations, oldest first.
pub fn migrations(db: &str) -> Vec<Migration> {
    // Small granules for occurrences: reads of one issue's latest rows would otherwise decompress
    // 8192 stack traces to return one.
    // Migration 1 as it was: `occurrences` without the columns later migrations add.
    let v1_columns: Vec<(&str, &str)> = OCCURRENCE_COLUMNS
        .iter()
        .copied()
        .filter(|(n, _)| *n != "stack_hash")
        .collect();
    let mut statements = vec![format!(
        "CREATE TABLE IF NOT EXISTS `{db}`.occurrences (\n{}\n) ENGINE = MergeTree()\nPARTITION BY toYYYYMMDD(timestamp)\nORDER BY (project, fingerprint, timestamp)\nSETTINGS index_granularity = 1024",
        columns(&v1_columns)
    )];
    statements.extend(issue_rollup(
        db,
        "issues_minute",
        "minute",
        "toStartOfMinute",
    ));
    statements.extend(issue_rollup(db, "issues_hour", "hour", "toStartOfHour"));
    statements.extend(issue_rollup(db, "issues_day", "day", "toStartOfDay"));
    statements.extend([
        // One row per issue after merges: all-time count, first and last seen, latest text.
        format!(
            "CREATE TABLE IF NOT EXISTS `{db}`.issue_totals (
    project String,
    fingerprint String,
    occurrences AggregateFunction(count),
    first_seen AggregateFunction(min, DateTime('UTC')),
    last_seen AggregateFunction(max, DateTime('UTC')),
    exception_type AggregateFunction(argMax, String, DateTime('UTC')),
    message AggregateFunction(argMax, String, DateTime('UTC')),
    culprit AggregateFunction(argMax, String, DateTime('UTC'))
) ENGINE = AggregatingMergeTree()
ORDER BY (project, fingerprint)"
        ),
        format!(
            "CREATE MATERIALIZED VIEW IF NOT EXISTS `{db}`.issue_totals_mv TO `{db}`.issue_totals AS
SELECT
    project,
    fingerprint,
    countState() AS occurrences,
    minState(timestamp) AS first_seen,
    maxState(timestamp) AS last_seen,
    argMaxState(exception_type, timestamp) AS exception_type,
    argMaxState(message, timestamp) AS message,
    argMaxState(culprit, timestamp) AS culprit
FROM `{db}`.occurrences
GROUP BY project, fingerprint"
        ),
        // Triage state: one row per change; the highest version wins.
        format!(
            "CREATE TABLE IF NOT EXISTS `{db}`.issue_states (\n{}\n) ENGINE = ReplacingMergeTree(version)\nORDER BY (project, fingerprint)",
            columns(ISSUE_STATE_COLUMNS)
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS `{db}`.requests_minute (\n{}\n) ENGINE = SummingMergeTree((requests, failed))\nPARTITION BY toYYYYMMDD(minute)\nORDER BY (project, service, environment, minute)",
            columns(REQUEST_COLUMNS)
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS `{db}`.requests_hour (
    project String,
    service String,
    environment String,
    hour DateTime('UTC'),
    requests UInt64,
    failed UInt64
) ENGINE = SummingMergeTree((requests, failed))
PARTITION BY toYYYYMMDD(hour)
ORDER BY (project, service, environment, hour)"
        ),
        format!(
            "CREATE MATERIALIZED VIEW IF NOT EXISTS `{db}`.requests_hour_mv TO `{db}`.requests_hour AS
SELECT project, service, environment, toStartOfHour(minute) AS hour, sum(requests) AS requests, sum(failed) AS failed
FROM `{db}`.requests_minute
GROUP BY project, service, environment, hour"
        ),
        // 404s by path and hour (seed 004's frequent-404 report).
        format!(
            "CREATE TABLE IF NOT EXISTS `{db}`.not_found_hour (
    project String,
    path String,
    hour DateTime('UTC'),
    hits AggregateFunction(count),
    last_seen AggregateFunction(max, DateTime('UTC'))
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMMDD(hour)
ORDER BY (project, path, hour)"
        ),
        format!(
            "CREATE MATERIALIZED VIEW IF NOT EXISTS `{db}`.not_found_hour_mv TO `{db}`.not_found_hour AS
SELECT
    project,
    if(http_route != '', http_route, if(path(url) != '', path(url), url)) AS path,
    toStartOfHour(timestamp) AS hour,
    countState() AS hits,
    maxState(timestamp) AS last_seen
FROM `{db}`.occurrences
WHERE http_status = 404
GROUP BY project, path, hour"
        ),
    ]);
    vec![
        Migration {
            version: 1,
            name: "initial schema: occurrences, issue rollups and totals, issue states, request totals, 404s",
            statements: statements.into_iter().map(Statement::from).collect(),
        },
        Migration {
            version: 2,
            name: "stack traces stored once per project, day and hash",
            statements: vec![
                add_column(db, "occurrences", "stack_hash", "UInt64", "stacktrace"),
                // Partitioned by the day of the occurrences that refer to a text, like them, so
                // retention drops both together. Duplicates (a restart forgets what was sent)
                // are harmless and merged away.
                format!(
                    "CREATE TABLE IF NOT EXISTS `{db}`.stacktraces (\n{}\n) ENGINE = ReplacingMergeTree()\nPARTITION BY toYYYYMMDD(day)\nORDER BY (project, stack_hash)",
                    columns(STACKTRACE_COLUMNS)
                )
                .into(),
            ],
        },
    ]
}

/// `ALTER TABLE … ADD COLUMN …`, marked as adding `(table, column)` (see
/// [`Statement::adds_column`]).
fn add_column(
    db: &str,
    table: &'static str,
    column: &'static str,
    ty: &str,
    after: &str,
) -> Statement {
    Statement {
        sql: format!("ALTER TABLE `{db}`.{table} ADD COLUMN `{column}` {ty} AFTER `{after}`"),
        adds_column: Some((table, column)),
    }
}

/// Tables partitioned by day (`toYYYYMMDD`), whose old partitions retention drops.
pub const DAILY_TABLES: &[&str] = &[
    "occurrences",
    "stacktraces",
    "issues_minute",
    "issues_hour",
    "issues_day",
    "requests_minute",
    "requests_hour",
    "not_found_hour",
];

/// Tables written by inserts or by materialized views: on servers with insert deduplication
/// tokens (22.2 and later) they keep a deduplication window, so a replayed insert is dropped.
pub const DEDUP_TABLES: &[&str] = &[
    "occurrences",
    "stacktraces",
    "issues_minute",
    "issues_hour",
    "issues_day",
    "issue_totals",
    "requests_minute",
    "requests_hour",
    "not_found_hour",
];

/// The statements that turn on insert deduplication for non-replicated tables (modern servers
/// only: 18.16 has no such setting; run after every migration, idempotent).
pub fn dedup_window(db: &str) -> Vec<String> {
    DEDUP_TABLES
        .iter()
        .map(|t| {
            format!(
                "ALTER TABLE `{db}`.{t} MODIFY SETTING non_replicated_deduplication_window = 1000"
            )
        })
        .collect()
}

/// Tables whose presence means the schema is usable (checked by readiness and `/health/db`).
pub const TABLES: &[&str] = &[
    "schema_migrations",
    "occurrences",
    "stacktraces",
    "issues_minute",
    "issues_hour",
    "issues_day",
    "issue_totals",
    "issue_states",
    "requests_minute",
    "requests_hour",
    "not_found_hour",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_columns_are_recognized() {
        let stmt = add_column("db", "occurrences", "stack_hash", "UInt64", "stacktrace");
        assert_eq!(stmt.adds_column, Some(("occurrences", "stack_hash")));
        assert_eq!(
            Statement::from("ALTER TABLE `db`.t MODIFY SETTING x = 1".to_string()).adds_column,
            None
        );
        let m2 = &migrations("db")[1].statements;
        assert_eq!(m2[0].adds_column, Some(("occurrences", "stack_hash")));
        assert_eq!(m2[1].adds_column, None);
        assert!(
            migrations("db")[0]
                .statements
                .iter()
                .all(|s| s.adds_column.is_none())
        );
    }
}
