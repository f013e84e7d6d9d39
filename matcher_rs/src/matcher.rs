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

use memchr::memmem;

use crate::flatten::{flatten, Flattened};
use crate::guards::Guards;
use crate::nomatch::NoMatch;
use crate::search::{Searcher, SearcherKind};
use crate::transforms::{forms_into, Form, Transform};

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

/// End of an owner chain.
const NONE: u32 = u32::MAX;

/// Whether a needle could appear in a number's canonical text.
fn is_numeric(needle: &[u8]) -> bool {
    needle
        .iter()
        .all(|b| matches!(b, b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-'))
}

/// A set of byte values.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
struct ByteSet([u64; 4]);

impl ByteSet {
    #[inline]
    fn insert(&mut self, b: u8) {
        self.0[(b >> 6) as usize] |= 1 << (b & 63);
    }
    fn extend(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.insert(b);
        }
    }
    #[inline]
    fn contains(&self, b: u8) -> bool {
        self.0[(b >> 6) as usize] & (1 << (b & 63)) != 0
    }
}

/// Whether an escape of a JSON text may decode to a byte of `needles`
/// (every byte >= 0x80 counts for a `\u` escape of a non-ASCII character).
/// Over-approximate, which is safe (the sink is then flattened): a pair
/// `\x` is taken for an escape even when its backslash is itself escaped.
/// Only escapes that could matter are sought, each with one SIMD pass.
#[cfg(test)]
fn escapes_hit(text: &[u8], needles: &ByteSet) -> bool {
    let simple = SIMPLE_ESCAPES
        .iter()
        .enumerate()
        .filter(|(_, &(_, decoded))| needles.contains(decoded))
        .fold(0u8, |m, (i, _)| m | 1 << i);
    escapes_hit_lazy(text, escape_letters(text), simple, &mut || *needles)
}

/// The escapes `\x` with a one-letter code, and the byte each decodes to.
const SIMPLE_ESCAPES: [(u8, u8); 8] = [
    (b'"', b'"'),
    (b'\\', b'\\'),
    (b'/', b'/'),
    (b'b', 0x08),
    (b'f', 0x0c),
    (b'n', b'\n'),
    (b'r', b'\r'),
    (b't', b'\t'),
];

/// For each byte, the bit of the [`SIMPLE_ESCAPES`] entry that decodes to it.
const SIMPLE_BIT: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < SIMPLE_ESCAPES.len() {
        t[SIMPLE_ESCAPES[i].1 as usize] = 1 << i;
        i += 1;
    }
    t
};

/// [`escapes_hit`] with the text's escape letters given ([`escape_letters`]),
/// the needle bytes given as a mask of the simple escapes whose byte some
/// needle holds (bit `i` for `SIMPLE_ESCAPES[i]`) and, only for `\u`
/// escapes (rare), the whole set on demand.
fn escapes_hit_lazy(
    text: &[u8],
    letters: u16,
    simple: u8,
    needles: &mut dyn FnMut() -> ByteSet,
) -> bool {
    if letters as u8 & simple != 0 {
        return true;
    }
    if letters & U_ESCAPE == 0 {
        return false;
    }
    let mut set: Option<ByteSet> = None;
    memmem::find_iter(text, b"\\u").any(|i| {
        let code = text
            .get(i + 2..i + 6)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u32::from_str_radix(h, 16).ok());
        let set = set.get_or_insert_with(&mut *needles);
        match code {
            Some(c) if c < 0x80 => set.contains(c as u8),
            _ => set.0[2] | set.0[3] != 0,
        }
    })
}

/// Bytes that can stand for a digest character in a sink: the base64
/// alphabet (hex digits are in it) and the backslash, so that a run of
/// decoded characters is never longer than the run of its raw bytes.
const DIGEST_RUN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || c == b'+' || c == b'/' || c == b'\\';
        b += 1;
    }
    t
};

/// The shortest digest form: md5 in unpadded base64 (hex forms are 32+).
const SHORTEST_DIGEST: usize = 22;

