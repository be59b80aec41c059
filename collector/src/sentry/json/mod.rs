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
//! `serde_json::Value`'s. The payload is read by [`read`], the module's own reader (it reads
//! exactly what serde_json reads: a property test holds the two together), serde_json's
//! `Number` kept for numbers; serde_json still writes values ([`Serialize`]).

use std::fmt;

use bumpalo::Bump;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Number;

mod read;

pub use read::{MAX_DEPTH, ParseError};

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
    pub fn parse(payload: &'a [u8], arena: &'a Bump) -> Result<Json<'a>, ParseError> {
        // Checked as UTF-8 once, whole; the reader then slices texts at their quotes.
        let text =
            std::str::from_utf8(payload).map_err(|e| ParseError::invalid_utf8(payload, e))?;
        read::parse(text, arena)
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

#[cfg(test)]
mod tests;
