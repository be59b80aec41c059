//! Request middleware as a tower layer (wraps axum and tonic alike): a request id on every request
//! and response, a tracing span carrying it, one structured log line per request, the duration
//! header, and per-route request counters.
//!
//! The id is the incoming `x-request-id` (when it is printable and at most 128 bytes), else the
//! trace id of a W3C `traceparent`, else a new random one. Apply the layer with `Router::layer`,
//! after the routes are added, so the route template (`MatchedPath`) labels the counters.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::MatchedPath;
use futures::future::BoxFuture;
use http::{HeaderValue, Request, Response};
use tower::{Layer, Service};
use tracing::Instrument;

/// The request's id, in the request's extensions for handlers that want it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// (route template, method, status) → (requests, seconds spent).
type Counters = BTreeMap<(String, String, u16), (u64, f64)>;

/// Per-route request counters, rendered as Prometheus text.
#[derive(Clone, Default)]
pub struct HttpMetrics {
    inner: Arc<Mutex<Counters>>,
}

impl HttpMetrics {
    fn record(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        if let Ok(mut m) = self.inner.lock() {
            let e = m
                .entry((route.to_string(), method.to_string(), status))
                .or_default();
            e.0 += 1;
            e.1 += elapsed.as_secs_f64();
        }
    }

    /// Requests counted for a route template and status.
    pub fn count(&self, route: &str, status: u16) -> u64 {
        self.inner
            .lock()
            .map(|m| {
                m.iter()
                    .filter(|((r, _, s), _)| r == route && *s == status)
                    .map(|(_, v)| v.0)
                    .sum()
            })
            .unwrap_or(0)
    }

    /// Appends `faultline_http_requests_total` and `faultline_http_request_duration_seconds_sum`.
    pub fn render(&self, out: &mut String) {
        let Ok(m) = self.inner.lock() else { return };
        out.push_str("# HELP faultline_http_requests_total HTTP and gRPC requests by route template, method and status.\n# TYPE faultline_http_requests_total counter\n");
        for ((route, method, status), (n, _)) in m.iter() {
            let _ = writeln!(
                out,
                "faultline_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP faultline_http_request_duration_seconds_sum Time spent serving requests, by route template.\n# TYPE faultline_http_request_duration_seconds_sum counter\n");
        let mut by_route: BTreeMap<&str, f64> = BTreeMap::new();
        for ((route, _, _), (_, secs)) in m.iter() {
            *by_route.entry(route).or_default() += secs;
        }
        for (route, secs) in by_route {
            let _ = writeln!(
                out,
                "faultline_http_request_duration_seconds_sum{{route=\"{route}\"}} {secs:.6}"
            );
        }
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
    if let Some(v) = headers.get("x-request-id").and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        if !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()) {
            return v.to_string();
        }
    }
    if let Some(tp) = headers.get("traceparent").and_then(|v| v.to_str().ok()) {
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
        req.headers_mut().insert("x-request-id", header_id.clone());
        req.extensions_mut().insert(RequestId(id.clone()));
        let route = req
            .extensions()
            .get::<MatchedPath>()
            .map(|m| m.as_str().to_string())
            .unwrap_or_else(|| "unmatched".to_string());
        let method = req.method().to_string();
        let path = req.uri().path().to_string();
        let span = tracing::info_span!("request", request_id = %id, method = %method, path = %path);
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
                h.insert("x-request-id", header_id);
                if let Ok(v) = HeaderValue::from_str(&format!("{ms:.3}")) {
                    h.insert("x-request-duration", v);
                }
                let status = resp.status().as_u16();
                // gRPC errors travel in `grpc-status` with HTTP 200.
                let grpc = resp.headers().get("grpc-status").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u16>().ok()).unwrap_or(0);
                layer.metrics.record(&route, &method, status, elapsed);
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
