//! The table registry: every table and materialized view Faultline keeps, declared once.
//!
//! The DDL of every migration ([`crate::schema`]), retention's list of daily tables, the
//! deduplication settings, the readiness check and the tests all read [`tables`]; nothing else
//! names a table's columns, engine or keys. A deployment variant (the replicated and distributed
//! tables of a ClickHouse cluster) is a different rendering of the same declarations.
//!
//! Adding a table: declare it in [`tables`] with `since` = the next migration number, add that
//! migration's name to [`MIGRATIONS`]. Adding a column: append it with [`Table::added`]; the
//! migration adds it `AFTER` the column before it, so a fresh and an upgraded table are equal.

use crate::rows::{
    ALERT_DELIVERY_COLUMNS, ALERT_LEASE_COLUMNS, ISSUE_STATE_COLUMNS, OCCURRENCE_COLUMNS,
    REQUEST_COLUMNS, STACKTRACE_COLUMNS,
};

/// Every migration's number and name, oldest first. Version 0 is the bookkeeping table itself.
pub const MIGRATIONS: &[(u32, &str)] = &[
    (
        1,
        "initial schema: occurrences, issue rollups and totals, issue states, request totals, 404s",
    ),
    (2, "stack traces stored once per project, day and hash"),
    (
        3,
        "alerts: issue arrivals by ingest time, alert deliveries (the outbox), the alerting lease",
    ),
    (
        4,
        "triage history: every status change of every issue, kept",
    ),
];

/// One column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// Name.
    pub name: &'static str,
    /// ClickHouse type, portable from 18.16 to 26.x.
    pub ty: &'static str,
    /// The migration that added it (the table's own `since` for its first columns).
    pub since: u32,
}

/// A table engine of the MergeTree family, with its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Plain rows.
    MergeTree,
    /// Rows of aggregate-function states, merged by key.
    Aggregating,
    /// Rows summed by key over the given columns.
    Summing(&'static [&'static str]),
    /// One row per key after merges: the highest `version` column when given, else the last.
    Replacing(Option<&'static str>),
}

impl Engine {
    /// The engine's family name (`AggregatingMergeTree`, …); a replicated variant prefixes
    /// `Replicated`.
    pub fn family(self) -> &'static str {
        match self {
            Engine::MergeTree => "MergeTree",
            Engine::Aggregating => "AggregatingMergeTree",
            Engine::Summing(_) => "SummingMergeTree",
            Engine::Replacing(_) => "ReplacingMergeTree",
        }
    }

    /// The engine's own arguments, without parentheses (empty for most).
    pub fn args(self) -> String {
        match self {
            Engine::Summing(cols) => format!("({})", cols.join(", ")),
            Engine::Replacing(Some(version)) => version.to_string(),
            _ => String::new(),
        }
    }
}

/// How a table's rows arrive: decides which tables keep an insert-deduplication window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Batches from the writer (replayed after a crash: deduplicated).
    Insert,
    /// A materialized view's output (replayed with its source's insert: deduplicated).
    View,
    /// Single rows of triage changes, each distinct by its version.
    Triage,
    /// Migration bookkeeping.
    Bookkeeping,
    /// Alert bookkeeping (deliveries, the lease): single rows, each distinct by its version.
    Alert,
}

/// A materialized view feeding a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    /// The view's name (`<table>_mv`).
    pub name: String,
    /// The table it reads inserts of.
    pub from: &'static str,
    /// Its `SELECT`, with `{from}` where the source table goes.
    pub select: String,
}

/// One table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Name.
    pub name: &'static str,
    /// Columns in order, including those added by later migrations.
    pub columns: Vec<Column>,
    /// Engine.
    pub engine: Engine,
    /// `PARTITION BY` expression: tables partitioned by day (`toYYYYMMDD`) are the ones
    /// retention drops old partitions of.
    pub partition_by: Option<String>,
    /// `ORDER BY` expression (the sorting and primary key).
    pub order_by: String,
    /// `SETTINGS`, as `name = value`.
    pub settings: &'static [(&'static str, &'static str)],
    /// The migration that created it.
    pub since: u32,
    /// How its rows arrive.
    pub written: Written,
    /// The materialized views that feed it.
    pub views: Vec<View>,
    /// On a cluster, which shard a row goes to (an expression of the leading ORDER BY columns,
    /// so rows that merge together share a shard).
    pub shard_key: &'static str,
}

