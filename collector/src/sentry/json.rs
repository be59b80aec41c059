//! A JSON value that borrows its texts from the payload, for reading Sentry events.
//!
//! `serde_json::Value` allocates a `String` for every key and text and a `BTreeMap` for every
//! object; for an event of a few kilobytes that was a quarter of a single envelope's cost
//! (`bench/RESULTS.md`, 2026-12-06). [`Json`] keeps texts as slices of the payload (copied only
//! when they hold escapes), objects as lists of pairs in the order sent, and does not build what
//! Faultline never keeps: frames' `vars`, `pre_context` and `post_context`, and the event's
//! `breadcrumbs`, `modules`, `debug_meta`, `spans` and `measurements` are skipped while parsing.
//! Its arrays, objects and unescaped texts live in an arena ([`Bump`]) the caller keeps beside the
//! payload: a value is never dropped node by node (freeing a tree cost as much as a sixth of
//! building it), and the arena goes in one piece. The accessors are named as
//! `serde_json::Value`'s.

use std::fmt;

use bumpalo::Bump;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Number;

/// A parsed JSON value; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Json<'a> {
    /// `null` (also what [`Json::get`]'s index form answers for a missing key).
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as serde_json reads it.
    Number(Number),
    /// A text, borrowed from the payload unless it held escapes (then from the arena).
    String(&'a str),
    /// An array.
    Array(&'a [Json<'a>]),
    /// An object, its members in the order sent.
    Object(&'a [(&'a str, Json<'a>)]),
}

static NULL: Json<'static> = Json::Null;

/// Keys not built at the top of an event: Faultline keeps none of them.
const SKIP_TOP: [&str; 5] = [
    "breadcrumbs",
    "modules",
    "debug_meta",
    "spans",
    "measurements",
];
/// Keys not built in objects nested four levels or more (stack frames sit at four to seven):
/// local variables and source lines around the frame's.
const SKIP_DEEP: [&str; 3] = ["vars", "pre_context", "post_context"];
/// Room made for an array's items or an object's members before the first is read: a stack
/// frame's kept members (module, function, file, line, source line, in-app flag) fit.
const INITIAL: usize = 8;
/// The nesting level from which [`SKIP_DEEP`] applies.
const DEEP: u32 = 4;

impl<'a> Json<'a> {
    /// Parses `payload`, borrowing from it, building in `arena` (see the module docs for what is
    /// skipped). An arena of [`Json::arena_for`] the payload usually holds the whole value.
    pub fn parse(payload: &'a [u8], arena: &'a Bump) -> Result<Json<'a>, serde_json::Error> {
        // Checked as UTF-8 once, whole: reading from a `str`, serde_json does not check every
        // text it borrows again (an eighth of the parse).
        let text = std::str::from_utf8(payload).map_err(|e| {
            <serde_json::Error as de::Error>::custom(format_args!(
                "invalid UTF-8 at byte {}",
                e.valid_up_to()
            ))
        })?;
        let mut de = serde_json::Deserializer::from_str(text);
        let value = Seed { depth: 0, arena }.deserialize(&mut de)?;
        de.end()?;
        Ok(value)
    }

    /// An arena sized for the value of a payload of `len` bytes (its tree takes about four times
    /// the bytes of the text it was read from; more is allocated when needed).
    pub fn arena_for(len: usize) -> Bump {
        Bump::with_capacity(len.saturating_mul(4).clamp(1 << 12, 1 << 22))
    }

    /// The member `key` of an object (the last one, when a key repeats, as serde_json keeps).
    pub fn get(&self, key: &str) -> Option<&Json<'a>> {
        match self {
            Json::Object(members) => members.iter().rev().find(|(k, _)| *k == key).map(|m| &m.1),
            _ => None,
        }
    }

    /// The value at a JSON pointer (`/contexts/trace/trace_id`; array indices as numbers).
    pub fn pointer(&self, pointer: &str) -> Option<&Json<'a>> {
        if pointer.is_empty() {
            return Some(self);
        }
        let rest = pointer.strip_prefix('/')?;
        rest.split('/').try_fold(self, |at, token| {
            let token = match token.contains('~') {
                true => std::borrow::Cow::Owned(token.replace("~1", "/").replace("~0", "~")),
                false => std::borrow::Cow::Borrowed(token),
            };
            match at {
                Json::Object(_) => at.get(&token),
                Json::Array(items) => items.get(token.parse::<usize>().ok()?),
                _ => None,
            }
        })
    }

    /// The text, when this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, when this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number as a `u64`, when it is a non-negative integer.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Json::Number(n) => n.as_u64(),
            _ => None,
        }
    }

    /// The number as an `f64`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Json::Number(n) => n.as_f64(),
            _ => None,
        }
    }

    /// The items, when this is an array.
    pub fn as_array(&self) -> Option<&[Json<'a>]> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }

    /// Whether this is an object.
    pub fn is_object(&self) -> bool {
        matches!(self, Json::Object(_))
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Json::Null)
    }
}

