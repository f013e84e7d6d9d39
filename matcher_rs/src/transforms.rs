//! Transforms: the forms in which a source value is sought in a sink.
//!
//! Besides the value itself (transform `None`), each source value is sought
//! lower-cased, URL-encoded, base64-encoded, and as the hex and base64
//! digests md5, sha1 and sha256 of it. Every form is a [`Variant`]: a needle
//! to search for, the leaf values that make it an exact match, and for base64
//! of a value whose length is not a multiple of three, a check on the
//! character that follows the needle.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use md5::Md5;
use percent_encoding::{percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// Bytes left alone by URL encoding: RFC 3986 unreserved characters, like
/// Python's `urllib.parse.quote(value, safe="")`.
const URL_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

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

fn plain(transform: Transform, form: Vec<u8>) -> Variant {
    Variant {
        transform,
        needle: form.clone(),
        exact: vec![form],
        tail: None,
    }
}

/// Base64 of a whole value, found alone or at a 3-byte boundary of a longer
/// encoded value.
fn base64_variant(value: &[u8]) -> Variant {
    let padded = STANDARD.encode(value).into_bytes();
    let unpadded_len = padded.iter().rposition(|&c| c != b'=').map_or(0, |i| i + 1);
    let rem = value.len() % 3;
    if rem == 0 {
        return plain(Transform::Base64, padded);
    }
    let bits = if rem == 1 { 2 } else { 4 };
    let last = value[value.len() - 1];
    Variant {
        transform: Transform::Base64,
        needle: padded[..unpadded_len - 1].to_vec(),
        exact: vec![padded.clone(), padded[..unpadded_len].to_vec()],
        tail: Some(Tail {
            bits,
            value: last & ((1 << bits) - 1),
        }),
    }
}

/// A digest written in base64: exact as padded or unpadded text.
fn digest_base64(transform: Transform, digest: &[u8]) -> Variant {
    let padded = STANDARD.encode(digest).into_bytes();
    let unpadded: Vec<u8> = padded.iter().copied().filter(|&c| c != b'=').collect();
    Variant {
        transform,
        needle: unpadded.clone(),
        exact: vec![padded, unpadded],
        tail: None,
    }
}

fn hex(digest: &[u8]) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    digest
        .iter()
        .flat_map(|b| [HEX[(b >> 4) as usize], HEX[(b & 15) as usize]])
        .collect()
}

/// Lower-case: Unicode for UTF-8 text, ASCII for other bytes.
pub fn lowercase(value: &[u8]) -> Vec<u8> {
    match std::str::from_utf8(value) {
        Ok(s) => s.to_lowercase().into_bytes(),
        Err(_) => value.to_ascii_lowercase(),
    }
}

/// Every variant of `value` under `transforms` (the identity always first);
/// a transform that leaves the value unchanged adds nothing.
pub fn variants(value: &[u8], transforms: &[Transform]) -> Vec<Variant> {
    let mut out = vec![plain(Transform::Identity, value.to_vec())];
    for &t in transforms {
        let v = match t {
            Transform::Identity => continue,
            Transform::Lowercase => plain(t, lowercase(value)),
            Transform::Url => plain(
                t,
                percent_encode(value, URL_ENCODE).to_string().into_bytes(),
            ),
            Transform::Base64 => base64_variant(value),
            Transform::Md5 => plain(t, hex(&Md5::digest(value))),
            Transform::Sha1 => plain(t, hex(&Sha1::digest(value))),
            Transform::Sha256 => plain(t, hex(&Sha256::digest(value))),
            Transform::Md5Base64 => digest_base64(t, &Md5::digest(value)),
            Transform::Sha1Base64 => digest_base64(t, &Sha1::digest(value)),
            Transform::Sha256Base64 => digest_base64(t, &Sha256::digest(value)),
        };
        if v.needle != value {
            out.push(v);
        }
    }
    out
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
