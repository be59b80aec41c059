//! The reader behind [`Json::parse`]: one pass over the payload's bytes, texts found eight bytes
//! at a time, values built in the arena.
//!
//! It reads what RFC 8259 allows and serde_json reads, and refuses what they refuse (control
//! characters in texts, lone surrogates, leading zeros, numbers out of `f64`'s range, trailing
//! commas and bytes); nesting deeper than [`MAX_DEPTH`] is refused rather than recursed into. It
//! replaced serde_json's deserializer driving a visitor (the parse was a quarter of a single
//! envelope's instructions: `bench/RESULTS.md`, 2026-12-08).

use std::fmt;

use bumpalo::Bump;
use serde_json::Number;

use super::{DEEP, INITIAL, Json, SKIP_DEEP, SKIP_TOP};
use crate::json_scan;

/// At most this many arrays and objects nested in one another (serde_json's default limit).
pub const MAX_DEPTH: u32 = 127;

/// Why a payload is not JSON, and where: `expected value at line 1 column 7`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    what: &'static str,
    line: usize,
    column: usize,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at line {} column {}",
            self.what, self.line, self.column
        )
    }
}

impl std::error::Error for ParseError {}

impl ParseError {
    /// `payload` is not UTF-8 where `e` says.
    pub(super) fn invalid_utf8(payload: &[u8], e: std::str::Utf8Error) -> Self {
        Reader::position(payload, e.valid_up_to(), "invalid UTF-8")
    }
}

/// Reads `text` (valid UTF-8, checked by the caller) into a value built in `arena`.
pub(super) fn parse<'a>(text: &'a str, arena: &'a Bump) -> Result<Json<'a>, ParseError> {
    let mut r = Reader {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        arena,
    };
    let value = r.value(0);
    let value = value.and_then(|v| {
        r.skip_ws();
        match r.pos < r.bytes.len() {
            true => Err("trailing characters"),
            false => Ok(v),
        }
    });
    value.map_err(|what| r.error(what))
}

/// Failures name what was wrong; the reader adds where.
type Result<T, E = &'static str> = std::result::Result<T, E>;

struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    arena: &'a Bump,
}

impl<'a> Reader<'a> {
    fn error(&self, what: &'static str) -> ParseError {
        Self::position(self.bytes, self.pos, what)
    }

