//! Triage status: stored `open`/`resolved`/`ignored`, and what time and new occurrences make of it.
//! Pure functions, and [`resolve`], which reads what they need: the one way the API and alerting
//! decide an issue's status.

use std::cmp::Ordering;
use std::collections::HashMap;

use faultline_store::queries::{ActivitySince, IssueTotals};
use faultline_store::{IssueStateRow, Store, StoreError};

/// `(project, fingerprint)`.
pub type IssueKey = (String, String);

/// What the API reports.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Needs attention.
    Open,
    /// Marked fixed, and nothing since says otherwise.
    Resolved,
    /// Muted, until its time or count condition (if any) is met.
    Ignored,
    /// Marked fixed, then seen again (in a newer release than `resolved_in_release`, when set).
    Regressed,
}

impl std::fmt::Display for Status {
    /// As in the API: `open`, `resolved`, `ignored`, `regressed`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Open => "open",
            Status::Resolved => "resolved",
            Status::Ignored => "ignored",
            Status::Regressed => "regressed",
        })
    }
}

/// Compares release names as versions: runs of digits numerically, other runs as text.
/// `1.10.0` > `1.9.2`, `2.0.0` > `2.0.0-rc1`... approximately semver, tolerant of anything.
pub fn compare_releases(a: &str, b: &str) -> Ordering {
    fn chunks(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out.into_iter()
            .filter(|(_, c)| !matches!(*c, "." | "-" | "_" | "+" | "v"))
            .collect()
    }
    let (ca, cb) = (
        chunks(a.trim_start_matches('v')),
        chunks(b.trim_start_matches('v')),
    );
    for (x, y) in ca.iter().zip(&cb) {
        let o = match (x.0, y.0) {
            (true, true) => {
                x.1.trim_start_matches('0')
                    .len()
                    .cmp(&y.1.trim_start_matches('0').len())
                    .then(x.1.trim_start_matches('0').cmp(y.1.trim_start_matches('0')))
            }
            _ => x.1.cmp(y.1),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    // "2.0.0" > "2.0.0-rc1": a pre-release suffix makes it older; more numeric parts make it newer.
    match (ca.get(cb.len()), cb.get(ca.len())) {
        (Some((false, _)), None) => Ordering::Less,
        (None, Some((false, _))) => Ordering::Greater,
        _ => ca.len().cmp(&cb.len()),
    }
}

/// Which issues need their activity since the last state change looked up: resolved ones seen
/// after the resolution, and ignored ones with a count condition. Returns the moment to count from.
pub fn needs_activity(state: &IssueStateRow, last_seen: u32) -> Option<u32> {
    match state.status.as_str() {
        "resolved" if last_seen > state.changed_at => Some(state.changed_at),
        "ignored" if state.ignore_until_count > 0 => Some(state.changed_at),
        _ => None,
    }
}

/// The effective status of an issue.
pub fn effective(
    state: Option<&IssueStateRow>,
    activity: Option<&ActivitySince>,
    now: u32,
) -> Status {
    let Some(state) = state else {
        return Status::Open;
    };
    match state.status.as_str() {
        "resolved" => {
            let Some(a) = activity.filter(|a| a.count > 0) else {
                return Status::Resolved;
            };
            if state.resolved_in_release.is_empty()
                || a.releases
                    .iter()
                    .any(|r| compare_releases(r, &state.resolved_in_release) == Ordering::Greater)
            {
                Status::Regressed
            } else {
                Status::Resolved
            }
        }
        "ignored" => {
            let time_over = state.ignore_until > 0 && now >= state.ignore_until;
            let count_over = state.ignore_until_count > 0
                && activity.is_some_and(|a| a.count >= state.ignore_until_count);
            if time_over || count_over {
                Status::Open
            } else {
                Status::Ignored
            }
        }
        _ => Status::Open,
    }
}

/// The effective status of every issue of `totals`, given their stored `states`: reads, per
/// project, the activity since each state's change where the status depends on it.
pub async fn resolve<'t>(
    store: &Store,
    totals: impl IntoIterator<Item = &'t IssueTotals>,
    states: &HashMap<IssueKey, IssueStateRow>,
    now: u32,
) -> Result<HashMap<IssueKey, Status>, StoreError> {
    let totals: Vec<&IssueTotals> = totals.into_iter().collect();
    let mut wanted: HashMap<&str, Vec<(String, u32)>> = HashMap::new();
    for t in &totals {
        if let Some(st) = states.get(&(t.project.clone(), t.fingerprint.clone()))
            && let Some(since) = needs_activity(st, t.last_seen)
        {
            wanted
                .entry(t.project.as_str())
                .or_default()
                .push((t.fingerprint.clone(), since));
        }
    }
    let mut activity: HashMap<IssueKey, ActivitySince> = HashMap::new();
    for (project, list) in wanted {
        for a in store.activity_since(project, &list).await? {
            activity.insert((project.to_string(), a.fingerprint.clone()), a);
        }
    }
    Ok(totals
        .iter()
        .map(|t| {
            let key = (t.project.clone(), t.fingerprint.clone());
            let status = effective(states.get(&key), activity.get(&key), now);
            (key, status)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(status: &str) -> IssueStateRow {
        IssueStateRow {
            status: status.into(),
            changed_at: 1000,
            ..IssueStateRow::default()
        }
    }

    fn act(count: u64, releases: &[&str]) -> ActivitySince {
        ActivitySince {
            fingerprint: "f".into(),
            count,
            releases: releases.iter().map(|r| r.to_string()).collect(),
        }
    }

    #[test]
    fn releases_compare_as_versions() {
        assert_eq!(compare_releases("1.10.0", "1.9.2"), Ordering::Greater);
        assert_eq!(compare_releases("v2.0.0", "2.0.0"), Ordering::Equal);
        assert_eq!(compare_releases("2.0.0-rc1", "2.0.0"), Ordering::Less);
        assert_eq!(compare_releases("2.0.1", "2.0"), Ordering::Greater);
        assert_eq!(compare_releases("abc", "abd"), Ordering::Less);
    }

    #[test]
    fn resolution_and_regression() {
        assert_eq!(effective(None, None, 0), Status::Open);
        assert_eq!(
            effective(Some(&state("resolved")), None, 0),
            Status::Resolved
        );
        assert_eq!(
            effective(Some(&state("resolved")), Some(&act(1, &["1.0"])), 0),
            Status::Regressed
        );
        let mut in_release = state("resolved");
        in_release.resolved_in_release = "1.2.0".into();
        assert_eq!(
            effective(Some(&in_release), Some(&act(3, &["1.1.9", "1.2.0"])), 0),
            Status::Resolved
        );
        assert_eq!(
            effective(Some(&in_release), Some(&act(1, &["1.2.1"])), 0),
            Status::Regressed
        );
    }

    #[test]
    fn ignore_ends_on_time_or_count() {
        let mut s = state("ignored");
        assert_eq!(effective(Some(&s), None, 5000), Status::Ignored);
        s.ignore_until = 2000;
        assert_eq!(effective(Some(&s), None, 1999), Status::Ignored);
        assert_eq!(effective(Some(&s), None, 2000), Status::Open);
        let mut c = state("ignored");
        c.ignore_until_count = 3;
        assert_eq!(effective(Some(&c), Some(&act(2, &[])), 0), Status::Ignored);
        assert_eq!(effective(Some(&c), Some(&act(3, &[])), 0), Status::Open);
        assert_eq!(needs_activity(&c, 0), Some(1000));
        assert_eq!(needs_activity(&state("resolved"), 999), None);
        assert_eq!(needs_activity(&state("resolved"), 1001), Some(1000));
    }
}
