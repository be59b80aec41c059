//! The collector: receivers → normalize → fingerprint → enrich → batch → store.
//!
//! # The life of one event
//!
//! 1. **Arrival.** An exception reaches one of the receivers: OTLP/gRPC ([`grpc`], port 4317),
//!    OTLP/HTTP ([`http`], `/v1/traces` and `/v1/logs` on port 4318), a Sentry SDK
//!    ([`sentry::http`], `POST /api/{id}/envelope/` or `/store/`, same port), Sentry's own
//!    webhooks ([`sentry::hook`], `POST /sentry/webhook/{token}`), or the native webhook
//!    ([`http`], `POST /webhook/error/{token}`). Bodies over the size limit are refused (413 /
//!    `RESOURCE_EXHAUSTED`), before anything is decoded.
//! 2. **Authentication** ([`auth`]). The token (bearer header, `x-faultline-token`, the webhook path,
//!    or the Sentry DSN key: [`sentry::key`]) names the project. Unknown or missing: 401 /
//!    `UNAUTHENTICATED` (a Sentry key of another project: 403), nothing stored; Sentry webhooks
//!    also need their HMAC signature when a secret is set. With no projects
//!    configured, everything goes to project `default`.
//! 3. **Checking** ([`http`], [`grpc`]). Content type and encoding are checked (415). Log exports
//!    are inflated and decoded here; trace exports and webhook bodies, the bulk of the traffic,
//!    are left as bytes for the next step.
//! 4. **Decoding and normalizing** ([`ingest`], which runs steps 4 to 6 and the encoding of step 7
//!    as one job on a blocking thread ([`jobs`]), at most `Limits::jobs` at once — half the cores
//!    by default, leaving the rest to ClickHouse; the other requests wait their turn): the body is
//!    inflated up to a limit ([`inflate`]: gzip, deflate, br; 413); OTLP trace exports are read in place from their protobuf
//!    bytes ([`otlp_wire`]) or their JSON text ([`otlp_json`]) into the same borrowed views,
//!    webhook bodies into events borrowing their texts ([`webhook`]), Sentry envelopes item by
//!    item ([`sentry::envelope`], events mapped by [`sentry::event`], transactions counted as
//!    requests, client reports counted);
//!    malformed input is answered 400 / `INVALID_ARGUMENT` naming the problem.
//!    Span events named `exception`, error log records, and webhook events all become one
//!    [`event::ErrorEvent`] ([`otlp`], [`webhook`]); SERVER spans become per-minute request counts.
//!    Spans are not stored otherwise. Events and rows borrow their texts from the request: a text
//!    is copied once, into the spool record, unless it had to change.
//! 5. **Rate limit** ([`limits`]). Over the project's token bucket: 429 / `RESOURCE_EXHAUSTED` with
//!    `Retry-After`, nothing stored.
//! 6. **Grouping and enrichment** ([`occurrence`], [`fingerprint`], [`event`]): fingerprint
//!    (client's wins), culprit, severity (seed 004 §6), HTTP context, release, environment → one
//!    `OccurrenceRow`. Then, never changing the fingerprint: messages, stack traces and attributes
//!    are cut to their limits with a marker ([`limits`]) and personal data is scrubbed ([`scrub`]),
//!    so none of it reaches disk. What depends only on the stack trace (parsing, grouping, cutting
//!    and scrubbing it) is done once per distinct trace and kept in a bounded cache.
//! 7. **Spooling** (`faultline_store::writer`, `faultline_store::spool`). The job hands the
//!    request's rows to the write-ahead spool's committer, which writes and fsyncs them (one fsync
//!    covers every request waiting at that moment) and answers the request's task: the task sleeps
//!    from the job's start to the fsync and is woken once. If the spool is full (ClickHouse unreachable for long), the client gets 503 +
//!    `Retry-After` / `UNAVAILABLE` and retries: nothing was acknowledged, so nothing is lost.
//! 8. **Acknowledgement.** Once on disk, the client gets 200 (OTLP `Export*ServiceResponse`, or the
//!    webhook's `{id, fingerprint, project}` per event, written by the job of step 4).
//! 9. **Storage.** The writer's drainer reads the spool back in order, merges batches into large
//!    `INSERT`s, retries network failures for as long as it takes, and frees the spool only after
//!    ClickHouse confirmed; a restart replays whatever was not confirmed, exactly once.
//!
//! Every refused request is counted once, by reason and source, in [`drops`].

pub mod auth;
pub mod drops;
pub mod error;
pub mod event;
pub mod fingerprint;
pub mod fuzz_entry;
pub mod grpc;
pub mod http;
pub mod inflate;
pub mod ingest;
pub mod jobs;
mod json_scan;
pub mod labelled;
pub mod limits;
pub mod occurrence;
pub mod otlp;
pub mod otlp_json;
pub mod otlp_wire;
pub mod receiver;
pub mod scrub;
pub mod sentry;
pub mod webhook;

pub use auth::Auth;
pub use error::IngestError;
pub use ingest::{Format, Ingest, Limits, Policy};
pub use receiver::Receiver;
