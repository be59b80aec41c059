//! Which format a stack trace is in, decided in one pass over its lines, and the parser for it.

use super::text::{digits, find, has, lines};
use super::{Segment, at_frames, go, javascript, php, python, ruby, rust};

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
    let (mut is_go, mut rust_num, mut rust_at, mut is_php, mut is_ruby) =
        (false, false, false, false, false);
    for line in lines(text) {
        if line.starts_with("Traceback (most recent call last):") {
            return python::parse(text);
        }
        if line.starts_with("goroutine ") || (line.starts_with('\t') && has(line, needle!(".go:")))
        {
            is_go = true;
            continue;
        }
        let t = line.trim_ascii_start();
        let indented = t.len() < line.len();
        if t.starts_with("at ") {
            // A JVM, .NET or JavaScript frame; under a Rust backtrace's symbol, its location.
            if indented && javascript::strip_line_col(t).len() < t.len() && !t.ends_with(')') {
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
            is_php = true;
        }
        if !is_ruby
            && let Some(i) = find(line, needle!(":in "))
            && matches!(line.as_bytes().get(i + 4), Some(b'`' | b'\''))
        {
            is_ruby = true;
        }
    }
    if is_go {
        return go::parse(text);
    }
    if rust_num && rust_at {
        return rust::parse(text);
    }
    if is_php && re!(r"(?m)^#\d+ ").is_match(text) {
        return php::parse(text);
    }
    if is_ruby && re!(r"(?m)^\s*(from )?[^\s:][^:]*:\d+:in [`']").is_match(text) {
        return ruby::parse(text);
    }
    at_frames::parse(text)
}
