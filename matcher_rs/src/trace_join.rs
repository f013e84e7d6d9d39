//! The probe join's per-event work over one decoded batch: trace windows,
//! counterpart pairing, the requests to match, and the fold of their results
//! into flow observations. Pure: the caller reads each trace's earlier window
//! from its store and commits what [`Join::traces`] says (state/traces.py).
//!
//! It is the Python join (`TraceWindows.add` per event, then
//! `match_requests`, then `RuntimeFold`) event for event:
//! - the watermark moves to each event's `ts` (late ones included); an event
//!   whose own window would already be closed is [`Admission::Late`];
//! - a trace's window whose close time the watermark reached closes when the
//!   trace's next event comes (its captures dropped) and a new one opens;
//! - a capture over the trace's caps is [`Admission::Overflow`] (counted on
//!   the window);
//! - a stored capture is matched against the earlier captures of the other
//!   role in its window: a source against the sinks, a sink against the
//!   sources.
//!
//! Folding: each match is one observation `source#path -> sink#path` (kind,
//! transform); each capture pair sharing nothing, one `NO_MATCH` observation
//! between assets (none from an asset to itself); observations with the same
//! key add up, in first-seen order.

use std::collections::HashMap;

use crate::matcher::{self, Config, Request};

/// The windows' sizes and the trace caps (topology.yaml).
#[derive(Debug, Clone, Copy)]
pub struct Params {
    pub size_ms: i64,
    pub lateness_ms: i64,
    pub max_captures: i64,
    pub max_bytes: i64,
}

/// A trace window's metadata, as `state.windows.WindowMeta` keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    pub first_ts: i64,
    pub close_at: i64,
    pub count: i64,
    pub size: i64,
    pub overflow: i64,
}

/// One capture: a decoded event or one kept in its trace's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capture<'a> {
    pub sink: bool,
    pub asset: &'a str,
    pub ts: i64,
    pub payload: &'a [u8],
}

/// An event of the batch: the index of its trace (into the priors) and its capture.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    pub trace: u32,
    pub capture: Capture<'a>,
}

/// A trace's window before the batch: its metadata and its readable captures.
#[derive(Debug, Clone, Default)]
pub struct Prior<'a> {
    pub meta: Option<Meta>,
    pub captures: Vec<Capture<'a>>,
}

/// What became of an event offered to its trace's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Admission {
    Stored = 0,
    Late = 1,
    Overflow = 2,
}

/// What the store must do for one trace the batch touched (not only late events).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceOutcome<'a> {
    pub trace: u32,
    /// The earlier window was closed by one of this batch's events.
    pub prior_closed: bool,
    /// Windows opened and closed again inside the batch.
    pub transient: u32,
    /// The window at the end of the batch.
    pub meta: Meta,
    /// That window was opened in this batch (its index entry is new).
    pub opened: bool,
    /// The earlier window's captures were read (its lost captures count).
    pub used_prior: bool,
    /// The window's captures when the batch stored any in it, else `None`.
    pub captures: Option<Vec<Capture<'a>>>,
}

/// One folded observation: (source, sink, kind, transform) -> count, latest, earliest ts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub src: String,
    pub dst: String,
    pub kind: &'static str,
    pub transform: Option<&'static str>,
    pub count: u64,
    pub latest: i64,
    pub earliest: i64,
}

/// The outcome of a batch.
#[derive(Debug, Clone, Default)]
pub struct Join<'a> {
    /// One per event, in order.
    pub admissions: Vec<Admission>,
    pub watermark: i64,
    /// The touched traces, in the order of their first non-late event.
    pub traces: Vec<TraceOutcome<'a>>,
    /// The folded observations, in first-seen order.
    pub observations: Vec<Observation>,
    /// Payload bytes of the matched requests.
    pub matched_bytes: u64,
    pub requests: u64,
    /// Requests whose matching failed (a panic in the matcher; none expected).
    pub failed: u64,
    /// The partition's count of open windows after the batch's events, kept
    /// as `EventTimeWindows` keeps it (a close never takes it below zero).
    pub open_windows: i64,
}

/// A request to match: the stored capture and its counterparts.
struct Pairing<'a> {
    ts: i64,
    sources: Vec<Capture<'a>>,
    sinks: Vec<Capture<'a>>,
}

