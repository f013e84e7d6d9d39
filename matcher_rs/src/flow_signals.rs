//! `flow-signals` record values in bulk: a partition's batch decoded,
//! validated and folded per observation for the edge merge, with no Python
//! object per signal.
//!
//! [`decode`] reads one value as `analyzers.signals.decode_signal` would
//! (`orjson.loads`, then `parse_signal`): a [`Signal`], the dead-letter
//! reason word for word ([`Verdict::Invalid`]), or [`Verdict::Undecided`]
//! for a rare shape left to the Python validator (invalid JSON, whose reason
//! quotes orjson's position; a repeated key; an integer beyond 64 bits).
//! [`SignalBatch`] decodes a batch, takes the caller's verdicts for the
//! undecided values ([`SignalBatch::settle`]), and folds the valid signals
//! with equal `signal_key` in the order each first appears
//! ([`SignalBatch::groups`]), as `analyzers.signals.fold` does. The kinds and
//! origins come from the caller (Python's `ALL_KINDS`), so they are written
//! once. A differential test over a corpus holds the two paths to the same
//! verdicts, reasons and folds.
//!
//! ```
//! use matcher_rs::flow_signals::{SignalBatch, Vocabulary};
//! let vocab = Vocabulary::new(&["EXACT_MATCH"], &["runtime"]);
//! let one = br#"{"v":1,"src":"a","dst":"b","kind":"EXACT_MATCH","origin":"runtime","ts":5}"#;
//! let two = br#"{"v":1,"src":"a","dst":"b","kind":"EXACT_MATCH","origin":"runtime","ts":9,"count":2}"#;
//! let batch = SignalBatch::decode(&[Some(&one[..]), Some(b"[]"), Some(&two[..])], &vocab);
//! assert_eq!(batch.dead(), vec![(1, "event is not a JSON object")]);
//! let [group] = &batch.groups()[..] else { panic!() };
//! assert_eq!((group.ts, group.count, group.earliest, &group.members[..]), (9, 3, Some(5), &[0, 2][..]));
//! ```

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use crate::probe_batch::FxHasher;
use crate::probe_events::{object_fields, Scalar, Undecided};

/// The kinds and origins a signal may name, in the caller's order.
#[derive(Debug, Clone)]
pub struct Vocabulary {
    kinds: Vec<String>,
    origins: Vec<String>,
}

impl Vocabulary {
    pub fn new<S: AsRef<str>>(kinds: &[S], origins: &[S]) -> Vocabulary {
        let own = |words: &[S]| words.iter().map(|w| w.as_ref().to_owned()).collect();
        Vocabulary {
            kinds: own(kinds),
            origins: own(origins),
        }
    }

    pub fn kind(&self, at: u16) -> &str {
        &self.kinds[at as usize]
    }

    pub fn origin(&self, at: u16) -> &str {
        &self.origins[at as usize]
    }

    fn find(words: &[String], word: &str) -> Option<u16> {
        words.iter().position(|w| w == word).map(|at| at as u16)
    }

    pub fn kind_index(&self, kind: &str) -> Option<u16> {
        Vocabulary::find(&self.kinds, kind)
    }

    pub fn origin_index(&self, origin: &str) -> Option<u16> {
        Vocabulary::find(&self.origins, origin)
    }
}

/// One valid signal; `kind` and `origin` index the [`Vocabulary`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signal<'a> {
    pub src: Cow<'a, str>,
    pub dst: Cow<'a, str>,
    pub kind: u16,
    pub origin: u16,
    pub ts: i64,
    pub transform: Option<Cow<'a, str>>,
    pub masking: bool,
    pub count: i64,
    pub earliest: Option<i64>,
    pub producer: Option<Cow<'a, str>>,
}

/// The outcome for one record value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict<'a> {
    Signal(Signal<'a>),
    /// The reason `parse_signal` gives (it names fields, never values).
    Invalid(&'static str),
    /// Left to the Python validator.
    Undecided,
}

const NAMES: [&str; 11] = [
    "v",
    "src",
    "dst",
    "kind",
    "origin",
    "ts",
    "count",
    "earliest",
    "producer",
    "transform",
    "masking",
];

/// Decode and validate one `flow-signals` value (see the module documentation).
pub fn decode<'a>(raw: &'a [u8], vocab: &Vocabulary) -> Verdict<'a> {
    match object_fields(raw, &NAMES) {
        Err(Undecided) => Verdict::Undecided,
        Ok(None) => Verdict::Invalid("event is not a JSON object"),
        Ok(Some(fields)) => validate(fields, vocab),
    }
}

