//! Python tracebacks: `File "path", line N, in func` frames, the exception line, and chains
//! (`The above exception was the direct cause…`, `During handling…`), the root cause printed
//! first. The module is the file's basename.

use std::borrow::Cow;

use super::text::{basename_module, group, lines, split_once};
use super::{Frame, Segment, in_app};

/// `File "path", line N, in func` → `(path, func)`.
fn python_frame(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix("File \"")?;
    let (path, rest) = split_once(rest, needle!("\", line "))?;
    let (num, func) = split_once(rest, needle!(", in "))?;
    (!num.is_empty() && num.bytes().all(|b| b.is_ascii_digit())).then(|| (path, func.trim_ascii()))
}

pub(super) fn parse(text: &str) -> Vec<Segment<'_>> {
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
            let in_app = in_app::python(path);
            cur.frames.push(Frame {
                module: Cow::Borrowed(basename_module(path)),
                function: Cow::Borrowed(func),
                in_app,
                anonymous: false,
            });
        } else if trimmed.len() == line.len()
            && !line.starts_with("Traceback")
            && let Some(c) = re!(r"^([A-Za-z_][\w.]*)(: |$)").captures(line)
        {
            cur.exception_type = Some(Cow::Borrowed(group(&c, 1)));
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
