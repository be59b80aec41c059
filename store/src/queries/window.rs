//! Time windows and rollup dimensions: which rows of `issues_minute`, `issues_hour` and
//! `issues_day` serve a window `[from, to)`, filtered by the API's dimensions.

use super::sql::{Arg, Sql};

/// A time window `[from, to)`, seconds since the epoch, aligned to the minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Inclusive start.
    pub from: u32,
    /// Exclusive end.
    pub to: u32,
}

impl Window {
    /// The window, with both ends rounded down to the minute.
    pub fn new(from: u32, to: u32) -> Self {
        Window {
            from: from - from % 60,
            to: to - to % 60,
        }
    }
}

/// Filters on the rollups' dimensions. Empty lists mean "any".
#[derive(Debug, Clone, Default)]
pub struct Dims {
    /// Only this project.
    pub project: Option<String>,
    /// Only these issues.
    pub fingerprints: Vec<String>,
    /// Any of these services.
    pub services: Vec<String>,
    /// Any of these environments.
    pub environments: Vec<String>,
    /// Any of these releases.
    pub releases: Vec<String>,
    /// Any of these HTTP statuses.
    pub http_statuses: Vec<u16>,
    /// Any of these severities.
    pub severities: Vec<String>,
}

impl Dims {
    fn filter(&self, sql: &mut Sql) {
        if let Some(p) = &self.project {
            sql.arg(" AND project = ?", Arg::Str(p.clone()));
        }
        let strs = |v: &Vec<String>| v.iter().cloned().map(Arg::Str).collect::<Vec<_>>();
        sql.in_list("fingerprint", strs(&self.fingerprints));
        sql.in_list("service", strs(&self.services));
        sql.in_list("environment", strs(&self.environments));
        sql.in_list("release", strs(&self.releases));
        sql.in_list("severity", strs(&self.severities));
        sql.in_list(
            "http_status",
            self.http_statuses
                .iter()
                .map(|s| Arg::U32(u32::from(*s)))
                .collect(),
        );
    }
}

/// The coarsest rollup a query may read: a series with 5-minute buckets must not read hour rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    Minute,
    Hour,
    Day,
}

/// Splits `[from, to)` into the ranges each rollup serves: whole days from `issues_day`, whole
/// hours around them from `issues_hour`, the minutes at the edges from `issues_minute`.
fn split(w: Window, max: Level) -> Vec<(Level, u32, u32)> {
    fn up(t: u32, s: u32) -> u32 {
        t.div_ceil(s) * s
    }
    fn down(t: u32, s: u32) -> u32 {
        t - t % s
    }
    let mut out = Vec::new();
    let (h0, h1) = (up(w.from, 3600), down(w.to, 3600));
    if max == Level::Minute || h0 >= h1 {
        out.push((Level::Minute, w.from, w.to));
    } else {
        out.push((Level::Minute, w.from, h0));
        out.push((Level::Minute, h1, w.to));
        let (d0, d1) = (up(h0, 86_400), down(h1, 86_400));
        if max == Level::Hour || d0 >= d1 {
            out.push((Level::Hour, h0, h1));
        } else {
            out.push((Level::Hour, h0, d0));
            out.push((Level::Hour, d1, h1));
            out.push((Level::Day, d0, d1));
        }
    }
    out.retain(|(_, a, b)| a < b);
    out
}

/// The rollup rows of `[from, to)`, with the columns `cols` plus `bucket` (the row's time).
pub(crate) fn rollup_source(
    db: &str,
    dims: &Dims,
    w: Window,
    max: Level,
    cols: &str,
    sql: &mut Sql,
) {
    let parts = split(w, max);
    sql.push("(");
    if parts.is_empty() {
        // An empty window: a source with the right columns and no rows.
        sql.push(&format!(
            "SELECT {cols}, minute AS bucket FROM `{db}`.issues_minute WHERE 0"
        ));
    }
    for (i, (level, from, to)) in parts.into_iter().enumerate() {
        let (table, col) = match level {
            Level::Minute => ("issues_minute", "minute"),
            Level::Hour => ("issues_hour", "hour"),
            Level::Day => ("issues_day", "day"),
        };
        if i > 0 {
            sql.push(" UNION ALL ");
        }
        sql.push(&format!(
            "SELECT {cols}, {col} AS bucket FROM `{db}`.{table} WHERE 1"
        ));
        dims.filter(sql);
        sql.arg(&format!(" AND {col} >= ?"), Arg::U32(from))
            .arg(&format!(" AND {col} < ?"), Arg::U32(to));
    }
    sql.push(") AS r");
}
