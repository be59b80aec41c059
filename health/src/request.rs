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
/// (Handlers read it from the request's `x-request-id`, which the layer sets.)
pub fn request_id(headers: &http::HeaderMap) -> HeaderValue {
    if let Some(v) = headers.get(X_REQUEST_ID) {
        let bytes = v.as_bytes();
        let trimmed = bytes.trim_ascii();
        if !trimmed.is_empty() && trimmed.len() <= 128 && trimmed.iter().all(u8::is_ascii_graphic) {
            // The client's own value, shared rather than copied when it needs no trimming.
            return match trimmed.len() == bytes.len() {
                true => v.clone(),
                false => HeaderValue::from_bytes(trimmed).unwrap_or_else(|_| v.clone()),
            };
        }
    }
    if let Some(tp) = headers.get(TRACEPARENT).and_then(|v| v.to_str().ok()) {
        let mut parts = tp.trim().split('-');
        let trace = parts.nth(1).filter(|t| {
            t.len() == 32
                && t.bytes().all(|b| b.is_ascii_hexdigit())
                && t.bytes().any(|b| b != b'0')
        });
        let lowered = trace
            .filter(|_| parts.count() == 2)
            .map(str::to_ascii_lowercase);
        if let Some(Ok(v)) = lowered.as_deref().map(HeaderValue::from_str) {
            return v;
        }
    }
    let mut buf = [0u8; 32];
    let id = uuid::Uuid::new_v4().simple().encode_lower(&mut buf);
    HeaderValue::from_str(id).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

/// `elapsed` in milliseconds with three decimals, as `x-request-duration` carries it.
fn duration_header(elapsed: Duration) -> Option<HeaderValue> {
    use std::io::Write;
    let micros = elapsed.as_micros();
    let mut buf = [0u8; 48];
    let mut at = &mut buf[..];
    write!(at, "{}.{:03}", micros / 1000, micros % 1000).ok()?;
    let len = 48 - at.len();
    HeaderValue::from_bytes(&buf[..len]).ok()
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
        let header_id = request_id(req.headers());
        req.headers_mut().insert(X_REQUEST_ID, header_id.clone());
        // Shared, not copied: the route's `Arc` and the method (standard ones hold no text).
        let matched = req.extensions().get::<MatchedPath>().cloned();
        let method = req.method().clone();
        let id = header_id.to_str().unwrap_or("invalid");
        let span = tracing::info_span!("request", request_id = %id, method = %method, path = %req.uri().path());
        // Call the clone that was made ready, keep a fresh one for the next call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        Box::pin(
            async move {
                let mut resp = inner.call(req).await?;
                let elapsed = start.elapsed();
                let h = resp.headers_mut();
                h.insert(X_REQUEST_ID, header_id);
                if let Some(v) = duration_header(elapsed) {
                    h.insert(X_REQUEST_DURATION, v);
                }
                let status = resp.status().as_u16();
                // gRPC errors travel in `grpc-status` with HTTP 200.
                let grpc = resp.headers().get(GRPC_STATUS).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u16>().ok()).unwrap_or(0);
                let route = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
                layer.metrics.record(route, method.as_str(), status, elapsed);
                let duration_ms = (elapsed.as_secs_f64() * 1e6).round() / 1000.0;
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
