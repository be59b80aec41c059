//! Text helpers every stack-trace parser uses: fixed-string needles built once, compiled-once
//! regexes, line splitting, and a file path's module name. Written for speed: they run for every
//! line of every occurrence ingested.

/// A regex compiled once, on first use.
macro_rules! re {
    ($s:expr) => {{
        static R: std::sync::LazyLock<regex::Regex> =
            std::sync::LazyLock::new(|| regex::Regex::new($s).expect("valid regex"));
        &*R
    }};
}

/// A fixed string the parsers look for in every line or frame. Its `memchr::memmem` searchers are
/// built once ([`needle!`]); std's `str::find` builds a two-way searcher on every call, which for
/// these short lines costs more than the scan.
pub(crate) struct Needle {
    pub(crate) text: &'static str,
    fwd: memchr::memmem::Finder<'static>,
}

impl Needle {
    pub(crate) fn new(text: &'static str) -> Self {
        Needle {
            text,
            fwd: memchr::memmem::Finder::new(text),
        }
    }
}

/// A [`Needle`] built once, on first use.
macro_rules! needle {
    ($s:literal) => {{
        static N: std::sync::LazyLock<$crate::fingerprint::text::Needle> =
            std::sync::LazyLock::new(|| $crate::fingerprint::text::Needle::new($s));
        &*N
    }};
}

/// Byte offset of the first `n` in `hay`.
pub(super) fn find(hay: &str, n: &Needle) -> Option<usize> {
    n.fwd.find(hay.as_bytes())
}

/// Byte offset of the last `::` in `hay` (paths of Rust symbols: the last one is near the end).
pub(super) fn rfind_path_sep(hay: &str) -> Option<usize> {
    let b = hay.as_bytes();
    let mut end = b.len();
    while let Some(i) = memchr::memrchr(b':', &b[..end]) {
        if i > 0 && b[i - 1] == b':' {
            return Some(i - 1);
        }
        end = i;
    }
    None
}

/// `str::lines` (split at `\n` or `\r\n`, no empty last line) with a SIMD `memchr`.
pub(super) fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        Some(match memchr::memchr(b'\n', rest.as_bytes()) {
            Some(i) => {
                let line = &rest[..i];
                rest = &rest[i + 1..];
                line.strip_suffix('\r').unwrap_or(line)
            }
            None => std::mem::take(&mut rest),
        })
    })
}

pub(super) fn has(hay: &str, n: &Needle) -> bool {
    find(hay, n).is_some()
}

/// `str::split_once` with a [`Needle`]. Needles are ASCII, so both cuts are on char boundaries.
pub(super) fn split_once<'a>(hay: &'a str, n: &Needle) -> Option<(&'a str, &'a str)> {
    find(hay, n).map(|i| (&hay[..i], &hay[i + n.text.len()..]))
}

/// `s` without any number of leading `prefix` (`str::trim_start_matches` builds a substring
/// searcher on every call).
pub(super) fn strip_all<'a>(mut s: &'a str, prefix: &str) -> &'a str {
    while let Some(rest) = s.strip_prefix(prefix) {
        s = rest;
    }
    s
}

/// Whether `s` starts with one of `prefixes`; the first byte is compared before the rest.
pub(super) fn starts_with_any(s: &str, prefixes: &[&str]) -> bool {
    let Some(&first) = s.as_bytes().first() else {
        return false;
    };
    prefixes
        .iter()
        .any(|p| p.as_bytes().first() == Some(&first) && s.starts_with(p))
}

/// Length of the run of ASCII digits `s` starts with.
pub(super) fn digits(s: &str) -> usize {
    s.bytes().take_while(u8::is_ascii_digit).count()
}

/// The text of capture group `i`, borrowed from the haystack (empty when the group did not match).
pub(super) fn group<'a>(c: &regex::Captures<'a>, i: usize) -> &'a str {
    c.get(i).map_or("", |m| m.as_str())
}

pub(super) fn basename_module(path: &str) -> &str {
    let path = strip_all(path.trim_ascii(), "file://");
    // All cuts are at ASCII bytes, so on char boundaries.
    let path = match memchr::memchr2(b'?', b'#', path.as_bytes()) {
        Some(i) => &path[..i],
        None => path,
    };
    let base = match memchr::memrchr2(b'/', b'\\', path.as_bytes()) {
        Some(i) => &path[i + 1..],
        None => path,
    };
    let stem = match memchr::memrchr(b'.', base.as_bytes()) {
        Some(i) if i > 0 && base.len() - i - 1 <= 4 => &base[..i],
        _ => base,
    };
    // Build hashes in bundle names (`app.3f2a1b.js`, `main-9c1e0f7a.js`) change with every deploy.
    match memchr::memrchr2(b'.', b'-', stem.as_bytes()).map(|i| (&stem[..i], &stem[i + 1..])) {
        Some((head, tail))
            if !head.is_empty()
                && tail.len() >= 6
                && tail.bytes().all(|b| b.is_ascii_hexdigit())
                && tail.bytes().any(|b| b.is_ascii_digit()) =>
        {
            head
        }
        _ => stem,
    }
}
