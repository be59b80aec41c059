//! `[alerts]` in the configuration file: channels and rules as written, then validated once into
//! typed [`Alerts`] with errors that name the channel or rule and the field.

use std::collections::HashSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::channel::{Channel, ChannelKind, EmailChannel, SmtpSecurity};
use crate::rule::{Rule, Severity, Trigger};

/// `[alerts]` as written in the file.
#[derive(Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// `[[alerts.channels]]`.
    #[serde(default)]
    pub channels: Vec<ChannelConfig>,
    /// `[[alerts.rules]]`.
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
    /// How long a delivery is retried before it is marked failed (default `1h`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_for: Option<String>,
}

impl std::fmt::Debug for AlertsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertsConfig")
            .field("channels", &self.channels.len())
            .field("rules", &self.rules)
            .finish()
    }
}

/// One `[[alerts.channels]]` as written. Its `Debug` shows no URL, secret or password.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelConfig {
    /// Name rules refer to.
    pub name: String,
    /// `webhook`, `slack` or `email`.
    #[serde(rename = "type")]
    pub kind: String,
    /// webhook, slack: where to POST.
    pub url: Option<String>,
    /// webhook: the HMAC-SHA256 signing secret.
    pub secret: Option<String>,
    /// email: `smtp://[user:password@]host[:port]` (STARTTLS when offered) or `smtps://` (TLS).
    pub smtp_url: Option<String>,
    /// email: sender address.
    pub from: Option<String>,
    /// email: recipients.
    pub to: Option<Vec<String>>,
}

impl std::fmt::Debug for ChannelConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelConfig")
            .field("name", &self.name)
            .field("type", &self.kind)
            .finish_non_exhaustive()
    }
}

/// One `[[alerts.rules]]` as written.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Name (unique; part of every alert id).
    pub name: String,
    /// Only this project (every project when absent).
    pub project: Option<String>,
    /// Only this service.
    pub service: Option<String>,
    /// Only this environment.
    pub environment: Option<String>,
    /// Only issues at least this severe (`low`, `medium`, `high`, `critical`).
    pub severity: Option<String>,
    /// `new_issue`, `regression`, `count` or `rate`.
    pub when: String,
    /// count: more than this many occurrences; rate: an error ratio above this (0–1).
    pub threshold: Option<f64>,
    /// count, rate: the window (`30m`, `1h`, `1d`).
    pub window: Option<String>,
    /// At most one alert per issue (per service for `rate`) per interval (default `1h`).
    pub interval: Option<String>,
    /// rate: only services with at least this many requests in the window (default 10).
    pub min_requests: Option<u64>,
    /// Channel names.
    pub channels: Vec<String>,
}

/// Alerting as validated: what the engine runs.
#[derive(Debug, Clone, Default)]
pub struct Alerts {
    /// Channels by name.
    pub channels: Vec<Channel>,
    /// Rules.
    pub rules: Vec<Rule>,
    /// How long deliveries are retried.
    pub retry_for: Duration,
}

impl Alerts {
    /// Whether there is anything to evaluate.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.channels.is_empty()
    }

    /// A channel by name.
    pub fn channel(&self, name: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.name == name)
    }
}

/// A duration as written in the file: a number and a unit (`s`, `m`, `h`, `d`, `w`), e.g. `90s`,
/// `30m`, `1h`, `7d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{text:?} has no unit (s, m, h, d or w)"))?;
    let (n, unit) = t.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("{text:?} does not start with a whole number"))?;
    let secs = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        other => {
            return Err(format!(
                "{text:?}: unknown unit {other:?} (s, m, h, d or w)"
            ));
        }
    };
    if n == 0 {
        return Err(format!("{text:?} must be above zero"));
    }
    n.checked_mul(secs)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?} is too long"))
}

