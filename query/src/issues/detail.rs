//! `GET /api/v1/errors/{fingerprint}`: one issue with its latest occurrence, charts, breakdowns,
//! status history and why it was grouped so.

use super::*;

/// Current triage state, as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct StateInfo {
    /// open, resolved or ignored, as last set.
    pub status: String,
    /// Who set it.
    pub by: String,
    /// When, RFC 3339.
    pub changed_at: String,
    /// The release that fixes it (resolved only).
    pub resolved_in_release: Option<String>,
    /// End of the ignore period (ignored only).
    pub ignore_until: Option<String>,
    /// Occurrences that end the ignore (ignored only).
    pub ignore_until_count: Option<u64>,
}

impl From<&IssueStateRow> for StateInfo {
    fn from(s: &IssueStateRow) -> Self {
        StateInfo {
            status: s.status.clone(),
            by: s.actor.clone(),
            changed_at: rfc3339(s.changed_at),
            resolved_in_release: (!s.resolved_in_release.is_empty())
                .then(|| s.resolved_in_release.clone()),
            ignore_until: (s.ignore_until > 0).then(|| rfc3339(s.ignore_until)),
            ignore_until_count: (s.ignore_until_count > 0).then_some(s.ignore_until_count),
        }
    }
}

/// One issue in detail.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssueDetail {
    /// The issue, with `count` over all retained data.
    #[serde(flatten)]
    pub issue: IssueItem,
    /// Triage state as last set (null when never set).
    pub state: Option<StateInfo>,
    /// The latest occurrence.
    pub latest: Option<Occurrence>,
    /// Occurrences per hour, the last 24 hours (every hour present).
    pub hourly_24h: Vec<TimeCount>,
    /// Occurrences per day, the last 30 days (every day present).
    pub daily_30d: Vec<TimeCount>,
    /// Occurrences per environment (retained data).
    pub by_environment: Vec<LabelCount>,
    /// Occurrences per release (retained data).
    pub by_release: Vec<LabelCount>,
    /// Occurrences per service (retained data).
    pub by_service: Vec<LabelCount>,
    /// Occurrences per HTTP status, `0` for none (retained data).
    pub by_http_status: Vec<LabelCount>,
    /// Every triage change, newest first (at most 50).
    pub history: Vec<StateInfo>,
    /// Why the latest occurrence was grouped as it was (null without one).
    pub grouping: Option<GroupingExplanation>,
}

/// What grouping looked at for an occurrence (`faultline fingerprint --explain`, as data).
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupingExplanation {
    /// The grouping version that stored the occurrence (0: the client's fingerprint).
    pub stored_version: u8,
    /// The grouping version explained here (the current one).
    pub version: u8,
    /// What the current version computes for the occurrence as stored (it differs from the
    /// issue's when the client chose the fingerprint, during a version transition, or when the
    /// stored trace was cut to its size limit).
    pub fingerprint: String,
    /// `frames`, `message`, `rule` or `client`.
    pub basis: String,
    /// The exception type hashed.
    pub exception_type: String,
    /// Which exception of the chain was used (0: the outermost), of how many, and why.
    pub exception_index: Option<usize>,
    /// How many exceptions the chain holds.
    pub exception_count: Option<usize>,
    /// Why that exception.
    pub exception_rule: Option<String>,
    /// The frames of that exception, innermost first.
    pub frames: Vec<ExplainedFrame>,
    /// The masked message, when the message was hashed.
    pub message: Option<String>,
}

/// One frame as grouping saw it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExplainedFrame {
    /// Module, package, class or file (normalized).
    pub module: String,
    /// Function (normalized).
    pub function: String,
    /// Whether it is the application's code.
    pub in_app: bool,
    /// Whether it is part of the fingerprint.
    pub counted: bool,
    /// Why: counted, library, composition, repeat, reporting, where it was caught, …
    pub note: String,
}

/// The explanation of `o`'s grouping under `config`.
fn explain_row(
    o: &OccurrenceRow,
    config: Option<&faultline_collector::fingerprint::GroupingConfig>,
) -> GroupingExplanation {
    use faultline_collector::fingerprint::{GroupingInput, Stack, explain};
    let (g, e) = explain(&GroupingInput {
        project: &o.project,
        service: &o.service,
        exception_type: &o.exception_type,
        message: &o.message,
        stack: Stack::Text(&o.stacktrace),
        client_fingerprint: None,
        config,
    });
    GroupingExplanation {
        stored_version: o.grouping_version,
        version: e.version,
        fingerprint: g.fingerprint,
        basis: e.basis.to_string(),
        exception_type: e.exception_type,
        exception_index: e.exception.map(|(i, _, _)| i),
        exception_count: e.exception.map(|(_, n, _)| n),
        exception_rule: e.exception.map(|(_, _, r)| r.to_string()),
        frames: e
            .frames
            .into_iter()
            .map(|f| ExplainedFrame {
                module: f.module,
                function: f.function,
                in_app: f.in_app,
                counted: f.note.counted(),
                note: f.note.as_str().to_string(),
            })
            .collect(),
        message: e.message,
    }
}

