//! Ruby `Exception#full_message` backtraces: `path:line:in 'func'` lines, `from` for every
//! frame after an exception's first, causes as further exceptions. The module is the file's
//! basename; `block (N levels) in`, `rescue in`, `ensure in` and the receiver are dropped.

use std::borrow::Cow;

use super::text::{basename_module, digits, has, lines};
use super::{Frame, Segment, in_app};

/// One line of a Ruby backtrace (`full_message`): whether it starts with `from `, the path, the
/// raw function, and on an exception's first line its type. The hand-written equivalent of
/// ``^\s*(from )?([^\s:][^:]*):\d+:in [`']([^']+)'(: .*\(([\w:]+)\)\s*$)?`` (no regex: this runs
/// for every frame).
pub(super) fn ruby_line(line: &str) -> Option<(bool, &str, &str, Option<&str>)> {
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

/// `block (2 levels) in User#save` → `save`: block, rescue and ensure prefixes and the receiver
/// dropped.
pub(super) fn normalize_function(raw: &str) -> Cow<'_, str> {
    let func = if raw.starts_with("block") || raw.starts_with("rescue") || raw.starts_with("ensure")
    {
        re!(r"^(block( \(\d+ levels\))? in |rescue in |ensure in )+").replace(raw, "")
    } else {
        Cow::Borrowed(raw)
    };
    match func {
        Cow::Borrowed(f) => Cow::Borrowed(f.rsplit(['#', '.']).next().unwrap_or(f)),
        Cow::Owned(f) => Cow::Owned(f.rsplit(['#', '.']).next().unwrap_or(&f).to_string()),
    }
}

pub(super) fn parse(text: &str) -> Vec<Segment<'_>> {
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
                exception_type: exception_type.map(Cow::Borrowed),
                frames: Vec::new(),
            });
        }
        if let Some(seg) = segments.last_mut() {
            seg.frames.push(Frame {
                module: Cow::Borrowed(basename_module(path)),
                function: normalize_function(raw),
                in_app: in_app::ruby(path),
                anonymous: false,
            });
        }
    }
    segments
}
