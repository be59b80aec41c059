//! `at …` frames, the fallback format: JVM and Kotlin (`at pkg.Class.method(File.java:12)`,
//! `Caused by:` chains, `Suppressed:` blocks skipped), .NET (`at Ns.Class.Method(args) in
//! file:line`), OpenTelemetry-PHP, V8 JavaScript (`at func (path:line:col)`) and Firefox/Safari
//! JavaScript (`func@path:line:col`). Symbols are normalized by [`super::jvm`] (which also
//! serves .NET), JavaScript locations by [`super::javascript`].

use super::text::{find, group, lines};
use super::{Frame, Segment, in_app, javascript, jvm};

pub(super) fn parse(text: &str) -> Vec<Segment<'_>> {
    let mut segments = vec![Segment::default()];
    let mut in_suppressed = false;
    for (n, line) in lines(text).enumerate() {
        let trimmed = line.trim_ascii_start();
        if let Some(c) = trimmed
            .starts_with("Caused by: ")
            .then(|| re!(r"^\s*Caused by: ([\w.$]+)").captures(line))
            .flatten()
        {
            in_suppressed = false;
            segments.push(Segment {
                exception_type: Some(group(&c, 1).into()),
                frames: Vec::new(),
            });
            continue;
        }
        if trimmed.starts_with("Suppressed: ") {
            in_suppressed = true;
            continue;
        }
        if in_suppressed {
            continue;
        }
        let frame = if let Some(rest) = trimmed.strip_prefix("at ") {
            let rest = rest.trim_end();
            let rest = rest.strip_prefix("async ").unwrap_or(rest);
            if let Some(open) = find(rest, needle!(" (")).filter(|_| rest.ends_with(')')) {
                // V8: `at func (location)`.
                javascript::frame(&rest[..open], &rest[open + 2..rest.len() - 1])
            } else if memchr::memchr2(b'(', b' ', rest.as_bytes()).is_none()
                && javascript::strip_line_col(rest).len() < rest.len()
            {
                // V8, anonymous: `at path:line:col`.
                javascript::frame("", rest)
            } else if let Some(open) = memchr::memchr(b'(', rest.as_bytes()) {
                // JVM, .NET, OpenTelemetry-PHP: `at pkg.Class.method(File.java:12)`.
                let sym = &rest[..open];
                let args = &rest[open + 1..];
                let args = memchr::memchr(b')', args.as_bytes()).map_or(args, |i| &args[..i]);
                if sym.is_empty() || sym.contains(char::is_whitespace) {
                    continue;
                }
                let (module, function) = jvm::normalize_symbol(sym);
                let in_app = in_app::jvm_or_dotnet(sym, args)
                    && !(module.is_empty() && function.starts_with('{'));
                Frame {
                    module,
                    function,
                    in_app,
                    anonymous: false,
                }
            } else {
                continue;
            }
        } else if memchr::memchr(b'@', line.as_bytes()).is_some()
            && let Some(c) = re!(r"^([^@\s]*)@(.+?:\d+:\d+)$").captures(line)
        {
            javascript::frame(group(&c, 1), group(&c, 2))
        } else {
            if n == 0
                && let Some(c) = re!(r"^([\w.$\\]+)(: |$)").captures(line)
            {
                segments[0].exception_type = Some(group(&c, 1).into());
            }
            continue;
        };
        if let Some(seg) = segments.last_mut() {
            seg.frames.push(frame);
        }
    }
    segments.retain(|s| !s.frames.is_empty() || s.exception_type.is_some());
    segments
}
