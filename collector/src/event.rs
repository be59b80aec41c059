//! The one internal shape every input becomes, and how it becomes a stored row.
//!
//! Receivers ([`crate::otlp`], [`crate::webhook`]) produce [`ErrorEvent`]s; [`ErrorEvent::into_row`]
//! fingerprints and enriches one into a [`Row`]. Nothing else builds rows.
//!
//! Both borrow: an event's texts point into the request body wherever the body holds them as
//! they are (an OTLP attribute value, a JSON string without escapes), and a row's into the event
//! and into the grouping results. A 1000-error export then costs a few allocations per error
//! instead of two dozen, and its stack traces are copied once, into the spool record.

use std::borrow::Cow;

use faultline_store::OccurrenceRow;

use crate::fingerprint::{
    Frame, GroupingConfig, GroupingInput, Segment, Stack, Transition, fingerprint,
};
use crate::occurrence::TraceHint;

/// Which receiver took the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A span event of an OTLP trace.
    OtlpTrace,
    /// An OTLP log record.
    OtlpLog,
    /// The native webhook.
    Webhook,
    /// A Sentry SDK's envelope.
    SentryEnvelope,
    /// A Sentry SDK's `/store/` request.
    SentryStore,
    /// One of Sentry's outgoing webhooks.
    SentryWebhook,
}

impl Source {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::OtlpTrace => "otlp_trace",
            Source::OtlpLog => "otlp_log",
            Source::Webhook => "webhook",
            Source::SentryEnvelope => "sentry_envelope",
            Source::SentryStore => "sentry_store",
            Source::SentryWebhook => "sentry_webhook",
        }
    }
}

/// A text of an event or a row: borrowed from the request, or owned when it had to be made.
pub type Text<'a> = Cow<'a, str>;

/// An occurrence row as ingest builds it, its texts borrowed where they can be.
pub type Row<'a> = OccurrenceRow<Text<'a>>;

/// One error occurrence, whatever format it arrived in.
#[derive(Debug, Clone, Default)]
pub struct ErrorEvent<'a> {
    /// Client-given or derived stable id.
    pub event_id: Text<'a>,
    /// When it happened, seconds since the epoch; 0 = unknown (then: when received).
    pub timestamp: u32,
    /// Receiver.
    pub source: Option<Source>,
    /// `service.name`.
    pub service: Text<'a>,
    /// Deployment environment.
    pub environment: Text<'a>,
    /// `service.version`.
    pub release: Text<'a>,
    /// `exception.type`.
    pub exception_type: Text<'a>,
    /// `exception.message`.
    pub message: Text<'a>,
    /// The message's template, when the client sent one (Sentry's `logentry.message`, before its
    /// parameters were put in): grouping reads it instead of the message.
    pub message_template: Option<Text<'a>>,
    /// `exception.stacktrace`: as the client printed it, or rendered for display from the frames
    /// it sent as data.
    pub stacktrace: Text<'a>,
    /// Frames sent as data (Sentry events), normalized: a chain of exceptions, outermost first,
    /// frames innermost first. When there are any, grouping reads these instead of parsing
    /// `stacktrace`.
    pub frames: Vec<Segment<'a>>,
    /// Whether the exception escaped its span (uncaught).
    pub escaped: bool,
    /// HTTP response status, 0 when none.
    pub http_status: u16,
    /// HTTP method.
    pub http_method: Text<'a>,
    /// HTTP route template.
    pub http_route: Text<'a>,
    /// Full URL.
    pub url: Text<'a>,
    /// Trace id, hex.
    pub trace_id: Text<'a>,
    /// Span id, hex.
    pub span_id: Text<'a>,
    /// Severity the client gave (webhook `severity`/`level`, OTLP log severity), if any.
    pub severity_hint: Option<Text<'a>>,
    /// Fingerprint the client gave, if any.
    pub client_fingerprint: Option<Text<'a>>,
    /// Remaining attributes, as strings.
    pub attributes: Vec<(Text<'a>, Text<'a>)>,
    /// The trace work as the receiver found it, or its own key for it ([`TraceHint`]).
    pub trace_hint: TraceHint,
}

