//! `GET /metrics`: one `prometheus-client` registry, built once at start, holding every crate's
//! collector — accepted and dropped occurrences by reason and source (collector), writer batches,
//! insert latency and spool size and age (store), what Sentry SDKs reported they discarded and
//! Sentry webhook deliveries (collector), alerts fired and their deliveries (alerts) under the
//! `faultline_` prefix, and requests by
//! route and status (health, whose names carry no product name: `http_requests_total`).

use std::sync::Arc;

use faultline_collector::Ingest;
use faultline_collector::sentry::ClientReportMetrics;
use faultline_collector::sentry::hook::HookMetrics;
use faultline_store::writer::WriterMetrics;
use prometheus_client::registry::Registry;

/// The content type of the exposition (OpenMetrics text).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The registry of every metric Faultline exposes.
pub fn registry(
    ingest: &Ingest,
    http: &faultline_health::HttpMetrics,
    alerts: &faultline_alerts::AlertMetrics,
) -> Arc<Registry> {
    let mut registry = Registry::default();
    http.register(&mut registry);
    let faultline = registry.sub_registry_with_prefix("faultline");
    faultline.register_collector(Box::new(ingest.drop_metrics()));
    faultline.register_collector(Box::new(ClientReportMetrics(
        ingest.client_reports().clone(),
    )));
    faultline.register_collector(Box::new(HookMetrics(ingest.hook_deliveries().clone())));
    faultline.register_collector(Box::new(WriterMetrics(ingest.writer().clone())));
    faultline.register_collector(Box::new(
        faultline_collector::fingerprint::transition::TransitionMetrics(
            ingest.transition().clone(),
        ),
    ));
    alerts.register(faultline);
    Arc::new(registry)
}

/// The exposition text of `registry`.
pub fn render(registry: &Registry) -> String {
    let mut out = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut out, registry) {
        tracing::error!(error = %e, "metrics encoding failed");
    }
    out
}
