//! The cursor file: what ClickHouse confirmed, and the range being inserted (fsynced, so that a
//! restart replays exactly what was not confirmed, the range in flight as the very same insert).

use std::fs::File;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Pos, SpoolError, sync_dir};

/// What is confirmed, and what was being inserted.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub(super) struct Cursor {
    pub(super) confirmed: Pos,
    pub(super) inflight: Option<(Pos, Pos)>,
}

impl Cursor {
    /// The cursor kept in `dir` (the start when there is none, or it cannot be read).
    pub(super) fn load(dir: &Path) -> Cursor {
        std::fs::read(dir.join("cursor"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Writes it to `dir`, durably (a new file renamed over the old one).
    pub(super) fn store(&self, dir: &Path) -> Result<(), SpoolError> {
        let tmp = dir.join("cursor.tmp");
        let mut f = File::create(&tmp)?;
        f.write_all(&serde_json::to_vec(self).map_err(|e| SpoolError::Io(e.to_string()))?)?;
        f.sync_data()?;
        std::fs::rename(&tmp, dir.join("cursor"))?;
        sync_dir(dir)?;
        Ok(())
    }
}
