//! One module per page; here what they share: the layout's fields, rendering, redirects, the
//! error page.

pub mod issue;
pub mod issues;
pub mod login;
pub mod not_found;
pub mod overview;
pub mod status;

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use faultline_query::error::QueryError;

use crate::Ui;

/// The style sheet, inside the binary.
pub const CSS: &str = include_str!("../../static/app.css");

/// The script (enhancements only: local times, keyboard shortcuts), inside the binary.
pub const JS: &str = include_str!("../../static/app.js");

/// What the layout shows on every page.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Cache-busting version of the assets.
    pub version: &'static str,
    /// Whether a sign-out button is shown.
    pub signed_in: bool,
    /// The CSRF token of this session's forms.
    pub csrf: String,
}

impl Layout {
    /// The layout for a session.
    pub fn new(ui: &Ui, session: &str) -> Layout {
        Layout {
            version: env!("CARGO_PKG_VERSION"),
            signed_in: !session.is_empty(),
            csrf: ui.access.csrf(session),
        }
    }
}

/// The answer to a request without a valid session: the sign-in page.
pub fn to_login() -> Response {
    Redirect::to("/ui/login").into_response()
}

/// A rendered page (500 with a plain page if the template fails, which the compile-time checks
/// make unlikely).
pub fn html(t: &impl Template) -> Response {
    match t.render() {
        Ok(body) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "ui: template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    heading: &'static str,
    message: String,
}

/// An error page with the API's status and message (internal details are never shown).
pub fn error(layout: Layout, e: QueryError) -> Response {
    let (status, _) = e.parts();
    let heading = match status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::BAD_REQUEST => "Bad request",
        StatusCode::SERVICE_UNAVAILABLE => "Storage unavailable",
        _ => "Something went wrong",
    };
    if let QueryError::Internal(d) | QueryError::Unavailable(d) = &e {
        tracing::warn!(detail = %d, "ui: query failed");
    }
    let mut resp = html(&ErrorPage {
        layout,
        heading,
        message: e.to_string(),
    });
    *resp.status_mut() = status;
    resp
}

/// The answer to a form without its token or from another origin.
pub fn forged(layout: Layout) -> Response {
    error(
        layout,
        QueryError::BadRequest(
            "this form did not come from this page (expired or forged): reload and try again"
                .into(),
        ),
    )
}

/// `/` and `/ui` → `/ui/`.
pub async fn to_ui() -> Redirect {
    Redirect::to("/ui/")
}

/// The style sheet.
pub async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        CSS,
    )
        .into_response()
}

/// The script.
pub async fn js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        JS,
    )
        .into_response()
}

/// The security headers on every answer of the screen.
pub async fn harden(mut resp: Response) -> Response {
    crate::auth::harden(resp.headers_mut());
    resp
}

/// Percent-encodes a query-string value.
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A `Location` answer after a form (303: the browser follows with a GET).
pub fn see_other(to: &str) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}
