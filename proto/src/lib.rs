//! Wire formats Faultline accepts: OTLP (re-exported from `opentelemetry-proto`, with the tonic
//! services and serde support for OTLP/JSON) and the native webhook event of seed 000 §4.

pub mod webhook;

/// OTLP messages and gRPC services (`opentelemetry_proto::tonic`).
pub use opentelemetry_proto::tonic as otlp;
