//! PHP `Exception::getTraceAsString()`: `#N path(line): call(args)` and `#N [internal
//! function]: call(args)`. The module is the file's basename. (OpenTelemetry-PHP prints `at`
//! frames instead: [`super::at_frames`].)

use std::borrow::Cow;

use super::text::{basename_module, digits, lines};
use super::{Frame, Segment, in_app};

/// `#N path(line): call` of `getTraceAsString()` → `(path, function)`; `#N [internal function]:
/// call` → `("", function)`. Hand-written equivalents of `^#\d+ (.+?)\(\d+\): (.+?)(\(.*\))?$` and
/// `^#\d+ \[internal function\]: (.+?)(\(.*\))?$` (no regex: this runs for every frame).
pub(super) fn php_frame(line: &str) -> Option<(&str, &str)> {
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

/// `getTraceAsString()` (frames only), or an exception as a string (`(string) $e`: `Type: message
/// in path:line`, `Stack trace:`, frames, then each wrapper as `Next Type: …` with its own frames —
/// the previous exception first). Segments come out outermost first, as every parser's.
pub(super) fn parse(text: &str) -> Vec<Segment<'_>> {
    let mut segs = vec![Segment::default()];
    for line in lines(text) {
        if let Some((path, function)) = php_frame(line) {
            if let Some(seg) = segs.last_mut() {
                seg.frames.push(Frame {
                    module: Cow::Borrowed(basename_module(path)),
                    function: Cow::Borrowed(function),
                    in_app: in_app::php(path),
                    anonymous: false,
                });
            }
            continue;
        }
        let header = match line.strip_prefix("Next ") {
            Some(h) => {
                segs.push(Segment::default());
                h
            }
            None if segs.len() == 1
                && segs[0].frames.is_empty()
                && segs[0].exception_type.is_none() =>
            {
                line
            }
            None => continue,
        };
        // `Type: message in path:line` (a type has no spaces).
        if let Some((ty, _)) = header.split_once(": ")
            && !ty.is_empty()
            && !ty.contains(' ')
            && let Some(seg) = segs.last_mut()
        {
            seg.exception_type = Some(Cow::Borrowed(ty));
        }
    }
    segs.reverse();
    segs
}
