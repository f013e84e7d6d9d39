//! A partition's batch of probe-event record values, from the raw bytes to
//! the trace join's events, without the decoded events leaving Rust.
//!
//! [`ProbeBatch::decode`] decodes every value ([`crate::probe_events::decode`]);
//! the values it leaves undecided are settled by the caller's validator
//! ([`ProbeBatch::settle`]); [`ProbeBatch::bound`] refuses the events too far
//! from their record timestamps; [`ProbeBatch::joinable`] gives the events
//! the trace join takes (valid, payload within the capture cap) with their
//! traces in first-seen order; [`ProbeBatch::refusals`] gives, after the
//! join, every other event's refusal in event order. The strings of a batch
//! (trace ids, assets) are kept once each; the payloads in one arena.
//!
//! ```
//! use matcher_rs::probe_batch::{ProbeBatch, Refusal, Settled};
//! use matcher_rs::trace_join::Admission;
//! let ok = br#"{"v":1,"type":"probe","ts":5,"trace_id":"t","role":"sink","asset":"db://x","payload":{"a":1}}"#;
//! let mut batch = ProbeBatch::decode(&[Some(&ok[..]), Some(b"[]"), None]);
//! assert_eq!(batch.undecided(), vec![2]);
//! batch.settle(2, Settled::Invalid("a tombstone".into()));
//! assert_eq!(batch.dead(), vec![(1, Some("event is not a JSON object"), None),
//!                               (2, Some("a tombstone"), None)]);
//! let (events, traces) = batch.joinable(1024).unwrap();
//! assert_eq!((events.len(), batch.string(traces[0])), (1, "t"));
//! assert!(batch.refusals(1024, &[Admission::Late]).unwrap() == vec![(0, 5, Refusal::Late)]);
//! ```

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::probe_events::{decode, Role, Verdict};
use crate::trace_join::{Admission, Capture, Event};

/// A fast hash for a batch's short strings (SipHash was a tenth of the
/// decode; no hash flooding is possible through a per-batch table).
#[derive(Default)]
pub struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// What became of one record value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Slot {
    /// A valid probe event (`trace` and `asset` index the string table).
    Probe {
        trace: u32,
        ts: i64,
        sink: bool,
        asset: u32,
        payload: Range<usize>,
    },
    /// A valid envelope whose payload cannot be read.
    Fault { ts: i64, reason: String },
    /// An invalid envelope, with its reason.
    Invalid(Cow<'static, str>),
    /// A valid event refused by the event-time bounds (the caller words it).
    OutOfBounds { ts: i64 },
    /// Left to the caller's validator.
    Undecided,
    /// Valid for the caller's validator, but its `ts` is beyond 64 bits:
    /// the caller bounds it, and it cannot be joined.
    Held,
}

/// A value's verdict: the caller's validator's for an undecided value
/// (`ProbeBatch::settle`), or a valid event as decoded (`ProbeBatch::valid`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled<'a> {
    Probe {
        trace_id: &'a str,
        ts: i64,
        sink: bool,
        asset: &'a str,
        payload: &'a [u8],
    },
    Fault {
        reason: Cow<'a, str>,
        ts: i64,
    },
    Invalid(Cow<'a, str>),
    /// Valid, its `ts` beyond 64 bits (see `Slot::Held`).
    Held,
}

/// Why an event that passed the envelope check did not reach a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal<'a> {
    /// Its payload cannot be read (the validator's reason).
    Fault(&'a str),
    /// Its payload is over the capture cap (its size in bytes).
    Oversize(usize),
    /// Its window was already closed.
    Late,
    /// Its window is over its caps.
    Overflow,
}

/// What keeps a batch from the join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unjoinable {
    /// A value is still undecided.
    Undecided,
    /// A valid event's `ts` is beyond 64 bits.
    Held,
}

/// One batch (see the module documentation).
#[derive(Debug, Default)]
pub struct ProbeBatch {
    slots: Vec<Slot>,
    arena: Vec<u8>,
    strings: Vec<String>,
    index: HashMap<String, u32, BuildHasherDefault<FxHasher>>,
}

