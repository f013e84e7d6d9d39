//! The join's folded observations as `flow-signals` records, key and value
//! byte for byte what `analyzers.runtime.observed_signal(o)` gives through
//! `FlowSignal.edge_id` and `FlowSignal.to_json` (orjson): no Python object
//! per signal but the two `bytes`.
//!
//! ```
//! use matcher_rs::runtime_signals::record;
//! use matcher_rs::trace_join::Observation;
//! let o = Observation { src: "web://s/r#loc".into(), dst: "db://x/t".into(),
//!     kind: "CONTAINS", transform: None, count: 2, latest: 20, earliest: 10 };
//! let (key, value) = record(&o);
//! assert_eq!(key, b"web://s/r#loc -> db://x/t");
//! assert_eq!(String::from_utf8(value).unwrap(), concat!(
//!     r#"{"v":1,"src":"web://s/r#loc","dst":"db://x/t","kind":"CONTAINS","#,
//!     r#""origin":"runtime","ts":20,"count":2,"earliest":10}"#));
//! ```

use std::io::Write;

use crate::probe_events::json_string;
use crate::trace_join::Observation;

/// What joins the two ends of an edge id (`vocab.assets.EDGE_SEPARATOR`).
pub const EDGE_SEPARATOR: &str = " -> ";

/// The record of one observation: `(edge id, signal JSON)`.
pub fn record(o: &Observation) -> (Vec<u8>, Vec<u8>) {
    let mut key = Vec::with_capacity(o.src.len() + EDGE_SEPARATOR.len() + o.dst.len());
    key.extend_from_slice(o.src.as_bytes());
    key.extend_from_slice(EDGE_SEPARATOR.as_bytes());
    key.extend_from_slice(o.dst.as_bytes());
    let mut v = Vec::with_capacity(96 + o.src.len() + o.dst.len());
    v.extend_from_slice(b"{\"v\":1,\"src\":");
    json_string(&mut v, &o.src);
    v.extend_from_slice(b",\"dst\":");
    json_string(&mut v, &o.dst);
    v.extend_from_slice(b",\"kind\":");
    json_string(&mut v, o.kind);
    // Writing into a Vec cannot fail.
    let _ = write!(v, ",\"origin\":\"runtime\",\"ts\":{}", o.latest);
    if let Some(transform) = o.transform {
        v.extend_from_slice(b",\"transform\":");
        json_string(&mut v, transform);
    }
    if o.count != 1 {
        // `earliest` is None for one observation, and left out when it is `ts`.
        let _ = write!(v, ",\"count\":{}", o.count);
        if o.earliest != o.latest {
            let _ = write!(v, ",\"earliest\":{}", o.earliest);
        }
    }
    v.push(b'}');
    (key, v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(count: u64, latest: i64, earliest: i64, transform: Option<&'static str>) -> Observation {
        Observation {
            src: "web://a/\"b\"\\c#p\u{1}\né".into(),
            dst: "db://x/t".into(),
            kind: "EXACT_MATCH",
            transform,
            count,
            latest,
            earliest,
        }
    }

    fn text(o: &Observation) -> String {
        String::from_utf8(record(o).1).unwrap()
    }

    #[test]
    fn one_observation_has_no_count_nor_earliest() {
        assert_eq!(
            text(&obs(1, -5, -9, Some("lower"))),
            concat!(
                r#"{"v":1,"src":"web://a/\"b\"\\c#p\u0001\né","dst":"db://x/t","#,
                r#""kind":"EXACT_MATCH","origin":"runtime","ts":-5,"transform":"lower"}"#
            )
        );
        assert_eq!(
            record(&obs(1, 0, 0, None)).0,
            "web://a/\"b\"\\c#p\u{1}\né -> db://x/t".as_bytes()
        );
    }

    #[test]
    fn earliest_is_left_out_when_it_is_ts() {
        assert!(text(&obs(3, 7, 7, None)).ends_with(r#""ts":7,"count":3}"#));
        assert!(text(&obs(3, 7, 6, None)).ends_with(r#""ts":7,"count":3,"earliest":6}"#));
    }
}
