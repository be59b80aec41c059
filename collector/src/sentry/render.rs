//! A readable stack trace from frames sent as data, in the format the platform's runtime prints
//! (a Python traceback, `at …` lines elsewhere): what the issue page shows, and what an OTLP
//! copy of the same error would have stored.

use std::fmt::Write;

use super::json::Json;
use crate::event::Text;
use crate::fingerprint::Platform;

/// One exception of a chain, as sent (frames oldest first).
#[derive(Debug, Clone)]
pub struct Exception<'a> {
    /// The type as the runtime prints it, `None` when it carries no meaning (synthetic).
    pub printed_type: Option<Text<'a>>,
    /// The exception's value (message).
    pub value: &'a str,
    /// Its frames, oldest first (Sentry's order).
    pub frames: Vec<&'a Json<'a>>,
}

fn field<'v>(f: &'v Json<'v>, key: &str) -> Option<&'v str> {
    f.get(key)
        .and_then(Json::as_str)
        .filter(|t| !t.trim().is_empty())
}

fn number(f: &Json<'_>, key: &str) -> Option<u64> {
    f.get(key).and_then(Json::as_u64)
}

/// `Type: value`, `Type` or `value`.
fn headline(e: &Exception<'_>) -> String {
    match (e.printed_type.as_deref(), e.value.is_empty()) {
        (Some(t), false) => format!("{t}: {}", e.value),
        (Some(t), true) => t.to_string(),
        (None, _) => e.value.to_string(),
    }
}

/// The chain (causes first, the reported exception last, as Sentry orders it) as text.
pub fn trace(platform: Platform, chain: &[Exception<'_>]) -> String {
    // About a line of 80 bytes per frame: one allocation for most traces.
    let frames: usize = chain.iter().map(|e| e.frames.len() + 2).sum();
    let mut out = String::with_capacity(frames * 80);
    match platform {
        Platform::Python => {
            // Python prints the cause first, then each exception raised from it.
            for (i, e) in chain.iter().enumerate() {
                if i > 0 {
                    out.push_str(
                        "\nThe above exception was the direct cause of the following exception:\n\n",
                    );
                }
                if !e.frames.is_empty() {
                    out.push_str("Traceback (most recent call last):\n");
                }
                for f in &e.frames {
                    let file = field(f, "abs_path")
                        .or_else(|| field(f, "filename"))
                        .unwrap_or("<unknown>");
                    let func = field(f, "function").unwrap_or("<module>");
                    let _ = writeln!(
                        out,
                        "  File \"{file}\", line {}, in {func}",
                        number(f, "lineno").unwrap_or(0)
                    );
                    if let Some(line) = field(f, "context_line") {
                        let _ = writeln!(out, "    {}", line.trim());
                    }
                }
                out.push_str(&headline(e));
                out.push('\n');
            }
        }
        _ => {
            // The reported exception first, innermost frame first, then its causes.
            for (i, e) in chain.iter().rev().enumerate() {
                if i > 0 {
                    out.push_str("Caused by: ");
                }
                out.push_str(&headline(e));
                out.push('\n');
                for f in e.frames.iter().rev() {
                    at_line(&mut out, platform, f);
                    out.push('\n');
                }
            }
        }
    }
    out.truncate(out.trim_end().len());
    out
}

/// One `at …` line, written to `out`: `at pkg.Class.method(File.java:12)` on the JVM and .NET,
/// V8's `at function (file:line:col)` elsewhere.
fn at_line(out: &mut String, platform: Platform, f: &Json<'_>) {
    let function = field(f, "function").filter(|name| *name != "?");
    let line = number(f, "lineno");
    match platform {
        Platform::Jvm | Platform::DotNet => {
            out.push_str("\tat ");
            match (field(f, "module"), function) {
                (Some(m), Some(func)) => {
                    out.push_str(m);
                    out.push('.');
                    out.push_str(func);
                }
                (m, func) => out.push_str(m.or(func).unwrap_or("?")),
            }
            out.push('(');
            out.push_str(field(f, "filename").unwrap_or("Unknown Source"));
            if let Some(line) = line {
                let _ = write!(out, ":{line}");
            }
            out.push(')');
        }
        _ => {
            out.push_str("    at ");
            if let Some(func) = function {
                out.push_str(func);
                out.push_str(" (");
            }
            let file = field(f, "abs_path").or_else(|| field(f, "filename"));
            out.push_str(file.unwrap_or(""));
            if let Some(line) = line {
                let _ = write!(out, ":{line}");
                if let Some(col) = number(f, "colno") {
                    let _ = write!(out, ":{col}");
                }
            }
            if function.is_some() {
                out.push(')');
            }
        }
    }
}
