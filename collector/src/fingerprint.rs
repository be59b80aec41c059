//! Grouping: one fingerprint per bug.
//!
//! Fingerprint v1 hashes the project, the service, the exception type and the in-app frames of the
//! root cause (module or file basename plus normalized function; never line numbers, path prefixes,
//! offsets or generated-name suffixes). Without a usable stack trace it falls back to the type plus
//! the message with its variable parts masked. A fingerprint sent by the client wins (see
//! [`fingerprint`]). `faultline fingerprint` and ingest call the same function.
//!
//! Stack traces are parsed from the text OpenTelemetry SDKs put in `exception.stacktrace`: Python
//! tracebacks, Java/Kotlin/.NET/OpenTelemetry-PHP `at ...` frames, V8 and Firefox JavaScript, Go
//! panics and `runtime.Stack`, PHP `getTraceAsString()`, Ruby `full_message`, Rust backtraces.
//! Frames come out innermost first whatever the language printed.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;
use sha2::{Digest, Sha256};

/// Version of the grouping algorithm, stored with every occurrence.
pub const GROUPING_VERSION: u8 = 1;

/// Grouping version recorded when the client sent its own fingerprint.
pub const CLIENT_GROUPING_VERSION: u8 = 0;

/// One stack frame, normalized. Borrowed from the stack trace's text wherever normalization only
/// cuts (most frames): parsing allocates per trace, not per frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Module, package, class, or file basename without extension.
    pub module: Cow<'a, str>,
    /// Function or method, without generated suffixes.
    pub function: Cow<'a, str>,
    /// Whether the frame is the application's own code (not the runtime or a dependency).
    pub in_app: bool,
}

/// One exception of a chain, as found in a stack trace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Segment<'a> {
    /// Exception type printed in the trace for this segment, when there is one.
    pub exception_type: Option<&'a str>,
    /// Frames, innermost first.
    pub frames: Vec<Frame<'a>>,
}

/// What grouping looks at.
#[derive(Debug, Clone, Copy, Default)]
pub struct GroupingInput<'a> {
    /// Project the occurrence belongs to.
    pub project: &'a str,
    /// `service.name`.
    pub service: &'a str,
    /// `exception.type`.
    pub exception_type: &'a str,
    /// `exception.message`.
    pub message: &'a str,
    /// `exception.stacktrace`.
    pub stacktrace: &'a str,
    /// Fingerprint sent by the client, if any.
    pub client_fingerprint: Option<&'a str>,
    /// The project's grouping configuration (in-app overrides, fingerprint rules), if any.
    pub config: Option<&'a GroupingConfig>,
}

/// A project's grouping configuration (`[grouping.<project>]` in the configuration file).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct GroupingConfig {
    /// Frames whose module starts with one of these are the application's own (in-app).
    pub in_app_include: Vec<String>,
    /// Frames whose module starts with one of these are not in-app (wins over include).
    pub in_app_exclude: Vec<String>,
    /// Fingerprint rules, tried in order; the first that matches decides.
    pub rules: Vec<FingerprintRule>,
}

/// "Occurrences matching this get that fingerprint." Every condition given must hold; patterns
/// are case-sensitive globs where `*` matches any run of characters.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct FingerprintRule {
    /// Glob on the exception type.
    pub exception_type: Option<String>,
    /// Glob on the message.
    pub message: Option<String>,
    /// Glob on the module of any in-app frame of the root cause.
    pub module: Option<String>,
    /// Glob on the function of any in-app frame of the root cause.
    pub function: Option<String>,
    /// Glob on the service.
    pub service: Option<String>,
    /// The fingerprint to give; `{{ default }}` stands for the one Faultline would compute.
    pub fingerprint: String,
}