impl Table {
    fn new(name: &'static str, since: u32, columns: &[(&'static str, &'static str)]) -> Self {
        Table {
            name,
            columns: columns
                .iter()
                .map(|&(name, ty)| Column { name, ty, since })
                .collect(),
            engine: Engine::MergeTree,
            partition_by: None,
            order_by: String::new(),
            settings: &[],
            since,
            written: Written::Insert,
            views: Vec::new(),
            shard_key: "cityHash64(project, fingerprint)",
        }
    }

    fn sharded_by(mut self, key: &'static str) -> Self {
        self.shard_key = key;
        self
    }

    fn engine(mut self, engine: Engine) -> Self {
        self.engine = engine;
        self
    }

    fn daily(mut self, column: &str) -> Self {
        self.partition_by = Some(format!("toYYYYMMDD({column})"));
        self
    }

    fn order_by(mut self, key: &str) -> Self {
        self.order_by = format!("({key})");
        self
    }

    fn written(mut self, written: Written) -> Self {
        self.written = written;
        self
    }

    fn view(mut self, from: &'static str, select: String) -> Self {
        self.views.push(View {
            name: format!("{}_mv", self.name),
            from,
            select,
        });
        self.written = Written::View;
        self
    }

    /// Marks `column` (already in the list) as added by migration `since`.
    fn added(mut self, column: &str, since: u32) -> Self {
        for c in &mut self.columns {
            if c.name == column {
                c.since = since;
            }
        }
        self
    }

    /// Whether old partitions of this table are dropped by retention.
    pub fn is_daily(&self) -> bool {
        self.partition_by
            .as_deref()
            .is_some_and(|p| p.starts_with("toYYYYMMDD("))
    }

    /// Whether a replayed insert into this table must be dropped by the server.
    pub fn deduplicates(&self) -> bool {
        matches!(self.written, Written::Insert | Written::View)
    }
}

