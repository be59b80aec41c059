//! Grouping v2: which exception of a chain and which of its frames say what the bug is, with the
//! reason for every choice (what `faultline fingerprint --explain` and the API show).
//!
//! **The exception.** The root cause — the innermost exception of a chain (Java's last `Caused
//! by:`, Python's first printed traceback, .NET's innermost inner exception) — with its own type
//! and raise site is the bug. Wrappers, generic (`RuntimeException`, `InvocationTargetException`,
//! `RuntimeError`, a task runner's `TaskFailed`) or the application's own (`ServiceException`),
//! neither split an issue nor merge two: the same failure thrown through two different wrappers
//! is one issue, and one wrapper around two different failures is two. Why: the root cause is
//! where the code went wrong, and a wrapper's type and site say only which layer noticed; the
//! public corpus's labels follow the same rule, and Sentry's users expect it. A root cause whose
//! own frames are all elided (`... 6 more`) is read with the frames of the nearest exception
//! around it that has some. When a runtime does not print causes (Go's `%w`, PHP's
//! `getTraceAsString()`), the one exception printed is all there is to group by.
//!
//! **The frames.** Of that exception's frames, innermost first: the first contiguous run of the
//! application's frames, from the innermost application frame out to the first frame of a
//! library, the runtime or a framework. What lies beyond that boundary is how the call arrived —
//! middleware chains, routers, `ServeHTTP` adapters, `main.main.funcN` closures, task runners —
//! which changes with deployment, not with the bug. Repeats of a frame or of a cycle of up to four
//! frames are dropped (recursion depth does not split). A trace with no application frame at all
//! counts all of its frames, repeats dropped. Inside the run, anonymous functions around the
//! first named frame (a closure `main.main.func3` or an arrow function a router calls) are
//! composition too; closures at the crash itself count.

use std::borrow::Cow;

use super::{Frame, Segment};

/// Why a frame did or did not count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameNote {
    /// Counted: part of the application's frames nearest the crash.
    Counted,
    /// Not the application's code (runtime, standard library, dependency, framework).
    Library,
    /// The application's, but beyond the first library frame: how the call arrived.
    Composition,
    /// A repeat of the frame or cycle just before it (recursion).
    Repeat,
    /// Counted although a library's: the trace has no application frame.
    CountedNoApp,
    /// Inside the panic machinery (hooks, reporting): how the crash was reported.
    Reporting,
    /// Where a cause was caught and wrapped: the wrapper's site, not the cause's.
    Caught,
}

impl FrameNote {
    /// Whether the frame is part of the fingerprint.
    pub fn counted(self) -> bool {
        matches!(self, FrameNote::Counted | FrameNote::CountedNoApp)
    }

    /// The note as a word.
    pub fn as_str(self) -> &'static str {
        match self {
            FrameNote::Counted => "counted",
            FrameNote::Library => "library",
            FrameNote::Composition => "composition",
            FrameNote::Repeat => "repeat",
            FrameNote::CountedNoApp => "counted (no application frame)",
            FrameNote::Reporting => "reporting",
            FrameNote::Caught => "where it was caught",
        }
    }
}

/// Which exception of the chain was chosen, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainRule {
    /// The trace holds one exception.
    Single,
    /// The root cause: the innermost exception of the chain.
    RootCause,
    /// The root cause's own frames are elided: the nearest exception around it with frames.
    NearestWithFrames,
}

impl ChainRule {
    /// The rule in words.
    pub fn as_str(self) -> &'static str {
        match self {
            ChainRule::Single => "the only exception",
            ChainRule::RootCause => "the root cause (innermost of the chain)",
            ChainRule::NearestWithFrames => {
                "the root cause has no frames of its own: the nearest exception around it"
            }
        }
    }
}