/// Fills every `step` bucket of `[from, to)`.
pub(crate) fn fill(
    from: u32,
    to: u32,
    step: u32,
    got: &[faultline_store::queries::BucketCount],
) -> Vec<TimeCount> {
    let by_t: HashMap<u32, u64> = got.iter().map(|b| (b.t, b.count)).collect();
    (from..to)
        .step_by(step as usize)
        .map(|t| TimeCount {
            t: rfc3339(t),
            count: by_t.get(&t).copied().unwrap_or(0),
        })
        .collect()
}

/// One issue: everything in the list plus the latest occurrence, trends and breakdowns.
#[utoipa::path(get, path = "/api/v1/errors/{fingerprint}", params(("fingerprint" = String, Path, description = "Issue fingerprint"), ProjectParam), tag = "issues",
    responses((status = 200, body = IssueDetail), (status = 404, description = "No such issue"), (status = 401)))]
pub async fn detail(
    State(api): State<Api>,
    Path(fingerprint): Path<String>,
    ApiQuery(p): ApiQuery<ProjectParam>,
) -> Result<Json<IssueDetail>, QueryError> {
    let now = now_secs();
    let located = locate_totals(&api, &fingerprint, p.project.as_deref()).await?;
    let project = located.project.clone();
    let all = Window::new(0, params::now_end(now));
    let dims = Dims {
        project: Some(project.clone()),
        fingerprints: vec![fingerprint.clone()],
        ..Dims::default()
    };
    let hour_end = now - now % 3600 + 3600;
    let day_end = now - now % 86_400 + 86_400;
    let s = &api.store;
    // The last occurrence is known from locating the issue: its row is read beside the rest.
    let (win, known, latest, hourly, daily, breakdown, history) = tokio::try_join!(
        async {
            s.issues_in_window(&dims, all)
                .await
                .map_err(QueryError::from)
        },
        Known::load(s, Some(&project), std::slice::from_ref(&fingerprint), now),
        async {
            s.latest_occurrence(&project, &fingerprint, located.last_seen)
                .await
                .map_err(QueryError::from)
        },
        async {
            s.issue_buckets(
                &project,
                &fingerprint,
                Window::new(hour_end - 24 * 3600, hour_end),
                3600,
            )
            .await
            .map_err(QueryError::from)
        },
        async {
            s.issue_buckets(
                &project,
                &fingerprint,
                Window::new(day_end - 30 * 86_400, day_end),
                86_400,
            )
            .await
            .map_err(QueryError::from)
        },
        async {
            s.breakdown_by(
                &dims,
                all,
                &[
                    Dimension::Environment,
                    Dimension::Release,
                    Dimension::Service,
                    Dimension::HttpStatus,
                ],
            )
            .await
            .map_err(QueryError::from)
        },
        async {
            s.issue_state_history(&project, &fingerprint, 50)
                .await
                .map_err(QueryError::from)
        },
    )?;
    let key = (project.clone(), fingerprint.clone());
    let totals = known.totals.get(&key);
    let status = known.status.get(&key).copied().unwrap_or(Status::Open);
    let w = win.into_iter().next().unwrap_or(IssueInWindow {
        project: project.clone(),
        fingerprint: fingerprint.clone(),
        count: 0,
        first_seen: totals.map(|t| t.first_seen).unwrap_or(0),
        last_seen: totals.map(|t| t.last_seen).unwrap_or(0),
        severity_rank: 0,
        http_statuses: Vec::new(),
        services: Vec::new(),
        environments: Vec::new(),
    });
    let state = known.states.get(&key).map(StateInfo::from);
    let labels = |i: usize| {
        let mut by: HashMap<String, u64> = HashMap::new();
        for r in &breakdown {
            *by.entry(r.labels.get(i).cloned().unwrap_or_default())
                .or_default() += r.count;
        }
        let mut v: Vec<LabelCount> = by
            .into_iter()
            .map(|(label, count)| LabelCount { label, count })
            .collect();
        v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.label.cmp(&b.label)));
        v
    };
    Ok(Json(IssueDetail {
        issue: item(w, totals, status),
        state,
        hourly_24h: fill(hour_end - 24 * 3600, hour_end, 3600, &hourly),
        daily_30d: fill(day_end - 30 * 86_400, day_end, 86_400, &daily),
        by_environment: labels(0),
        by_release: labels(1),
        by_service: labels(2),
        by_http_status: labels(3),
        history: history.iter().map(StateInfo::from).collect(),
        grouping: latest
            .as_ref()
            .map(|o| explain_row(o, api.grouping.get(&project))),
        latest: latest.map(Occurrence::from),
    }))
}
