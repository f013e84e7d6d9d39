//! The matcher: inside one request, which sink leaf carries which source value.
//!
//! For each request: flatten the sources, keep the leaves that pass the
//! guards, expand each into its forms (transforms; their bytes in one arena,
//! digests only when some sink has a run of characters long enough to spell
//! one), deduplicate the needles and build one searcher for them. Each sink
//! is searched whole, once; only a sink with a hit (or one whose leaves may
//! differ from its bytes in a way that could hide a needle: an escape that
//! decodes to a byte some needle holds, numbers when a needle is numeric) is
//! flattened, and each hit is mapped to the leaf whose bytes hold it. A hit
//! in a leaf is `EXACT_MATCH` when the leaf equals the form's exact text (a
//! length check, then a byte comparison), otherwise `CONTAINS`. Per pair of
//! leaves the best match is kept (exact before contains, then transforms in
//! their order).

use crate::flatten::{flatten, Flattened};
use crate::guards::Guards;
use crate::needles::{self, is_numeric, NONE};
use crate::nomatch::NoMatch;
use crate::prefetch::prefetch;
use crate::scan::{escapes_hit_lazy, scan_sink, ByteSet, SIMPLE_BIT};
use crate::scratch::{recycle, Scratch};
use crate::search::{Searcher, SearcherKind};
use crate::transforms::{forms_into, Transform};

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
    pub nomatch: NoMatch,
    /// Captures longer than the cap, truncated to it.
    pub truncated: u32,
    /// The searcher size class used for this request.
    pub searcher: SearcherKind,
}

/// Hint that the payloads of `request` will be read soon (their first
/// bytes: the rest is fetched ahead as it is read).
#[inline]
pub fn prefetch_request(request: &Request<'_>) {
    for p in request.sources.iter().chain(&request.sinks) {
        prefetch(p);
    }
}

