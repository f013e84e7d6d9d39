//! The store writes of a joined batch ([`crate::trace_join::Join`]), as
//! state/windows.py and state/traces.py lay them out, so the caller commits
//! them in its write batch without a Python statement per trace. Pure: keys
//! and values only; the caller (`state/`) seals the capture records and
//! writes everything.
//!
//! Per touched trace, in order: an earlier window the batch closed has its
//! expiry index entry, metadata and capture record deleted; a window opened
//! in the batch gets its index entry; the window's metadata is written
//! (format 2); its captures, when the batch stored any, become one record to
//! seal.

use crate::trace_join::{Join, Meta};

/// The key namespaces of one window kind (`trace|m|`, `trace|x|`, `trace|c|`).
#[derive(Debug, Clone, Copy)]
pub struct Prefixes<'a> {
    pub meta: &'a [u8],
    pub index: &'a [u8],
    pub record: &'a [u8],
}

/// A capture record to seal: its key, its window's close time, the packed
/// captures and how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub key: Vec<u8>,
    pub close_at: i64,
    pub packed: Vec<u8>,
    pub count: usize,
}

/// What a batch writes, in the order the Python bookkeeping writes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Writes {
    /// Puts (`Some`) and deletes (`None`); a later change of a key wins.
    pub changes: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    pub records: Vec<Record>,
    /// Per touched trace, in order: bit 0 its earlier window was read, bit 1
    /// the batch closed it, bit 2 its window at the end opened in the batch.
    pub flags: Vec<u8>,
    /// The index of each touched trace, in order (as in `flags`).
    pub order: Vec<u32>,
    /// Windows closed by the batch's events (earlier ones and transient ones).
    pub closed_early: u64,
}

/// `WindowMeta.to_bytes`: format byte 2, then `>qqiqq`.
pub fn meta_bytes(m: &Meta) -> Vec<u8> {
    let mut out = Vec::with_capacity(37);
    out.push(2u8);
    out.extend_from_slice(&m.first_ts.to_be_bytes());
    out.extend_from_slice(&m.close_at.to_be_bytes());
    out.extend_from_slice(&(m.count as i32).to_be_bytes());
    out.extend_from_slice(&m.size.to_be_bytes());
    out.extend_from_slice(&m.overflow.to_be_bytes());
    out
}

fn joined(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// The expiry index key: prefix, `%020d|` of the close time, the key.
pub fn index_key(prefix: &[u8], close_at: i64, id: &str) -> Vec<u8> {
    joined(&[prefix, format!("{close_at:020}|").as_bytes(), id.as_bytes()])
}

/// `length_prefixed(prefix, id)`: prefix, the id's byte length, `:`, id, `|`.
pub fn record_key(prefix: &[u8], id: &str) -> Vec<u8> {
    joined(&[
        prefix,
        format!("{}:", id.len()).as_bytes(),
        id.as_bytes(),
        b"|",
    ])
}

/// The writes of `join`; `ids[i]` is trace `i`, `priors[i]` its window before
/// the batch, `packed[k]` the packed captures of `join.traces[k]` (when any).
pub fn writes(
    join: &Join<'_>,
    ids: &[&str],
    priors: &[Option<Meta>],
    packed: Vec<Option<Vec<u8>>>,
    p: &Prefixes<'_>,
) -> Writes {
    let mut out = Writes {
        changes: Vec::with_capacity(join.traces.len() * 2),
        records: Vec::with_capacity(join.traces.len()),
        flags: Vec::with_capacity(join.traces.len()),
        order: Vec::with_capacity(join.traces.len()),
        ..Writes::default()
    };
    for (t, packed) in join.traces.iter().zip(packed) {
        let id = ids[t.trace as usize];
        let meta_key = joined(&[p.meta, id.as_bytes()]);
        if t.prior_closed {
            let prior = priors[t.trace as usize].expect("a closed window had metadata");
            out.changes
                .push((index_key(p.index, prior.close_at, id), None));
            out.changes.push((meta_key.clone(), None));
            out.changes.push((record_key(p.record, id), None));
        }
        if t.opened {
            out.changes
                .push((index_key(p.index, t.meta.close_at, id), Some(Vec::new())));
        }
        out.changes.push((meta_key, Some(meta_bytes(&t.meta))));
        if let Some(packed) = packed {
            out.records.push(Record {
                key: record_key(p.record, id),
                close_at: t.meta.close_at,
                packed,
                count: t.captures.as_ref().map_or(0, Vec::len),
            });
        }
        out.flags
            .push(u8::from(t.used_prior) | u8::from(t.prior_closed) << 1 | u8::from(t.opened) << 2);
        out.order.push(t.trace);
        out.closed_early += u64::from(t.prior_closed) + u64::from(t.transient);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace_join::TraceOutcome;

    #[test]
    fn keys_and_meta_are_laid_out_as_state_writes_them() {
        assert_eq!(
            index_key(b"trace|x|", 1500, "t1"),
            b"trace|x|00000000000000001500|t1"
        );
        assert_eq!(index_key(b"x|", -1, "t"), b"x|-0000000000000000001|t");
        assert_eq!(
            record_key(b"trace|c|", "\u{e9}t"),
            "trace|c|3:\u{e9}t|".as_bytes()
        );
        let m = Meta {
            first_ts: 1,
            close_at: 2,
            count: 3,
            size: 4,
            overflow: 5,
        };
        let raw = meta_bytes(&m);
        assert_eq!(raw.len(), 37);
        assert_eq!(raw[0], 2);
        assert_eq!(&raw[17..21], &3i32.to_be_bytes());
    }

    #[test]
    fn a_closed_window_is_deleted_before_its_successor_is_written() {
        let old = Meta {
            first_ts: 0,
            close_at: 10,
            count: 1,
            size: 1,
            overflow: 0,
        };
        let new = Meta {
            first_ts: 20,
            close_at: 30,
            count: 1,
            size: 2,
            overflow: 0,
        };
        let join = Join {
            traces: vec![TraceOutcome {
                trace: 0,
                prior_closed: true,
                transient: 1,
                meta: new,
                opened: true,
                used_prior: false,
                captures: None,
            }],
            ..Join::default()
        };
        let p = Prefixes {
            meta: b"m|",
            index: b"x|",
            record: b"c|",
        };
        let w = writes(&join, &["t"], &[Some(old)], vec![Some(b"pk".to_vec())], &p);
        let keys: Vec<(&[u8], bool)> = w
            .changes
            .iter()
            .map(|(k, v)| (k.as_slice(), v.is_some()))
            .collect();
        assert_eq!(
            keys,
            vec![
                (&b"x|00000000000000000010|t"[..], false),
                (&b"m|t"[..], false),
                (&b"c|1:t|"[..], false),
                (&b"x|00000000000000000030|t"[..], true),
                (&b"m|t"[..], true),
            ]
        );
        assert_eq!(
            w.records,
            vec![Record {
                key: b"c|1:t|".to_vec(),
                close_at: 30,
                packed: b"pk".to_vec(),
                count: 0
            }]
        );
        assert_eq!(
            (w.flags, w.order, w.closed_early),
            (vec![0b110], vec![0], 2)
        );
    }
}
