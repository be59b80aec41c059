//! Evaluation: what arrived and what windows hold, read from ClickHouse, decided by
//! [`crate::eval`], recorded in the outbox (ids already there dropped).

use super::deliver::pending_row;
use super::*;

impl Engine {
    /// Evaluates every rule (windowed ones when `windows`), records what fired.
    pub(super) async fn evaluate(&self, windows: bool) -> Result<(), StoreError> {
        let rules = &self.inner.alerts.rules;
        let now = now_secs();
        let at = Now {
            now,
            public_url: self.inner.sender.public_url(),
        };
        let mut fired = Vec::new();
        let mut last = LastFired::new();
        // When each rule last fired within its own interval: one query for all of them.
        let since: Vec<(String, u32)> = rules
            .iter()
            .map(|r| {
                (
                    r.name.clone(),
                    now.saturating_sub(r.interval.as_secs() as u32),
                )
            })
            .collect();
        for f in self.inner.store.last_fired(&since).await? {
            let key = if f.fingerprint.is_empty() {
                f.subject
            } else {
                f.fingerprint
            };
            last.insert((f.rule, f.project, key), f.at);
        }
        let arrival_rules: Vec<_> = rules
            .iter()
            .filter(|r| matches!(r.trigger, Trigger::NewIssue | Trigger::Regression))
            .cloned()
            .collect();
        if !arrival_rules.is_empty() {
            let issues = self.arrived(now).await?;
            fired.extend(eval::arrivals(&arrival_rules, &issues, &last, at));
        }
        if windows {
            let window_end = now - now % 60;
            for rule in rules {
                match rule.trigger {
                    Trigger::Count { window, .. } => {
                        let w = Window::new(window_end - window.as_secs() as u32, window_end + 60);
                        let counted = self.counted(rule, w).await?;
                        fired.extend(eval::counts(rule, &counted, window_end, &last, at));
                    }
                    Trigger::Rate { window, .. } => {
                        let w = Window::new(window_end - window.as_secs() as u32, window_end + 60);
                        let services = self.services(rule, w).await?;
                        fired.extend(eval::rates(rule, &services, window_end, &last, at));
                    }
                    _ => {}
                }
            }
        }
        self.record(fired).await
    }

    /// Records alerts not recorded before: one `pending` row per channel, then wakes delivery.
    async fn record(&self, fired: Vec<Alert>) -> Result<(), StoreError> {
        if fired.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = fired.iter().map(|a| a.id.clone()).collect();
        let known: HashSet<String> = self
            .inner
            .store
            .existing_alerts(&ids)
            .await?
            .into_iter()
            .collect();
        let mut rows = Vec::new();
        let mut seen = HashSet::new();
        for a in fired {
            if known.contains(&a.id) || !seen.insert(a.id.clone()) {
                continue;
            }
            let Some(rule) = self.inner.alerts.rules.iter().find(|r| r.name == a.rule) else {
                continue;
            };
            self.inner.metrics.fired(&a.rule, a.event.as_str());
            for channel in &rule.channels {
                rows.push(pending_row(&a, channel));
            }
        }
        if rows.is_empty() {
            return Ok(());
        }
        self.inner.store.insert_deliveries(&rows).await?;
        self.inner.deliver_now.notify_one();
        Ok(())
    }

    /// Issues that arrived lately, as the arrival rules see them.
    async fn arrived(&self, now: u32) -> Result<Vec<IssueView>, StoreError> {
        let store = &self.inner.store;
        let since = now.saturating_sub(CANDIDATES);
        let fresh = store.arrivals(since - since % 60, None, &[]).await?;
        if fresh.is_empty() {
            return Ok(Vec::new());
        }
        let fps: Vec<String> = fresh.iter().map(|a| a.fingerprint.clone()).collect();
        let lookback = now.saturating_sub(NEW_LOOKBACK);
        let recent: HashMap<(String, String), u64> = store
            .arrivals(lookback - lookback % 60, None, &fps)
            .await?
            .into_iter()
            .map(|a| ((a.project, a.fingerprint), a.occurrences))
            .collect();
        let wanted: HashSet<(String, String)> = fresh
            .into_iter()
            .map(|a| (a.project, a.fingerprint))
            .collect();
        let totals: Vec<IssueTotals> = store
            .issue_totals(None, &fps)
            .await?
            .into_iter()
            .filter(|t| wanted.contains(&(t.project.clone(), t.fingerprint.clone())))
            .collect();
        let seen = self.seen_lately(&fps, now).await?;
        let statuses = self.statuses(&totals, now).await?;
        Ok(totals
            .into_iter()
            .map(|t| {
                let key = (t.project.clone(), t.fingerprint.clone());
                let (status, state_version) =
                    statuses.get(&key).copied().unwrap_or((Status::Open, 0));
                let (services, environments, severity_rank) =
                    seen.get(&key).cloned().unwrap_or_default();
                IssueView {
                    recent: recent.get(&key).copied().unwrap_or(0),
                    totals: t,
                    status,
                    state_version,
                    services,
                    environments,
                    severity_rank,
                }
            })
            .collect())
    }

    /// Where issues were seen in the last day: services, environments, highest severity.
    async fn seen_lately(
        &self,
        fps: &[String],
        now: u32,
    ) -> Result<HashMap<(String, String), (Vec<String>, Vec<String>, u8)>, StoreError> {
        let end = now - now % 60 + 60;
        let dims = Dims {
            fingerprints: fps.to_vec(),
            ..Dims::default()
        };
        Ok(self
            .inner
            .store
            .issues_in_window(&dims, Window::new(end - 86_400, end))
            .await?
            .into_iter()
            .map(|i| {
                (
                    (i.project, i.fingerprint),
                    (i.services, i.environments, i.severity_rank),
                )
            })
            .collect())
    }

