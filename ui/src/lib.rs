//! The triage screen: server-rendered HTML on the API listener (`/ui`, and `/` redirects there),
//! every asset inside the binary, no JavaScript needed — filters are GET forms whose fields are
//! the API's parameter names (every view is a URL), changes are POST forms answered with a
//! redirect (Post/Redirect/Get).
//!
//! Pages read through the query crate's handlers in-process (never new SQL, never a loop over
//! HTTP): one module per page under [`pages`]; [`auth`] holds sign-in, sessions, CSRF and the
//! security headers. Templates (askama, checked at compile time, every value HTML-escaped —
//! error messages are attacker-controlled text) live in `ui/templates/`, the style sheet in
//! `ui/static/app.css`.

pub mod auth;
pub mod pages;

use axum::Router;
use axum::routing::{get, post};
use faultline_query::Api;

/// What the pages need.
#[derive(Clone)]
pub struct Ui {
    /// The API, called in-process.
    pub api: Api,
    /// Sign-in and forms.
    pub access: auth::Access,
    /// A trace viewer's URL with `{trace_id}` in it; empty: trace ids are not links.
    pub trace_url: std::sync::Arc<str>,
    /// What the status page shows (health checks, spool, ClickHouse); none: the page says so.
    pub status: Option<faultline_health::Health>,
}

impl Ui {
    /// The screen over `api`, signed into with `api_keys` (none: open).
    pub fn new(api: Api, api_keys: &[String]) -> Ui {
        Ui {
            api,
            access: auth::Access::new(api_keys),
            trace_url: std::sync::Arc::from(""),
            status: None,
        }
    }

    /// Links trace ids to `template` (`{trace_id}` replaced); empty: no links.
    pub fn with_trace_url(mut self, template: &str) -> Ui {
        self.trace_url = std::sync::Arc::from(template);
        self
    }

    /// Shows `source`'s report on the status page.
    pub fn with_status(mut self, source: faultline_health::Health) -> Ui {
        self.status = Some(source);
        self
    }

    /// The trace viewer's link for `trace_id`, if one is configured (the id percent-encoded).
    pub fn trace_link(&self, trace_id: &str) -> Option<String> {
        (!self.trace_url.is_empty() && !trace_id.is_empty())
            .then(|| self.trace_url.replace("{trace_id}", &pages::enc(trace_id)))
    }

    /// The routes: `/` → `/ui/`, and the pages under `/ui`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/", get(pages::to_ui))
            .route("/ui", get(pages::to_ui))
            .route("/ui/static/app.css", get(pages::css))
            .route("/ui/static/app.js", get(pages::js))
            .route(
                "/ui/login",
                get(pages::login::form).post(pages::login::submit),
            )
            .route("/ui/logout", post(pages::login::logout))
            .route("/ui/", get(pages::overview::page))
            .route("/ui/issues", get(pages::issues::all))
            .route("/ui/actions", post(pages::issues::bulk))
            .route("/ui/404s", get(pages::not_found::page))
            .route("/ui/status", get(pages::status::page))
            .route("/ui/p/{project}", get(pages::issues::project))
            .route(
                "/ui/p/{project}/issues/{fingerprint}",
                get(pages::issue::page),
            )
            .route(
                "/ui/p/{project}/issues/{fingerprint}/status",
                post(pages::issue::set_status),
            )
            .layer(axum::middleware::map_response(pages::harden))
            .with_state(self.clone())
    }
}
