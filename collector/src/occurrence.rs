//! From an [`ErrorEvent`] to the row that is spooled: grouping, enrichment, size limits and
//! scrubbing, with the work that depends only on the stack trace done once per distinct trace.
//!
//! Errors repeat: the same bug sends the same stack trace thousands of times. Parsing a trace,
//! grouping it, cutting it to size and scrubbing it are the costly steps of ingest, and for a
//! given project, service, exception type and trace their answer is always the same (the message
//! matters only when grouping falls back to it, or a project rule looks at it; those events are
//! grouped one by one). [`TraceCache`] keeps those answers ([`trace_work`]), keyed by a 128-bit
//! hash of the inputs and bounded in bytes; [`build_row`] gives exactly the row the uncached path
//! gives (a test compares both over the grouping corpus), borrowing the cached answers: a batch
//! holds its traces' [`TraceWork`] until its rows are encoded.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use twox_hash::XxHash3_128;

use crate::event::{ErrorEvent, Row};
use crate::fingerprint::{
    CLIENT_GROUPING_VERSION, GroupingConfig, Transition, client_fingerprint, fingerprint_and_usage,
    names_default, with_default_put_in,
};
use crate::limits::{FieldLimits, truncate};
use crate::scrub::Scrubber;

/// What one distinct trace yields, whatever the occurrence.
#[derive(Debug)]
pub struct TraceWork {
    /// The fingerprint and its grouping version, when it does not depend on the message (nor on
    /// a client fingerprint).
    fingerprint: Option<String>,
    /// The grouping version of `fingerprint`.
    version: u8,
    /// `module in function` of the innermost in-app frame.
    culprit: String,
    /// The stack trace cut to its limit and scrubbed.
    stacktrace: String,
    /// [`stack_hash`] of `stacktrace`.
    stack_hash: u64,
}

impl TraceWork {
    /// Whether this work alone groups every occurrence of the trace (the fingerprint does not
    /// depend on the message): then an event needs neither its trace's text nor its frames.
    pub fn groups_alone(&self) -> bool {
        self.fingerprint.is_some()
    }

    fn bytes(&self) -> usize {
        self.fingerprint.as_ref().map_or(0, String::len)
            + self.culprit.len()
            + self.stacktrace.len()
            + 96
    }
}

/// What a receiver knows of an event's trace work before the rows are built.
///
/// A receiver that reads frames as data (Sentry) can key a trace by what it received, more
/// cheaply than by the frames and text it would build from it; when that key finds work that
/// groups alone ([`TraceWork::groups_alone`]), the event is built without them.
#[derive(Debug, Clone, Default)]
pub enum TraceHint {
    /// Nothing: the trace is keyed by the event's text and frames ([`trace_work`]).
    #[default]
    Unknown,
    /// The receiver's key for the trace: a 128-bit hash of everything the trace work depends on
    /// (project, service, exception type, and what the text and frames are built from), in a
    /// key space of the receiver's own. Work computed for the event is kept under it.
    Key(u128),
    /// The work, found under the receiver's key (not looked up again). When it groups alone
    /// ([`TraceWork::groups_alone`]) the event's `stacktrace` and `frames` were left empty: the
    /// row takes the work's trace.
    Found(Arc<TraceWork>),
}

/// A bounded map from trace keys to their [`TraceWork`], shared by all ingest threads.
///
/// Two generations: entries go into the current one; when it reaches half the budget it becomes
/// the previous one (the older previous is dropped), and a hit in the previous generation moves
/// the entry back. Traces in use stay; traces no longer seen age out.
#[derive(Debug)]
pub struct TraceCache {
    half_budget: usize,
    gens: Mutex<Generations>,
}

#[derive(Debug, Default)]
struct Generations {
    current: HashMap<u128, Arc<TraceWork>>,
    previous: HashMap<u128, Arc<TraceWork>>,
    bytes: usize,
}

impl Default for TraceCache {
    /// 32 MiB.
    fn default() -> Self {
        TraceCache::new(32 << 20)
    }
}

impl TraceCache {
    /// A cache holding about `max_bytes` of traces at most (0: cache nothing).
    pub fn new(max_bytes: usize) -> Self {
        TraceCache {
            half_budget: max_bytes / 2,
            gens: Mutex::new(Generations::default()),
        }
    }

