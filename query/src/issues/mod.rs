//! Issues: what they share here (all-time totals, stored states and effective statuses loaded
//! together, the list item, finding an issue's project); one module per job: [`list`] (the issue
//! list), [`detail`] (one issue, its charts, breakdowns, history and grouping explanation),
//! [`occurrences`] (pages of occurrences, one by id), [`triage`] (changing the status).

use std::cmp::Ordering;
use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use faultline_store::queries::{Dimension, Dims, IssueInWindow, IssueTotals, Window};
use faultline_store::{IssueStateRow, OccurrenceRow, Store};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::choice::{self, Choice, Order, Severity, Sort};
use crate::error::QueryError;
use crate::params::{self, rfc3339};
use crate::status::{self, Status};
use crate::{Api, ApiQuery, LabelCount, TimeCount, now_secs};

mod detail;
mod list;
mod occurrences;
mod triage;

pub use detail::*;
pub use list::*;
pub use occurrences::*;
pub use triage::*;

type Key = (String, String);

/// All-time totals, stored states and effective statuses of the issues of a project (or all).
pub(crate) struct Known {
    pub totals: HashMap<Key, IssueTotals>,
    pub states: HashMap<Key, IssueStateRow>,
    pub status: HashMap<Key, Status>,
}

impl Known {
    pub(crate) async fn load(
        store: &Store,
        project: Option<&str>,
        fingerprints: &[String],
        now: u32,
    ) -> Result<Known, QueryError> {
        let (totals, states) = tokio::try_join!(
            store.issue_totals(project, fingerprints),
            store.issue_states(project, fingerprints)
        )?;
        let totals: HashMap<Key, IssueTotals> = totals
            .into_iter()
            .map(|t| ((t.project.clone(), t.fingerprint.clone()), t))
            .collect();
        let states: HashMap<Key, IssueStateRow> = states
            .into_iter()
            .map(|s| ((s.project.clone(), s.fingerprint.clone()), s))
            .collect();
        let status = status::resolve(store, totals.values(), &states, now).await?;
        Ok(Known {
            totals,
            states,
            status,
        })
    }
}

/// One issue in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IssueItem {
    /// Grouping key.
    pub fingerprint: String,
    /// Project.
    pub project: String,
    /// Exception type of the latest occurrence.
    pub exception_type: String,
    /// Message of the latest occurrence.
    pub message: String,
    /// Innermost in-app frame of the latest occurrence.
    pub culprit: String,
    /// Effective status.
    pub status: Status,
    /// Most severe severity in the window: low, medium, high, critical.
    pub severity: String,
    /// Most severe HTTP status in the window (null when none).
    pub http_status: Option<u16>,
    /// HTTP statuses seen in the window.
    pub http_statuses: Vec<u16>,
    /// Occurrences in the window.
    pub count: u64,
    /// Occurrences ever received.
    pub total_count: u64,
    /// First occurrence ever, RFC 3339.
    pub first_seen: String,
    /// Latest occurrence, RFC 3339.
    pub last_seen: String,
    /// Services seen in the window.
    pub services: Vec<String>,
    /// Environments seen in the window.
    pub environments: Vec<String>,
}

const SEVERITIES: [&str; 5] = ["", "low", "medium", "high", "critical"];

fn item(w: IssueInWindow, totals: Option<&IssueTotals>, status: Status) -> IssueItem {
    let mut statuses = w.http_statuses;
    statuses.retain(|s| *s != 0);
    statuses.sort_unstable();
    let mut services = w.services;
    services.sort();
    let mut environments = w.environments;
    environments.sort();
    let (exception_type, message, culprit, total, first, last) = match totals {
        Some(t) => (
            t.exception_type.clone(),
            t.message.clone(),
            t.culprit.clone(),
            t.count,
            t.first_seen,
            t.last_seen,
        ),
        None => (
            String::new(),
            String::new(),
            String::new(),
            w.count,
            w.first_seen,
            w.last_seen,
        ),
    };
    IssueItem {
        fingerprint: w.fingerprint,
        project: w.project,
        exception_type,
        message,
        culprit,
        status,
        severity: SEVERITIES
            .get(w.severity_rank as usize)
            .copied()
            .unwrap_or("")
            .to_string(),
        http_status: statuses.last().copied(),
        http_statuses: statuses,
        count: w.count,
        total_count: total.max(w.count),
        first_seen: rfc3339(first.min(w.first_seen)),
        last_seen: rfc3339(last.max(w.last_seen)),
        services,
        environments,
    }
}

/// `?project=` of the per-issue routes.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProjectParam {
    /// Project of the issue (needed only when the fingerprint exists in several).
    pub project: Option<String>,
}

/// Finds the project of an issue.
async fn locate(api: &Api, fingerprint: &str, project: Option<&str>) -> Result<String, QueryError> {
    locate_totals(api, fingerprint, project)
        .await
        .map(|t| t.project)
}

/// [`locate`], with the issue's all-time totals (its last occurrence among them).
async fn locate_totals(
    api: &Api,
    fingerprint: &str,
    project: Option<&str>,
) -> Result<faultline_store::queries::IssueTotals, QueryError> {
    let mut found = api
        .store
        .issue_totals(
            project.filter(|p| !p.is_empty()),
            &[fingerprint.to_string()],
        )
        .await?;
    match found.len() {
        0 => Err(QueryError::NotFound(format!(
            "no issue {fingerprint:?}{}",
            project
                .map(|p| format!(" in project {p:?}"))
                .unwrap_or_default()
        ))),
        1 => found
            .pop()
            .ok_or_else(|| QueryError::NotFound(format!("no issue {fingerprint:?}"))),
        _ => Err(QueryError::param(
            "project",
            "the fingerprint exists in several projects: name one",
        )),
    }
}
