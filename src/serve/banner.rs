//! The startup banner: where to send things, for people.

use std::net::SocketAddr;

use faultline_collector::Auth;

use super::Running;
use crate::config::Config;

/// Where to send things, for people.
pub fn banner(r: &Running, cfg: &Config) -> String {
    let data_dir = &cfg.data_dir;
    let host = |a: Option<SocketAddr>| {
        a.map(|a| {
            let ip = if a.ip().is_unspecified() {
                "localhost".to_string()
            } else {
                a.ip().to_string()
            };
            format!("http://{ip}:{}", a.port())
        })
    };
    let mut out = format!("Faultline {} is running.\n", env!("CARGO_PKG_VERSION"));
    if let Some(g) = host(r.grpc_addr) {
        out.push_str(&format!(
            "  OTLP gRPC:   {g}   (OTEL_EXPORTER_OTLP_ENDPOINT={g}, protocol grpc)\n"
        ));
    }
    if let Some(h) = host(r.http_addr) {
        out.push_str(&format!(
            "  OTLP HTTP:   {h}   ({h}/v1/traces, {h}/v1/logs)\n"
        ));
        let auth = Auth::new(&cfg.projects);
        // DSNs name the host and port; the key is the project's token, which is a secret and
        // never printed.
        let dsn_host = h.trim_start_matches("http://");
        if auth.is_dev_mode() {
            out.push_str(&format!("  Webhook:     {h}/webhook/error/dev   (development mode: any token, project `default`)\n"));
            out.push_str(&format!(
                "  Sentry DSN:  http://dev@{dsn_host}/1   (development mode: any key, project `default`)\n"
            ));
        } else {
            for p in auth.project_names() {
                out.push_str(&format!(
                    "  Webhook:     {h}/webhook/error/<token of {p}>\n"
                ));
            }
            for (p, id) in auth.sentry_ids() {
                out.push_str(&format!(
                    "  Sentry DSN:  http://<token of {p}>@{dsn_host}/{id}   (project {p})\n"
                ));
            }
        }
    }
    if let Some(a) = host(r.api_addr) {
        out.push_str(&format!("  API:         {a}/api/v1/errors\n"));
        out.push_str(&format!(
            "  Health:      {a}/health/ready   Metrics: {a}/metrics\n"
        ));
    }
    if r.embedded {
        out.push_str(&format!(
            "  ClickHouse:  {} (embedded, data in {})\n",
            r.clickhouse_url,
            data_dir.join("clickhouse").display()
        ));
    } else {
        out.push_str(&format!("  ClickHouse:  {}\n", r.clickhouse_url));
    }
    out
}