#[derive(Default)]
struct Working<'a> {
    meta: Option<Meta>,
    working: bool,
    touched: u32,
    prior_closed: bool,
    transient: u32,
    opened: bool,
    used_prior: bool,
    changed: bool,
    stored: Vec<Capture<'a>>,
}

/// Offer the events to their trace windows and pair the stored ones.
fn admit<'a>(
    events: &[Event<'a>],
    priors: &mut [Prior<'a>],
    watermark: i64,
    open_windows: i64,
    p: &Params,
) -> (Join<'a>, Vec<Pairing<'a>>) {
    let span = p.size_ms + p.lateness_ms;
    let mut wm = watermark;
    let mut open = open_windows;
    let mut states: Vec<Working<'a>> = priors
        .iter()
        .map(|prior| Working {
            meta: prior.meta,
            ..Working::default()
        })
        .collect();
    let mut order: Vec<u32> = Vec::new();
    let mut admissions = Vec::with_capacity(events.len());
    let mut pairings = Vec::new();
    for event in events {
        let c = event.capture;
        wm = wm.max(c.ts);
        if c.ts + span <= wm {
            admissions.push(Admission::Late);
            continue;
        }
        let t = &mut states[event.trace as usize];
        if t.touched == 0 {
            order.push(event.trace);
        }
        t.touched += 1;
        if !t.working || t.meta.is_some_and(|m| m.close_at <= wm) {
            if let Some(m) = t.meta {
                if m.close_at <= wm {
                    if t.opened {
                        t.transient += 1;
                    } else {
                        t.prior_closed = true;
                    }
                    t.meta = None;
                    t.stored.clear();
                    t.changed = false;
                    open = (open - 1).max(0);
                }
            }
            match t.meta {
                None => {
                    t.meta = Some(Meta {
                        first_ts: c.ts,
                        close_at: c.ts + span,
                        count: 0,
                        size: 0,
                        overflow: 0,
                    });
                    t.opened = true;
                    open += 1;
                }
                Some(m) if m.count > 0 => {
                    t.used_prior = true;
                    t.stored = std::mem::take(&mut priors[event.trace as usize].captures);
                }
                Some(_) => {}
            }
            t.working = true;
        }
        let meta = t.meta.as_mut().expect("a working window");
        let size = c.payload.len() as i64;
        if meta.count >= p.max_captures || meta.size + size > p.max_bytes {
            meta.overflow += 1;
            admissions.push(Admission::Overflow);
            continue;
        }
        let counterparts: Vec<Capture<'a>> = t
            .stored
            .iter()
            .filter(|s| s.sink != c.sink)
            .copied()
            .collect();
        if !counterparts.is_empty() {
            pairings.push(if c.sink {
                Pairing {
                    ts: c.ts,
                    sources: counterparts,
                    sinks: vec![c],
                }
            } else {
                Pairing {
                    ts: c.ts,
                    sources: vec![c],
                    sinks: counterparts,
                }
            });
        }
        t.stored.push(c);
        meta.count += 1;
        meta.size += size;
        t.changed = true;
        admissions.push(Admission::Stored);
    }
    let traces = order
        .into_iter()
        .map(|i| {
            let t = &mut states[i as usize];
            TraceOutcome {
                trace: i,
                prior_closed: t.prior_closed,
                transient: t.transient,
                meta: t.meta.expect("a touched trace has a window"),
                opened: t.opened,
                used_prior: t.used_prior,
                captures: t.changed.then(|| std::mem::take(&mut t.stored)),
            }
        })
        .collect();
    let join = Join {
        admissions,
        watermark: wm,
        traces,
        open_windows: open,
        ..Join::default()
    };
    (join, pairings)
}

/// `asset#path`, or the asset itself for the top-level value.
fn field_asset(asset: &str, path: &str) -> String {
    if path.is_empty() {
        asset.to_owned()
    } else {
        let mut s = String::with_capacity(asset.len() + 1 + path.len());
        s.push_str(asset);
        s.push('#');
        s.push_str(path);
        s
    }
}

#[derive(Default)]
struct Fold {
    index: HashMap<(String, String, &'static str, Option<&'static str>), usize>,
    observations: Vec<Observation>,
}

impl Fold {
    fn see(
        &mut self,
        src: String,
        dst: String,
        kind: &'static str,
        transform: Option<&'static str>,
        ts: i64,
    ) {
        let key = (src, dst, kind, transform);
        match self.index.get(&key) {
            Some(&i) => {
                let o = &mut self.observations[i];
                o.count += 1;
                o.latest = o.latest.max(ts);
                o.earliest = o.earliest.min(ts);
            }
            None => {
                let (src, dst, kind, transform) = key.clone();
                self.index.insert(key, self.observations.len());
                self.observations.push(Observation {
                    src,
                    dst,
                    kind,
                    transform,
                    count: 1,
                    latest: ts,
                    earliest: ts,
                });
            }
        }
    }
}

/// The whole batch: admit, pair, match (each request on its own: a panic in
/// the matcher fails only that request) and fold.
pub fn join<'a>(
    events: &[Event<'a>],
    priors: &mut [Prior<'a>],
    watermark: i64,
    open_windows: i64,
    params: &Params,
    config: &Config,
) -> Join<'a> {
    let (mut out, pairings) = admit(events, priors, watermark, open_windows, params);
    let mut fold = Fold::default();
    let mut request = Request::default();
    for pairing in &pairings {
        request.sources.clear();
        request.sinks.clear();
        request
            .sources
            .extend(pairing.sources.iter().map(|c| c.payload));
        request
            .sinks
            .extend(pairing.sinks.iter().map(|c| c.payload));
        out.requests += 1;
        out.matched_bytes += request
            .sources
            .iter()
            .chain(&request.sinks)
            .map(|p| p.len() as u64)
            .sum::<u64>();
        let r = &request;
        let Ok(result) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            matcher::match_request(r, config)
        })) else {
            out.failed += 1;
            continue;
        };
        let (sources, sinks) = (&pairing.sources, &pairing.sinks);
        for m in &result.matches {
            fold.see(
                field_asset(sources[m.source_index as usize].asset, &m.source_path),
                field_asset(sinks[m.sink_index as usize].asset, &m.sink_path),
                m.kind.name(),
                m.transform.name(),
                pairing.ts,
            );
        }
        for (si, ki) in result.nomatch.iter() {
            let (src, dst) = (sources[si as usize].asset, sinks[ki as usize].asset);
            if src != dst {
                fold.see(src.to_owned(), dst.to_owned(), "NO_MATCH", None, pairing.ts);
            }
        }
    }
    out.observations = fold.observations;
    out
}

