//! Schema and migrations.
//!
//! Migrations are numbered, applied in order at start, and recorded in `schema_migrations`. Every
//! statement is idempotent (`IF NOT EXISTS`), so a migration interrupted half-way, or run by two
//! processes at once, is simply run again. Every statement runs on ClickHouse 18.16 and on modern
//! servers (tests run them on both): no TTL, codecs, LowCardinality, DateTime64 or skip indexes here;
//! those go in version-gated migrations when they are needed.

use crate::rows::{OCCURRENCE_COLUMNS, REQUEST_COLUMNS};

/// One schema migration.
#[derive(Debug, Clone)]
pub struct Migration {
    /// Increasing version number.
    pub version: u32,
    /// Short name, stored with the version.
    pub name: &'static str,
    /// The statements, in order, for the given database.
    pub statements: Vec<String>,
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

/// All migrations, oldest first.
pub fn migrations(db: &str) -> Vec<Migration> {
    vec![Migration {
        version: 1,
        name: "occurrences, issue and request rollups",
        statements: vec![
            format!(
                "CREATE TABLE IF NOT EXISTS `{db}`.occurrences (\n{}\n) ENGINE = MergeTree()\nPARTITION BY toYYYYMMDD(timestamp)\nORDER BY (project, fingerprint, timestamp)",
                columns(OCCURRENCE_COLUMNS)
            ),
            // Per-minute rollup of occurrences by issue and the dimensions the API filters on.
            format!(
                "CREATE TABLE IF NOT EXISTS `{db}`.issues_minute (
    project String,
    fingerprint String,
    minute DateTime('UTC'),
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
PARTITION BY toYYYYMM(minute)
ORDER BY (project, fingerprint, minute, service, environment, release, http_status, severity)"
            ),
            format!(
                "CREATE MATERIALIZED VIEW IF NOT EXISTS `{db}`.issues_minute_mv TO `{db}`.issues_minute AS
SELECT
    project,
    fingerprint,
    toStartOfMinute(timestamp) AS minute,
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
GROUP BY project, fingerprint, minute, service, environment, release, http_status, severity"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS `{db}`.requests_minute (\n{}\n) ENGINE = SummingMergeTree((requests, failed))\nPARTITION BY toYYYYMM(minute)\nORDER BY (project, service, environment, minute)",
                columns(REQUEST_COLUMNS)
            ),
        ],
    }]
}

/// Tables whose presence means the schema is usable (checked by readiness and `/health/db`).
pub const TABLES: &[&str] = &[
    "schema_migrations",
    "occurrences",
    "issues_minute",
    "requests_minute",
];
