//! What grouping's upgrade transition reads: the issues seen lately.

use clickhouse::Row;
use serde::Deserialize;

use super::{Arg, Sql};
use crate::{Store, StoreError};

/// An issue, by project and fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Row, Deserialize)]
pub struct KnownIssue {
    /// Project.
    pub project: String,
    /// Fingerprint.
    pub fingerprint: String,
}

fn known_issues_sql(db: &str, since: u32) -> Sql {
    let mut sql = Sql::default();
    sql.push(&format!(
        "SELECT project, fingerprint FROM `{db}`.issue_totals GROUP BY project, fingerprint"
    ))
    .arg(
        " HAVING toUInt32(maxMerge(last_seen)) >= ?",
        Arg::U32(since),
    );
    sql
}

impl Store {
    /// Every issue whose last occurrence is at or after `since` (Unix seconds).
    pub async fn known_issues(&self, since: u32) -> Result<Vec<KnownIssue>, StoreError> {
        known_issues_sql(self.database(), since)
            .fetch_all(self)
            .await
    }
}

/// The queries of this module with sample arguments.
pub(super) fn catalog(db: &str) -> Vec<(String, String)> {
    vec![(
        "known_issues".into(),
        known_issues_sql(db, 1_760_000_000).shown(),
    )]
}
