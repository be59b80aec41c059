//! Personal data scrubbing, on by default, applied to every row before it is spooled (so nothing
//! scrubbed ever reaches disk): values of secret-looking keys (attributes, URL query parameters,
//! `key=value` pairs in text), credit-card numbers that pass the Luhn check anywhere, and
//! optionally the host part of IP addresses. Runs after grouping, so it never changes a
//! fingerprint.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use crate::event::{Row, Text};

/// What replaces a scrubbed value.
pub const FILTERED: &str = "[Filtered]";

/// Key fragments whose values are always scrubbed (seed 001 `before_send`, seed 004
/// `sanitizeHeaders`/`sanitizeBody`).
pub const DEFAULT_KEYS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "api_key",
    "apikey",
    "token",
    "auth",
    "authorization",
    "bearer",
    "cookie",
    "set_cookie",
    "session",
    "credentials",
    "private_key",
];

/// A project's own additions to the scrubbing lists (`[scrubbing.<project>]` in the configuration
/// file), on top of the global ones.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScrubOverrides {
    /// Key fragments whose values are scrubbed as well.
    pub extra_fields: Vec<String>,
    /// Keys never scrubbed.
    pub safe_fields: Vec<String>,
}

/// Scrubbing settings.
#[derive(Debug, Clone)]
pub struct Scrubber {
    enabled: bool,
    anonymize_ip: bool,
    /// Normalized safe keys.
    safe: Vec<String>,
    /// The normalized key fragments, found in a normalized key in one pass.
    key_fragments: aho_corasick::AhoCorasick,
    /// Cheap first pass: does the text contain (a piece of) any key at all?
    prefilter: aho_corasick::AhoCorasick,
    pairs: Regex,
}

/// A key as it is compared: ASCII lowercase, with `-`, ` ` and `.` read as `_`.
fn normalize(key: &str) -> String {
    key.to_ascii_lowercase().replace(['-', ' ', '.'], "_")
}

/// [`normalize`] without an allocation for keys of up to 64 bytes (all real ones), handed to `f`.
fn with_normalized<R>(key: &str, f: impl FnOnce(&[u8]) -> R) -> R {
    let mut buf = [0u8; 64];
    match buf.get_mut(..key.len()) {
        Some(out) => {
            for (o, &b) in out.iter_mut().zip(key.as_bytes()) {
                *o = match b {
                    b'-' | b' ' | b'.' => b'_',
                    b => b.to_ascii_lowercase(),
                };
            }
            f(out)
        }
        None => f(normalize(key).as_bytes()),
    }
}

static CARD: LazyLock<Regex> =
    // ASCII classes and boundaries throughout: the lazy DFA handles them (Unicode `\b` would
    // send every scan to a slower engine).
    LazyLock::new(|| {
        Regex::new(r"(?-u:\b)[0-9](?:[ -]?[0-9]){12,18}(?-u:\b)").expect("card regex")
    });
static IPV4: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})(?-u:\b)")
        .expect("ip regex")
});

