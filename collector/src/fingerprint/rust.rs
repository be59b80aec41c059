//! Rust backtraces (`std::backtrace` / `RUST_BACKTRACE=1`): numbered symbol lines, each with an
//! indented `at path:line:col` below. Legacy-mangled `::h…` hashes are dropped; the module is
//! the symbol's path.

use std::borrow::Cow;

use super::text::{digits, lines, rfind_path_sep};
use super::{Frame, Segment, in_app};

pub(super) fn parse(text: &str) -> Vec<Segment<'_>> {
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
        let in_app = in_app::rust(sym, path);
        let (module, function) = match rfind_path_sep(sym) {
            Some(p) if !sym.ends_with('>') => (&sym[..p], &sym[p + 2..]),
            _ => ("", sym),
        };
        seg.frames.push(Frame {
            module: Cow::Borrowed(module),
            function: Cow::Borrowed(function),
            in_app,
            anonymous: false,
        });
    }
    vec![seg]
}