    /// Effective status and state version of each issue.
    async fn statuses(
        &self,
        totals: &[IssueTotals],
        now: u32,
    ) -> Result<HashMap<(String, String), (Status, u64)>, StoreError> {
        let store = &self.inner.store;
        let fps: Vec<String> = totals.iter().map(|t| t.fingerprint.clone()).collect();
        let states: HashMap<(String, String), IssueStateRow> = store
            .issue_states(None, &fps)
            .await?
            .into_iter()
            .map(|s| ((s.project.clone(), s.fingerprint.clone()), s))
            .collect();
        // The API's own rule (faultline_query::status::resolve): one way to decide a status.
        let statuses = resolve(store, totals, &states, now).await?;
        Ok(statuses
            .into_iter()
            .map(|(key, status)| {
                let version = states.get(&key).map_or(0, |s| s.version);
                (key, (status, version))
            })
            .collect())
    }

    /// Issues of a `count` rule's scope with their occurrences in `w`.
    async fn counted(
        &self,
        rule: &crate::rule::Rule,
        w: Window,
    ) -> Result<Vec<(IssueView, u64)>, StoreError> {
        let Trigger::Count { threshold, .. } = rule.trigger else {
            return Ok(Vec::new());
        };
        let dims = rule_dims(rule);
        let over: Vec<_> = self
            .inner
            .store
            .issues_in_window(&dims, w)
            .await?
            .into_iter()
            .filter(|i| i.count > threshold)
            .collect();
        if over.is_empty() {
            return Ok(Vec::new());
        }
        let fps: Vec<String> = over.iter().map(|i| i.fingerprint.clone()).collect();
        let totals = self
            .inner
            .store
            .issue_totals(dims.project.as_deref(), &fps)
            .await?;
        let statuses = self.statuses(&totals, w.to).await?;
        let by_key: HashMap<(String, String), IssueTotals> = totals
            .into_iter()
            .map(|t| ((t.project.clone(), t.fingerprint.clone()), t))
            .collect();
        Ok(over
            .into_iter()
            .filter_map(|i| {
                let key = (i.project.clone(), i.fingerprint.clone());
                let t = by_key.get(&key)?.clone();
                let (status, state_version) = statuses.get(&key).copied()?;
                Some((
                    IssueView {
                        totals: t,
                        recent: 0,
                        status,
                        state_version,
                        services: i.services,
                        environments: i.environments,
                        severity_rank: i.severity_rank,
                    },
                    i.count,
                ))
            })
            .collect())
    }

    /// Services of a `rate` rule's scope: errors of issues not ignored, requests, top issue.
    async fn services(
        &self,
        rule: &crate::rule::Rule,
        w: Window,
    ) -> Result<Vec<ServiceWindow>, StoreError> {
        let store = &self.inner.store;
        let dims = rule_dims(rule);
        let counts = store.service_issue_counts(&dims, w).await?;
        let envs: Vec<String> = rule.environment.iter().cloned().collect();
        let requests = store
            .service_requests(dims.project.as_deref(), &envs, w)
            .await?;
        let fps: Vec<String> = counts.iter().map(|c| c.fingerprint.clone()).collect();
        let totals = if fps.is_empty() {
            Vec::new()
        } else {
            store.issue_totals(dims.project.as_deref(), &fps).await?
        };
        let statuses = self.statuses(&totals, w.to).await?;
        let totals: HashMap<(String, String), IssueTotals> = totals
            .into_iter()
            .map(|t| ((t.project.clone(), t.fingerprint.clone()), t))
            .collect();
        let mut out: HashMap<(String, String), ServiceWindow> = HashMap::new();
        for r in requests {
            out.insert(
                (r.project.clone(), r.service.clone()),
                ServiceWindow {
                    project: r.project,
                    service: r.service,
                    errors: 0,
                    requests: r.requests,
                    top: None,
                },
            );
        }
        let mut top_count: HashMap<(String, String), u64> = HashMap::new();
        for c in counts {
            let key = (c.project.clone(), c.fingerprint.clone());
            let (status, state_version) = statuses.get(&key).copied().unwrap_or((Status::Open, 0));
            if status == Status::Ignored {
                continue;
            }
            let Some(s) = out.get_mut(&(c.project.clone(), c.service.clone())) else {
                continue; // no requests known for this service: no ratio
            };
            s.errors += c.count;
            let best = top_count
                .entry((c.project.clone(), c.service.clone()))
                .or_default();
            if c.count > *best
                && let Some(t) = totals.get(&key)
            {
                *best = c.count;
                s.top = Some(IssueView {
                    totals: t.clone(),
                    recent: 0,
                    status,
                    state_version,
                    services: vec![c.service.clone()],
                    environments: Vec::new(),
                    severity_rank: 0,
                });
            }
        }
        Ok(out.into_values().collect())
    }
}

/// The filters of a rule as rollup dimensions.
fn rule_dims(rule: &crate::rule::Rule) -> Dims {
    Dims {
        project: rule.project.clone(),
        services: rule.service.iter().cloned().collect(),
        environments: rule.environment.iter().cloned().collect(),
        severities: rule
            .severity
            .map(|min| {
                [
                    Severity::Low,
                    Severity::Medium,
                    Severity::High,
                    Severity::Critical,
                ]
                .into_iter()
                .filter(|s| *s >= min)
                .map(|s| format!("{s:?}").to_lowercase())
                .collect()
            })
            .unwrap_or_default(),
        ..Dims::default()
    }
}
