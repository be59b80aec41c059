//! Sentry envelopes, read as a stream over the request body: one header line, then items, each a
//! header line and a payload of `length` bytes or, without `length`, up to the next newline.
//!
//! Grammar (sentry-docs, `develop-docs/sdk/foundations/transport/envelopes.mdx`; Relay's
//! `Item::parse`): `Envelope = Headers { "\n" Item } [ "\n" ]`, `Item = Headers "\n" Payload`. A
//! length-prefixed payload must be followed by `\n` or the end; `\r` before `\n` belongs to the
//! payload. Unknown item types are skipped with the rest still read.

use serde::Deserialize;

/// What is wrong with an envelope (the text reaches the client: it names the place).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// The first line is not a JSON object.
    #[error("malformed envelope header: {0}")]
    Header(String),
    /// An item's header line is not a JSON object with a string `type`.
    #[error("malformed header of item {index}: {reason}")]
    ItemHeader {
        /// 0-based item index.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// An item's `length` runs past the end of the body.
    #[error("item {index} ({kind}) declares {length} bytes but only {left} remain")]
    Truncated {
        /// 0-based item index.
        index: usize,
        /// The item's type.
        kind: String,
        /// Declared length.
        length: usize,
        /// Bytes left in the body.
        left: usize,
    },
    /// Something other than a newline follows a length-prefixed payload.
    #[error("item {index} ({kind}): its {length}-byte payload is not followed by a newline")]
    NoNewline {
        /// 0-based item index.
        index: usize,
        /// The item's type.
        kind: String,
        /// Declared length.
        length: usize,
    },
}

/// The envelope's header line (unknown attributes ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct EnvelopeHeader {
    /// The event's id, when the envelope carries an event or transaction (wins over the payload's).
    #[serde(default)]
    pub event_id: Option<String>,
    /// The DSN, set by tunnels: one of the places the key may be.
    #[serde(default)]
    pub dsn: Option<String>,
}

/// What an item is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemType {
    /// An error or message event: becomes an occurrence.
    Event,
    /// A transaction: may count as a request.
    Transaction,
    /// SDK-side discards, counted.
    ClientReport,
    /// Anything else (sessions, attachments, profiles, replays, check-ins, logs, spans, unknown
    /// types), skipped.
    Other(String),
}

impl ItemType {
    fn parse(s: &str) -> Self {
        match s {
            "event" => ItemType::Event,
            "transaction" => ItemType::Transaction,
            "client_report" => ItemType::ClientReport,
            other => ItemType::Other(other.to_string()),
        }
    }

    /// The type as the envelope names it.
    pub fn as_str(&self) -> &str {
        match self {
            ItemType::Event => "event",
            ItemType::Transaction => "transaction",
            ItemType::ClientReport => "client_report",
            ItemType::Other(s) => s,
        }
    }
}

#[derive(Deserialize)]
struct RawItemHeader {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    length: Option<u64>,
}

/// One item: its type and its payload, borrowed from the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item<'a> {
    /// Its type.
    pub kind: ItemType,
    /// Its payload.
    pub payload: &'a [u8],
}

/// Reads the header line and returns it with an iterator over the items.
pub fn parse(body: &[u8]) -> Result<(EnvelopeHeader, Items<'_>), EnvelopeError> {
    let (line, rest) = split_line(body);
    let header: EnvelopeHeader = if line.iter().all(u8::is_ascii_whitespace) {
        EnvelopeHeader::default()
    } else {
        serde_json::from_slice(line).map_err(|e| EnvelopeError::Header(e.to_string()))?
    };
    Ok((
        header,
        Items {
            rest,
            index: 0,
            failed: false,
        },
    ))
}

/// The items of an envelope, in order; stops at the first malformed one.
#[derive(Debug, Clone)]
pub struct Items<'a> {
    rest: &'a [u8],
    index: usize,
    failed: bool,
}

impl<'a> Iterator for Items<'a> {
    type Item = Result<Item<'a>, EnvelopeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let (line, rest) = split_line(self.rest);
            // Blank lines between items (and the optional trailing newline) are skipped.
            if line.iter().all(u8::is_ascii_whitespace) {
                self.rest = rest;
                continue;
            }
            let index = self.index;
            self.index += 1;
            let result = self.item(index, line, rest);
            self.failed = result.is_err();
            return Some(result);
        }
    }
}

