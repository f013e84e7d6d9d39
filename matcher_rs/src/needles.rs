//! Needle deduplication: the distinct byte strings the searcher looks for.
//!
//! Forms of different source leaves often spell the same bytes (a value
//! sent twice, a lower-case form equal to the value); the searcher gets
//! each distinct needle once, and each needle a chain of the forms that own
//! it, so that a hit is credited to every one of them.

use crate::transforms::Form;

/// End of an owner chain.
pub(crate) const NONE: u32 = u32::MAX;

/// Whether a needle could appear in a number's canonical text.
pub(crate) fn is_numeric(needle: &[u8]) -> bool {
    needle
        .iter()
        .all(|b| matches!(b, b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-'))
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

/// Deduplicate the needles of `forms` (bytes in `arena`) into `needles`;
/// `owner_head[n]` is the first form of needle `n` and `owner_next[f]` the
/// next form with the same needle as form `f` ([`NONE`] ends a chain).
/// `table` is an open-addressing index of the needles, scratch space.
#[inline]
pub(crate) fn dedup<'a>(
    forms: &[Form],
    arena: &'a [u8],
    needles: &mut Vec<&'a [u8]>,
    owner_head: &mut Vec<u32>,
    owner_next: &mut Vec<u32>,
    table: &mut Vec<u32>,
) {
    needles.reserve(forms.len());
    owner_head.reserve(forms.len());
    owner_next.resize(forms.len(), NONE);
    let slots = (2 * forms.len()).next_power_of_two().max(16);
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
