//! Counting what is refused: every dropped item is counted once, by reason and receiver, through
//! [`DropCounter::record`], which also logs it. `/metrics` renders the counters as
//! `faultline_dropped_total{reason,source}`.

use std::sync::atomic::{AtomicU64, Ordering};

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
            IngestError::Unauthenticated(_) => DropReason::Unauthenticated,
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

    /// Prometheus text exposition of the counters.
    pub fn render(&self, out: &mut String) {
        use std::fmt::Write;
        out.push_str("# HELP faultline_accepted_total Occurrences stored, by source.\n# TYPE faultline_accepted_total counter\n");
        for s in Receiver::ALL {
            let _ = writeln!(
                out,
                "faultline_accepted_total{{source=\"{s}\"}} {}",
                self.accepted_count(s)
            );
        }
        for (name, help, table) in [
            (
                "faultline_dropped_total",
                "Occurrences refused, by reason and source.",
                &self.dropped,
            ),
            (
                "faultline_refused_requests_total",
                "Requests refused, by reason and source.",
                &self.requests_refused,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for r in DropReason::ALL {
                for s in Receiver::ALL {
                    let v = table[r as usize][s as usize].load(Ordering::Relaxed);
                    let _ = writeln!(
                        out,
                        "{name}{{reason=\"{}\",source=\"{s}\"}} {v}",
                        r.as_str()
                    );
                }
            }
        }
    }
}
