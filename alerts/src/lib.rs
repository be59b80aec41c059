//! Alerts people trust: rules evaluated from ClickHouse state, an outbox of deliveries recorded
//! before anything is sent, and three channels (signed webhooks, Slack, e-mail).
//!
//! The life of an alert:
//! 1. ingest acknowledges an occurrence (spool), the writer inserts it; the insert feeds
//!    `issue_arrivals_minute` (by ingest time) and signals the engine ([`engine`]);
//! 2. the process holding the alerting lease reads what arrived, with each issue's totals,
//!    triage state and where it was seen, and the rules decide ([`eval`], pure): `new_issue`,
//!    `regression` at once; `count` and `rate` at most every 5 s over their windows. Ignored issues
//!    never alert; at most one alert per rule and issue (service) per `interval`;
//! 3. each alert has a deterministic id ([`alert::alert_id`]): ids already in the outbox are
//!    dropped, the rest recorded as one `pending` delivery per channel (`alert_deliveries`);
//! 4. due deliveries are sent ([`channel`]), each attempt its own task (a slow receiver delays no
//!    other), and every attempt recorded; network errors, 408,
//!    425, 429 and 5xx (SMTP 4xx) are retried with backoff and jitter, at least `Retry-After`,
//!    for `retry_for` (default 1 h), then marked failed; other refusals fail at once.
//!
//! Nothing here runs on the ingest path: a dead receiver slows no request. A restart finds
//! pending deliveries in the outbox; a replayed insert or another replica computes the same ids.
//!
//! Modules, one job each: [`config`] (`[alerts]` as written → validated), [`rule`] (typed rules
//! and events), [`alert`] (an alert's facts and id), [`eval`] (the decisions), [`engine`] (lease,
//! evaluation, outbox, delivery), [`channel`] (one module per kind), [`api`] (`/api/v1/alerts`),
//! [`metrics`].

pub mod alert;
pub mod api;
pub mod channel;
pub mod config;
pub mod engine;
pub mod eval;
pub mod metrics;
pub mod rule;

pub use config::{Alerts, AlertsConfig};
pub use engine::Engine;
pub use metrics::AlertMetrics;