    /// The work kept under `key` (a hit in the previous generation moves it back), if any.
    pub fn get(&self, key: u128) -> Option<Arc<TraceWork>> {
        let mut g = self.lock();
        if let Some(w) = g.current.get(&key) {
            return Some(w.clone());
        }
        let w = g.previous.remove(&key)?;
        self.insert(&mut g, key, w.clone());
        Some(w)
    }

    /// Entries held now (both generations).
    pub fn len(&self) -> usize {
        let g = self.lock();
        g.current.len() + g.previous.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Generations> {
        // A panic while holding the lock leaves the maps consistent (inserts are single calls).
        self.gens.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get_or_compute(&self, key: u128, compute: impl FnOnce() -> TraceWork) -> Arc<TraceWork> {
        if let Some(w) = self.get(key) {
            return w;
        }
        let w = Arc::new(compute());
        self.insert(&mut self.lock(), key, w.clone());
        w
    }

    fn insert(&self, g: &mut Generations, key: u128, w: Arc<TraceWork>) {
        let size = w.bytes();
        if size > self.half_budget {
            return;
        }
        if g.bytes + size > self.half_budget {
            g.previous = std::mem::take(&mut g.current);
            g.bytes = 0;
        }
        g.bytes += size;
        g.current.insert(key, w);
    }
}

/// 128-bit key of everything trace work depends on (each part length-prefixed; the trace, the
/// long part, hashed on its own in one pass; the short parts gathered on the stack and hashed in
/// one pass too, rather than streamed through the hasher's buffer a piece at a time).
fn trace_key(project: &str, ev: &ErrorEvent<'_>) -> u128 {
    let key = text_trace_key(project, ev);
    if ev.frames.is_empty() {
        return key;
    }
    // Frames sent as data group instead of the text (which is only rendered from them): they
    // are part of the key, in-app flags included.
    let mut h = XxHash3_128::new();
    h.write(&key.to_le_bytes());
    for seg in &ev.frames {
        let ty = seg.exception_type.as_deref().unwrap_or("");
        h.write(&(ty.len() as u64).to_le_bytes());
        h.write(ty.as_bytes());
        h.write(&(seg.frames.len() as u64).to_le_bytes());
        for f in &seg.frames {
            for part in [&*f.module, &*f.function] {
                h.write(&(part.len() as u64).to_le_bytes());
                h.write(part.as_bytes());
            }
            h.write(&[u8::from(f.in_app)]);
        }
    }
    h.finish_128()
}

/// [`trace_key`] of the parts and the stack trace's text.
fn text_trace_key(project: &str, ev: &ErrorEvent<'_>) -> u128 {
    let trace = XxHash3_128::oneshot(ev.stacktrace.as_bytes()).to_le_bytes();
    let parts = [project, &ev.service, &ev.exception_type];
    let lens = parts.map(|p| (p.len() as u64).to_le_bytes());
    let pieces = || {
        (lens.iter().zip(parts))
            .flat_map(|(len, p)| [&len[..], p.as_bytes()])
            .chain([&trace[..]])
    };
    let mut buf = [0u8; 256];
    match buf.get_mut(..pieces().map(<[u8]>::len).sum()) {
        Some(all) => {
            let mut rest = &mut all[..];
            for piece in pieces() {
                let (dst, tail) = rest.split_at_mut(piece.len());
                dst.copy_from_slice(piece);
                rest = tail;
            }
            XxHash3_128::oneshot(all)
        }
        // Too long for the stack: the same bytes, streamed.
        None => {
            let mut h = XxHash3_128::new();
            pieces().for_each(|piece| h.write(piece));
            h.finish_128()
        }
    }
}

/// The key a stack trace's text is stored under once (`stacktraces`): a 64-bit hash of the text as
/// stored; 0 (nothing to store) for an empty text.
pub fn stack_hash(text: &str) -> u64 {
    if text.is_empty() {
        0
    } else {
        twox_hash::XxHash3_64::oneshot(text.as_bytes()).max(1)
    }
}

/// How occurrences of a project are grouped, cut and scrubbed.
#[derive(Clone, Copy)]
pub struct RowPolicy<'p> {
    /// The project's grouping configuration, if any.
    pub config: Option<&'p GroupingConfig>,
    /// Size limits.
    pub fields: &'p FieldLimits,
    /// The project's scrubber.
    pub scrubber: &'p Scrubber,
    /// The issues that exist from an older grouping version (kept during the transition).
    pub transition: Option<&'p Transition>,
}

/// The per-trace work of `ev` in `project` (grouping when the message does not matter, culprit,
/// the trace cut and scrubbed, its [`stack_hash`]), from `cache` when it was done before (under
/// the receiver's key when the event carries one: [`TraceHint`]).
pub fn trace_work(
    ev: &ErrorEvent<'_>,
    project: &str,
    policy: RowPolicy<'_>,
    cache: &TraceCache,
) -> Arc<TraceWork> {
    let key = match &ev.trace_hint {
        TraceHint::Found(work) => return work.clone(),
        TraceHint::Key(key) => *key,
        TraceHint::Unknown => trace_key(project, ev),
    };
    cache.get_or_compute(key, || {
        let mut input = ev.grouping_input(project, policy.config);
        input.client_fingerprint = None;
        let (g, uses_message) = fingerprint_and_usage(&input);
        let g = match policy.transition {
            Some(t) => t.keep(&input, g),
            None => g,
        };
        let mut stacktrace = ev.stacktrace.to_string();
        truncate(&mut stacktrace, policy.fields.max_stacktrace_bytes);
        policy.scrubber.text(&mut stacktrace);
        TraceWork {
            stack_hash: stack_hash(&stacktrace),
            fingerprint: (!uses_message).then_some(g.fingerprint),
            version: g.version,
            culprit: g.culprit,
            stacktrace,
        }
    })
}

/// Fingerprints and enriches `ev` into a row of `project`, cuts it to size and scrubs it: the same
/// row as `ev.into_row(..)` followed by [`FieldLimits::apply`] and [`Scrubber::row`], plus the
/// [`stack_hash`] of the stored trace. `work` is `ev`'s [`trace_work`]; the row borrows its
/// fingerprint, culprit and trace, and `ev`'s texts.
pub fn build_row<'a>(
    ev: ErrorEvent<'a>,
    work: &'a TraceWork,
    project: &'a str,
    received_at: u32,
    policy: RowPolicy<'_>,
) -> Row<'a> {
    let culprit = Cow::Borrowed(work.culprit.as_str());
    let client = match (ev.client_fingerprint.as_deref(), &work.fingerprint) {
        (Some(fp), Some(default)) if names_default(fp) => with_default_put_in(fp, default),
        // Its default part depends on the message: grouped one by one below.
        (Some(fp), None) if names_default(fp) => None,
        (fp, _) => client_fingerprint(fp),
    };
    let mut row = match (client, &work.fingerprint) {
        (Some(fp), _) => ev.into_row_grouped(
            project,
            received_at,
            fp.into(),
            culprit,
            CLIENT_GROUPING_VERSION,
        ),
        (None, Some(fp)) => {
            ev.into_row_grouped(project, received_at, fp.into(), culprit, work.version)
        }
        (None, None) => ev.into_row(project, received_at, policy.config, policy.transition),
    };
    row.stacktrace = Cow::Borrowed(&work.stacktrace);
    row.stack_hash = work.stack_hash;
    policy.fields.apply_but_stacktrace(&mut row);
    policy.scrubber.row_but_stacktrace(&mut row);
    row
}

