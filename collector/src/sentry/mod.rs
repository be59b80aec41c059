//! Sentry's protocol: events from unmodified Sentry SDKs (DSN ingest) and Sentry's own outgoing
//! webhooks, read into the same [`crate::event::ErrorEvent`]s as OTLP and the native webhook, so
//! one bug is one issue whichever way it arrives.
//!
//! Modules, one job each:
//! - [`http`]: the DSN routes (`/api/{id}/envelope/`, `/api/{id}/store/`), CORS, and the
//!   rate-limit headers SDKs obey.
//! - [`key`]: where the DSN's key is (headers, query string, envelope `dsn`).
//! - [`envelope`]: the envelope reader (header line, items by `length` or newline).
//! - [`ingest`]: the blocking job: inflate, read, authenticate by `dsn`, map, spool.
//! - [`json`]: a JSON value borrowing from the payload, skipping what is never kept, built in an
//!   arena.
//! - [`event`]: one Sentry event → an `ErrorEvent` (the field rules are there).
//! - [`render`]: frames → a readable trace in the platform's own format.
//! - [`trace_key`]: the key of an event's trace work, from the exceptions as sent (a repeat of a
//!   known trace is mapped without building its frames and text).
//! - [`reports`]: client reports (what SDKs dropped), counted for `/metrics`.
//! - [`hook`]: Sentry's outgoing webhooks (`/sentry/webhook/{token}`), signed with HMAC.

pub mod envelope;
pub mod event;
pub mod hook;
pub mod http;
pub mod ingest;
pub mod json;
pub mod key;
pub mod render;
pub mod reports;
mod trace_key;

pub use reports::{ClientReportMetrics, ClientReports};
