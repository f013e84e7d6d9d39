//! Kafka record batches (message format v2, uncompressed) read into columns:
//! the offset, timestamp, key and value of each record, as a consumer's
//! fetch returns them, without an object per record.
//!
//! [`read`] walks a partition's fetched bytes (a fetch response's record set)
//! from a byte position, as aiokafka's `PartitionRecords` does: a record
//! below the next offset to consume is skipped, a control batch is passed
//! over, and the next offset after a batch is the batch's own (its last
//! offset delta), so compacted-away records are stepped over too. It stops at
//! `limit` records ([`Stop::Limit`]: resume at [`Read::batch_pos`]), at the
//! end of the complete batches ([`Stop::End`]; a truncated last batch is
//! never read, as a fetch may end inside one), or at the first batch it
//! leaves to the caller's own reader ([`Stop::Unread`]): a compressed or
//! older-format batch, one whose CRC-32C does not match (when checked), or
//! one whose structure is not exactly as the format says. Nothing in a batch
//! is returned unless the whole batch is read, so the caller's reader takes
//! over at a batch boundary and raises its own errors there.
//!
//! Pure: bytes in, positions out. The keys and values are ranges of the input.
//!
//! ```
//! use matcher_rs::record_batch::{read, Stop};
//! // One batch at offset 7 holding a record with value "hi" and no key.
//! let batch = matcher_rs::record_batch::encode_batch(7, 1_000, &[(None, Some(&b"hi"[..]))]);
//! let got = read(&batch, 0, 0, 100, true);
//! assert_eq!(got.stop, Stop::End);
//! assert_eq!((got.offsets[0], got.timestamps[0]), (7, 1_000));
//! assert_eq!(&batch[got.values[0].clone().unwrap()], b"hi");
//! assert_eq!(got.next_offset, 8);
//! ```

use std::ops::Range;

/// Offset (8) and length (4): the bytes before a batch's length counts.
const LOG_OVERHEAD: usize = 12;
/// The batch header up to and including its record count.
const HEADER: usize = 61;
const MAGIC_AT: usize = 16;
const CRC_AT: usize = 17;
const ATTRIBUTES_AT: usize = 21;
const CODEC_MASK: u16 = 0x07;
const LOG_APPEND_TIME: u16 = 0x08;
const CONTROL: u16 = 0x20;

/// Why [`read`] stopped.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Every complete batch was read.
    #[default]
    End,
    /// `limit` records were taken; more may follow in the batch at `batch_pos`.
    Limit,
    /// The batch at `batch_pos` is left to the caller's reader.
    Unread,
}

/// The records read, in order, and where to go on.
#[derive(Debug, Default)]
pub struct Read {
    pub offsets: Vec<i64>,
    pub timestamps: Vec<i64>,
    pub keys: Vec<Option<Range<usize>>>,
    pub values: Vec<Option<Range<usize>>>,
    /// The next offset to consume.
    pub next_offset: i64,
    /// Where the batch to read next starts (for `Limit`, the batch stopped in).
    pub batch_pos: usize,
    pub stop: Stop,
}

fn int<const N: usize>(raw: &[u8], at: usize) -> Option<[u8; N]> {
    raw.get(at..at + N)?.try_into().ok()
}

/// A zig-zag varint (Kafka's `varint`/`varlong`), and the position after it.
fn varint(raw: &[u8], mut at: usize) -> Option<(i64, usize)> {
    let mut value: u64 = 0;
    for shift in (0..64).step_by(7) {
        let byte = *raw.get(at)?;
        at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some((((value >> 1) as i64) ^ -((value & 1) as i64), at));
        }
    }
    None
}

/// A length-prefixed byte string: None for a negative length (null).
fn bytes_at(raw: &[u8], at: usize, end: usize) -> Option<(Option<Range<usize>>, usize)> {
    let (len, at) = varint(raw, at)?;
    if len < 0 {
        return Some((None, at));
    }
    let stop = at.checked_add(usize::try_from(len).ok()?)?;
    (stop <= end).then_some((Some(at..stop), stop))
}

/// One record (from `at`, inside a batch ending at `end`): its offset and
/// timestamp deltas, key and value, and the position after it; None when
/// it is not exactly as the format says.
#[allow(clippy::type_complexity)]
fn record(
    raw: &[u8],
    at: usize,
    end: usize,
) -> Option<(i64, i64, Option<Range<usize>>, Option<Range<usize>>, usize)> {
    let (length, at) = varint(raw, at)?;
    let start = at;
    let stop = start.checked_add(usize::try_from(length).ok()?)?;
    if stop > end {
        return None;
    }
    let raw = &raw[..stop];
    let (_attributes, at) = varint(raw, at)?;
    let (ts_delta, at) = varint(raw, at)?;
    let (offset_delta, at) = varint(raw, at)?;
    let (key, at) = bytes_at(raw, at, stop)?;
    let (value, mut at) = bytes_at(raw, at, stop)?;
    let (headers, after) = varint(raw, at)?;
    if headers < 0 {
        return None;
    }
    at = after;
    for _ in 0..headers {
        let (name, after) = bytes_at(raw, at, stop)?;
        std::str::from_utf8(&raw[name?]).ok()?; // a header key is a UTF-8 string
        let (_value, after) = bytes_at(raw, after, stop)?;
        at = after;
    }
    (at == stop).then_some((offset_delta, ts_delta, key, value, stop))
}

