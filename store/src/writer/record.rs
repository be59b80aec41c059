//! The spool record format: what one request's rows look like on disk. A record is
//! `FLB3`, a section of occurrence rows and a section of stack-trace rows — each a row count and
//! a byte length (u32 LE) then the rows in ClickHouse's `RowBinary`, encoded once on the
//! receiver's blocking thread and sent by the drainer as they are — then the request counts
//! (postcard).

use crate::{OccurrenceRow, RequestCountRow, StackTraceRow};

use super::WriteError;

/// Rows from one request (text columns owned, or borrowed from the request: see
/// [`OccurrenceRow`]).
#[derive(Debug, Default, Clone)]
pub struct Batch<S = String> {
    /// Error occurrences.
    pub occurrences: Vec<OccurrenceRow<S>>,
    /// Request counts (merged with other jobs' before insert).
    pub requests: Vec<RequestCountRow>,
    /// Stack-trace texts the occurrences refer to by hash and that were not spooled yet that day
    /// (see [`StackTexts`]).
    pub stacktraces: Vec<StackTraceRow>,
}

/// First bytes of a spool record: sections of rows already in ClickHouse's `RowBinary` (sent by
/// the drainer as they are), then the request counts. (0.1.0 was never released with another
/// format; a record without them is refused and set aside, never misread.)
const BATCH_MAGIC: &[u8; 4] = b"FLB3";

/// Appends `n` rows as one section: row count and byte length (u32 LE each), then the rows.
fn put_section<T>(out: &mut Vec<u8>, rows: &[T], write: impl Fn(&T, &mut Vec<u8>)) {
    out.extend_from_slice(&(rows.len() as u32).to_le_bytes());
    let len_at = out.len();
    out.extend_from_slice(&[0; 4]);
    let start = out.len();
    for r in rows {
        write(r, out);
    }
    let len = (out.len() - start) as u32;
    out[len_at..start].copy_from_slice(&len.to_le_bytes());
}

/// Reads a section written by [`put_section`]: `(rows, bytes)`.
fn take_section<'a>(buf: &mut &'a [u8]) -> Result<(usize, &'a [u8]), String> {
    let mut word = || -> Result<usize, String> {
        let (w, rest) = buf
            .split_first_chunk::<4>()
            .ok_or("spool record cut short")?;
        *buf = rest;
        Ok(u32::from_le_bytes(*w) as usize)
    };
    let (n, len) = (word()?, word()?);
    if buf.len() < len {
        return Err("spool record cut short".into());
    }
    let (rows, rest) = buf.split_at(len);
    *buf = rest;
    Ok((n, rows))
}

impl<S: AsRef<str> + Default + Into<String>> Batch<S> {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.occurrences.is_empty() && self.requests.is_empty()
    }

    /// The spool record of this batch; `None` when there is nothing to write.
    pub fn encode(&self) -> Result<Option<Vec<u8>>, WriteError> {
        if self.is_empty() {
            return Ok(None);
        }
        // Sized up front: growing a multi-megabyte record by doubling copies it again and again.
        let rows: usize = self
            .occurrences
            .iter()
            .map(OccurrenceRow::approx_bytes)
            .sum();
        let texts: usize = self
            .stacktraces
            .iter()
            .map(|t| t.project.len() + t.stacktrace.len() + 24)
            .sum();
        let mut out = Vec::with_capacity(BATCH_MAGIC.len() + 16 + rows + texts + 64);
        out.extend_from_slice(BATCH_MAGIC);
        put_section(&mut out, &self.occurrences, OccurrenceRow::write_row_binary);
        put_section(&mut out, &self.stacktraces, StackTraceRow::write_row_binary);
        postcard::to_extend(&self.requests, out)
            .map(Some)
            .map_err(|e| WriteError::Unavailable(e.to_string()))
    }
}

/// A spool record as the drainer reads it: rows in `RowBinary`, ready to send.
#[derive(Debug, Default)]
pub struct Spooled {
    /// Occurrence rows, `RowBinary`.
    pub occurrences: Vec<u8>,
    /// How many.
    pub n_occurrences: usize,
    /// Stack-trace rows, `RowBinary`.
    pub stacktraces: Vec<u8>,
    /// Request counts.
    pub requests: Vec<RequestCountRow>,
}

impl Spooled {
    /// Reads a spool record.
    pub fn decode(record: &[u8]) -> Result<Spooled, String> {
        let mut s = Spooled::default();
        s.append(record)?;
        Ok(s)
    }