/// Whether `text` has a run of [`SHORTEST_DIGEST`] bytes that may spell a
/// digest: 64 bytes at a time, classified with SSE2 into a bit mask whose
/// runs are measured with shifts (a run crossing blocks is carried over).
#[cfg(target_arch = "x86_64")]
fn has_digest_run(text: &[u8]) -> bool {
    if has_avx2() {
        // SAFETY: the features are available.
        unsafe { scan_sink_avx2(text, true).0 }
    } else {
        has_digest_run_sse2(text)
    }
}

/// Whether there is a run of [`SHORTEST_DIGEST`] bits set in `mask`, given
/// `carry` set bits just before it; returns the carry for the next mask.
#[inline(always)]
fn digest_run_in(mask: u64, carry: u32) -> Result<u32, ()> {
    if carry + mask.trailing_ones() >= SHORTEST_DIGEST as u32 {
        return Err(());
    }
    // Bit i of x: bits i..i+22 of the mask are all set.
    let mut x = mask & (mask >> 1);
    x &= x >> 2;
    x &= x >> 4;
    x &= x >> 8;
    x &= x >> 6;
    if x != 0 {
        return Err(());
    }
    Ok(if mask == u64::MAX {
        carry + 64
    } else {
        mask.leading_ones()
    })
}

/// For each byte, the bit of its escape letter: bit `i` for the letter of
/// `SIMPLE_ESCAPES[i]`, [`U_ESCAPE`] for `u`.
const ESCAPE_LETTER: [u16; 256] = {
    let mut t = [0u16; 256];
    let mut i = 0;
    while i < SIMPLE_ESCAPES.len() {
        t[SIMPLE_ESCAPES[i].0 as usize] = 1 << i;
        i += 1;
    }
    t[b'u' as usize] = U_ESCAPE;
    t
};

/// The bit of a `\u` escape in an escape summary.
const U_ESCAPE: u16 = 1 << 8;

/// The escape letters of `text`: for each backslash, the bit
/// ([`ESCAPE_LETTER`]) of the byte after it (an over-approximation of its
/// escapes, like [`escapes_hit`]: a backslash that is itself escaped counts).
fn escape_letters(text: &[u8]) -> u16 {
    memchr::memchr_iter(b'\\', text).fold(0, |m, i| {
        m | text.get(i + 1).map_or(0, |&b| ESCAPE_LETTER[b as usize])
    })
}

/// One pass over a sink: whether it has a digest run (only sought when
/// `digest` is set; else `false`) and its escape letters ([`escape_letters`]).
fn scan_sink(text: &[u8], digest: bool) -> (bool, u16) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the features are available.
        return unsafe { scan_sink_avx2(text, digest) };
    }
    (digest && has_digest_run(text), escape_letters(text))
}

/// Whether [`scan_sink_avx2`] can run: AVX2, and the bit instructions that
/// every AVX2 processor has (shifts without a copy, leading zero count),
/// which make the run measure shorter.
#[cfg(target_arch = "x86_64")]
#[inline]
fn has_avx2() -> bool {
    std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("bmi1")
        && std::arch::is_x86_feature_detected!("bmi2")
        && std::arch::is_x86_feature_detected!("lzcnt")
}

