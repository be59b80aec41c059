//! The native webhook event, `POST /webhook/error/{token}` (seed 000 §4).
//!
//! Only `message` is required. Known fields are typed leniently where clients differ (numbers may
//! arrive as strings); unknown fields are kept in [`WebhookEvent::extra`] as context, never rejected.

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// One error reported by an app without OpenTelemetry.
#[derive(Debug, Clone, Deserialize)]
pub struct WebhookEvent {
    /// Error message (required, may be empty).
    pub message: String,
    /// Exception class, e.g. `Error` or `App\\Exception\\PaymentFailed`.
    #[serde(default, alias = "exception_type", alias = "type")]
    pub exception_class: Option<String>,
    /// Stack trace as the runtime printed it.
    #[serde(default, alias = "stacktrace")]
    pub stack_trace: Option<String>,
    /// File where the error was raised.
    #[serde(default)]
    pub file: Option<String>,
    /// Line where the error was raised.
    #[serde(default, deserialize_with = "lenient_u32")]
    pub line: Option<u32>,
    /// Name the app gives itself; becomes the `service` (the project comes from the token).
    #[serde(default)]
    pub project: Option<String>,
    /// Service name, when the app sends one besides `project`.
    #[serde(default)]
    pub service: Option<String>,
    /// Deployment environment (`prod`, `staging`...).
    #[serde(default)]
    pub environment: Option<String>,
    /// Release / version of the app.
    #[serde(default, alias = "version")]
    pub release: Option<String>,
    /// HTTP status of the failed request.
    #[serde(default, deserialize_with = "lenient_u16")]
    pub http_status: Option<u16>,
    /// When it happened, RFC 3339.
    #[serde(default)]
    pub timestamp: Option<String>,
    /// Client-side grouping key; wins over Faultline's own.
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// Severity or level the client assigns (`low`..`critical`, or `error`, `fatal`...).
    #[serde(default, alias = "level")]
    pub severity: Option<String>,
    /// Client-side event id, used for deduplication.
    #[serde(default)]
    pub event_id: Option<String>,
    /// The failed request.
    #[serde(default)]
    pub request: Option<WebhookRequest>,
    /// Server details (`php_version`, `memory_usage`...), kept as context.
    #[serde(default)]
    pub server: Option<Map<String, Value>>,
    /// Every other field, kept as context.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The request during which the error happened.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct WebhookRequest {
    /// Full URL.
    #[serde(default)]
    pub url: Option<String>,
    /// HTTP method.
    #[serde(default)]
    pub method: Option<String>,
    /// Route name or template.
    #[serde(default)]
    pub route: Option<String>,
    /// Client IP.
    #[serde(default)]
    pub ip: Option<String>,
    /// Client user agent.
    #[serde(default)]
    pub user_agent: Option<String>,
    /// Other request fields, kept as context.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
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
