//! Delivery: due rows attempted (each its own task), every attempt recorded with its next
//! step; the test send; the delivery log.

use super::*;

impl Engine {
    /// Starts an attempt of every due delivery not already under way, each recording its
    /// outcome when done; returns how many were started.
    pub async fn deliver_due(&self) -> Result<usize, StoreError> {
        let now = now_secs();
        let since = now.saturating_sub(self.inner.alerts.retry_for.as_secs() as u32 + 86_400);
        let due = self.inner.store.due_deliveries(since, now, 100).await?;
        let mut started = 0;
        for row in due {
            let key = (row.alert_id.clone(), row.channel.clone());
            if !self.in_flight().insert(key.clone()) {
                continue;
            }
            started += 1;
            let me = self.clone();
            tokio::spawn(async move {
                let next = me.attempt(row).await;
                if let Err(e) = me
                    .inner
                    .store
                    .insert_deliveries(std::slice::from_ref(&next))
                    .await
                {
                    // Not recorded: the delivery is still due and is tried again (the receiver
                    // may get it twice, with the same X-Faultline-Delivery).
                    tracing::warn!(error = %e, "alerts: cannot record a delivery attempt");
                }
                me.in_flight().remove(&key);
            });
        }
        Ok(started)
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, HashSet<(String, String)>> {
        self.inner
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// One attempt of one delivery: the row to record after it.
    async fn attempt(&self, row: AlertDeliveryRow) -> AlertDeliveryRow {
        let now = now_secs();
        let outcome = match (
            serde_json::from_str::<Alert>(&row.payload),
            self.inner.alerts.channel(&row.channel),
        ) {
            (Ok(alert), Some(channel)) => self.inner.sender.send(channel, &alert).await,
            (Err(e), _) => Outcome::Failed {
                error: format!("unreadable alert: {e}"),
            },
            (_, None) => Outcome::Failed {
                error: format!("channel {:?} is no longer configured", row.channel),
            },
        };
        let kind = self
            .inner
            .alerts
            .channel(&row.channel)
            .map_or("unknown", |c| c.kind.kind());
        let retry_for = self.inner.alerts.retry_for.as_secs() as u32;
        let next = next_row(row, outcome, now, retry_for, random_u64());
        self.inner
            .metrics
            .delivered(&next.channel, kind, &next.status);
        next
    }

    /// Sends `alert` (an event `test`) to `channel` once, now, and records the delivery.
    pub async fn test(&self, channel: &str) -> Result<AlertDeliveryRow, TestError> {
        let c = self
            .inner
            .alerts
            .channel(channel)
            .ok_or_else(|| TestError::UnknownChannel(channel.to_string()))?;
        let now = now_secs();
        let id = crate::alert::alert_id(&["test", channel, &random_u64().to_string()]);
        let alert = Alert::new(id, crate::rule::Event::Test, "", "", None, now);
        let outcome = self.inner.sender.send(c, &alert).await;
        let (status, error) = match outcome {
            Outcome::Delivered => ("delivered", String::new()),
            Outcome::Retry { error, .. } | Outcome::Failed { error } => ("failed", error),
        };
        self.inner.metrics.delivered(channel, c.kind.kind(), status);
        let row = AlertDeliveryRow {
            status: status.into(),
            attempts: 1,
            last_error: error,
            updated_at: now,
            step: 2,
            ..pending_row(&alert, channel)
        };
        self.inner
            .store
            .insert_deliveries(std::slice::from_ref(&row))
            .await
            .map_err(TestError::Store)?;
        Ok(row)
    }

    /// Deliveries, newest first.
    pub async fn deliveries(
        &self,
        filter: &DeliveryFilter,
    ) -> Result<Vec<AlertDeliveryRow>, StoreError> {
        let since = now_secs().saturating_sub(90 * 86_400);
        self.inner.store.deliveries(since, filter).await
    }
}

/// Why a test send could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TestError {
    /// No such channel.
    #[error("unknown channel {0:?}")]
    UnknownChannel(String),
    /// The outbox could not be written.
    #[error(transparent)]
    Store(StoreError),
}

/// The first row of a delivery: `pending`, due now.
pub(super) fn pending_row(a: &Alert, channel: &str) -> AlertDeliveryRow {
    let subject = match (&a.service, &a.issue) {
        (Some(s), _) => s.clone(),
        (None, Some(i)) => i.exception_type.clone(),
        (None, None) => String::new(),
    };
    AlertDeliveryRow {
        alert_id: a.id.clone(),
        channel: channel.to_string(),
        created_at: a.fired_at,
        rule: a.rule.clone(),
        event: a.event.as_str().into(),
        project: a.project.clone(),
        fingerprint: a
            .issue
            .as_ref()
            .filter(|_| a.service.is_none())
            .map(|i| i.fingerprint.clone())
            .unwrap_or_default(),
        subject,
        payload: serde_json::to_string(a).unwrap_or_default(),
        status: "pending".into(),
        attempts: 0,
        next_attempt_at: a.fired_at,
        last_error: String::new(),
        updated_at: a.fired_at,
        step: 1,
    }
}

/// Seconds before attempt `attempts + 1`: 1, 2, 4, … up to 5 minutes, ±20 % (from `jitter`), at
/// least what the receiver asked for.
pub fn backoff(attempts: u32, retry_after: Option<Duration>, jitter: u64) -> u32 {
    let base = 1u64 << attempts.saturating_sub(1).min(9);
    let base = base.min(300) as f64;
    let factor = 0.8 + (jitter % 401) as f64 / 1000.0;
    let secs = (base * factor).round().max(1.0) as u32;
    secs.max(retry_after.map_or(0, |d| d.as_secs() as u32))
}

/// The row recording an attempt's `outcome`.
pub fn next_row(
    row: AlertDeliveryRow,
    outcome: Outcome,
    now: u32,
    retry_for: u32,
    jitter: u64,
) -> AlertDeliveryRow {
    let attempts = row.attempts + 1;
    let (status, next_attempt_at, last_error) = match outcome {
        Outcome::Delivered => ("delivered", 0, String::new()),
        Outcome::Failed { error } => ("failed", 0, error),
        Outcome::Retry { error, after } => {
            let at = now + backoff(attempts, after, jitter);
            if at > row.created_at.saturating_add(retry_for) {
                (
                    "failed",
                    0,
                    format!("gave up after {attempts} attempts: {error}"),
                )
            } else {
                ("pending", at, error)
            }
        }
    };
    AlertDeliveryRow {
        status: status.into(),
        attempts,
        next_attempt_at,
        last_error,
        updated_at: now,
        step: row.step + 1,
        ..row
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_honours_retry_after() {
        assert!((1..=2).contains(&backoff(1, None, 0)));
        let b3: Vec<u32> = (0..500).map(|j| backoff(3, None, j)).collect();
        assert!(b3.iter().all(|s| (3..=5).contains(s)), "{b3:?}");
        assert!(b3.iter().collect::<HashSet<_>>().len() > 1, "jitter varies");
        assert_eq!(backoff(20, None, 200), 300);
        assert_eq!(backoff(1, Some(Duration::from_secs(30)), 0), 30);
    }

    #[test]
    fn attempts_move_a_delivery_on_and_retries_end() {
        let row = AlertDeliveryRow {
            created_at: 1000,
            step: 1,
            status: "pending".into(),
            ..AlertDeliveryRow::default()
        };
        let retry = |r: AlertDeliveryRow, now| {
            next_row(
                r,
                Outcome::Retry {
                    error: "HTTP 503".into(),
                    after: None,
                },
                now,
                3600,
                0,
            )
        };
        let r1 = retry(row.clone(), 1000);
        assert_eq!(
            (r1.status.as_str(), r1.attempts, r1.step),
            ("pending", 1, 2)
        );
        assert!(r1.next_attempt_at > 1000);
        let done = next_row(r1.clone(), Outcome::Delivered, 1002, 3600, 0);
        assert_eq!(
            (done.status.as_str(), done.attempts, done.step),
            ("delivered", 2, 3)
        );
        assert_eq!(done.last_error, "");
        let late = retry(r1, 4599);
        assert_eq!(late.status, "failed");
        assert!(
            late.last_error
                .starts_with("gave up after 2 attempts: HTTP 503")
        );
        let refused = next_row(
            row,
            Outcome::Failed {
                error: "HTTP 404".into(),
            },
            1000,
            3600,
            0,
        );
        assert_eq!(refused.status, "failed");
    }
}