/// Luhn check of the digits of `s`.
pub fn luhn(s: &str) -> bool {
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Whether `s` has 13 or more digits in a row, single spaces or dashes allowed between them (the
/// only places a card number can be): one pass over the bytes, so the card regex runs only on text
/// that could hold one (stack traces are full of digits, in short runs).
fn has_long_digit_run(s: &str) -> bool {
    let mut run = 0;
    let mut sep = false;
    for &b in s.as_bytes() {
        if b.is_ascii_digit() {
            run += 1;
            sep = false;
            if run >= 13 {
                return true;
            }
        } else if (b == b' ' || b == b'-') && run > 0 && !sep {
            sep = true;
        } else {
            run = 0;
            sep = false;
        }
    }
    false
}

impl Scrubber {
    /// `extra` key fragments are scrubbed as well; `safe` keys never are.
    pub fn new(enabled: bool, anonymize_ip: bool, extra: &[String], safe: &[String]) -> Self {
        let mut keys: Vec<String> = DEFAULT_KEYS.iter().map(|k| k.to_string()).collect();
        keys.extend(extra.iter().map(|k| normalize(k)).filter(|k| !k.is_empty()));
        // `key=value` / `key: value` in free text, for the same keys.
        let alternation = keys
            .iter()
            .map(|k| regex::escape(k).replace('_', "[_ .-]?"))
            .collect::<Vec<_>>()
            .join("|");
        // No leading `[\w.-]*`: the match starts at the key fragment (the rest of the key is
        // found by looking back), which keeps the scan linear and cheap.
        // The value is one word, or an authorization scheme and its credentials (`Bearer x`):
        // the scheme alone must not be all that is hidden.
        let pairs = Regex::new(&format!(
            r#"(?i-u:{alternation})[A-Za-z0-9_.\-]*["']?[ \t]*[=:][ \t]*["']?((?i-u:bearer|basic|digest|token|negotiate|sentry)[ \t]+[^\s&"',;]+|[^\s&"',;]+)"#
        ))
        .expect("pairs regex");
        // Every match contains the longest `_`-separated piece of its key, whatever separator
        // the text used: search for those first, case-insensitively, in one SIMD pass.
        // (lower, Title and UPPER case spelled out rather than asked for: that keeps the SIMD
        // searcher, which case-insensitive matching would turn off).
        let mut pieces: Vec<String> = Vec::new();
        for piece in keys
            .iter()
            .filter_map(|k| k.split('_').max_by_key(|p| p.len()))
            .filter(|p| !p.is_empty())
        {
            let mut title = piece.to_string();
            if let Some(f) = title.get_mut(..1) {
                f.make_ascii_uppercase();
            }
            for v in [piece.to_string(), title, piece.to_ascii_uppercase()] {
                if !pieces.contains(&v) {
                    pieces.push(v);
                }
            }
        }
        let prefilter = aho_corasick::AhoCorasick::new(&pieces).expect("prefilter");
        let key_fragments = aho_corasick::AhoCorasick::new(&keys).expect("key fragments");
        Scrubber {
            enabled,
            anonymize_ip,
            key_fragments,
            safe: safe.iter().map(|k| normalize(k)).collect(),
            prefilter,
            pairs,
        }
    }

    /// A scrubber that does nothing.
    pub fn off() -> Self {
        Scrubber::new(false, false, &[], &[])
    }

    /// Whether the value of `key` is scrubbed.
    pub fn is_sensitive(&self, key: &str) -> bool {
        with_normalized(key, |k| !self.is_safe(k) && self.key_fragments.is_match(k))
    }

    /// Whether the normalized key `k` is on the safe list.
    fn is_safe(&self, k: &[u8]) -> bool {
        self.safe.iter().any(|s| s.as_bytes() == k)
    }

    /// Scrubs free text: `secret=…` pairs, card numbers, IPs (when asked).
    pub fn text(&self, s: &mut String) {
        if let Some(out) = self.scrubbed(s) {
            *s = out;
        }
    }

    /// [`text`](Self::text) for a borrowed text: copied only when something is scrubbed.
    pub fn text_in(&self, s: &mut Text<'_>) {
        if let Some(out) = self.scrubbed(s) {
            *s = Cow::Owned(out);
        }
    }

    /// The scrubbed text, or `None` when nothing in `s` is scrubbed.
    fn scrubbed(&self, s: &str) -> Option<String> {
        if !self.enabled || s.is_empty() {
            return None;
        }
        let owned = |c: Cow<'_, str>| match c {
            Cow::Owned(o) => Some(o),
            Cow::Borrowed(_) => None,
        };
        let mut out = None;
        if self.prefilter.is_match(s) && self.pairs.is_match(s) {
            out = owned(self.pairs.replace_all(s, |c: &regex::Captures| {
                let (Some(m), Some(value)) = (c.get(0), c.get(1)) else {
                    return String::new();
                };
                // The whole key: back from the fragment, forward to the separator.
                let is_key = |ch: char| ch.is_alphanumeric() || matches!(ch, '_' | '.' | '-');
                let start = s[..m.start()]
                    .char_indices()
                    .rev()
                    .take_while(|&(_, ch)| is_key(ch))
                    .last()
                    .map_or(m.start(), |(i, _)| i);
                let end = m.start() + m.as_str().find(|ch: char| !is_key(ch)).unwrap_or(m.len());
                let separator = &s[end..value.start()];
                if with_normalized(&s[start..end], |k| self.is_safe(k))
                    || is_source_position(&s[start..end], separator, value.as_str())
                {
                    m.as_str().to_string()
                } else {
                    format!("{}{FILTERED}", &s[m.start()..value.start()])
                }
            }));
        }
        let now = out.as_deref().unwrap_or(s);
        if has_long_digit_run(now) {
            let cards = owned(CARD.replace_all(now, |c: &regex::Captures| {
                if luhn(&c[0]) {
                    FILTERED.to_string()
                } else {
                    c[0].to_string()
                }
            }));
            out = cards.or(out);
        }
        let now = out.as_deref().unwrap_or(s);
        if self.anonymize_ip && now.contains('.') {
            let ips = owned(IPV4.replace_all(now, "$1.$2.$3.0"));
            out = ips.or(out);
        }
        out
    }

    /// A value holding a JSON object or array (request headers, a body, `extra`), scrubbed by
    /// key: the whole value of a secret-looking key is replaced (so `{"Authorization": "Bearer
    /// x"}` keeps nothing of the token), `[key, value]` pairs likewise, other texts as free text.
    /// `None`: not JSON; `Some(None)`: JSON with nothing to scrub.
    fn scrubbed_json(&self, s: &str) -> Option<Option<String>> {
        let t = s.trim_start();
        if !(t.starts_with('{') || t.starts_with('[')) {
            return None;
        }
        let mut v: serde_json::Value = serde_json::from_str(s).ok()?;
        Some(self.json(&mut v).then(|| v.to_string()))
    }

    /// Scrubs a JSON value in place by key; whether anything changed.
    fn json(&self, v: &mut serde_json::Value) -> bool {
        use serde_json::Value;
        let filtered = || Value::String(FILTERED.to_string());
        match v {
            Value::Object(map) => {
                let mut changed = false;
                for (k, val) in map.iter_mut() {
                    if self.is_sensitive(k) && !val.is_null() && *val != filtered() {
                        *val = filtered();
                        changed = true;
                    } else {
                        changed |= self.json(val);
                    }
                }
                changed
            }
            Value::Array(items) => {
                if let [Value::String(k), val] = items.as_mut_slice()
                    && self.is_sensitive(k)
                    && *val != filtered()
                {
                    *val = filtered();
                    return true;
                }
                let mut changed = false;
                for item in items {
                    changed |= self.json(item);
                }
                changed
            }
            Value::String(text) => match self.scrubbed(text) {
                Some(out) => {
                    *text = out;
                    true
                }
                None => false,
            },
            _ => false,
        }
    }

    /// Scrubs a whole row: attributes by key, then every free-text field.
    pub fn row(&self, row: &mut Row<'_>) {
        self.row_but_stacktrace(row);
        self.text_in(&mut row.stacktrace);
    }

    /// [`row`](Self::row) without the stack trace (which ingest scrubs once per distinct trace).
    pub fn row_but_stacktrace(&self, row: &mut Row<'_>) {
        if !self.enabled {
            return;
        }
        for (k, v) in row.attr_keys.iter().zip(row.attr_values.iter_mut()) {
            if self.is_sensitive(k) {
                *v = Cow::Borrowed(FILTERED);
            } else if let Some(json) = self.scrubbed_json(v) {
                if let Some(out) = json {
                    *v = Cow::Owned(out);
                }
            } else {
                self.text_in(v);
            }
        }
        for s in [&mut row.message, &mut row.url] {
            self.text_in(s);
        }
    }
}

/// Extensions of source files, as stack traces name them (`sessions.js:10:5`, `auth.go:22`).
const SOURCE_EXTENSIONS: &[&str] = &[
    "c", "cc", "cjs", "clj", "cljs", "coffee", "cpp", "cs", "cxx", "dart", "erl", "ex", "exs",
    "fs", "go", "groovy", "h", "hpp", "java", "js", "jsx", "kt", "kts", "lua", "m", "mjs", "mm",
    "php", "pl", "pm", "py", "rb", "rs", "scala", "src", "svelte", "swift", "ts", "tsx", "vb",
    "vue",
];

/// Whether a `key: value` pair found in text is a stack frame's file and line instead: a key that
/// is a source file's name (`sessions.js`, named like a secret key), a bare `:` and a line
/// number, with a column and the frame's closing bracket after it (`10:5)`). Its line stays.
fn is_source_position(key: &str, separator: &str, value: &str) -> bool {
    let is_source = key.rsplit_once('.').is_some_and(|(_, ext)| {
        SOURCE_EXTENSIONS
            .iter()
            .any(|known| known.eq_ignore_ascii_case(ext))
    });
    // `line` or `line:column`.
    let numbers = value.trim_end_matches([')', ']']).split(':');
    separator == ":"
        && is_source
        && numbers.clone().count() <= 2
        && numbers
            .into_iter()
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_long_digit_runs_wake_the_card_regex() {
        assert!(has_long_digit_run("card 4111 1111 1111 1111 ok"));
        assert!(has_long_digit_run("5500-0000-0000-0004"));
        assert!(!has_long_digit_run(
            "at Foo.java:1234 at Bar.java:5678 line 91011 12"
        ));
        assert!(!has_long_digit_run("1 2 3 4 5 6 7  8 9 0 1 2 3 4"));
    }

    #[test]
    fn keys_normalize_the_same_on_the_stack() {
        let long = format!("X-{}-Token", "Ab.c ".repeat(20));
        for key in [
            "",
            "Set-Cookie",
            "HTTP.Request.Header.X-API-Key",
            "Ünïcode Key-é",
            &long,
        ] {
            assert_eq!(
                with_normalized(key, |k| k.to_vec()),
                normalize(key).into_bytes(),
                "{key}"
            );
        }
        let s = Scrubber::new(true, false, &["ssn".into()], &["token_count".into()]);
        assert!(s.is_sensitive("HTTP.Request.Header.X-API-Key"));
        assert!(s.is_sensitive(&long));
        assert!(s.is_sensitive("user.SSN"));
        assert!(!s.is_sensitive("Token-Count"));
        assert!(!s.is_sensitive("http.route"));
    }

    #[test]
    fn stack_frames_of_files_named_like_keys_keep_their_lines() {
        let s = Scrubber::new(true, false, &[], &[]);
        for frame in [
            "    at Sessions.load (/app/sessions.js:10:5)",
            "    at check (auth.ts:22:7)",
            "\t/srv/app/sessions.go:13 +0x1d",
            "  [/app/tokens.src:13]",
            "sessions.py:7",
        ] {
            let out = s.scrubbed(frame);
            assert_eq!(out.as_deref().unwrap_or(frame), frame);
        }
        // Keys that only look like files, or values that are not positions, are still pairs.
        for (text, kept) in [
            ("session.js: 12345", "session.js: "),
            ("auth.js:s3cr3t", "auth.js:"),
            ("token.py:12:34:56", "token.py:"),
            ("db.password:1234", "db.password:"),
            ("session_token:98765", "session_token:"),
            ("password.txt:1234", "password.txt:"),
        ] {
            assert_eq!(
                s.scrubbed(text).as_deref(),
                Some(format!("{kept}{FILTERED}").as_str()),
                "{text}"
            );
        }
    }

    #[test]
    fn luhn_tells_cards_from_other_long_numbers() {
        assert!(luhn("4111 1111 1111 1111"));
        assert!(luhn("5500-0000-0000-0004"));
        assert!(!luhn("4111 1111 1111 1112"));
        assert!(!luhn("1234"));
    }

    #[test]
    fn secrets_cards_and_ips_are_scrubbed_and_safe_keys_kept() {
        let s = Scrubber::new(true, true, &["ssn".into()], &["token_count".into()]);
        let mut row = Row {
            message: "login failed for password=hunter2 card 4111 1111 1111 1111 order 1234567890123 from 10.1.2.3".into(),
            url: "https://shop.example/cb?token=abc123&page=2".into(),
            attr_keys: vec![
                "http.request.header.authorization".into(),
                "http.request.header.x-api-key".into(),
                "user.ssn".into(),
                "token_count".into(),
                "http.route".into(),
            ],
            attr_values: vec![
                "Bearer xyz".into(),
                "k-123".into(),
                "078-05-1120".into(),
                "42".into(),
                "/users/{id}".into(),
            ],
            ..Default::default()
        };
        s.row(&mut row);
        assert_eq!(
            row.message,
            "login failed for password=[Filtered] card [Filtered] order 1234567890123 from 10.1.2.0"
        );
        assert_eq!(row.url, "https://shop.example/cb?token=[Filtered]&page=2");
        assert_eq!(
            row.attr_values,
            vec![
                "[Filtered]",
                "[Filtered]",
                "[Filtered]",
                "42",
                "/users/{id}"
            ]
        );
    }

    /// A token must not survive as `[Filtered] sekrit`: JSON values are scrubbed by key, whole,
    /// and in free text an authorization scheme goes with its credentials.
    #[test]
    fn structured_values_are_scrubbed_whole_by_key() {
        let s = Scrubber::new(true, false, &[], &[]);
        let mut row = Row {
            message: "retry with Authorization: Bearer sekrit1 failed".into(),
            attr_keys: vec![
                "request.headers".into(),
                "http.request.data".into(),
                "extra.pairs".into(),
                "extra.note".into(),
            ],
            attr_values: vec![
                r#"{"Authorization":"Bearer sekrit2","Accept":"*/*"}"#.into(),
                r#"{"user":{"name":"ann","password":"hunter2","api_key":null}}"#.into(),
                r#"[["Cookie","sid=sekrit3"],["Host","x"]]"#.into(),
                "{not json, token=sekrit4".into(),
            ],
            ..Default::default()
        };
        s.row(&mut row);
        let all = format!("{} {}", row.message, row.attr_values.join(" "));
        for secret in ["sekrit1", "sekrit2", "hunter2", "sekrit3", "sekrit4"] {
            assert!(!all.contains(secret), "{secret} leaked: {all}");
        }
        assert_eq!(
            row.attr_values[0],
            r#"{"Accept":"*/*","Authorization":"[Filtered]"}"#
        );
        assert_eq!(
            row.attr_values[2],
            r#"[["Cookie","[Filtered]"],["Host","x"]]"#
        );
        assert_eq!(row.message, "retry with Authorization: [Filtered] failed");
    }

    #[test]
    fn off_means_off() {
        let mut row = Row {
            message: "password=hunter2".into(),
            ..Default::default()
        };
        Scrubber::new(false, false, &[], &[]).row(&mut row);
        assert_eq!(row.message, "password=hunter2");
    }
}