/// The records of the complete batches in `raw` from byte `pos`, those at or
/// above offset `next_offset`, at most `limit` (see the module's docs).
pub fn read(raw: &[u8], pos: usize, next_offset: i64, limit: usize, check_crcs: bool) -> Read {
    let mut out = Read {
        next_offset,
        batch_pos: pos,
        ..Read::default()
    };
    let mut pos = pos;
    loop {
        out.batch_pos = pos;
        let Some(length) = int::<4>(raw, pos + 8).map(i32::from_be_bytes) else {
            out.stop = Stop::End;
            return out;
        };
        let Some(end) = usize::try_from(length)
            .ok()
            .and_then(|l| (pos + LOG_OVERHEAD).checked_add(l))
            .filter(|end| *end <= raw.len())
        else {
            out.stop = Stop::End; // a truncated last batch: the next fetch brings it whole
            return out;
        };
        match batch(raw, pos, end, &mut out, limit, check_crcs) {
            Some(true) => pos = end,
            Some(false) => {
                out.stop = Stop::Limit;
                return out;
            }
            None => {
                out.stop = Stop::Unread;
                return out;
            }
        }
    }
}

/// Read the batch `raw[pos..end]` into `out`: Some(true) when read whole,
/// Some(false) when `limit` was reached inside it, None (and `out` as it
/// was) when it is left to the caller's reader.
fn batch(
    raw: &[u8],
    pos: usize,
    end: usize,
    out: &mut Read,
    limit: usize,
    check: bool,
) -> Option<bool> {
    let b = &raw[pos..end];
    if b.len() < HEADER || b[MAGIC_AT] != 2 {
        return None;
    }
    if check && crc32c::crc32c(&b[ATTRIBUTES_AT..]) != u32::from_be_bytes(int(b, CRC_AT)?) {
        return None;
    }
    let attributes = u16::from_be_bytes(int(b, ATTRIBUTES_AT)?);
    let base_offset = i64::from_be_bytes(int(b, 0)?);
    let last_delta = i64::from(i32::from_be_bytes(int(b, 23)?));
    let first_ts = i64::from_be_bytes(int(b, 27)?);
    let max_ts = i64::from_be_bytes(int(b, 35)?);
    let count = i32::from_be_bytes(int(b, 57)?);
    let batch_next = base_offset.checked_add(last_delta)?.checked_add(1)?;
    if attributes & CONTROL != 0 {
        out.next_offset = batch_next;
        return Some(true);
    }
    if attributes & CODEC_MASK != 0 || count < 0 {
        return None;
    }
    // Parse the whole batch first: a malformed record anywhere leaves it all
    // to the caller's reader, which raises its own error for it.
    let mut records = Vec::with_capacity(count as usize);
    let mut at = pos + HEADER;
    for _ in 0..count {
        let (offset_delta, ts_delta, key, value, after) = record(raw, at, end)?;
        let offset = base_offset.checked_add(offset_delta)?;
        let ts = if attributes & LOG_APPEND_TIME != 0 {
            max_ts
        } else {
            first_ts.checked_add(ts_delta)?
        };
        records.push((offset, ts, key, value));
        at = after;
    }
    if at != end {
        return None;
    }
    let mut next = out.next_offset;
    for (offset, ts, key, value) in records {
        if offset < next {
            continue; // already consumed (a resumed batch)
        }
        if out.offsets.len() == limit {
            out.next_offset = next;
            return Some(false);
        }
        out.offsets.push(offset);
        out.timestamps.push(ts);
        out.keys.push(key);
        out.values.push(value);
        next = offset + 1;
    }
    out.next_offset = batch_next;
    Some(true)
}

/// A record's key and value, for [`encode_batch`].
pub type KeyValue<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

