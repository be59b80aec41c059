//! The triage screen on a real server and ClickHouse, its HTML read with a parser: sign in with an
//! API key, every configured project on the overview, a filtered list, an issue whose message is
//! hostile HTML shown as text, resolving it with the page's form.

use scraper::{Html, Selector};
use serde_json::json;

use crate::common::{start_with, test_config, wait_count};

const KEY: &str = "ui-key-0123456789";

fn sel(s: &str) -> Selector {
    Selector::parse(s).expect("selector")
}

fn texts(doc: &Html, s: &str) -> Vec<String> {
    doc.select(&sel(s))
        .map(|e| e.text().collect::<String>().trim().to_string())
        .collect()
}

#[tokio::test]
async fn sign_in_overview_list_detail_and_resolve() {
    let (mut cfg, sc) =
        test_config("shop:shoptoken0123456789,blog:blogtoken0123456789,quiet:quiettoken0123456789");
    cfg.api_keys = KEY.into();
    cfg.trace_url = "https://tempo.example/explore?trace={trace_id}".into();
    let s = start_with(cfg, &sc).await;
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let send = |class: &str, message: &str, status: u16| {
        let body = json!({"message": message, "exception_class": class, "http_status": status, "service": "checkout", "environment": "prod",
            "request": {"url": format!("https://shop.example/{class}"), "method": "GET"},
            "stack_trace": format!("#0 /app/src/{class}.php(3): run()\n#1 /app/vendor/acme/lib/Y.php(9): go()\n#2 {{main}}")});
        c.post(format!("{}/webhook/error/shoptoken0123456789", s.http))
            .json(&body)
            .send()
    };
    let hostile = "<script>document.title='owned'</script><img src=x onerror=alert(1)>";
    assert_eq!(
        send("PaymentFailed", hostile, 500)
            .await
            .expect("send")
            .status(),
        200
    );
    assert_eq!(
        send("PageMissing", "no route", 404)
            .await
            .expect("send")
            .status(),
        200
    );
    wait_count(&s, "shop", 2).await;
    // A Sentry event with a trace id, into blog (Sentry id 2).
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let sentry = c
        .post(format!("{}/api/2/store/", s.http))
        .header(
            "x-sentry-auth",
            "Sentry sentry_key=blogtoken0123456789, sentry_version=7",
        )
        .json(&json!({
            "event_id": "0123456789abcdef0123456789abcdef",
            "platform": "python",
            "environment": "prod",
            "exception": {"values": [{"type": "KeyError", "value": "'card'",
                "stacktrace": {"frames": [{"filename": "shop/views.py", "function": "pay", "lineno": 3, "in_app": true}]}}]},
            "contexts": {"trace": {"trace_id": trace_id, "span_id": "00f067aa0ba902b7"}},
        }))
        .send()
        .await
        .expect("sentry");
    assert_eq!(sentry.status(), 200, "{:?}", sentry.text().await);
    wait_count(&s, "blog", 1).await;

    // Sign in.
    let login = c
        .post(format!("{}/ui/login", s.api))
        .header("origin", &s.api)
        .form(&[("key", KEY)])
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), 303);
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_string();
    let get = |path: String| {
        let c = c.clone();
        let cookie = cookie.clone();
        async move {
            let r = c
                .get(path)
                .header("cookie", cookie)
                .send()
                .await
                .expect("get");
            assert_eq!(r.status(), 200);
            Html::parse_document(&r.text().await.expect("text"))
        }
    };

    // The overview: both configured projects, also the one without errors.
    let overview = get(format!("{}/ui/", s.api)).await;
    assert_eq!(texts(&overview, "h1"), ["Projects"]);
    let projects = texts(&overview, "table.list tbody td:first-child a");
    assert_eq!(projects, ["shop", "blog", "quiet"], "most errors first");
    assert_eq!(overview.select(&sel("svg.spark polyline")).count(), 3);
    let quiet_row = overview
        .select(&sel("table.list tbody tr"))
        .find(|r| r.text().collect::<String>().contains("quiet"))
        .expect("quiet row");
    assert!(
        quiet_row
            .text()
            .collect::<String>()
            .contains("no errors yet")
    );

    // The status page: every health check, ClickHouse's version among them.
    let status = get(format!("{}/ui/status", s.api)).await;
    assert_eq!(texts(&status, "h1"), ["Status"]);
    let checks = texts(&status, "table.list tbody th");
    for c in ["clickhouse", "disk", "memory", "spool"] {
        assert!(checks.iter().any(|n| n == c), "{c} in {checks:?}");
    }
    let ch_row = status
        .select(&sel("table.list tbody tr"))
        .map(|r| r.text().collect::<String>())
        .find(|t| t.contains("clickhouse"))
        .expect("clickhouse row");
    assert!(
        ch_row.contains("ClickHouse 1") || ch_row.contains("ClickHouse 2"),
        "{ch_row}"
    );

    // The blog issue: its occurrence links the trace to the configured viewer.
    let blog = get(format!("{}/ui/p/blog", s.api)).await;
    let href = blog
        .select(&sel("#issues tbody td a"))
        .next()
        .and_then(|a| a.value().attr("href").map(String::from))
        .expect("the blog issue");
    let issue = get(format!("{}{href}", s.api)).await;
    let links: Vec<String> = issue
        .select(&sel("ol.occurrences a"))
        .filter_map(|a| a.value().attr("href").map(String::from))
        .collect();
    assert_eq!(
        links,
        [format!("https://tempo.example/explore?trace={trace_id}")]
    );

    // The list, filtered by HTTP status 404 and a period, sorted by occurrences.
    let list = get(format!(
        "{}/ui/p/shop?since=1d&http_status=404&sort=count",
        s.api
    ))
    .await;
    let issues = texts(&list, "table.list tbody td a");
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert!(issues[0].contains("PageMissing"));
    let selected: Vec<String> = list
        .select(&sel("select[name=since] option[selected]"))
        .filter_map(|o| o.value().attr("value").map(String::from))
        .collect();
    assert_eq!(selected, ["1d"]);
    // A custom period (dates, UTC): today onwards holds both issues, tomorrow onwards none.
    let day = |offset: i64| {
        let t = time::OffsetDateTime::now_utc() + time::Duration::days(offset);
        format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
    };
    let custom = get(format!("{}/ui/p/shop?from={}&to={}", s.api, day(0), day(1))).await;
    assert_eq!(texts(&custom, "#issues tbody td a").len(), 2);
    let future = get(format!("{}/ui/p/shop?from={}&to={}", s.api, day(1), day(2))).await;
    assert_eq!(texts(&future, "#issues tbody td a").len(), 0);
    // The filter menus offer the project's values.
    let offered: Vec<String> = list
        .select(&sel("datalist#services option"))
        .filter_map(|o| o.value().attr("value").map(String::from))
        .collect();
    assert!(!offered.is_empty(), "services offered");

    // Frequent 404s: the path, linking to its 404 issues.
    let nf = get(format!("{}/ui/404s?period=7d&project=shop", s.api)).await;
    assert_eq!(texts(&nf, "h1"), ["Frequent 404s"]);
    let paths = texts(&nf, "table.list tbody td:first-child");
    assert_eq!(paths, ["/PageMissing"]);

    // The issue: the hostile message is text, no script element exists, frames are marked.
    let all = get(format!("{}/ui/p/shop?sort=type&order=desc", s.api)).await;
    let href = all
        .select(&sel("table.list tbody td a"))
        .find(|a| a.text().collect::<String>().contains("PaymentFailed"))
        .and_then(|a| a.value().attr("href").map(String::from))
        .expect("a link to the issue");
    let detail = get(format!("{}{href}", s.api)).await;
    assert_eq!(texts(&detail, "h1"), ["PaymentFailed"]);
    assert_eq!(texts(&detail, "p.message"), [hostile]);
    // The only script is the screen's own file: nothing inline, nothing from the message.
    let scripts: Vec<_> = detail.select(&sel("script")).collect();
    assert_eq!(scripts.len(), 1);
    assert!(
        scripts[0]
            .value()
            .attr("src")
            .is_some_and(|s| s.starts_with("/ui/static/app.js"))
    );
    assert_eq!(scripts[0].text().collect::<String>(), "");
    assert_eq!(detail.select(&sel("img")).count(), 0);
    // Application frames emphasised, the library frame collapsed.
    assert_eq!(texts(&detail, ".trace span.app").len(), 2);
    assert_eq!(
        texts(&detail, ".trace details.lib summary"),
        ["1 library frame"]
    );
    // Why grouped: the application's frame counted, the vendored one not.
    assert_eq!(texts(&detail, "ol.grouping li"), ["PaymentFailed in run"]);

    // Resolve with the page's own form.
    let form = detail
        .select(&sel("div.actions form"))
        .find(|f| f.text().collect::<String>().contains("Resolve"))
        .expect("a Resolve form");
    let action = form.value().attr("action").expect("action").to_string();
    let field = |name: &str| {
        form.select(&sel(&format!("input[name={name}]")))
            .next()
            .and_then(|i| i.value().attr("value"))
            .expect("field")
            .to_string()
    };
    let (csrf, status) = (field("csrf"), field("status"));
    let posted = c
        .post(format!("{}{action}", s.api))
        .header("cookie", &cookie)
        .header("origin", &s.api)
        .form(&[("csrf", csrf.as_str()), ("status", status.as_str())])
        .send()
        .await
        .expect("resolve");
    assert_eq!(posted.status(), 303);
    let fp = href.rsplit('/').next().expect("fingerprint");
    let api: serde_json::Value = c
        .get(format!("{}/api/v1/errors/{fp}?project=shop", s.api))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("api")
        .json()
        .await
        .expect("json");
    assert_eq!(api["status"], "resolved");
    let after = get(format!("{}{href}", s.api)).await;
    assert_eq!(texts(&after, "div.actions button"), ["Reopen"]);
    // Charts (24 hourly and 30 daily bars), breakdowns and the occurrences.
    assert_eq!(after.select(&sel("svg.chart")).count(), 2);
    assert_eq!(after.select(&sel("svg.chart rect")).count(), 24 + 30);
    assert_eq!(after.select(&sel("ol.occurrences li")).count(), 1);
    assert_eq!(
        texts(&after, ".breakdowns caption"),
        [
            "By environment",
            "By release",
            "By service",
            "By HTTP status"
        ]
    );
    let history = texts(&after, "ol.history li");
    assert_eq!(history.len(), 1, "{history:?}");
    assert!(history[0].contains("resolved") && history[0].contains("ui"));

    // Bulk: ignore the two open issues from the list's own form.
    let list = get(format!("{}/ui/p/shop", s.api)).await;
    let bulk = list.select(&sel("form#bulk")).next().expect("bulk form");
    let mut fields: Vec<(String, String)> = ["csrf", "return_to"]
        .iter()
        .map(|n| {
            let v = bulk
                .select(&sel(&format!("input[name={n}]")))
                .next()
                .and_then(|i| i.value().attr("value"))
                .expect("field");
            (n.to_string(), v.to_string())
        })
        .collect();
    for b in bulk.select(&sel("input[name=issue]")) {
        fields.push((
            "issue".into(),
            b.value().attr("value").expect("value").into(),
        ));
    }
    assert_eq!(fields.len(), 4, "two issues listed");
    fields.push(("status".into(), "ignored".into()));
    let posted = c
        .post(format!("{}/ui/actions", s.api))
        .header("cookie", &cookie)
        .header("origin", &s.api)
        .form(&fields)
        .send()
        .await
        .expect("bulk");
    assert_eq!(posted.status(), 303);
    assert_eq!(posted.headers()["location"], "/ui/p/shop");
    let ignored = get(format!("{}/ui/p/shop?status=ignored", s.api)).await;
    assert_eq!(texts(&ignored, "table.list tbody td a").len(), 2);
    s.running.shutdown().await;
}
