//! Sentry's outgoing webhooks (`POST /sentry/webhook/{token}`, the token picks the Faultline
//! project): for teams that keep Sentry and want its errors in Faultline too (seeds 001, 003).
//!
//! - **Signature**: `Sentry-Hook-Signature` (integration platform) or `X-ServiceHook-Signature`
//!   (service hooks) is the hex HMAC-SHA256 of the raw body with the shared secret
//!   (`FAULTLINE_SENTRY_HOOK_SECRET`). With a secret set, a missing or wrong signature is 401 and
//!   nothing is stored. Compared in constant time.
//! - **Project filter**: with `FAULTLINE_SENTRY_HOOK_PROJECTS` set, a payload naming another
//!   Sentry project is 403 (seed 003's `SENTRY_FILTER_BY_PROJECT`).
//! - **Dispatch** on `Sentry-Hook-Resource`: `event_alert` (`data.event`) and `error`
//!   (`data.error`) become occurrences through the DSN mapping ([`super::event`]); `issue`
//!   actions are counted, not stored as occurrences; `installation`, `metric_alert`, `comment` and
//!   unknown resources are answered 200 and counted. Without the header: the legacy plugin's body
//!   (`project_slug`, `event`), a service hook's (`project.slug`, `group`, `event`), and seed 003's
//!   flat event (`exception.stacktrace` as text).
//!
//! Every delivery is counted by resource and action (`faultline_sentry_hook_deliveries_total`).
//! Sentry wants an answer within a second: the event is spooled (one fsync) and answered.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;
use hmac::{Hmac, Mac};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use sha2::Sha256;

use crate::error::IngestError;
use crate::event::{ErrorEvent, Source};
use crate::http::{json_ok, read_request};
use crate::ingest::{Ingest, Job};
use crate::labelled::{LabelledCounts, label};
use crate::receiver::Receiver;

use super::event::{Context, to_event};
use super::json::Json;

const RECEIVER: Receiver = Receiver::SentryWebhook;

/// How Sentry's webhooks are checked.
#[derive(Clone, Default)]
pub struct HookSettings {
    /// The shared secret (client secret of the integration, or the service hook's); `None`:
    /// unsigned deliveries are taken (Sentry's legacy plugin signs nothing).
    pub secret: Option<String>,
    /// Sentry project slugs accepted; empty: all.
    pub projects: Vec<String>,
}

impl std::fmt::Debug for HookSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookSettings")
            .field("secret", &self.secret.as_ref().map(|_| "[redacted]"))
            .field("projects", &self.projects)
            .finish()
    }
}

/// Deliveries by (resource, action).
#[derive(Debug)]
pub struct HookDeliveries(LabelledCounts<2>);

impl Default for HookDeliveries {
    fn default() -> Self {
        HookDeliveries(LabelledCounts::new(200))
    }
}

impl HookDeliveries {
    fn add(&self, resource: &str, action: &str) {
        self.0
            .add([label(resource, 40, "none"), label(action, 40, "none")], 1);
    }

    /// Deliveries of `resource` with `action` so far.
    pub fn count(&self, resource: &str, action: &str) -> u64 {
        self.0.count([resource, action])
    }
}

/// [`HookDeliveries`] as a Prometheus collector.
#[derive(Debug, Clone)]
pub struct HookMetrics(pub std::sync::Arc<HookDeliveries>);

impl Collector for HookMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        self.0.0.encode(
            &mut encoder,
            "sentry_hook_deliveries",
            "Sentry webhook deliveries accepted, by resource and action.",
            ["resource", "action"],
        )
    }
}

/// The webhook route.
pub fn router(ingest: Ingest) -> Router {
    Router::new()
        .route("/sentry/webhook/{token}", post(hook))
        .with_state(ingest)
}