/// Severity by seed 004 §6: low (404, < 400), medium (410, 412, 3xx, validation), high (401, 403,
/// other 4xx, authentication), critical (500+, database, timeout, uncaught).
pub fn severity(ev: &ErrorEvent<'_>) -> &'static str {
    if let Some(hint) = ev.severity_hint.as_deref() {
        match hint.trim().to_ascii_lowercase().as_str() {
            "low" | "info" | "debug" | "trace" | "notice" => return "low",
            "medium" | "warning" | "warn" => return "medium",
            "high" | "error" | "err" => return "high",
            "critical" | "fatal" | "emergency" | "alert" | "crit" | "panic" => return "critical",
            _ => {}
        }
    }
    match ev.http_status {
        404 => return "low",
        410 | 412 => return "medium",
        401 | 403 => return "high",
        500.. => return "critical",
        400..=499 => return "high",
        300..=399 => return "medium",
        1..=299 => return "low",
        0 => {}
    }
    let mut text = String::with_capacity(ev.exception_type.len() + 1 + ev.message.len());
    text.push_str(&ev.exception_type);
    text.push(' ');
    text.push_str(&ev.message);
    text.make_ascii_lowercase();
    if [
        "timeout",
        "timed out",
        "database",
        "sql",
        "deadlock",
        "connection refused",
        "panic",
        "fatal",
    ]
    .iter()
    .any(|w| text.contains(w))
        || ev.escaped
    {
        "critical"
    } else if [
        "unauthorized",
        "forbidden",
        "permission",
        "authentication",
        "access denied",
    ]
    .iter()
    .any(|w| text.contains(w))
    {
        "high"
    } else if ["validation", "invalid", "precondition"]
        .iter()
        .any(|w| text.contains(w))
    {
        "medium"
    } else {
        "high"
    }
}

impl<'a> ErrorEvent<'a> {
    /// Fingerprints (with the project's grouping configuration, if any; an issue of the older
    /// grouping version keeps its fingerprint during a `transition`) and enriches the event into
    /// a row of `project`.
    pub fn into_row(
        self,
        project: &'a str,
        received_at: u32,
        config: Option<&GroupingConfig>,
        transition: Option<&Transition>,
    ) -> Row<'a> {
        let input = self.grouping_input(project, config);
        let grouping = match transition {
            Some(t) => t.keep(&input, fingerprint(&input)),
            None => fingerprint(&input),
        };
        self.into_row_grouped(
            project,
            received_at,
            grouping.fingerprint.into(),
            grouping.culprit.into(),
            grouping.version,
        )
    }

    /// The same event, owning its texts.
    pub fn into_owned(self) -> ErrorEvent<'static> {
        fn own(t: Text<'_>) -> Text<'static> {
            Cow::Owned(t.into_owned())
        }
        ErrorEvent {
            event_id: own(self.event_id),
            timestamp: self.timestamp,
            source: self.source,
            service: own(self.service),
            environment: own(self.environment),
            release: own(self.release),
            exception_type: own(self.exception_type),
            message: own(self.message),
            message_template: self.message_template.map(own),
            stacktrace: own(self.stacktrace),
            frames: (self.frames.into_iter())
                .map(|s| Segment {
                    exception_type: s.exception_type.map(own),
                    frames: (s.frames.into_iter())
                        .map(|f| Frame {
                            module: own(f.module),
                            function: own(f.function),
                            in_app: f.in_app,
                            anonymous: f.anonymous,
                        })
                        .collect(),
                })
                .collect(),
            escaped: self.escaped,
            http_status: self.http_status,
            http_method: own(self.http_method),
            http_route: own(self.http_route),
            url: own(self.url),
            trace_id: own(self.trace_id),
            span_id: own(self.span_id),
            severity_hint: self.severity_hint.map(own),
            client_fingerprint: self.client_fingerprint.map(own),
            attributes: (self.attributes.into_iter())
                .map(|(k, v)| (own(k), own(v)))
                .collect(),
            trace_hint: self.trace_hint,
        }
    }

    /// What grouping looks at, for this event in `project`.
    pub fn grouping_input<'b>(
        &'b self,
        project: &'b str,
        config: Option<&'b GroupingConfig>,
    ) -> GroupingInput<'b> {
        GroupingInput {
            project,
            service: &self.service,
            exception_type: &self.exception_type,
            message: self.message_template.as_deref().unwrap_or(&self.message),
            stack: if self.frames.is_empty() {
                Stack::Text(&self.stacktrace)
            } else {
                Stack::Frames(&self.frames)
            },
            client_fingerprint: self.client_fingerprint.as_deref(),
            config,
        }
    }

    /// Enriches the event into a row of `project`, with its grouping (fingerprint, culprit,
    /// grouping version) already computed.
    pub fn into_row_grouped(
        self,
        project: &'a str,
        received_at: u32,
        fingerprint: Text<'a>,
        culprit: Text<'a>,
        grouping_version: u8,
    ) -> Row<'a> {
        let severity = severity(&self).into();
        let (attr_keys, attr_values) = self.attributes.into_iter().unzip();
        OccurrenceRow {
            event_id: self.event_id,
            project: project.into(),
            fingerprint,
            grouping_version,
            timestamp: if self.timestamp == 0 {
                received_at
            } else {
                self.timestamp
            },
            received_at,
            source: self.source.map(Source::as_str).unwrap_or("unknown").into(),
            service: self.service,
            environment: self.environment,
            release: self.release,
            exception_type: self.exception_type,
            message: self.message,
            stacktrace: self.stacktrace,
            stack_hash: 0,
            culprit,
            severity,
            http_status: self.http_status,
            http_method: self.http_method,
            http_route: self.http_route,
            url: self.url,
            trace_id: self.trace_id,
            span_id: self.span_id,
            attr_keys,
            attr_values,
        }
    }
}

/// Seconds since the epoch, now.
pub fn now_secs() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_follows_seed_004() {
        let sev = |s: u16| {
            severity(&ErrorEvent {
                http_status: s,
                ..Default::default()
            })
        };
        assert_eq!(sev(404), "low");
        assert_eq!(sev(410), "medium");
        assert_eq!(sev(412), "medium");
        assert_eq!(sev(302), "medium");
        assert_eq!(sev(401), "high");
        assert_eq!(sev(422), "high");
        assert_eq!(sev(503), "critical");
        let db = ErrorEvent {
            exception_type: "DatabaseError".into(),
            ..Default::default()
        };
        assert_eq!(severity(&db), "critical");
        let hinted = ErrorEvent {
            severity_hint: Some("warning".into()),
            http_status: 500,
            ..Default::default()
        };
        assert_eq!(severity(&hinted), "medium");
    }
}