/// Every table, in creation order (a view's source before the view).
pub fn tables() -> Vec<Table> {
    vec![
        schema_migrations(),
        // Small granules: reads of one issue's latest rows would otherwise decompress 8192 stack
        // traces to return one.
        Table::new("occurrences", 1, OCCURRENCE_COLUMNS)
            .added("stack_hash", 2)
            .daily("timestamp")
            .order_by("project, fingerprint, timestamp")
            .settings(&[("index_granularity", "1024")]),
        issue_rollup("issues_minute", "minute", "toStartOfMinute"),
        issue_rollup("issues_hour", "hour", "toStartOfHour"),
        issue_rollup("issues_day", "day", "toStartOfDay"),
        // One row per issue after merges: all-time count, first and last seen, latest text.
        Table::new("issue_totals", 1, &[
            ("project", "String"),
            ("fingerprint", "String"),
            ("occurrences", "AggregateFunction(count)"),
            ("first_seen", "AggregateFunction(min, DateTime('UTC'))"),
            ("last_seen", "AggregateFunction(max, DateTime('UTC'))"),
            ("exception_type", "AggregateFunction(argMax, String, DateTime('UTC'))"),
            ("message", "AggregateFunction(argMax, String, DateTime('UTC'))"),
            ("culprit", "AggregateFunction(argMax, String, DateTime('UTC'))"),
        ])
        .engine(Engine::Aggregating)
        .order_by("project, fingerprint")
        .view(
            "occurrences",
            "SELECT
    project,
    fingerprint,
    countState() AS occurrences,
    minState(timestamp) AS first_seen,
    maxState(timestamp) AS last_seen,
    argMaxState(exception_type, timestamp) AS exception_type,
    argMaxState(message, timestamp) AS message,
    argMaxState(culprit, timestamp) AS culprit
FROM {from}
GROUP BY project, fingerprint"
                .to_string(),
        ),
        // Triage state: one row per change; the highest version wins.
        Table::new("issue_states", 1, ISSUE_STATE_COLUMNS)
            .engine(Engine::Replacing(Some("version")))
            .written(Written::Triage)
            .order_by("project, fingerprint"),
        // Every triage change, kept: `issue_states` keeps only the latest once merged; this is
        // the issue page's status history. Small (people write it), never dropped by retention.
        Table::new("issue_state_log", 4, ISSUE_STATE_COLUMNS)
            .written(Written::Triage)
            .order_by("project, fingerprint, changed_at"),
        Table::new("requests_minute", 1, REQUEST_COLUMNS)
            .sharded_by("cityHash64(project, service)")
            .engine(Engine::Summing(&["requests", "failed"]))
            .daily("minute")
            .order_by("project, service, environment, minute"),
        Table::new("requests_hour", 1, &[
            ("project", "String"),
            ("service", "String"),
            ("environment", "String"),
            ("hour", "DateTime('UTC')"),
            ("requests", "UInt64"),
            ("failed", "UInt64"),
        ])
        .engine(Engine::Summing(&["requests", "failed"]))
        .sharded_by("cityHash64(project, service)")
        .daily("hour")
        .order_by("project, service, environment, hour")
        .view(
            "requests_minute",
            "SELECT project, service, environment, toStartOfHour(minute) AS hour, sum(requests) AS requests, sum(failed) AS failed
FROM {from}
GROUP BY project, service, environment, hour"
                .to_string(),
        ),
        // 404s by path and hour (seed 004's frequent-404 report).
        Table::new("not_found_hour", 1, &[
            ("project", "String"),
            ("path", "String"),
            ("hour", "DateTime('UTC')"),
            ("hits", "AggregateFunction(count)"),
            ("last_seen", "AggregateFunction(max, DateTime('UTC'))"),
        ])
        .engine(Engine::Aggregating)
        .sharded_by("cityHash64(project, path)")
        .daily("hour")
        .order_by("project, path, hour")
        .view(
            "occurrences",
            "SELECT
    project,
    if(http_route != '', http_route, if(path(url) != '', path(url), url)) AS path,
    toStartOfHour(timestamp) AS hour,
    countState() AS hits,
    maxState(timestamp) AS last_seen
FROM {from}
WHERE http_status = 404
GROUP BY project, path, hour"
                .to_string(),
        ),
        // Partitioned by the day of the occurrences that refer to a text, like them, so
        // retention drops both together. Duplicates (a restart forgets what was sent) are
        // harmless and merged away.
        Table::new("stacktraces", 2, STACKTRACE_COLUMNS)
            .sharded_by("cityHash64(project, stack_hash)")
            .engine(Engine::Replacing(None))
            .daily("day")
            .order_by("project, stack_hash"),
        // Occurrences by the minute they were *received* (not their own timestamp): what alerting
        // reads for "just arrived", so events with skewed clocks or replayed after an outage
        // still count as new.
        Table::new("issue_arrivals_minute", 3, &[
            ("minute", "DateTime('UTC')"),
            ("project", "String"),
            ("fingerprint", "String"),
            ("occurrences", "UInt64"),
        ])
        .engine(Engine::Summing(&["occurrences"]))
        .daily("minute")
        .order_by("minute, project, fingerprint")
        .view(
            "occurrences",
            "SELECT toStartOfMinute(received_at) AS minute, project, fingerprint, count() AS occurrences
FROM {from}
GROUP BY minute, project, fingerprint"
                .to_string(),
        ),
        // The alert outbox and delivery log: one row per change of one delivery (an alert to
        // one channel); the highest `step` wins, so a re-inserted `pending` never overrides a
        // later `delivered`.
        Table::new("alert_deliveries", 3, ALERT_DELIVERY_COLUMNS)
            .sharded_by("cityHash64(alert_id)")
            .engine(Engine::Replacing(Some("step")))
            .daily("created_at")
            .written(Written::Alert)
            .order_by("alert_id, channel"),
        // Which process evaluates and delivers alerts (one among several replicas).
        Table::new("alert_leases", 3, ALERT_LEASE_COLUMNS)
            .sharded_by("cityHash64(name)")
            .engine(Engine::Replacing(Some("version")))
            .written(Written::Alert)
            .order_by("name"),
    ]
}

impl Table {
    fn settings(mut self, settings: &'static [(&'static str, &'static str)]) -> Self {
        self.settings = settings;
        self
    }
}