impl<'a> Items<'a> {
    fn item(
        &mut self,
        index: usize,
        line: &[u8],
        rest: &'a [u8],
    ) -> Result<Item<'a>, EnvelopeError> {
        let h: RawItemHeader =
            serde_json::from_slice(line).map_err(|e| EnvelopeError::ItemHeader {
                index,
                reason: e.to_string(),
            })?;
        let kind = ItemType::parse(&h.kind);
        let payload = match h.length {
            Some(length) => {
                let length = usize::try_from(length).unwrap_or(usize::MAX);
                if length > rest.len() {
                    return Err(EnvelopeError::Truncated {
                        index,
                        kind: h.kind,
                        length,
                        left: rest.len(),
                    });
                }
                let (payload, after) = rest.split_at(length);
                self.rest = match after.first() {
                    None => after,
                    Some(b'\n') => &after[1..],
                    Some(_) => {
                        return Err(EnvelopeError::NoNewline {
                            index,
                            kind: h.kind,
                            length,
                        });
                    }
                };
                payload
            }
            None => {
                let (payload, after) = split_line(rest);
                self.rest = after;
                payload
            }
        };
        Ok(Item { kind, payload })
    }
}

/// The bytes up to the first `\n` (excluded) and those after it.
fn split_line(bytes: &[u8]) -> (&[u8], &[u8]) {
    match memchr::memchr(b'\n', bytes) {
        Some(i) => (&bytes[..i], &bytes[i + 1..]),
        None => (bytes, &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(body: &[u8]) -> Result<Vec<(String, Vec<u8>)>, EnvelopeError> {
        let (_, it) = parse(body)?;
        it.map(|r| r.map(|i| (i.kind.as_str().to_string(), i.payload.to_vec())))
            .collect()
    }

    #[test]
    fn lengths_and_newlines_both_delimit_payloads() {
        let body =
            b"{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\",\"dsn\":\"https://k@h/1\"}\n\
{\"type\":\"attachment\",\"length\":10}\n\xef\xbb\xbfHello\r\n\n\
{\"type\":\"event\"}\n{\"message\":\"hi\"}\n\
{\"type\":\"replay_video\",\"length\":3}\nabc\n\
{\"type\":\"client_report\"}\n{}";
        let (h, _) = parse(body).expect("header");
        assert_eq!(
            h.event_id.as_deref(),
            Some("9ec79c33ec9942ab8353589fcb2e04dc")
        );
        assert_eq!(h.dsn.as_deref(), Some("https://k@h/1"));
        let got = items(body).expect("items");
        assert_eq!(got.len(), 4);
        assert_eq!(
            got[0],
            ("attachment".into(), b"\xef\xbb\xbfHello\r\n".to_vec())
        );
        assert_eq!(got[1], ("event".into(), b"{\"message\":\"hi\"}".to_vec()));
        assert_eq!(got[2], ("replay_video".into(), b"abc".to_vec()));
        assert_eq!(got[3], ("client_report".into(), b"{}".to_vec()));
    }

    #[test]
    fn empty_envelopes_and_headers_are_fine() {
        assert_eq!(items(b"{}").expect("ok"), vec![]);
        assert_eq!(items(b"{}\n").expect("ok"), vec![]);
        assert_eq!(items(b"").expect("ok"), vec![]);
        assert_eq!(
            items(b"{}\n{\"type\":\"session\",\"length\":0}\n").expect("ok"),
            vec![("session".into(), vec![])]
        );
    }

    #[test]
    fn malformed_envelopes_name_the_place() {
        let e = items(b"not json\n").expect_err("header");
        assert!(
            e.to_string().starts_with("malformed envelope header"),
            "{e}"
        );
        let e = items(b"{}\n{\"length\":2}\nab").expect_err("no type");
        assert!(e.to_string().contains("item 0"), "{e}");
        let e = items(b"{}\n{\"type\":\"event\",\"length\":99}\n{}").expect_err("short");
        assert_eq!(
            e,
            EnvelopeError::Truncated {
                index: 0,
                kind: "event".into(),
                length: 99,
                left: 2
            }
        );
        let e = items(b"{}\n{\"type\":\"event\",\"length\":2}\n{}x\n").expect_err("no newline");
        assert!(e.to_string().contains("not followed by a newline"), "{e}");
        // Items before the bad one are still read.
        let (_, mut it) =
            parse(b"{}\n{\"type\":\"event\"}\n{}\n{\"type\":\"event\",\"length\":9}\n{}")
                .expect("header");
        assert!(it.next().expect("first").is_ok());
        assert!(it.next().expect("second").is_err());
        assert!(it.next().is_none());
    }
}
