//! Guards: which source values are evidence at all.
//!
//! A value too short (fewer than `min_length` characters; bytes when it is
//! not UTF-8), with no letter or digit, or on the stop-list of common values
//! (compared ASCII case-insensitively) is never sought, so `"1"`, `"US"`,
//! `"true"` or `"    "` match nothing. Only source values are sought in
//! sinks, never the other way round, so a sink value that is only a piece
//! of a source value is never a match.

use std::collections::HashSet;

/// The default minimum length of a source value, in characters.
pub const DEFAULT_MIN_LENGTH: usize = 4;

/// Values too common to be evidence of a flow.
pub const DEFAULT_STOP_LIST: &[&str] = &[
    "true",
    "false",
    "null",
    "none",
    "nil",
    "undefined",
    "nan",
    "yes",
    "no",
    "n/a",
    "ok",
    "test",
    "user",
    "admin",
    "root",
    "guest",
    "default",
    "unknown",
    "other",
    "empty",
    "enabled",
    "disabled",
    "active",
    "inactive",
    "pending",
    "success",
    "error",
    "failed",
    "http",
    "https",
    "localhost",
    "127.0.0.1",
    "0.0.0.0",
    "get",
    "post",
    "put",
    "delete",
    "head",
    "patch",
    "application/json",
    "text/plain",
    "text/html",
    "utf-8",
    "utf8",
    "0000",
    "1111",
    "1234",
    "12345",
    "123456",
    "0.0",
    "1.0",
    "-1.0",
    "100.0",
    "1000",
    "10000",
    "1970-01-01",
    "en_us",
    "en-us",
    "public",
    "private",
];

/// The guards applied to every source value.
#[derive(Debug, Clone)]
pub struct Guards {
    pub min_length: usize,
    /// ASCII-lower-cased stop values.
    stop: HashSet<Vec<u8>>,
    /// The length of the longest stop value: a longer value is never on the list.
    stop_max_len: usize,
    /// A bit per [`stop_key`] of the stop values: a value whose key's bit is
    /// clear is not on the list (most values: no hashing for them).
    stop_keys: [u64; 16],
}

/// A key of a value for [`Guards::stop_keys`], from its length and its first
/// and last bytes (ASCII lower-cased), in `0..1024`.
fn stop_key(value: &[u8]) -> usize {
    let (first, last) = match value {
        [] => (0, 0),
        [f, .., l] => (f.to_ascii_lowercase(), l.to_ascii_lowercase()),
        [f] => (f.to_ascii_lowercase(), f.to_ascii_lowercase()),
    };
    (value.len() * 7 + first as usize * 31 + last as usize * 131) & 1023
}

impl Default for Guards {
    fn default() -> Self {
        Guards::new(
            DEFAULT_MIN_LENGTH,
            DEFAULT_STOP_LIST.iter().map(|s| s.as_bytes()),
        )
    }
}

impl Guards {
    pub fn new<I, S>(min_length: usize, stop_list: I) -> Guards
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        let stop: HashSet<Vec<u8>> = stop_list
            .into_iter()
            .map(|s| s.as_ref().to_ascii_lowercase())
            .collect();
        let stop_max_len = stop.iter().map(Vec::len).max().unwrap_or(0);
        let mut stop_keys = [0u64; 16];
        for v in &stop {
            let k = stop_key(v);
            stop_keys[k >> 6] |= 1 << (k & 63);
        }
        Guards {
            min_length,
            stop,
            stop_max_len,
            stop_keys,
        }
    }

    /// Whether `value` may be evidence of a flow.
    pub fn is_evidence(&self, value: &[u8]) -> bool {
        // Characters for UTF-8 text, bytes otherwise (the same for ASCII).
        let len = if value.is_ascii() {
            value.len()
        } else {
            match std::str::from_utf8(value) {
                Ok(s) => s.chars().count(),
                Err(_) => value.len(),
            }
        };
        len >= self.min_length
            && len > 0
            && value
                .iter()
                .any(|&b| b.is_ascii_alphanumeric() || b >= 0x80)
            && (value.len() > self.stop_max_len || !self.on_stop_list(value))
    }

    fn on_stop_list(&self, value: &[u8]) -> bool {
        let k = stop_key(value);
        if self.stop_keys[k >> 6] & 1 << (k & 63) == 0 {
            return false;
        }
        let mut lower = [0u8; 64];
        match lower.get_mut(..value.len()) {
            Some(buf) => {
                for (d, s) in buf.iter_mut().zip(value) {
                    *d = s.to_ascii_lowercase();
                }
                self.stop.contains(&buf[..])
            }
            None => self.stop.contains(&value.to_ascii_lowercase()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_are_not_evidence() {
        let g = Guards::default();
        assert!(!g.is_evidence(b"1"));
        assert!(!g.is_evidence(b"US"));
        assert!(!g.is_evidence(b"abc"));
        assert!(g.is_evidence(b"abcd"));
        // Characters, not bytes.
        assert!(!g.is_evidence("éé€".as_bytes()));
        assert!(g.is_evidence("éé€a".as_bytes()));
        assert!(g.is_evidence(b"\xff\xfe\xfd\xfc"));
    }

    #[test]
    fn stop_list_is_case_insensitive_and_configurable() {
        let g = Guards::default();
        assert!(!g.is_evidence(b"TRUE"));
        assert!(!g.is_evidence(b"Localhost"));
        let custom = Guards::new(2, ["Secret"]);
        assert!(custom.is_evidence(b"US"));
        assert!(custom.is_evidence(b"true"));
        assert!(!custom.is_evidence(b"SECRET"));
    }

    #[test]
    fn every_stop_value_is_stopped_in_any_case() {
        let g = Guards::default();
        for v in DEFAULT_STOP_LIST {
            assert!(!g.is_evidence(v.as_bytes()), "{v}");
            assert!(!g.is_evidence(v.to_ascii_uppercase().as_bytes()), "{v}");
        }
        let custom = Guards::new(
            1,
            [
                "x",
                "Long stop value here, longer than 64 bytes of text, to be sure.",
            ],
        );
        assert!(!custom.is_evidence(b"X"));
        assert!(
            !custom.is_evidence(b"LONG stop value here, longer than 64 bytes of text, to be sure.")
        );
        assert!(custom.is_evidence(b"y"));
    }

    #[test]
    fn punctuation_only_is_not_evidence() {
        let g = Guards::default();
        assert!(!g.is_evidence(b"    "));
        assert!(!g.is_evidence(b"----,,,,"));
        assert!(g.is_evidence(b"--a--"));
    }

    #[test]
    fn zero_min_length_still_rejects_empty() {
        assert!(!Guards::new(0, [""; 0]).is_evidence(b""));
    }
}