/// `*` matches any run of characters; everything else matches itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first)
        || !text[first.len()..].ends_with(last)
        || text.len() < first.len() + last.len()
    {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

impl GroupingConfig {
    /// Checks the rules (every rule needs a fingerprint and at least one condition).
    pub fn validate(&self) -> Result<(), String> {
        for (i, r) in self.rules.iter().enumerate() {
            if r.fingerprint.trim().is_empty() {
                return Err(format!("rule {}: `fingerprint` is empty", i + 1));
            }
            if r.exception_type.is_none()
                && r.message.is_none()
                && r.module.is_none()
                && r.function.is_none()
                && r.service.is_none()
            {
                return Err(format!(
                    "rule {}: give at least one of exception_type, message, module, function, service",
                    i + 1
                ));
            }
        }
        Ok(())
    }

    fn apply_in_app(&self, segments: &mut [Segment<'_>]) {
        if self.in_app_include.is_empty() && self.in_app_exclude.is_empty() {
            return;
        }
        for f in segments.iter_mut().flat_map(|s| s.frames.iter_mut()) {
            if self
                .in_app_include
                .iter()
                .any(|p| f.module.starts_with(p.as_str()))
            {
                f.in_app = true;
            }
            if self
                .in_app_exclude
                .iter()
                .any(|p| f.module.starts_with(p.as_str()))
            {
                f.in_app = false;
            }
        }
    }

    fn rule_for(
        &self,
        input: &GroupingInput<'_>,
        frames: &[&Frame<'_>],
    ) -> Option<&FingerprintRule> {
        let m =
            |pat: &Option<String>, text: &str| pat.as_deref().is_none_or(|p| glob_match(p, text));
        self.rules.iter().find(|r| {
            m(&r.exception_type, input.exception_type)
                && m(&r.message, input.message)
                && m(&r.service, input.service)
                && (r.module.is_none() || frames.iter().any(|f| m(&r.module, &f.module)))
                && (r.function.is_none() || frames.iter().any(|f| m(&r.function, &f.function)))
        })
    }
}

/// The result of grouping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grouping {
    /// 32 hex characters, or the client's own fingerprint (hashed when longer than 128 bytes).
    pub fingerprint: String,
    /// `module in function` of the innermost in-app frame, empty when unknown.
    pub culprit: String,
    /// [`GROUPING_VERSION`], or [`CLIENT_GROUPING_VERSION`] for client fingerprints.
    pub version: u8,
}

/// SHA-256 over parts, each followed by 0x1f, cut to 128 bits (32 hex characters). Parts are fed
/// one by one: no joined string is built.
struct PartHasher(Sha256);

impl PartHasher {
    fn new() -> Self {
        PartHasher(Sha256::new())
    }

    fn part(&mut self, p: &str) -> &mut Self {
        self.0.update(p.as_bytes());
        self.0.update([0x1f]);
        self
    }

    /// `a:b` as one part.
    fn pair(&mut self, a: &str, b: &str) -> &mut Self {
        self.0.update(a.as_bytes());
        self.0.update(b":");
        self.part(b)
    }

    fn finish(self) -> String {
        const_hex::encode(&self.0.finalize()[..16])
    }
}

fn hash(parts: &[&str]) -> String {
    let mut h = PartHasher::new();
    for p in parts {
        h.part(p);
    }
    h.finish()
}

/// Computes the fingerprint of one occurrence.
pub fn fingerprint(input: &GroupingInput<'_>) -> Grouping {
    fingerprint_and_usage(input).0
}

/// The client's fingerprint as stored (trimmed; hashed when longer than 128 bytes or holding
/// control characters), or `None` when there is none to honour.
pub fn client_fingerprint(fp: Option<&str>) -> Option<String> {
    let fp = fp.map(str::trim).filter(|f| !f.is_empty())?;
    Some(if fp.len() <= 128 && fp.chars().all(|c| !c.is_control()) {
        fp.to_string()
    } else {
        hash(&["client", fp])
    })
}

/// [`fingerprint`], and whether its answer depended on the message: true when it fell back to
/// the masked message (no frames) or the project has a rule on messages. When false, the result
/// is a function of project, service, exception type and stack trace alone (and the client's
/// fingerprint, when one is given), which lets ingest reuse it for every occurrence of the
/// same trace.
pub fn fingerprint_and_usage(input: &GroupingInput<'_>) -> (Grouping, bool) {
    let mut segments = parse_stacktrace(input.stacktrace);
    if let Some(cfg) = input.config {
        cfg.apply_in_app(&mut segments);
    }
    let root = segments.last();
    let culprit = root
        .and_then(|s| s.frames.iter().find(|f| f.in_app).or(s.frames.first()))
        .map(|f| format!("{} in {}", f.module, f.function))
        .unwrap_or_default();

    if let Some(fingerprint) = client_fingerprint(input.client_fingerprint) {
        let grouping = Grouping {
            fingerprint,
            culprit,
            version: CLIENT_GROUPING_VERSION,
        };
        return (grouping, false);
    }

    let mut h = PartHasher::new();
    h.part("v1")
        .part(input.project)
        .part(input.service)
        .part(input.exception_type.trim());
    let frames: Vec<&Frame<'_>> = match root {
        Some(seg) => {
            if let Some(t) = seg.exception_type {
                h.part(t);
            }
            let in_app: Vec<&Frame<'_>> = seg.frames.iter().filter(|f| f.in_app).collect();
            if in_app.is_empty() {
                seg.frames.iter().collect()
            } else {
                in_app
            }
        }
        None => Vec::new(),
    };
    let frames = collapse_recursion(frames);
    let rule = input.config.and_then(|c| c.rule_for(input, &frames));
    let uses_message = frames.is_empty()
        || input
            .config
            .is_some_and(|c| c.rules.iter().any(|r| r.message.is_some()));
    if frames.is_empty() {
        h.part("message").part(&mask_message(input.message));
    } else {
        h.part("frames");
        for f in frames {
            h.pair(&f.module, &f.function);
        }
    }
    let default = h.finish();
    let fingerprint = match rule {
        None => default,
        Some(r) => {
            let fp = r
                .fingerprint
                .replace("{{ default }}", &default)
                .replace("{{default}}", &default);
            if fp.len() <= 128 {
                fp
            } else {
                hash(&["rule", &fp])
            }
        }
    };
    let grouping = Grouping {
        fingerprint,
        culprit,
        version: GROUPING_VERSION,
    };
    (grouping, uses_message)
}

/// Removes consecutive repeats of the same frame or frame cycle (recursion depth must not split).
fn collapse_recursion<'f, 'a>(frames: Vec<&'f Frame<'a>>) -> Vec<&'f Frame<'a>> {
    let mut out: Vec<&Frame<'a>> = Vec::with_capacity(frames.len());
    for f in frames {
        out.push(f);
        // Drop a just-completed repeat of the preceding cycle of length 1..=4.
        for len in 1..=4 {
            let n = out.len();
            if n >= 2 * len && (0..len).all(|i| out[n - len + i] == out[n - 2 * len + i]) {
                out.truncate(n - len);
                break;
            }
        }
    }
    out
}

macro_rules! re {
    ($s:expr) => {{
        static R: LazyLock<Regex> = LazyLock::new(|| Regex::new($s).expect("valid regex"));
        &*R
    }};
}

/// Masks the variable parts of a message: e-mails, URLs' query strings, UUIDs, hex, IPs, dates,
/// durations, numbers and quoted values.
pub fn mask_message(msg: &str) -> String {
    let m = msg.trim();
    let m = re!(r"[\w.+-]+@[\w-]+(\.[\w-]+)+").replace_all(m, "<email>");
    let m = re!(r#"(\b[a-z][a-z0-9+.-]*://[^\s?#"']*)(\?[^\s"']*)?"#).replace_all(&m, "$1");
    let m = re!(r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
        .replace_all(&m, "<uuid>");
    let m = re!(r"\b\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?")
        .replace_all(&m, "<date>");
    let m = re!(r"\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b").replace_all(&m, "<ip>");
    let m = re!(r"(?i)\b0x[0-9a-f]+\b").replace_all(&m, "<hex>");
    // Long hex runs (hashes, ids); all-digit runs are numbers, masked below.
    let m = re!(r"(?i)\b[0-9a-f]{8,}\b").replace_all(&m, |c: &regex::Captures| {
        if c[0].bytes().any(|b| b.is_ascii_alphabetic()) {
            "<hex>".to_string()
        } else {
            c[0].to_string()
        }
    });
    let m = re!(r#""[^"]*"|'[^']*'|`[^`]*`"#).replace_all(&m, "<str>");
    let m = re!(r"(?i)\b\d+(\.\d+)?(ns|us|µs|ms|s|m|h|d)\b").replace_all(&m, "<duration>");
    let m = re!(r"[-+]?\b\d+(\.\d+)?\b").replace_all(&m, "<num>");
    m.into_owned()
}

/// A fixed string the parsers look for in every line or frame. Its `memchr::memmem` searchers are
/// built once ([`needle!`]); std's `str::find` builds a two-way searcher on every call, which for
/// these short lines costs more than the scan.
struct Needle {
    text: &'static str,
    fwd: memchr::memmem::Finder<'static>,
}

impl Needle {
    fn new(text: &'static str) -> Self {
        Needle {
            text,
            fwd: memchr::memmem::Finder::new(text),
        }
    }
}

macro_rules! needle {
    ($s:literal) => {{
        static N: LazyLock<Needle> = LazyLock::new(|| Needle::new($s));
        &*N
    }};
}

/// Byte offset of the first `n` in `hay`.
fn find(hay: &str, n: &Needle) -> Option<usize> {
    n.fwd.find(hay.as_bytes())
}

/// Byte offset of the last `::` in `hay` (paths of Rust symbols: the last one is near the end).
fn rfind_path_sep(hay: &str) -> Option<usize> {
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
fn lines(text: &str) -> impl Iterator<Item = &str> {
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

fn has(hay: &str, n: &Needle) -> bool {
    find(hay, n).is_some()
}

/// `str::split_once` with a [`Needle`]. Needles are ASCII, so both cuts are on char boundaries.
fn split_once<'a>(hay: &'a str, n: &Needle) -> Option<(&'a str, &'a str)> {
    find(hay, n).map(|i| (&hay[..i], &hay[i + n.text.len()..]))
}

/// `s` without any number of leading `prefix` (`str::trim_start_matches` builds a substring
/// searcher on every call).
fn strip_all<'a>(mut s: &'a str, prefix: &str) -> &'a str {
    while let Some(rest) = s.strip_prefix(prefix) {
        s = rest;
    }
    s
}

/// Whether `s` starts with one of `prefixes`; the first byte is compared before the rest.
fn starts_with_any(s: &str, prefixes: &[&str]) -> bool {
    let Some(&first) = s.as_bytes().first() else {
        return false;
    };
    prefixes
        .iter()
        .any(|p| p.as_bytes().first() == Some(&first) && s.starts_with(p))
}

/// Length of the run of ASCII digits `s` starts with.
fn digits(s: &str) -> usize {
    s.bytes().take_while(u8::is_ascii_digit).count()
}

/// The text of capture group `i`, borrowed from the haystack (empty when the group did not match).
fn group<'a>(c: &regex::Captures<'a>, i: usize) -> &'a str {
    c.get(i).map_or("", |m| m.as_str())
}

/// Splits a stack trace into its chain of exceptions, outermost first (so the root cause is last),
/// each with its frames innermost first.
pub fn parse_stacktrace(text: &str) -> Vec<Segment<'_>> {
    let text = text.trim_end();
    if text.is_empty() {
        return Vec::new();
    }
    // One pass over the lines decides the format (this runs for every occurrence ingested, so no
    // whole-text regex unless a line already looks the part). Precedence: Python, Go, Rust, PHP,
    // Ruby, then `at ...` frames (JVM, .NET, JavaScript, OpenTelemetry-PHP) as the fallback.
    let (mut go, mut rust_num, mut rust_at, mut php, mut ruby) =
        (false, false, false, false, false);
    for line in lines(text) {
        if line.starts_with("Traceback (most recent call last):") {
            return parse_python(text);
        }
        if line.starts_with("goroutine ") || (line.starts_with('\t') && has(line, needle!(".go:")))
        {
            go = true;
            continue;
        }
        let t = line.trim_ascii_start();
        let indented = t.len() < line.len();
        if t.starts_with("at ") {
            // A JVM, .NET or JavaScript frame; under a Rust backtrace's symbol, its location.
            if indented && strip_line_col(t).len() < t.len() && !t.ends_with(')') {
                rust_at = true;
            }
            continue;
        }
        if indented {
            let d = digits(t);
            if d > 0 && t[d..].starts_with(": ") {
                rust_num = true;
                continue;
            }
        }
        if line.starts_with('#') && line.as_bytes().get(1).is_some_and(u8::is_ascii_digit) {
            php = true;
        }
        if !ruby
            && let Some(i) = find(line, needle!(":in "))
            && matches!(line.as_bytes().get(i + 4), Some(b'`' | b'\''))
        {
            ruby = true;
        }
    }
    if go {
        return parse_go(text);
    }
    if rust_num && rust_at {
        return parse_rust(text);
    }
    if php && re!(r"(?m)^#\d+ ").is_match(text) {
        return parse_php_trace(text);
    }
    if ruby && re!(r"(?m)^\s*(from )?[^\s:][^:]*:\d+:in [`']").is_match(text) {
        return parse_ruby(text);
    }
    parse_at_frames(text)
}

