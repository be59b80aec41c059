//! Slack incoming webhooks (and Mattermost's and Discord's Slack-compatible `/slack`
//! endpoints): `{"text": …, "blocks": […]}`, `text` being the notification and the fallback.
//! Texts are escaped for Slack's mrkdwn (`&`, `<`, `>`): error messages are attacker-controlled.

use serde_json::{Value, json};

use super::{Outcome, post_json};
use crate::alert::{Alert, headline, rfc3339};

/// `&`, `<` and `>` as Slack wants them in mrkdwn and in `text`.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// At most `n` characters (Slack refuses longer block texts).
fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// The message of an alert.
pub fn body(alert: &Alert) -> Value {
    let text = escape(&alert.summary());
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": cut(&format!("{} · {}", alert.event.title(), alert.project), 150)},
    })];
    let mut fields =
        vec![json!({"type": "mrkdwn", "text": format!("*Project*\n{}", escape(&alert.project))})];
    if let Some(i) = &alert.issue {
        let title = escape(&cut(&headline(i), 300));
        let link = if i.url.is_empty() {
            format!("*{title}*")
        } else {
            format!("*<{}|{title}>*", escape(&i.url))
        };
        let culprit = if i.culprit.is_empty() {
            String::new()
        } else {
            format!("\n`{}`", escape(&cut(&i.culprit, 200)).replace('`', "'"))
        };
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": cut(&format!("{link}{culprit}"), 3000)}}));
        fields.push(json!({"type": "mrkdwn", "text": format!("*Occurrences*\n{}", i.count)}));
        fields.push(json!({"type": "mrkdwn", "text": format!("*Status*\n{}", escape(&i.status))}));
        fields.push(json!({"type": "mrkdwn", "text": format!("*First seen*\n{}", i.first_seen)}));
    }
    if let Some(s) = &alert.service {
        fields.push(json!({"type": "mrkdwn", "text": format!("*Service*\n{}", escape(s))}));
    }
    if let (Some(v), Some(t)) = (alert.value, alert.threshold) {
        fields.push(json!({"type": "mrkdwn", "text": format!("*In {}*\n{v} (threshold {t})", alert.window_text())}));
    }
    blocks.push(json!({"type": "section", "fields": fields}));
    let rule = if alert.rule.is_empty() {
        "test".to_string()
    } else {
        format!("rule `{}`", escape(&alert.rule).replace('`', "'"))
    };
    blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": format!("{rule} · {} · alert {}", rfc3339(alert.fired_at), alert.id)}]}));
    json!({"text": cut(&text, 3000), "blocks": blocks})
}

/// One POST.
pub async fn send(http: &reqwest::Client, url: &str, alert: &Alert) -> Outcome {
    let body = serde_json::to_vec(&body(alert)).unwrap_or_default();
    post_json(http, url, &[], body).await
}
