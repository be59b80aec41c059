//! `/ui/status`: is Faultline well — the health checks `/health` runs (ClickHouse and its version,
//! disk, memory, the spool's size and oldest record), readiness, version, uptime.

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use faultline_health::Snapshot;

use super::{Layout, html, to_login};
use crate::Ui;

/// One check's row.
struct CheckRow {
    name: String,
    /// `ok`, `degraded` or `down`.
    status: String,
    critical: bool,
    latency_ms: u64,
    message: String,
}

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage {
    layout: Layout,
    /// `healthy`, `degraded` or `unhealthy`; empty when the checks are not wired in.
    overall: String,
    snapshot: Option<Snapshot>,
    checks: Vec<CheckRow>,
}

/// A serde value as its plain text (`"ok"` → `ok`).
fn word(v: &impl serde::Serialize) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// The status page.
pub async fn page(State(ui): State<Ui>, headers: HeaderMap) -> Response {
    let Some(s) = ui.access.session(&headers) else {
        return to_login();
    };
    let layout = Layout::new(&ui, &s);
    let snapshot = match &ui.status {
        Some(h) => Some(h.snapshot().await),
        None => None,
    };
    let checks = snapshot
        .iter()
        .flat_map(|s| s.checks.iter())
        .map(|(name, c)| CheckRow {
            name: name.clone(),
            status: word(&c.status),
            critical: c.critical,
            latency_ms: c.latency_ms,
            message: c.message.clone().unwrap_or_default(),
        })
        .collect();
    html(&StatusPage {
        layout,
        overall: snapshot
            .as_ref()
            .map(|s| word(&s.status))
            .unwrap_or_default(),
        snapshot,
        checks,
    })
}
