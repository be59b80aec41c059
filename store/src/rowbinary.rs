//! ClickHouse's `RowBinary` format for the rows the writer inserts, written and read by hand.
//!
//! Receivers encode their rows once, on the blocking thread that built them, straight into the
//! spool record; the drainer sends the records' bytes to ClickHouse as they are (`INSERT ...
//! FORMAT RowBinary`) instead of decoding every row into structs and serializing it again. Each
//! row type's fields are written in the order of its column list (`rows::*_COLUMNS`); a test
//! inserts encoded rows into a real server and reads them back through the `clickhouse` crate.
//!
//! The format: strings are a LEB128 length and the bytes; `UInt8/16/32/64`, `DateTime` (seconds)
//! and `Date` (days) little-endian; `Array(T)` a LEB128 count and the items.

use crate::rows::{OccurrenceRow, StackTraceRow};

/// Bytes that are not what they should be (a corrupted record: never retried, set aside).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed RowBinary: {0}")]
pub struct RowBinaryError(&'static str);

fn put_len(out: &mut Vec<u8>, mut v: usize) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_len(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

fn put_strs<S: AsRef<str>>(out: &mut Vec<u8>, v: &[S]) {
    put_len(out, v.len());
    for s in v {
        put_str(out, s.as_ref());
    }
}

/// Reads fields in order from a buffer of rows.
pub(crate) struct Reader<'a>(pub &'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], RowBinaryError> {
        if self.0.len() < n {
            return Err(RowBinaryError("row cut short"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn len(&mut self) -> Result<usize, RowBinaryError> {
        let mut v = 0usize;
        for shift in (0..64).step_by(7) {
            let b = self.take(1)?[0];
            v |= usize::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(RowBinaryError("length too long"))
    }
    fn str(&mut self) -> Result<String, RowBinaryError> {
        let n = self.len()?;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| RowBinaryError("string not UTF-8"))
    }
    fn strs(&mut self) -> Result<Vec<String>, RowBinaryError> {
        let n = self.len()?;
        (0..n).map(|_| self.str()).collect()
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], RowBinaryError> {
        self.take(N)?
            .try_into()
            .map_err(|_| RowBinaryError("row cut short"))
    }
    fn u8(&mut self) -> Result<u8, RowBinaryError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, RowBinaryError> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    fn u32(&mut self) -> Result<u32, RowBinaryError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, RowBinaryError> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    /// Whether every byte was read.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<S: AsRef<str>> OccurrenceRow<S> {
    /// Appends the row in `RowBinary`, columns in the order of `OCCURRENCE_COLUMNS`.
    pub fn write_row_binary(&self, out: &mut Vec<u8>) {
        put_str(out, self.event_id.as_ref());
        put_str(out, self.project.as_ref());
        put_str(out, self.fingerprint.as_ref());
        out.push(self.grouping_version);
        out.extend_from_slice(&self.timestamp.to_le_bytes());
        out.extend_from_slice(&self.received_at.to_le_bytes());
        put_str(out, self.source.as_ref());
        put_str(out, self.service.as_ref());
        put_str(out, self.environment.as_ref());
        put_str(out, self.release.as_ref());
        put_str(out, self.exception_type.as_ref());
        put_str(out, self.message.as_ref());
        put_str(out, self.stacktrace.as_ref());
        out.extend_from_slice(&self.stack_hash.to_le_bytes());
        put_str(out, self.culprit.as_ref());
        put_str(out, self.severity.as_ref());
        out.extend_from_slice(&self.http_status.to_le_bytes());
        put_str(out, self.http_method.as_ref());
        put_str(out, self.http_route.as_ref());
        put_str(out, self.url.as_ref());
        put_str(out, self.trace_id.as_ref());
        put_str(out, self.span_id.as_ref());
        put_strs(out, &self.attr_keys);
        put_strs(out, &self.attr_values);
    }
}

impl OccurrenceRow {
    /// Reads one row written by [`write_row_binary`](Self::write_row_binary).
    pub(crate) fn read_row_binary(r: &mut Reader<'_>) -> Result<OccurrenceRow, RowBinaryError> {
        Ok(OccurrenceRow {
            event_id: r.str()?,
            project: r.str()?,
            fingerprint: r.str()?,
            grouping_version: r.u8()?,
            timestamp: r.u32()?,
            received_at: r.u32()?,
            source: r.str()?,
            service: r.str()?,
            environment: r.str()?,
            release: r.str()?,
            exception_type: r.str()?,
            message: r.str()?,
            stacktrace: r.str()?,
            stack_hash: r.u64()?,
            culprit: r.str()?,
            severity: r.str()?,
            http_status: r.u16()?,
            http_method: r.str()?,
            http_route: r.str()?,
            url: r.str()?,
            trace_id: r.str()?,
            span_id: r.str()?,
            attr_keys: r.strs()?,
            attr_values: r.strs()?,
        })
    }
}

impl StackTraceRow {
    /// Appends the row in `RowBinary`, columns in the order of `STACKTRACE_COLUMNS`.
    pub fn write_row_binary(&self, out: &mut Vec<u8>) {
        put_str(out, &self.project);
        out.extend_from_slice(&self.day.to_le_bytes());
        out.extend_from_slice(&self.stack_hash.to_le_bytes());
        put_str(out, &self.stacktrace);
    }

    /// Reads one row written by [`write_row_binary`](Self::write_row_binary).
    pub(crate) fn read_row_binary(r: &mut Reader<'_>) -> Result<StackTraceRow, RowBinaryError> {
        Ok(StackTraceRow {
            project: r.str()?,
            day: r.u16()?,
            stack_hash: r.u64()?,
            stacktrace: r.str()?,
        })
    }
}

/// Every occurrence in a buffer of rows.
pub(crate) fn read_occurrences(buf: &[u8]) -> Result<Vec<OccurrenceRow>, RowBinaryError> {
    let mut r = Reader(buf);
    let mut rows = Vec::new();
    while !r.is_empty() {
        rows.push(OccurrenceRow::read_row_binary(&mut r)?);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_and_cut_rows_are_refused() {
        let row = OccurrenceRow {
            event_id: "e".repeat(200),
            project: "p".into(),
            message: "ünïcode\n".into(),
            stack_hash: u64::MAX,
            timestamp: 1_760_000_000,
            http_status: 503,
            attr_keys: vec!["a".into(), String::new()],
            attr_values: vec!["1".into(), "x".repeat(300)],
            ..Default::default()
        };
        let mut buf = Vec::new();
        row.write_row_binary(&mut buf);
        row.write_row_binary(&mut buf);
        assert_eq!(read_occurrences(&buf), Ok(vec![row.clone(), row]));
        assert!(read_occurrences(&buf[..buf.len() - 1]).is_err());
        let st = StackTraceRow {
            project: "p".into(),
            day: 20_000,
            stack_hash: 7,
            stacktrace: "trace".into(),
        };
        let mut buf = Vec::new();
        st.write_row_binary(&mut buf);
        let mut r = Reader(&buf);
        assert_eq!(StackTraceRow::read_row_binary(&mut r), Ok(st));
        assert!(r.is_empty());
    }
}
