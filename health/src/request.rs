//! Request middleware as a tower layer (wraps axum and tonic alike): a request id on every request
//! and response, a tracing span carrying it, one structured log line per request, the duration
//! header, and per-route request counters and durations (Prometheus, through `prometheus-client`).
//!
//! The id is the incoming `x-request-id` (when it is printable and at most 128 bytes), else the
//! trace id of a W3C `traceparent`, else a new random one. Apply the layer with `Router::layer`,
//! after the routes are added, so the route template (`MatchedPath`) labels the counters.

use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::MatchedPath;
use futures::future::BoxFuture;
use http::{HeaderName, HeaderValue, Request, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use tower::{Layer, Service};
use tracing::Instrument;

/// Header names parsed once (a `&str` name is parsed again on every use).
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const X_REQUEST_DURATION: HeaderName = HeaderName::from_static("x-request-duration");
const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");

/// The request's id, in the request's extensions for handlers that want it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// Labels of a request counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

/// Labels of the request duration histogram.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

/// Upper bounds (seconds) of the request duration histogram's buckets.
const DURATION_BUCKETS: [f64; 10] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

/// Per-route request counters and durations: `http_requests_total{route,method,status}` and the
/// histogram `http_request_duration_seconds{route}`, with no product's name in them (register
/// them in a registry, with a prefix when wanted).
#[derive(Clone, Debug)]
pub struct HttpMetrics {
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram>,
}

impl Default for HttpMetrics {
    fn default() -> Self {
        HttpMetrics {
            requests: Family::default(),
            durations: Family::new_with_constructor(|| Histogram::new(DURATION_BUCKETS)),
        }
    }
}

impl HttpMetrics {
    fn record(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_string(),
                method: method.to_string(),
                status,
            })
            .inc();
        self.durations
            .get_or_create(&RouteLabels {
                route: route.to_string(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// Requests counted for a route template, method and status.
    pub fn count(&self, route: &str, method: &str, status: u16) -> u64 {
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_string(),
                method: method.to_string(),
                status,
            })
            .get()
    }

    /// Adds the two families to `registry`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "http_requests",
            "HTTP and gRPC requests by route template, method and status.",
            self.requests.clone(),
        );
        registry.register_with_unit(
            "http_request_duration",
            "Time spent serving requests, by route template.",
            Unit::Seconds,
            self.durations.clone(),
        );
    }
}

/// The layer.
#[derive(Clone)]
pub struct RequestLayer {
    slow: Duration,
    metrics: HttpMetrics,
}

impl RequestLayer {
    /// Requests slower than `slow` are logged as warnings; counts go to `metrics`.
    pub fn new(slow: Duration, metrics: HttpMetrics) -> Self {
        RequestLayer { slow, metrics }
    }
}

impl<S> Layer<S> for RequestLayer {
    type Service = RequestService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RequestService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service the layer wraps around another.
#[derive(Clone)]
pub struct RequestService<S> {
    inner: S,
    layer: RequestLayer,
}

/// The id for a request: `x-request-id`, else the `traceparent` trace id, else a new one.
pub fn request_id(headers: &http::HeaderMap) -> String {
    if let Some(v) = headers.get(X_REQUEST_ID).and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        if !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()) {
            return v.to_string();
        }
    }
    if let Some(tp) = headers.get(TRACEPARENT).and_then(|v| v.to_str().ok()) {
        let parts: Vec<&str> = tp.trim().split('-').collect();
        if parts.len() == 4
            && parts[1].len() == 32
            && parts[1].bytes().all(|b| b.is_ascii_hexdigit())
            && parts[1].bytes().any(|b| b != b'0')
        {
            return parts[1].to_ascii_lowercase();
        }
    }
    uuid::Uuid::new_v4().simple().to_string()
}

impl<S, B, RB> Service<Request<B>> for RequestService<S>
where
    S: Service<Request<B>, Response = Response<RB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
    RB: Send + 'static,
{
    type Response = Response<RB>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response<RB>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let start = Instant::now();
        let id = request_id(req.headers());
        let header_id =
            HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("invalid"));
        req.headers_mut().insert(X_REQUEST_ID, header_id.clone());
        req.extensions_mut().insert(RequestId(id.clone()));
        // Shared, not copied: the route's `Arc` and the method (standard ones hold no text).
        let matched = req.extensions().get::<MatchedPath>().cloned();
        let method = req.method().clone();
        let span = tracing::info_span!("request", request_id = %id, method = %method, path = %req.uri().path());
        // Call the clone that was made ready, keep a fresh one for the next call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        Box::pin(
            async move {
                let mut resp = inner.call(req).await?;
                let elapsed = start.elapsed();
                let ms = elapsed.as_secs_f64() * 1000.0;
                let h = resp.headers_mut();
                h.insert(X_REQUEST_ID, header_id);
                if let Ok(v) = HeaderValue::from_str(&format!("{ms:.3}")) {
                    h.insert(X_REQUEST_DURATION, v);
                }
                let status = resp.status().as_u16();
                // gRPC errors travel in `grpc-status` with HTTP 200.
                let grpc = resp.headers().get(GRPC_STATUS).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u16>().ok()).unwrap_or(0);
                let route = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
                layer.metrics.record(route, method.as_str(), status, elapsed);
                let duration_ms = (ms * 1000.0).round() / 1000.0;
                if status >= 500 || matches!(grpc, 2 | 4 | 8 | 10 | 12 | 13 | 14 | 15) {
                    tracing::error!(status, grpc_status = grpc, duration_ms, route = %route, "request failed");
                } else if status >= 400 || grpc != 0 {
                    tracing::warn!(status, grpc_status = grpc, duration_ms, route = %route, "request refused");
                } else if elapsed > layer.slow {
                    tracing::warn!(status, duration_ms, route = %route, slow_ms = layer.slow.as_millis() as u64, "slow request");
                } else {
                    tracing::info!(status, duration_ms, route = %route, "request");
                }
                Ok(resp)
            }
            .instrument(span),
        )
    }
}