impl AlertsConfig {
    /// Checks every channel and rule; the first problem is the error, naming where it is.
    pub fn validate(&self) -> Result<Alerts, String> {
        let mut names = HashSet::new();
        let mut channels = Vec::new();
        for c in &self.channels {
            let at = format!("alerts channel {:?}", c.name);
            if c.name.trim().is_empty() {
                return Err("an alerts channel has no `name`".into());
            }
            if !names.insert(c.name.clone()) {
                return Err(format!("{at}: declared twice"));
            }
            channels.push(Channel {
                name: c.name.clone(),
                kind: channel_kind(c).map_err(|e| format!("{at}: {e}"))?,
            });
        }
        let mut rule_names = HashSet::new();
        let mut rules = Vec::new();
        for r in &self.rules {
            let at = format!("alerts rule {:?}", r.name);
            if r.name.trim().is_empty() {
                return Err("an alerts rule has no `name`".into());
            }
            if !rule_names.insert(r.name.clone()) {
                return Err(format!("{at}: declared twice"));
            }
            rules.push(rule(r, &names).map_err(|e| format!("{at}: {e}"))?);
        }
        let retry_for = match &self.retry_for {
            Some(d) => parse_duration(d).map_err(|e| format!("alerts retry_for: {e}"))?,
            None => Duration::from_secs(3600),
        };
        Ok(Alerts {
            channels,
            rules,
            retry_for,
        })
    }
}

fn http_url(url: Option<&str>) -> Result<String, String> {
    let url = url
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .ok_or("needs a `url`")?;
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("`url` is not a URL ({e})"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err("`url` must be an http:// or https:// URL".into());
    }
    Ok(url.to_string())
}

fn channel_kind(c: &ChannelConfig) -> Result<ChannelKind, String> {
    let unexpected = |field: &str, present: bool| {
        if present {
            Err(format!("`{field}` does not apply to type {:?}", c.kind))
        } else {
            Ok(())
        }
    };
    match c.kind.as_str() {
        "webhook" => {
            unexpected("smtp_url", c.smtp_url.is_some())?;
            let secret = c
                .secret
                .clone()
                .filter(|s| !s.is_empty())
                .ok_or("type webhook needs a `secret` (its deliveries are signed with it)")?;
            Ok(ChannelKind::Webhook {
                url: http_url(c.url.as_deref())?,
                secret,
            })
        }
        "slack" => {
            unexpected("secret", c.secret.is_some())?;
            unexpected("smtp_url", c.smtp_url.is_some())?;
            Ok(ChannelKind::Slack {
                url: http_url(c.url.as_deref())?,
            })
        }
        "email" => {
            unexpected("url", c.url.is_some())?;
            unexpected("secret", c.secret.is_some())?;
            let smtp_url = c.smtp_url.as_deref().ok_or("type email needs `smtp_url`")?;
            let from = c.from.as_deref().ok_or("type email needs `from`")?;
            let to = c.to.clone().unwrap_or_default();
            if to.is_empty() {
                return Err("type email needs at least one address in `to`".into());
            }
            Ok(ChannelKind::Email(Box::new(email_channel(
                smtp_url, from, &to,
            )?)))
        }
        other => Err(format!("unknown type {other:?} (webhook, slack or email)")),
    }
}

fn email_channel(smtp_url: &str, from: &str, to: &[String]) -> Result<EmailChannel, String> {
    let url = reqwest::Url::parse(smtp_url).map_err(|e| format!("`smtp_url`: {e}"))?;
    let security = match url.scheme() {
        "smtp" => SmtpSecurity::StartTlsWhenOffered,
        "smtps" => SmtpSecurity::Tls,
        other => {
            return Err(format!(
                "`smtp_url` scheme {other:?}: use smtp:// (STARTTLS when offered) or smtps:// (TLS)"
            ));
        }
    };
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or("`smtp_url` has no host")?
        .to_string();
    let decode = |s: &str| {
        percent_decode(s).map_err(|_| "`smtp_url`: bad percent-encoding in the credentials")
    };
    let user = decode(url.username())?;
    let password = decode(url.password().unwrap_or(""))?;
    let parse = |field: &str, a: &str| {
        a.parse::<lettre::message::Mailbox>()
            .map_err(|e| format!("`{field}`: {a:?} is not an e-mail address ({e})"))
    };
    Ok(EmailChannel {
        host,
        port: url.port(),
        security,
        credentials: (!user.is_empty()).then_some((user, password)),
        from: parse("from", from)?,
        to: to
            .iter()
            .map(|a| parse("to", a))
            .collect::<Result<_, _>>()?,
    })
}