/// The rows of `events` in `project` ([`build_row`], each with its [`trace_work`] from `cache`),
/// handed to `f`: they borrow the events and the cache's answers, which live until `f` returns.
pub fn with_rows<R>(
    events: Vec<ErrorEvent<'_>>,
    project: &str,
    received_at: u32,
    policy: RowPolicy<'_>,
    cache: &TraceCache,
    f: impl FnOnce(Vec<Row<'_>>) -> R,
) -> R {
    let works: Vec<Arc<TraceWork>> = events
        .iter()
        .map(|e| trace_work(e, project, policy, cache))
        .collect();
    let rows = events
        .into_iter()
        .zip(&works)
        .map(|(e, w)| build_row(e, w, project, received_at, policy))
        .collect();
    f(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::FingerprintRule;

    fn corpus() -> Vec<ErrorEvent<'static>> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/grouping/events.jsonl"
        );
        let text = std::fs::read_to_string(path).expect("corpus");
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("json");
                let s = |k: &str| Cow::Owned(v[k].as_str().unwrap_or_default().to_string());
                ErrorEvent {
                    service: s("service"),
                    exception_type: s("exception_type"),
                    message: s("message"),
                    stacktrace: s("stacktrace"),
                    attributes: vec![("password".into(), "hunter2".into())],
                    url: "https://x.test/a?token=abc&q=1".into(),
                    ..Default::default()
                }
            })
            .collect()
    }

    fn reference<'a>(
        ev: ErrorEvent<'a>,
        project: &'a str,
        config: Option<&GroupingConfig>,
        fields: &FieldLimits,
        scrubber: &Scrubber,
    ) -> Row<'a> {
        let mut row = ev.into_row(project, 1_700_000_000, config, None);
        fields.apply(&mut row);
        scrubber.row(&mut row);
        row
    }

    #[test]
    fn trace_keys_hash_the_parts_on_the_stack_as_streamed() {
        let streamed = |project: &str, ev: &ErrorEvent<'_>| {
            let mut h = XxHash3_128::new();
            for part in [project, &ev.service, &ev.exception_type] {
                h.write(&(part.len() as u64).to_le_bytes());
                h.write(part.as_bytes());
            }
            h.write(&XxHash3_128::oneshot(ev.stacktrace.as_bytes()).to_le_bytes());
            h.finish_128()
        };
        for (service, ty) in [("api", "TypeError"), ("", ""), ("s", &*"E".repeat(300))] {
            let ev = ErrorEvent {
                service: service.into(),
                exception_type: ty.into(),
                stacktrace: "at a (b.js:1:2)".into(),
                ..Default::default()
            };
            assert_eq!(trace_key("shop", &ev), streamed("shop", &ev), "{ty}");
        }
        let ev = |ty: &str| ErrorEvent {
            exception_type: ty.to_string().into(),
            ..Default::default()
        };
        assert_ne!(trace_key("ab", &ev("c")), trace_key("a", &ev("bc")));
    }

    /// Cold, warm and disabled caches all give the uncached row, over the corpus, with client
    /// fingerprints, message rules, in-app overrides, short trace limits and scrubbing.
    #[test]
    fn cached_rows_equal_fresh_rows() {
        let events = corpus();
        assert!(events.len() > 100);
        let fields = FieldLimits {
            max_stacktrace_bytes: 700,
            ..FieldLimits::default()
        };
        let scrubber = Scrubber::new(true, true, &[], &[]);
        let rules = GroupingConfig {
            in_app_include: vec!["vendor".into()],
            rules: vec![FingerprintRule {
                message: Some("*timeout*".into()),
                fingerprint: "timeouts-{{ default }}".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        for config in [None, Some(&rules)] {
            for max_bytes in [0, 32 << 20] {
                let cache = TraceCache::new(max_bytes);
                for round in 0..2 {
                    for (i, ev) in events.iter().enumerate() {
                        let mut ev = ev.clone();
                        if i % 7 == 0 {
                            ev.client_fingerprint = Some(format!("client-{i}").into());
                        }
                        if round == 1 {
                            // Same trace, another message: must not reuse a message-based group.
                            ev.message = format!("{} timeout #{i}", ev.message).into();
                        }
                        let want = reference(ev.clone(), "p", config, &fields, &scrubber);
                        let policy = RowPolicy {
                            config,
                            fields: &fields,
                            scrubber: &scrubber,
                            transition: None,
                        };
                        let work = trace_work(&ev, "p", policy, &cache);
                        let mut got = build_row(ev, &work, "p", 1_700_000_000, policy);
                        assert_eq!(got.stack_hash, stack_hash(&want.stacktrace));
                        assert_ne!(got.stack_hash, 0, "every corpus event has a trace");
                        got.stack_hash = 0;
                        assert_eq!(got, want, "event {i}, round {round}, cache {max_bytes}");
                    }
                }
                assert_eq!(cache.is_empty(), max_bytes == 0);
            }
        }
    }

    #[test]
    fn the_cache_stays_within_its_budget() {
        let cache = TraceCache::new(64 << 10);
        for i in 0..2000 {
            let ev = ErrorEvent {
                exception_type: "E".into(),
                stacktrace: format!("Traceback {i}\n{}", "x".repeat(100)).into(),
                ..Default::default()
            };
            let (fields, scrubber) = (FieldLimits::default(), Scrubber::off());
            let policy = RowPolicy {
                config: None,
                fields: &fields,
                scrubber: &scrubber,
                transition: None,
            };
            let work = trace_work(&ev, "p", policy, &cache);
            build_row(ev, &work, "p", 0, policy);
        }
        let g = cache.lock();
        let held: usize = g
            .current
            .values()
            .chain(g.previous.values())
            .map(|w| w.bytes())
            .sum();
        assert!(held <= 64 << 10, "{held}");
        assert!(!g.current.is_empty());
    }
}
