//! JavaScript frames (V8 and Firefox/Safari; the lines are told apart in [`super::at_frames`]):
//! the module is the file's basename without bundle hashes, the function without `async `,
//! `new ` and `Object.`.

use std::borrow::Cow;

use super::text::{basename_module, strip_all};
use super::{Frame, in_app};

/// One frame from its function (possibly empty: anonymous) and location (`path:line:col`).
pub(super) fn frame<'a>(func: &'a str, loc: &'a str) -> Frame<'a> {
    let func = func.trim();
    let func = strip_all(strip_all(func, "async "), "new ");
    let func = func.strip_prefix("Object.").unwrap_or(func);
    let in_app = in_app::javascript(loc);
    Frame {
        module: Cow::Borrowed(basename_module(strip_line_col(loc))),
        function: Cow::Borrowed(if func.is_empty() { "?" } else { func }),
        in_app,
        anonymous: false,
    }
}

/// `path:12:34` → `path` (trailing `:digits` groups removed).
pub(super) fn strip_line_col(loc: &str) -> &str {
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
