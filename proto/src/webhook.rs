//! The native webhook event, `POST /webhook/error/{token}` (seed 000 §4).
//!
//! Only `message` is required. Known fields are typed leniently where clients differ (numbers may
//! arrive as strings); unknown fields are kept in [`WebhookEvent::extra`] as context, never rejected.
//!
//! Texts borrow from the request body when they hold no escapes (read with `serde_json::from_slice`
//! or `from_str`); escaped ones (a stack trace's newlines) are decoded into owned strings.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// One error reported by an app without OpenTelemetry.
#[derive(Debug, Clone, Deserialize)]
pub struct WebhookEvent<'a> {
    /// Error message (required, may be empty).
    #[serde(borrow)]
    pub message: Cow<'a, str>,
    /// Exception class, e.g. `Error` or `App\\Exception\\PaymentFailed`.
    #[serde(
        default,
        borrow,
        deserialize_with = "text",
        alias = "exception_type",
        alias = "type"
    )]
    pub exception_class: Option<Cow<'a, str>>,
    /// Stack trace as the runtime printed it.
    #[serde(default, borrow, deserialize_with = "text", alias = "stacktrace")]
    pub stack_trace: Option<Cow<'a, str>>,
    /// File where the error was raised.
    #[serde(default, borrow, deserialize_with = "text")]
    pub file: Option<Cow<'a, str>>,
    /// Line where the error was raised.
    #[serde(default, deserialize_with = "lenient_u32")]
    pub line: Option<u32>,
    /// Name the app gives itself; becomes the `service` (the project comes from the token).
    #[serde(default, borrow, deserialize_with = "text")]
    pub project: Option<Cow<'a, str>>,
    /// Service name, when the app sends one besides `project`.
    #[serde(default, borrow, deserialize_with = "text")]
    pub service: Option<Cow<'a, str>>,
    /// Deployment environment (`prod`, `staging`...).
    #[serde(default, borrow, deserialize_with = "text")]
    pub environment: Option<Cow<'a, str>>,
    /// Release / version of the app.
    #[serde(default, borrow, deserialize_with = "text", alias = "version")]
    pub release: Option<Cow<'a, str>>,
    /// HTTP status of the failed request.
    #[serde(default, deserialize_with = "lenient_u16")]
    pub http_status: Option<u16>,
    /// When it happened, RFC 3339.
    #[serde(default, borrow, deserialize_with = "text")]
    pub timestamp: Option<Cow<'a, str>>,
    /// Client-side grouping key; wins over Faultline's own.
    #[serde(default, borrow, deserialize_with = "text")]
    pub fingerprint: Option<Cow<'a, str>>,
    /// Severity or level the client assigns (`low`..`critical`, or `error`, `fatal`...).
    #[serde(default, borrow, deserialize_with = "text", alias = "level")]
    pub severity: Option<Cow<'a, str>>,
    /// Client-side event id, used for deduplication.
    #[serde(default, borrow, deserialize_with = "text")]
    pub event_id: Option<Cow<'a, str>>,
    /// The failed request.
    #[serde(default, borrow)]
    pub request: Option<WebhookRequest<'a>>,
    /// Server details (`php_version`, `memory_usage`...), kept as context.
    #[serde(default)]
    pub server: Option<Map<String, Value>>,
    /// Every other field, kept as context.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The request during which the error happened.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct WebhookRequest<'a> {
    /// Full URL.
    #[serde(default, borrow, deserialize_with = "text")]
    pub url: Option<Cow<'a, str>>,
    /// HTTP method.
    #[serde(default, borrow, deserialize_with = "text")]
    pub method: Option<Cow<'a, str>>,
    /// Route name or template.
    #[serde(default, borrow, deserialize_with = "text")]
    pub route: Option<Cow<'a, str>>,
    /// Client IP.
    #[serde(default, borrow, deserialize_with = "text")]
    pub ip: Option<Cow<'a, str>>,
    /// Client user agent.
    #[serde(default, borrow, deserialize_with = "text")]
    pub user_agent: Option<Cow<'a, str>>,
    /// Other request fields, kept as context.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An optional string, borrowed from the input when it has no escapes (serde's own `Cow`
