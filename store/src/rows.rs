//! Row types and the column lists their tables are created from.
//!
//! The columns of the tables written from these rows are declared here, as `(name, ClickHouse type)`
//! pairs, and registered with their table in [`crate::tables`]; the DDL in
//! [`crate::schema`] is generated from these lists and a test compares them with both the Rust row
//! structs (names, order) and `DESCRIBE TABLE` on a real server (names, types). The `clickhouse`
//! crate must run with validation off on 18.16, so this is what keeps a row struct from silently
//! corrupting its table.

use clickhouse::Row;
use serde::{Deserialize, Serialize};

/// Columns of `occurrences`, in the order of [`OccurrenceRow`].
pub const OCCURRENCE_COLUMNS: &[(&str, &str)] = &[
    ("event_id", "String"),
    ("project", "String"),
    ("fingerprint", "String"),
    ("grouping_version", "UInt8"),
    ("timestamp", "DateTime('UTC')"),
    ("received_at", "DateTime('UTC')"),
    ("source", "String"),
    ("service", "String"),
    ("environment", "String"),
    ("release", "String"),
    ("exception_type", "String"),
    ("message", "String"),
    ("stacktrace", "String"),
    ("stack_hash", "UInt64"),
    ("culprit", "String"),
    ("severity", "String"),
    ("http_status", "UInt16"),
    ("http_method", "String"),
    ("http_route", "String"),
    ("url", "String"),
    ("trace_id", "String"),
    ("span_id", "String"),
    ("attr_keys", "Array(String)"),
    ("attr_values", "Array(String)"),
];

/// One error occurrence: one row of `occurrences`.
///
/// Its text columns are `S`: owned `String`s wherever rows are read or kept (the default), and
/// `Cow<str>` borrowed from the request while ingest builds and encodes them (no copy per field;
/// see `faultline_collector::occurrence`). Encoding ([`write_row_binary`](Self::write_row_binary))
/// takes either.
#[derive(Debug, Clone, Default, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct OccurrenceRow<S = String> {
    /// Stable id of this occurrence (client-given, or derived from trace/span/index/time).
    pub event_id: S,
    /// Project the occurrence belongs to (from the ingest token; `default` in development mode).
    pub project: S,
    /// Grouping key: equal fingerprints are one issue.
    pub fingerprint: S,
    /// Version of the grouping algorithm that computed `fingerprint` (0 = client-sent).
    pub grouping_version: u8,
    /// When the error happened, seconds since the epoch (UTC).
    pub timestamp: u32,
    /// When Faultline accepted it, seconds since the epoch (UTC).
    pub received_at: u32,
    /// Which receiver took it: `otlp_trace`, `otlp_log` or `webhook`.
    pub source: S,
    /// `service.name`.
    pub service: S,
    /// `deployment.environment.name` (or the older `deployment.environment`).
    pub environment: S,
    /// `service.version`.
    pub release: S,
    /// `exception.type`.
    pub exception_type: S,
    /// `exception.message`.
    pub message: S,
    /// `exception.stacktrace` (cut and scrubbed). Stored empty when the text is kept once in
    /// `stacktraces` under `stack_hash`; readers fill it back in.
    pub stacktrace: S,
    /// Hash of the stack trace's text, the key of its row in `stacktraces` (per project and
    /// day); 0 when the text is stored inline (older rows) or there is none.
    pub stack_hash: u64,
    /// Where it happened: the innermost in-app frame, for titles.
    pub culprit: S,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: S,
    /// HTTP response status, 0 when none.
    pub http_status: u16,
    /// HTTP request method.
    pub http_method: S,
    /// HTTP route template.
    pub http_route: S,
    /// Full request URL.
    pub url: S,
    /// Trace id, lower-case hex, empty when none.
    pub trace_id: S,
    /// Span id, lower-case hex, empty when none.
    pub span_id: S,
    /// Keys of the remaining attributes (parallel to `attr_values`).
    pub attr_keys: Vec<S>,
    /// Values of the remaining attributes, as strings.
    pub attr_values: Vec<S>,
}