/// The index of the exception whose frames name the bug (`segments` outermost first), and why.
pub fn choose(segments: &[Segment<'_>]) -> Option<(usize, ChainRule)> {
    let last = segments.len().checked_sub(1)?;
    if last == 0 {
        return Some((0, ChainRule::Single));
    }
    if !segments[last].frames.is_empty() {
        return Some((last, ChainRule::RootCause));
    }
    match segments.iter().rposition(|s| !s.frames.is_empty()) {
        Some(i) => Some((i, ChainRule::NearestWithFrames)),
        None => Some((last, ChainRule::RootCause)),
    }
}

/// Frames of a panic's own machinery: the runtime's panic entry points. What lies inside them
/// (innermost: panic hooks, backtrace capture, reporting helpers) is how the panic was reported,
/// not where it happened.
fn panic_entry(f: &Frame<'_>) -> bool {
    let (m, func) = (f.module.as_ref(), f.function.as_ref());
    // Rust
    func == "rust_begin_unwind"
        || func == "begin_panic"
        || func == "begin_panic_handler"
        || (m == "core::panicking" && (func == "panic_fmt" || func == "panic"))
        || (m == "std::panicking" && func == "begin_panic")
}

/// The note of every frame of `frames` (innermost first). `caught_at` is, for a cause, the
/// innermost frame of the exception that wrapped it: the cause's own outermost frame is then
/// where it was caught, which belongs to the wrapper.
pub fn notes(frames: &[Frame<'_>], caught_at: Option<&Frame<'_>>) -> Vec<FrameNote> {
    let mut notes = vec![FrameNote::Library; frames.len()];
    let mut frames = frames;
    if let (Some(c), [.., last]) = (caught_at, frames)
        && frames.len() >= 2
        && same(c, last)
    {
        frames = &frames[..frames.len() - 1];
    }
    let caught = frames.len() < notes.len();
    // The panic machinery and what it called (hooks) come first: skip them.
    let skip = frames.iter().rposition(panic_entry).map_or(0, |p| p + 1);
    for n in &mut notes[..skip] {
        *n = FrameNote::Reporting;
    }
    let start = frames[skip..]
        .iter()
        .position(|f| f.in_app)
        .map(|i| i + skip);
    let run = match start {
        Some(a) => {
            let b = frames[a..]
                .iter()
                .position(|f| !f.in_app)
                .map_or(frames.len(), |n| a + n);
            for (i, note) in notes.iter_mut().enumerate().take(frames.len()).skip(skip) {
                if frames[i].in_app {
                    *note = if (a..b).contains(&i) {
                        FrameNote::Counted
                    } else {
                        FrameNote::Composition
                    };
                }
            }
            a..b
        }
        None => {
            for n in notes.iter_mut().take(frames.len()).skip(skip) {
                *n = FrameNote::CountedNoApp;
            }
            skip..frames.len()
        }
    };
    // Anonymous functions around named code (closures a router or `main` wraps handlers in):
    // composition, like the frames beyond the run.
    let first_named = run.clone().find(|&i| !anonymous(&frames[i]));
    if let Some(k) = first_named {
        for i in k + 1..run.end {
            if frames[i].in_app && anonymous(&frames[i]) {
                notes[i] = FrameNote::Composition;
            }
        }
    }
    // Recursion: a frame that completes a repeat of the cycle (1..=4 frames) just before it.
    let mut kept: Vec<usize> = Vec::with_capacity(run.len());
    let candidates: Vec<usize> = run.filter(|&i| notes[i].counted()).collect();
    for i in candidates {
        kept.push(i);
        for len in 1..=4 {
            let n = kept.len();
            if n >= 2 * len
                && (0..len)
                    .all(|k| same(&frames[kept[n - len + k]], &frames[kept[n - 2 * len + k]]))
            {
                for &j in &kept[n - len..] {
                    notes[j] = FrameNote::Repeat;
                }
                kept.truncate(n - len);
                break;
            }
        }
    }
    if caught && let Some(last) = notes.last_mut() {
        *last = FrameNote::Caught;
    }
    notes
}

/// Whether a frame is an anonymous function: a closure, lambda, block or arrow function.
pub fn anonymous(f: &Frame<'_>) -> bool {
    let func = f.function.as_ref();
    f.anonymous
        || func == "?"
        || func.contains("<anonymous>")
        || func.contains("{closure}")
        || func.contains("<lambda>")
        || func.starts_with("lambda$")
        || func.starts_with("block ")
}

fn same(a: &Frame<'_>, b: &Frame<'_>) -> bool {
    a.module == b.module && a.function == b.function
}

/// The frames that count, in order.
pub fn counted<'f, 'a>(frames: &'f [Frame<'a>], notes: &[FrameNote]) -> Vec<&'f Frame<'a>> {
    frames
        .iter()
        .zip(notes)
        .filter(|(_, n)| n.counted())
        .map(|(f, _)| f)
        .collect()
}

/// What grouping v2 looked at for one occurrence, for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The grouping version that computed the fingerprint.
    pub version: u8,
    /// How the fingerprint was made: `frames`, `message`, `client` or `rule`.
    pub basis: &'static str,
    /// The exception type hashed.
    pub exception_type: String,
    /// Which exception of how many (0: the outermost), and why; `None` without a stack trace.
    pub exception: Option<(usize, usize, &'static str)>,
    /// The chosen exception's frames, innermost first: `module`, `function`, in-app, note.
    pub frames: Vec<ExplainedFrame>,
    /// The masked message, when it was hashed.
    pub message: Option<String>,
}

/// One frame as grouping saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplainedFrame {
    /// Module, package, class or file basename (normalized).
    pub module: String,
    /// Function (normalized).
    pub function: String,
    /// Whether the frame is the application's.
    pub in_app: bool,
    /// Whether and why it counted.
    pub note: FrameNote,
}