fn basename_module(path: &str) -> &str {
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

/// `File "path", line N, in func` → `(path, func)`.
fn python_frame(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix("File \"")?;
    let (path, rest) = split_once(rest, needle!("\", line "))?;
    let (num, func) = split_once(rest, needle!(", in "))?;
    (!num.is_empty() && num.bytes().all(|b| b.is_ascii_digit())).then(|| (path, func.trim_ascii()))
}

fn parse_python(text: &str) -> Vec<Segment<'_>> {
    // Chained: the cause is printed first, then "The above exception..." / "During handling...".
    let mut segments = Vec::new();
    let mut cur = Segment::default();
    for line in lines(text) {
        if line.starts_with("The above exception was the direct cause")
            || line.starts_with("During handling of the above exception")
        {
            segments.push(std::mem::take(&mut cur));
            continue;
        }
        let trimmed = line.trim_ascii_start();
        if let Some((path, func)) = python_frame(trimmed) {
            let in_app = !(has(path, needle!("site-packages"))
                || has(path, needle!("dist-packages"))
                || path.starts_with('<')
                || (has(path, needle!("/lib/python"))
                    && re!(r"/lib/python\d(\.\d+)?/").is_match(path)));
            cur.frames.push(Frame {
                module: Cow::Borrowed(basename_module(path)),
                function: Cow::Borrowed(func),
                in_app,
            });
        } else if trimmed.len() == line.len()
            && !line.starts_with("Traceback")
            && let Some(c) = re!(r"^([A-Za-z_][\w.]*)(: |$)").captures(line)
        {
            cur.exception_type = Some(group(&c, 1));
        }
    }
    segments.push(cur);
    for s in &mut segments {
        s.frames.reverse();
    }
    // Python prints the root cause first: put it last like every other language.
    segments.reverse();
    segments.retain(|s| !s.frames.is_empty() || s.exception_type.is_some());
    segments
}