    /// Room for the rows of `records`, reserved before [`append`](Self::append)ing them: a second
    /// of single-event records is thousands of appends into megabytes, which growing by doubling
    /// copied again and again into freshly faulted pages (a twentieth of the CPU of one-event
    /// requests). Records that do not read are left out of the count.
    pub(super) fn reserve_for<'r>(&mut self, records: impl Iterator<Item = &'r [u8]>) {
        let (mut occurrences, mut stacktraces) = (0, 0);
        for record in records {
            let Some(mut body) = record.strip_prefix(BATCH_MAGIC.as_slice()) else {
                continue;
            };
            if let (Ok((_, o)), Ok((_, t))) = (take_section(&mut body), take_section(&mut body)) {
                occurrences += o.len();
                stacktraces += t.len();
            }
        }
        self.occurrences.reserve_exact(occurrences);
        self.stacktraces.reserve_exact(stacktraces);
    }

    /// Appends a spool record's rows (the drainer merges a range of records into one insert).
    /// Nothing is appended when the record does not read.
    pub(super) fn append(&mut self, record: &[u8]) -> Result<(), String> {
        let mut body = record
            .strip_prefix(BATCH_MAGIC.as_slice())
            .ok_or("not a spool record of this format")?;
        let (n_occurrences, occurrences) = take_section(&mut body)?;
        let (_, stacktraces) = take_section(&mut body)?;
        let requests: Vec<RequestCountRow> =
            postcard::from_bytes(body).map_err(|e| e.to_string())?;
        self.occurrences.extend_from_slice(occurrences);
        self.n_occurrences += n_occurrences;
        self.stacktraces.extend_from_slice(stacktraces);
        self.requests.extend(requests);
        Ok(())
    }

    /// The occurrence rows, decoded (replays on servers without dedup tokens, tests).
    pub fn occurrence_rows(&self) -> Result<Vec<OccurrenceRow>, String> {
        crate::rowbinary::read_occurrences(&self.occurrences).map_err(|e| e.to_string())
    }

    /// The stack-trace rows, decoded (tests).
    pub fn stacktrace_rows(&self) -> Result<Vec<StackTraceRow>, String> {
        let mut r = crate::rowbinary::Reader(&self.stacktraces);
        let mut out = Vec::new();
        while !r.is_empty() {
            out.push(StackTraceRow::read_row_binary(&mut r).map_err(|e| e.to_string())?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_of_another_format_is_refused() {
        // What a record without the magic looks like: say, postcard structs.
        let other = postcard::to_allocvec(&vec![RequestCountRow {
            project: "p".into(),
            requests: 3,
            ..Default::default()
        }])
        .expect("encode");
        assert!(Spooled::decode(&other).is_err());
        assert!(Spooled::decode(b"").is_err());
        let mut s = Spooled::default();
        assert!(s.append(b"FLB2rest").is_err());
        assert_eq!(
            (s.n_occurrences, s.occurrences.len(), s.requests.len()),
            (0, 0, 0),
            "nothing appended from a refused record"
        );
    }

    #[test]
    fn room_for_a_range_of_records_is_made_once() {
        let records: Vec<Vec<u8>> = (0..50u64)
            .map(|i| {
                let b = Batch::<String> {
                    occurrences: vec![OccurrenceRow {
                        project: format!("p{i}"),
                        message: "m".repeat(i as usize * 7),
                        ..Default::default()
                    }],
                    stacktraces: vec![StackTraceRow {
                        project: "p".into(),
                        stack_hash: i,
                        stacktrace: "at f()\n".repeat(i as usize),
                        ..Default::default()
                    }],
                    requests: Vec::new(),
                };
                b.encode().expect("encode").expect("rows")
            })
            .collect();
        let mut s = Spooled::default();
        s.reserve_for(
            records
                .iter()
                .map(|r| &r[..])
                .chain([&b"FLB2 not ours"[..]]),
        );
        let room = (s.occurrences.capacity(), s.stacktraces.capacity());
        for r in &records {
            s.append(r).expect("append");
        }
        assert_eq!(s.n_occurrences, 50);
        assert!(s.occurrences.len() <= room.0 && s.stacktraces.len() <= room.1);
        assert_eq!(
            (s.occurrences.capacity(), s.stacktraces.capacity()),
            room,
            "the room was reserved before: no growth while appending"
        );
    }
}