impl<S: AsRef<str>> OccurrenceRow<S> {
    /// Rough encoded size, used by the writer's byte threshold.
    pub fn approx_bytes(&self) -> usize {
        let strings = self.event_id.as_ref().len()
            + self.project.as_ref().len()
            + self.fingerprint.as_ref().len()
            + self.source.as_ref().len()
            + self.service.as_ref().len()
            + self.environment.as_ref().len()
            + self.release.as_ref().len()
            + self.exception_type.as_ref().len()
            + self.message.as_ref().len()
            + self.stacktrace.as_ref().len()
            + self.culprit.as_ref().len()
            + self.severity.as_ref().len()
            + self.http_method.as_ref().len()
            + self.http_route.as_ref().len()
            + self.url.as_ref().len()
            + self.trace_id.as_ref().len()
            + self.span_id.as_ref().len();
        let attrs: usize = self
            .attr_keys
            .iter()
            .chain(&self.attr_values)
            .map(|s| s.as_ref().len() + 1)
            .sum();
        strings + attrs + 48
    }
}

/// Columns of `stacktraces`, in the order of [`StackTraceRow`].
pub const STACKTRACE_COLUMNS: &[(&str, &str)] = &[
    ("project", "String"),
    ("day", "Date"),
    ("stack_hash", "UInt64"),
    ("stacktrace", "String"),
];

/// One distinct stack trace of a project, stored once per day it occurs on (the day of the
/// occurrences that refer to it, so dropping a day's partitions never orphans an occurrence).
/// The same text may be stored more than once (a restart forgets what was sent); readers take any.
#[derive(Debug, Clone, Default, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct StackTraceRow {
    /// Project.
    pub project: String,
    /// Day (days since the epoch, UTC) of the occurrences that refer to it.
    pub day: u16,
    /// [`OccurrenceRow::stack_hash`].
    pub stack_hash: u64,
    /// The text, cut and scrubbed.
    pub stacktrace: String,
}

/// Columns of `requests_minute`, in the order of [`RequestCountRow`].
pub const REQUEST_COLUMNS: &[(&str, &str)] = &[
    ("project", "String"),
    ("service", "String"),
    ("environment", "String"),
    ("minute", "DateTime('UTC')"),
    ("requests", "UInt64"),
    ("failed", "UInt64"),
];

/// Server requests (SERVER spans) counted per project, service, environment and minute: the
/// denominator of error rates. Rows with the same key are summed by the table engine.
#[derive(Debug, Clone, Default, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct RequestCountRow {
    /// Project.
    pub project: String,
    /// `service.name`.
    pub service: String,
    /// Deployment environment.
    pub environment: String,
    /// Start of the minute, seconds since the epoch (UTC).
    pub minute: u32,
    /// SERVER spans seen in that minute.
    pub requests: u64,
    /// Of those, spans with status ERROR or an HTTP status of 500 and above.
    pub failed: u64,
}

impl RequestCountRow {
    /// Sums rows with the same project, service, environment and minute (what the table engine
    /// would do later; doing it before the insert keeps batches small).
    pub fn merge(rows: impl IntoIterator<Item = RequestCountRow>) -> Vec<RequestCountRow> {
        let mut by: std::collections::HashMap<(String, String, String, u32), (u64, u64)> =
            std::collections::HashMap::new();
        for r in rows {
            let e = by
                .entry((r.project, r.service, r.environment, r.minute))
                .or_default();
            e.0 += r.requests;
            e.1 += r.failed;
        }
        by.into_iter()
            .map(
                |((project, service, environment, minute), (requests, failed))| RequestCountRow {
                    project,
                    service,
                    environment,
                    minute,
                    requests,
                    failed,
                },
            )
            .collect()
    }
}

