//! `/ui/login` and `/ui/logout`: sign in with an API key (when `FAULTLINE_API_KEYS` is set).

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{Layout, html, see_other};
use crate::Ui;
use crate::auth::{same_origin, set_cookie};

#[derive(Template)]
#[template(path = "login.html")]
struct Login {
    layout: Layout,
    failed: bool,
}

/// The sign-in form (straight to the overview when the screen is open).
pub async fn form(State(ui): State<Ui>) -> Response {
    if ui.access.is_open() {
        return see_other("/ui/");
    }
    html(&Login {
        layout: Layout::new(&ui, ""),
        failed: false,
    })
}

/// The sign-in form's fields.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    /// An API key.
    pub key: String,
}

/// Signs in: a session cookie and the overview, or the form again saying the key is wrong.
pub async fn submit(
    State(ui): State<Ui>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    if !same_origin(&headers) {
        return (
            axum::http::StatusCode::FORBIDDEN,
            "cross-site sign-in refused",
        )
            .into_response();
    }
    match ui.access.login(f.key.trim()) {
        Some(session) => {
            let mut resp = see_other("/ui/");
            resp.headers_mut()
                .insert(header::SET_COOKIE, set_cookie(&session));
            resp
        }
        None => {
            let mut resp = html(&Login {
                layout: Layout::new(&ui, ""),
                failed: true,
            });
            *resp.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
            resp
        }
    }
}

/// Signs out (the cookie removed).
pub async fn logout(headers: HeaderMap) -> Response {
    if !same_origin(&headers) {
        return (
            axum::http::StatusCode::FORBIDDEN,
            "cross-site sign-out refused",
        )
            .into_response();
    }
    let mut resp = see_other("/ui/login");
    resp.headers_mut()
        .insert(header::SET_COOKIE, set_cookie(""));
    resp
}
