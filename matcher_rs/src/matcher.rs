//! The matcher: inside one request, which sink leaf carries which source value.
//!
//! For each request: flatten the sources, keep the leaves that pass the
//! guards, expand each into its variants (transforms), deduplicate the needles
//! and build one searcher for them. Each sink is searched whole, once; only a
//! sink with a hit (or one whose leaves may differ from its bytes: escaped
//! strings, numbers when a needle is numeric) is flattened, and each hit is
//! mapped to the leaf whose bytes hold it. A hit in a leaf is `EXACT_MATCH`
//! when the leaf equals the variant's exact form (a length check, then a
//! byte comparison), otherwise `CONTAINS`. Per pair of leaves the best match
//! is kept (exact before contains, then transforms in their order).

use std::collections::HashMap;

use memchr::memchr;

use crate::flatten::{flatten, Flattened};
use crate::guards::Guards;
use crate::search::{Searcher, SearcherKind};
use crate::transforms::{variants, Transform, Variant};

/// The default cap on one capture; longer captures are truncated and counted.
pub const DEFAULT_MAX_CAPTURE_BYTES: usize = 1 << 20;

/// How a sink leaf carries a source value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Exact,
    Contains,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Exact => "EXACT_MATCH",
            Kind::Contains => "CONTAINS",
        }
    }
}

/// Matching options, shared by every request of a batch.
#[derive(Debug, Clone)]
pub struct Config {
    pub guards: Guards,
    /// Transforms tried besides the identity.
    pub transforms: Vec<Transform>,
    pub max_capture_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            guards: Guards::default(),
            transforms: Transform::ALL.to_vec(),
            max_capture_bytes: DEFAULT_MAX_CAPTURE_BYTES,
        }
    }
}

/// One sampled request: its source and sink captures.
#[derive(Debug, Clone, Default)]
pub struct Request<'a> {
    pub sources: Vec<&'a [u8]>,
    pub sinks: Vec<&'a [u8]>,
}

/// A source leaf found in a sink leaf.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Match {
    pub source_index: u32,
    pub source_path: String,
    pub sink_index: u32,
    pub sink_path: String,
    pub kind: Kind,
    pub transform: Transform,
}

/// The outcome for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestResult {
    /// Sorted by (source, source path, sink, sink path, kind, transform), no duplicates.
    pub matches: Vec<Match>,
    /// (source index, sink index) pairs that share no value.
    pub nomatch: Vec<(u32, u32)>,
    /// Captures longer than the cap, truncated to it.
    pub truncated: u32,
    /// The searcher size class used for this request.
    pub searcher: SearcherKind,
}

/// End of an owner chain.
const NONE: u32 = u32::MAX;

