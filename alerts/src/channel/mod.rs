//! Where alerts go, one module per kind: [`webhook`] (signed JSON), [`slack`] (an incoming
//! webhook: Slack, and Mattermost's and Discord's Slack-compatible endpoints), [`email`] (SMTP).
//! Each renders an [`Alert`] and sends it once; the engine retries what [`Outcome`] says to.

pub mod email;
pub mod slack;
pub mod webhook;

use std::time::Duration;

use crate::alert::Alert;

/// A configured channel.
#[derive(Debug, Clone)]
pub struct Channel {
    /// Name rules refer to.
    pub name: String,
    /// Kind and target.
    pub kind: ChannelKind,
}

/// A channel's kind and target. `Debug` never shows a URL, secret or password (Slack's URL is
/// itself the secret).
#[derive(Clone)]
pub enum ChannelKind {
    /// Signed JSON POSTs.
    Webhook {
        /// Target.
        url: String,
        /// HMAC-SHA256 key.
        secret: String,
    },
    /// A Slack incoming webhook.
    Slack {
        /// Target.
        url: String,
    },
    /// E-mail over SMTP.
    Email(Box<EmailChannel>),
}

impl std::fmt::Debug for ChannelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind())
    }
}

impl ChannelKind {
    /// `webhook`, `slack` or `email`.
    pub fn kind(&self) -> &'static str {
        match self {
            ChannelKind::Webhook { .. } => "webhook",
            ChannelKind::Slack { .. } => "slack",
            ChannelKind::Email(_) => "email",
        }
    }

    /// Where it sends, with nothing secret: the host of a URL, the SMTP host and recipients.
    pub fn target(&self) -> String {
        let host = |u: &str| {
            reqwest::Url::parse(u)
                .ok()
                .and_then(|u| u.host_str().map(String::from))
                .unwrap_or_default()
        };
        match self {
            ChannelKind::Webhook { url, .. } | ChannelKind::Slack { url } => host(url),
            ChannelKind::Email(e) => format!(
                "{} → {}",
                e.host,
                e.to.iter()
                    .map(|m| m.email.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// How an SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// `smtp://`: STARTTLS when the server offers it, plain otherwise.
    StartTlsWhenOffered,
    /// `smtps://`: TLS from the first byte.
    Tls,
}

/// An e-mail channel.
#[derive(Debug, Clone)]
pub struct EmailChannel {
    /// SMTP host.
    pub host: String,
    /// SMTP port (default: 587 for `smtp://` with credentials, else 25; 465 for `smtps://`).
    pub port: Option<u16>,
    /// TLS.
    pub security: SmtpSecurity,
    /// User and password, when the URL had them.
    pub credentials: Option<(String, String)>,
    /// Sender.
    pub from: lettre::message::Mailbox,
    /// Recipients.
    pub to: Vec<lettre::message::Mailbox>,
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The receiver took it.
    Delivered,
    /// Try again (network errors, timeouts, 408, 425, 429, 5xx, SMTP 4xx), not before `after`
    /// when the receiver said so (`Retry-After`).
    Retry {
        /// Why.
        error: String,
        /// The receiver's `Retry-After`.
        after: Option<Duration>,
    },
    /// Never again (other 4xx, SMTP 5xx, redirects).
    Failed {
        /// Why.
        error: String,
    },
}

/// Sends alerts; one per engine (it holds the HTTP connection pool).
#[derive(Clone)]
pub struct Sender {
    http: reqwest::Client,
    public_url: String,
}

/// Timeouts of one attempt.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Timeout of one whole attempt.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

impl Sender {
    /// A sender whose links point into `public_url` (the API's address as users reach it).
    pub fn new(public_url: &str) -> Sender {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("Faultline/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Sender {
            http,
            public_url: public_url.trim_end_matches('/').to_string(),
        }
    }

    /// Faultline's public address (links in alerts).
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// One attempt to deliver `alert` on `channel`.
    pub async fn send(&self, channel: &Channel, alert: &Alert) -> Outcome {
        match &channel.kind {
            ChannelKind::Webhook { url, secret } => {
                webhook::send(&self.http, url, secret, alert).await
            }
            ChannelKind::Slack { url } => slack::send(&self.http, url, alert).await,
            ChannelKind::Email(e) => email::send(e, alert).await,
        }
    }
}

/// The outcome of an HTTP answer: 2xx delivered; 408, 425, 429 and 5xx retried (after
/// `Retry-After` seconds when given); anything else failed.
pub fn http_outcome(status: u16, retry_after: Option<&str>, body: &str) -> Outcome {
    let error = || {
        let text: String = body.chars().take(200).collect();
        format!("HTTP {status}: {}", text.trim())
    };
    match status {
        200..=299 => Outcome::Delivered,
        408 | 425 | 429 | 500..=599 => Outcome::Retry {
            error: error(),
            after: retry_after
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(|s| Duration::from_secs(s.min(3600))),
        },
        _ => Outcome::Failed { error: error() },
    }
}

/// The outcome of a request that got no answer: always retried.
pub fn network_outcome(e: reqwest::Error) -> Outcome {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    Outcome::Retry {
        // Without the URL: a Slack URL is a secret.
        error: format!("{kind}: {}", e.without_url()),
        after: None,
    }
}

/// POSTs `body` as JSON with `headers`, and classifies the answer.
async fn post_json(
    http: &reqwest::Client,
    url: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> Outcome {
    let mut req = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json");
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    match req.body(body).send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .map(String::from);
            let text = resp.text().await.unwrap_or_default();
            http_outcome(status, retry_after.as_deref(), &text)
        }
        Err(e) => network_outcome(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_classified() {
        assert_eq!(http_outcome(200, None, "ok"), Outcome::Delivered);
        assert_eq!(http_outcome(204, None, ""), Outcome::Delivered);
        assert!(matches!(
            http_outcome(429, Some("7"), ""),
            Outcome::Retry { after: Some(d), .. } if d == Duration::from_secs(7)
        ));
        assert!(matches!(
            http_outcome(503, None, ""),
            Outcome::Retry { after: None, .. }
        ));
        assert!(matches!(http_outcome(408, None, ""), Outcome::Retry { .. }));
        assert!(
            matches!(http_outcome(404, None, "no"), Outcome::Failed { error } if error == "HTTP 404: no")
        );
        assert!(matches!(
            http_outcome(301, None, ""),
            Outcome::Failed { .. }
        ));
        assert!(matches!(
            http_outcome(410, None, "channel_is_archived"),
            Outcome::Failed { .. }
        ));
    }
}
