//! The errors load is made of: the public grouping corpus (compiled in) and a deterministic
//! generator picking from it.

pub(super) const CORPUS: &str = include_str!("../../collector/tests/data/grouping/events.jsonl");

pub(super) struct CorpusEvent {
    /// The corpus's id of the event and its true group (for scoring a peer's grouping).
    pub(super) id: String,
    pub(super) group: String,
    /// The runtime (`go`, `python`, `node`, …).
    pub(super) lang: String,
    pub(super) service: String,
    pub(super) exception_type: String,
    pub(super) message: String,
    pub(super) stacktrace: String,
}

pub(super) fn corpus() -> Vec<CorpusEvent> {
    CORPUS
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| {
            let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
            CorpusEvent {
                id: s("id"),
                group: s("group"),
                lang: s("lang"),
                service: s("service"),
                exception_type: s("exception_type"),
                message: s("message"),
                stacktrace: s("stacktrace"),
            }
        })
        .collect()
}

/// A small deterministic generator (no dependency, same load every run).
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub(super) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
    pub(super) fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

pub(super) const ENVIRONMENTS: &[&str] = &["production", "production", "production", "staging"];
pub(super) const STATUSES: &[i64] = &[500, 500, 500, 502, 503, 404, 404, 403, 401, 422];
pub(super) const ROUTES: &[&str] = &[
    "/api/orders/{id}",
    "/api/users/{id}",
    "/checkout",
    "/search",
    "/",
];

/// The load generator's seed: every run sends the same requests.
pub(super) const SEED: u64 = 0x9E37_79B9_7F4A_7C15;