impl ExplainedFrame {
    pub(super) fn new(f: &Frame<'_>, note: FrameNote) -> Self {
        ExplainedFrame {
            module: Cow::as_ref(&f.module).to_string(),
            function: Cow::as_ref(&f.function).to_string(),
            in_app: f.in_app,
            note,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(module: &'static str, function: &'static str, in_app: bool) -> Frame<'static> {
        Frame {
            module: module.into(),
            function: function.into(),
            in_app,
            anonymous: false,
        }
    }

    #[test]
    fn the_run_nearest_the_crash_counts_and_recursion_collapses() {
        let frames = [
            f("lib", "throw", false),
            f("tree", "walk", true),
            f("tree", "walk", true),
            f("tree", "walk", true),
            f("app", "handler", true),
            f("net/http", "ServeHTTP", false),
            f("middleware", "Auth", true),
            f("main", "main", true),
        ];
        let n = notes(&frames, None);
        use FrameNote::*;
        assert_eq!(
            n,
            [
                Library,
                Counted,
                Repeat,
                Repeat,
                Counted,
                Library,
                Composition,
                Composition
            ]
        );
        let c: Vec<&str> = counted(&frames, &n)
            .iter()
            .map(|f| f.function.as_ref())
            .collect();
        assert_eq!(c, ["walk", "handler"]);
        // A cycle of two (a function and its comprehension).
        let frames = [
            f("menus", "build", true),
            f("menus", "<listcomp>", true),
            f("menus", "build", true),
            f("menus", "<listcomp>", true),
            f("menus", "build", true),
            f("main", "run", true),
        ];
        let c: Vec<&str> = counted(&frames, &notes(&frames, None))
            .iter()
            .map(|f| f.function.as_ref())
            .collect();
        assert_eq!(c, ["build", "<listcomp>", "build", "run"]);
    }

    #[test]
    fn the_root_cause_names_the_bug() {
        let seg = |ty: &'static str, n: usize| Segment {
            exception_type: Some(ty.into()),
            frames: (0..n).map(|_| f("m", "f", true)).collect(),
        };
        assert_eq!(choose(&[]), None);
        assert_eq!(choose(&[seg("A", 1)]), Some((0, ChainRule::Single)));
        assert_eq!(
            choose(&[seg("Wrapper", 2), seg("Cause", 1)]),
            Some((1, ChainRule::RootCause))
        );
        assert_eq!(
            choose(&[seg("Wrapper", 2), seg("Middle", 1), seg("Cause", 0)]),
            Some((1, ChainRule::NearestWithFrames))
        );
    }

    #[test]
    fn a_panic_hook_is_reporting_not_the_crash() {
        let frames = [
            f("app::telemetry", "hook", true),
            f("std::panicking", "panic_with_hook", false),
            f("core::panicking", "panic_fmt", false),
            f("app::query", "snippet", true),
            f("app", "search", true),
            f("std::rt", "lang_start", false),
        ];
        let n = notes(&frames, None);
        let c: Vec<&str> = counted(&frames, &n)
            .iter()
            .map(|f| f.function.as_ref())
            .collect();
        assert_eq!(c, ["snippet", "search"]);
        assert_eq!(n[0], FrameNote::Reporting);
    }
}
