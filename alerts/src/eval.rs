//! Rules × what ClickHouse says → alerts. Pure: the engine fetches the inputs, this decides.
//!
//! - `new_issue`: every occurrence of the issue arrived within [`NEW_LOOKBACK`] (its all-time
//!   count equals what was received lately), so enabling alerts on an old database does not page
//!   for old issues, and an issue is new once.
//! - `regression`: the issue's effective status is `regressed` (the API's rule, release-aware);
//!   the alert id carries the resolution's state version: once per resolution.
//! - `count`: more than `threshold` occurrences in the window ending now.
//! - `rate`: a service's errors ÷ requests above `threshold` in the window, with at least
//!   `min_requests` requests; ignored issues' occurrences are not errors here.
//! - Ignored issues never alert, in any rule; resolved ones only through `regression`.
//! - At most one alert per rule and issue (service, for `rate`) per `interval`.
//!
//! Ids are deterministic (rule, issue or service, trigger window or resolution): the engine
//! drops those already in the outbox, so restarts and replicas never send one twice.

use std::collections::HashMap;

use faultline_query::status::Status;
use faultline_store::queries::IssueTotals;

use crate::alert::{Alert, IssueFacts, alert_id, rfc3339};
use crate::rule::{Event, Rule, Trigger};

/// How far back "every occurrence arrived lately" looks for `new_issue`.
pub const NEW_LOOKBACK: u32 = 3600;

/// An issue as the rules see it.
#[derive(Debug, Clone, PartialEq)]
pub struct IssueView {
    /// All-time figures and latest texts.
    pub totals: IssueTotals,
    /// Occurrences received within [`NEW_LOOKBACK`].
    pub recent: u64,
    /// Effective status.
    pub status: Status,
    /// Version of its triage state (0: never triaged).
    pub state_version: u64,
    /// Services, environments and the highest severity rank seen lately (empty: not known).
    pub services: Vec<String>,
    /// Environments seen lately.
    pub environments: Vec<String>,
    /// Highest severity rank seen lately (1 low … 4 critical; 0 not known).
    pub severity_rank: u8,
}

/// When each rule last fired, by `(rule, project, fingerprint or service)`.
pub type LastFired = HashMap<(String, String, String), u32>;

/// What an alert needs besides the rule and the issue.
#[derive(Debug, Clone, Copy)]
pub struct Now<'a> {
    /// Seconds since the epoch.
    pub now: u32,
    /// Faultline's public address (issue links).
    pub public_url: &'a str,
}

fn status_name(s: Status) -> &'static str {
    match s {
        Status::Open => "open",
        Status::Resolved => "resolved",
        Status::Ignored => "ignored",
        Status::Regressed => "regressed",
    }
}

/// The facts of an issue in an alert.
pub fn facts(issue: &IssueView, public_url: &str) -> IssueFacts {
    let t = &issue.totals;
    IssueFacts {
        fingerprint: t.fingerprint.clone(),
        exception_type: t.exception_type.clone(),
        message: t.message.clone(),
        culprit: t.culprit.clone(),
        count: t.count,
        first_seen: rfc3339(t.first_seen),
        last_seen: rfc3339(t.last_seen),
        status: status_name(issue.status).into(),
        url: format!(
            "{}/api/v1/errors/{}?project={}",
            public_url.trim_end_matches('/'),
            t.fingerprint,
            t.project
        ),
    }
}

fn project_matches(rule: &Rule, project: &str) -> bool {
    rule.project.as_deref().is_none_or(|p| p == project)
}

fn quiet(rule: &Rule, last: &LastFired, project: &str, key: &str, now: u32) -> bool {
    last.get(&(rule.name.clone(), project.to_string(), key.to_string()))
        .is_some_and(|at| u64::from(now.saturating_sub(*at)) < rule.interval.as_secs())
}

fn alert(rule: &Rule, event: Event, id: String, issue: &IssueView, at: Now<'_>) -> Alert {
    let facts = facts(issue, at.public_url);
    Alert::new(
        id,
        event,
        &rule.name,
        &issue.totals.project,
        Some(facts),
        at.now,
    )
}

