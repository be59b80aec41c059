//! `GET /api/v1/errors`: issues in a window, filtered, sorted, paginated.

use super::*;

/// Query parameters of `GET /api/v1/errors`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only this project.
    pub project: Option<String>,
    /// Comma list of open, resolved, ignored, regressed.
    #[serde(default, deserialize_with = "choice::list")]
    #[param(value_type = Option<String>)]
    pub status: Vec<Status>,
    /// Comma list of HTTP statuses, e.g. `403,404,500`.
    pub http_status: Option<String>,
    /// Recency: `1d`, `7d`, `10d`, `30d`, any `Nd` or `Nh`. Default: all time.
    pub since: Option<String>,
    /// Window start, RFC 3339 or YYYY-MM-DD (UTC midnight), rounded down to the minute.
    pub from: Option<String>,
    /// Window end (exclusive), RFC 3339 or YYYY-MM-DD (UTC midnight).
    pub to: Option<String>,
    /// Comma list of low, medium, high, critical.
    #[serde(default, deserialize_with = "choice::list")]
    #[param(value_type = Option<String>)]
    pub severity: Vec<Severity>,
    /// Comma list of environments.
    pub environment: Option<String>,
    /// Comma list of releases.
    pub release: Option<String>,
    /// Comma list of services.
    pub service: Option<String>,
    /// Text in the exception type or message (case-insensitive).
    pub q: Option<String>,
    /// count, last_seen (default), first_seen or type.
    #[serde(default, deserialize_with = "choice::one")]
    #[param(value_type = Option<String>)]
    pub sort: Option<Sort>,
    /// asc or desc (default).
    #[serde(default, deserialize_with = "choice::one")]
    #[param(value_type = Option<String>)]
    pub order: Option<Order>,
    /// Page size, 1..=500, default 50.
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page of issues.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuePage {
    /// The issues of this page.
    pub data: Vec<IssueItem>,
    /// Issues matching the filters, all pages.
    pub total: usize,
    /// Pass as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(untagged)]
enum SortKey {
    Num(u64),
    Text(String),
}

#[derive(Debug, Serialize, Deserialize)]
struct ListCursor {
    k: SortKey,
    p: String,
    f: String,
}

fn sort_key(sort: Sort, it: &IssueItem, known: Option<&IssueTotals>) -> SortKey {
    match sort {
        Sort::Count => SortKey::Num(it.count),
        Sort::FirstSeen => SortKey::Num(known.map(|t| t.first_seen).unwrap_or(0) as u64),
        Sort::Type => SortKey::Text(it.exception_type.to_lowercase()),
        Sort::LastSeen => SortKey::Num(known.map(|t| t.last_seen).unwrap_or(0) as u64),
    }
}

pub(crate) fn dims_from(project: Option<&str>, p: &ListParams) -> Result<Dims, QueryError> {
    let severities = p.severity.iter().map(|s| s.as_str().to_string()).collect();
    Ok(Dims {
        project: project.map(String::from),
        fingerprints: Vec::new(),
        services: params::list(p.service.as_deref()),
        environments: params::list(p.environment.as_deref()),
        releases: params::list(p.release.as_deref()),
        http_statuses: params::status_list("http_status", p.http_status.as_deref())?,
        severities,
    })
}

/// Issues, filtered, sorted and paginated.
#[utoipa::path(get, path = "/api/v1/errors", params(ListParams), tag = "issues",
    responses((status = 200, body = IssuePage), (status = 400, description = "A parameter is invalid"), (status = 401)))]
pub async fn list(
    State(api): State<Api>,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Json<IssuePage>, QueryError> {
    let now = now_secs();
    let project = p.project.as_deref().filter(|s| !s.is_empty());
    let statuses = &p.status;
    let sort = p.sort.unwrap_or_default();
    let desc = p.order.unwrap_or_default() == Order::Desc;
    let limit = params::limit(p.limit, 50, 500)? as usize;
    let cursor: Option<ListCursor> = p.cursor.as_deref().map(params::decode_cursor).transpose()?;
    let window = params::window(
        p.since.as_deref(),
        p.from.as_deref(),
        p.to.as_deref(),
        None,
        now,
    )?;
    let dims = dims_from(project, &p)?;
    let q =
        p.q.as_deref()
            .map(str::to_lowercase)
            .filter(|s| !s.is_empty());

    let (rows, known) = tokio::try_join!(
        async {
            api.store
                .issues_in_window(&dims, window)
                .await
                .map_err(QueryError::from)
        },
        Known::load(&api.store, project, &[], now)
    )?;
    let mut items: Vec<(SortKey, IssueItem)> = rows
        .into_iter()
        .filter_map(|r| {
            let key = (r.project.clone(), r.fingerprint.clone());
            let st = known.status.get(&key).copied().unwrap_or(Status::Open);
            if !statuses.is_empty() && !statuses.contains(&st) {
                return None;
            }
            let totals = known.totals.get(&key);
            let it = item(r, totals, st);
            if let Some(q) = &q
                && !it.exception_type.to_lowercase().contains(q)
                && !it.message.to_lowercase().contains(q)
            {
                return None;
            }
            Some((sort_key(sort, &it, totals), it))
        })
        .collect();
    let cmp = |a: &(SortKey, IssueItem), b: &(SortKey, IssueItem)| {
        let o = a.0.partial_cmp(&b.0).unwrap_or(Ordering::Equal);
        let o = if desc { o.reverse() } else { o };
        o.then_with(|| a.1.project.cmp(&b.1.project))
            .then_with(|| a.1.fingerprint.cmp(&b.1.fingerprint))
    };
    items.sort_by(cmp);
    let total = items.len();
    let start = match &cursor {
        None => 0,
        Some(c) => {
            let probe = IssueItem {
                project: c.p.clone(),
                fingerprint: c.f.clone(),
                ..empty_item()
            };
            let probe = (c.k.clone(), probe);
            items.partition_point(|x| cmp(x, &probe) != Ordering::Greater)
        }
    };
    let page: Vec<(SortKey, IssueItem)> = items.into_iter().skip(start).take(limit + 1).collect();
    let next_cursor = if page.len() > limit {
        page.get(limit - 1).map(|(k, it)| {
            params::encode_cursor(&ListCursor {
                k: k.clone(),
                p: it.project.clone(),
                f: it.fingerprint.clone(),
            })
        })
    } else {
        None
    };
    let data = page.into_iter().take(limit).map(|(_, it)| it).collect();
    Ok(Json(IssuePage {
        data,
        total,
        next_cursor,
    }))
}

fn empty_item() -> IssueItem {
    IssueItem {
        fingerprint: String::new(),
        project: String::new(),
        exception_type: String::new(),
        message: String::new(),
        culprit: String::new(),
        status: Status::Open,
        severity: String::new(),
        http_status: None,
        http_statuses: Vec::new(),
        count: 0,
        total_count: 0,
        first_seen: String::new(),
        last_seen: String::new(),
        services: Vec::new(),
        environments: Vec::new(),
    }
}