/// Whether `signature` (hex) is the HMAC-SHA256 of `body` under `secret`, in constant time.
pub fn signature_matches(secret: &str, body: &[u8], signature: &str) -> bool {
    let Ok(given) = const_hex::decode(signature.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// The hex signature Sentry would send for `body` (for tests and tools).
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    const_hex::encode(mac.finalize().into_bytes())
}

/// What a delivery is.
#[derive(Debug, PartialEq, Eq)]
enum Shape<'v> {
    /// Carries one event to store.
    Event(&'v Json<'v>),
    /// Seed 003's flat event, its stack trace as text.
    Flat(&'v Json<'v>),
    /// Counted only.
    Other,
}

/// The shape of a delivery, by its `Sentry-Hook-Resource` header or, without one, by its body.
fn shape<'v>(resource: &str, body: &'v Json<'v>) -> Shape<'v> {
    let data = &body["data"];
    match resource {
        "event_alert" => data.get("event").map_or(Shape::Other, Shape::Event),
        "error" => data.get("error").map_or(Shape::Other, Shape::Event),
        "" => match body.get("event") {
            // The legacy plugin's and service hooks' bodies hold the event.
            Some(ev) if ev.is_object() => Shape::Event(ev),
            _ if body.get("exception").is_some() || body.get("message").is_some() => {
                Shape::Flat(body)
            }
            _ => Shape::Other,
        },
        _ => Shape::Other,
    }
}

/// The Sentry project slug a delivery names, where its shape says it.
fn project_slug<'v>(body: &'v Json<'v>, event: Option<&'v Json<'v>>) -> Option<&'v str> {
    let text = |v: Option<&'v Json<'v>>| v.and_then(Json::as_str).filter(|s| !s.is_empty());
    text(body.pointer("/data/issue/project/slug"))
        .or_else(|| text(body.get("project_slug")))
        .or_else(|| text(body.pointer("/project/slug")))
        .or_else(|| text(body.pointer("/data/project_slug")))
        .or_else(|| text(body.get("project")))
        .or_else(|| {
            // Integration-platform events name it only in their API URL:
            // `/api/0/projects/{org}/{project}/events/{id}/`.
            let url = text(event?.get("url"))?;
            let rest = &url[url.find("/projects/")? + "/projects/".len()..];
            rest.split('/').nth(1).filter(|s| !s.is_empty())
        })
}

async fn hook(
    State(ingest): State<Ingest>,
    Path(token): Path<String>,
    request: axum::extract::Request,
) -> Result<Response, IngestError> {
    let (headers, body) = read_request(&ingest, RECEIVER, request).await?;
    let project =
        (ingest.auth().project_for(Some(&token))).map_err(|e| ingest.refuse(RECEIVER, e, 1))?;
    let settings = ingest.sentry_hooks();
    if let Some(secret) = &settings.secret {
        let signature = ["sentry-hook-signature", "x-servicehook-signature"]
            .iter()
            .find_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()));
        let ok = signature.is_some_and(|s| signature_matches(secret, &body, s));
        if !ok {
            let e = IngestError::Unauthenticated(
                "missing or wrong Sentry-Hook-Signature (HMAC-SHA256 of the body with FAULTLINE_SENTRY_HOOK_SECRET)",
            );
            return Err(ingest.refuse(RECEIVER, e, 1));
        }
    }
    let resource = headers
        .get("sentry-hook-resource")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let answer = ingest.sentry_hook(project, resource, body).await?;
    Ok(json_ok(answer))
}

