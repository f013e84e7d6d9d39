//! Multi-needle search, with the searcher picked by the needle set.
//!
//! Per request the needle set is small, so building a full automaton is often
//! the dominant cost. A few needles use memchr's `memmem` (one SIMD pass
//! each); needles of 4 bytes or more use sampled hashed anchors
//! ([`HashAnchors`]: cheap to build, and they read only every `stride`-th
//! position of the haystack); larger sets of shorter needles use
//! aho-corasick's packed Teddy searcher (up to [`PACKED_MAX`]) or a
//! contiguous-NFA Aho-Corasick automaton.
//!
//! Every searcher reports every position where a needle starts, overlapping
//! occurrences included: the packed searcher is leftmost-first, so after a
//! match at `p` it resumes at `p + 1` and checks by hand the needles that are
//! a prefix of the matched one (or that it is a prefix of), which are the only
//! ones that can also start at `p`.

use aho_corasick::{packed, AhoCorasick, AhoCorasickKind, MatchKind, Span};
use memchr::memmem;
use std::cell::RefCell;
use std::thread::LocalKey;

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
    /// `haystack_bytes` bytes in all. A few needles get one `memmem` pass
    /// each; needles of 4 bytes or more get the sampled hashed anchors
    /// (build ~3 ns per needle and stride step, scan several GB/s when the
    /// shortest needle is long); shorter needles get Teddy (building it
    /// costs ~1.1 us per needle) up to [`PACKED_MAX`], else the NFA.
    pub fn for_haystack<N: AsRef<[u8]>>(needles: &[N], haystack_bytes: usize) -> Searcher {
        let n = needles.len();
        let anchorable = needles.iter().all(|x| x.as_ref().len() >= ANCHOR);
        let kind = match n {
            0 => SearcherKind::None,
            n if n <= MEMMEM_MAX => SearcherKind::Memmem,
            _ if anchorable => SearcherKind::Hash,
            n if n <= PACKED_MAX => SearcherKind::Packed,
            _ => SearcherKind::Nfa,
        };
        Self::build(needles, kind, haystack_bytes)
    }

    /// Build a searcher, optionally forcing a size class (for tests).
    pub fn with_kind<N: AsRef<[u8]>>(needles: &[N], force: Option<SearcherKind>) -> Searcher {
        let kind = force.unwrap_or(match needles.len() {
            0 => SearcherKind::None,
            n if n <= MEMMEM_MAX => SearcherKind::Memmem,
            n if n <= PACKED_MAX => SearcherKind::Packed,
            _ => SearcherKind::Nfa,
        });
        Self::build(needles, kind, usize::MAX)
    }

    fn build<N: AsRef<[u8]>>(needles: &[N], kind: SearcherKind, haystack_bytes: usize) -> Searcher {
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
            SearcherKind::Hash => match HashAnchors::new(needles, haystack_bytes) {
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

/// Needles at least this long are "anchorable": sought by 4-byte grams.
pub const ANCHOR: usize = 4;
/// The largest sampling stride.
const MAX_STRIDE: usize = 32;

/// Sampled hashed anchors (a q-gram filter in the manner of Wu-Manber).
///
/// Let `m` be the length of the shortest needle and `q = min(4, m)`. Every
/// occurrence of a needle covers the `m - q + 1` grams that start at its
/// offsets `0..m - q + 1`, so reading the haystack's gram at every
/// `stride`-th position (`stride <= m - q + 1`) meets each occurrence exactly
/// once, at an offset below `stride`. Building inserts each needle's grams
/// at offsets `0..stride` into a byte filter (about 32 bytes per entry, in
/// L1 for up to a few hundred entries) and hash chains; scanning reads one
/// byte per sampled position (four probes per branch) and walks a chain only
/// when it is set, checking the
/// needle at the position the entry's offset implies. Each occurrence of
/// each needle is reported once (overlaps included), in no particular order.
/// The stride is chosen to balance build cost (needles x stride inserts)
/// against scan cost (haystack / stride probes).
pub struct HashAnchors {
    q: usize,
    stride: usize,
    gram_mask: u32,
    /// One byte per hash value (non-zero: some entry has it), so that a
    /// probe is a byte load.
    filter: Vec<u8>,
    filter_shift: u32,
    heads: Vec<u32>,
    head_shift: u32,
    entries: Vec<Entry>,
    needles: Needles,
}

#[derive(Clone, Copy)]
struct Entry {
    gram: u32,
    needle: u32,
    offset: u32,
    next: u32,
}

/// Needles stored end to end in one allocation.
pub struct Needles {
    bytes: Vec<u8>,
    ends: Vec<u32>,
}

impl Needles {
    fn new<N: AsRef<[u8]>>(needles: &[N]) -> Needles {
        let mut bytes = emptied(&BYTES, needles.iter().map(|n| n.as_ref().len()).sum());
        let mut ends = emptied(&ENDS, needles.len());
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

const GOLDEN: u32 = 0x9E37_79B1;

#[inline(always)]
fn gram_at(hay: &[u8], p: usize, mask: u32) -> u32 {
    if p + 4 <= hay.len() {
        u32::from_le_bytes(hay[p..p + 4].try_into().unwrap()) & mask
    } else {
        let mut b = [0u8; 4];
        let n = hay.len() - p;
        b[..n].copy_from_slice(&hay[p..]);
        u32::from_le_bytes(b) & mask
    }
}

impl Drop for Needles {
    fn drop(&mut self) {
        give_back(&BYTES, std::mem::take(&mut self.bytes));
        give_back(&ENDS, std::mem::take(&mut self.ends));
    }
}

thread_local! {
    /// Cleared filters and head tables of dropped searchers, for reuse:
    /// clearing the few slots a searcher set is cheaper than zeroing a table.
    static FILTERS: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
    static HEADS: RefCell<Vec<Vec<u32>>> = const { RefCell::new(Vec::new()) };
    /// Emptied buffers of dropped searchers (entries, needle bytes and
    /// ends), for reuse: a fresh allocation per request costs more.
    static ENTRIES: RefCell<Vec<Vec<Entry>>> = const { RefCell::new(Vec::new()) };
    static BYTES: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
    static ENDS: RefCell<Vec<Vec<u32>>> = const { RefCell::new(Vec::new()) };
}

/// An empty vector with room for `capacity`: from the pool, else new.
fn emptied<T>(pool: &'static LocalKey<RefCell<Vec<Vec<T>>>>, capacity: usize) -> Vec<T> {
    let mut v = pool
        .try_with(|p| p.borrow_mut().pop())
        .ok()
        .flatten()
        .unwrap_or_default();
    v.reserve(capacity);
    v
}

/// Give back a buffer to the pool (emptied; a large one is freed instead).
fn give_back<T>(pool: &'static LocalKey<RefCell<Vec<Vec<T>>>>, mut v: Vec<T>) {
    if v.capacity() == 0 || v.capacity() * std::mem::size_of::<T>() > POOLED_MAX_BYTES {
        return;
    }
    v.clear();
    let _ = pool.try_with(|p| {
        let mut p = p.borrow_mut();
        if p.len() < POOLED {
            p.push(v);
        }
    });
}

/// How many tables of each kind a thread keeps.
const POOLED: usize = 4;

/// A table of `len` slots all equal to `empty`: from the pool, else new.
fn pooled<T: Copy>(pool: &'static LocalKey<RefCell<Vec<Vec<T>>>>, len: usize, empty: T) -> Vec<T> {
    pool.try_with(|p| {
        let mut p = p.borrow_mut();
        let i = p.iter().position(|t| t.len() == len)?;
        Some(p.swap_remove(i))
    })
    .ok()
    .flatten()
    .unwrap_or_else(|| vec![empty; len])
}

/// The largest table a thread keeps (larger ones, for huge needle sets,
/// are freed rather than held).
const POOLED_MAX_BYTES: usize = 1 << 20;

/// Give back a table whose every slot is `empty` again.
fn unpool<T>(pool: &'static LocalKey<RefCell<Vec<Vec<T>>>>, table: Vec<T>) {
    if std::mem::size_of_val(&table[..]) > POOLED_MAX_BYTES {
        return;
    }
    let _ = pool.try_with(|p| {
        let mut p = p.borrow_mut();
        if p.len() < POOLED {
            p.push(table);
        }
    });
}

impl Drop for HashAnchors {
    fn drop(&mut self) {
        for e in &self.entries {
            let h = e.gram.wrapping_mul(GOLDEN);
            self.filter[(h >> self.filter_shift) as usize] = 0;
            self.heads[(h >> self.head_shift) as usize] = u32::MAX;
        }
        give_back(&ENTRIES, std::mem::take(&mut self.entries));
        unpool(&FILTERS, std::mem::take(&mut self.filter));
        unpool(&HEADS, std::mem::take(&mut self.heads));
    }
}

impl HashAnchors {
    /// `None` when a needle is empty. `haystack_bytes` (the total expected
    /// to be scanned) sets the stride.
    pub fn new<N: AsRef<[u8]>>(needles: &[N], haystack_bytes: usize) -> Option<HashAnchors> {
        let m = needles.iter().map(|n| n.as_ref().len()).min()?;
        if m == 0 {
            return None;
        }
        let q = m.min(ANCHOR);
        let gram_mask = if q == 4 {
            u32::MAX
        } else {
            (1u32 << (8 * q)) - 1
        };
        // Build ~3 ns per insert, scan ~0.7 ns per probe: stride ~ sqrt(hay / 4n).
        let balanced = ((haystack_bytes / (4 * needles.len())) as f64).sqrt() as usize;
        let stride = balanced.clamp(1, (m - q + 1).min(MAX_STRIDE));
        let n_entries = needles.len() * stride;
        let log = (n_entries.next_power_of_two().trailing_zeros()).max(1);
        // About 32 bytes per entry (few false probes), an even number of
        // bits from 12 to 18 (see `for_each`).
        let filter_bits = ((log + 5).clamp(12, 18) + 1) & !1;
        let head_bits = (log + 1).clamp(4, 22);
        let mut filter = pooled(&FILTERS, 1 << filter_bits, 0u8);
        let mut heads = pooled(&HEADS, 1 << head_bits, u32::MAX);
        let (filter_shift, head_shift) = (32 - filter_bits, 32 - head_bits);
        let mut entries = emptied(&ENTRIES, n_entries);
        for (j, n) in needles.iter().enumerate() {
            let n = n.as_ref();
            for o in 0..stride {
                let gram = gram_at(n, o, gram_mask);
                let h = gram.wrapping_mul(GOLDEN);
                filter[(h >> filter_shift) as usize] = 1;
                let head = &mut heads[(h >> head_shift) as usize];
                entries.push(Entry {
                    gram,
                    needle: j as u32,
                    offset: o as u32,
                    next: *head,
                });
                *head = (entries.len() - 1) as u32;
            }
        }
        Some(HashAnchors {
            q,
            stride,
            gram_mask,
            filter,
            filter_shift,
            heads,
            head_shift,
            entries,
            needles: Needles::new(needles),
        })
    }

    /// The sampling stride in use.
    pub fn stride(&self) -> usize {
        self.stride
    }

    fn for_each(&self, hay: &[u8], mut f: impl FnMut(usize, usize)) {
        if hay.len() < self.q {
            return;
        }
        // The filter's size is one of a few, so that its shifts are constants.
        let p = match self.filter_shift {
            _ if self.q < 4 => 0,
            s if s == 32 - 12 => self.scan::<{ 32 - 12 }>(hay, &mut f),
            s if s == 32 - 14 => self.scan::<{ 32 - 14 }>(hay, &mut f),
            s if s == 32 - 16 => self.scan::<{ 32 - 16 }>(hay, &mut f),
            _ => self.scan::<{ 32 - 18 }>(hay, &mut f),
        };
        let last = hay.len() - self.q;
        let (shift, mask, stride) = (self.filter_shift, self.gram_mask, self.stride);
        let mut p = p;
        while p <= last {
            let gram = gram_at(hay, p, mask);
            let h = gram.wrapping_mul(GOLDEN);
            if self.filter[(h >> shift) as usize] != 0 {
                self.verify(hay, p, gram, h, &mut f);
            }
            p += stride;
        }
    }

    /// The probes whose whole 4-byte gram lies in `hay`, four per step (one
    /// branch for the four when none is set); returns the next position.
    #[inline(always)]
    fn scan<const SHIFT: u32>(&self, hay: &[u8], f: &mut impl FnMut(usize, usize)) -> usize {
        assert!(self.filter.len() == 1 << (32 - SHIFT) && self.q == 4);
        let filter = &self.filter[..];
        let (mask, stride) = (self.gram_mask, self.stride);
        let ptr = hay.as_ptr();
        // SAFETY (every probe below): p + 4 <= hay.len(), and the filter
        // holds 2^(32 - SHIFT) bytes, so `h >> SHIFT` indexes one of them.
        let probe = |p: usize| -> u8 {
            let gram = unsafe { (ptr.add(p) as *const u32).read_unaligned() }.to_le();
            unsafe { *filter.get_unchecked((gram.wrapping_mul(GOLDEN) >> SHIFT) as usize) }
        };
        // A set bit is rare: its gram and hash are read again there.
        let mut verify = |p: usize| {
            let gram = gram_at(hay, p, mask);
            self.verify(hay, p, gram, gram.wrapping_mul(GOLDEN), f)
        };
        let mut p = 0;
        if hay.len() < 4 {
            return 0;
        }
        let fast_end = hay.len() - 4;
        while p + 3 * stride <= fast_end {
            let b0 = probe(p);
            let b1 = probe(p + stride);
            let b2 = probe(p + 2 * stride);
            let b3 = probe(p + 3 * stride);
            if b0 | b1 | b2 | b3 != 0 {
                for (k, b) in [b0, b1, b2, b3].into_iter().enumerate() {
                    if b != 0 {
                        verify(p + k * stride);
                    }
                }
            }
            p += 4 * stride;
        }
        while p <= fast_end {
            if probe(p) != 0 {
                verify(p);
            }
            p += stride;
        }
        p
    }

    #[cold]
    #[inline(never)]
    fn verify(&self, hay: &[u8], p: usize, gram: u32, h: u32, f: &mut impl FnMut(usize, usize)) {
        let mut e = self.heads[(h >> self.head_shift) as usize];
        while e != u32::MAX {
            let entry = self.entries[e as usize];
            if entry.gram == gram && entry.offset as usize <= p {
                let x = p - entry.offset as usize;
                if hay[x..].starts_with(self.needles.get(entry.needle as usize)) {
                    f(entry.needle as usize, x);
                }
            }
            e = entry.next;
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
    fn cost_model_picks_hash_for_anchorable_needles_and_teddy_or_nfa_for_short() {
        let ns = needles(40);
        for hay in [0, 1_000, 10_000_000] {
            assert_eq!(Searcher::for_haystack(&ns, hay).kind(), SearcherKind::Hash);
        }
        assert_eq!(
            Searcher::for_haystack(&needles(300), 10_000_000).kind(),
            SearcherKind::Hash
        );
        let short: Vec<Vec<u8>> = (0..100).map(|i| format!("{i}").into_bytes()).collect();
        assert_eq!(
            Searcher::for_haystack(&short, 1_000).kind(),
            SearcherKind::Nfa
        );
        assert_eq!(
            Searcher::for_haystack(&short[10..30], 1_000).kind(),
            SearcherKind::Packed
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

    /// A tiny deterministic generator (xorshift), so the test needs no crate.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
        fn bytes(&mut self, len: usize, alphabet: &[u8]) -> Vec<u8> {
            (0..len)
                .map(|_| alphabet[self.next(alphabet.len())])
                .collect()
        }
    }

    #[test]
    fn sampled_anchors_find_every_occurrence_at_every_stride() {
        let mut rng = Rng(0x1234_5678_9abc_def1);
        for round in 0..400 {
            let alphabet: &[u8] = if round % 3 == 0 {
                b"ab"
            } else {
                b"abcdefgh xyz"
            };
            let n = 1 + rng.next(40);
            let min_len = 1 + rng.next(12);
            let mut ns: Vec<Vec<u8>> = (0..n)
                .map(|_| {
                    let len = min_len + rng.next(20);
                    rng.bytes(len, alphabet)
                })
                .collect();
            ns.sort();
            ns.dedup();
            let hay_len = rng.next(300);
            let mut hay = rng.bytes(hay_len, alphabet);
            for _ in 0..rng.next(6) {
                let needle = ns[rng.next(ns.len())].clone();
                let at = rng.next(hay.len() + 1);
                hay.splice(at..at, needle);
            }
            for hay_hint in [0, 100, 10_000, usize::MAX] {
                let h = HashAnchors::new(&ns, hay_hint).unwrap();
                let s = Searcher::Hash(h);
                assert_eq!(
                    hits(&s, &hay),
                    naive(&ns, &hay),
                    "round {round} hint {hay_hint}"
                );
                // Every suffix too: haystack ends at every alignment.
                if round % 50 == 0 {
                    for cut in 0..hay.len().min(40) {
                        let part = &hay[..hay.len() - cut];
                        assert_eq!(hits(&s, part), naive(&ns, part));
                    }
                }
            }
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
