//! The alerting lease: one process among replicas evaluates and delivers. Claims are rows, the
//! highest version wins; a claimant waits [`SETTLE`] before reading the winner back.

use super::*;

impl Engine {
    /// Claims or renews the lease; whether this process holds it.
    pub(super) async fn hold_lease(&self) -> Result<bool, StoreError> {
        let store = &self.inner.store;
        let now = now_secs();
        let current = store.lease("alerts").await?;
        let mine = current
            .as_ref()
            .is_some_and(|l| l.holder == self.inner.holder);
        let free = current.as_ref().is_none_or(|l| l.expires_at <= now);
        if !mine && !free {
            return Ok(false);
        }
        let claim = AlertLeaseRow {
            name: "alerts".into(),
            holder: self.inner.holder.clone(),
            expires_at: now + LEASE.as_secs() as u32,
            version: u64::from(now) * 1_000_000 + random_u64() % 1_000_000,
        };
        store.claim_lease(&claim).await?;
        if mine && !free {
            // Renewed before it ran out: rivals only claim an expired lease.
            return Ok(true);
        }
        // A new claim (or renewing one that ran out, which a rival may be claiming too): let a
        // rival's claim land, then see whose version won.
        tokio::time::sleep(SETTLE).await;
        Ok(store
            .lease("alerts")
            .await?
            .is_some_and(|l| l.holder == self.inner.holder))
    }

    /// Gives the lease up (at shutdown), so another replica takes over at once rather than when
    /// it expires.
    pub(super) async fn release_lease(&self) {
        let now = now_secs();
        let release = AlertLeaseRow {
            name: "alerts".into(),
            holder: String::new(),
            expires_at: 0,
            version: u64::from(now) * 1_000_000 + 999_999,
        };
        if let Err(e) = self.inner.store.claim_lease(&release).await {
            tracing::warn!(error = %e, "alerts: cannot release the lease");
        }
    }
}
