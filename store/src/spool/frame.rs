//! A record's framing on disk: `[u32 payload length][u32 CRC-32 of payload][u64 appended at,
//! ms][payload]`, little endian. The committer writes it ([`put`]); the reader cuts records out of
//! one positioned read of a segment at a time ([`read_records`]).

use std::fs::File;
use std::os::unix::fs::FileExt;

/// Bytes before a record's payload.
pub(super) const HEADER: usize = 16;

/// Most bytes [`read_records`] takes from a segment in one read (a seek and two reads per record
/// were three system calls per single-event request).
const READ_AHEAD: usize = 256 << 10;

/// Appends the record of `payload`, appended at `ms`, to `buf`.
pub(super) fn put(buf: &mut Vec<u8>, payload: &[u8], ms: u64) {
    buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    buf.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    buf.extend_from_slice(&ms.to_le_bytes());
    buf.extend_from_slice(payload);
}

/// The records of `f` from `offset` (where one starts) until `limit` (the segment's durable or
/// closed end): at most `max_records`, and none more once `max_bytes` of payload are read, as
/// `(appended_ms, payload)`. One positioned read takes up to [`READ_AHEAD`] bytes (only the header
/// when one record is asked for: the oldest record's age is polled); a record larger than the
/// chunk is read alone. The whole records before a torn or corrupt one are returned; `Err` when
/// the first one is torn or corrupt. Empty only at `limit`.
pub(super) fn read_records(
    f: &File,
    offset: u64,
    limit: u64,
    max_records: usize,
    max_bytes: usize,
) -> Result<Vec<(u64, Vec<u8>)>, ()> {
    let avail = limit.saturating_sub(offset);
    let ahead = if max_records == 1 { HEADER } else { READ_AHEAD };
    let mut chunk = vec![0u8; avail.min(ahead as u64) as usize];
    f.read_exact_at(&mut chunk, offset).map_err(|_| ())?;
    let mut out = Vec::new();
    let (mut at, mut bytes) = (0usize, 0usize);
    // A torn or corrupt record ends the records read; it is the error of the next call.
    let fault = |out: Vec<_>| if out.is_empty() { Err(()) } else { Ok(out) };
    while out.len() < max_records && bytes < max_bytes && at < chunk.len() {
        let Some(h) = chunk.get(at..at + HEADER) else {
            // A header cut by the chunk's end is read with the next chunk; one cut by the
            // segment's end is torn.
            return if (at + HEADER) as u64 > avail {
                fault(out)
            } else {
                Ok(out)
            };
        };
        let len = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize;
        let crc = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
        let ms = u64::from_le_bytes([h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]]);
        let end = at + HEADER + len;
        if end as u64 > avail {
            return fault(out);
        }
        let payload = match chunk.get(at + HEADER..end) {
            Some(p) => p.to_vec(),
            None if at == 0 => {
                let mut p = vec![0u8; len];
                f.read_exact_at(&mut p, offset + HEADER as u64)
                    .map_err(|_| ())?;
                p
            }
            // Cut by the chunk's end: read with the next chunk.
            None => break,
        };
        if crc32fast::hash(&payload) != crc {
            return fault(out);
        }
        bytes += len;
        out.push((ms, payload));
        at = end;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_records_before_a_corrupt_one_are_read_and_the_corrupt_one_is_the_next_error() {
        let mut buf = Vec::new();
        for p in [&b"one"[..], b"two", b"three"] {
            put(&mut buf, p, 7);
        }
        let second = HEADER + 3;
        buf[second + HEADER] ^= 1; // a flipped bit in "two"
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("seg");
        std::fs::write(&path, &buf).expect("write");
        let f = File::open(&path).expect("open");
        let limit = buf.len() as u64;
        let first = read_records(&f, 0, limit, usize::MAX, usize::MAX).expect("a whole record");
        assert_eq!(first, vec![(7, b"one".to_vec())]);
        // One record asked for: its header read first, the payload after it.
        assert_eq!(read_records(&f, 0, limit, 1, usize::MAX), Ok(first));
        assert!(read_records(&f, second as u64, limit, usize::MAX, usize::MAX).is_err());
        // Torn: the segment ends inside the last record.
        let third = (second + HEADER + 3) as u64;
        assert!(read_records(&f, third, limit - 1, usize::MAX, usize::MAX).is_err());
        assert_eq!(read_records(&f, limit, limit, 1, 1), Ok(vec![]));
    }
}