impl ProbeBatch {
    /// Decode every value (`None`: a tombstone, left undecided).
    pub fn decode(values: &[Option<&[u8]>]) -> ProbeBatch {
        let mut batch = ProbeBatch {
            slots: Vec::with_capacity(values.len()),
            arena: Vec::with_capacity(values.iter().flatten().map(|r| r.len()).sum()),
            ..ProbeBatch::default()
        };
        for raw in values {
            let Some(raw) = raw else {
                batch.slots.push(Slot::Undecided);
                continue;
            };
            let mark = batch.arena.len();
            let verdict = catch_unwind(AssertUnwindSafe(|| decode(raw, &mut batch.arena)))
                .unwrap_or(Verdict::Undecided);
            let slot = match verdict {
                Verdict::Probe(e) => Slot::Probe {
                    trace: batch.intern(&e.trace_id),
                    ts: e.ts,
                    sink: e.role == Role::Sink,
                    asset: batch.intern(&e.asset),
                    payload: e.payload,
                },
                Verdict::Invalid(reason) => Slot::Invalid(Cow::Borrowed(reason)),
                Verdict::Undecided => Slot::Undecided,
            };
            if !matches!(slot, Slot::Probe { .. }) {
                batch.arena.truncate(mark);
            }
            batch.slots.push(slot);
        }
        batch
    }

    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.strings.len() as u32;
        self.strings.push(s.to_owned());
        self.index.insert(s.to_owned(), i);
        i
    }

    /// A string of the batch's table (a trace id or an asset).
    pub fn string(&self, i: u32) -> &str {
        &self.strings[i as usize]
    }

    /// How many values there are.
    pub fn values(&self) -> usize {
        self.slots.len()
    }

    /// The valid events (those with a readable payload or not), as the
    /// decode's Python side counts them.
    pub fn events(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| matches!(s, Slot::Probe { .. } | Slot::Fault { .. } | Slot::Held))
            .count()
    }

    /// The valid events, in order, with their indexes (for a caller that
    /// wants to see them; the join does not need this).
    pub fn valid(&self) -> Vec<(usize, Settled<'_>)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match s {
                Slot::Probe {
                    trace,
                    ts,
                    sink,
                    asset,
                    payload,
                } => Some((
                    i,
                    Settled::Probe {
                        trace_id: self.string(*trace),
                        ts: *ts,
                        sink: *sink,
                        asset: self.string(*asset),
                        payload: &self.arena[payload.clone()],
                    },
                )),
                Slot::Fault { ts, reason } => Some((
                    i,
                    Settled::Fault {
                        reason: Cow::Borrowed(reason),
                        ts: *ts,
                    },
                )),
                Slot::Held => Some((i, Settled::Held)),
                _ => None,
            })
            .collect()
    }

    /// The values left to the caller's validator, in order.
    pub fn undecided(&self) -> Vec<usize> {
        (0..self.slots.len())
            .filter(|&i| self.slots[i] == Slot::Undecided)
            .collect()
    }

    /// The valid events whose `ts` is beyond 64 bits, in order.
    pub fn held(&self) -> Vec<usize> {
        (0..self.slots.len())
            .filter(|&i| self.slots[i] == Slot::Held)
            .collect()
    }

    /// The caller's verdict for value `i`.
    pub fn settle(&mut self, i: usize, verdict: Settled<'_>) {
        let slot = match verdict {
            Settled::Probe {
                trace_id,
                ts,
                sink,
                asset,
                payload,
            } => {
                let start = self.arena.len();
                self.arena.extend_from_slice(payload);
                Slot::Probe {
                    trace: self.intern(trace_id),
                    ts,
                    sink,
                    asset: self.intern(asset),
                    payload: start..self.arena.len(),
                }
            }
            Settled::Fault { reason, ts } => Slot::Fault {
                ts,
                reason: reason.into_owned(),
            },
            Settled::Invalid(reason) => Slot::Invalid(Cow::Owned(reason.into_owned())),
            Settled::Held => Slot::Held,
        };
        self.slots[i] = slot;
    }

    /// Refuse the valid events whose time strays from their record timestamp
    /// (`None` or negative: none) by more than `max_future_ms` ahead or
    /// `max_age_ms` behind (negative: no lower bound), as
    /// `state.windows.EventTimeBounds.refusal` does.
    pub fn bound(&mut self, record_ts: &[Option<i64>], max_future_ms: i64, max_age_ms: i64) {
        for (slot, record) in self.slots.iter_mut().zip(record_ts) {
            let ts = match slot {
                Slot::Probe { ts, .. } | Slot::Fault { ts, .. } => *ts,
                _ => continue,
            };
            let Some(record) = record.filter(|r| *r >= 0) else {
                continue;
            };
            let ahead = ts as i128 - record as i128;
            if ahead > max_future_ms as i128 || (max_age_ms >= 0 && -ahead > max_age_ms as i128) {
                *slot = Slot::OutOfBounds { ts };
            }
        }
    }

    /// The values dead before any window: `(index, reason, None)` for an
    /// invalid envelope, `(index, None, Some(ts))` for an event out of bounds;
    /// in order.
    pub fn dead(&self) -> Vec<(usize, Option<&str>, Option<i64>)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match s {
                Slot::Invalid(reason) => Some((i, Some(&**reason), None)),
                Slot::OutOfBounds { ts } => Some((i, None, Some(*ts))),
                _ => None,
            })
            .collect()
    }

    /// The events the trace join takes (valid, payload at most
    /// `max_capture_bytes`), each with its trace's index into the returned
    /// trace list (string indexes, in first-seen order).
    pub fn joinable(
        &self,
        max_capture_bytes: usize,
    ) -> Result<(Vec<Event<'_>>, Vec<u32>), Unjoinable> {
        let mut position = vec![u32::MAX; self.strings.len()];
        let mut traces = Vec::new();
        let mut events = Vec::with_capacity(self.slots.len());
        for slot in &self.slots {
            match slot {
                Slot::Probe {
                    trace,
                    ts,
                    sink,
                    asset,
                    payload,
                } if payload.len() <= max_capture_bytes => {
                    let at = &mut position[*trace as usize];
                    if *at == u32::MAX {
                        *at = traces.len() as u32;
                        traces.push(*trace);
                    }
                    events.push(Event {
                        trace: *at,
                        capture: Capture {
                            sink: *sink,
                            asset: &self.strings[*asset as usize],
                            ts: *ts,
                            payload: &self.arena[payload.clone()],
                        },
                    });
                }
                Slot::Undecided => return Err(Unjoinable::Undecided),
                Slot::Held => return Err(Unjoinable::Held),
                _ => {}
            }
        }
        Ok((events, traces))
    }

    /// After the join (`admissions`: one per joinable event), every valid
    /// event that did not reach its window, in event order: `(index, ts,
    /// refusal)`. `None` if `admissions` is not one per joinable event.
    pub fn refusals(
        &self,
        max_capture_bytes: usize,
        admissions: &[Admission],
    ) -> Option<Vec<(usize, i64, Refusal<'_>)>> {
        let mut admissions = admissions.iter();
        let mut out = Vec::new();
        for (i, slot) in self.slots.iter().enumerate() {
            match slot {
                Slot::Fault { ts, reason } => out.push((i, *ts, Refusal::Fault(reason))),
                Slot::Probe { ts, payload, .. } if payload.len() > max_capture_bytes => {
                    out.push((i, *ts, Refusal::Oversize(payload.len())))
                }
                Slot::Probe { ts, .. } => match admissions.next()? {
                    Admission::Stored => {}
                    Admission::Late => out.push((i, *ts, Refusal::Late)),
                    Admission::Overflow => out.push((i, *ts, Refusal::Overflow)),
                },
                _ => {}
            }
        }
        admissions.next().is_none().then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(trace: &str, ts: i64, role: &str, payload: &str) -> Vec<u8> {
        format!(
            r#"{{"v":1,"type":"probe","ts":{ts},"trace_id":"{trace}","role":"{role}","asset":"db://{role}","payload":{payload}}}"#
        )
        .into_bytes()
    }

    #[test]
    fn joinable_events_keep_order_and_number_traces_by_first_sight() {
        let values = [
            probe("b", 10, "source", r#""abcd""#),
            probe("a", 11, "sink", r#""abcdefgh""#),
            probe("b", 12, "sink", r#""x""#),
        ];
        let raws: Vec<Option<&[u8]>> = values.iter().map(|v| Some(&v[..])).collect();
        let batch = ProbeBatch::decode(&raws);
        assert_eq!(batch.events(), 3);
        // the second payload (10 bytes with its quotes) is over a cap of 8
        let (events, traces) = batch.joinable(8).unwrap();
        let names: Vec<&str> = traces.iter().map(|t| batch.string(*t)).collect();
        assert_eq!(names, ["b"]);
        assert_eq!(
            events
                .iter()
                .map(|e| (e.trace, e.capture.ts))
                .collect::<Vec<_>>(),
            [(0, 10), (0, 12)]
        );
        assert_eq!(events[1].capture.payload, b"\"x\"");
        let refusals = batch
            .refusals(8, &[Admission::Stored, Admission::Overflow])
            .unwrap();
        assert_eq!(
            refusals,
            [(1, 11, Refusal::Oversize(10)), (2, 12, Refusal::Overflow)]
        );
        assert!(batch.refusals(8, &[Admission::Stored]).is_none());
    }

    #[test]
    fn settled_values_and_bounds() {
        let good = probe("t", 1000, "source", "1");
        let mut batch = ProbeBatch::decode(&[Some(&good[..]), None, Some(b"{"), Some(&good[..])]);
        assert_eq!(batch.undecided(), [1, 2]);
        assert_eq!(batch.joinable(100).err(), Some(Unjoinable::Undecided));
        batch.settle(
            1,
            Settled::Probe {
                trace_id: "u",
                ts: 900,
                sink: true,
                asset: "db://y",
                payload: b"2.5",
            },
        );
        batch.settle(
            2,
            Settled::Fault {
                reason: "probe: unreadable".into(),
                ts: 5000,
            },
        );
        // record 1000: the first is on time, the second 100 ms old, the fault
        // 4000 ahead, the last has no record timestamp
        batch.bound(&[Some(1000), Some(1000), Some(1000), None], 1000, 50);
        assert_eq!(batch.events(), 2);
        assert_eq!(
            batch.valid()[1],
            (
                3,
                Settled::Probe {
                    trace_id: "t",
                    ts: 1000,
                    sink: false,
                    asset: "db://source",
                    payload: b"1"
                }
            )
        );
        assert_eq!(batch.dead(), [(1, None, Some(900)), (2, None, Some(5000))]);
        let (events, traces) = batch.joinable(100).unwrap();
        assert_eq!((events.len(), traces.len()), (2, 1));
        // no lower bound with max_age_ms -1
        batch.settle(
            1,
            Settled::Probe {
                trace_id: "u",
                ts: -5,
                sink: true,
                asset: "db://y",
                payload: b"2.5",
            },
        );
        batch.bound(&[None, Some(i64::MAX), None, None], i64::MAX, -1);
        let (events, traces) = batch.joinable(100).unwrap();
        assert_eq!(events[1].capture.payload, b"2.5");
        assert_eq!(batch.string(traces[1]), "u");
    }

    #[test]
    fn a_panicking_or_invalid_value_never_stops_the_batch() {
        let batch = ProbeBatch::decode(&[Some(b"[]"), Some(b"\xff")]);
        assert_eq!(
            batch.dead()[0],
            (0, Some("event is not a JSON object"), None)
        );
        assert_eq!(batch.undecided(), [1]);
        assert_eq!(batch.values(), 2);
        let mut batch = batch;
        batch.settle(1, Settled::Held);
        assert_eq!((batch.held(), batch.events()), (vec![1], 1));
        assert_eq!(batch.joinable(10).err(), Some(Unjoinable::Held));
        assert_eq!(batch.valid(), [(1, Settled::Held)]);
    }
}
