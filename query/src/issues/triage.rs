//! `PUT /api/v1/errors/{fingerprint}/status`: resolve, ignore, reopen.

use super::*;

/// Body of `PUT /api/v1/errors/{fingerprint}/status`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// resolved, ignored or open.
    pub status: String,
    /// Who makes the change.
    #[serde(default)]
    pub by: Option<String>,
    /// With resolved: only occurrences in a newer release regress the issue.
    #[serde(default)]
    pub resolved_in_release: Option<String>,
    /// With ignored: the ignore ends at this time (RFC 3339).
    #[serde(default)]
    pub ignore_until: Option<String>,
    /// With ignored: the ignore ends after this many more occurrences.
    #[serde(default)]
    pub ignore_until_count: Option<u64>,
}

/// Resolves, ignores or reopens an issue. The state is stored in ClickHouse.
#[utoipa::path(put, path = "/api/v1/errors/{fingerprint}/status", params(("fingerprint" = String, Path, description = "Issue fingerprint"), ProjectParam), request_body = StatusChange, tag = "issues",
    responses((status = 200, body = IssueDetail), (status = 400, description = "Invalid body"), (status = 404, description = "No such issue"), (status = 401)))]
pub async fn set_status(
    State(api): State<Api>,
    Path(fingerprint): Path<String>,
    ApiQuery(p): ApiQuery<ProjectParam>,
    body: Result<Json<StatusChange>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<IssueDetail>, QueryError> {
    let Json(c) = body.map_err(|e| QueryError::BadRequest(format!("body: {}", e.body_text())))?;
    if !["resolved", "ignored", "open"].contains(&c.status.as_str()) {
        return Err(QueryError::BadRequest(format!(
            "body field `status`: {:?} is not one of resolved, ignored, open",
            c.status
        )));
    }
    if c.resolved_in_release.is_some() && c.status != "resolved" {
        return Err(QueryError::BadRequest(
            "body field `resolved_in_release` goes with status resolved only".into(),
        ));
    }
    if (c.ignore_until.is_some() || c.ignore_until_count.is_some()) && c.status != "ignored" {
        return Err(QueryError::BadRequest(
            "body fields `ignore_until` and `ignore_until_count` go with status ignored only"
                .into(),
        ));
    }
    let ignore_until = c
        .ignore_until
        .as_deref()
        .map(|t| params::parse_time("ignore_until", t))
        .transpose()?
        .unwrap_or(0);
    let project = locate(&api, &fingerprint, p.project.as_deref()).await?;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    api.store
        .set_issue_state(&IssueStateRow {
            project: project.clone(),
            fingerprint: fingerprint.clone(),
            status: c.status,
            actor: c.by.unwrap_or_default(),
            resolved_in_release: c.resolved_in_release.unwrap_or_default(),
            ignore_until,
            ignore_until_count: c.ignore_until_count.unwrap_or(0),
            changed_at: (now_ms / 1000) as u32,
            version: now_ms,
        })
        .await?;
    detail(
        State(api),
        Path(fingerprint),
        ApiQuery(ProjectParam {
            project: Some(project),
        }),
    )
    .await
}