/// [`scan_sink`] with AVX2: each byte classified by two nibble lookups
/// (`pshufb`), 64 bytes per step; backslashes found by one compare per 32
/// bytes, the byte after each looked up.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,bmi1,bmi2,lzcnt")]
unsafe fn scan_sink_avx2(text: &[u8], digest: bool) -> (bool, u16) {
    use std::arch::x86_64::*;
    // Classes by high nibble: 1 digits (low nibble 0-9), 2 letters @A-O/`a-o
    // (1-15), 4 letters P-Z/p-z (0-10), 8 `+` and `/` (11, 15), 16 `\` (12).
    const LO: [i8; 16] = {
        let mut t = [0i8; 16];
        let mut l = 0;
        while l < 16 {
            let mut c = 0;
            if l <= 9 {
                c |= 1;
            }
            if l >= 1 {
                c |= 2;
            }
            if l <= 10 {
                c |= 4;
            }
            if l == 11 || l == 15 {
                c |= 8;
            }
            if l == 12 {
                c |= 16;
            }
            t[l] = c;
            l += 1;
        }
        t
    };
    const HI: [i8; 16] = [0, 0, 8, 1, 2, 4 | 16, 2, 4, 0, 0, 0, 0, 0, 0, 0, 0];
    let lo_t = _mm256_broadcastsi128_si256(_mm_loadu_si128(LO.as_ptr() as *const __m128i));
    let hi_t = _mm256_broadcastsi128_si256(_mm_loadu_si128(HI.as_ptr() as *const __m128i));
    let nib = _mm256_set1_epi8(0x0f);
    let zero = _mm256_setzero_si256();
    let back = _mm256_set1_epi8(b'\\' as i8);
    // Bit i: byte i is NOT in the class.
    let outside = |b: __m256i| -> u32 {
        let lo = _mm256_shuffle_epi8(lo_t, _mm256_and_si256(b, nib));
        let hi = _mm256_shuffle_epi8(hi_t, _mm256_and_si256(_mm256_srli_epi16(b, 4), nib));
        _mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_and_si256(lo, hi), zero)) as u32
    };
    let backslashes =
        |b: __m256i| -> u32 { _mm256_movemask_epi8(_mm256_cmpeq_epi8(b, back)) as u32 };
    let mut carry = 0u32;
    let mut found = !digest;
    // One 64-byte block: its escape letters (`next` reads the byte after a
    // position), then its digest run unless one was already found.
    let mut block = |p: *const u8, next: &dyn Fn(usize) -> u8, escapes: &mut u16| {
        let (b0, b1) = (
            _mm256_loadu_si256(p as *const __m256i),
            _mm256_loadu_si256(p.add(32) as *const __m256i),
        );
        let mut back = backslashes(b0) as u64 | (backslashes(b1) as u64) << 32;
        while back != 0 {
            *escapes |= ESCAPE_LETTER[next(back.trailing_zeros() as usize) as usize];
            back &= back - 1;
        }
        if !found {
            let mask = !(outside(b0) as u64 | (outside(b1) as u64) << 32);
            match digest_run_in(mask, carry) {
                Ok(c) => carry = c,
                Err(()) => found = true,
            }
        }
    };
    let mut escapes = 0u16;
    let mut chunks = text.chunks_exact(64);
    let mut base = 0;
    for chunk in &mut chunks {
        let p = chunk.as_ptr();
        // This is the first pass over a sink, usually not yet in any cache:
        // ask for the bytes a few steps ahead (a prefetch never faults).
        _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(512) as *const i8);
        block(
            p,
            &|i| text.get(base + i + 1).copied().unwrap_or(0),
            &mut escapes,
        );
        base += 64;
    }
    // The last bytes, padded with zeros (neither a digest byte, nor an
    // escape letter, nor a backslash).
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut pad = [0u8; 64];
        pad[..rest.len()].copy_from_slice(rest);
        block(pad.as_ptr(), &|i| pad[i + 1], &mut escapes);
    }
    (digest && found, escapes)
}

