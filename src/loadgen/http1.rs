//! The HTTP senders' client: one HTTP/1.1 keep-alive connection per sender, requests built from
//! a pool of ready bodies and a fixed set of headers.
//!
//! A general client (reqwest: a connection pool, URL parsing and header maps per request) cost
//! about 22 µs of CPU per one-event request here, a third of what the server it measures spent on
//! the same request; on a 2-core machine that CPU is taken from the server. This one costs about
//! half of that (`bench/RESULTS.md`).

use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderName, HeaderValue};

/// Where and how every request of a run is sent.
#[derive(Clone)]
pub(super) struct Target {
    /// `host:port`.
    addr: String,
    /// The `Host` header.
    host: HeaderValue,
    /// Path and query.
    path: String,
    /// Headers of every request.
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Target {
    /// A target from a base URL (`http://host:port`, no TLS), a path and the request headers.
    pub(super) fn new(
        endpoint: &str,
        path: &str,
        headers: &[(&'static str, String)],
    ) -> anyhow::Result<Target> {
        let Some(rest) = endpoint.strip_prefix("http://") else {
            bail!("{endpoint}: the load generator speaks plain http:// only");
        };
        let addr = rest.trim_end_matches('/').to_string();
        if addr.is_empty() || addr.contains('/') {
            bail!("{endpoint}: give the base URL only (http://host:port)");
        }
        let headers = headers
            .iter()
            .map(|(k, v)| Ok((HeaderName::from_static(k), HeaderValue::from_str(v)?)))
            .collect::<Result<_, hyper::header::InvalidHeaderValue>>()
            .context("request header")?;
        Ok(Target {
            host: HeaderValue::from_str(&addr).context("host")?,
            addr,
            path: path.to_string(),
            headers,
        })
    }
}

/// One sender's connection, opened on first use and again after an error.
pub(super) struct Connection {
    target: Target,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Connection {
    pub(super) fn new(target: Target) -> Self {
        Connection {
            target,
            sender: None,
        }
    }

    async fn connect(&self) -> anyhow::Result<SendRequest<Full<Bytes>>> {
        let tcp = tokio::net::TcpStream::connect(&self.target.addr)
            .await
            .with_context(|| format!("cannot connect to {}", self.target.addr))?;
        let _ = tcp.set_nodelay(true);
        let (sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    /// Posts `body`; whether the answer was a 2xx (its body read whole, as a client would).
    pub(super) async fn post(&mut self, body: Bytes) -> bool {
        match tokio::time::timeout(Duration::from_secs(60), self.try_post(body)).await {
            Ok(Ok(ok)) => ok,
            _ => {
                // A failed or timed-out exchange leaves the connection in an unknown state.
                self.sender = None;
                false
            }
        }
    }

    async fn try_post(&mut self, body: Bytes) -> anyhow::Result<bool> {
        let sender = match &mut self.sender {
            Some(s) if !s.is_closed() => s,
            _ => self.sender.insert(self.connect().await?),
        };
        sender.ready().await?;
        let mut req = Request::post(self.target.path.as_str()).body(Full::new(body))?;
        let h = req.headers_mut();
        h.insert(hyper::header::HOST, self.target.host.clone());
        for (k, v) in &self.target.headers {
            h.insert(k.clone(), v.clone());
        }
        let resp = sender.send_request(req).await?;
        let ok = resp.status().is_success();
        resp.into_body().collect().await?;
        Ok(ok)
    }
}