/// `parse_signal`'s checks, in its order.
fn validate<'a>(f: [Option<Scalar<'a>>; 11], vocab: &Vocabulary) -> Verdict<'a> {
    let [v, src, dst, kind, origin, ts, count, earliest, producer, transform, masking] = f;
    if v != Some(Scalar::Int(1)) {
        return Verdict::Invalid("signal: field 'v' must be 1");
    }
    let Some(Scalar::Str(src)) = src.filter(Scalar::is_str) else {
        return Verdict::Invalid("signal: field 'src' must be a non-empty string");
    };
    let Some(Scalar::Str(dst)) = dst.filter(Scalar::is_str) else {
        return Verdict::Invalid("signal: field 'dst' must be a non-empty string");
    };
    let word = |s: &Option<Scalar<'_>>, find: &dyn Fn(&str) -> Option<u16>| match s {
        Some(Scalar::Str(w)) => find(w),
        _ => None,
    };
    let Some(kind) = word(&kind, &|w| vocab.kind_index(w)) else {
        return Verdict::Invalid("signal: field 'kind' is not a known kind");
    };
    let Some(origin) = word(&origin, &|w| vocab.origin_index(w)) else {
        return Verdict::Invalid("signal: field 'origin' is not a known origin");
    };
    // `ts` is required; `count` and `earliest` are checked when present. An
    // integer beyond 64 bits is Python's to word (`Err(None)`: undecided).
    let integer = |s: Option<Scalar<'_>>, reason: &'static str| match s {
        Some(Scalar::Int(n)) => Ok(Some(n)),
        None => Ok(None),
        Some(Scalar::BigInt) => Err(None),
        Some(_) => Err(Some(reason)),
    };
    let checked = integer(ts, "signal: field 'ts' must be an integer").and_then(|ts| {
        let ts = ts.ok_or(Some("signal: field 'ts' must be an integer"))?;
        let count = integer(count, "signal: field 'count' must be an integer")?;
        let earliest = integer(earliest, "signal: field 'earliest' must be an integer")?;
        Ok((ts, count, earliest))
    });
    let (ts, count, earliest) = match checked {
        Ok(values) => values,
        Err(Some(reason)) => return Verdict::Invalid(reason),
        Err(None) => return Verdict::Undecided,
    };
    let producer = match producer {
        None | Some(Scalar::Null) => None,
        Some(Scalar::Str(p)) => Some(p),
        Some(_) => return Verdict::Invalid("signal: field 'producer' must be a string"),
    };
    let count = count.unwrap_or(1);
    if count < 1 {
        return Verdict::Invalid("signal: field 'count' must be at least 1");
    }
    let transform = match transform {
        None | Some(Scalar::Null) => None,
        Some(Scalar::Str(t)) => Some(t),
        Some(_) => return Verdict::Invalid("signal: field 'transform' must be a string"),
    };
    let masking = match masking {
        None => false,
        Some(Scalar::Bool(m)) => m,
        Some(_) => return Verdict::Invalid("signal: field 'masking' must be true or false"),
    };
    Verdict::Signal(Signal {
        src,
        dst,
        kind,
        origin,
        ts,
        transform,
        masking,
        count,
        earliest,
        producer,
    })
}

/// What makes two signals the same observation (`analyzers.signals.signal_key`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Observation {
    pub src: String,
    pub dst: String,
    pub kind: u16,
    pub origin: u16,
    pub transform: Option<String>,
    pub masking: bool,
    pub producer: Option<String>,
}

/// What became of one record value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Slot {
    /// A valid signal of observation `key` (an index of `SignalBatch::keys`).
    Signal {
        key: u32,
        ts: i64,
        count: i64,
        earliest: Option<i64>,
    },
    Invalid(Cow<'static, str>),
    Undecided,
}

/// The signals of one observation folded (`analyzers.signals.fold`): counts
/// summed (in 128 bits: Python's sum has no bound), the latest `ts`, the
/// earliest first time; one signal is itself (its `earliest` as given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group<'b> {
    pub observation: &'b Observation,
    pub ts: i64,
    pub count: i128,
    pub earliest: Option<i64>,
    /// The indexes of the values folded, in order.
    pub members: Vec<usize>,
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// A partition's batch of `flow-signals` values (see the module documentation).
#[derive(Debug)]
pub struct SignalBatch {
    slots: Vec<Slot>,
    keys: Vec<Observation>,
    index: FxMap<Observation, u32>,
    vocab: Vocabulary,
}

impl SignalBatch {
    /// Decode every value (`None`, a tombstone, is left undecided: its reason is Python's).
    pub fn decode(values: &[Option<&[u8]>], vocab: &Vocabulary) -> SignalBatch {
        let mut batch = SignalBatch {
            slots: Vec::with_capacity(values.len()),
            keys: Vec::new(),
            index: FxMap::default(),
            vocab: vocab.clone(),
        };
        for value in values {
            let slot = match value.map(|raw| decode(raw, vocab)) {
                None | Some(Verdict::Undecided) => Slot::Undecided,
                Some(Verdict::Invalid(reason)) => Slot::Invalid(Cow::Borrowed(reason)),
                Some(Verdict::Signal(signal)) => batch.slot(signal),
            };
            batch.slots.push(slot);
        }
        batch
    }

