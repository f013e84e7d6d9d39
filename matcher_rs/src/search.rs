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
    Hash,
    Nfa,
}

impl SearcherKind {
    pub fn name(self) -> &'static str {
        match self {
            SearcherKind::None => "none",
            SearcherKind::Memmem => "memmem",
            SearcherKind::Packed => "teddy",
            SearcherKind::Hash => "hash",
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
        needles: Needles,
        related: Vec<Vec<u32>>,
    },
    Hash(HashAnchors),
    Nfa(AhoCorasick),
}

impl Searcher {
    /// Build the cheapest searcher for `needles` (distinct and non-empty).
    pub fn new<N: AsRef<[u8]>>(needles: &[N]) -> Searcher {
        Self::with_kind(needles, None)
    }

    /// Build the searcher expected to cost least for `needles` over
    /// `haystack_bytes` bytes in all: building Teddy costs about 1.5 us per
    /// needle and it scans at 2-7 GB/s; hashed anchors build in about 20 ns
    /// per needle and scan at about 0.5 GB/s, so Teddy pays off only on
    /// large haystacks. The contiguous NFA is kept for large sets of needles
    /// too short to anchor.
    pub fn for_haystack<N: AsRef<[u8]>>(needles: &[N], haystack_bytes: usize) -> Searcher {
        let n = needles.len();
        let anchorable = needles.iter().all(|x| x.as_ref().len() >= ANCHOR);
        let kind = match n {
            0 => SearcherKind::None,
            n if n <= MEMMEM_MAX => SearcherKind::Memmem,
            n if n <= PACKED_MAX => {
                // Break-even: ~1.1 us per needle of build against ~1.5 ns/byte saved.
                if !anchorable || haystack_bytes > n * 750 {
                    SearcherKind::Packed
                } else {
                    SearcherKind::Hash
                }
            }
            _ if anchorable => SearcherKind::Hash,
            _ => SearcherKind::Nfa,
        };
        Self::with_kind(needles, Some(kind))
    }

    /// Build a searcher, optionally forcing a size class (for tests).
    pub fn with_kind<N: AsRef<[u8]>>(needles: &[N], force: Option<SearcherKind>) -> Searcher {
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
                    needles: Needles::new(needles),
                    related: related(needles),
                },
                None => Self::nfa(needles),
            },
            SearcherKind::Hash => match HashAnchors::new(needles) {
                Some(h) => Searcher::Hash(h),
                None => Self::nfa(needles),
            },
            SearcherKind::Nfa => Self::nfa(needles),
        }
    }

    fn nfa<N: AsRef<[u8]>>(needles: &[N]) -> Searcher {
        let ac = AhoCorasick::builder()
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .match_kind(MatchKind::Standard)
            .build(needles.iter().map(|n| n.as_ref()))
            .expect("needle set within aho-corasick limits");
        Searcher::Nfa(ac)
    }

    /// The size class actually built.
    pub fn kind(&self) -> SearcherKind {
        match self {
            Searcher::None => SearcherKind::None,
            Searcher::Memmem(_) => SearcherKind::Memmem,
            Searcher::Packed { .. } => SearcherKind::Packed,
            Searcher::Hash(_) => SearcherKind::Hash,
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
                        if hay[start..].starts_with(needles.get(j as usize)) {
                            f(j as usize, start);
                        }
                    }
                    at = start + 1;
                }
            }
            Searcher::Hash(h) => h.for_each(hay, f),
            Searcher::Nfa(ac) => {
                for m in ac.find_overlapping_iter(hay) {
                    f(m.pattern().as_usize(), m.start());
                }
            }
        }
    }
}

/// Needles are anchored on their first `ANCHOR` bytes.
pub const ANCHOR: usize = 4;
const HASH_BITS: u32 = 14;

/// Hashed anchors: each needle's first 4 bytes, hashed into a 16 Kbit filter
/// and 1 K bucket chains. Building is one pass over the needles; scanning
/// reads each 4-byte window of the haystack, tests one bit and walks a chain
/// only when it is set. Every occurrence is reported (overlaps included).
pub struct HashAnchors {
    filter: Box<[u64; 1 << (FILTER_BITS - 6)]>,
    heads: Box<[u32; 1 << HEAD_BITS]>,
    /// Per needle: its anchor, the next needle in its bucket (or u32::MAX).
    anchors: Vec<(u32, u32)>,
    needles: Needles,
}

/// Needles stored end to end in one allocation.
pub struct Needles {
    bytes: Vec<u8>,
    ends: Vec<u32>,
}