/// `%XX` sequences decoded (the user and password of a URL).
fn percent_decode(s: &str) -> Result<String, ()> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3).ok_or(())?;
            let hex = std::str::from_utf8(hex).map_err(|_| ())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| ())?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ())
}

fn rule(r: &RuleConfig, channels: &HashSet<String>) -> Result<Rule, String> {
    if r.channels.is_empty() {
        return Err("needs at least one channel in `channels`".into());
    }
    if let Some(unknown) = r.channels.iter().find(|c| !channels.contains(*c)) {
        return Err(format!("unknown channel {unknown:?} in `channels`"));
    }
    let dur = |field: &str, v: &Option<String>| {
        v.as_deref()
            .map(|d| parse_duration(d).map_err(|e| format!("`{field}`: {e}")))
            .transpose()
    };
    let window = dur("window", &r.window)?;
    let interval = dur("interval", &r.interval)?.unwrap_or(Duration::from_secs(3600));
    let needs = |field: &str| format!("`when = {:?}` needs `{field}`", r.when);
    let trigger = match r.when.as_str() {
        "new_issue" | "regression" => {
            for (field, set) in [
                ("threshold", r.threshold.is_some()),
                ("window", r.window.is_some()),
                ("min_requests", r.min_requests.is_some()),
            ] {
                if set {
                    return Err(format!("`{field}` does not apply to `when = {:?}`", r.when));
                }
            }
            if r.when == "new_issue" {
                Trigger::NewIssue
            } else {
                Trigger::Regression
            }
        }
        "count" => {
            let t = r.threshold.ok_or_else(|| needs("threshold"))?;
            if t < 0.0 || t.fract() != 0.0 || t > 1e12 {
                return Err(format!(
                    "`threshold` of a count is a whole number of occurrences, not {t}"
                ));
            }
            if r.min_requests.is_some() {
                return Err("`min_requests` applies only to `when = \"rate\"`".into());
            }
            Trigger::Count {
                threshold: t as u64,
                window: window.ok_or_else(|| needs("window"))?,
            }
        }
        "rate" => {
            let t = r.threshold.ok_or_else(|| needs("threshold"))?;
            if !(0.0..=1.0).contains(&t) {
                return Err(format!(
                    "`threshold` of a rate is an error ratio between 0 and 1, not {t}"
                ));
            }
            Trigger::Rate {
                threshold: t,
                window: window.ok_or_else(|| needs("window"))?,
                min_requests: r.min_requests.unwrap_or(10),
            }
        }
        other => {
            return Err(format!(
                "`when = {other:?}`: use new_issue, regression, count or rate"
            ));
        }
    };
    if matches!(trigger, Trigger::Count { window, .. } | Trigger::Rate { window, .. } if window < Duration::from_secs(60))
    {
        return Err("`window` must be at least 1m".into());
    }
    let severity = r
        .severity
        .as_deref()
        .map(|s| {
            Severity::parse(s)
                .ok_or_else(|| format!("`severity = {s:?}`: use low, medium, high or critical"))
        })
        .transpose()?;
    let nonempty = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    Ok(Rule {
        name: r.name.clone(),
        project: nonempty(&r.project),
        service: nonempty(&r.service),
        environment: nonempty(&r.environment),
        severity,
        trigger,
        interval,
        channels: r.channels.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Alerts, String> {
        #[derive(Deserialize)]
        struct File {
            alerts: AlertsConfig,
        }
        let f: File = toml::from_str(text).map_err(|e| e.to_string())?;
        f.alerts.validate()
    }

    const CHANNELS: &str = r#"
[[alerts.channels]]
name = "hook"
type = "webhook"
url = "https://ops.example/faultline"
secret = "s3cret"

[[alerts.channels]]
name = "chat"
type = "slack"
url = "https://hooks.slack.com/services/T/B/x"

[[alerts.channels]]
name = "mail"
type = "email"
smtp_url = "smtp://user:p%40ss@mail.example:587"
from = "faultline@example.com"
to = ["oncall@example.com"]
"#;

    #[test]
    fn the_issues_example_loads() {
        let a = load(&format!(
            "{CHANNELS}
[[alerts.rules]]
name = \"new issues\"
project = \"shop\"
when = \"new_issue\"
channels = [\"hook\", \"chat\", \"mail\"]

[[alerts.rules]]
name = \"bursts\"
project = \"shop\"
when = \"count\"
threshold = 100
window = \"1h\"
interval = \"1h\"
channels = [\"mail\"]

[[alerts.rules]]
name = \"ratio\"
when = \"rate\"
threshold = 0.05
window = \"10m\"
min_requests = 50
channels = [\"chat\"]
"
        ))
        .expect("valid");
        assert_eq!(a.channels.len(), 3);
        assert_eq!(a.rules[0].trigger, Trigger::NewIssue);
        assert_eq!(
            a.rules[1].trigger,
            Trigger::Count {
                threshold: 100,
                window: Duration::from_secs(3600)
            }
        );
        assert_eq!(a.rules[2].project, None);
        match &a.channels[2].kind {
            ChannelKind::Email(e) => {
                assert_eq!(e.credentials, Some(("user".into(), "p@ss".into())));
                assert_eq!(
                    (e.port, e.security),
                    (Some(587), SmtpSecurity::StartTlsWhenOffered)
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(a.retry_for, Duration::from_secs(3600));
    }

    #[test]
    fn mistakes_are_named() {
        let rule = |body: &str| {
            load(&format!(
                "{CHANNELS}\n[[alerts.rules]]\nname = \"r\"\n{body}"
            ))
        };
        let cases = [
            (
                "when = \"new_issue\"\nchannels = [\"pager\"]",
                "alerts rule \"r\": unknown channel \"pager\"",
            ),
            (
                "when = \"count\"\nthreshold = 5\nwindow = \"1 hour\"\nchannels = [\"hook\"]",
                "`window`: \"1 hour\": unknown unit",
            ),
            (
                "when = \"count\"\nthreshold = 5\nchannels = [\"hook\"]",
                "needs `window`",
            ),
            (
                "when = \"rate\"\nthreshold = 5\nwindow = \"1h\"\nchannels = [\"hook\"]",
                "between 0 and 1",
            ),
            (
                "when = \"sometimes\"\nchannels = [\"hook\"]",
                "use new_issue, regression, count or rate",
            ),
            (
                "when = \"new_issue\"\nseverity = \"loud\"\nchannels = [\"hook\"]",
                "use low, medium, high or critical",
            ),
            (
                "when = \"new_issue\"\nchannels = [\"hook\"]\ncolour = \"red\"",
                "unknown field `colour`",
            ),
        ];
        for (body, want) in cases {
            let e = rule(body).expect_err(body);
            assert!(e.contains(want), "{body}: {e}");
        }
        let no_secret = load(
            "[[alerts.channels]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"https://x.example/\"",
        )
        .expect_err("no secret");
        assert!(no_secret.contains("alerts channel \"hook\": type webhook needs a `secret`"));
        let bad_scheme = load(
            "[[alerts.channels]]\nname = \"m\"\ntype = \"email\"\nsmtp_url = \"imap://x\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]",
        )
        .expect_err("scheme");
        assert!(bad_scheme.contains("smtp://"), "{bad_scheme}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert!(parse_duration("0m").is_err());
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("-5m").is_err());
    }

    #[test]
    fn debug_shows_no_secret() {
        let a: AlertsConfig = toml::from_str::<toml::Table>(CHANNELS)
            .ok()
            .and_then(|t| t.get("alerts").cloned())
            .and_then(|v| v.try_into().ok())
            .expect("parses");
        let shown = format!("{a:?} {:?}", a.channels);
        assert!(
            !shown.contains("s3cret")
                && !shown.contains("p%40ss")
                && !shown.contains("hooks.slack.com")
        );
    }
}
