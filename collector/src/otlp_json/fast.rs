//! The fast path of [`super::parse`]: a hand-written reader for OTLP/JSON trace exports as SDKs
//! and collectors write them, straight into views.
//!
//! serde_json reads strings a byte pattern at a time and stops at every escape, and a stack trace
//! is mostly escapes (`\n`, `\t`, `\"`); this reader finds the next quote or backslash with
//! `memchr` (vectorized), checks each run between escapes for control characters and UTF-8 in one
//! pass, and knows the export's fields without serde's visitor machinery.
//!
//! It is sound, not complete: whatever it accepts, the full decoding ([`super::parse_serde`],
//! which accepts exactly what the `opentelemetry-proto` decoding does) accepts and reads the same.
//! Anything unusual — an escaped key, an unknown member of an `AnyValue`, a link, an entity ref, a
//! number in a form that decoding might read differently (`-0`, a fraction or exponent where an
//! integer is due), a lone surrogate, bad UTF-8, nesting past [`MAX_DEPTH`], a repeated field, a
//! struct written as an array, any error at all — makes it give up (`None`), and the full decoding
//! decides and names the problem. The fuzz target checks the soundness on every input.

use std::borrow::Cow;

use base64::Engine;

use crate::json_scan::{self, special};
use crate::otlp_wire::{Attr, EventView, Id, ResourceView, SpanView, TraceView, Val};

/// Deepest container nesting read here (serde_json refuses past 128).
const MAX_DEPTH: u32 = 100;

/// Reads an export, or gives up (`None`) for the full decoding to decide.
pub fn parse(body: &[u8]) -> Option<TraceView<'_>> {
    // UTF-8 checked once, up front: quotes are ASCII, so every string is then a slice of `text`
    // at char boundaries, taken without checking it again.
    let text = std::str::from_utf8(body).ok()?;
    let mut c = Cur {
        text,
        b: body,
        i: 0,
        depth: 0,
        scratch: String::new(),
    };
    let mut t = TraceView::default();
    c.fields(|c, k| match k {
        b"resourceSpans" => {
            c.array(|c| {
                t.resources.push(c.resource_spans()?);
                Some(())
            })?;
            Some(0)
        }
        _ => c.skip_field(),
    })?;
    c.ws();
    (c.i == body.len()).then_some(t)
}

/// What a field reader returns for a field it does not know (and skipped).
const UNKNOWN: u32 = u32::MAX;

/// A position in the body.
struct Cur<'a> {
    text: &'a str,
    /// `text`'s bytes.
    b: &'a [u8],
    i: usize,
    depth: u32,
    /// Where escaped strings are decoded (kept across strings; each result is copied out at its
    /// exact size).
    scratch: String,
}

