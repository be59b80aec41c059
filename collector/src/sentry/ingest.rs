//! The ingest job of a Sentry request, on a blocking thread like every other receiver's: inflate
//! (gzip, deflate, br), read the envelope (or the `/store/` body), authenticate by the envelope's
//! `dsn` when the request carried no key, map events, count transactions as requests and client
//! reports as SDK-side drops, then spool — acknowledged only once on disk.

use bytes::Bytes;
use faultline_store::RequestCountRow;

use crate::error::IngestError;
use crate::event::{ErrorEvent, Source};
use crate::ingest::{Compression, Ingest, Job};
use crate::receiver::Receiver;

use super::envelope::{self, ItemType};
use super::event::{Context, event_id, service, timestamp, to_event};
use super::json::Json;
use super::key::dsn_parts;

/// Largest event item (or `/store/` body) after decompression: Sentry's and Relay's limit.
pub const MAX_EVENT_BYTES: usize = 1 << 20;

/// Which Sentry endpoint a request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/api/{id}/envelope/`.
    Envelope,
    /// `/api/{id}/store/`: one event as JSON (or an envelope, when its content type says so).
    Store,
}

/// A Sentry request as the HTTP layer hands it over.
#[derive(Debug)]
pub struct Request {
    /// The endpoint.
    pub endpoint: Endpoint,
    /// The project id of the path.
    pub sentry_id: u64,
    /// The project, when the headers or the query string carried a key; otherwise the envelope
    /// header's `dsn` is read for it.
    pub project: Option<String>,
    /// Whether a `/store/` body is an envelope (its content type says so).
    pub store_envelope: bool,
    /// `content-encoding`.
    pub compression: Compression,
    /// The body as received.
    pub body: Bytes,
}

/// What the items of one request hold.
#[derive(Default)]
struct Contents<'b> {
    /// Event payloads, with their place for error messages.
    events: Vec<(usize, &'b [u8])>,
    /// Transaction payloads.
    transactions: Vec<&'b [u8]>,
    /// Client report payloads.
    reports: Vec<&'b [u8]>,
    /// The envelope header's event id.
    event_id: Option<String>,
    /// The envelope header's DSN.
    dsn: Option<String>,
}

fn too_large(kind: &str, len: usize) -> IngestError {
    IngestError::PayloadTooLarge(format!(
        "{kind} item of {len} bytes exceeds the {MAX_EVENT_BYTES}-byte limit for one event"
    ))
}

/// Reads the body into its parts (events are checked for size, not parsed yet).
fn contents(endpoint: Endpoint, envelope: bool, body: &[u8]) -> Result<Contents<'_>, IngestError> {
    let mut out = Contents::default();
    if endpoint == Endpoint::Store && !envelope {
        if body.len() > MAX_EVENT_BYTES {
            return Err(too_large("event", body.len()));
        }
        out.events.push((0, body));
        return Ok(out);
    }
    let bad = |e: envelope::EnvelopeError| IngestError::BadRequest(e.to_string());
    let (header, items) = envelope::parse(body).map_err(bad)?;
    out.event_id = header.event_id;
    out.dsn = header.dsn;
    for (index, item) in items.enumerate() {
        let item = item.map_err(bad)?;
        match item.kind {
            ItemType::Event | ItemType::Transaction if item.payload.len() > MAX_EVENT_BYTES => {
                return Err(too_large(item.kind.as_str(), item.payload.len()));
            }
            ItemType::Event => out.events.push((index, item.payload)),
            ItemType::Transaction => out.transactions.push(item.payload),
            ItemType::ClientReport => out.reports.push(item.payload),
            ItemType::Other(_) => {}
        }
    }
    Ok(out)
}

