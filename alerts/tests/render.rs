//! What receivers get, per channel, for one alert of each event: snapshots (insta) of the webhook
//! body, the Slack message and the e-mail's subject and text.

use faultline_alerts::alert::{Alert, IssueFacts};
use faultline_alerts::channel::{email, slack, webhook};
use faultline_alerts::rule::Event;

fn issue() -> IssueFacts {
    IssueFacts {
        fingerprint: "9f2c4e1a".into(),
        exception_type: "ZeroDivisionError".into(),
        message: "division by zero <script>&".into(),
        culprit: "checkout.views.pay".into(),
        count: 120,
        first_seen: "2026-12-06T10:00:00Z".into(),
        last_seen: "2026-12-06T10:59:00Z".into(),
        status: "open".into(),
        url: "https://faultline.example/api/v1/errors/9f2c4e1a?project=shop".into(),
    }
}

fn alert(event: Event) -> Alert {
    let id = "0123456789abcdef0123456789abcdef".to_string();
    let mut a = Alert::new(id, event, "bursts", "shop", Some(issue()), 1_796_554_800);
    match event {
        Event::Count => {
            a.window_secs = Some(3600);
            a.threshold = Some(100.0);
            a.value = Some(120.0);
        }
        Event::Rate => {
            a.service = Some("checkout".into());
            a.window_secs = Some(600);
            a.threshold = Some(0.05);
            a.value = Some(0.125);
            a.errors = Some(25);
            a.requests = Some(200);
        }
        _ => {}
    }
    a
}

#[test]
fn webhook_bodies() {
    for e in [Event::NewIssue, Event::Count, Event::Rate] {
        insta::assert_json_snapshot!(format!("webhook_{}", e.as_str()), webhook::body(&alert(e)));
    }
}

#[test]
fn slack_messages_escape_what_clients_sent() {
    let m = slack::body(&alert(Event::NewIssue));
    assert!(!m.to_string().contains("<script>"));
    insta::assert_json_snapshot!("slack_new_issue", m);
    insta::assert_json_snapshot!("slack_rate", slack::body(&alert(Event::Rate)));
}

#[test]
fn emails() {
    for e in [Event::NewIssue, Event::Regression, Event::Rate] {
        let a = alert(e);
        insta::assert_snapshot!(
            format!("email_{}", e.as_str()),
            format!("Subject: {}\n\n{}", email::subject(&a), email::text(&a))
        );
    }
}
