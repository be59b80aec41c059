//! Byte-level pieces both JSON readers share (`otlp_json::fast` for OTLP exports,
//! `sentry::json` for Sentry events): the eight-bytes-at-a-time test for where a text's plain run
//! ends, escapes, and JSON's number grammar.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// High bits of the bytes of `v` that are zero; exact in the lowest such byte (borrows may mark
/// bytes above it).
fn zero_bytes(v: u64) -> u64 {
    v.wrapping_sub(ONES) & !v & HIGHS
}

/// Marks, in eight bytes read little-endian, quotes, backslashes and control characters (below
/// 0x20); the lowest marked byte is exact, which is all a scan needs.
pub(crate) fn special(x: u64) -> u64 {
    zero_bytes(x ^ (ONES * u64::from(b'"')))
        | zero_bytes(x ^ (ONES * u64::from(b'\\')))
        | (x.wrapping_sub(ONES * 0x20) & !x & HIGHS)
}

/// Why a text's escape is not one, and the byte where that shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadEscape {
    /// serde_json's words for it.
    pub why: &'static str,
    pub at: usize,
}

/// The four hex digits at `at`, as a number (a non-digit among them is an invalid escape even
/// when the text ends before four).
fn hex4(b: &[u8], at: usize) -> Result<u32, BadEscape> {
    let digits = &b[at.min(b.len())..b.len().min(at + 4)];
    let mut n = 0;
    for &d in digits {
        let d = (d as char).to_digit(16).ok_or(BadEscape {
            why: "invalid escape",
            at,
        })?;
        n = n * 16 + d;
    }
    match digits.len() {
        4 => Ok(n),
        _ => Err(BadEscape {
            why: "EOF while parsing a string",
            at: b.len(),
        }),
    }
}

/// The escape at `at` (a backslash) in `b`: the character it stands for and its length in
/// bytes (a surrogate pair is one character of twelve bytes), or why it is not one.
pub(crate) fn escape(b: &[u8], at: usize) -> Result<(char, usize), BadEscape> {
    let bad = |why, at| BadEscape { why, at };
    Ok(match b.get(at + 1) {
        Some(b'"') => ('"', 2),
        Some(b'\\') => ('\\', 2),
        Some(b'/') => ('/', 2),
        Some(b'b') => ('\u{8}', 2),
        Some(b'f') => ('\u{c}', 2),
        Some(b'n') => ('\n', 2),
        Some(b'r') => ('\r', 2),
        Some(b't') => ('\t', 2),
        Some(b'u') => {
            let hi = hex4(b, at + 2)?;
            match hi {
                0xD800..=0xDBFF => {
                    let lone = bad("lone leading surrogate in hex escape", at + 6);
                    if b.get(at + 6..at + 8) != Some(b"\\u") {
                        return Err(lone);
                    }
                    let lo = hex4(b, at + 8)?;
                    if !(0xDC00..=0xDFFF).contains(&lo) {
                        return Err(BadEscape { at: at + 8, ..lone });
                    }
                    let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                    (char::from_u32(cp).ok_or(lone)?, 12)
                }
                0xDC00..=0xDFFF => return Err(bad("unexpected end of hex escape", at + 2)),
                _ => (char::from_u32(hi).ok_or(bad("invalid escape", at + 2))?, 6),
            }
        }
        Some(_) => return Err(bad("invalid escape", at)),
        None => return Err(bad("EOF while parsing a string", b.len())),
    })
}

/// A number as JSON writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NumberSpan {
    /// The byte after it.
    pub end: usize,
    /// Whether it has a fraction or an exponent.
    pub float: bool,
}

/// The number starting at `start` (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`), or the
/// byte where it stopped being one.
pub(crate) fn number(b: &[u8], start: usize) -> Result<NumberSpan, usize> {
    let digits = |i: &mut usize| {
        let from = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - from
    };
    let mut i = start;
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    let first = b.get(i).copied();
    let whole = digits(&mut i);
    if whole == 0 || (first == Some(b'0') && whole > 1) {
        return Err(i);
    }
    let mut float = false;
    if b.get(i) == Some(&b'.') {
        i += 1;
        float = true;
        if digits(&mut i) == 0 {
            return Err(i);
        }
    }
    if let Some(b'e' | b'E') = b.get(i) {
        i += 1;
        float = true;
        if let Some(b'+' | b'-') = b.get(i) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return Err(i);
        }
    }
    Ok(NumberSpan { end: i, float })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_the_grammar() {
        let end = |t: &str| number(t.as_bytes(), 0).map(|n| (n.end, n.float));
        assert_eq!(end("0"), Ok((1, false)));
        assert_eq!(end("-12,"), Ok((3, false)));
        assert_eq!(end("1.5e-3]"), Ok((6, true)));
        assert_eq!(end("2E9"), Ok((3, true)));
        for bad in ["-", "01", "1.", "1.e3", "1e", "1e+", ".5", "x"] {
            assert!(end(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn escapes_decode_to_their_characters() {
        let at0 = |t: &str| escape(t.as_bytes(), 0).ok();
        assert_eq!(at0(r"\n"), Some(('\n', 2)));
        assert_eq!(at0(r"\/x"), Some(('/', 2)));
        assert_eq!(at0(r"\u00e9"), Some(('é', 6)));
        assert_eq!(at0(r"\ud83d\ude00"), Some(('😀', 12)));
        for bad in [r"\x", r"\u12", r"\ud83d", r"\ud83d\u0041", r"\ude00", "\\"] {
            assert_eq!(at0(bad), None, "{bad}");
        }
    }

    #[test]
    fn special_marks_the_first_stop() {
        let first = |t: &[u8; 8]| (special(u64::from_le_bytes(*t)).trailing_zeros() / 8) as usize;
        assert_eq!(first(b"abc\"defg"), 3);
        assert_eq!(first(b"a\\\"\"\"\"\"\""), 1);
        assert_eq!(first(b"\xc3\xa9xy\x1fzzz"), 4);
        assert_eq!(special(u64::from_le_bytes(*b"plain \x7f\xff")), 0);
    }
}