impl<'a> std::ops::Index<&str> for Json<'a> {
    type Output = Json<'a>;

    /// The member `key`, or `null` when there is none (as `serde_json::Value` indexes).
    fn index(&self, key: &str) -> &Json<'a> {
        self.get(key).unwrap_or(&NULL)
    }
}

impl fmt::Display for Json<'_> {
    /// Compact JSON.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_string(self).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

impl Serialize for Json<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => s.serialize_unit(),
            Json::Bool(b) => s.serialize_bool(*b),
            Json::Number(n) => n.serialize(s),
            Json::String(t) => s.serialize_str(t),
            Json::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in *items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Json::Object(members) => {
                let mut map = s.serialize_map(Some(members.len()))?;
                for (k, v) in *members {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'a> Json<'a> {
    /// The same value as `v`, borrowing its texts, its arrays and objects built in `arena`
    /// (nothing skipped).
    pub fn from_value(v: &'a serde_json::Value, arena: &'a Bump) -> Json<'a> {
        use serde_json::Value;
        match v {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Number(n) => Json::Number(n.clone()),
            Value::String(t) => Json::String(t),
            Value::Array(items) => Json::Array(
                arena.alloc_slice_fill_iter(items.iter().map(|i| Json::from_value(i, arena))),
            ),
            Value::Object(m) => Json::Object(
                arena.alloc_slice_fill_iter(
                    m.iter()
                        .map(|(k, v)| (k.as_str(), Json::from_value(v, arena))),
                ),
            ),
        }
    }
}

/// Reads one value at a nesting level (0: the payload itself), building in the arena.
#[derive(Clone, Copy)]
struct Seed<'a> {
    depth: u32,
    arena: &'a Bump,
}

impl<'de> DeserializeSeed<'de> for Seed<'de> {
    type Value = Json<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Json<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

/// An object key, borrowed from the payload when it holds no escapes, else copied to the arena.
struct Key<'de>(&'de Bump);

impl<'de> DeserializeSeed<'de> for Key<'de> {
    type Value = &'de str;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<&'de str, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'de> {
    type Value = &'de str;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<&'de str, E> {
        Ok(v)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<&'de str, E> {
        Ok(self.0.alloc_str(v))
    }
}

