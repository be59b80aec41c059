//! Step three: the listeners. Each is one axum app (gRPC included: tonic's services become an
//! axum router) with the common routes merged in and the request layer around it, served until
//! the shutdown sequence says to stop accepting.

use std::net::SocketAddr;

use anyhow::Context;
use axum::Router;
use axum::serve::ListenerExt;
use faultline_collector::Ingest;
use faultline_health::RequestLayer;
use faultline_store::Store;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::Config;

/// The listeners started so far.
pub(super) struct Listeners {
    /// Routes every listener gets (probes, `/health/db`, `/metrics`).
    common: Router,
    layer: RequestLayer,
    /// Cancelled by the shutdown sequence, after its drain period.
    pub(super) stop_accepting: CancellationToken,
    pub(super) tasks: Vec<JoinHandle<()>>,
    pub(super) grpc_addr: Option<SocketAddr>,
    pub(super) http_addr: Option<SocketAddr>,
    pub(super) api_addr: Option<SocketAddr>,
}

impl Listeners {
    pub(super) fn new(common: Router, layer: RequestLayer) -> Self {
        Listeners {
            common,
            layer,
            stop_accepting: CancellationToken::new(),
            tasks: Vec::new(),
            grpc_addr: None,
            http_addr: None,
            api_addr: None,
        }
    }

    /// OTLP/gRPC (4317) and OTLP/HTTP + webhook (4318).
    pub(super) async fn ingest(&mut self, cfg: &Config, ingest: &Ingest) -> anyhow::Result<()> {
        let grpc = faultline_collector::grpc::OtlpGrpc::new(ingest.clone());
        let grpc_app = tonic::service::Routes::new(grpc.trace_server())
            .add_service(grpc.logs_server())
            .into_axum_router()
            .layer(axum::middleware::map_response(
                |r: axum::response::Response| async move {
                    faultline_collector::grpc::decode_errors_are_invalid_argument(r)
                },
            ));
        self.grpc_addr = Some(
            self.serve("otlp_grpc", &cfg.otlp_grpc_addr, grpc_app)
                .await?,
        );
        let http_app = faultline_collector::http::router(ingest.clone());
        self.http_addr = Some(self.serve("http", &cfg.http_addr, http_app).await?);
        Ok(())
    }

    /// The REST API (8080).
    pub(super) async fn api(
        &mut self,
        cfg: &Config,
        store: &Store,
        alerting: &faultline_alerts::Engine,
        probes: faultline_health::Health,
    ) -> anyhow::Result<()> {
        let projects = cfg.projects.0.iter().map(|p| p.name.clone()).collect();
        let api = faultline_query::Api::new(store.clone(), cfg.api_keys.0.clone())
            .with_projects(projects)
            .with_grouping(cfg.grouping.clone())
            .with_extension(faultline_alerts::api::router(alerting.clone()));
        // The triage screen beside the API: its pages call the API in-process.
        let ui = faultline_ui::Ui::new(api.clone(), &cfg.api_keys.0)
            .with_trace_url(&cfg.trace_url)
            .with_status(probes);
        let app = api.router().merge(ui.router());
        self.api_addr = Some(self.serve("api", &cfg.api_addr, app).await?);
        Ok(())
    }

    /// Binds `addr` and serves `app` (plus the common routes, inside the request layer) on it.
    async fn serve(
        &mut self,
        name: &'static str,
        addr: &str,
        app: Router,
    ) -> anyhow::Result<SocketAddr> {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} ({name})"))?;
        let bound = listener.local_addr()?;
        let app = app.merge(self.common.clone()).layer(self.layer.clone());
        let token = self.stop_accepting.clone();
        self.tasks.push(tokio::spawn(async move {
            // No Nagle delay: a small acknowledgement must not wait for the client's delayed ACK.
            let listener = listener.tap_io(|tcp| {
                if let Err(e) = tcp.set_nodelay(true) {
                    tracing::debug!(error = %e, "cannot set TCP_NODELAY");
                }
            });
            let r = axum::serve(listener, app)
                .with_graceful_shutdown(token.cancelled_owned())
                .await;
            if let Err(e) = r {
                tracing::error!(listener = name, error = %e, "listener failed");
            }
        }));
        Ok(bound)
    }
}