    fn slot(&mut self, s: Signal<'_>) -> Slot {
        let observation = Observation {
            src: s.src.into_owned(),
            dst: s.dst.into_owned(),
            kind: s.kind,
            origin: s.origin,
            transform: s.transform.map(Cow::into_owned),
            masking: s.masking,
            producer: s.producer.map(Cow::into_owned),
        };
        let key = match self.index.get(&observation) {
            Some(&key) => key,
            None => {
                let key = self.keys.len() as u32;
                self.keys.push(observation.clone());
                self.index.insert(observation, key);
                key
            }
        };
        Slot::Signal {
            key,
            ts: s.ts,
            count: s.count,
            earliest: s.earliest,
        }
    }

    pub fn vocabulary(&self) -> &Vocabulary {
        &self.vocab
    }

    /// How many values the batch holds.
    pub fn values(&self) -> usize {
        self.slots.len()
    }

    /// How many valid signals it holds.
    pub fn signals(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| matches!(s, Slot::Signal { .. }))
            .count()
    }

    /// The indexes of the values left to the caller's validator.
    pub fn undecided(&self) -> Vec<usize> {
        (0..self.slots.len())
            .filter(|&i| self.slots[i] == Slot::Undecided)
            .collect()
    }

    /// The caller's verdict for value `index`: its reason, or its signal.
    pub fn settle(&mut self, index: usize, verdict: Result<Signal<'_>, String>) {
        self.slots[index] = match verdict {
            Err(reason) => Slot::Invalid(Cow::Owned(reason)),
            Ok(signal) => self.slot(signal),
        };
    }

    /// The invalid values with their reasons, in order (an undecided value is not listed).
    pub fn dead(&self) -> Vec<(usize, &str)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match s {
                Slot::Invalid(reason) => Some((i, reason.as_ref())),
                _ => None,
            })
            .collect()
    }

    /// The valid signals folded per observation, in the order each first appears.
    pub fn groups(&self) -> Vec<Group<'_>> {
        let mut at: Vec<u32> = vec![u32::MAX; self.keys.len()];
        let mut groups: Vec<Group<'_>> = Vec::new();
        for (i, slot) in self.slots.iter().enumerate() {
            let Slot::Signal {
                key,
                ts,
                count,
                earliest,
            } = *slot
            else {
                continue;
            };
            let first = earliest.unwrap_or(ts);
            match at[key as usize] {
                u32::MAX => {
                    at[key as usize] = groups.len() as u32;
                    groups.push(Group {
                        observation: &self.keys[key as usize],
                        ts,
                        count: count.into(),
                        earliest,
                        members: vec![i],
                    });
                }
                g => {
                    let group = &mut groups[g as usize];
                    let before = group.earliest.unwrap_or(group.ts);
                    group.ts = group.ts.max(ts);
                    group.count += i128::from(count);
                    group.earliest = Some(before.min(first));
                    group.members.push(i);
                }
            }
        }
        groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab() -> Vocabulary {
        Vocabulary::new(&["EXACT_MATCH", "CONTAINS"], &["runtime", "sql"])
    }

    fn verdict(raw: &str) -> Verdict<'_> {
        decode(raw.as_bytes(), &vocab())
    }

    const OK: &str = r#"{"v":1,"src":"a#x","dst":"b\u0023y","kind":"CONTAINS","origin":"sql","ts":-3,"transform":"md5","masking":true,"count":4,"earliest":-9,"producer":null,"other":[1e5,{"k":1}]}"#;

    #[test]
    fn a_valid_signal_keeps_every_field() {
        let Verdict::Signal(s) = verdict(OK) else {
            panic!()
        };
        assert_eq!((&*s.src, &*s.dst, s.kind, s.origin), ("a#x", "b#y", 1, 1));
        assert_eq!((s.ts, s.count, s.earliest), (-3, 4, Some(-9)));
        assert_eq!(
            (s.transform.as_deref(), s.masking, s.producer),
            (Some("md5"), true, None)
        );
    }

    #[test]
    fn each_check_gives_its_reason_in_parse_signals_order() {
        let cases = [
            (r#"{"v":true}"#, "signal: field 'v' must be 1"),
            (r#"{"v":1.0}"#, "signal: field 'v' must be 1"),
            (
                r#"{"v":1,"src":""}"#,
                "signal: field 'src' must be a non-empty string",
            ),
            (
                r#"{"v":1,"src":"a","dst":7}"#,
                "signal: field 'dst' must be a non-empty string",
            ),
            (
                r#"{"v":1,"src":"a","dst":"b","kind":"X"}"#,
                "signal: field 'kind' is not a known kind",
            ),
            (
                r#"{"v":1,"src":"a","dst":"b","kind":"CONTAINS","origin":null}"#,
                "signal: field 'origin' is not a known origin",
            ),
            (
                r#"{"v":1,"src":"a","dst":"b","kind":"CONTAINS","origin":"sql"}"#,
                "signal: field 'ts' must be an integer",
            ),
            (
                r#"{"v":1,"src":"a","dst":"b","kind":"CONTAINS","origin":"sql","ts":1,"earliest":null}"#,
                "signal: field 'earliest' must be an integer",
            ),
            (
                r#"{"v":1,"src":"a","dst":"b","kind":"CONTAINS","origin":"sql","ts":1,"count":0,"producer":1}"#,
                "signal: field 'producer' must be a string",
            ),
            (
                r#"{"v":1,"src":"a","dst":"b","kind":"CONTAINS","origin":"sql","ts":1,"count":0}"#,
                "signal: field 'count' must be at least 1",
            ),
            (
                r#"{"v":1,"src":"a","dst":"b","kind":"CONTAINS","origin":"sql","ts":1,"transform":{}}"#,
                "signal: field 'transform' must be a string",
            ),
            (
                r#"{"v":1,"src":"a","dst":"b","kind":"CONTAINS","origin":"sql","ts":1,"masking":0}"#,
                "signal: field 'masking' must be true or false",
            ),
            ("[1]", "event is not a JSON object"),
        ];
        for (raw, reason) in cases {
            assert_eq!(verdict(raw), Verdict::Invalid(reason), "{raw}");
        }
    }

    #[test]
    fn rare_shapes_are_left_to_python() {
        for raw in [
            "{",
            r#"{"v":1,"v":1}"#,
            r#"{"v":1,"src":"a","dst":"b","kind":"CONTAINS","origin":"sql","ts":9223372036854775808}"#,
            r#"{"v":1,"x":1e400}"#,
            r#"{"v":1,"src":"\ud800"}"#,
        ] {
            assert_eq!(verdict(raw), Verdict::Undecided, "{raw}");
        }
    }

    fn sig(ts: i64, count: u32, earliest: Option<i64>, kind: &str) -> String {
        let mut s = format!(
            r#"{{"v":1,"src":"a","dst":"b","kind":"{kind}","origin":"runtime","ts":{ts},"count":{count}"#
        );
        if let Some(e) = earliest {
            s.push_str(&format!(r#","earliest":{e}"#));
        }
        s.push('}');
        s
    }

    #[test]
    fn groups_fold_in_first_appearance_order_with_settled_values() {
        let raws = [
            sig(10, 1, None, "CONTAINS"),
            "{".to_owned(),
            sig(30, 2, Some(5), "EXACT_MATCH"),
            sig(20, 1, None, "CONTAINS"),
            sig(1, 1, None, "EXACT_MATCH"),
        ];
        let values: Vec<Option<&[u8]>> = raws.iter().map(|r| Some(r.as_bytes())).collect();
        let mut batch = SignalBatch::decode(&values, &vocab());
        assert_eq!(batch.undecided(), vec![1]);
        assert_eq!(batch.signals(), 4);
        batch.settle(
            1,
            Ok(Signal {
                src: "a".into(),
                dst: "b".into(),
                kind: 1,
                origin: 0,
                ts: 40,
                transform: None,
                masking: false,
                count: 1,
                earliest: None,
                producer: None,
            }),
        );
        let groups = batch.groups();
        let summary: Vec<_> = groups
            .iter()
            .map(|g| {
                (
                    g.observation.kind,
                    g.ts,
                    g.count,
                    g.earliest,
                    g.members.clone(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (1, 40, 3, Some(10), vec![0, 1, 3]),
                (0, 30, 3, Some(1), vec![2, 4]),
            ]
        );
    }

    #[test]
    fn one_signal_is_itself_and_counts_do_not_overflow() {
        let big = i64::MAX.to_string();
        let raw = format!(
            r#"{{"v":1,"src":"a","dst":"b","kind":"CONTAINS","origin":"sql","ts":3,"count":{big},"earliest":3}}"#
        );
        let values = [Some(raw.as_bytes()), Some(raw.as_bytes())];
        let batch = SignalBatch::decode(&values[..1], &vocab());
        assert_eq!(batch.groups()[0].earliest, Some(3));
        let batch = SignalBatch::decode(&values, &vocab());
        assert_eq!(batch.groups()[0].count, 2 * i128::from(i64::MAX));
        batch.dead().is_empty().then_some(()).unwrap();
    }
}