fn go_in_app(func: &str, path: &str) -> bool {
    !(func.starts_with("runtime.")
        || func.starts_with("runtime/")
        || func == "panic"
        || func.starts_with("testing.")
        || has(path, needle!("/src/runtime/"))
        || has(path, needle!("/pkg/mod/"))
        || (has(path, needle!("/go")) && re!(r"/(usr/lib|usr/local)/go[^/]*/src/").is_match(path))
        || path.starts_with("/usr/local/go/"))
}

fn normalize_go_func(func: &str) -> (&str, Cow<'_, str>) {
    let func = strip_all(func, "created by ");
    let func = split_once(func, needle!(" in goroutine ")).map_or(func, |(f, _)| f);
    // Package path is everything up to the first '.' after the last '/'.
    let slash = func.rfind('/').map(|i| i + 1).unwrap_or(0);
    let (pkg, rest) = match func[slash..].find('.') {
        Some(dot) => (&func[..slash + dot], &func[slash + dot + 1..]),
        None => ("", func),
    };
    if !(has(rest, needle!(".func"))
        || has(rest, needle!(".gowrap"))
        || rest.ends_with("-fm")
        || rest.ends_with(|c: char| c.is_ascii_digit()))
    {
        return (pkg, Cow::Borrowed(rest));
    }
    let rest = re!(r"(\.func\d+|\.gowrap\d+|-fm|\.\d+)+$").replace(rest, "");
    let rest = re!(r"\.func\d+").replace_all(&rest, "").into_owned();
    (pkg, Cow::Owned(rest))
}

fn parse_go(text: &str) -> Vec<Segment<'_>> {
    let mut seg = Segment::default();
    let mut lines = lines(text).peekable();
    while let Some(line) = lines.next() {
        if let Some(&next) = lines.peek()
            && next.starts_with('\t')
            && has(next, needle!(".go:"))
            && !line.starts_with('\t')
            && !line.starts_with("goroutine ")
        {
            let call = line.trim_ascii();
            let func = match call.rfind('(') {
                Some(p) if call.ends_with(')') && !call.starts_with("created by ") => &call[..p],
                _ => call,
            };
            let path = next.trim_ascii().split(':').next().unwrap_or("");
            let in_app = go_in_app(strip_all(func, "created by "), path);
            let (module, function) = normalize_go_func(func);
            seg.frames.push(Frame {
                module: Cow::Borrowed(module),
                function,
                in_app,
            });
            lines.next();
        }
    }
    // A panic's own frames (debug.Stack, the recover helper, panic()) come first: keep only what
    // follows the last `panic(` frame when there is one.
    if let Some(p) = seg
        .frames
        .iter()
        .rposition(|f| f.module.is_empty() && f.function == "panic")
    {
        seg.frames.drain(..=p);
    }
    vec![seg]
}

fn rust_in_app(sym: &str, path: &str) -> bool {
    const LIBS: &[&str] = &[
        "std::",
        "core::",
        "alloc::",
        "<std::",
        "<core::",
        "<alloc::",
        "tokio::",
        "<tokio::",
        "futures",
        "backtrace::",
        "anyhow::",
        "<anyhow::",
        "eyre::",
        "__rust",
        "rust_begin_unwind",
        "rust_panic",
        "hyper::",
        "tower::",
        "axum::",
        "tracing::",
        "start_thread",
        "clone3",
        "__libc",
        "_start",
        "main\n",
    ];
    !(starts_with_any(sym, LIBS)
        || path.starts_with("/rustc/")
        || has(path, needle!("/.cargo/registry/"))
        || has(path, needle!("/rustlib/")))
}

fn parse_rust(text: &str) -> Vec<Segment<'_>> {
    let mut seg = Segment::default();
    let mut lines = lines(text).peekable();
    while let Some(line) = lines.next() {
        let t = line.trim_ascii_start();
        let d = digits(t);
        if t.len() == line.len() || d == 0 || !t[d..].starts_with(": ") {
            continue;
        }
        let sym = t[d + 2..].trim_ascii();
        // Drop the `::h0123456789abcdef` hash of legacy-mangled symbols.
        let sym = match sym.len().checked_sub(19).map(|i| sym.split_at_checked(i)) {
            Some(Some((head, tail)))
                if tail.starts_with("::h") && tail[3..].bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                head
            }
            _ => sym,
        };
        let path = lines
            .peek()
            .and_then(|l| l.trim_ascii().strip_prefix("at "))
            .unwrap_or("");
        let in_app = rust_in_app(sym, path);
        let (module, function) = match rfind_path_sep(sym) {
            Some(p) if !sym.ends_with('>') => (&sym[..p], &sym[p + 2..]),
            _ => ("", sym),
        };
        seg.frames.push(Frame {
            module: Cow::Borrowed(module),
            function: Cow::Borrowed(function),
            in_app,
        });
    }
    vec![seg]
}

