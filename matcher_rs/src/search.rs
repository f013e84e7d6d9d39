//! Multi-needle search, with the searcher picked by the number of needles.
//!
//! Per request the needle set is small, so building a full automaton is often
//! the dominant cost. A few needles use memchr's `memmem` (one SIMD pass
//! each); up to [`PACKED_MAX`] use aho-corasick's packed Teddy searcher; more
//! use a contiguous-NFA Aho-Corasick automaton.
//!
//! Every searcher reports every position where a needle starts, overlapping
//! occurrences included: the packed searcher is leftmost-first, so after a
//! match at `p` it resumes at `p + 1` and checks by hand the needles that are
//! a prefix of the matched one (or that it is a prefix of), which are the only
//! ones that can also start at `p`.

use aho_corasick::{packed, AhoCorasick, AhoCorasickKind, MatchKind, Span};
use memchr::memmem;

/// At most this many needles: one `memmem` pass per needle.
pub const MEMMEM_MAX: usize = 4;
/// At most this many needles: aho-corasick's packed (Teddy) searcher.
pub const PACKED_MAX: usize = 64;

/// Which size class of searcher a needle set got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearcherKind {
    None,
    Memmem,
    Packed,
    Nfa,
}

impl SearcherKind {
    pub fn name(self) -> &'static str {
        match self {
            SearcherKind::None => "none",
            SearcherKind::Memmem => "memmem",
            SearcherKind::Packed => "teddy",
            SearcherKind::Nfa => "nfa",
        }
    }
}

/// A searcher over a fixed set of non-empty, distinct needles.
pub enum Searcher {
    None,
    Memmem(Vec<memmem::Finder<'static>>),
    Packed {
        searcher: packed::Searcher,
        needles: Vec<Vec<u8>>,
        related: Vec<Vec<u32>>,
    },
    Nfa(AhoCorasick),
}

impl Searcher {
    /// Build the cheapest searcher for `needles` (distinct and non-empty).
    pub fn new(needles: &[Vec<u8>]) -> Searcher {
        Self::with_kind(needles, None)
    }

    /// Build a searcher, optionally forcing a size class (for tests).
    pub fn with_kind(needles: &[Vec<u8>], force: Option<SearcherKind>) -> Searcher {
        let kind = force.unwrap_or(match needles.len() {
            0 => SearcherKind::None,
            n if n <= MEMMEM_MAX => SearcherKind::Memmem,
            n if n <= PACKED_MAX => SearcherKind::Packed,
            _ => SearcherKind::Nfa,
        });
        match kind {
            SearcherKind::None => Searcher::None,
            SearcherKind::Memmem => Searcher::Memmem(
                needles
                    .iter()
                    .map(|n| memmem::Finder::new(n).into_owned())
                    .collect(),
            ),
            SearcherKind::Packed => match packed_searcher(needles) {
                Some(searcher) => Searcher::Packed {
                    searcher,
                    needles: needles.to_vec(),
                    related: related(needles),
                },
                None => Self::nfa(needles),
            },
            SearcherKind::Nfa => Self::nfa(needles),
        }
    }

    fn nfa(needles: &[Vec<u8>]) -> Searcher {
        let ac = AhoCorasick::builder()
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .match_kind(MatchKind::Standard)
            .build(needles)
            .expect("needle set within aho-corasick limits");
        Searcher::Nfa(ac)
    }

    /// The size class actually built.
    pub fn kind(&self) -> SearcherKind {
        match self {
            Searcher::None => SearcherKind::None,
            Searcher::Memmem(_) => SearcherKind::Memmem,
            Searcher::Packed { .. } => SearcherKind::Packed,
            Searcher::Nfa(_) => SearcherKind::Nfa,
        }
    }