/// `new_issue` and `regression` rules over issues that just arrived.
pub fn arrivals(rules: &[Rule], issues: &[IssueView], last: &LastFired, at: Now<'_>) -> Vec<Alert> {
    let mut out = Vec::new();
    for rule in rules {
        for i in issues {
            let (project, fp) = (&i.totals.project, &i.totals.fingerprint);
            if !project_matches(rule, project)
                || !rule.watches(&i.services, &i.environments, i.severity_rank)
                || quiet(rule, last, project, fp, at.now)
            {
                continue;
            }
            match rule.trigger {
                Trigger::NewIssue
                    if i.totals.count > 0
                        && i.recent >= i.totals.count
                        && matches!(i.status, Status::Open | Status::Regressed) =>
                {
                    let id = alert_id(&["new_issue", &rule.name, project, fp]);
                    out.push(alert(rule, Event::NewIssue, id, i, at));
                }
                Trigger::Regression if i.status == Status::Regressed => {
                    let version = i.state_version.to_string();
                    let id = alert_id(&["regression", &rule.name, project, fp, &version]);
                    out.push(alert(rule, Event::Regression, id, i, at));
                }
                _ => {}
            }
        }
    }
    out
}

/// One `count` rule over the issues' occurrences in its window (`in_window`: count per issue),
/// the window ending at `window_end`.
pub fn counts(
    rule: &Rule,
    issues: &[(IssueView, u64)],
    window_end: u32,
    last: &LastFired,
    at: Now<'_>,
) -> Vec<Alert> {
    let Trigger::Count { threshold, window } = rule.trigger else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, in_window) in issues {
        let (project, fp) = (&i.totals.project, &i.totals.fingerprint);
        if *in_window <= threshold
            || !project_matches(rule, project)
            || !matches!(i.status, Status::Open | Status::Regressed)
            || quiet(rule, last, project, fp, at.now)
        {
            continue;
        }
        let id = alert_id(&["count", &rule.name, project, fp, &window_end.to_string()]);
        let mut a = alert(rule, Event::Count, id, i, at);
        a.window_secs = Some(window.as_secs());
        a.threshold = Some(threshold as f64);
        a.value = Some(*in_window as f64);
        out.push(a);
    }
    out
}

/// A service's errors and requests in a window.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceWindow {
    /// Project.
    pub project: String,
    /// Service.
    pub service: String,
    /// Occurrences of issues that are not ignored.
    pub errors: u64,
    /// Requests.
    pub requests: u64,
    /// Its most frequent issue that is not ignored.
    pub top: Option<IssueView>,
}