/// [`has_digest_run`] with SSE2 (part of x86_64).
#[cfg(target_arch = "x86_64")]
fn has_digest_run_sse2(text: &[u8]) -> bool {
    use std::arch::x86_64::*;
    let mut chunks = text.chunks_exact(64);
    let mut carry = 0u32;
    for chunk in &mut chunks {
        let mut mask = 0u64;
        for k in 0..4 {
            // SAFETY: SSE2 is part of x86_64; the load reads 16 bytes of a
            // 64-byte chunk.
            let bits = unsafe {
                let b = _mm_loadu_si128(chunk.as_ptr().add(16 * k) as *const __m128i);
                let digit = _mm_cmplt_epi8(
                    _mm_add_epi8(b, _mm_set1_epi8((128u8.wrapping_sub(b'0')) as i8)),
                    _mm_set1_epi8(-128 + 10),
                );
                let lower = _mm_or_si128(b, _mm_set1_epi8(0x20));
                let letter = _mm_cmplt_epi8(
                    _mm_add_epi8(lower, _mm_set1_epi8((128u8.wrapping_sub(b'a')) as i8)),
                    _mm_set1_epi8(-128 + 26),
                );
                let plus = _mm_cmpeq_epi8(b, _mm_set1_epi8(b'+' as i8));
                let slash = _mm_cmpeq_epi8(b, _mm_set1_epi8(b'/' as i8));
                let back = _mm_cmpeq_epi8(b, _mm_set1_epi8(b'\\' as i8));
                let any = _mm_or_si128(
                    _mm_or_si128(digit, letter),
                    _mm_or_si128(plus, _mm_or_si128(slash, back)),
                );
                _mm_movemask_epi8(any) as u32 as u64
            };
            mask |= bits << (16 * k);
        }
        if carry + mask.trailing_ones() >= SHORTEST_DIGEST as u32 {
            return true;
        }
        // Bit i of x: bytes i..i+22 of the chunk are all in the class.
        let mut x = mask & (mask >> 1);
        x &= x >> 2;
        x &= x >> 4;
        x &= x >> 8;
        x &= x >> 6;
        if x != 0 {
            return true;
        }
        carry = if mask == u64::MAX {
            carry + 64
        } else {
            mask.leading_ones()
        };
    }
    let rest = chunks.remainder();
    let run = rest.iter().take_while(|&&b| DIGEST_RUN[b as usize]).count() as u32;
    carry + run >= SHORTEST_DIGEST as u32 || has_digest_run_scalar(rest)
}

#[cfg(not(target_arch = "x86_64"))]
fn has_digest_run(text: &[u8]) -> bool {
    has_digest_run_scalar(text)
}

/// The same, a byte at a time: checks the last byte of each candidate
/// window and scans back from it.
fn has_digest_run_scalar(text: &[u8]) -> bool {
    let k = SHORTEST_DIGEST;
    let mut i = 0;
    while i + k <= text.len() {
        let mut j = i + k;
        loop {
            if j == i {
                return true;
            }
            j -= 1;
            if !DIGEST_RUN[text[j] as usize] {
                break;
            }
        }
        i = j + 1;
    }
    false
}

/// A small, fast hash of a byte string (for deduplicating needles). The
/// last bytes are read with loads that overlap the ones before (no copy
/// into a buffer, whose reload would wait for the stores).
#[inline]
fn hash_bytes(bytes: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mix = |h: u64, x: u64| (h.rotate_left(5) ^ x).wrapping_mul(K);
    let n = bytes.len();
    let mut h = n as u64;
    let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().unwrap());
    let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap()) as u64;
    if n >= 8 {
        let mut chunks = bytes[..n - 1].chunks_exact(8);
        for c in &mut chunks {
            h = mix(h, u64::from_le_bytes(c.try_into().unwrap()));
        }
        // The last 8 bytes (overlapping the last chunk, unless whole).
        h = mix(h, u64_at(n - 8));
    } else if n >= 4 {
        h = mix(h, u32_at(0) | u32_at(n - 4) << 32);
    } else if n > 0 {
        let x = bytes[0] as u64 | (bytes[n / 2] as u64) << 8 | (bytes[n - 1] as u64) << 16;
        h = mix(h, x);
    }
    h ^ (h >> 29)
}

/// Hint that the first bytes of `bytes` will be read soon.
#[inline]
fn prefetch(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let p = bytes.as_ptr();
        for k in 0..bytes.len().min(512).div_ceil(64) {
            // SAFETY: a prefetch has no effect on memory and never faults.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(64 * k) as *const i8) };
        }
    }
}