/// The table recording which migrations ran (version 0: created before any migration).
pub fn schema_migrations() -> Table {
    Table::new(
        "schema_migrations",
        0,
        &[
            ("version", "UInt32"),
            ("name", "String"),
            ("applied_at", "DateTime('UTC')"),
        ],
    )
    .engine(Engine::Replacing(None))
    .written(Written::Bookkeeping)
    .sharded_by("")
    .order_by("version")
}

/// Per-issue rollup of occurrences into time buckets (`minute`, `hour` or `day`), by the dimensions
/// the API filters on. Ordered by time first: every aggregate reads a time window, most of them
/// across issues (and often across projects), so the window is what the primary key must prune.
fn issue_rollup(name: &'static str, bucket: &'static str, bucket_fn: &str) -> Table {
    Table::new(
        name,
        1,
        &[
            ("project", "String"),
            ("fingerprint", "String"),
            (bucket, "DateTime('UTC')"),
            ("service", "String"),
            ("environment", "String"),
            ("release", "String"),
            ("http_status", "UInt16"),
            ("severity", "String"),
            ("occurrences", "AggregateFunction(count)"),
            ("first_seen", "AggregateFunction(min, DateTime('UTC'))"),
            ("last_seen", "AggregateFunction(max, DateTime('UTC'))"),
            ("exception_type", "AggregateFunction(anyLast, String)"),
            ("message", "AggregateFunction(anyLast, String)"),
            ("culprit", "AggregateFunction(anyLast, String)"),
        ],
    )
    .engine(Engine::Aggregating)
    .daily(bucket)
    .order_by(&format!(
        "{bucket}, project, fingerprint, service, environment, release, http_status, severity"
    ))
    .view(
        "occurrences",
        format!(
            "SELECT
    project,
    fingerprint,
    {bucket_fn}(timestamp) AS {bucket},
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
FROM {{from}}
GROUP BY project, fingerprint, {bucket}, service, environment, release, http_status, severity"
        ),
    )
}

/// The names of every table (not views).
pub fn names() -> Vec<&'static str> {
    tables().iter().map(|t| t.name).collect()
}

/// The tables whose old day partitions retention drops.
pub fn daily() -> Vec<&'static str> {
    tables()
        .iter()
        .filter(|t| t.is_daily())
        .map(|t| t.name)
        .collect()
}

/// One table by name.
pub fn table(name: &str) -> Option<Table> {
    tables().into_iter().find(|t| t.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_views_read_earlier_tables() {
        let all = tables();
        let mut seen = Vec::new();
        for t in &all {
            assert!(!seen.contains(&t.name), "{} declared twice", t.name);
            for v in &t.views {
                assert!(
                    seen.contains(&v.from),
                    "{} reads {} before it exists",
                    v.name,
                    v.from
                );
                assert!(v.select.contains("{from}"), "{}: no {{from}}", v.name);
            }
            seen.push(t.name);
            assert!(!t.order_by.is_empty(), "{}: no ORDER BY", t.name);
            assert!(
                t.columns.iter().all(|c| c.since >= t.since),
                "{}: a column older than its table",
                t.name
            );
            assert!(
                MIGRATIONS.iter().any(|(v, _)| *v == t.since) || t.since == 0,
                "{}: unknown migration {}",
                t.name,
                t.since
            );
        }
    }

    #[test]
    fn derived_lists() {
        assert_eq!(
            daily(),
            [
                "occurrences",
                "issues_minute",
                "issues_hour",
                "issues_day",
                "requests_minute",
                "requests_hour",
                "not_found_hour",
                "stacktraces",
                "issue_arrivals_minute",
                "alert_deliveries"
            ]
        );
        let dedup: Vec<_> = tables()
            .into_iter()
            .filter(Table::deduplicates)
            .map(|t| t.name)
            .collect();
        assert!(!dedup.contains(&"issue_states") && !dedup.contains(&"schema_migrations"));
        assert!(!dedup.contains(&"alert_deliveries") && !dedup.contains(&"alert_leases"));
        assert!(!dedup.contains(&"issue_state_log"));
        assert_eq!(dedup.len(), names().len() - 5);
        assert_eq!(
            table("issue_states").map(|t| t.engine),
            Some(Engine::Replacing(Some("version")))
        );
    }
}