/// `#N path(line): call` of `getTraceAsString()` → `(path, function)`; `#N [internal function]:
/// call` → `("", function)`. Hand-written equivalents of `^#\d+ (.+?)\(\d+\): (.+?)(\(.*\))?$` and
/// `^#\d+ \[internal function\]: (.+?)(\(.*\))?$` (no regex: this runs for every frame).
fn php_frame(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix('#')?;
    let d = digits(rest);
    let rest = rest.get(d..)?.strip_prefix(' ').filter(|_| d > 0)?;
    // The first `(digits): ` after at least one character of path.
    let mut from = rest.chars().next()?.len_utf8();
    while let Some(i) = rest[from..].find('(') {
        let open = from + i;
        let after = &rest[open + 1..];
        let n = digits(after);
        if n > 0
            && let Some(call) = after[n..].strip_prefix("): ")
        {
            return php_call(call).map(|f| (&rest[..open], f));
        }
        from = open + 1;
    }
    let call = rest.strip_prefix("[internal function]: ")?;
    php_call(call).map(|f| ("", f))
}

/// `(.+?)(\(.*\))?$`: the function name before its argument list, if the call has one.
fn php_call(call: &str) -> Option<&str> {
    let first = call.chars().next()?.len_utf8();
    if call.ends_with(')')
        && let Some(i) = call[first..].find('(')
    {
        return Some(&call[..first + i]);
    }
    Some(call)
}

fn parse_php_trace(text: &str) -> Vec<Segment<'_>> {
    let mut seg = Segment::default();
    for line in lines(text) {
        if let Some((path, function)) = php_frame(line) {
            seg.frames.push(Frame {
                module: Cow::Borrowed(basename_module(path)),
                function: Cow::Borrowed(function),
                in_app: !path.is_empty() && !has(path, needle!("/vendor/")),
            });
        }
    }
    vec![seg]
}

fn ruby_in_app(path: &str) -> bool {
    !(has(path, needle!("/gems/"))
        || has(path, needle!("/rubygems"))
        || path.starts_with("<internal:")
        || (has(path, needle!("/lib/ruby/")) && re!(r"/lib/ruby/\d").is_match(path))
        || has(path, needle!("/vendor/bundle/")))
}

/// One line of a Ruby backtrace (`full_message`): whether it starts with `from `, the path, the
/// raw function, and on an exception's first line its type. The hand-written equivalent of
/// ``^\s*(from )?([^\s:][^:]*):\d+:in [`']([^']+)'(: .*\(([\w:]+)\)\s*$)?`` (no regex: this runs
/// for every frame).
fn ruby_line(line: &str) -> Option<(bool, &str, &str, Option<&str>)> {
    let starts_path = |s: &str| {
        s.chars()
            .next()
            .is_some_and(|c| !c.is_whitespace() && c != ':')
    };
    let t = line.trim_start();
    let (from, body) = match t.strip_prefix("from ") {
        Some(r) if starts_path(r) => (true, r),
        _ => (false, t),
    };
    if !starts_path(body) {
        return None;
    }
    let (path, rest) = body.split_once(':')?;
    let n = digits(rest);
    let rest = rest[n..]
        .strip_prefix(":in ")
        .filter(|_| n > 0)?
        .strip_prefix(['`', '\''])?;
    let (func, tail) = rest.split_once('\'').filter(|(f, _)| !f.is_empty())?;
    let exception_type = tail.strip_prefix(": ").and_then(|m| {
        let inner = m.trim_end().strip_suffix(')')?;
        let ty = &inner[inner.rfind('(')? + 1..];
        (!ty.is_empty()
            && ty
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == ':'))
        .then_some(ty)
    });
    Some((from, path, func, exception_type))
}

fn parse_ruby(text: &str) -> Vec<Segment<'_>> {
    let mut segments: Vec<Segment<'_>> = Vec::new();
    for line in lines(text) {
        if !has(line, needle!(":in ")) {
            continue;
        }
        let Some((from, path, raw, exception_type)) = ruby_line(line) else {
            continue;
        };
        // A line without "from" starts an exception (the outer one, then each cause).
        if !from || segments.is_empty() {
            segments.push(Segment {
                exception_type,
                frames: Vec::new(),
            });
        }
        let func =
            if raw.starts_with("block") || raw.starts_with("rescue") || raw.starts_with("ensure") {
                re!(r"^(block( \(\d+ levels\))? in |rescue in |ensure in )+").replace(raw, "")
            } else {
                Cow::Borrowed(raw)
            };
        let func = match func {
            Cow::Borrowed(f) => Cow::Borrowed(f.rsplit(['#', '.']).next().unwrap_or(f)),
            Cow::Owned(f) => Cow::Owned(f.rsplit(['#', '.']).next().unwrap_or(&f).to_string()),
        };
        if let Some(seg) = segments.last_mut() {
            seg.frames.push(Frame {
                module: Cow::Borrowed(basename_module(path)),
                function: func,
                in_app: ruby_in_app(path),
            });
        }
    }
    segments
}

