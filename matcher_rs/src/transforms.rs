//! Transforms: the forms in which a source value is sought in a sink.
//!
//! Besides the value itself (transform `None`), each source value is sought
//! lower-cased, URL-encoded, base64-encoded, and as the hex and base64
//! digests md5, sha1 and sha256 of it. Every form is a [`Variant`]: a needle
//! to search for, the leaf values that make it an exact match, and for base64
//! of a value whose length is not a multiple of three, a check on the
//! character that follows the needle.

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// A transform applied to a source value before seeking it, in preference
/// order (a match through an earlier transform wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Transform {
    Identity = 0,
    Lowercase,
    Url,
    Base64,
    Md5,
    Sha1,
    Sha256,
    Md5Base64,
    Sha1Base64,
    Sha256Base64,
}

impl Transform {
    /// Every transform except `Identity`: the default set.
    pub const ALL: [Transform; 9] = [
        Transform::Lowercase,
        Transform::Url,
        Transform::Base64,
        Transform::Md5,
        Transform::Sha1,
        Transform::Sha256,
        Transform::Md5Base64,
        Transform::Sha1Base64,
        Transform::Sha256Base64,
    ];

    /// The transform's name in results (`None` for the identity).
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Transform::Identity => return None,
            Transform::Lowercase => "lowercase",
            Transform::Url => "url",
            Transform::Base64 => "base64",
            Transform::Md5 => "md5",
            Transform::Sha1 => "sha1",
            Transform::Sha256 => "sha256",
            Transform::Md5Base64 => "md5_base64",
            Transform::Sha1Base64 => "sha1_base64",
            Transform::Sha256Base64 => "sha256_base64",
        })
    }

    /// Whether the transform is a digest (hex or base64), whose form is at
    /// least 22 characters of the base64 alphabet.
    pub fn is_digest(self) -> bool {
        !matches!(
            self,
            Transform::Identity | Transform::Lowercase | Transform::Url | Transform::Base64
        )
    }

    /// The transform with this name, if any (the identity has no name).
    pub fn from_name(name: &str) -> Option<Transform> {
        Transform::ALL.into_iter().find(|t| t.name() == Some(name))
    }
}

/// One form of a source value to seek in sinks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    pub transform: Transform,
    /// The bytes to search for in sink leaves.
    pub needle: Vec<u8>,
    /// Leaf values that make this an exact match besides the needle itself
    /// (empty: only the needle).
    pub exact: Vec<Vec<u8>>,
    /// For base64 of a value whose length is not a multiple of 3: the needle
    /// holds only whole characters, and the character after it must be a
    /// base64 digit whose top `bits` bits equal `value`.
    pub tail: Option<Tail>,
}

/// The check on the base64 digit that follows a base64 needle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tail {
    pub bits: u8,
    pub value: u8,
}

impl Variant {
    /// Whether an occurrence of the needle at `start` in `leaf` counts.
    #[inline]
    pub fn accepts(&self, leaf: &[u8], start: usize) -> bool {
        match self.tail {
            None => true,
            Some(tail) => match leaf
                .get(start + self.needle.len())
                .and_then(|&c| b64_digit(c))
            {
                Some(d) => d >> (6 - tail.bits) == tail.value,
                None => false,
            },
        }
    }

    /// Whether `leaf` equals one of the exact forms.
    #[inline]
    pub fn is_exact(&self, leaf: &[u8]) -> bool {
        if self.exact.is_empty() {
            self.needle == leaf
        } else {
            self.exact.iter().any(|e| e.as_slice() == leaf)
        }
    }
}

fn b64_digit(c: u8) -> Option<u8> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    })
}

/// One form of a source value, its bytes kept in a shared arena: the needle
/// and the exact forms are all prefixes of `arena[start..]` (base64 padding
/// is a suffix), so a form needs no allocation of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Form {
    pub transform: Transform,
    /// Where the form's bytes start in the arena.
    pub start: u32,
    /// The needle is `arena[start..start + needle_len]`.
    pub needle_len: u32,
    /// The leaf values that make an exact match: the prefixes of these two
    /// lengths (equal when there is one).
    pub exact_lens: [u32; 2],
    pub tail: Option<Tail>,
}