/// Match every request of a batch.
pub fn match_batch(requests: &[Request<'_>], config: &Config) -> Vec<RequestResult> {
    (0..requests.len())
        .map(|i| {
            if let Some(next) = requests.get(i + 1) {
                prefetch_request(next);
            }
            match_request(&requests[i], config)
        })
        .collect()
}

/// Match one request.
pub fn match_request(request: &Request<'_>, config: &Config) -> RequestResult {
    let mut scratch = Scratch::take();
    let result = match_request_in(request, config, &mut scratch);
    scratch.give_back();
    result
}

fn match_request_in(
    request: &Request<'_>,
    config: &Config,
    scratch: &mut Scratch,
) -> RequestResult {
    let mut truncated = 0u32;
    let mut cap = |p: &'_ [u8]| -> usize {
        if p.len() > config.max_capture_bytes {
            truncated += 1;
            config.max_capture_bytes
        } else {
            p.len()
        }
    };
    let mut sources: Vec<Flattened<'_>> = std::mem::take(&mut scratch.sources)
        .into_iter()
        .map(|_| unreachable!())
        .collect();
    sources.extend(request.sources.iter().map(|p| flatten(&p[..cap(p)])));
    let mut sinks: Vec<&[u8]> = recycle(std::mem::take(&mut scratch.sinks));
    sinks.extend(request.sinks.iter().map(|p| &p[..cap(p)]));
    // The sinks are read first by the digest-run check, one after the
    // other: fetch the start of each now, so that they load in parallel.
    prefetch_request(request);

    // Digests are sought only when some sink has a run of characters long
    // enough to spell one (rare in text; a digest costs a hash per leaf).
    // One pass over each sink also notes the letters after its backslashes
    // (for the escape check below); digest runs are sought until one is found.
    let mut digest_run = false;
    let escapes = &mut scratch.escapes;
    escapes.extend(sinks.iter().map(|s| {
        let (run, letters) = scan_sink(s, !digest_run);
        digest_run |= run;
        letters
    }));
    let transforms = &mut scratch.transforms;
    transforms.extend(
        config
            .transforms
            .iter()
            .copied()
            .filter(|t| digest_run || !t.is_digest()),
    );
    // Source leaves that pass the guards, and their forms (bytes in `arena`).
    // Room for every form up front (an identity, lower-case and base64 form
    // of up to 4/3 of the value, a URL form of up to 3 times the value, and
    // 232 bytes of digests), so that nothing grows while forms are made.
    let (n_leaves, value_bytes) = sources
        .iter()
        .flat_map(|f| &f.leaves)
        .fold((0, 0), |(n, b), l| (n + 1, b + l.value.len()));
    let per_leaf_forms = 1 + transforms.len();
    let digest_bytes = if digest_run { 232 } else { 0 };
    let source_leaves = &mut scratch.source_leaves;
    source_leaves.reserve(n_leaves);
    let arena = &mut scratch.arena;
    arena.reserve(value_bytes * 7 + n_leaves * (4 + digest_bytes));
    let forms = &mut scratch.forms;
    forms.reserve(n_leaves * per_leaf_forms);
    let form_leaf = &mut scratch.form_leaf;
    form_leaf.reserve(n_leaves * per_leaf_forms);
    for (si, flat) in sources.iter().enumerate() {
        for (li, leaf) in flat.leaves.iter().enumerate() {
            if !config.guards.is_evidence(&leaf.value) {
                continue;
            }
            let source_leaf = source_leaves.len() as u32;
            source_leaves.push((si as u32, li as u32));
            forms_into(&leaf.value, transforms, arena, forms);
            form_leaf.resize(forms.len(), source_leaf);
        }
    }
    let arena = &arena[..];
    let (source_leaves, forms, form_leaf) = (&source_leaves[..], &forms[..], &form_leaf[..]);
    // Distinct needles, each with the forms that own it (chains: the first
    // form of each needle, then the next).
    let mut needles: Vec<&[u8]> = recycle(std::mem::take(&mut scratch.needles));
    let (owner_head, owner_next) = (&mut scratch.owner_head, &mut scratch.owner_next);
    needles::dedup(
        forms,
        arena,
        &mut needles,
        owner_head,
        owner_next,
        &mut scratch.table,
    );
    let owner_head = &owner_head[..];
    let numeric = needles.iter().any(|n| is_numeric(n));
    let searcher = Searcher::for_haystack(&needles, sinks.iter().map(|s| s.len()).sum());
    // The bytes any needle may hold (computed when first needed): a sink
    // whose escapes decode to none of them cannot hide a needle behind one.
    let needle_byte_set = || {
        let mut set = ByteSet::default();
        for (n, &head) in needles.iter().zip(owner_head) {
            match forms[head as usize].transform {
                Transform::Identity | Transform::Lowercase | Transform::Url => set.extend(n),
                _ => {
                    set.extend(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
                }
            }
        }
        set
    };
    // Which simple escapes decode to a byte some needle holds: a byte of a
    // value's identity or lower-case form is one of the value's own bytes
    // (lower-casing changes letters only), a URL form holds none of them,
    // and a base64 or digest form may hold `/`.
    let simple_escapes = || {
        let mut mask = 0u8;
        for &(si, li) in source_leaves {
            for &b in sources[si as usize].leaves[li as usize].value.iter() {
                mask |= SIMPLE_BIT[b as usize];
            }
        }
        if forms.iter().any(|f| {
            !matches!(
                f.transform,
                Transform::Identity | Transform::Lowercase | Transform::Url
            )
        }) {
            mask |= SIMPLE_BIT[b'/' as usize];
        }
        mask
    };
    let mut simple: Option<u8> = None;

    let matched = &mut scratch.matched;
    matched.resize(sources.len() * sinks.len(), false);
    let mut matches: Vec<Match> = Vec::new();
    let found = &mut scratch.found;
    let hits = &mut scratch.hits;
    let spanned = &mut scratch.spanned;
    for (sink_index, &sink) in sinks.iter().enumerate() {
        if needles.is_empty() {
            break;
        }
        hits.clear();
        searcher.for_each(sink, |n, start| hits.push((n as u32, start)));
        if hits.is_empty() && !numeric {
            // Only a leaf whose value differs from its bytes (an escaped
            // string) could still hold a needle, and only through a byte
            // that one of its escapes decodes to.
            let letters = escapes[sink_index];
            if letters == 0 {
                continue;
            }
            let simple = *simple.get_or_insert_with(simple_escapes);
            if !escapes_hit_lazy(sink, letters, simple, &mut needle_byte_set.clone()) {
                continue;
            }
        }
        let flat = flatten(sink);
        found.clear();
        let mut record = |n: u32, leaf: u32, value: &[u8], offset: usize| {
            let mut fi = owner_head[n as usize];
            while fi != NONE {
                let form = &forms[fi as usize];
                if form.accepts(value, offset) {
                    let kind = if form.is_exact(arena, value) {
                        Kind::Exact
                    } else {
                        Kind::Contains
                    };
                    found.push((form_leaf[fi as usize], leaf, kind, form.transform));
                }
                fi = owner_next[fi as usize];
            }
        };
        // Hits in the sink's bytes, mapped to the leaf whose span holds them.
        spanned.clear();
        spanned.extend(
            flat.leaves
                .iter()
                .enumerate()
                .filter_map(|(i, l)| l.span.as_ref().map(|s| (s.start, s.end, i as u32))),
        );
        for &(n, start) in hits.iter() {
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
        matches.reserve(found.len());
        for &(source_leaf, sink_leaf, kind, transform) in found.iter() {
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
    let nomatch = NoMatch::unmatched(sources.len(), sinks.len(), matched);
    let searcher = searcher.kind();
    scratch.needles = recycle(needles);
    scratch.sinks = recycle(sinks);
    sources.clear();
    scratch.sources = sources.into_iter().map(|_| unreachable!()).collect();
    RequestResult {
        matches,
        nomatch,
        truncated,
        searcher,
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
    fn needles_hidden_behind_escapes_are_found() {
        // `\/` inside a base64 digest, `\u0048` for 'H', `\n` inside the value.
        let r = run(
            &[r#"{"a":"val0x","b":"Home","c":"two\nlines"}"#],
            &[
                r#"{"h":"2iCQvnCwHUtILkhNH4B828vgceBalvBHJ\/6QtneNhxI="}"#,
                r#"{"x":"at \u0048ome now"}"#,
                r#"{"y":"two\nlines"}"#,
                r#"{"z":"nothing\nhere\/at\u00e9all"}"#,
            ],
        );
        assert_eq!(
            summary(&r),
            vec![
                (
                    0,
                    "a".into(),
                    0,
                    "h".into(),
                    "EXACT_MATCH",
                    Some("sha256_base64")
                ),
                (0, "b".into(), 1, "x".into(), "CONTAINS", None),
                (0, "c".into(), 2, "y".into(), "EXACT_MATCH", None),
            ]
        );
        assert_eq!(r.nomatch, vec![(0, 3)]);
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
