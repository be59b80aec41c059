//! The screen's routes without the network (axum `oneshot`): sign-in, sessions, the security
//! headers, forms refused without their token. Pages that read data are tested against a real
//! ClickHouse in the root crate's `with_clickhouse::ui`.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use faultline_ui::Ui;
use tower::ServiceExt;

fn ui(keys: &[&str]) -> Ui {
    let store = faultline_store::Store::new(&faultline_store::StoreConfig {
        url: "http://127.0.0.1:9".into(),
        database: "x".into(),
        user: String::new(),
        password: String::new(),
        cluster: None,
    });
    let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    let api = faultline_query::Api::new(store, keys.clone()).with_projects(vec!["shop".into()]);
    Ui::new(api, &keys)
}

async fn send(ui: &Ui, req: Request<Body>) -> axum::response::Response {
    ui.router().oneshot(req).await.expect("response")
}

async fn text(resp: axum::response::Response) -> String {
    use http_body_util::BodyExt;
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    String::from_utf8(bytes.to_vec()).expect("utf-8")
}

fn login(key: &str, origin: &str) -> Request<Body> {
    Request::post("/ui/login")
        .header(header::HOST, "faultline.example")
        .header(header::ORIGIN, origin)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("key={key}")))
        .expect("request")
}

#[tokio::test]
async fn sign_in_with_an_api_key_sets_a_strict_cookie() {
    let ui = ui(&["key-one-123"]);
    // Without a session every page goes to the sign-in form, which names its field.
    let resp = send(&ui, Request::get("/ui/").body(Body::empty()).expect("req")).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()[header::LOCATION], "/ui/login");
    let form = send(
        &ui,
        Request::get("/ui/login").body(Body::empty()).expect("req"),
    )
    .await;
    assert_eq!(form.status(), StatusCode::OK);
    let csp = form.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .expect("csp")
        .to_string();
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"));
    assert_eq!(form.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    let html = text(form).await;
    assert!(
        html.contains(r#"<label for="key">API key</label>"#),
        "{html}"
    );

    let wrong = send(&ui, login("nope", "http://faultline.example")).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let cross = send(&ui, login("key-one-123", "http://evil.example")).await;
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    let ok = send(&ui, login("key-one-123", "http://faultline.example")).await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let cookie = ok.headers()[header::SET_COOKIE]
        .to_str()
        .expect("cookie")
        .to_string();
    for part in [
        "faultline_session=",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/ui",
    ] {
        assert!(cookie.contains(part), "{cookie}");
    }
    assert!(
        !cookie.contains("key-one-123"),
        "the key itself is not in the cookie"
    );
}

#[tokio::test]
async fn forms_without_their_token_change_nothing() {
    let ui = ui(&[]);
    let resp = send(
        &ui,
        Request::post("/ui/p/shop/issues/abc/status")
            .header(header::HOST, "faultline.example")
            .header(header::ORIGIN, "http://faultline.example")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("csrf=forged&status=resolved"))
            .expect("request"),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(text(resp).await.contains("did not come from this page"));
    let root = send(&ui, Request::get("/").body(Body::empty()).expect("req")).await;
    assert_eq!(root.headers()[header::LOCATION], "/ui/");
    let css = send(
        &ui,
        Request::get("/ui/static/app.css")
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(
        css.headers()[header::CONTENT_TYPE],
        "text/css; charset=utf-8"
    );
    assert!(text(css).await.contains("prefers-color-scheme: dark"));
}

#[tokio::test]
async fn assets_and_the_status_page_without_probes() {
    let ui = ui(&[]);
    for (path, kind) in [
        ("/ui/static/app.css", "text/css"),
        ("/ui/static/app.js", "text/javascript"),
    ] {
        let resp = send(&ui, Request::get(path).body(Body::empty()).expect("req")).await;
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        let ct = resp.headers()[header::CONTENT_TYPE]
            .to_str()
            .expect("type")
            .to_string();
        assert!(ct.starts_with(kind), "{path}: {ct}");
        assert!(!text(resp).await.is_empty());
    }
    // No probes wired in (this process only serves pages): the page says so, it does not fail.
    let resp = send(
        &ui,
        Request::get("/ui/status").body(Body::empty()).expect("req"),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let html = scraper::Html::parse_document(&text(resp).await);
    let p = scraper::Selector::parse("main p").expect("selector");
    let said: Vec<String> = html
        .select(&p)
        .map(|e| e.text().collect::<String>())
        .collect();
    assert!(said.iter().any(|t| t.contains("not available")), "{said:?}");
    // Trace links: only with a template, the id encoded.
    assert_eq!(ui.trace_link("abc"), None);
    let linked = ui.with_trace_url("http://jaeger:16686/trace/{trace_id}");
    assert_eq!(
        linked.trace_link("4bf9 x").as_deref(),
        Some("http://jaeger:16686/trace/4bf9%20x")
    );
    assert_eq!(linked.trace_link(""), None);
}