/// A transaction as one request of its service in its minute (failed: status 500 and above, or
/// a span status of `internal_error`); only server transactions (`op` `http.server`) count.
fn request_of(payload: &[u8], project: &str) -> Option<RequestCountRow> {
    let arena = Json::arena_for(payload.len());
    let t = Json::parse(payload, &arena).ok()?;
    let trace = t.pointer("/contexts/trace")?;
    let op = trace.get("op").and_then(Json::as_str).unwrap_or("");
    if !op.starts_with("http.server") {
        return None;
    }
    // The same service, environment and time as an error of this app would get.
    let at = match timestamp(&t).ok()? {
        0 => crate::event::now_secs(),
        at => at,
    };
    let status = (trace.pointer("/data/http.response.status_code"))
        .or_else(|| t.pointer("/contexts/response/status_code"))
        .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
        .unwrap_or(0);
    let failed =
        status >= 500 || trace.get("status").and_then(Json::as_str) == Some("internal_error");
    Some(RequestCountRow {
        project: String::new(),
        service: service(&t, project).into_owned(),
        environment: t["environment"].as_str().unwrap_or("").to_string(),
        minute: at - at % 60,
        requests: 1,
        failed: u64::from(failed),
    })
}

impl Ingest {
    /// Stores what a Sentry SDK sent, answering `{"id": "<event id>"}` (`{}` without an event).
    pub async fn sentry(&self, req: Request) -> Result<Vec<u8>, IngestError> {
        let (receiver, source) = match req.endpoint {
            Endpoint::Envelope => (Receiver::SentryEnvelope, Source::SentryEnvelope),
            Endpoint::Store => (Receiver::SentryStore, Source::SentryStore),
        };
        self.run(receiver, move |me| {
            let refuse = |e, n| me.refuse(receiver, e, n);
            let body = me.inflated(receiver, req.compression, req.body, 1)?;
            let c = contents(req.endpoint, req.store_envelope, &body).map_err(|e| refuse(e, 1))?;
            let project = match req.project {
                Some(p) => p,
                None => {
                    let key = c.dsn.as_deref().and_then(dsn_parts).map(|(key, _)| key);
                    me.auth()
                        .project_for_sentry(key, req.sentry_id)
                        .map_err(|e| refuse(e, c.events.len() as u64))?
                }
            };
            for report in &c.reports {
                me.client_reports().add(&project, report);
            }
            let n = c.events.len() as u64;
            // The events' JSON is built in one arena, freed whole when the job ends.
            let arena = Json::arena_for(c.events.iter().map(|(_, p)| p.len()).sum());
            let values = (c.events.iter())
                .map(|(index, payload)| {
                    Json::parse(payload, &arena).map_err(|e| {
                        IngestError::BadRequest(format!(
                            "item {index} (event): malformed JSON: {e}"
                        ))
                    })
                })
                .collect::<Result<Vec<Json<'_>>, _>>()
                .map_err(|e| refuse(e, n))?;
            let ctx = Context {
                source,
                project: &project,
                event_id: c.event_id.as_deref(),
                traces: Some(me.trace_cache()),
            };
            let events = (values.iter())
                .map(|v| to_event(v, ctx))
                .collect::<Result<Vec<ErrorEvent<'_>>, String>>()
                .map_err(|m| refuse(IngestError::BadRequest(m), n))?;
            let requests: Vec<RequestCountRow> = (c.transactions.iter())
                .filter_map(|t| request_of(t, &project))
                .collect();
            let id = match (events.first(), c.event_id.as_deref()) {
                (Some(ev), _) => Some(ev.event_id.to_string()),
                (None, Some(id)) => Some(event_id(Some(id))),
                (None, None) => None,
            };
            // Event ids are 32 hex digits ([`event_id`]): nothing in them to escape.
            let answer = match &id {
                Some(id) => [&b"{\"id\":\""[..], id.as_bytes(), b"\"}"].concat(),
                None => b"{}".to_vec(),
            };
            if events.is_empty() && requests.is_empty() {
                return Ok(Job {
                    answer,
                    record: None,
                    events: 0,
                });
            }
            me.encode_rows(receiver, &project, events, requests, |_, _| answer)
        })
        .await
    }
}
