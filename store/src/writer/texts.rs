//! Stack-trace texts travel once per project and day: [`StackTexts`] remembers which texts are
//! durable in the spool, and [`Batch::share_texts`] moves a text out of its occurrences into the
//! batch's `stacktraces` only the first time it is seen that day (occurrences keep its
//! `stack_hash`).

use super::Batch;
use crate::StackTraceRow;

impl<S: AsRef<str> + Default + Into<String>> Batch<S> {
    /// Moves each occurrence's stack-trace text into [`Batch::stacktraces`] the first time it is
    /// seen that day (by `texts`, or earlier in this batch), leaving the occurrence its
    /// `stack_hash` only. Returns the keys to mark once the batch is durable.
    pub fn share_texts(&mut self, texts: &StackTexts) -> Vec<u64> {
        let mut keys = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let sent = texts.sent.lock().unwrap_or_else(|e| e.into_inner());
        for o in &mut self.occurrences {
            if o.stack_hash == 0 {
                continue;
            }
            let day = (o.timestamp / 86_400) as u16;
            let key = StackTexts::key(o.project.as_ref(), day, o.stack_hash);
            let text = std::mem::take(&mut o.stacktrace);
            if !sent.contains(&key) && seen.insert(key) {
                keys.push(key);
                self.stacktraces.push(StackTraceRow {
                    project: o.project.as_ref().to_string(),
                    day,
                    stack_hash: o.stack_hash,
                    stacktrace: text.into(),
                });
            }
        }
        keys
    }
}

/// Which stack-trace texts are already durable in the spool, per project and day, so a batch
/// carries a text only the first time it is seen that day: occurrences refer to it by hash.
///
/// A key is marked only after the batch carrying its text was fsynced ([`StackTexts::mark`]), so
/// an occurrence never refers to a text that is not on disk before it (the spool drains in order,
/// and each insert writes texts before occurrences). Forgetting (a restart, or the bound) only
/// means a text is sent again, which the table merges away.
#[derive(Debug, Default)]
pub struct StackTexts {
    sent: std::sync::Mutex<std::collections::HashSet<u64>>,
}

/// Distinct (project, day, hash) keys remembered before the set is forgotten and starts again.
const STACK_TEXTS_MAX: usize = 200_000;

impl StackTexts {
    /// The key of a text of `project` on `day`.
    pub fn key(project: &str, day: u16, stack_hash: u64) -> u64 {
        let mut h = twox_hash::XxHash3_64::new();
        std::hash::Hasher::write(&mut h, project.as_bytes());
        std::hash::Hasher::write(&mut h, &day.to_le_bytes());
        std::hash::Hasher::write(&mut h, &stack_hash.to_le_bytes());
        std::hash::Hasher::finish(&h)
    }

    /// Records texts as durable (call after their batch was written).
    pub fn mark(&self, keys: &[u64]) {
        let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        if sent.len() + keys.len() > STACK_TEXTS_MAX {
            sent.clear();
        }
        sent.extend(keys.iter().copied());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OccurrenceRow;
    use crate::writer::Spooled;

    #[test]
    fn texts_travel_once_until_marked_then_never() {
        let texts = StackTexts::default();
        let row = |ts: u32| OccurrenceRow::<String> {
            project: "p".into(),
            timestamp: ts,
            stacktrace: "trace".into(),
            stack_hash: 7,
            ..Default::default()
        };
        let mut b = Batch {
            occurrences: vec![row(0), row(10), row(86_400)],
            ..Batch::default()
        };
        let keys = b.share_texts(&texts);
        // One text per day; every occurrence keeps only the hash.
        assert_eq!(keys.len(), 2);
        assert_eq!(b.stacktraces.len(), 2);
        assert!(b.occurrences.iter().all(|o| o.stacktrace.is_empty()));
        let round = Spooled::decode(&b.encode().expect("encode").expect("some")).expect("decode");
        assert_eq!(round.stacktrace_rows().expect("texts"), b.stacktraces);
        assert_eq!(round.occurrence_rows().expect("rows"), b.occurrences);
        assert_eq!(round.n_occurrences, 3);
        // A record cut anywhere is refused, never misread.
        let record = b.encode().expect("encode").expect("some");
        for cut in 4..record.len() {
            let r = Spooled::decode(&record[..cut]);
            assert!(
                r.is_err() || r.is_ok_and(|s| s.occurrence_rows().is_err()),
                "cut at {cut}"
            );
        }
        // Not marked (say the write failed): the next batch carries them again.
        let mut again = Batch {
            occurrences: vec![row(5)],
            ..Batch::default()
        };
        assert_eq!(again.share_texts(&texts).len(), 1);
        texts.mark(&keys);
        let mut after = Batch {
            occurrences: vec![row(5), row(86_401)],
            ..Batch::default()
        };
        assert!(after.share_texts(&texts).is_empty());
        assert!(after.stacktraces.is_empty());
    }
}