/// One `rate` rule over services' windows ending at `window_end`.
pub fn rates(
    rule: &Rule,
    services: &[ServiceWindow],
    window_end: u32,
    last: &LastFired,
    at: Now<'_>,
) -> Vec<Alert> {
    let Trigger::Rate {
        threshold,
        window,
        min_requests,
    } = rule.trigger
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for s in services {
        if !project_matches(rule, &s.project)
            || rule.service.as_deref().is_some_and(|w| w != s.service)
            || s.requests == 0
            || s.requests < min_requests
            || quiet(rule, last, &s.project, &s.service, at.now)
        {
            continue;
        }
        let ratio = s.errors as f64 / s.requests as f64;
        if ratio <= threshold {
            continue;
        }
        let id = alert_id(&[
            "rate",
            &rule.name,
            &s.project,
            &s.service,
            &window_end.to_string(),
        ]);
        let top = s.top.as_ref().map(|i| facts(i, at.public_url));
        out.push(Alert {
            service: Some(s.service.clone()),
            window_secs: Some(window.as_secs()),
            threshold: Some(threshold),
            value: Some((ratio * 10_000.0).round() / 10_000.0),
            errors: Some(s.errors),
            requests: Some(s.requests),
            ..Alert::new(id, Event::Rate, &rule.name, &s.project, top, at.now)
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn rule(name: &str, trigger: Trigger) -> Rule {
        Rule {
            name: name.into(),
            project: Some("shop".into()),
            service: None,
            environment: None,
            severity: None,
            trigger,
            interval: Duration::from_secs(3600),
            channels: vec!["hook".into()],
        }
    }

    fn issue(fp: &str, count: u64, recent: u64, status: Status) -> IssueView {
        IssueView {
            totals: IssueTotals {
                project: "shop".into(),
                fingerprint: fp.into(),
                count,
                first_seen: 1_000,
                last_seen: 2_000,
                exception_type: "KeyError".into(),
                message: "'card'".into(),
                culprit: "pay".into(),
            },
            recent,
            status,
            state_version: 7,
            services: vec!["api".into()],
            environments: vec!["production".into()],
            severity_rank: 4,
        }
    }

    const AT: Now<'static> = Now {
        now: 10_000,
        public_url: "http://faultline.example:8080/",
    };

    #[test]
    fn new_issues_fire_once_per_rule_and_issue_and_never_for_old_or_ignored_ones() {
        let rules = [rule("new", Trigger::NewIssue)];
        let issues = [
            issue("fresh", 3, 3, Status::Open),
            issue("old", 50, 3, Status::Open),
            issue("muted", 1, 1, Status::Ignored),
            issue("fixed", 1, 1, Status::Resolved),
        ];
        let fired = arrivals(&rules, &issues, &LastFired::new(), AT);
        assert_eq!(fired.len(), 1);
        let a = &fired[0];
        assert_eq!(a.event, Event::NewIssue);
        let i = a.issue.as_ref().expect("issue");
        assert_eq!(i.fingerprint, "fresh");
        assert_eq!(
            i.url,
            "http://faultline.example:8080/api/v1/errors/fresh?project=shop"
        );
        // The same inputs later: the same id (the engine drops what the outbox has).
        let again = arrivals(
            &rules,
            &issues,
            &LastFired::new(),
            Now { now: 20_000, ..AT },
        );
        assert_eq!(again[0].id, a.id);
        // Another project's rule does not see it.
        let mut other = rule("new", Trigger::NewIssue);
        other.project = Some("blog".into());
        assert!(arrivals(&[other], &issues, &LastFired::new(), AT).is_empty());
    }

    #[test]
    fn regressions_fire_once_per_resolution() {
        let rules = [rule("back", Trigger::Regression)];
        let mut i = issue("fp", 9, 1, Status::Regressed);
        let first = arrivals(&rules, std::slice::from_ref(&i), &LastFired::new(), AT);
        assert_eq!(first.len(), 1);
        i.state_version = 8; // resolved again, regressed again
        let second = arrivals(&rules, std::slice::from_ref(&i), &LastFired::new(), AT);
        assert_ne!(first[0].id, second[0].id);
        assert!(
            arrivals(
                &rules,
                &[issue("fp", 9, 1, Status::Open)],
                &LastFired::new(),
                AT
            )
            .is_empty()
        );
    }

    #[test]
    fn counts_fire_above_the_threshold_at_most_once_per_interval() {
        let r = rule(
            "bursts",
            Trigger::Count {
                threshold: 100,
                window: Duration::from_secs(3600),
            },
        );
        let issues = [
            (issue("hot", 500, 0, Status::Open), 101),
            (issue("warm", 500, 0, Status::Open), 100),
            (issue("muted", 500, 0, Status::Ignored), 1000),
        ];
        let fired = counts(&r, &issues, 9_960, &LastFired::new(), AT);
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].value, Some(101.0));
        let mut last = LastFired::new();
        last.insert(("bursts".into(), "shop".into(), "hot".into()), AT.now - 600);
        assert!(counts(&r, &issues, 9_960, &last, AT).is_empty());
        last.insert(
            ("bursts".into(), "shop".into(), "hot".into()),
            AT.now - 3600,
        );
        assert_eq!(counts(&r, &issues, 9_960, &last, AT).len(), 1);
    }

    #[test]
    fn rates_need_enough_requests_and_a_ratio_above_the_threshold() {
        let r = rule(
            "ratio",
            Trigger::Rate {
                threshold: 0.1,
                window: Duration::from_secs(600),
                min_requests: 20,
            },
        );
        let svc = |service: &str, errors, requests| ServiceWindow {
            project: "shop".into(),
            service: service.into(),
            errors,
            requests,
            top: Some(issue("fp", 9, 0, Status::Open)),
        };
        let fired = rates(
            &r,
            &[svc("api", 5, 20), svc("web", 1, 19), svc("jobs", 2, 20)],
            9_960,
            &LastFired::new(),
            AT,
        );
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].service.as_deref(), Some("api"));
        assert_eq!(fired[0].value, Some(0.25));
        assert_eq!((fired[0].errors, fired[0].requests), (Some(5), Some(20)));
    }
}
