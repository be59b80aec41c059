//! A JSON value that borrows its texts from the payload, for reading Sentry events.
//!
//! `serde_json::Value` allocates a `String` for every key and text and a `BTreeMap` for every
//! object; for an event of a few kilobytes that was a quarter of a single envelope's cost
//! (`bench/RESULTS.md`, 2026-12-06). [`Json`] keeps texts as slices of the payload (owned only
//! when they hold escapes), objects as lists of pairs in the order sent, and does not build what
//! Faultline never keeps: frames' `vars`, `pre_context` and `post_context`, and the event's
//! `breadcrumbs`, `modules`, `debug_meta`, `spans` and `measurements` are skipped while parsing.
//! The accessors are named as `serde_json::Value`'s.

use std::borrow::Cow;
use std::fmt;

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
    /// A text, borrowed from the payload unless it held escapes.
    String(Cow<'a, str>),
    /// An array.
    Array(Vec<Json<'a>>),
    /// An object, its members in the order sent.
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
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
    /// Parses `payload`, borrowing from it (see the module docs for what is skipped).
    pub fn parse(payload: &'a [u8]) -> Result<Json<'a>, serde_json::Error> {
        // Checked as UTF-8 once, whole: reading from a `str`, serde_json does not check every
        // text it borrows again (an eighth of the parse).
        let text = std::str::from_utf8(payload).map_err(|e| {
            <serde_json::Error as de::Error>::custom(format_args!(
                "invalid UTF-8 at byte {}",
                e.valid_up_to()
            ))
        })?;
        let mut de = serde_json::Deserializer::from_str(text);
        let value = Seed { depth: 0 }.deserialize(&mut de)?;
        de.end()?;
        Ok(value)
    }

    /// The member `key` of an object (the last one, when a key repeats, as serde_json keeps).
    pub fn get(&self, key: &str) -> Option<&Json<'a>> {
        match self {
            Json::Object(members) => members.iter().rev().find(|(k, _)| k == key).map(|m| &m.1),
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
                true => Cow::Owned(token.replace("~1", "/").replace("~0", "~")),
                false => Cow::Borrowed(token),
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
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Json::Object(members) => {
                let mut map = s.serialize_map(Some(members.len()))?;
                for (k, v) in members {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'a> From<&'a serde_json::Value> for Json<'a> {
    /// The same value, borrowing its texts (nothing skipped).
    fn from(v: &'a serde_json::Value) -> Json<'a> {
        use serde_json::Value;
        match v {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Number(n) => Json::Number(n.clone()),
            Value::String(t) => Json::String(Cow::Borrowed(t)),
            Value::Array(items) => Json::Array(items.iter().map(Json::from).collect()),
            Value::Object(m) => Json::Object(
                m.iter()
                    .map(|(k, v)| (Cow::Borrowed(k.as_str()), Json::from(v)))
                    .collect(),
            ),
        }
    }
}

/// Reads one value at a nesting level (0: the payload itself).
#[derive(Clone, Copy)]
struct Seed {
    depth: u32,
}

impl<'de> DeserializeSeed<'de> for Seed {
    type Value = Json<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Json<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

/// An object key, borrowed when it holds no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

impl<'de> Visitor<'de> for Seed {
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
        Ok(Json::String(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let inner = Seed {
            depth: self.depth + 1,
        };
        // serde_json gives no size hint: room for a few up front rather than growing 0 → 4 → 8
        // (reallocations were a sixth of the parse: `bench/RESULTS.md`).
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(INITIAL).min(64));
        while let Some(item) = seq.next_element_seed(inner)? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let inner = Seed {
            depth: self.depth + 1,
        };
        let mut members = Vec::with_capacity(INITIAL);
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            let skip = (self.depth == 0 && SKIP_TOP.contains(&key.as_ref()))
                || (self.depth >= DEEP && SKIP_DEEP.contains(&key.as_ref()));
            if skip {
                map.next_value::<IgnoredAny>()?;
            } else {
                members.push((key, map.next_value_seed(inner)?));
            }
        }
        Ok(Json::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_borrowed_unless_escaped_and_values_read_as_serde_json_reads_them() {
        let payload = br#"{"a": "plain", "b": "esc\"aped", "n": [1, -2, 2.5, 18446744073709551615],
                          "t": true, "z": null, "o": {"k": "v"}, "a": "last"}"#;
        let j = Json::parse(payload).expect("parses");
        assert!(matches!(
            j.get("a"),
            Some(Json::String(Cow::Borrowed("last")))
        ));
        assert!(matches!(&j["b"], Json::String(Cow::Owned(s)) if s == "esc\"aped"));
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
        assert_eq!(Json::from(&v)["n"], j["n"]);
    }

    #[test]
    fn what_is_never_kept_is_not_built_and_the_rest_is() {
        let payload = br#"{"breadcrumbs": {"values": [{"message": "x"}]}, "extra": {"vars": 1},
            "exception": {"values": [{"stacktrace": {"frames": [
                {"function": "f", "vars": {"big": "..."}, "pre_context": ["a"], "context_line": "b"}]}}]}}"#;
        let j = Json::parse(payload).expect("parses");
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
        assert!(Json::parse(b"{\"a\": ").is_err());
        assert!(Json::parse(b"{} {}").is_err());
        assert!(Json::parse(b"[1, 2] x").is_err());
        assert_eq!(Json::parse(b" 7 ").expect("a number").as_u64(), Some(7));
    }
}
