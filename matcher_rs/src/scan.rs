//! Sink scan kernels: what one pass over a sink's bytes tells the matcher.
//!
//! Before any searcher runs, each sink is read once ([`scan_sink`]) for two
//! facts that let the matcher skip work while keeping results identical:
//! whether it has a run of characters long enough to spell a digest (no
//! run, no digest forms), and which escape letters follow its backslashes
//! (no escape that decodes to a needle byte, no need to flatten a sink
//! without a hit). AVX2 and SSE2 versions with a scalar reference, which
//! the tests hold them to.

use memchr::memmem;

/// A set of byte values.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ByteSet([u64; 4]);

impl ByteSet {
    #[inline]
    pub(crate) fn insert(&mut self, b: u8) {
        self.0[(b >> 6) as usize] |= 1 << (b & 63);
    }
    pub(crate) fn extend(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.insert(b);
        }
    }
    #[inline]
    pub(crate) fn contains(&self, b: u8) -> bool {
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
pub(crate) const SIMPLE_BIT: [u8; 256] = {
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
pub(crate) fn escapes_hit_lazy(
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
pub(crate) fn scan_sink(text: &[u8], digest: bool) -> (bool, u16) {
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
pub(crate) unsafe fn scan_sink_avx2(text: &[u8], digest: bool) -> (bool, u16) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
