//! `/api/v1/alerts`: the rules and channels in force, the delivery log, and a test send. Mounted
//! on the API listener beside the query routes, behind the same API keys, in the same OpenAPI
//! document; errors in the API's JSON shape (`faultline_query::error::QueryError`).

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use faultline_query::ApiQuery;
use faultline_query::error::QueryError;
use faultline_store::AlertDeliveryRow;
use faultline_store::alerts::DeliveryFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::alert::rfc3339;
use crate::engine::{Engine, TestError};
use crate::rule::Trigger;

/// The alerts routes and their OpenAPI document.
pub fn router(engine: Engine) -> (axum::Router, utoipa::openapi::OpenApi) {
    let (router, doc) = OpenApiRouter::new()
        .routes(routes!(rules))
        .routes(routes!(deliveries))
        .routes(routes!(test))
        .split_for_parts();
    (router.with_state(engine), doc)
}

/// A rule as configured.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleView {
    /// Name.
    pub name: String,
    /// `new_issue`, `regression`, `count` or `rate`.
    pub when: String,
    /// Only this project (all when absent).
    pub project: Option<String>,
    /// Only this service.
    pub service: Option<String>,
    /// Only this environment.
    pub environment: Option<String>,
    /// Only issues at least this severe.
    pub severity: Option<String>,
    /// count: occurrences; rate: error ratio.
    pub threshold: Option<f64>,
    /// count, rate: the window in seconds.
    pub window_secs: Option<u64>,
    /// rate: fewest requests for a verdict.
    pub min_requests: Option<u64>,
    /// At most one alert per issue (service) per this many seconds.
    pub interval_secs: u64,
    /// Channel names.
    pub channels: Vec<String>,
}

/// A channel as configured, without its URL, secret or password.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelView {
    /// Name.
    pub name: String,
    /// `webhook`, `slack` or `email`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Host (and recipients for e-mail): nothing secret.
    pub target: String,
}

/// Rules and channels in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct RulesResponse {
    /// Rules.
    pub rules: Vec<RuleView>,
    /// Channels.
    pub channels: Vec<ChannelView>,
}

/// `GET /api/v1/alerts/rules`: the rules and channels in force (from the configuration file).
#[utoipa::path(get, path = "/api/v1/alerts/rules", tag = "alerts",
    responses((status = 200, description = "Rules and channels", body = RulesResponse)))]
async fn rules(State(engine): State<Engine>) -> Json<RulesResponse> {
    let a = engine.alerts();
    let rules = a
        .rules
        .iter()
        .map(|r| {
            let (threshold, window, min_requests) = match r.trigger {
                Trigger::Count { threshold, window } => {
                    (Some(threshold as f64), Some(window.as_secs()), None)
                }
                Trigger::Rate {
                    threshold,
                    window,
                    min_requests,
                } => (Some(threshold), Some(window.as_secs()), Some(min_requests)),
                _ => (None, None, None),
            };
            RuleView {
                name: r.name.clone(),
                when: r.trigger.event().as_str().into(),
                project: r.project.clone(),
                service: r.service.clone(),
                environment: r.environment.clone(),
                severity: r.severity.map(|s| format!("{s:?}").to_lowercase()),
                threshold,
                window_secs: window,
                min_requests,
                interval_secs: r.interval.as_secs(),
                channels: r.channels.clone(),
            }
        })
        .collect();
    let channels = a
        .channels
        .iter()
        .map(|c| ChannelView {
            name: c.name.clone(),
            kind: c.kind.kind().into(),
            target: c.kind.target(),
        })
        .collect();
    Json(RulesResponse { rules, channels })
}

/// Filters of the delivery log.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesParams {
    /// Only this project.
    pub project: Option<String>,
    /// `pending`, `delivered` or `failed`.
    pub status: Option<String>,
    /// At most this many (1–500, default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One delivery: an alert to one channel.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// The alert's id (`X-Faultline-Delivery`), the same on every channel.
    pub alert_id: String,
    /// Rule (empty for a test).
    pub rule: String,
    /// Channel.
    pub channel: String,
    /// `new_issue`, `regression`, `count`, `rate` or `test`.
    pub event: String,
    /// Project.
    pub project: String,
    /// The issue (empty for `rate` and `test`).
    pub fingerprint: String,
    /// Exception type (or the service of a `rate` alert).
    pub subject: String,
    /// Attempts made.
    pub attempts: u32,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    /// The last attempt's error.
    pub last_error: String,
    /// When the alert fired, RFC 3339.
    pub created_at: String,
    /// When the delivery last changed, RFC 3339.
    pub updated_at: String,
    /// Pending: the next attempt, RFC 3339.
    pub next_attempt_at: Option<String>,
}