/// A v2 batch, uncompressed, create-time stamps, records one offset and one
/// millisecond apart: for the examples and tests.
pub fn encode_batch(base_offset: i64, first_ts: i64, records: &[KeyValue<'_>]) -> Vec<u8> {
    fn put_varint(out: &mut Vec<u8>, v: i64) {
        let mut z = ((v << 1) ^ (v >> 63)) as u64;
        while z >= 0x80 {
            out.push((z as u8) | 0x80);
            z >>= 7;
        }
        out.push(z as u8);
    }
    fn put_bytes(out: &mut Vec<u8>, b: Option<&[u8]>) {
        match b {
            None => put_varint(out, -1),
            Some(b) => {
                put_varint(out, b.len() as i64);
                out.extend_from_slice(b);
            }
        }
    }
    let mut body = Vec::new();
    for (i, (key, value)) in records.iter().enumerate() {
        let mut r = vec![0u8];
        put_varint(&mut r, i as i64);
        put_varint(&mut r, i as i64);
        put_bytes(&mut r, *key);
        put_bytes(&mut r, *value);
        put_varint(&mut r, 0);
        put_varint(&mut body, r.len() as i64);
        body.extend_from_slice(&r);
    }
    let n = records.len() as i64;
    let mut after_crc = Vec::new();
    after_crc.extend_from_slice(&0i16.to_be_bytes());
    after_crc.extend_from_slice(&((n - 1).max(0) as i32).to_be_bytes());
    after_crc.extend_from_slice(&first_ts.to_be_bytes());
    after_crc.extend_from_slice(&(first_ts + (n - 1).max(0)).to_be_bytes());
    after_crc.extend_from_slice(&(-1i64).to_be_bytes());
    after_crc.extend_from_slice(&(-1i16).to_be_bytes());
    after_crc.extend_from_slice(&(-1i32).to_be_bytes());
    after_crc.extend_from_slice(&(n as i32).to_be_bytes());
    after_crc.extend_from_slice(&body);
    let mut out = Vec::new();
    out.extend_from_slice(&base_offset.to_be_bytes());
    out.extend_from_slice(&((4 + 1 + 4 + after_crc.len()) as i32).to_be_bytes());
    out.extend_from_slice(&0i32.to_be_bytes());
    out.push(2);
    out.extend_from_slice(&crc32c::crc32c(&after_crc).to_be_bytes());
    out.extend_from_slice(&after_crc);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(raw: &[u8], got: &Read) -> Vec<Option<Vec<u8>>> {
        got.values
            .iter()
            .map(|v| v.clone().map(|r| raw[r].to_vec()))
            .collect()
    }

    /// Why it stopped, the offsets read, the next offset and where to go on.
    fn outline(got: &Read) -> (Stop, Vec<i64>, i64, usize) {
        (
            got.stop,
            got.offsets.clone(),
            got.next_offset,
            got.batch_pos,
        )
    }

    /// Set bytes of a batch and fix its CRC.
    fn patch(batch: &mut [u8], at: usize, bytes: &[u8]) {
        batch[at..at + bytes.len()].copy_from_slice(bytes);
        let crc = crc32c::crc32c(&batch[ATTRIBUTES_AT..]);
        batch[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
    }

    fn two_batches() -> Vec<u8> {
        let mut raw = encode_batch(
            10,
            100,
            &[(Some(b"k"), Some(b"a")), (None, None), (None, Some(b""))],
        );
        raw.extend(encode_batch(
            13,
            200,
            &[(None, Some(b"d")), (None, Some(b"e"))],
        ));
        raw
    }

    #[test]
    fn reads_every_record_of_complete_batches() {
        let raw = two_batches();
        let got = read(&raw, 0, 0, 100, true);
        assert_eq!(got.stop, Stop::End);
        assert_eq!(got.offsets, vec![10, 11, 12, 13, 14]);
        assert_eq!(got.timestamps, vec![100, 101, 102, 200, 201]);
        assert_eq!(got.keys[0].clone().map(|r| &raw[r]), Some(&b"k"[..]));
        assert_eq!(got.keys[1], None);
        let v = values(&raw, &got);
        assert_eq!(v[1], None);
        assert_eq!(v[2], Some(vec![]));
        assert_eq!(v[4], Some(b"e".to_vec()));
        assert_eq!((got.next_offset, got.batch_pos), (15, raw.len()));
    }

    #[test]
    fn a_limit_stops_inside_a_batch_and_resumes_there() {
        let raw = two_batches();
        let first = read(&raw, 0, 0, 2, true);
        assert_eq!(outline(&first), (Stop::Limit, vec![10, 11], 12, 0));
        let second = read(&raw, first.batch_pos, first.next_offset, 2, true);
        assert_eq!(
            (second.stop, second.offsets.clone(), second.next_offset),
            (Stop::Limit, vec![12, 13], 14)
        );
        let third = read(&raw, second.batch_pos, second.next_offset, 2, true);
        assert_eq!(
            (third.stop, third.offsets.clone(), third.next_offset),
            (Stop::End, vec![14], 15)
        );
    }

    #[test]
    fn records_below_the_next_offset_are_skipped() {
        let raw = two_batches();
        let got = read(&raw, 0, 12, 100, true);
        assert_eq!(got.offsets, vec![12, 13, 14]);
    }

    #[test]
    fn a_truncated_last_batch_is_left_for_the_next_fetch() {
        let raw = two_batches();
        let first_len = encode_batch(
            10,
            100,
            &[(Some(b"k"), Some(b"a")), (None, None), (None, Some(b""))],
        )
        .len();
        for cut in [raw.len() - 1, first_len + 5, first_len + 11] {
            let got = read(&raw[..cut], 0, 0, 100, true);
            assert_eq!(
                (got.stop, got.offsets.len(), got.batch_pos, got.next_offset),
                (Stop::End, 3, first_len, 13),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn a_bad_crc_is_left_to_the_caller_unless_unchecked() {
        let mut raw = two_batches();
        let value = raw.len() - 2; // the last record's value, "e"
        raw[value] ^= 1;
        let got = read(&raw, 0, 0, 100, true);
        assert_eq!(
            (got.stop, got.offsets.len(), got.next_offset),
            (Stop::Unread, 3, 13)
        );
        assert_eq!(read(&raw, 0, 0, 100, false).offsets.len(), 5);
    }

    #[test]
    fn compressed_and_older_batches_are_left_to_the_caller() {
        for (at, bytes) in [(ATTRIBUTES_AT, &[0u8, 1][..]), (MAGIC_AT, &[1u8][..])] {
            let mut raw = encode_batch(0, 5, &[(None, Some(b"x"))]);
            patch(&mut raw, at, bytes);
            let got = read(&raw, 0, 0, 100, true);
            assert_eq!(
                (got.stop, got.offsets.len(), got.batch_pos),
                (Stop::Unread, 0, 0)
            );
        }
    }

    #[test]
    fn a_control_batch_moves_the_offset_and_yields_nothing() {
        let mut raw = encode_batch(0, 5, &[(Some(b"\0\0\0\0"), Some(b"\0\0\0\0\0\0"))]);
        patch(&mut raw, ATTRIBUTES_AT, &[0, 0x20 | 0x10]);
        raw.extend(encode_batch(1, 9, &[(None, Some(b"y"))]));
        let got = read(&raw, 0, 0, 100, true);
        assert_eq!((got.offsets.clone(), got.next_offset), (vec![1], 2));
    }

    #[test]
    fn log_append_time_stamps_every_record_with_the_batch_maximum() {
        let mut raw = encode_batch(0, 5, &[(None, Some(b"x")), (None, Some(b"y"))]);
        patch(&mut raw, ATTRIBUTES_AT, &[0, 0x08]);
        patch(&mut raw, 35, &77i64.to_be_bytes());
        assert_eq!(read(&raw, 0, 0, 100, true).timestamps, vec![77, 77]);
    }

    #[test]
    fn the_next_offset_after_a_compacted_batch_is_the_batch_own() {
        let mut raw = encode_batch(20, 5, &[(None, Some(b"x"))]);
        patch(&mut raw, 23, &4i32.to_be_bytes()); // records 21..24 compacted away
        let got = read(&raw, 0, 0, 100, true);
        assert_eq!((got.offsets.clone(), got.next_offset), (vec![20], 25));
    }

    #[test]
    fn a_malformed_batch_is_left_whole_to_the_caller() {
        let good = encode_batch(0, 5, &[(None, Some(b"x"))]);
        // A record whose value runs past its own length; a count above the
        // records there.
        let mut bad_value = encode_batch(1, 5, &[(None, Some(b"abc")), (None, Some(b"d"))]);
        // First record: length, attrs, ts, offset, key; then a value length of 4.
        patch(&mut bad_value, HEADER + 1 + 3, &[8]);
        let mut too_many = encode_batch(1, 5, &[(None, Some(b"x"))]);
        patch(&mut too_many, 57, &2i32.to_be_bytes());
        for bad in [bad_value, too_many] {
            let mut raw = good.clone();
            raw.extend(&bad);
            let got = read(&raw, 0, 0, 100, true);
            assert_eq!(outline(&got), (Stop::Unread, vec![0], 1, good.len()));
        }
    }

    #[test]
    fn varints_round_trip_at_the_edges() {
        for v in [
            0i64,
            -1,
            1,
            63,
            -64,
            64,
            i32::MAX as i64,
            i32::MIN as i64,
            i64::MAX,
            i64::MIN,
        ] {
            let mut out = Vec::new();
            let mut z = ((v << 1) ^ (v >> 63)) as u64;
            while z >= 0x80 {
                out.push((z as u8) | 0x80);
                z >>= 7;
            }
            out.push(z as u8);
            assert_eq!(varint(&out, 0), Some((v, out.len())));
        }
        assert_eq!(varint(&[0x80; 11], 0), None);
        assert_eq!(varint(&[0x80], 0), None);
    }
}