impl Ingest {
    /// Reads, checks and stores one Sentry webhook delivery (on a blocking thread), answering
    /// `{"status": "ok", "stored": n}`.
    pub async fn sentry_hook(
        &self,
        project: String,
        resource: String,
        body: Bytes,
    ) -> Result<Vec<u8>, IngestError> {
        self.run(RECEIVER, move |me| {
            let refuse = |e| me.refuse(RECEIVER, e, 1);
            let arena = Json::arena_for(body.len());
            let value = Json::parse(&body, &arena).map_err(|e| {
                refuse(IngestError::BadRequest(format!(
                    "malformed Sentry webhook: {e}"
                )))
            })?;
            if !value.is_object() {
                let e = IngestError::BadRequest("a Sentry webhook body is a JSON object".into());
                return Err(refuse(e));
            }
            let shape = shape(&resource, &value);
            let event = match shape {
                Shape::Event(ev) | Shape::Flat(ev) => Some(ev),
                Shape::Other => None,
            };
            let allowed = &me.sentry_hooks().projects;
            if !allowed.is_empty() {
                let slug = project_slug(&value, event);
                let carries_project = event.is_some() || resource == "issue" || slug.is_some();
                if carries_project && !slug.is_some_and(|s| allowed.iter().any(|a| a == s)) {
                    let e = IngestError::Forbidden(format!(
                        "Sentry project {:?} is not accepted here (FAULTLINE_SENTRY_HOOK_PROJECTS)",
                        slug.unwrap_or("")
                    ));
                    return Err(refuse(e));
                }
            }
            let action = value.get("action").and_then(Json::as_str).unwrap_or("");
            me.hook_deliveries().add(
                if resource.is_empty() {
                    "legacy"
                } else {
                    &resource
                },
                action,
            );
            let Some(ev) = event else {
                let answer = br#"{"status":"ok","stored":0}"#.to_vec();
                return Ok(Job {
                    answer,
                    record: None,
                    events: 0,
                });
            };
            let ctx = Context {
                source: Source::SentryWebhook,
                project: &project,
                event_id: None,
                // Seed 003's flat shape replaces the trace after mapping: keyed by that text.
                traces: None,
            };
            let mut mapped: ErrorEvent<'_> =
                to_event(ev, ctx).map_err(|m| refuse(IngestError::BadRequest(m)))?;
            if let Shape::Flat(flat) = shape
                && let Some(text) = flat.pointer("/exception/stacktrace").and_then(Json::as_str)
            {
                // Seed 003's shape: the trace is text, parsed like an OTLP one.
                mapped.stacktrace = text.into();
                mapped.frames = Vec::new();
            }
            let answer = br#"{"status":"ok","stored":1}"#.to_vec();
            me.encode_rows(RECEIVER, &project, vec![mapped], Vec::new(), |_, _| answer)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256_hex_of_the_raw_body() {
        // Python: hmac.new(b"s3cret", b'{"action":"triggered"}', hashlib.sha256).hexdigest()
        let body = br#"{"action":"triggered"}"#;
        let sig = sign("s3cret", body);
        assert_eq!(sig.len(), 64);
        assert!(signature_matches("s3cret", body, &sig));
        assert!(!signature_matches("other", body, &sig));
        assert!(!signature_matches("s3cret", b"{}", &sig));
        assert!(!signature_matches("s3cret", body, "not hex"));
    }

    #[test]
    fn shapes_and_slugs() {
        let arena = bumpalo::Bump::new();
        let alert_value = serde_json::json!({
            "action": "triggered",
            "data": {"event": {"url": "https://sentry.io/api/0/projects/acme/shop/events/abc/", "exception": {"values": []}}}
        });
        let alert = Json::from_value(&alert_value, &arena);
        let ev = match shape("event_alert", &alert) {
            Shape::Event(ev) => ev,
            other => panic!("{other:?}"),
        };
        assert_eq!(project_slug(&alert, Some(ev)), Some("shop"));
        let legacy_value = serde_json::json!({"project_slug": "blog", "event": {"message": "x"}});
        let legacy = Json::from_value(&legacy_value, &arena);
        assert!(matches!(shape("", &legacy), Shape::Event(_)));
        assert_eq!(project_slug(&legacy, None), Some("blog"));
        let flat_value = serde_json::json!({"project": "api", "exception": {"type": "ValueError", "stacktrace": "..."}});
        let flat = Json::from_value(&flat_value, &arena);
        assert!(matches!(shape("", &flat), Shape::Flat(_)));
        assert_eq!(project_slug(&flat, None), Some("api"));
        let issue_value = serde_json::json!({"action": "resolved", "data": {"issue": {"project": {"slug": "shop"}}}});
        let issue = Json::from_value(&issue_value, &arena);
        assert_eq!(shape("issue", &issue), Shape::Other);
        assert_eq!(project_slug(&issue, None), Some("shop"));
    }
}