/// Whether a needle could appear in a number's canonical text.
fn is_numeric(needle: &[u8]) -> bool {
    needle
        .iter()
        .all(|b| matches!(b, b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-'))
}

/// Match every request of a batch.
pub fn match_batch(requests: &[Request<'_>], config: &Config) -> Vec<RequestResult> {
    requests.iter().map(|r| match_request(r, config)).collect()
}

/// Match one request.
pub fn match_request(request: &Request<'_>, config: &Config) -> RequestResult {
    let mut truncated = 0u32;
    let mut cap = |p: &'_ [u8]| -> usize {
        if p.len() > config.max_capture_bytes {
            truncated += 1;
            config.max_capture_bytes
        } else {
            p.len()
        }
    };
    let sources: Vec<Flattened<'_>> = request
        .sources
        .iter()
        .map(|p| flatten(&p[..cap(p)]))
        .collect();
    let sinks: Vec<&[u8]> = request.sinks.iter().map(|p| &p[..cap(p)]).collect();

    // Source leaves that pass the guards, and their variants.
    let mut source_leaves: Vec<(u32, u32)> = Vec::new();
    let mut all_variants: Vec<(u32, Variant)> = Vec::new();
    for (si, flat) in sources.iter().enumerate() {
        for (li, leaf) in flat.leaves.iter().enumerate() {
            if !config.guards.is_evidence(&leaf.value) {
                continue;
            }
            let source_leaf = source_leaves.len() as u32;
            source_leaves.push((si as u32, li as u32));
            for v in variants(&leaf.value, &config.transforms) {
                all_variants.push((source_leaf, v));
            }
        }
    }
    // Distinct needles, each with the variants that own it.
    let mut needle_ids: HashMap<&[u8], u32> = HashMap::with_capacity(all_variants.len());
    let mut needles: Vec<&[u8]> = Vec::with_capacity(all_variants.len());
    // Owners as chains: the first variant of each needle, then the next.
    let mut owner_head: Vec<u32> = Vec::with_capacity(all_variants.len());
    let mut owner_next: Vec<u32> = vec![NONE; all_variants.len()];
    for (vi, (_, v)) in all_variants.iter().enumerate() {
        let id = *needle_ids.entry(v.needle.as_slice()).or_insert_with(|| {
            needles.push(v.needle.as_slice());
            owner_head.push(NONE);
            (needles.len() - 1) as u32
        });
        owner_next[vi] = owner_head[id as usize];
        owner_head[id as usize] = vi as u32;
    }
    let numeric = needles.iter().any(|n| is_numeric(n));
    let searcher = Searcher::for_haystack(&needles, sinks.iter().map(|s| s.len()).sum());

    let mut matched = vec![false; sources.len() * sinks.len()];
    let mut matches: Vec<Match> = Vec::new();
    let mut found: Vec<(u32, u32, Kind, Transform)> = Vec::new();
    let mut hits: Vec<(u32, usize)> = Vec::new();
    for (sink_index, &sink) in sinks.iter().enumerate() {
        if needles.is_empty() {
            break;
        }
        hits.clear();
        searcher.for_each(sink, |n, start| hits.push((n as u32, start)));
        if hits.is_empty() && !numeric && memchr(b'\\', sink).is_none() {
            continue;
        }
        let flat = flatten(sink);
        found.clear();
        let mut record = |n: u32, leaf: u32, value: &[u8], offset: usize| {
            let mut vi = owner_head[n as usize];
            while vi != NONE {
                let (source_leaf, v) = &all_variants[vi as usize];
                if v.accepts(value, offset) {
                    let kind = if v.is_exact(value) {
                        Kind::Exact
                    } else {
                        Kind::Contains
                    };
                    found.push((*source_leaf, leaf, kind, v.transform));
                }
                vi = owner_next[vi as usize];
            }
        };
        // Hits in the sink's bytes, mapped to the leaf whose span holds them.
        let spanned: Vec<(usize, usize, u32)> = flat
            .leaves
            .iter()
            .enumerate()
            .filter_map(|(i, l)| l.span.as_ref().map(|s| (s.start, s.end, i as u32)))
            .collect();
        for &(n, start) in &hits {
            let end = start + needles[n as usize].len();
            let k = spanned.partition_point(|s| s.0 <= start);
            if k == 0 {
                continue;
            }
            let (ls, le, li) = spanned[k - 1];
            if end <= le {
                record(n, li, &sink[ls..le], start - ls);
            }
        }
        // Leaves that are not a slice of the sink are searched on their own.
        for (li, leaf) in flat.leaves.iter().enumerate() {
            if leaf.span.is_none() {
                searcher.for_each(&leaf.value, |n, start| {
                    record(n as u32, li as u32, &leaf.value, start)
                });
            }
        }
        found.sort_unstable();
        found.dedup_by_key(|f| (f.0, f.1));
        for &(source_leaf, sink_leaf, kind, transform) in &found {
            let (si, li) = source_leaves[source_leaf as usize];
            let src = &sources[si as usize];
            matched[si as usize * sinks.len() + sink_index] = true;
            matches.push(Match {
                source_index: si,
                source_path: src.path(&src.leaves[li as usize]).to_string(),
                sink_index: sink_index as u32,
                sink_path: flat.path(&flat.leaves[sink_leaf as usize]).to_string(),
                kind,
                transform,
            });
        }
    }
    matches.sort_unstable_by(|a, b| {
        (
            a.source_index,
            &a.source_path,
            a.sink_index,
            &a.sink_path,
            a.kind.name(),
            a.transform.name(),
        )
            .cmp(&(
                b.source_index,
                &b.source_path,
                b.sink_index,
                &b.sink_path,
                b.kind.name(),
                b.transform.name(),
            ))
    });
    matches.dedup();
    let nomatch = (0..sources.len())
        .flat_map(|i| (0..sinks.len()).map(move |j| (i, j)))
        .filter(|&(i, j)| !matched[i * sinks.len() + j])
        .map(|(i, j)| (i as u32, j as u32))
        .collect();
    RequestResult {
        matches,
        nomatch,
        truncated,
        searcher: searcher.kind(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(sources: &[&str], sinks: &[&str]) -> RequestResult {
        let req = Request {
            sources: sources.iter().map(|s| s.as_bytes()).collect(),
            sinks: sinks.iter().map(|s| s.as_bytes()).collect(),
        };
        match_request(&req, &Config::default())
    }

    fn summary(
        r: &RequestResult,
    ) -> Vec<(u32, String, u32, String, &'static str, Option<&'static str>)> {
        r.matches
            .iter()
            .map(|m| {
                (
                    m.source_index,
                    m.source_path.clone(),
                    m.sink_index,
                    m.sink_path.clone(),
                    m.kind.name(),
                    m.transform.name(),
                )
            })
            .collect()
    }

    #[test]
    fn contract_example() {
        let r = run(
            &[r#"{"location":"Home, 123 Main St"}"#],
            &[r#""uploaded at Home, 123 Main St""#],
        );
        assert_eq!(
            summary(&r),
            vec![(0, "location".into(), 0, "".into(), "CONTAINS", None)]
        );
        assert!(r.nomatch.is_empty());
    }

    #[test]
    fn exact_and_nomatch() {
        let r = run(
            &[
                r#"{"email":"alice@example.com","n":1}"#,
                r#"{"other":"nothing here"}"#,
            ],
            &[
                r#"{"to":["bob@x.org","alice@example.com"]}"#,
                r#"{"x":"unrelated"}"#,
            ],
        );
        assert_eq!(
            summary(&r),
            vec![(0, "email".into(), 0, "to[]".into(), "EXACT_MATCH", None)]
        );
        assert_eq!(r.nomatch, vec![(0, 1), (1, 0), (1, 1)]);
    }

    #[test]
    fn transforms_are_named() {
        let r = run(
            &[r#"{"loc":"Home, 123 Main St"}"#],
            &[
                r#"{"q":"home, 123 main st"}"#,
                "GET /x?loc=Home%2C%20123%20Main%20St HTTP/1.1",
                r#"{"h":"b1f7a0a2eb9d2d4a4d1f3e1c8e2b8c4a","s":"SG9tZSwgMTIzIE1haW4gU3Q="}"#,
            ],
        );
        let got = summary(&r);
        assert!(got.contains(&(
            0,
            "loc".into(),
            0,
            "q".into(),
            "EXACT_MATCH",
            Some("lowercase")
        )));
        assert!(got.contains(&(0, "loc".into(), 1, "".into(), "CONTAINS", Some("url"))));
        assert!(got.contains(&(
            0,
            "loc".into(),
            2,
            "s".into(),
            "EXACT_MATCH",
            Some("base64")
        )));
    }

    #[test]
    fn guards_and_pieces_do_not_match() {
        let r = run(
            &[r#"{"c":"US","b":true,"t":"TRUE","addr":"Home, 123 Main St"}"#],
            &[r#"{"x":"US true Main"}"#],
        );
        assert!(r.matches.is_empty());
        assert_eq!(r.nomatch, vec![(0, 0)]);
    }

    #[test]
    fn escaped_sink_leaves_are_found() {
        let r = run(
            &[r#"{"q":"say \"hi\" there"}"#],
            &[r#"{"log":"user said: say \"hi\" there"}"#],
        );
        assert_eq!(
            summary(&r),
            vec![(0, "q".into(), 0, "log".into(), "CONTAINS", None)]
        );
    }

    #[test]
    fn hits_across_leaves_or_in_keys_do_not_count() {
        let r = run(&[r#"{"a":"abcdef"}"#], &[r#"{"abcdef":"abc","y":"def"}"#]);
        assert!(r.matches.is_empty());
    }

    #[test]
    fn numbers_match_by_canonical_text() {
        let r = run(
            &[r#"{"id":1234567.50}"#],
            &[r#"{"n":1.2345675e6}"#, "id=1234567.5;"],
        );
        let got = summary(&r);
        assert_eq!(got[0], (0, "id".into(), 0, "n".into(), "EXACT_MATCH", None));
        assert_eq!(got[1], (0, "id".into(), 1, "".into(), "CONTAINS", None));
    }

    #[test]
    fn captures_over_the_cap_are_truncated_and_counted() {
        let big = format!("{}secretvalue", "x".repeat(100));
        let req = Request {
            sources: vec![b"secretvalue"],
            sinks: vec![big.as_bytes()],
        };
        let cfg = Config {
            max_capture_bytes: 50,
            ..Config::default()
        };
        let r = match_request(&req, &cfg);
        assert_eq!(r.truncated, 1);
        assert!(r.matches.is_empty());
        assert_eq!(match_request(&req, &Config::default()).matches.len(), 1);
    }

    #[test]
    fn empty_request() {
        let r = match_request(&Request::default(), &Config::default());
        assert!(r.matches.is_empty() && r.nomatch.is_empty());
        let r = run(&["ab"], &["abcd"]);
        assert_eq!(r.nomatch, vec![(0, 0)]);
        assert_eq!(r.searcher, SearcherKind::None);
    }
}