impl Form {
    #[inline]
    pub fn needle<'a>(&self, arena: &'a [u8]) -> &'a [u8] {
        &arena[self.start as usize..(self.start + self.needle_len) as usize]
    }

    /// Whether an occurrence of the needle at `start` in `leaf` counts.
    #[inline]
    pub fn accepts(&self, leaf: &[u8], start: usize) -> bool {
        match self.tail {
            None => true,
            Some(tail) => match leaf
                .get(start + self.needle_len as usize)
                .and_then(|&c| b64_digit(c))
            {
                Some(d) => d >> (6 - tail.bits) == tail.value,
                None => false,
            },
        }
    }

    /// Whether `leaf` equals one of the exact forms.
    #[inline]
    pub fn is_exact(&self, arena: &[u8], leaf: &[u8]) -> bool {
        let n = leaf.len() as u32;
        (n == self.exact_lens[0] || n == self.exact_lens[1])
            && &arena[self.start as usize..self.start as usize + leaf.len()] == leaf
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Append `digest` in lower-case hex (room made once, two digits written
/// per byte).
fn push_hex(arena: &mut Vec<u8>, digest: &[u8]) {
    let at = arena.len();
    arena.resize(at + 2 * digest.len(), 0);
    for (o, b) in arena[at..].chunks_exact_mut(2).zip(digest) {
        o.copy_from_slice(&[HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The two base64 digits of every 12 bits (the first in the low byte): one
/// lookup per two digits.
const B64_PAIRS: [u16; 4096] = {
    let mut t = [0u16; 4096];
    let mut i = 0;
    while i < 4096 {
        t[i] = B64[i >> 6] as u16 | (B64[i & 63] as u16) << 8;
        i += 1;
    }
    t
};

/// Append standard base64 (padded) of `data`; returns (padded, unpadded) lengths.
fn push_base64(arena: &mut Vec<u8>, data: &[u8]) -> (u32, u32) {
    let padded = data.len().div_ceil(3) * 4;
    let at = arena.len();
    arena.resize(at + padded, b'=');
    let out = &mut arena[at..];
    let whole = data.len() / 3;
    for (o, c) in out.chunks_exact_mut(4).zip(data.chunks_exact(3)) {
        let n = (c[0] as usize) << 16 | (c[1] as usize) << 8 | c[2] as usize;
        let pair = |bits: usize| B64_PAIRS[bits].to_le_bytes();
        let ([a, b], [c, d]) = (pair(n >> 12), pair(n & 0xfff));
        o.copy_from_slice(&[a, b, c, d]);
    }
    let rest = &data[3 * whole..];
    let pad = match *rest {
        [a] => {
            let n = (a as usize) << 16;
            out[4 * whole] = B64[n >> 18];
            out[4 * whole + 1] = B64[(n >> 12) & 63];
            2
        }
        [a, b] => {
            let n = (a as usize) << 16 | (b as usize) << 8;
            out[4 * whole] = B64[n >> 18];
            out[4 * whole + 1] = B64[(n >> 12) & 63];
            out[4 * whole + 2] = B64[(n >> 6) & 63];
            1
        }
        _ => 0,
    };
    (padded as u32, (padded - pad) as u32)
}

/// Bytes left alone by URL encoding: RFC 3986 unreserved characters, like
/// Python's `urllib.parse.quote(value, safe="")`.
const URL_UNRESERVED: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~');
        b += 1;
    }
    t
};

/// Each byte URL-encoded, in the low bytes of a `u32` (little-endian), and
/// the encoding's length in the top byte: the byte itself (1) when it is
/// unreserved, else `%XX` (3).
const URL_CODE: [u32; 256] = {
    const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";
    let mut t = [0u32; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = if URL_UNRESERVED[b] {
            b as u32 | 1 << 24
        } else {
            b'%' as u32
                | (HEX_UPPER[b >> 4] as u32) << 8
                | (HEX_UPPER[b & 15] as u32) << 16
                | 3 << 24
        };
        b += 1;
    }
    t
};

/// Append `value` percent-encoded (upper-case hex), every byte but the
/// unreserved ones. Without a branch per byte: each byte's code is written
/// whole (four bytes, the last one overwritten next) and the end advances by
/// its length.
fn push_url(arena: &mut Vec<u8>, value: &[u8]) {
    let at = arena.len();
    arena.resize(at + 3 * value.len() + 1, 0);
    let out = &mut arena[at..];
    let mut k = 0;
    for &b in value {
        let code = URL_CODE[b as usize];
        // k + 4 <= 3 * (bytes so far) + 1 <= out.len().
        out[k..k + 4].copy_from_slice(&code.to_le_bytes());
        k += (code >> 24) as usize;
    }
    arena.truncate(at + k);
}

/// Byte classes for one pass over a value: not ASCII, ASCII upper case, and
/// changed by URL encoding.
const NON_ASCII: u8 = 1;
const UPPER: u8 = 2;
const URL_RESERVED: u8 = 4;
const BYTE_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if !c.is_ascii() {
            t[b] |= NON_ASCII;
        }
        if c.is_ascii_uppercase() {
            t[b] |= UPPER;
        }
        if !URL_UNRESERVED[b] {
            t[b] |= URL_RESERVED;
        }
        b += 1;
    }
    t
};

/// Append every form of `value` under `transforms` (the identity first) to
/// `out`, their bytes to `arena`; a transform that leaves the value
/// unchanged adds nothing.
pub fn forms_into(
    value: &[u8],
    transforms: &[Transform],
    arena: &mut Vec<u8>,
    out: &mut Vec<Form>,
) {
    let plain = |t: Transform, start: usize, len: usize| Form {
        transform: t,
        start: start as u32,
        needle_len: len as u32,
        exact_lens: [len as u32; 2],
        tail: None,
    };
    let at = arena.len();
    arena.extend_from_slice(value);
    out.push(plain(Transform::Identity, at, value.len()));
    // Each digest is computed once, for its hex and its base64 form.
    let mut md5: Option<[u8; 16]> = None;
    let mut sha1: Option<[u8; 20]> = None;
    let mut sha256: Option<[u8; 32]> = None;
    let mut md5 = || *md5.get_or_insert_with(|| Md5::digest(value).into());
    let mut sha1 = || *sha1.get_or_insert_with(|| Sha1::digest(value).into());
    let mut sha256 = || *sha256.get_or_insert_with(|| Sha256::digest(value).into());
    let class = value.iter().fold(0u8, |c, &b| c | BYTE_CLASS[b as usize]);
    for &t in transforms {
        let at = arena.len();
        let form = match t {
            Transform::Identity => continue,
            Transform::Lowercase => {
                if class & NON_ASCII == 0 {
                    if class & UPPER == 0 {
                        continue;
                    }
                    arena.resize(at + value.len(), 0);
                    for (d, s) in arena[at..].iter_mut().zip(value) {
                        *d = s.to_ascii_lowercase();
                    }
                } else {
                    let lower = lowercase(value);
                    if lower == value {
                        continue;
                    }
                    arena.extend_from_slice(&lower);
                }
                plain(t, at, arena.len() - at)
            }
            Transform::Url => {
                if class & URL_RESERVED == 0 {
                    continue;
                }
                push_url(arena, value);
                plain(t, at, arena.len() - at)
            }
            Transform::Base64 => {
                let (padded, unpadded) = push_base64(arena, value);
                let rem = value.len() % 3;
                if rem == 0 {
                    plain(t, at, padded as usize)
                } else {
                    let bits = if rem == 1 { 2 } else { 4 };
                    let last = value[value.len() - 1];
                    Form {
                        transform: t,
                        start: at as u32,
                        needle_len: unpadded - 1,
                        exact_lens: [padded, unpadded],
                        tail: Some(Tail {
                            bits,
                            value: last & ((1 << bits) - 1),
                        }),
                    }
                }
            }
            Transform::Md5 => {
                push_hex(arena, &md5());
                plain(t, at, 32)
            }
            Transform::Sha1 => {
                push_hex(arena, &sha1());
                plain(t, at, 40)
            }
            Transform::Sha256 => {
                push_hex(arena, &sha256());
                plain(t, at, 64)
            }
            Transform::Md5Base64 | Transform::Sha1Base64 | Transform::Sha256Base64 => {
                let (padded, unpadded) = match t {
                    Transform::Md5Base64 => push_base64(arena, &md5()),
                    Transform::Sha1Base64 => push_base64(arena, &sha1()),
                    _ => push_base64(arena, &sha256()),
                };
                Form {
                    transform: t,
                    start: at as u32,
                    needle_len: unpadded,
                    exact_lens: [padded, unpadded],
                    tail: None,
                }
            }
        };
        if form.needle(arena) == value {
            arena.truncate(at);
        } else {
            out.push(form);
        }
    }
}

/// Lower-case: Unicode for UTF-8 text, ASCII for other bytes.
pub fn lowercase(value: &[u8]) -> Vec<u8> {
    match std::str::from_utf8(value) {
        Ok(s) => s.to_lowercase().into_bytes(),
        Err(_) => value.to_ascii_lowercase(),
    }
}

/// Every variant of `value` under `transforms` (the identity always first);
/// a transform that leaves the value unchanged adds nothing. The owned
/// counterpart of [`forms_into`].
pub fn variants(value: &[u8], transforms: &[Transform]) -> Vec<Variant> {
    let mut arena = Vec::new();
    let mut forms = Vec::new();
    forms_into(value, transforms, &mut arena, &mut forms);
    forms
        .iter()
        .map(|f| {
            let prefix = |n: u32| arena[f.start as usize..(f.start + n) as usize].to_vec();
            let mut exact = vec![prefix(f.exact_lens[0])];
            if f.exact_lens[1] != f.exact_lens[0] {
                exact.push(prefix(f.exact_lens[1]));
            }
            Variant {
                transform: f.transform,
                needle: f.needle(&arena).to_vec(),
                exact,
                tail: f.tail,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(value: &str, t: Transform) -> Option<Variant> {
        variants(value.as_bytes(), &[t])
            .into_iter()
            .find(|v| v.transform == t)
    }

    #[test]
    fn names_round_trip() {
        for t in Transform::ALL {
            assert_eq!(Transform::from_name(t.name().unwrap()), Some(t));
        }
        assert_eq!(Transform::Identity.name(), None);
        assert_eq!(Transform::from_name("rot13"), None);
    }

    #[test]
    fn lowercase_is_unicode_and_skipped_when_unchanged() {
        assert_eq!(
            one("Home ÉCOLE", Transform::Lowercase).unwrap().needle,
            "home école".as_bytes()
        );
        assert!(one("already lower", Transform::Lowercase).is_none());
        assert_eq!(lowercase(b"AB\xff"), b"ab\xff");
    }

    #[test]
    fn url_encodes_like_quote_safe_empty() {
        let v = one("Home, 123 Main St/é~", Transform::Url).unwrap();
        assert_eq!(v.needle, b"Home%2C%20123%20Main%20St%2F%C3%A9~");
        assert!(one("plain-text_ok.~", Transform::Url).is_none());
    }

    #[test]
    fn digests_hex_and_base64() {
        assert_eq!(
            one("abc", Transform::Md5).unwrap().needle,
            b"900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(
            one("abc", Transform::Sha1).unwrap().needle,
            b"a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            one("abc", Transform::Sha256).unwrap().needle,
            b"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let b = one("abc", Transform::Sha256Base64).unwrap();
        assert_eq!(b.needle, b"ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0");
        assert!(b.is_exact(b"ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="));
        assert_eq!(
            one("abc", Transform::Md5Base64).unwrap().exact[0],
            b"kAFQmDzST7DWlj99KOF/cg=="
        );
        assert_eq!(
            one("abc", Transform::Sha1Base64).unwrap().exact[0],
            b"qZk+NkcGgWq6PiVxeFDCbJzQ2J0="
        );
    }

    #[test]
    fn encoders_agree_with_the_reference_crates() {
        use base64::Engine as _;
        use percent_encoding::{percent_encode, AsciiSet, NON_ALPHANUMERIC};
        const SET: &AsciiSet = &NON_ALPHANUMERIC
            .remove(b'-')
            .remove(b'.')
            .remove(b'_')
            .remove(b'~');
        let set = SET;
        let mut rng = crate::test_rng::XorShift(0x2545_f491_4f6c_dd1d);
        for len in 0..200 {
            let data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let mut arena = b"prefix".to_vec();
            let (padded, unpadded) = push_base64(&mut arena, &data);
            let want = base64::engine::general_purpose::STANDARD.encode(&data);
            assert_eq!(&arena[6..], want.as_bytes());
            assert_eq!(padded as usize, want.len());
            assert_eq!(unpadded as usize, want.trim_end_matches('=').len());
            let mut arena = Vec::new();
            push_url(&mut arena, &data);
            assert_eq!(arena, percent_encode(&data, set).to_string().as_bytes());
            let class = data.iter().fold(0, |c, &b| c | BYTE_CLASS[b as usize]);
            assert_eq!(class & URL_RESERVED == 0, arena == data);
            assert_eq!(class & NON_ASCII == 0, data.is_ascii());
            assert_eq!(class & UPPER != 0, data.iter().any(u8::is_ascii_uppercase));
        }
    }

    #[test]
    fn base64_whole_and_prefix() {
        // "Home" -> "SG9tZQ==": needle keeps whole digits, tail checks 'Q'.
        let v = one("Home", Transform::Base64).unwrap();
        assert_eq!(v.needle, b"SG9tZ");
        assert!(v.is_exact(b"SG9tZQ==") && v.is_exact(b"SG9tZQ"));
        assert!(v.accepts(b"SG9tZQ==", 0));
        // "Homer" -> "SG9tZXI=": same prefix; 'X' = 23 = 0b010111, top 2 bits 01 = 'e' & 3.
        assert!(v.accepts(b"SG9tZXI=", 0));
        // "Homd" -> "SG9tZA==": 'A' top bits 00 != 01.
        assert!(!v.accepts(b"SG9tZA==", 0));
        assert!(!v.accepts(b"SG9tZ", 0));
        let three = one("abc", Transform::Base64).unwrap();
        assert_eq!(three.needle, b"YWJj");
        assert!(three.tail.is_none());
        let two = one("abcde", Transform::Base64).unwrap();
        assert_eq!(two.needle, b"YWJjZG");
        assert_eq!(
            two.tail,
            Some(Tail {
                bits: 4,
                value: b'e' & 15
            })
        );
        assert!(two.accepts(b"YWJjZGU=", 0));
    }
}