impl Needles {
    fn new<N: AsRef<[u8]>>(needles: &[N]) -> Needles {
        let mut bytes = Vec::with_capacity(needles.iter().map(|n| n.as_ref().len()).sum());
        let mut ends = Vec::with_capacity(needles.len());
        for n in needles {
            bytes.extend_from_slice(n.as_ref());
            ends.push(bytes.len() as u32);
        }
        Needles { bytes, ends }
    }

    #[inline]
    fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.bytes[start..self.ends[i] as usize]
    }
}

const FILTER_BITS: u32 = 14;
const HEAD_BITS: u32 = 10;

#[inline(always)]
fn anchor_hash(x: u32) -> u32 {
    x.wrapping_mul(0x9E37_79B1) >> (32 - FILTER_BITS)
}

impl HashAnchors {
    /// `None` when a needle is shorter than the anchor.
    pub fn new<N: AsRef<[u8]>>(needles: &[N]) -> Option<HashAnchors> {
        let mut filter = Box::new([0u64; 1 << (FILTER_BITS - 6)]);
        let mut heads = Box::new([u32::MAX; 1 << HEAD_BITS]);
        let mut anchors = Vec::with_capacity(needles.len());
        for (i, n) in needles.iter().enumerate() {
            let a = u32::from_le_bytes(n.as_ref().get(..ANCHOR)?.try_into().ok()?);
            let h = anchor_hash(a);
            filter[(h >> 6) as usize] |= 1 << (h & 63);
            let head = &mut heads[(h >> (FILTER_BITS - HEAD_BITS)) as usize];
            anchors.push((a, *head));
            *head = i as u32;
        }
        Some(HashAnchors {
            filter,
            heads,
            anchors,
            needles: Needles::new(needles),
        })
    }

    fn for_each(&self, hay: &[u8], mut f: impl FnMut(usize, usize)) {
        let filter = &*self.filter;
        for (i, w) in hay.windows(ANCHOR).enumerate() {
            let a = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
            let h = anchor_hash(a);
            if filter[(h >> 6) as usize] & (1 << (h & 63)) == 0 {
                continue;
            }
            self.verify(hay, i, a, h, &mut f);
        }
    }

    #[cold]
    #[inline(never)]
    fn verify(&self, hay: &[u8], i: usize, a: u32, h: u32, f: &mut impl FnMut(usize, usize)) {
        let mut j = self.heads[(h >> (FILTER_BITS - HEAD_BITS)) as usize];
        while j != u32::MAX {
            let (anchor, next) = self.anchors[j as usize];
            if anchor == a && hay[i..].starts_with(self.needles.get(j as usize)) {
                f(j as usize, i);
            }
            j = next;
        }
    }
}

fn packed_searcher<N: AsRef<[u8]>>(needles: &[N]) -> Option<packed::Searcher> {
    let mut builder = packed::Config::new()
        .match_kind(packed::MatchKind::LeftmostFirst)
        .builder();
    for n in needles {
        builder.add(n.as_ref());
    }
    builder.build()
}

/// For each needle, the other needles it is a prefix of or that are its prefix.
fn related<N: AsRef<[u8]>>(needles: &[N]) -> Vec<Vec<u32>> {
    needles
        .iter()
        .enumerate()
        .map(|(i, a)| {
            needles
                .iter()
                .enumerate()
                .filter(|&(j, b)| {
                    j != i
                        && (a.as_ref().starts_with(b.as_ref())
                            || b.as_ref().starts_with(a.as_ref()))
                })
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
    fn cost_model_picks_hash_for_small_haystacks_and_nfa_for_short_needles() {
        let ns = needles(40);
        assert_eq!(
            Searcher::for_haystack(&ns, 1_000).kind(),
            SearcherKind::Hash
        );
        assert_eq!(
            Searcher::for_haystack(&ns, 10_000_000).kind(),
            SearcherKind::Packed
        );
        assert_eq!(
            Searcher::for_haystack(&needles(300), 10_000_000).kind(),
            SearcherKind::Hash
        );
        let short: Vec<Vec<u8>> = (0..100).map(|i| format!("{i}").into_bytes()).collect();
        assert_eq!(
            Searcher::for_haystack(&short, 1_000).kind(),
            SearcherKind::Nfa
        );
        let hay = b"1 22 333 99 100";
        let s = Searcher::for_haystack(&short, 1_000);
        assert_eq!(hits(&s, hay), naive(&short, hay));
        for n in [10, 300] {
            let s = Searcher::with_kind(&needles(n), Some(SearcherKind::Hash));
            assert_eq!(s.kind(), SearcherKind::Hash);
            let hay = b"xxval001xval009xx val299x";
            assert_eq!(hits(&s, hay), naive(&needles(n), hay));
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