    /// Call `f(needle, start)` for every occurrence of every needle in `hay`.
    pub fn for_each(&self, hay: &[u8], mut f: impl FnMut(usize, usize)) {
        match self {
            Searcher::None => {}
            Searcher::Memmem(finders) => {
                for (i, finder) in finders.iter().enumerate() {
                    let mut at = 0;
                    while let Some(p) = hay.get(at..).and_then(|h| finder.find(h)) {
                        f(i, at + p);
                        at += p + 1;
                    }
                }
            }
            Searcher::Packed {
                searcher,
                needles,
                related,
            } => {
                let mut at = 0;
                while at < hay.len() {
                    let Some(m) = searcher.find_in(hay, Span::from(at..hay.len())) else {
                        break;
                    };
                    let (p, start) = (m.pattern().as_usize(), m.start());
                    f(p, start);
                    for &j in &related[p] {
                        if hay[start..].starts_with(&needles[j as usize]) {
                            f(j as usize, start);
                        }
                    }
                    at = start + 1;
                }
            }
            Searcher::Nfa(ac) => {
                for m in ac.find_overlapping_iter(hay) {
                    f(m.pattern().as_usize(), m.start());
                }
            }
        }
    }
}

fn packed_searcher(needles: &[Vec<u8>]) -> Option<packed::Searcher> {
    let mut builder = packed::Config::new()
        .match_kind(packed::MatchKind::LeftmostFirst)
        .builder();
    for n in needles {
        builder.add(n);
    }
    builder.build()
}

/// For each needle, the other needles it is a prefix of or that are its prefix.
fn related(needles: &[Vec<u8>]) -> Vec<Vec<u32>> {
    needles
        .iter()
        .enumerate()
        .map(|(i, a)| {
            needles
                .iter()
                .enumerate()
                .filter(|&(j, b)| j != i && (a.starts_with(b) || b.starts_with(a)))
                .map(|(j, _)| j as u32)
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(needles: &[Vec<u8>], hay: &[u8]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (i, n) in needles.iter().enumerate() {
            for p in 0..hay.len() {
                if hay[p..].starts_with(n) {
                    out.push((i, p));
                }
            }
        }
        out.sort();
        out
    }

    fn hits(s: &Searcher, hay: &[u8]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        s.for_each(hay, |i, p| out.push((i, p)));
        out.sort();
        out
    }

    fn needles(n: usize) -> Vec<Vec<u8>> {
        (0..n).map(|i| format!("val{i:03}x").into_bytes()).collect()
    }

    fn check(needles: Vec<Vec<u8>>, expect: SearcherKind) {
        let mut hay = b"prefix ".to_vec();
        for n in needles.iter().step_by(3) {
            hay.extend_from_slice(n);
            hay.extend_from_slice(b" -- ");
            hay.extend_from_slice(n);
        }
        hay.extend_from_slice(b"abababab val00 al001x");
        let s = Searcher::new(&needles);
        assert_eq!(s.kind(), expect);
        assert_eq!(hits(&s, &hay), naive(&needles, &hay));
    }

    #[test]
    fn size_classes() {
        check(Vec::new(), SearcherKind::None);
        check(needles(1), SearcherKind::Memmem);
        check(needles(MEMMEM_MAX), SearcherKind::Memmem);
        check(needles(MEMMEM_MAX + 1), SearcherKind::Packed);
        check(needles(PACKED_MAX), SearcherKind::Packed);
        check(needles(PACKED_MAX + 1), SearcherKind::Nfa);
        check(needles(300), SearcherKind::Nfa);
    }

    #[test]
    fn overlapping_and_prefix_needles_in_every_class() {
        let ns: Vec<Vec<u8>> = [
            "abab",
            "baba",
            "ababab",
            "aba",
            "Main St",
            "123 Main St",
            "Main Street",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        let hay = b"xabababab 123 Main Street and Main St.";
        for kind in [
            SearcherKind::Memmem,
            SearcherKind::Packed,
            SearcherKind::Nfa,
        ] {
            let s = Searcher::with_kind(&ns, Some(kind));
            assert_eq!(hits(&s, hay), naive(&ns, hay), "{kind:?}");
        }
    }

    #[test]
    fn short_haystacks() {
        let ns = needles(10);
        let s = Searcher::new(&ns);
        assert!(hits(&s, b"").is_empty());
        assert_eq!(hits(&s, b"val001x"), vec![(1, 0)]);
    }
}