/// always copies).
fn text<'de: 'a, 'a, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'a, str>>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<Cow<'de, str>>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_str(self)
        }
        fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Borrowed(v)))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(v.to_owned())))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(v)))
        }
    }
    d.deserialize_option(V)
}

fn lenient_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    use serde::de::Error;
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| D::Error::custom(format!("expected a non-negative integer, got {n}"))),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| D::Error::custom(format!("expected an integer, got {s:?}"))),
        Some(other) => Err(D::Error::custom(format!(
            "expected an integer, got {other}"
        ))),
    }
}

fn lenient_u16<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
    use serde::de::Error;
    lenient_number(d)?
        .map(|n| u16::try_from(n).map_err(|_| D::Error::custom(format!("{n} is out of range"))))
        .transpose()
}

fn lenient_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    use serde::de::Error;
    lenient_number(d)?
        .map(|n| u32::try_from(n).map_err(|_| D::Error::custom(format!("{n} is out of range"))))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_payload_parses() {
        let ev: WebhookEvent = serde_json::from_str(
            r##"{"message":"Call to undefined method User::getEmaill()","exception_class":"Error",
            "stack_trace":"#0 /var/www/src/Controller/UserController.php(45): x()","file":"/var/www/src/Controller/UserController.php",
            "line":45,"project":"mon-site-ecommerce","environment":"prod","http_status":500,
            "timestamp":"2025-06-02T14:30:25+02:00","fingerprint":"abc123",
            "request":{"url":"https://monsite.com/profile","method":"GET","route":"user_profile","ip":"192.168.1.100","user_agent":"Mozilla/5.0"},
            "server":{"php_version":"8.2.7","memory_usage":12582912},"custom":{"a":1}}"##,
        )
        .expect("parses");
        assert_eq!(ev.http_status, Some(500));
        assert_eq!(ev.line, Some(45));
        assert_eq!(
            ev.request.as_ref().and_then(|r| r.method.as_deref()),
            Some("GET")
        );
        assert!(ev.extra.contains_key("custom"));
    }

    #[test]
    fn plain_texts_borrow_and_escaped_ones_are_decoded() {
        let body = r#"{"message":"boom","stack_trace":"a\nb","service":null,"request":{"url":"/x"},"k":"v"}"#;
        let ev: WebhookEvent = serde_json::from_str(body).expect("parses");
        assert!(matches!(ev.message, Cow::Borrowed("boom")));
        assert!(matches!(ev.stack_trace, Some(Cow::Owned(ref s)) if s == "a\nb"));
        assert_eq!(ev.service, None);
        let url = ev.request.as_ref().and_then(|r| r.url.as_ref());
        assert!(matches!(url, Some(Cow::Borrowed("/x"))), "{url:?}");
        assert_eq!(ev.extra.get("k"), Some(&Value::String("v".into())));
        let err = serde_json::from_str::<WebhookEvent>(r#"{"message":"x","service":5}"#)
            .expect_err("type");
        assert!(err.to_string().contains("expected a string"), "{err}");
    }

    #[test]
    fn only_message_is_required() {
        let ev: WebhookEvent =
            serde_json::from_str(r#"{"message":"boom","http_status":"404"}"#).expect("ok");
        assert_eq!(ev.http_status, Some(404));
        let err = serde_json::from_str::<WebhookEvent>(r#"{"exception_class":"E"}"#)
            .expect_err("no message");
        assert!(err.to_string().contains("message"), "{err}");
        let err = serde_json::from_str::<WebhookEvent>(r#"{"message":"x","http_status":70000}"#)
            .expect_err("range");
        assert!(err.to_string().contains("out of range"), "{err}");
    }
}
