//! Go: panics and `runtime.Stack` / `debug.Stack` output — a call line (`pkg.Func(args)`) and a
//! tab-indented `path:line +0x…` line per frame. The module is the package path, the function
//! loses closure (`.funcN`), goroutine-wrapper and method-value (`-fm`) suffixes; a panic's own
//! frames before the last `panic(` are dropped.

use std::borrow::Cow;

use super::text::{has, lines, split_once, strip_all};
use super::{Frame, Segment, in_app};

/// `pkg/path.Type.Method.func1` → (`pkg/path`, `Type.Method`).
pub(super) fn normalize_func(func: &str) -> (&str, Cow<'_, str>) {
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

/// Whether a Go function is an anonymous closure (`pkg.Outer.func1`, `main.main.func3.1`).
pub(super) fn is_closure(func: &str) -> bool {
    let func = strip_all(func, "created by ");
    let slash = func.rfind('/').map(|i| i + 1).unwrap_or(0);
    has(&func[slash..], needle!(".func"))
}

pub(super) fn parse(text: &str) -> Vec<Segment<'_>> {
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
            let in_app = in_app::go(strip_all(func, "created by "), path);
            let (module, function) = normalize_func(func);
            seg.frames.push(Frame {
                module: Cow::Borrowed(module),
                function,
                in_app,
                anonymous: is_closure(func),
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