impl From<AlertDeliveryRow> for DeliveryView {
    fn from(r: AlertDeliveryRow) -> Self {
        DeliveryView {
            next_attempt_at: (r.status == "pending").then(|| rfc3339(r.next_attempt_at)),
            alert_id: r.alert_id,
            rule: r.rule,
            channel: r.channel,
            event: r.event,
            project: r.project,
            fingerprint: r.fingerprint,
            subject: r.subject,
            attempts: r.attempts,
            status: r.status,
            last_error: r.last_error,
            created_at: rfc3339(r.created_at),
            updated_at: rfc3339(r.updated_at),
        }
    }
}

/// A page of the delivery log.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveriesResponse {
    /// Newest first.
    pub deliveries: Vec<DeliveryView>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

fn cursor_of(r: &AlertDeliveryRow) -> String {
    format!(
        "{}.{}.{}",
        r.created_at,
        r.alert_id,
        const_hex::encode(&r.channel)
    )
}

fn parse_cursor(c: &str) -> Option<(u32, String, String)> {
    let mut parts = c.splitn(3, '.');
    let at = parts.next()?.parse().ok()?;
    let id = parts.next()?.to_string();
    let channel = String::from_utf8(const_hex::decode(parts.next()?).ok()?).ok()?;
    Some((at, id, channel))
}

/// `GET /api/v1/alerts/deliveries`: every delivery (an alert to one channel), newest first.
#[utoipa::path(get, path = "/api/v1/alerts/deliveries", tag = "alerts", params(DeliveriesParams),
    responses((status = 200, description = "Deliveries", body = DeliveriesResponse),
              (status = 400, description = "A parameter is invalid")))]
async fn deliveries(
    State(engine): State<Engine>,
    ApiQuery(p): ApiQuery<DeliveriesParams>,
) -> Result<Json<DeliveriesResponse>, QueryError> {
    let limit = p.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(QueryError::param("limit", "must be between 1 and 500"));
    }
    if let Some(s) = &p.status
        && !matches!(s.as_str(), "pending" | "delivered" | "failed")
    {
        return Err(QueryError::param(
            "status",
            format!("{s:?}: use pending, delivered or failed"),
        ));
    }
    let before = match &p.cursor {
        Some(c) => Some(
            parse_cursor(c)
                .ok_or_else(|| QueryError::param("cursor", "not a cursor this API gave"))?,
        ),
        None => None,
    };
    let filter = DeliveryFilter {
        project: p.project,
        status: p.status,
        before,
        limit: limit + 1,
    };
    let mut rows = engine.deliveries(&filter).await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = if more {
        rows.last().map(cursor_of)
    } else {
        None
    };
    Ok(Json(DeliveriesResponse {
        deliveries: rows.into_iter().map(DeliveryView::from).collect(),
        next_cursor,
    }))
}

/// Which channel to test.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TestRequest {
    /// A channel's name.
    pub channel: String,
}

/// `POST /api/v1/alerts/test`: sends an event `test` to a channel now, once, and says how it
/// went (recorded in the delivery log too).
#[utoipa::path(post, path = "/api/v1/alerts/test", tag = "alerts", request_body = TestRequest,
    responses((status = 200, description = "Sent (see `status`)", body = DeliveryView),
              (status = 400, description = "Malformed body"),
              (status = 404, description = "No such channel")))]
async fn test(
    State(engine): State<Engine>,
    body: Result<Json<TestRequest>, JsonRejection>,
) -> Result<Json<DeliveryView>, QueryError> {
    let Json(req) = body.map_err(|e| QueryError::BadRequest(format!("body: {}", e.body_text())))?;
    match engine.test(&req.channel).await {
        Ok(row) => Ok(Json(row.into())),
        Err(TestError::UnknownChannel(c)) => Err(QueryError::NotFound(format!(
            "no alerts channel named {c:?}"
        ))),
        Err(TestError::Store(e)) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_any_channel_name() {
        let r = AlertDeliveryRow {
            created_at: 1_700_000_000,
            alert_id: "ab12".into(),
            channel: "ops.chat/α".into(),
            ..AlertDeliveryRow::default()
        };
        assert_eq!(
            parse_cursor(&cursor_of(&r)),
            Some((1_700_000_000, "ab12".into(), "ops.chat/α".into()))
        );
        assert_eq!(parse_cursor("x.y"), None);
    }
}
