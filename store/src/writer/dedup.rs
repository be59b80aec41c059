//! Exactly once on replay. The range about to be inserted is recorded first; after a crash (or
//! a failed attempt whose answer was lost) it is inserted again as the very same insert. On
//! servers that support it (ClickHouse ≥ 22.2), each insert carries an
//! `insert_deduplication_token` derived from its range and the spool's random id ([`token`]), so
//! a replayed insert that had in fact landed is dropped by the server, rollups included. On older
//! servers (18.16) the replay first asks which of the range's event ids are already stored and
//! inserts only the others ([`without_stored`]), so duplicates are limited to request counts of
//! the one range in flight at the crash; and when the server died between an insert's table part
//! and its materialized views' parts (18.16 writes them one after the other), the rows found
//! stored are in `occurrences` but missing from the rollups — at most the
//! `faultline_replay_skipped_rows_total` of that replay. Every occurrence is kept either way.

use std::sync::atomic::Ordering;

use super::WriterStats;
use crate::spool::Pos;
use crate::{Store, StoreError};

/// Whether the server dedups inserts by `insert_deduplication_token` (ClickHouse 22.2 and later).
pub(crate) fn supports_token(version: &str) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (22, 2)
}

/// The dedup token of the range `[from, to)` of the spool `spool_id`.
pub(super) fn token(spool_id: &str, from: Pos, to: Pos) -> String {
    format!(
        "faultline-{spool_id}-{}-{}-{}-{}",
        from.segment, from.offset, to.segment, to.offset
    )
}

/// The occurrence rows (`RowBinary`) without those whose event id is already stored, and how
/// many are left; `None` when none was stored.
pub(super) async fn without_stored(
    store: &Store,
    stats: &WriterStats,
    occurrences: &[u8],
) -> Result<Option<(bytes::Bytes, usize)>, StoreError> {
    let mut decoded = crate::rowbinary::read_occurrences(occurrences)
        .map_err(|e| StoreError::Rejected(format!("spool record: {e}")))?;
    let stored = store.stored_event_ids(&decoded).await?;
    if stored.is_empty() {
        return Ok(None);
    }
    let before = decoded.len();
    decoded.retain(|o| !stored.contains(&o.event_id));
    stats
        .replay_skipped_rows
        .fetch_add((before - decoded.len()) as u64, Ordering::Relaxed);
    let mut kept = Vec::new();
    for o in &decoded {
        o.write_row_binary(&mut kept);
    }
    Ok(Some((kept.into(), decoded.len())))
}
