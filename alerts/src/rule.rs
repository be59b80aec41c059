//! A rule as the engine runs it: which issues it watches, what fires it, where it goes.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What makes a rule fire.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trigger {
    /// The first occurrence of a fingerprint in its project.
    NewIssue,
    /// A resolved issue seen again (once per resolution).
    Regression,
    /// More than `threshold` occurrences of one issue within `window`.
    Count {
        /// Occurrences (strictly more fires).
        threshold: u64,
        /// The window, ending now.
        window: Duration,
    },
    /// A service's errors ÷ requests above `threshold` within `window`.
    Rate {
        /// Error ratio, 0–1 (strictly more fires).
        threshold: f64,
        /// The window, ending now.
        window: Duration,
        /// Fewer requests than this in the window: no verdict.
        min_requests: u64,
    },
}

impl Trigger {
    /// The event it fires.
    pub fn event(&self) -> Event {
        match self {
            Trigger::NewIssue => Event::NewIssue,
            Trigger::Regression => Event::Regression,
            Trigger::Count { .. } => Event::Count,
            Trigger::Rate { .. } => Event::Rate,
        }
    }
}

/// What an alert says happened (`X-Faultline-Event`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// A new issue.
    NewIssue,
    /// A resolved issue seen again.
    Regression,
    /// An issue's occurrences over a threshold in a window.
    Count,
    /// A service's error ratio over a threshold in a window.
    Rate,
    /// Sent on demand to check a channel.
    Test,
}

impl Event {
    /// As in headers and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::NewIssue => "new_issue",
            Event::Regression => "regression",
            Event::Count => "count",
            Event::Rate => "rate",
            Event::Test => "test",
        }
    }

    /// Read back from the outbox.
    pub fn parse(s: &str) -> Option<Event> {
        Some(match s {
            "new_issue" => Event::NewIssue,
            "regression" => Event::Regression,
            "count" => Event::Count,
            "rate" => Event::Rate,
            "test" => Event::Test,
            _ => return None,
        })
    }

    /// For people: `New issue`, `Regression`, …
    pub fn title(self) -> &'static str {
        match self {
            Event::NewIssue => "New issue",
            Event::Regression => "Regression",
            Event::Count => "Occurrences over threshold",
            Event::Rate => "Error rate over threshold",
            Event::Test => "Test alert",
        }
    }
}

/// Severity, least to most severe (as Faultline classifies occurrences).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// `low`.
    Low = 1,
    /// `medium`.
    Medium = 2,
    /// `high`.
    High = 3,
    /// `critical`.
    Critical = 4,
}

impl Severity {
    /// From its name.
    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => return None,
        })
    }

    /// The rank the store's queries give it (`severity_rank`: 1 low … 4 critical).
    pub fn rank(self) -> u8 {
        self as u8
    }
}

/// One rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Name, unique.
    pub name: String,
    /// Only this project.
    pub project: Option<String>,
    /// Only this service.
    pub service: Option<String>,
    /// Only this environment.
    pub environment: Option<String>,
    /// Only issues at least this severe.
    pub severity: Option<Severity>,
    /// What fires it.
    pub trigger: Trigger,
    /// At most one alert per issue (per service for `rate`) per interval.
    pub interval: Duration,
    /// Channel names.
    pub channels: Vec<String>,
}

impl Rule {
    /// Whether an issue seen in these services and environments, this severe at most, is one
    /// this rule watches (an empty list: not known, which passes).
    pub fn watches(&self, services: &[String], environments: &[String], severity_rank: u8) -> bool {
        let within = |want: &Option<String>, seen: &[String]| match want {
            Some(w) => seen.is_empty() || seen.iter().any(|s| s == w),
            None => true,
        };
        within(&self.service, services)
            && within(&self.environment, environments)
            && self.severity.is_none_or(|s| severity_rank >= s.rank())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters() {
        let mut r = Rule {
            name: "r".into(),
            project: None,
            service: Some("api".into()),
            environment: None,
            severity: Some(Severity::High),
            trigger: Trigger::NewIssue,
            interval: Duration::from_secs(60),
            channels: vec![],
        };
        assert!(r.watches(&["api".into(), "web".into()], &[], 4));
        assert!(!r.watches(&["web".into()], &[], 4));
        assert!(!r.watches(&["api".into()], &[], 2));
        r.severity = None;
        assert!(r.watches(&[], &[], 0));
        for e in [
            Event::NewIssue,
            Event::Regression,
            Event::Count,
            Event::Rate,
            Event::Test,
        ] {
            assert_eq!(Event::parse(e.as_str()), Some(e));
        }
    }
}
