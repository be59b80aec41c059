//! Grouping: one fingerprint per bug.
//!
//! Fingerprint v1 hashes the project, the service, the exception type and the in-app frames of the
//! root cause (module or file basename plus normalized function; never line numbers, path prefixes,
//! offsets or generated-name suffixes). Without a usable stack trace it falls back to the type plus
//! the message with its variable parts masked. A fingerprint sent by the client wins (see
//! [`fingerprint`]). `faultline fingerprint` and ingest call the same function.
//!
//! A stack trace reaches grouping either as text ([`Stack::Text`], what OpenTelemetry SDKs put in
//! `exception.stacktrace`) or as frames sent as data ([`Stack::Frames`]: Sentry events, some
//! OTel SDKs), made from [`SourceFrame`]s by [`structured::segment`]. Both end as the same
//! [`Segment`]s of [`Frame`]s, so one bug groups alike whichever way it arrives.
//!
//! Modules, one job each:
//! - [`parse`]: which text format a trace is in, and its parser — one module per format:
//!   [`python`], [`go`], [`rust`], [`php`] (`getTraceAsString()`), [`ruby`], and [`at_frames`]
//!   for `at …` lines (JVM, .NET, JavaScript, OpenTelemetry-PHP) with symbol normalization in
//!   [`jvm`], [`dotnet`] and [`javascript`]. Frames come out innermost first whatever the
//!   language printed.
//! - [`structured`]: frames sent as data → the same [`Frame`]s.
//! - [`in_app`]: which frames are the application's (per runtime, then the project's overrides).
//! - [`rules`]: the project's grouping configuration and fingerprint rules (globs).
//! - [`message`]: message masking, for occurrences without frames.
//! - `text`: the line and substring helpers the parsers share (built for speed: they run for
//!   every occurrence).
//!
//! Scoring a grouping against a truth (B-cubed) is an evaluation tool, not part of the product:
//! `faultline fingerprint --score`.

#[macro_use]
mod text;

mod at_frames;
mod dotnet;
mod go;
mod in_app;
mod javascript;
mod jvm;
mod message;
mod parse;
mod php;
mod python;
mod ruby;
mod rules;
mod rust;
pub mod structured;

#[cfg(test)]
mod tests;

use std::borrow::Cow;

use sha2::{Digest, Sha256};

pub use message::mask_message;
pub use parse::parse_stacktrace;
pub use rules::{FingerprintRule, GroupingConfig, glob_match};
pub use structured::{Platform, SourceFrame};

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
    pub exception_type: Option<Cow<'a, str>>,
    /// Frames, innermost first.
    pub frames: Vec<Frame<'a>>,
}

/// A stack trace as the client sent it.
#[derive(Debug, Clone, Copy)]
pub enum Stack<'a> {
    /// Text, as a runtime prints it (`exception.stacktrace`); parsed by [`parse_stacktrace`].
    Text(&'a str),
    /// Frames sent as data, already normalized by [`structured::segment`]: a chain of
    /// exceptions, outermost first (the root cause last), frames innermost first.
    Frames(&'a [Segment<'a>]),
}

impl Default for Stack<'_> {
    fn default() -> Self {
        Stack::Text("")
    }
}

impl<'a> Stack<'a> {
    /// The chain of exceptions with their frames.
    pub fn segments(&self) -> Vec<Segment<'a>> {
        match *self {
            Stack::Text(text) => parse_stacktrace(text),
            Stack::Frames(segments) => segments.to_vec(),
        }
    }
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
    /// The stack trace: `exception.stacktrace`'s text, or frames sent as data.
    pub stack: Stack<'a>,
    /// Fingerprint sent by the client, if any.
    pub client_fingerprint: Option<&'a str>,
    /// The project's grouping configuration (in-app overrides, fingerprint rules), if any.
    pub config: Option<&'a GroupingConfig>,
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
    let mut segments = input.stack.segments();
    if let Some(cfg) = input.config {
        in_app::apply_overrides(cfg, &mut segments);
    }
    let root = segments.last();
    let culprit = root
        .and_then(|s| s.frames.iter().find(|f| f.in_app).or(s.frames.first()))
        .map(|f| format!("{} in {}", f.module, f.function))
        .unwrap_or_default();

    let (client, with_default) = match input.client_fingerprint {
        Some(fp) if names_default(fp) => (None, Some(fp)),
        other => (other, None),
    };
    if let Some(fingerprint) = client_fingerprint(client) {
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
            if let Some(t) = &seg.exception_type {
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
    if let Some(client) = with_default.and_then(|fp| with_default_put_in(fp, &fingerprint)) {
        let grouping = Grouping {
            fingerprint: client,
            culprit,
            version: CLIENT_GROUPING_VERSION,
        };
        return (grouping, uses_message);
    }
    let grouping = Grouping {
        fingerprint,
        culprit,
        version: GROUPING_VERSION,
    };
    (grouping, uses_message)
}

/// Whether a client's fingerprint holds `{{ default }}` (Sentry's placeholder for the server's
/// own fingerprint), which must be put in before it is stored.
pub fn names_default(fp: &str) -> bool {
    fp.contains("{{ default }}") || fp.contains("{{default}}")
}

/// A client's fingerprint with `{{ default }}` replaced by `default`, as stored
/// ([`client_fingerprint`]).
pub fn with_default_put_in(fp: &str, default: &str) -> Option<String> {
    client_fingerprint(Some(
        &fp.replace("{{ default }}", default)
            .replace("{{default}}", default),
    ))
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
