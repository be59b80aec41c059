//! The key of a Sentry event's trace work ([`crate::occurrence::TraceHint::Key`]), from the
//! exceptions as the SDK sent them.
//!
//! A trace's work (grouping, culprit, the stored text) is cached by a hash of the frames and text
//! built from the event; building them (normalizing frames, rendering the text) is most of the
//! mapping. This key hashes what they are built from instead, so a repeat of a known trace is
//! mapped without them: the project, the service, the exception type, the platform's name and
//! every reported exception whole (type, module, value, mechanism, every frame with all its
//! members; the parser already left out local variables and context lines, which differ between
//! occurrences of one bug). More than the work depends on is hashed, never less: a difference
//! the work would not see only costs a cache entry.

use twox_hash::XxHash3_128;

use super::json::Json;

/// The key space's own prefix: no key of the text-and-frames space is built from these bytes.
const DOMAIN: &[u8] = b"faultline sentry trace v1\0";

/// The key of the trace of an event with these `exceptions` (Sentry's order, filtered as the
/// mapping filters them).
pub(super) fn key(
    project: &str,
    service: &str,
    exception_type: &str,
    platform: &str,
    exceptions: &[&Json<'_>],
) -> u128 {
    // Gathered into one buffer and hashed in one pass (a streaming hasher pays per write, and a
    // trace is hundreds of short texts).
    let mut buf = Vec::with_capacity(2048);
    buf.extend_from_slice(DOMAIN);
    for part in [project, service, exception_type, platform] {
        text(&mut buf, part);
    }
    buf.extend_from_slice(&(exceptions.len() as u64).to_le_bytes());
    for e in exceptions {
        value(&mut buf, e);
    }
    XxHash3_128::oneshot(&buf)
}

/// A text, length first (so no two sequences of texts write the same bytes).
fn text(buf: &mut Vec<u8>, t: &str) {
    buf.extend_from_slice(&(t.len() as u64).to_le_bytes());
    buf.extend_from_slice(t.as_bytes());
}

/// A value, tagged by kind, arrays and objects with their lengths.
fn value(buf: &mut Vec<u8>, v: &Json<'_>) {
    match v {
        Json::Null => buf.push(0),
        Json::Bool(b) => buf.extend_from_slice(&[1, u8::from(*b)]),
        Json::Number(n) => {
            let (tag, bits) = match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => (2, u),
                (None, Some(i)) => (3, i as u64),
                (None, None) => (4, n.as_f64().unwrap_or(0.0).to_bits()),
            };
            buf.push(tag);
            buf.extend_from_slice(&bits.to_le_bytes());
        }
        Json::String(t) => {
            buf.push(5);
            text(buf, t);
        }
        Json::Array(items) => {
            buf.push(6);
            buf.extend_from_slice(&(items.len() as u64).to_le_bytes());
            items.iter().for_each(|i| value(buf, i));
        }
        Json::Object(members) => {
            buf.push(7);
            buf.extend_from_slice(&(members.len() as u64).to_le_bytes());
            for (k, v) in *members {
                text(buf, k);
                value(buf, v);
            }
        }
    }
}

/// [`key`] of a list of exceptions.
#[cfg(test)]
fn key_of(parts: [&str; 4], exceptions: &[Json<'_>]) -> u128 {
    let refs: Vec<&Json<'_>> = exceptions.iter().collect();
    key(parts[0], parts[1], parts[2], parts[3], &refs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exception as the mapping sees it: read inside an event (local variables are left
    /// out at a frame's depth).
    fn exc(json: &str) -> Json<'static> {
        let event = format!(r#"{{"exception": {{"values": [{json}]}}}}"#);
        let event: &'static str = Box::leak(event.into_boxed_str());
        let arena: &'static bumpalo::Bump = Box::leak(Box::new(bumpalo::Bump::new()));
        let parsed = Json::parse(event.as_bytes(), arena).expect("json");
        parsed
            .pointer("/exception/values/0")
            .expect("exception")
            .clone()
    }

    #[test]
    fn every_part_and_member_changes_the_key_and_nothing_else_does() {
        let base = r#"{"type": "ValueError", "value": "bad", "module": null,
            "stacktrace": {"frames": [{"function": "f", "lineno": 3, "in_app": true}]}}"#;
        let parts = ["p", "svc", "ValueError", "python"];
        let k = key_of(parts, &[exc(base)]);
        // The same bytes, and the same value written otherwise (spacing, local variables).
        let spaced = base.replace(", ", ",  ");
        assert_eq!(k, key_of(parts, &[exc(&spaced)]));
        let with_vars = base.replace(r#""in_app": true"#, r#""in_app": true, "vars": {"x": 1}"#);
        assert_eq!(k, key_of(parts, &[exc(&with_vars)]));
        for changed in [
            base.replace("ValueError", "TypeError"),
            base.replace("\"bad\"", "\"worse\""),
            base.replace("null", "\"app\""),
            base.replace("\"lineno\": 3", "\"lineno\": 4"),
            base.replace("\"lineno\": 3", "\"lineno\": 3.5"),
            base.replace("true", "false"),
            base.replace(r#""function": "f""#, r#""function": "g""#),
            base.replace(
                r#""in_app": true"#,
                r#""in_app": true, "abs_path": "/a.py""#,
            ),
        ] {
            assert_ne!(k, key_of(parts, &[exc(&changed)]), "{changed}");
        }
        for (i, other) in ["q", "svc2", "TypeError", "node"].into_iter().enumerate() {
            let mut p = parts;
            p[i] = other;
            assert_ne!(k, key_of(p, &[exc(base)]), "part {i}");
        }
        // Texts cannot run into each other: lengths are part of the key.
        assert_ne!(
            key_of(["ab", "c", "", ""], &[]),
            key_of(["a", "bc", "", ""], &[])
        );
        // A chain is not its last exception alone, and order matters.
        let cause = exc(r#"{"type": "KeyError", "value": "k"}"#);
        assert_ne!(k, key_of(parts, &[cause.clone(), exc(base)]));
        assert_ne!(
            key_of(parts, &[cause.clone(), exc(base)]),
            key_of(parts, &[exc(base), cause])
        );
    }

    #[test]
    fn escaped_and_plain_texts_of_the_same_value_agree() {
        let plain = exc(r#"{"value": "a/b"}"#);
        let escaped = exc(r#"{"value": "a\/b"}"#);
        assert_eq!(escaped.get("value"), Some(&Json::String("a/b")));
        let parts = ["p", "s", "t", "python"];
        assert_eq!(key_of(parts, &[plain]), key_of(parts, &[escaped]));
    }
}