/// Hint that the cache line at `p` will be written soon (a prefetch never
/// faults: any address will do).
#[inline]
pub fn prefetch_object(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch has no effect on memory and never faults.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(p as *const i8)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
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

/// The per-request buffers, kept per thread between requests (allocating
/// them anew costs more than clearing them, most in a process whose heap is
/// large and scattered, like Python's).
#[derive(Default)]
struct Scratch {
    escapes: Vec<u16>,
    /// Always empty between requests (their element types borrow).
    sources: Vec<Flattened<'static>>,
    sinks: Vec<&'static [u8]>,
    transforms: Vec<Transform>,
    source_leaves: Vec<(u32, u32)>,
    arena: Vec<u8>,
    forms: Vec<Form>,
    form_leaf: Vec<u32>,
    /// Always empty between requests (its element type borrows).
    needles: Vec<&'static [u8]>,
    owner_head: Vec<u32>,
    owner_next: Vec<u32>,
    table: Vec<u32>,
    matched: Vec<bool>,
    found: Vec<(u32, u32, Kind, Transform)>,
    hits: Vec<(u32, usize)>,
    spanned: Vec<(usize, usize, u32)>,
}

/// Buffers larger than this are freed rather than kept.
const SCRATCH_MAX_BYTES: usize = 1 << 20;

thread_local! {
    static SCRATCH: std::cell::Cell<Option<Box<Scratch>>> = const { std::cell::Cell::new(None) };
}

/// An empty vector with the allocation of `v` (same element size and
/// alignment, so that the in-place collect keeps the buffer).
fn recycle<'a, 'b>(mut v: Vec<&'a [u8]>) -> Vec<&'b [u8]> {
    v.clear();
    v.into_iter().map(|_| unreachable!()).collect()
}

/// Clear `v` for the next request, or free it when it is too large to keep.
fn keep<T>(v: &mut Vec<T>) {
    if v.capacity() * std::mem::size_of::<T>() > SCRATCH_MAX_BYTES {
        *v = Vec::new();
    } else {
        v.clear();
    }
}

/// Match one request.
pub fn match_request(request: &Request<'_>, config: &Config) -> RequestResult {
    let mut scratch = SCRATCH
        .try_with(|s| s.take())
        .ok()
        .flatten()
        .unwrap_or_default();
    let result = match_request_in(request, config, &mut scratch);
    let s = &mut *scratch;
    keep(&mut s.escapes);
    keep(&mut s.transforms);
    keep(&mut s.source_leaves);
    keep(&mut s.arena);
    keep(&mut s.forms);
    keep(&mut s.form_leaf);
    keep(&mut s.needles);
    keep(&mut s.owner_head);
    keep(&mut s.owner_next);
    keep(&mut s.table);
    keep(&mut s.matched);
    keep(&mut s.found);
    keep(&mut s.hits);
    keep(&mut s.spanned);
    let _ = SCRATCH.try_with(|c| c.set(Some(scratch)));
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
    needles.reserve(forms.len());
    let owner_head = &mut scratch.owner_head;
    owner_head.reserve(forms.len());
    let owner_next = &mut scratch.owner_next;
    owner_next.resize(forms.len(), NONE);
    let slots = (2 * forms.len()).next_power_of_two().max(16);
    let table = &mut scratch.table;
    table.resize(slots, NONE);
    for (fi, form) in forms.iter().enumerate() {
        let needle = form.needle(arena);
        let mut slot = hash_bytes(needle) as usize & (slots - 1);
        let id = loop {
            match table[slot] {
                NONE => {
                    table[slot] = needles.len() as u32;
                    needles.push(needle);
                    owner_head.push(NONE);
                    break needles.len() - 1;
                }
                id if needles[id as usize] == needle => break id as usize,
                _ => slot = (slot + 1) & (slots - 1),
            }
        };
        owner_next[fi] = owner_head[id];
        owner_head[id] = fi as u32;
    }
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
    fn digest_run_detection_agrees_with_the_scalar_scan() {
        let mut rng = crate::test_rng::XorShift(0x9e37_79b9_7f4a_7c15);
        for round in 0..3000 {
            let len = (round * 7) % 300;
            // Mostly class bytes, so runs of every length occur.
            let text = rng.text(len, b"aZ9+/\\ a0b1c2d3e4f5 -");
            assert_eq!(
                has_digest_run(&text),
                has_digest_run_scalar(&text),
                "{text:?}"
            );
            #[cfg(target_arch = "x86_64")]
            assert_eq!(
                has_digest_run_sse2(&text),
                has_digest_run_scalar(&text),
                "{text:?}"
            );
            if round == 0 {
                // Every byte value is classified like the table says.
                for b in 0..=255u8 {
                    for at in [0, 10, 21, 40, 63] {
                        let mut t = vec![b' '; 130];
                        t[at..at + 22].fill(b'q');
                        t[at + 7] = b;
                        assert_eq!(has_digest_run(&t), DIGEST_RUN[b as usize], "{b}");
                        let mut t = vec![b' '; 130];
                        t[at..at + 22].fill(b);
                        assert_eq!(has_digest_run(&t), DIGEST_RUN[b as usize], "{b}");
                    }
                }
            }
            let long = [b'A'; 200];
            for start in 0..70 {
                for n in [21, 22, 23, 64, 65] {
                    let mut t = vec![b' '; 200];
                    t[start..start + n].copy_from_slice(&long[..n]);
                    assert_eq!(has_digest_run(&t), n >= 22, "{start} {n}");
                }
            }
        }
    }

    #[test]
    fn escape_letters_agree_with_the_scalar_scan() {
        let mut rng = crate::test_rng::XorShift(0x2545_f491_4f6c_dd1d);
        for round in 0..3000 {
            let len = (round * 11) % 300;
            let text = rng.text(len, b"\\\\\\nu/\"bftrxA0 ");
            let want = escape_letters(&text);
            let slow = text.windows(2).fold(0u16, |m, w| {
                m | if w[0] == b'\\' {
                    ESCAPE_LETTER[w[1] as usize]
                } else {
                    0
                }
            });
            assert_eq!(want, slow, "{text:?}");
            for digest in [false, true] {
                let (run, letters) = scan_sink(&text, digest);
                assert_eq!(letters, want, "{text:?}");
                assert_eq!(run, digest && has_digest_run_scalar(&text), "{text:?}");
            }
        }
    }

    #[test]
    fn digest_runs_and_escape_checks() {
        assert!(has_digest_run(b"x 2iCQvnCwHUtILkhNH4B828 y"));
        assert!(!has_digest_run(b"x 2iCQvnCwHUtILkhNH4B82 y"));
        assert!(has_digest_run(b"abcdefghij\\/klmnopqrst"));
        assert!(!has_digest_run(b"the user event ok id=2025 value xyzQ"));
        let mut set = ByteSet::default();
        set.extend(b"Home");
        assert!(!escapes_hit(br#""a\nb\\x0048""#, &set));
        assert!(escapes_hit(br#""a\nb\u0048""#, &set));
        assert!(!escapes_hit(br#""\u00e9""#, &set));
        set.insert(0xc3);
        assert!(escapes_hit(br#""\u00e9""#, &set));
    }

    #[test]
    fn needle_hash_reads_every_byte_once_at_any_alignment() {
        let text: Vec<u8> = (0..80u8).map(|i| i.wrapping_mul(37) ^ 0x5a).collect();
        let mut seen = std::collections::HashSet::new();
        for len in 0..40 {
            let h = hash_bytes(&text[..len]);
            // The same bytes elsewhere (another alignment) hash the same.
            let copy = [&[0u8; 3][..], &text[..len]].concat();
            assert_eq!(hash_bytes(&copy[3..]), h);
            // Every byte counts.
            for i in 0..len {
                let mut other = text[..len].to_vec();
                other[i] ^= 1;
                assert_ne!(hash_bytes(&other), h, "{len} {i}");
            }
            seen.insert(h);
        }
        assert_eq!(seen.len(), 40);
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
