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
pub mod select;
pub mod structured;
pub mod transition;
mod v1;

#[cfg(test)]
mod tests;

use std::borrow::Cow;

use sha2::{Digest, Sha256};

pub use message::mask_message;
pub use parse::parse_stacktrace;
pub use rules::{FingerprintRule, GroupingConfig, glob_match};
pub use select::{Explanation, FrameNote};
pub use structured::{Platform, SourceFrame};
pub use transition::Transition;
pub use v1::fingerprint_v1;

/// Version of the grouping algorithm, stored with every occurrence.
pub const GROUPING_VERSION: u8 = 2;

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
    /// Whether the function is an anonymous closure whose normalized name no longer says so
    /// (Go's `.funcN`); grouping v2 treats such frames around named code as composition.
    pub anonymous: bool,
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

/// A client's fingerprint as stored: trimmed, hashed when longer than 128 bytes or holding
/// control characters; `None` when empty.
pub fn client_fingerprint(fp: Option<&str>) -> Option<String> {
    let fp = fp.map(str::trim).filter(|f| !f.is_empty())?;
    Some(if fp.len() <= 128 && fp.chars().all(|c| !c.is_control()) {
        fp.to_string()
    } else {
        hash(&["client", fp])
    })
}

/// The fingerprint, and whether it depends on the message: true when the fingerprint hashes
/// the masked message (no frames) or the project has a rule on messages. When false, the result
/// is a function of project, service, exception type and stack trace alone (and the client's
/// fingerprint, when one is given), which lets ingest reuse it for every occurrence of the
/// same trace.
pub fn fingerprint_and_usage(input: &GroupingInput<'_>) -> (Grouping, bool) {
    let (g, uses, _) = group(input, false);
    (g, uses)
}

/// The fingerprint and what grouping looked at to compute it ([`select`]'s rules, frame by
/// frame): `faultline fingerprint --explain` and the API's issue detail show it.
pub fn explain(input: &GroupingInput<'_>) -> (Grouping, Explanation) {
    let (g, _, e) = group(input, true);
    let e = e.unwrap_or(Explanation {
        version: g.version,
        basis: "client",
        exception_type: String::new(),
        exception: None,
        frames: Vec::new(),
        message: None,
    });
    (g, e)
}

fn group(input: &GroupingInput<'_>, explain: bool) -> (Grouping, bool, Option<Explanation>) {
    let mut segments = input.stack.segments();
    if let Some(cfg) = input.config {
        in_app::apply_overrides(cfg, &mut segments);
    }
    let chosen = select::choose(&segments);
    let seg = chosen.map(|(i, _)| &segments[i]);
    let culprit = seg
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
        return (grouping, false, None);
    }

    // The root cause's type when the trace prints a chain; otherwise the event's own.
    let root_type = segments.last().and_then(|s| s.exception_type.as_deref());
    let exception_type: &str = match root_type {
        Some(t) if segments.len() > 1 || input.exception_type.trim().is_empty() => t.trim(),
        _ => input.exception_type.trim(),
    };
    let caught_at = chosen
        .and_then(|(i, _)| i.checked_sub(1))
        .and_then(|w| segments[w].frames.first());
    let notes = seg
        .map(|s| select::notes(&s.frames, caught_at))
        .unwrap_or_default();
    let frames: Vec<&Frame<'_>> = match seg {
        Some(s) => select::counted(&s.frames, &notes),
        None => Vec::new(),
    };
    let rule = input.config.and_then(|c| c.rule_for(input, &frames));
    let uses_message = frames.is_empty()
        || input
            .config
            .is_some_and(|c| c.rules.iter().any(|r| r.message.is_some()));
    let mut h = PartHasher::new();
    h.part("v2")
        .part(input.project)
        .part(input.service)
        .part(exception_type);
    let masked = frames.is_empty().then(|| mask_message(input.message));
    match &masked {
        Some(m) => {
            h.part("message").part(m);
        }
        None => {
            h.part("frames");
            for f in &frames {
                h.pair(&f.module, &f.function);
            }
        }
    }
    let default = h.finish();
    let explanation = explain.then(|| Explanation {
        version: GROUPING_VERSION,
        basis: match (&rule, &masked) {
            (Some(_), _) => "rule",
            (None, Some(_)) => "message",
            (None, None) => "frames",
        },
        exception_type: exception_type.to_string(),
        exception: chosen.map(|(i, r)| (i, segments.len(), r.as_str())),
        frames: seg
            .map(|s| {
                s.frames
                    .iter()
                    .zip(&notes)
                    .map(|(f, n)| select::ExplainedFrame::new(f, *n))
                    .collect()
            })
            .unwrap_or_default(),
        message: masked.clone(),
    });
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
        return (grouping, uses_message, explanation);
    }
    let grouping = Grouping {
        fingerprint,
        culprit,
        version: GROUPING_VERSION,
    };
    (grouping, uses_message, explanation)
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