/// Columns of `issue_states`, in the order of [`IssueStateRow`].
pub const ISSUE_STATE_COLUMNS: &[(&str, &str)] = &[
    ("project", "String"),
    ("fingerprint", "String"),
    ("status", "String"),
    ("actor", "String"),
    ("resolved_in_release", "String"),
    ("ignore_until", "DateTime('UTC')"),
    ("ignore_until_count", "UInt64"),
    ("changed_at", "DateTime('UTC')"),
    ("version", "UInt64"),
];

/// One triage change of an issue; the row with the highest `version` is the current state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct IssueStateRow {
    /// Project.
    pub project: String,
    /// Issue.
    pub fingerprint: String,
    /// `open`, `resolved` or `ignored` (`regressed` is derived, never stored).
    pub status: String,
    /// Who changed it.
    pub actor: String,
    /// For `resolved`: the release that fixes it; only newer releases regress it.
    pub resolved_in_release: String,
    /// For `ignored`: ignore until this time (0 = no time limit).
    pub ignore_until: u32,
    /// For `ignored`: ignore until this many more occurrences (0 = no count limit).
    pub ignore_until_count: u64,
    /// When the change was made, seconds since the epoch.
    pub changed_at: u32,
    /// Monotonic version (milliseconds since the epoch).
    pub version: u64,
}

/// Columns of `alert_deliveries`, in table order.
pub const ALERT_DELIVERY_COLUMNS: &[(&str, &str)] = &[
    ("alert_id", "String"),
    ("channel", "String"),
    ("created_at", "DateTime('UTC')"),
    ("rule", "String"),
    ("event", "String"),
    ("project", "String"),
    ("fingerprint", "String"),
    ("subject", "String"),
    ("payload", "String"),
    ("status", "String"),
    ("attempts", "UInt32"),
    ("next_attempt_at", "DateTime('UTC')"),
    ("last_error", "String"),
    ("updated_at", "DateTime('UTC')"),
    ("step", "UInt64"),
];

/// One change of one delivery (an alert to one channel); the row with the highest `step` is its
/// current state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct AlertDeliveryRow {
    /// The alert's deterministic id (rule, issue or service, trigger window or resolution), the
    /// same for every channel: what receivers dedupe on.
    pub alert_id: String,
    /// The channel's name.
    pub channel: String,
    /// When the alert fired, seconds since the epoch (the same in every row of a delivery).
    pub created_at: u32,
    /// The rule's name.
    pub rule: String,
    /// `new_issue`, `regression`, `count`, `rate` or `test`.
    pub event: String,
    /// Project.
    pub project: String,
    /// The issue (empty for `rate` and `test`).
    pub fingerprint: String,
    /// What it is about, for lists: the exception type, or the service of a `rate` alert.
    pub subject: String,
    /// The alert's facts as JSON (what every channel renders; never a secret).
    pub payload: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    /// Attempts made.
    pub attempts: u32,
    /// When to try again (pending ones).
    pub next_attempt_at: u32,
    /// The last attempt's error (empty once delivered).
    pub last_error: String,
    /// When this row was written.
    pub updated_at: u32,
    /// 1 when recorded, +1 per attempt: the highest wins.
    pub step: u64,
}

/// Columns of `alert_leases`, in table order.
pub const ALERT_LEASE_COLUMNS: &[(&str, &str)] = &[
    ("name", "String"),
    ("holder", "String"),
    ("expires_at", "DateTime('UTC')"),
    ("version", "UInt64"),
];

/// A claim on a lease; the row with the highest `version` is the current holder.
#[derive(Debug, Clone, Default, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct AlertLeaseRow {
    /// The lease (`alerts`).
    pub name: String,
    /// Who holds it (`host:pid:random`).
    pub holder: String,
    /// Until when, seconds since the epoch.
    pub expires_at: u32,
    /// Milliseconds since the epoch × 1000 + a random tie-breaker.
    pub version: u64,
}
