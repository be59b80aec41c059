//! Webhook bodies as `loadgen` sends them: one event, or a JSON array of them.

use super::corpus::{CorpusEvent, ENVIRONMENTS, ROUTES, Rng, SEED, STATUSES, corpus};

/// One webhook array as `loadgen` sends it (`batch` corpus errors), the same every call: what the
/// decode bench reads.
pub fn sample_webhook_batch(batch: usize) -> Vec<u8> {
    webhook_batch_body(&mut Rng(SEED), &corpus(), batch)
}

pub(super) fn webhook_body(rng: &mut Rng, events: &[CorpusEvent]) -> Vec<u8> {
    serde_json::to_vec(&webhook_event(rng, events)).unwrap_or_default()
}

/// A JSON array of `n` webhook events.
pub(super) fn webhook_batch_body(rng: &mut Rng, events: &[CorpusEvent], n: usize) -> Vec<u8> {
    let batch: Vec<serde_json::Value> = (0..n).map(|_| webhook_event(rng, events)).collect();
    serde_json::to_vec(&batch).unwrap_or_default()
}

/// One webhook event from the corpus, with its environment, status and request.
fn webhook_event(rng: &mut Rng, events: &[CorpusEvent]) -> serde_json::Value {
    let e = rng.pick(events);
    serde_json::json!({
        "message": e.message,
        "exception_class": e.exception_type,
        "stack_trace": e.stacktrace,
        "service": e.service,
        "environment": *rng.pick(ENVIRONMENTS),
        "http_status": *rng.pick(STATUSES),
        "request": {"method": "GET", "url": format!("https://shop.example{}", rng.pick(ROUTES))},
    })
}