    /// `what` went wrong at byte `at` of `bytes` (lines and columns counted from 1).
    fn position(bytes: &[u8], at: usize, what: &'static str) -> ParseError {
        let before = &bytes[..at.min(bytes.len())];
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        let column = 1 + before.len()
            - before
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
        ParseError { what, line, column }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// `word` (`true`, `false`, `null`) at the reader, passed.
    fn literal(&mut self, word: &[u8]) -> Result<()> {
        match self.bytes[self.pos..].starts_with(word) {
            true => {
                self.pos += word.len();
                Ok(())
            }
            false if self.bytes.len() - self.pos < word.len() => Err("EOF while parsing a value"),
            false => Err("expected ident"),
        }
    }

    /// The value at the reader (leading spaces skipped), nested `depth` arrays/objects deep.
    fn value(&mut self, depth: u32) -> Result<Json<'a>> {
        self.skip_ws();
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().map(Json::String),
            Some(b't') => self.literal(b"true").map(|()| Json::Bool(true)),
            Some(b'f') => self.literal(b"false").map(|()| Json::Bool(false)),
            Some(b'n') => self.literal(b"null").map(|()| Json::Null),
            Some(b'-' | b'0'..=b'9') => self.number().map(Json::Number),
            Some(_) => Err("expected value"),
            None => Err("EOF while parsing a value"),
        }
    }

    /// Passes the value at the reader without building it (still checked whole).
    fn skip_value(&mut self, depth: u32) -> Result<()> {
        self.skip_ws();
        match self.peek() {
            Some(b'{') => self.members(depth, |r, _| r.skip_value(depth + 1)),
            Some(b'[') => self.items(depth, |r| r.skip_value(depth + 1)),
            Some(b'"') => self.string_span().map(|_| ()),
            Some(b'-' | b'0'..=b'9') => self.number().map(|_| ()),
            _ => self.value(depth).map(|_| ()),
        }
    }

    fn object(&mut self, depth: u32) -> Result<Json<'a>> {
        let arena = self.arena;
        let mut members = bumpalo::collections::Vec::with_capacity_in(INITIAL, arena);
        self.members(depth, |r, key| {
            let skip = (depth == 0 && SKIP_TOP.contains(&key))
                || (depth >= DEEP && SKIP_DEEP.contains(&key));
            match skip {
                true => r.skip_value(depth + 1),
                false => {
                    members.push((key, r.value(depth + 1)?));
                    Ok(())
                }
            }
        })?;
        Ok(Json::Object(members.into_bump_slice()))
    }

    fn array(&mut self, depth: u32) -> Result<Json<'a>> {
        let arena = self.arena;
        let mut items = bumpalo::collections::Vec::with_capacity_in(INITIAL, arena);
        self.items(depth, |r| {
            items.push(r.value(depth + 1)?);
            Ok(())
        })?;
        Ok(Json::Array(items.into_bump_slice()))
    }

    /// Reads an object's members (the reader at its `{`), handing each key to `member` with
    /// the reader before the value, which `member` must read.
    fn members(
        &mut self,
        depth: u32,
        mut member: impl FnMut(&mut Self, &'a str) -> Result<()>,
    ) -> Result<()> {
        self.elements(depth, b'}', |r| {
            r.skip_ws();
            match r.peek() {
                Some(b'"') => {}
                Some(_) => return Err("key must be a string"),
                None => return Err("EOF while parsing an object"),
            }
            let key = r.string()?;
            r.skip_ws();
            match r.peek() {
                Some(b':') => r.pos += 1,
                Some(_) => return Err("expected `:`"),
                None => return Err("EOF while parsing an object"),
            }
            member(r, key)
        })
    }

    /// Reads an array's items (the reader at its `[`) with `item`.
    fn items(&mut self, depth: u32, item: impl FnMut(&mut Self) -> Result<()>) -> Result<()> {
        self.elements(depth, b']', item)
    }

    /// Reads the comma-separated elements of an object or array up to `close` (the reader at
    /// its opening bracket), each with `element`.
    fn elements(
        &mut self,
        depth: u32,
        close: u8,
        mut element: impl FnMut(&mut Self) -> Result<()>,
    ) -> Result<()> {
        if depth >= MAX_DEPTH {
            return Err("recursion limit exceeded");
        }
        let (eof, expected) = match close {
            b'}' => ("EOF while parsing an object", "expected `,` or `}`"),
            _ => ("EOF while parsing a list", "expected `,` or `]`"),
        };
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(close) {
            self.pos += 1;
            return Ok(());
        }
        loop {
            element(self)?;
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(c) if c == close => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(_) => return Err(expected),
                None => return Err(eof),
            }
        }
    }

    /// The text at the reader (at its `"`): borrowed from the payload, or unescaped into the
    /// arena when it holds escapes.
    fn string(&mut self) -> Result<&'a str> {
        let (start, end, escaped) = self.string_span()?;
        let raw = &self.text[start..end];
        match escaped {
            false => Ok(raw),
            true => Ok(unescape(raw, self.arena)),
        }
    }

    /// Passes the text at the reader (at its `"`), checking it: the span between the quotes,
    /// and whether it holds escapes.
    fn string_span(&mut self) -> Result<(usize, usize, bool)> {
        let bytes = self.bytes;
        let start = self.pos + 1;
        let mut i = start;
        let mut escaped = false;
        loop {
            // Eight bytes at a time to the next quote, backslash or control character.
            loop {
                if let Some(chunk) = bytes.get(i..i + 8) {
                    let mut word = [0u8; 8];
                    word.copy_from_slice(chunk);
                    let found = json_scan::special(u64::from_le_bytes(word));
                    if found == 0 {
                        i += 8;
                        continue;
                    }
                    i += (found.trailing_zeros() / 8) as usize;
                } else {
                    // The last bytes, fewer than eight.
                    let rest = &bytes[i..];
                    i += (rest.iter())
                        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                        .unwrap_or(rest.len());
                }
                break;
            }
            match bytes.get(i) {
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok((start, i, escaped));
                }
                Some(b'\\') => {
                    escaped = true;
                    match json_scan::escape(bytes, i) {
                        Ok((_, len)) => i += len,
                        Err(bad) => {
                            self.pos = bad.at;
                            return Err(bad.why);
                        }
                    }
                }
                Some(_) => {
                    self.pos = i;
                    return Err("control character (\\u0000-\\u001F) found while parsing a string");
                }
                None => {
                    self.pos = i;
                    return Err("EOF while parsing a string");
                }
            }
        }
    }

    /// The number at the reader: an integer as `u64` or `i64` when it fits, else an `f64`.
    fn number(&mut self) -> Result<Number> {
        let start = self.pos;
        let span = json_scan::number(self.bytes, start).map_err(|at| {
            self.pos = at;
            "invalid number"
        })?;
        self.pos = span.end;
        let text = &self.text[start..span.end];
        if !span.float {
            let fits = match text.starts_with('-') {
                // `-0` is read as the float -0.0, as serde_json reads it.
                true => (text.parse::<i64>().ok())
                    .filter(|&n| n != 0)
                    .map(Number::from),
                false => text.parse::<u64>().ok().map(Number::from),
            };
            if let Some(n) = fits {
                return Ok(n);
            }
        }
        text.parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .ok_or("number out of range")
    }
}

/// `raw` (a checked text between quotes, with escapes) unescaped into `arena`.
fn unescape<'a>(raw: &str, arena: &'a Bump) -> &'a str {
    let mut out = bumpalo::collections::String::with_capacity_in(raw.len(), arena);
    let mut rest = raw;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        // Checked by `string_span`: every escape is one.
        let (c, len) = json_scan::escape(rest.as_bytes(), at).unwrap_or(('\u{FFFD}', 2));
        out.push(c);
        rest = &rest[at + len..];
    }
    out.push_str(rest);
    out.into_bump_str()
}
