//! An issue's occurrences: pages newest first, and one by event id.

use super::*;

/// The request an occurrence happened in.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestInfo {
    /// HTTP method.
    pub method: String,
    /// Route template.
    pub route: String,
    /// Full URL.
    pub url: String,
    /// Response status (null when none).
    pub status: Option<u16>,
}

/// One occurrence, in full.
#[derive(Debug, Serialize, ToSchema)]
pub struct Occurrence {
    /// Stable id.
    pub event_id: String,
    /// Issue.
    pub fingerprint: String,
    /// Grouping version that computed the fingerprint (0 = sent by the client).
    pub grouping_version: u8,
    /// When it happened, RFC 3339.
    pub timestamp: String,
    /// When Faultline received it, RFC 3339.
    pub received_at: String,
    /// otlp_trace, otlp_log or webhook.
    pub source: String,
    /// Service.
    pub service: String,
    /// Environment.
    pub environment: String,
    /// Release.
    pub release: String,
    /// Exception type.
    pub exception_type: String,
    /// Message.
    pub message: String,
    /// Stack trace as sent.
    pub stacktrace: String,
    /// Innermost in-app frame.
    pub culprit: String,
    /// Severity.
    pub severity: String,
    /// HTTP context.
    pub request: RequestInfo,
    /// Trace id (hex), empty when none.
    pub trace_id: String,
    /// Span id (hex), empty when none.
    pub span_id: String,
    /// Other attributes.
    pub attributes: HashMap<String, String>,
}

impl From<OccurrenceRow> for Occurrence {
    fn from(r: OccurrenceRow) -> Self {
        Occurrence {
            event_id: r.event_id,
            fingerprint: r.fingerprint,
            grouping_version: r.grouping_version,
            timestamp: rfc3339(r.timestamp),
            received_at: rfc3339(r.received_at),
            source: r.source,
            service: r.service,
            environment: r.environment,
            release: r.release,
            exception_type: r.exception_type,
            message: r.message,
            stacktrace: r.stacktrace,
            culprit: r.culprit,
            severity: r.severity,
            request: RequestInfo {
                method: r.http_method,
                route: r.http_route,
                url: r.url,
                status: (r.http_status != 0).then_some(r.http_status),
            },
            trace_id: r.trace_id,
            span_id: r.span_id,
            attributes: r.attr_keys.into_iter().zip(r.attr_values).collect(),
        }
    }
}

/// Query parameters of the occurrences route.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OccurrenceParams {
    /// Project of the issue (needed only when the fingerprint exists in several).
    pub project: Option<String>,
    /// Page size, 1..=500, default 50.
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page of occurrences.
#[derive(Debug, Serialize, ToSchema)]
pub struct OccurrencePage {
    /// Newest first.
    pub data: Vec<Occurrence>,
    /// Pass as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

/// Occurrences of one issue, newest first.
#[utoipa::path(get, path = "/api/v1/errors/{fingerprint}/occurrences", params(("fingerprint" = String, Path, description = "Issue fingerprint"), OccurrenceParams), tag = "issues",
    responses((status = 200, body = OccurrencePage), (status = 404, description = "No such issue"), (status = 401)))]
pub async fn occurrences(
    State(api): State<Api>,
    Path(fingerprint): Path<String>,
    ApiQuery(p): ApiQuery<OccurrenceParams>,
) -> Result<Json<OccurrencePage>, QueryError> {
    let limit = params::limit(p.limit, 50, 500)?;
    let cursor: Option<(u32, String)> =
        p.cursor.as_deref().map(params::decode_cursor).transpose()?;
    let project = locate(&api, &fingerprint, p.project.as_deref()).await?;
    let rows = api
        .store
        .occurrences_page(
            &project,
            Some(&fingerprint),
            cursor.as_ref().map(|(t, id)| (*t, id.as_str())),
            limit + 1,
        )
        .await?;
    let next_cursor = if rows.len() > limit as usize {
        rows.get(limit as usize - 1)
            .map(|r| params::encode_cursor(&(r.timestamp, r.event_id.clone())))
    } else {
        None
    };
    Ok(Json(OccurrencePage {
        data: rows
            .into_iter()
            .take(limit as usize)
            .map(Occurrence::from)
            .collect(),
        next_cursor,
    }))
}

/// One occurrence of an issue by its event id, with its stack trace.
#[utoipa::path(get, path = "/api/v1/errors/{fingerprint}/occurrences/{event_id}", params(("fingerprint" = String, Path, description = "Issue fingerprint"), ("event_id" = String, Path, description = "Event id"), ProjectParam), tag = "issues",
    responses((status = 200, body = Occurrence), (status = 404, description = "No such issue or occurrence"), (status = 401)))]
pub async fn occurrence(
    State(api): State<Api>,
    Path((fingerprint, event_id)): Path<(String, String)>,
    ApiQuery(p): ApiQuery<ProjectParam>,
) -> Result<Json<Occurrence>, QueryError> {
    let project = locate(&api, &fingerprint, p.project.as_deref()).await?;
    match api
        .store
        .occurrence(&project, &fingerprint, &event_id)
        .await?
    {
        Some(o) => Ok(Json(Occurrence::from(o))),
        None => Err(QueryError::NotFound(format!(
            "no occurrence {event_id:?} in issue {fingerprint:?}"
        ))),
    }
}
