//! Request bodies decompressed (`content-encoding` gzip, deflate, br), never past a limit.
//!
//! gzip and deflate reuse one decompressor per thread: building one costs a 43 KB state zeroed
//! and a 32 KB read buffer, which for a small Sentry envelope (one event, ~1.5 KB gzipped, as
//! sentry-python sends each error) was most of the work of reading it.
//!
//! A gzip body of one member whose trailer announces a size within the limit is first inflated in
//! one call by libdeflate into a buffer of exactly that size (a third faster than zlib-rs's
//! streaming inflate on one-event envelopes, the largest step of reading one: `bench/RESULTS.md`);
//! whatever it refuses (a size that lies, trailing bytes, several members, bad data) takes the
//! streaming path, which gives the same output or names the fault.

use std::cell::RefCell;
use std::io::Read;

use bytes::Bytes;
use flate2::{Decompress, FlushDecompress, Status};

use crate::error::IngestError;

/// How a request body is compressed (`content-encoding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Not compressed (`identity` or no header).
    None,
    /// `gzip`.
    Gzip,
    /// `deflate` (zlib-wrapped, as HTTP means it; a raw deflate stream is accepted too).
    Deflate,
    /// `br` (sentry-python sends brotli whenever the `brotli` package is installed).
    Brotli,
}

thread_local! {
    /// Raw deflate (gzip's payload, and raw `deflate` bodies) and zlib-wrapped deflate.
    static RAW: RefCell<Decompress> = RefCell::new(Decompress::new(false));
    static ZLIB: RefCell<Decompress> = RefCell::new(Decompress::new(true));
    /// Whole gzip members of a known size.
    static WHOLE: RefCell<libdeflater::Decompressor> = RefCell::new(libdeflater::Decompressor::new());
}

/// Deflate expands at most 1032:1: a trailer announcing more than that of its body lies, and is
/// not worth a buffer.
const MAX_RATIO: usize = 1032;

fn too_large(max: usize) -> IngestError {
    IngestError::PayloadTooLarge(format!(
        "decompressed body exceeds the limit of {max} bytes (FAULTLINE_MAX_DECOMPRESSED_BYTES)"
    ))
}

fn invalid(name: &str, why: impl std::fmt::Display) -> IngestError {
    IngestError::BadRequest(format!("body is not valid {name}: {why}"))
}

/// Undoes `compression`, refusing to inflate past `max` bytes. Run on the blocking thread of a
/// request's ingest job, not on the async runtime.
pub fn inflate(compression: Compression, body: Bytes, max: usize) -> Result<Bytes, IngestError> {
    match compression {
        Compression::None => Ok(body),
        Compression::Gzip => gunzip(&body, max).map(Bytes::from),
        Compression::Deflate => {
            // HTTP's `deflate` is zlib-wrapped; some clients send the raw stream.
            let zlib = body.len() >= 2 && u16::from_be_bytes([body[0], body[1]]).is_multiple_of(31);
            let cell = if zlib { &ZLIB } else { &RAW };
            cell.with(|d| deflate(&mut d.borrow_mut(), zlib, &body, max, "deflate"))
                .map(|(out, _)| Bytes::from(out))
        }
        Compression::Brotli => {
            let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(max));
            brotli::Decompressor::new(&body[..], 4096)
                .take(max as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| invalid("br", e))?;
            if out.len() > max {
                return Err(too_large(max));
            }
            Ok(Bytes::from(out))
        }
    }
}

/// Inflates one deflate stream from the start of `input` with `d` (reset first); returns the
/// output and how many input bytes the stream took.
fn deflate(
    d: &mut Decompress,
    zlib: bool,
    input: &[u8],
    max: usize,
    name: &str,
) -> Result<(Vec<u8>, usize), IngestError> {
    d.reset(zlib);
    let mut out = Vec::with_capacity(input.len().saturating_mul(4).clamp(64, max.max(64)));
    loop {
        if out.len() == out.capacity() {
            // Room for more (one byte past the limit at most, to tell "too large").
            let more = out.capacity().min(max + 1 - out.len()).max(1);
            out.reserve(more);
        }
        let (consumed, produced) = (d.total_in() as usize, out.len());
        let status = d
            .decompress_vec(&input[consumed..], &mut out, FlushDecompress::None)
            .map_err(|e| invalid(name, e))?;
        if out.len() > max {
            return Err(too_large(max));
        }
        if status == Status::StreamEnd {
            return Ok((out, d.total_in() as usize));
        }
        let stuck = d.total_in() as usize == consumed && out.len() == produced;
        if stuck && out.len() < out.capacity() {
            return Err(invalid(name, "unexpected end of the compressed data"));
        }
    }
}

