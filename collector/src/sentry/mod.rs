//! Sentry SDKs' protocol: envelopes and `/store/` bodies from unmodified Sentry SDKs (DSN
//! ingest), read into the same `ErrorEvent`s as OTLP and the webhook.
//!
//! - [`envelope`]: the envelope reader (header line, items by `length` or newline).

pub mod envelope;