impl<'de> Visitor<'de> for Seed<'de> {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Json<'de>, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Json<'de>, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Json<'de>, E> {
        Ok(Number::from_f64(v).map_or(Json::Null, Json::Number))
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::String(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Json<'de>, E> {
        Ok(Json::String(self.arena.alloc_str(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let inner = Seed {
            depth: self.depth + 1,
            ..self
        };
        // serde_json gives no size hint: room for a few up front rather than growing 0 → 4 → 8
        // (reallocations were a sixth of the parse: `bench/RESULTS.md`).
        let cap = seq.size_hint().unwrap_or(INITIAL).min(64);
        let mut items = bumpalo::collections::Vec::with_capacity_in(cap, self.arena);
        while let Some(item) = seq.next_element_seed(inner)? {
            items.push(item);
        }
        Ok(Json::Array(items.into_bump_slice()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let inner = Seed {
            depth: self.depth + 1,
            ..self
        };
        let mut members = bumpalo::collections::Vec::with_capacity_in(INITIAL, self.arena);
        while let Some(key) = map.next_key_seed(Key(self.arena))? {
            let skip = (self.depth == 0 && SKIP_TOP.contains(&key))
                || (self.depth >= DEEP && SKIP_DEEP.contains(&key));
            if skip {
                map.next_value::<IgnoredAny>()?;
            } else {
                members.push((key, map.next_value_seed(inner)?));
            }
        }
        Ok(Json::Object(members.into_bump_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_borrowed_unless_escaped_and_values_read_as_serde_json_reads_them() {
        let payload = br#"{"a": "plain", "b": "esc\"aped", "n": [1, -2, 2.5, 18446744073709551615],
                          "t": true, "z": null, "o": {"k": "v"}, "a": "last"}"#;
        let arena = Bump::new();
        let j = Json::parse(payload, &arena).expect("parses");
        let in_payload = |t: &str| payload.as_ptr_range().contains(&t.as_ptr());
        assert_eq!(j.get("a"), Some(&Json::String("last")));
        assert!(in_payload(j["a"].as_str().expect("text")), "borrowed");
        assert_eq!(j["b"].as_str(), Some("esc\"aped"));
        assert!(
            !in_payload(j["b"].as_str().expect("text")),
            "unescaped into the arena"
        );
        let n = j["n"].as_array().expect("array");
        assert_eq!(n[0].as_u64(), Some(1));
        assert_eq!(n[1].as_u64(), None);
        assert_eq!(n[2].as_f64(), Some(2.5));
        assert_eq!(n[3].as_u64(), Some(u64::MAX));
        assert_eq!(j["t"].as_bool(), Some(true));
        assert!(j["z"].is_null() && j["missing"].is_null());
        assert_eq!(j.pointer("/o/k").and_then(Json::as_str), Some("v"));
        assert_eq!(j.pointer("/n/2").and_then(Json::as_f64), Some(2.5));
        assert_eq!(j["o"].to_string(), r#"{"k":"v"}"#);
        // The same as serde_json's value, member for member.
        let v: serde_json::Value = serde_json::from_slice(payload).expect("parses");
        assert_eq!(Json::from_value(&v, &arena)["n"], j["n"]);
    }

    #[test]
    fn what_is_never_kept_is_not_built_and_the_rest_is() {
        let payload = br#"{"breadcrumbs": {"values": [{"message": "x"}]}, "extra": {"vars": 1},
            "exception": {"values": [{"stacktrace": {"frames": [
                {"function": "f", "vars": {"big": "..."}, "pre_context": ["a"], "context_line": "b"}]}}]}}"#;
        let arena = Bump::new();
        let j = Json::parse(payload, &arena).expect("parses");
        assert!(j.get("breadcrumbs").is_none());
        assert_eq!(j.pointer("/extra/vars").and_then(Json::as_u64), Some(1));
        let frame = j
            .pointer("/exception/values/0/stacktrace/frames/0")
            .expect("frame");
        assert_eq!(frame["function"].as_str(), Some("f"));
        assert_eq!(frame["context_line"].as_str(), Some("b"));
        assert!(frame.get("vars").is_none() && frame.get("pre_context").is_none());
    }

    #[test]
    fn malformed_json_and_trailing_bytes_are_errors() {
        let arena = Bump::new();
        assert!(Json::parse(b"{\"a\": ", &arena).is_err());
        assert!(Json::parse(b"{} {}", &arena).is_err());
        assert!(Json::parse(b"[1, 2] x", &arena).is_err());
        assert_eq!(
            Json::parse(b" 7 ", &arena).expect("a number").as_u64(),
            Some(7)
        );
    }
}