/// The captures of a window as one record (state/traces.py `pack_captures`):
/// per capture `>BqHI` (is-sink, ts, asset length, payload length), the
/// asset, the payload. `None` when an asset or a payload is too long for its
/// length field (where `struct.pack` raises).
pub fn pack(captures: &[Capture<'_>]) -> Option<Vec<u8>> {
    if captures
        .iter()
        .any(|c| c.asset.len() > u16::MAX as usize || c.payload.len() > u32::MAX as usize)
    {
        return None;
    }
    let mut out = Vec::with_capacity(
        captures
            .iter()
            .map(|c| 15 + c.asset.len() + c.payload.len())
            .sum(),
    );
    for c in captures {
        out.push(c.sink as u8);
        out.extend_from_slice(&c.ts.to_be_bytes());
        out.extend_from_slice(&(c.asset.len() as u16).to_be_bytes());
        out.extend_from_slice(&(c.payload.len() as u32).to_be_bytes());
        out.extend_from_slice(c.asset.as_bytes());
        out.extend_from_slice(c.payload);
    }
    Some(out)
}

/// The captures of a packed record, or `None` when it is not one.
pub fn unpack(raw: &[u8]) -> Option<Vec<Capture<'_>>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < raw.len() {
        let head = raw.get(at..at + 15)?;
        let sink = head[0] != 0;
        let ts = i64::from_be_bytes(head[1..9].try_into().ok()?);
        let asset_len = u16::from_be_bytes(head[9..11].try_into().ok()?) as usize;
        let payload_len = u32::from_be_bytes(head[11..15].try_into().ok()?) as usize;
        at += 15;
        let asset = std::str::from_utf8(raw.get(at..at + asset_len)?).ok()?;
        at += asset_len;
        let payload = raw.get(at..at + payload_len)?;
        at += payload_len;
        out.push(Capture {
            sink,
            asset,
            ts,
            payload,
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Params = Params {
        size_ms: 100,
        lateness_ms: 50,
        max_captures: 100,
        max_bytes: 1 << 20,
    };

    fn ev(trace: u32, sink: bool, ts: i64, payload: &'static [u8]) -> Event<'static> {
        Event {
            trace,
            capture: Capture {
                sink,
                asset: if sink { "db://x/t" } else { "web://s/r" },
                ts,
                payload,
            },
        }
    }

    fn run<'a>(events: &[Event<'a>], priors: &mut [Prior<'a>], wm: i64, p: &Params) -> Join<'a> {
        join(events, priors, wm, 0, p, &Config::default())
    }

    #[test]
    fn a_sink_after_its_source_is_matched_and_folded() {
        let events = [
            ev(0, false, 1000, br#"{"loc":"Home, 123 Main St"}"#),
            ev(0, true, 1001, br#"{"where":"Home, 123 Main St"}"#),
            ev(0, true, 1002, br#"{"where":"Home, 123 Main St"}"#),
        ];
        let j = run(&events, &mut [Prior::default()], -1, &P);
        assert_eq!(j.admissions, vec![Admission::Stored; 3]);
        assert_eq!(j.requests, 2);
        assert_eq!(
            j.observations,
            vec![Observation {
                src: "web://s/r#loc".into(),
                dst: "db://x/t#where".into(),
                kind: "EXACT_MATCH",
                transform: None,
                count: 2,
                latest: 1002,
                earliest: 1001,
            }]
        );
        let t = &j.traces[0];
        assert!(t.opened && !t.prior_closed && !t.used_prior);
        assert_eq!((t.meta.count, t.meta.close_at), (3, 1150));
        assert_eq!(t.captures.as_ref().map(Vec::len), Some(3));
    }

    #[test]
    fn late_events_move_the_watermark_and_touch_nothing() {
        let events = [ev(1, false, 2000, b"\"x\""), ev(0, true, 1850, b"\"y\"")];
        let j = run(&events, &mut [Prior::default(), Prior::default()], -1, &P);
        assert_eq!(j.admissions, vec![Admission::Stored, Admission::Late]);
        assert_eq!(j.watermark, 2000);
        assert_eq!(
            j.traces.iter().map(|t| t.trace).collect::<Vec<_>>(),
            vec![1]
        );
    }

    #[test]
    fn an_expired_window_closes_before_its_trace_stores_again() {
        let stored = [Capture {
            sink: false,
            asset: "web://s/r",
            ts: 1000,
            payload: b"\"Home, 123 Main St\"",
        }];
        let mut priors = [Prior {
            meta: Some(Meta {
                first_ts: 1000,
                close_at: 1150,
                count: 1,
                size: 19,
                overflow: 0,
            }),
            captures: stored.to_vec(),
        }];
        let events = [ev(0, true, 1190, b"\"Home, 123 Main St\"")];
        let j = run(&events, &mut priors.clone(), 1200, &P);
        assert_eq!(j.requests, 0);
        let t = &j.traces[0];
        assert!(t.prior_closed && t.opened && !t.used_prior);
        assert_eq!((t.meta.first_ts, t.meta.count), (1190, 1));
        // The open-window count: one closed and one opened; a count that did
        // not hold the closed window (0) is not taken below zero first.
        let counted = join(
            &events,
            &mut priors.clone(),
            1200,
            1,
            &P,
            &Config::default(),
        );
        assert_eq!((counted.open_windows, j.open_windows), (1, 1));
    }

    #[test]
    fn caps_overflow_is_counted_on_the_window() {
        let p = Params {
            max_captures: 1,
            ..P
        };
        let events = [ev(0, false, 1, b"\"a\""), ev(0, true, 2, b"\"b\"")];
        let j = run(&events, &mut [Prior::default()], -1, &p);
        assert_eq!(j.admissions, vec![Admission::Stored, Admission::Overflow]);
        assert_eq!((j.traces[0].meta.count, j.traces[0].meta.overflow), (1, 1));
    }

    #[test]
    fn pack_and_unpack_round_trip() {
        let captures = [
            Capture {
                sink: true,
                asset: "odd \"asset\"\u{0}",
                ts: -7,
                payload: b"",
            },
            Capture {
                sink: false,
                asset: "é",
                ts: 1 << 40,
                payload: b"\x00raw",
            },
        ];
        let packed = pack(&captures).unwrap();
        assert_eq!(unpack(&packed).unwrap(), captures.to_vec());
        assert!(unpack(&packed[..packed.len() - 1]).is_none());
        let long = "a".repeat(1 << 16);
        let too_long = Capture {
            asset: &long,
            ..captures[0]
        };
        assert!(pack(&[too_long]).is_none());
    }
}
