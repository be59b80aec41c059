//! Counting what is refused: every dropped item is counted once, by reason and receiver, through
//! [`DropCounter::record`], which also logs it. `/metrics` exposes the counters through
//! [`DropMetrics`] as `faultline_dropped_total{reason,source}`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;

use crate::error::IngestError;
use crate::receiver::Receiver;

/// Why items were not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Missing or unknown token.
    Unauthenticated,
    /// Malformed body or field.
    Malformed,
    /// Body over the size limit.
    TooLarge,
    /// Content type not accepted.
    UnsupportedMediaType,
    /// The spool could not write (the client was told to retry).
    Unavailable,
    /// The spool is at its size limit (the client was told to retry).
    SpoolFull,
    /// Over the project's rate limit (the client was told to retry).
    RateLimited,
    /// Storage refused the rows, or a bug.
    Internal,
}

impl DropReason {
    /// All reasons, for rendering.
    pub const ALL: [DropReason; 8] = [
        DropReason::Unauthenticated,
        DropReason::Malformed,
        DropReason::TooLarge,
        DropReason::UnsupportedMediaType,
        DropReason::Unavailable,
        DropReason::SpoolFull,
        DropReason::RateLimited,
        DropReason::Internal,
    ];

    /// Label value.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Unauthenticated => "unauthenticated",
            DropReason::Malformed => "malformed",
            DropReason::TooLarge => "too_large",
            DropReason::UnsupportedMediaType => "unsupported_media_type",
            DropReason::Unavailable => "unavailable",
            DropReason::SpoolFull => "spool_full",
            DropReason::RateLimited => "rate_limited",
            DropReason::Internal => "internal",
        }
    }

    /// The reason an error stands for.
    pub fn of(e: &IngestError) -> Self {
        match e {
            IngestError::Unauthenticated(_) | IngestError::Forbidden(_) => {
                DropReason::Unauthenticated
            }
            IngestError::BadRequest(_) => DropReason::Malformed,
            IngestError::PayloadTooLarge(_) => DropReason::TooLarge,
            IngestError::UnsupportedMediaType(_) => DropReason::UnsupportedMediaType,
            IngestError::Unavailable(_) => DropReason::Unavailable,
            IngestError::SpoolFull => DropReason::SpoolFull,
            IngestError::RateLimited { .. } => DropReason::RateLimited,
            IngestError::Internal(_) => DropReason::Internal,
        }
    }
}

const RECEIVERS: usize = Receiver::ALL.len();
const REASONS: usize = DropReason::ALL.len();

/// Accepted and dropped counters per receiver.
#[derive(Debug, Default)]
pub struct DropCounter {
    dropped: [[AtomicU64; RECEIVERS]; REASONS],
    requests_refused: [[AtomicU64; RECEIVERS]; REASONS],
    accepted: [AtomicU64; RECEIVERS],
}

impl DropCounter {
    /// Records one refused request carrying `items` occurrences (0 when unknown, e.g. undecodable).
    pub fn record(&self, receiver: Receiver, reason: DropReason, items: u64) {
        let (r, s) = (reason as usize, receiver as usize);
        self.requests_refused[r][s].fetch_add(1, Ordering::Relaxed);
        self.dropped[r][s].fetch_add(items, Ordering::Relaxed);
        tracing::debug!(%receiver, reason = reason.as_str(), items, "request refused");
    }

    /// Records stored occurrences.
    pub fn accepted(&self, receiver: Receiver, items: u64) {
        self.accepted[receiver as usize].fetch_add(items, Ordering::Relaxed);
    }

    /// Occurrences accepted so far through `receiver`.
    pub fn accepted_count(&self, receiver: Receiver) -> u64 {
        self.accepted[receiver as usize].load(Ordering::Relaxed)
    }

    /// Requests refused for `reason` through `receiver`.
    pub fn refused_count(&self, receiver: Receiver, reason: DropReason) -> u64 {
        self.requests_refused[reason as usize][receiver as usize].load(Ordering::Relaxed)
    }

    /// Occurrences dropped for `reason` through `receiver`.
    pub fn dropped_count(&self, receiver: Receiver, reason: DropReason) -> u64 {
        self.dropped[reason as usize][receiver as usize].load(Ordering::Relaxed)
    }
}

/// The counters as a Prometheus collector (register it in a `prometheus-client` registry, under
/// the `faultline` prefix): `accepted_total{source}`, `dropped_total{reason,source}` and
/// `refused_requests_total{reason,source}`.
#[derive(Debug, Clone)]
pub struct DropMetrics(pub Arc<DropCounter>);

impl Collector for DropMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut accepted = encoder.encode_descriptor(
            "accepted",
            "Occurrences stored, by source.",
            None,
            MetricType::Counter,
        )?;
        for s in Receiver::ALL {
            ConstCounter::new(self.0.accepted_count(s))
                .encode(accepted.encode_family(&[("source", s.as_str())])?)?;
        }
        for (name, help, table) in [
            (
                "dropped",
                "Occurrences refused, by reason and source.",
                &self.0.dropped,
            ),
            (
                "refused_requests",
                "Requests refused, by reason and source.",
                &self.0.requests_refused,
            ),
        ] {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for r in DropReason::ALL {
                for s in Receiver::ALL {
                    let v = table[r as usize][s as usize].load(Ordering::Relaxed);
                    ConstCounter::new(v).encode(
                        family.encode_family(&[("reason", r.as_str()), ("source", s.as_str())])?,
                    )?;
                }
            }
        }
        Ok(())
    }
}