const JVM_LIBS: &[&str] = &[
    "java.",
    "javax.",
    "jdk.",
    "sun.",
    "com.sun.",
    "kotlin.",
    "kotlinx.",
    "scala.",
    "org.springframework.",
    "org.apache.",
    "io.netty.",
    "org.hibernate.",
    "com.fasterxml.",
    "org.eclipse.jetty.",
    "io.grpc.",
    "reactor.",
    "okhttp3.",
    "io.micrometer.",
    "io.opentelemetry.",
    "org.junit.",
    "System.",
    "Microsoft.",
    "org.postgresql.",
    "com.mysql.",
    "com.zaxxer.",
    "org.glassfish.",
    "io.undertow.",
    "org.slf4j.",
    "ch.qos.",
    "com.google.",
    "io.vertx.",
    "akka.",
    "Npgsql.",
    "Newtonsoft.",
];

fn normalize_symbol(sym: &str) -> (Cow<'_, str>, Cow<'_, str>) {
    let mut sym = Cow::Borrowed(sym);
    if has(&sym, needle!("$$")) {
        sym = re!(r"\$\$(EnhancerBySpringCGLIB|FastClassBySpringCGLIB|SpringCGLIB)\$\$[0-9a-f]+")
            .replace_all(&sym, "")
            .into_owned()
            .into();
    }
    if has(&sym, needle!("$Proxy")) {
        sym = re!(r"\$Proxy\d+")
            .replace_all(&sym, "$$Proxy")
            .into_owned()
            .into();
    }
    if has(&sym, needle!("GeneratedMethodAccessor")) {
        sym = re!(r"GeneratedMethodAccessor\d+")
            .replace_all(&sym, "GeneratedMethodAccessor")
            .into_owned()
            .into();
    }
    if has(&sym, needle!("lambda$")) {
        sym = re!(r"lambda\$([\w]+)\$\d+")
            .replace_all(&sym, "lambda$$$1")
            .into_owned()
            .into();
    }
    if sym
        .as_bytes()
        .windows(2)
        .any(|w| w[0] == b'$' && w[1].is_ascii_digit())
    {
        sym = re!(r"\$\d+")
            .replace_all(&sym, "$$anon")
            .into_owned()
            .into();
    }
    if sym.contains('[') {
        sym = re!(r"\[[^\]]*\]").replace_all(&sym, "").into_owned().into();
    }
    match sym {
        Cow::Borrowed(s) => match s.rfind('.') {
            Some(p) => (Cow::Borrowed(&s[..p]), Cow::Borrowed(&s[p + 1..])),
            None => (Cow::Borrowed(""), Cow::Borrowed(s)),
        },
        Cow::Owned(s) => match s.rfind('.') {
            Some(p) => (
                Cow::Owned(s[..p].to_string()),
                Cow::Owned(s[p + 1..].to_string()),
            ),
            None => (Cow::Borrowed(""), Cow::Owned(s)),
        },
    }
}

fn js_frame<'a>(func: &'a str, loc: &'a str) -> Frame<'a> {
    let func = func.trim();
    let func = strip_all(strip_all(func, "async "), "new ");
    let func = func.strip_prefix("Object.").unwrap_or(func);
    let in_app = !(has(loc, needle!("node_modules"))
        || loc.starts_with("node:")
        || loc.starts_with("internal/")
        || !loc.contains(['/', '\\'])
        || has(loc, needle!("<anonymous>")));
    Frame {
        module: Cow::Borrowed(basename_module(strip_line_col(loc))),
        function: Cow::Borrowed(if func.is_empty() { "?" } else { func }),
        in_app,
    }
}

/// `path:12:34` → `path` (trailing `:digits` groups removed).
fn strip_line_col(loc: &str) -> &str {
    let mut s = loc.as_bytes();
    loop {
        let n = s.iter().rev().take_while(|b| b.is_ascii_digit()).count();
        match s.len().checked_sub(n + 1) {
            Some(colon) if n > 0 && s[colon] == b':' => s = &s[..colon],
            _ => break,
        }
    }
    // Only ASCII was cut from the end: still on a char boundary.
    &loc[..s.len()]
}

fn parse_at_frames(text: &str) -> Vec<Segment<'_>> {
    let mut segments = vec![Segment::default()];
    let mut in_suppressed = false;
    for (n, line) in lines(text).enumerate() {
        let trimmed = line.trim_ascii_start();
        if let Some(c) = trimmed
            .starts_with("Caused by: ")
            .then(|| re!(r"^\s*Caused by: ([\w.$]+)").captures(line))
            .flatten()
        {
            in_suppressed = false;
            segments.push(Segment {
                exception_type: Some(group(&c, 1)),
                frames: Vec::new(),
            });
            continue;
        }
        if trimmed.starts_with("Suppressed: ") {
            in_suppressed = true;
            continue;
        }
        if in_suppressed {
            continue;
        }
        let frame = if let Some(rest) = trimmed.strip_prefix("at ") {
            let rest = rest.trim_end();
            let rest = rest.strip_prefix("async ").unwrap_or(rest);
            if let Some(open) = find(rest, needle!(" (")).filter(|_| rest.ends_with(')')) {
                // V8: `at func (location)`.
                js_frame(&rest[..open], &rest[open + 2..rest.len() - 1])
            } else if memchr::memchr2(b'(', b' ', rest.as_bytes()).is_none()
                && strip_line_col(rest).len() < rest.len()
            {
                // V8, anonymous: `at path:line:col`.
                js_frame("", rest)
            } else if let Some(open) = memchr::memchr(b'(', rest.as_bytes()) {
                // JVM, .NET, OpenTelemetry-PHP: `at pkg.Class.method(File.java:12)`.
                let sym = &rest[..open];
                let args = &rest[open + 1..];
                let args = memchr::memchr(b')', args.as_bytes()).map_or(args, |i| &args[..i]);
                if sym.is_empty() || sym.contains(char::is_whitespace) {
                    continue;
                }
                let (module, function) = normalize_symbol(sym);
                let in_app = !(starts_with_any(sym, JVM_LIBS)
                    || has(args, needle!("Native Method"))
                    || sym.starts_with("DateTime")
                    || module.is_empty() && function.starts_with('{'));
                Frame {
                    module,
                    function,
                    in_app,
                }
            } else {
                continue;
            }
        } else if memchr::memchr(b'@', line.as_bytes()).is_some()
            && let Some(c) = re!(r"^([^@\s]*)@(.+?:\d+:\d+)$").captures(line)
        {
            js_frame(group(&c, 1), group(&c, 2))
        } else {
            if n == 0
                && let Some(c) = re!(r"^([\w.$\\]+)(: |$)").captures(line)
            {
                segments[0].exception_type = Some(group(&c, 1));
            }
            continue;
        };
        if let Some(seg) = segments.last_mut() {
            seg.frames.push(frame);
        }
    }
    segments.retain(|s| !s.frames.is_empty() || s.exception_type.is_some());
    segments
}