impl<'a> Cur<'a> {
    fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            if !matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
                break;
            }
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    fn literal(&mut self, lit: &[u8]) -> Option<()> {
        self.ws();
        let end = self.i + lit.len();
        (self.b.get(self.i..end)? == lit).then(|| self.i = end)
    }

    /// Consumes `null` if it comes next.
    fn null(&mut self) -> Option<bool> {
        if self.peek()? == b'n' {
            self.literal(b"null")?;
            return Some(true);
        }
        Some(false)
    }

    /// Opens a container (`open`); `Some(false)` when `close` ends it at once.
    fn open(&mut self, open: u8, close: u8) -> Option<bool> {
        self.eat(open)?;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        if self.peek()? == close {
            self.i += 1;
            self.depth -= 1;
            return Some(false);
        }
        Some(true)
    }

    /// After an element: `Some(true)` on a comma, `Some(false)` when `close` ends the container.
    fn next(&mut self, close: u8) -> Option<bool> {
        match self.peek()? {
            b',' => {
                self.i += 1;
                Some(true)
            }
            c if c == close => {
                self.i += 1;
                self.depth -= 1;
                Some(false)
            }
            _ => None,
        }
    }

    /// An object's members, each handed to `f` with its key (unescaped keys only); `f` reads the
    /// value.
    fn object(&mut self, mut f: impl FnMut(&mut Self, &'a [u8]) -> Option<()>) -> Option<()> {
        let mut more = self.open(b'{', b'}')?;
        while more {
            let k = self.key()?;
            self.eat(b':')?;
            f(self, k)?;
            more = self.next(b'}')?;
        }
        Some(())
    }

    /// An object of known fields: `f` reads each member and returns the field's number (below
    /// 32), or [`UNKNOWN`] for a member it skipped. A field read twice gives up (serde refuses a
    /// repeated field).
    fn fields(&mut self, mut f: impl FnMut(&mut Self, &'a [u8]) -> Option<u32>) -> Option<()> {
        let mut seen = 0u32;
        self.object(|c, k| {
            let field = f(c, k)?;
            if field == UNKNOWN {
                return Some(());
            }
            let bit = 1u32.checked_shl(field)?;
            let again = seen & bit != 0;
            seen |= bit;
            (!again).then_some(())
        })
    }

    /// Skips an unknown field's value.
    fn skip_field(&mut self) -> Option<u32> {
        self.skip()?;
        Some(UNKNOWN)
    }

    /// An array's elements, each read by `f`.
    fn array(&mut self, mut f: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        let mut more = self.open(b'[', b']')?;
        while more {
            f(self)?;
            more = self.next(b']')?;
        }
        Some(())
    }

    /// A key without escapes.
    fn key(&mut self) -> Option<&'a [u8]> {
        match self.string()? {
            Cow::Borrowed(k) => Some(k.as_bytes()),
            Cow::Owned(_) => None,
        }
    }

    /// The position of the first quote, backslash or control character at or after `i`: 16
    /// bytes a step, as two words.
    fn next_special(&self, i: usize) -> Option<usize> {
        let rest = self.b.get(i..)?;
        let mut blocks = rest.chunks_exact(16);
        for (n, block) in (&mut blocks).enumerate() {
            let (lo, hi) = block.split_at(8);
            let lo = special(u64::from_le_bytes(<[u8; 8]>::try_from(lo).ok()?));
            let hi = special(u64::from_le_bytes(<[u8; 8]>::try_from(hi).ok()?));
            if lo | hi != 0 {
                let within = if lo != 0 {
                    lo.trailing_zeros() / 8
                } else {
                    8 + hi.trailing_zeros() / 8
                };
                return Some(i + n * 16 + within as usize);
            }
        }
        let tail = blocks.remainder();
        tail.iter()
            .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
            .map(|n| i + rest.len() - tail.len() + n)
    }

    /// A string: borrowed from the body when it has no escapes.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        let b = self.b;
        if self.peek()? != b'"' {
            return None;
        }
        let start = self.i + 1;
        let mut run = start;
        let mut escaped = false;
        loop {
            let at = self.next_special(run)?;
            match b[at] {
                b'"' => {
                    self.i = at + 1;
                    if !escaped {
                        return self.text.get(start..at).map(Cow::Borrowed);
                    }
                    self.scratch.push_str(self.text.get(run..at)?);
                    return Some(Cow::Owned(self.scratch.as_str().to_owned()));
                }
                b'\\' => {}
                _ => return None,
            }
            if !escaped {
                escaped = true;
                self.scratch.clear();
            }
            self.scratch.push_str(self.text.get(run..at)?);
            let (c, len) = json_scan::escape(b, at).ok()?;
            self.scratch.push(c);
            run = at + len;
        }
    }

    /// A number's text, checked against JSON's grammar.
    fn number(&mut self) -> Option<&'a str> {
        self.ws();
        let start = self.i;
        let end = json_scan::number(self.b, start).ok()?.end;
        self.i = end;
        self.text.get(start..end)
    }

    /// A JSON integer (no fraction, no exponent, not `-0`, which serde_json reads as a float).
    fn integer<T: std::str::FromStr>(&mut self) -> Option<T> {
        let t = self.number()?;
        if t.starts_with("-0") || t.contains(['.', 'e', 'E']) {
            return None;
        }
        t.parse().ok()
    }

    /// A 64-bit integer written as a JSON integer or as a string (read as the full decoding
    /// reads it: Rust's `parse`).
    fn integer_or_string<T: std::str::FromStr>(&mut self) -> Option<T> {
        if self.peek()? == b'"' {
            return self.string()?.parse().ok();
        }
        self.integer()
    }

    fn boolean(&mut self) -> Option<bool> {
        match self.peek()? {
            b't' => self.literal(b"true").map(|()| true),
            _ => self.literal(b"false").map(|()| false),
        }
    }

    /// Trace and span ids: plain hex, checked here and decoded only when used.
    fn id(&mut self) -> Option<Id<'a>> {
        let s = self.string()?;
        // Every byte checked without an early exit, which the compiler turns into vector code.
        let bad = s.bytes().fold(false, |bad, c| bad | !c.is_ascii_hexdigit());
        if s.len() % 2 != 0 || bad {
            return None;
        }
        Some(match s {
            Cow::Borrowed(h) => Id::Hex(h),
            Cow::Owned(h) => Id::Bytes(Cow::Owned(const_hex::decode(h).ok()?)),
        })
    }

    /// Any JSON value, checked and dropped (an unknown field).
    fn skip(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' => self.object(|c, _| c.skip()),
            b'[' => self.array(|c| c.skip()),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number().map(drop),
        }
    }

    fn any_value(&mut self) -> Option<Val<'a>> {
        let mut v = Val::Empty;
        self.object(|c, k| {
            if c.null()? {
                return match k {
                    b"stringValue" | b"boolValue" | b"intValue" | b"doubleValue"
                    | b"arrayValue" | b"kvlistValue" | b"bytesValue" => Some(()),
                    _ => None,
                };
            }
            v = match k {
                b"stringValue" => Val::Str(c.string()?),
                b"boolValue" => Val::Bool(c.boolean()?),
                b"intValue" => Val::Int(c.integer_or_string()?),
                b"doubleValue" => {
                    // Through serde_json, so the digits round exactly as there.
                    Val::Double(serde_json::from_str(c.number()?).ok()?)
                }
                b"arrayValue" => {
                    let mut items = None;
                    c.fields(|c, k| match k {
                        b"values" => {
                            let mut list = Vec::new();
                            c.array(|c| {
                                list.push(c.any_value()?);
                                Some(())
                            })?;
                            items = Some(list);
                            Some(0)
                        }
                        _ => c.skip_field(),
                    })?;
                    Val::Array(items?)
                }
                b"kvlistValue" => {
                    let mut items = None;
                    c.fields(|c, k| match k {
                        b"values" => {
                            let mut list = Vec::new();
                            c.array(|c| {
                                let (k, v) = c.key_value()?;
                                list.push((k, v.unwrap_or(Val::Empty)));
                                Some(())
                            })?;
                            items = Some(list);
                            Some(0)
                        }
                        _ => c.skip_field(),
                    })?;
                    Val::Kvlist(items?)
                }
                b"bytesValue" => {
                    let s = c.string()?;
                    let b = base64::engine::general_purpose::STANDARD
                        .decode(s.as_bytes())
                        .ok()?;
                    Val::Bytes(Cow::Owned(b))
                }
                // Unknown members are parsed in full by the prost decoding: left to it.
                _ => return None,
            };
            Some(())
        })?;
        Some(v)
    }

    /// `(key, value)`: the key is required, the value may be absent or null.
    fn key_value(&mut self) -> Option<(Cow<'a, str>, Option<Val<'a>>)> {
        let (mut key, mut value) = (None, None);
        self.fields(|c, k| {
            Some(match k {
                b"key" => {
                    key = Some(c.string()?);
                    0
                }
                b"value" => {
                    if !c.null()? {
                        value = Some(c.any_value()?);
                    }
                    1
                }
                b"keyStrindex" => {
                    c.integer::<i32>()?;
                    2
                }
                _ => c.skip_field()?,
            })
        })?;
        Some((key?, value))
    }

    /// Attributes (those without a value left out).
    fn attributes(&mut self) -> Option<Vec<Attr<'a>>> {
        let mut out = Vec::new();
        self.array(|c| {
            if let (k, Some(v)) = c.key_value()? {
                out.push((k, v));
            }
            Some(())
        })?;
        Some(out)
    }

    /// A list that must be empty (links and entity refs are left to the full decoding).
    fn empty_list(&mut self) -> Option<()> {
        self.eat(b'[')?;
        self.eat(b']')
    }

    fn event(&mut self) -> Option<EventView<'a>> {
        let mut e = EventView::default();
        self.fields(|c, k| {
            Some(match k {
                b"timeUnixNano" => {
                    e.time_unix_nano = c.integer_or_string()?;
                    0
                }
                b"name" => {
                    e.name = c.string()?;
                    1
                }
                b"attributes" => {
                    e.attributes = c.attributes()?;
                    2
                }
                b"droppedAttributesCount" => {
                    c.integer::<u32>()?;
                    3
                }
                _ => c.skip_field()?,
            })
        })?;
        Some(e)
    }

    fn span(&mut self) -> Option<SpanView<'a>> {
        let mut s = SpanView::default();
        self.fields(|c, k| {
            Some(match k {
                b"traceId" => {
                    s.trace_id = c.id()?;
                    0
                }
                b"spanId" => {
                    s.span_id = c.id()?;
                    1
                }
                b"parentSpanId" => {
                    c.id()?;
                    2
                }
                b"traceState" => {
                    c.string()?;
                    3
                }
                b"name" => {
                    c.string()?;
                    4
                }
                b"flags" => {
                    c.integer::<u32>()?;
                    5
                }
                b"kind" => {
                    s.kind = c.integer()?;
                    6
                }
                b"startTimeUnixNano" => {
                    s.start_time_unix_nano = c.integer_or_string()?;
                    7
                }
                b"endTimeUnixNano" => {
                    s.end_time_unix_nano = c.integer_or_string()?;
                    8
                }
                b"attributes" => {
                    s.attributes = c.attributes()?;
                    9
                }
                b"events" => {
                    c.array(|c| {
                        s.events.push(c.event()?);
                        Some(())
                    })?;
                    10
                }
                b"links" => {
                    c.empty_list()?;
                    11
                }
                b"droppedAttributesCount" => {
                    c.integer::<u32>()?;
                    12
                }
                b"droppedEventsCount" => {
                    c.integer::<u32>()?;
                    13
                }
                b"droppedLinksCount" => {
                    c.integer::<u32>()?;
                    14
                }
                b"status" => {
                    if !c.null()? {
                        c.fields(|c, k| {
                            Some(match k {
                                b"message" => {
                                    c.string()?;
                                    0
                                }
                                b"code" => {
                                    s.status_code = c.integer()?;
                                    1
                                }
                                _ => c.skip_field()?,
                            })
                        })?;
                    }
                    15
                }
                _ => c.skip_field()?,
            })
        })?;
        Some(s)
    }

    fn resource_spans(&mut self) -> Option<ResourceView<'a>> {
        let mut r = ResourceView::default();
        self.fields(|c, k| {
            Some(match k {
                b"resource" => {
                    if !c.null()? {
                        c.fields(|c, k| {
                            Some(match k {
                                b"attributes" => {
                                    r.attributes = c.attributes()?;
                                    0
                                }
                                b"droppedAttributesCount" => {
                                    c.integer::<u32>()?;
                                    1
                                }
                                b"entityRefs" => {
                                    c.empty_list()?;
                                    2
                                }
                                _ => c.skip_field()?,
                            })
                        })?;
                    }
                    0
                }
                b"scopeSpans" => {
                    c.array(|c| c.scope_spans(&mut r.spans))?;
                    1
                }
                b"schemaUrl" => {
                    c.string()?;
                    2
                }
                _ => c.skip_field()?,
            })
        })?;
        Some(r)
    }

    /// A `ScopeSpans`, its spans appended to the resource's.
    fn scope_spans(&mut self, spans: &mut Vec<SpanView<'a>>) -> Option<()> {
        self.fields(|c, k| {
            Some(match k {
                b"scope" => {
                    if !c.null()? {
                        c.fields(|c, k| {
                            Some(match k {
                                b"name" => {
                                    c.string()?;
                                    0
                                }
                                b"version" => {
                                    c.string()?;
                                    1
                                }
                                b"attributes" => {
                                    c.attributes()?;
                                    2
                                }
                                b"droppedAttributesCount" => {
                                    c.integer::<u32>()?;
                                    3
                                }
                                _ => c.skip_field()?,
                            })
                        })?;
                    }
                    0
                }
                b"spans" => {
                    c.array(|c| {
                        spans.push(c.span()?);
                        Some(())
                    })?;
                    1
                }
                b"schemaUrl" => {
                    c.string()?;
                    2
                }
                _ => c.skip_field()?,
            })
        })
    }
}
