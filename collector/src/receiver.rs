//! Which receiver a request came through: the label of every accepted and refused count, parsed
//! nowhere (receivers name themselves), rendered only at the edge (`/metrics`).

/// An ingest receiver. Adding one is adding a variant here (and to [`Receiver::ALL`]); the
/// counters are indexed by it, so no label is ever unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Receiver {
    /// OTLP/gRPC trace exports (`TraceService/Export`).
    OtlpGrpcTraces,
    /// OTLP/gRPC log exports (`LogsService/Export`).
    OtlpGrpcLogs,
    /// OTLP/HTTP trace exports (`POST /v1/traces`, protobuf or JSON).
    OtlpHttpTraces,
    /// OTLP/HTTP log exports (`POST /v1/logs`).
    OtlpHttpLogs,
    /// The native JSON webhook (`POST /webhook/error/{token}`).
    Webhook,
    /// Sentry SDK envelopes (`POST /api/{project_id}/envelope/`).
    SentryEnvelope,
    /// Sentry SDK events posted whole (`POST /api/{project_id}/store/`, older SDKs).
    SentryStore,
    /// Sentry's outgoing webhooks (`POST /sentry/webhook/{token}`).
    SentryWebhook,
}

impl Receiver {
    /// Every receiver, in label order.
    pub const ALL: [Receiver; 8] = [
        Receiver::OtlpGrpcTraces,
        Receiver::OtlpGrpcLogs,
        Receiver::OtlpHttpTraces,
        Receiver::OtlpHttpLogs,
        Receiver::Webhook,
        Receiver::SentryEnvelope,
        Receiver::SentryStore,
        Receiver::SentryWebhook,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Receiver::OtlpGrpcTraces => "otlp_grpc_traces",
            Receiver::OtlpGrpcLogs => "otlp_grpc_logs",
            Receiver::OtlpHttpTraces => "otlp_http_traces",
            Receiver::OtlpHttpLogs => "otlp_http_logs",
            Receiver::Webhook => "webhook",
            Receiver::SentryEnvelope => "sentry_envelope",
            Receiver::SentryStore => "sentry_store",
            Receiver::SentryWebhook => "sentry_webhook",
        }
    }
}

impl std::fmt::Display for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_each_receiver_once_in_index_order() {
        for (i, r) in Receiver::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i, "{r}");
        }
        let mut labels: Vec<&str> = Receiver::ALL.iter().map(|r| r.as_str()).collect();
        labels.dedup();
        assert_eq!(labels.len(), Receiver::ALL.len());
    }
}