/// B-cubed precision, recall and F1 of a predicted grouping against the true one (per item,
/// averaged), the measure of the grouping corpus. `truth[i]` and `pred[i]` label item `i`.
pub fn bcubed(truth: &[&str], pred: &[&str]) -> (f64, f64, f64) {
    use std::collections::HashMap;
    let n = truth.len().min(pred.len());
    if n == 0 {
        return (0.0, 0.0, 0.0);
    }
    let mut by_pred: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut true_size: HashMap<&str, usize> = HashMap::new();
    for i in 0..n {
        by_pred.entry(pred[i]).or_default().push(i);
        *true_size.entry(truth[i]).or_default() += 1;
    }
    let (mut p, mut r) = (0.0, 0.0);
    for i in 0..n {
        let same_pred = &by_pred[pred[i]];
        let both = same_pred.iter().filter(|&&j| truth[j] == truth[i]).count() as f64;
        p += both / same_pred.len() as f64;
        r += both / true_size[truth[i]] as f64;
    }
    let (p, r) = (p / n as f64, r / n as f64);
    (
        p,
        r,
        if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(ty: &str, msg: &str, st: &str) -> String {
        fingerprint(&GroupingInput {
            project: "p",
            service: "s",
            exception_type: ty,
            message: msg,
            stacktrace: st,
            client_fingerprint: None,
            config: None,
        })
        .fingerprint
    }

    #[test]
    fn bcubed_scores() {
        assert_eq!(bcubed(&["a", "a", "b"], &["x", "x", "y"]).2, 1.0);
        let (p, r, _) = bcubed(&["a", "a", "b"], &["x", "x", "x"]);
        assert!((p - 5.0 / 9.0).abs() < 1e-9 && r == 1.0);
        let (p, r, _) = bcubed(&["a", "a"], &["x", "y"]);
        assert!(p == 1.0 && (r - 0.5).abs() < 1e-9);
    }

    #[test]
    fn masks_variable_parts() {
        assert_eq!(
            mask_message(
                "user 42 <a@b.io> at 10.0.0.1:5432 id=550e8400-e29b-41d4-a716-446655440000 took 35ms"
            ),
            "user <num> <<email>> at <ip> id=<uuid> took <duration>"
        );
        assert_eq!(
            mask_message("GET https://x.io/a?b=1 failed: 'abc'"),
            "GET https://x.io/a failed: <str>"
        );
    }

    #[test]
    fn python_line_numbers_and_paths_do_not_split() {
        let a = "Traceback (most recent call last):\n  File \"/srv/app/releases/1/cms/views.py\", line 10, in get\n    x()\n  File \"/srv/app/releases/1/cms/models.py\", line 20, in slug\nAttributeError: 'NoneType' object has no attribute 'slug'";
        let b = a
            .replace("releases/1", "releases/2")
            .replace("line 20", "line 27");
        assert_eq!(fp("AttributeError", "m", a), fp("AttributeError", "m", &b));
        let c = a.replace("models.py", "forms.py");
        assert_ne!(fp("AttributeError", "m", a), fp("AttributeError", "m", &c));
    }

    #[test]
    fn no_stack_falls_back_to_masked_message() {
        assert_eq!(
            fp("E", "user 1 not found", ""),
            fp("E", "user 22 not found", "")
        );
        assert_ne!(
            fp("E", "user 1 not found", ""),
            fp("E", "team 1 not found", "")
        );
        assert_ne!(
            fp("E", "user 1 not found", ""),
            fp("F", "user 1 not found", "")
        );
    }

    #[test]
    fn globs() {
        assert!(glob_match("Timeout*", "TimeoutError"));
        assert!(glob_match("*Error", "TimeoutError"));
        assert!(glob_match("a*c*e", "abcde"));
        assert!(!glob_match("a*c*e", "abde"));
        assert!(glob_match("exact", "exact") && !glob_match("exact", "exactly"));
        assert!(!glob_match("ab*ba", "aba"));
    }

    #[test]
    fn rules_and_in_app_overrides() {
        let st = "Error: x\n    at handler (/app/src/api.js:1:1)\n    at call (/app/node_modules/lib/index.js:1:1)";
        let input = |config| GroupingInput {
            project: "p",
            service: "api",
            exception_type: "TimeoutError",
            message: "upstream took 5s",
            stacktrace: st,
            client_fingerprint: None,
            config,
        };
        let plain = fingerprint(&input(None)).fingerprint;
        let cfg = GroupingConfig {
            rules: vec![FingerprintRule {
                exception_type: Some("Timeout*".into()),
                service: Some("api".into()),
                fingerprint: "timeouts-{{ default }}".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(
            fingerprint(&input(Some(&cfg))).fingerprint,
            format!("timeouts-{plain}")
        );
        let other = GroupingConfig {
            rules: vec![FingerprintRule {
                function: Some("handler".into()),
                fingerprint: "all-handler-errors".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(
            fingerprint(&input(Some(&other))).fingerprint,
            "all-handler-errors"
        );
        let no_match = GroupingConfig {
            rules: vec![FingerprintRule {
                service: Some("worker".into()),
                fingerprint: "x".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(fingerprint(&input(Some(&no_match))).fingerprint, plain);
        // Marking the library in-app changes which frames group (and the culprit stays the app's).
        let vendor_in_app = GroupingConfig {
            in_app_include: vec!["index".into()],
            ..Default::default()
        };
        assert_ne!(fingerprint(&input(Some(&vendor_in_app))).fingerprint, plain);
        let app_excluded = GroupingConfig {
            in_app_exclude: vec!["api".into()],
            ..Default::default()
        };
        assert_ne!(fingerprint(&input(Some(&app_excluded))).fingerprint, plain);
        assert!(
            GroupingConfig {
                rules: vec![FingerprintRule {
                    fingerprint: "x".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }
            .validate()
            .is_err()
        );
        // A client fingerprint still wins over rules.
        let g = fingerprint(&GroupingInput {
            client_fingerprint: Some("mine"),
            ..input(Some(&cfg))
        });
        assert_eq!(g.fingerprint, "mine");
    }

    #[test]
    fn client_fingerprint_wins() {
        let g = fingerprint(&GroupingInput {
            client_fingerprint: Some("abc123"),
            ..Default::default()
        });
        assert_eq!(
            (g.fingerprint.as_str(), g.version),
            ("abc123", CLIENT_GROUPING_VERSION)
        );
    }

    #[test]
    fn recursion_depth_does_not_split() {
        let f = |n: usize| {
            let mut s = String::from("Error: deep\n");
            for _ in 0..n {
                s.push_str("    at walk (/app/tree.js:3:10)\n");
            }
            s.push_str("    at main (/app/main.js:1:1)\n");
            s
        };
        assert_eq!(fp("Error", "deep", &f(3)), fp("Error", "deep", &f(9)));
    }

    // The hand-written line parsers against the regexes they replace, on lines built from the
    // pieces those formats are made of (and arbitrary noise in between).
    mod agree_with_regex {
        use super::super::*;
        use proptest::prelude::*;

        fn pick(options: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
            proptest::sample::select(options)
        }

        /// Ruby backtrace lines, well-formed or broken in one of the places that matter.
        fn ruby_line_text() -> impl Strategy<Value = String> {
            (
                pick(&["", "  ", "\t", " \u{a0}"]),
                pick(&["", "from ", "from  ", "from:"]),
                pick(&[
                    "app/models/user.rb",
                    "/gems/x-1.0/lib/y.rb",
                    ":bad",
                    " x",
                    "a:b",
                    "<internal:kernel>",
                    "é.rb",
                ]),
                pick(&["12", "", "x", "3"]),
                pick(&[":in ", ":in", ": in "]),
                pick(&["`", "'", "\""]),
                pick(&[
                    "save",
                    "block (2 levels) in call",
                    "",
                    "a'b",
                    "Foo#bar",
                    "a`b",
                ]),
                pick(&["'", ""]),
                pick(&[
                    "",
                    ": boom (RuntimeError)",
                    ": boom (Err::Type) ",
                    ": x (a b)",
                    ": no parens",
                    " (X)",
                    ": (())",
                    ": ()",
                    ": x (é)",
                ]),
            )
                .prop_map(|(a, b, c, d, e, f, g, h, i)| [a, b, c, ":", d, e, f, g, h, i].concat())
        }

        /// PHP `getTraceAsString()` lines, well-formed or broken in one of the places that matter.
        fn php_line_text() -> impl Strategy<Value = String> {
            (
                pick(&["#0", "#12", "#", "0"]),
                pick(&[" ", "  ", ""]),
                pick(&[
                    "/var/www/src/a.php",
                    "a(b).php",
                    "",
                    "x(1)",
                    "[internal function]",
                    "é",
                ]),
                pick(&["(12)", "()", "(a)", "(3"]),
                pick(&[": ", ")", ":", ": : "]),
                pick(&[
                    "App\\C->run()",
                    "f",
                    "",
                    "g(1, 'x')",
                    "h(",
                    "(x)",
                    "é(x)",
                    "a(b)(c)",
                ]),
            )
                .prop_map(|(a, b, c, d, e, f)| [a, b, c, d, e, f].concat())
        }

        fn line() -> impl Strategy<Value = String> {
            let noise = proptest::collection::vec(
                prop_oneof![
                    pick(&[
                        "#",
                        "from ",
                        ":in ",
                        "(12): ",
                        "[internal function]: ",
                        "'",
                        "`",
                        ": ",
                        "(E)",
                        " "
                    ])
                    .prop_map(str::to_string),
                    "[0-9]{1,3}",
                    "[a-z/._:()#' ]{1,6}",
                    "[\\PC]{1,2}",
                ],
                0..10,
            )
            .prop_map(|v| v.concat());
            prop_oneof![
                ruby_line_text(),
                php_line_text(),
                "#[0-9] \\[internal function\\]: [a-z()]{0,6}",
                noise
            ]
        }

        proptest! {
            #[test]
            fn ruby(l in line()) {
                let re = Regex::new(r"^\s*(from )?([^\s:][^:]*):\d+:in [`']([^']+)'(: .*\(([\w:]+)\)\s*$)?")
                    .expect("regex");
                let want = re.captures(&l).map(|c| {
                    (c.get(1).is_some(), group(&c, 2), group(&c, 3), c.get(5).map(|m| m.as_str()))
                });
                prop_assert_eq!(ruby_line(&l), want);
            }

            #[test]
            fn php(l in line()) {
                let main = Regex::new(r"^#\d+ (.+?)\(\d+\): (.+?)(\(.*\))?$").expect("regex");
                let internal = Regex::new(r"^#\d+ \[internal function\]: (.+?)(\(.*\))?$").expect("regex");
                let want = match main.captures(&l) {
                    Some(c) => Some((group(&c, 1), group(&c, 2))),
                    None => internal.captures(&l).map(|c| ("", group(&c, 1))),
                };
                prop_assert_eq!(php_frame(&l), want);
            }
        }
    }
}
