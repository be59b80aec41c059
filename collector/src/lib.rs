//! The collector: receivers → normalize → fingerprint → enrich → batch → store.
//!
//! # The life of one event
//!
//! 1. **Arrival.** An exception reaches one of three receivers: OTLP/gRPC ([`grpc`], port 4317), OTLP/HTTP
//!    ([`http`], `/v1/traces` and `/v1/logs` on port 4318), or the native webhook ([`http`],
//!    `POST /webhook/error/{token}`, same port). Bodies over the size limit are refused (413 /
//!    `RESOURCE_EXHAUSTED`), before anything is decoded.
//! 2. **Authentication** ([`auth`]). The token (bearer header, `x-faultline-token`, or the webhook path)
//!    names the project. Unknown or missing: 401 / `UNAUTHENTICATED`, nothing stored. With no projects
//!    configured, everything goes to project `default`.
//! 3. **Decoding** ([`http`]). Content type and encoding are checked (415), gzip is inflated up to a
//!    limit (413), protobuf or JSON decoded (400 / `INVALID_ARGUMENT` naming the problem).
//! 4. **Normalizing** ([`otlp`], [`webhook`]), on a blocking thread, not the async runtime: span
//!    events named `exception`, error log records, and webhook events all become one [`event::ErrorEvent`];
//!    SERVER spans become per-minute request counts. Spans are not stored otherwise.
//! 5. **Grouping and enrichment** ([`fingerprint`], [`event`]): fingerprint (client's wins), culprit,
//!    severity (seed 004 §6), HTTP context, release, environment → one `OccurrenceRow`.
//! 6. **Batching and storage** (`faultline_store::writer`). The request's rows become one writer job;
//!    the writer merges jobs into large `INSERT`s and retries network failures. If its queue is full,
//!    or ClickHouse stays unreachable, the client gets 503 + `Retry-After` / `UNAVAILABLE` and retries:
//!    the occurrence was never acknowledged, so nothing acknowledged is lost.
//! 7. **Acknowledgement.** Only after ClickHouse confirmed the insert does the client get 200 (OTLP
//!    `Export*ServiceResponse`, or the webhook's `{id, fingerprint, project}`).
//!
//! Every refused request is counted once, by reason and source, in [`drops`].

pub mod auth;
pub mod drops;
pub mod error;
pub mod event;
pub mod fingerprint;
pub mod grpc;
pub mod http;
pub mod ingest;
pub mod otlp;
pub mod webhook;

pub use auth::Auth;
pub use error::IngestError;
pub use ingest::{Ingest, Limits};