/// A gzip member (RFC 1952): header, deflate stream, CRC-32 and size checked.
fn gunzip(body: &[u8], max: usize) -> Result<Vec<u8>, IngestError> {
    const NAME: &str = "gzip";
    let bad = |why: &str| invalid(NAME, why);
    if body.len() < 18 || body[0] != 0x1f || body[1] != 0x8b {
        return Err(bad("missing gzip header"));
    }
    if body[2] != 8 {
        return Err(bad("unknown compression method"));
    }
    let flags = body[3];
    let mut at = 10;
    let skip_zero_terminated =
        |at: usize| -> Option<usize> { memchr::memchr(0, body.get(at..)?).map(|i| at + i + 1) };
    if flags & 0x04 != 0 {
        let len = u16::from_le_bytes([
            *body.get(at).ok_or_else(|| bad("truncated header"))?,
            *body.get(at + 1).ok_or_else(|| bad("truncated header"))?,
        ]);
        at += 2 + len as usize;
    }
    if flags & 0x08 != 0 {
        at = skip_zero_terminated(at).ok_or_else(|| bad("truncated file name"))?;
    }
    if flags & 0x10 != 0 {
        at = skip_zero_terminated(at).ok_or_else(|| bad("truncated comment"))?;
    }
    if flags & 0x02 != 0 {
        at += 2;
    }
    let stream = body.get(at..).ok_or_else(|| bad("truncated header"))?;
    if let Some(out) = gunzip_whole(body, max) {
        return Ok(out);
    }
    let (out, used) = RAW.with(|d| deflate(&mut d.borrow_mut(), false, stream, max, NAME))?;
    let trailer = stream
        .get(used..used + 8)
        .ok_or_else(|| bad("missing CRC and size trailer"))?;
    let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    let size = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
    if crc32fast::hash(&out) != crc || size != out.len() as u32 {
        return Err(bad("checksum mismatch"));
    }
    Ok(out)
}

/// `body` inflated in one call into a buffer of the size its trailer announces, if it is one whole
/// gzip member of that size within `max` (CRC and size checked by libdeflate); `None` otherwise.
fn gunzip_whole(body: &[u8], max: usize) -> Option<Vec<u8>> {
    let trailer = body.get(body.len().checked_sub(4)?..)?;
    let size = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]) as usize;
    if size > max || size > body.len().saturating_mul(MAX_RATIO) {
        return None;
    }
    let mut out = vec![0; size];
    let got = WHOLE.with(|d| d.borrow_mut().gzip_decompress(body, &mut out));
    (got == Ok(size)).then_some(out)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).expect("gzip");
        e.finish().expect("gzip")
    }

    #[test]
    fn whole_members_take_the_one_call_path_and_the_rest_the_streaming_one() {
        let data = br#"{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","exception":{"values":[]}}"#
            .repeat(40);
        let body = gz(&data);
        assert_eq!(gunzip_whole(&body, 1 << 20).as_deref(), Some(&data[..]));
        // Over the limit: not tried (the streaming path says 413).
        assert_eq!(gunzip_whole(&body, data.len() - 1), None);
        let with_size = |size: u32| {
            let mut b = body.clone();
            let n = b.len();
            b[n - 4..].copy_from_slice(&size.to_le_bytes());
            b
        };
        let n = data.len() as u32;
        for lie in [n - 1, n + 1, 0, u32::MAX] {
            let b = with_size(lie);
            assert_eq!(gunzip_whole(&b, 1 << 30), None, "size {lie}");
            let e = gunzip(&b, 1 << 30).expect_err("a lying size is refused");
            assert!(e.to_string().contains("checksum"), "{e}");
        }
        // Bytes after the member, or a second member: read as before, by the streaming path.
        let mut trailing = body.clone();
        trailing.extend_from_slice(b"\n");
        let mut two = body.clone();
        two.extend_from_slice(&gz(b"more"));
        for b in [trailing, two] {
            assert_eq!(gunzip_whole(&b, 1 << 20), None);
            assert_eq!(gunzip(&b, 1 << 20).expect("first member"), data);
        }
    }

    #[test]
    fn every_encoding_round_trips_and_stops_at_the_limit() {
        let data: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let zlib = {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(&data).expect("zlib");
            e.finish().expect("zlib")
        };
        let raw = {
            let mut e =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(&data).expect("deflate");
            e.finish().expect("deflate")
        };
        let br = {
            let mut out = Vec::new();
            let mut w = brotli::CompressorWriter::new(&mut out, 4096, 4, 22);
            w.write_all(&data).expect("br");
            drop(w);
            out
        };
        // A named, commented, extra-field gzip header, as some clients write.
        let mut named = flate2::GzBuilder::new()
            .filename("a.json")
            .comment("c")
            .extra(vec![1, 2, 3])
            .write(Vec::new(), flate2::Compression::fast());
        named.write_all(&data).expect("gzip");
        let named = named.finish().expect("gzip");
        for round in 0..2 {
            for (c, body) in [
                (Compression::Gzip, gz(&data)),
                (Compression::Gzip, named.clone()),
                (Compression::Deflate, zlib.clone()),
                (Compression::Deflate, raw.clone()),
                (Compression::Brotli, br.clone()),
            ] {
                let out = inflate(c, Bytes::from(body.clone()), data.len()).expect("inflates");
                assert_eq!(&out[..], &data[..], "{c:?} round {round}");
                let e = inflate(c, Bytes::from(body), data.len() - 1).expect_err("over the limit");
                assert!(matches!(e, IngestError::PayloadTooLarge(_)), "{c:?}: {e}");
            }
        }
        let mut corrupt = gz(b"hello hello hello");
        let n = corrupt.len();
        corrupt[n - 6] ^= 1;
        assert!(inflate(Compression::Gzip, Bytes::from(corrupt), 1 << 20).is_err());
        for bad in [
            &b""[..],
            b"\x1f\x8b",
            b"not gzip at all, no",
            &gz(b"x")[..12],
        ] {
            assert!(inflate(Compression::Gzip, Bytes::copy_from_slice(bad), 1 << 20).is_err());
        }
    }
}
