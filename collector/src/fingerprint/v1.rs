//! Grouping v1, kept for the transition to v2 (README, Grouping): ingest computes it beside v2 so
//! that an occurrence whose v1 fingerprint names an existing issue keeps that issue. v1 hashes the
//! in-app frames of the root cause (the last exception of a chain), all of them, repeats dropped,
//! with the outermost and the root cause's types.

use super::{Frame, GroupingInput, PartHasher, in_app, mask_message};

/// The v1 fingerprint of an occurrence (without client fingerprints or the project's rules,
/// which do not change between versions: callers apply those first).
pub fn fingerprint_v1(input: &GroupingInput<'_>) -> String {
    let mut segments = input.stack.segments();
    if let Some(cfg) = input.config {
        in_app::apply_overrides(cfg, &mut segments);
    }
    let root = segments.last();
    let mut h = PartHasher::new();
    h.part("v1")
        .part(input.project)
        .part(input.service)
        .part(input.exception_type.trim());
    let frames: Vec<&Frame<'_>> = match root {
        Some(seg) => {
            if let Some(t) = &seg.exception_type {
                h.part(t);
            }
            let in_app: Vec<&Frame<'_>> = seg.frames.iter().filter(|f| f.in_app).collect();
            if in_app.is_empty() {
                seg.frames.iter().collect()
            } else {
                in_app
            }
        }
        None => Vec::new(),
    };
    let frames = collapse_recursion(frames);
    if frames.is_empty() {
        h.part("message").part(&mask_message(input.message));
    } else {
        h.part("frames");
        for f in frames {
            h.pair(&f.module, &f.function);
        }
    }
    h.finish()
}

/// Removes consecutive repeats of the same frame or frame cycle (recursion depth must not split).
fn collapse_recursion<'f, 'a>(frames: Vec<&'f Frame<'a>>) -> Vec<&'f Frame<'a>> {
    let mut out: Vec<&Frame<'a>> = Vec::with_capacity(frames.len());
    for f in frames {
        out.push(f);
        // Drop a just-completed repeat of the preceding cycle of length 1..=4.
        for len in 1..=4 {
            let n = out.len();
            if n >= 2 * len && (0..len).all(|i| out[n - len + i] == out[n - 2 * len + i]) {
                out.truncate(n - len);
                break;
            }
        }
    }
    out
}
