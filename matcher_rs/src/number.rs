//! Canonical text of a JSON number, so that `1.50` and `1.5` are one value.
//!
//! An integer literal that fits in 64 bits is its decimal text (`-0` is `0`).
//! Any other number is parsed as an IEEE double and written as the shortest
//! text that round-trips, in ryu's format (`1.0`, `0.00001`, `1.5e-7`,
//! `1e16`). A number that overflows to infinity keeps its literal text.

/// The canonical text of a valid JSON number literal, or `None` when the
/// literal is already canonical.
pub fn canonical(raw: &[u8], is_integer: bool) -> Option<String> {
    // Valid JSON number literals are ASCII.
    let text = std::str::from_utf8(raw).ok()?;
    if is_integer {
        if text == "-0" {
            return Some("0".to_string());
        }
        if text.parse::<i64>().is_ok() || text.parse::<u64>().is_ok() {
            return None;
        }
    }
    let v: f64 = text.parse().ok()?;
    if !v.is_finite() {
        return None;
    }
    let mut buf = ryu::Buffer::new();
    let out = buf.format_finite(v);
    (out != text).then(|| out.to_string())
}

#[cfg(test)]
mod tests {
    use super::canonical;

    fn c(raw: &str, int: bool) -> String {
        canonical(raw.as_bytes(), int).unwrap_or_else(|| raw.to_string())
    }

    #[test]
    fn integers() {
        assert_eq!(c("123", true), "123");
        assert_eq!(c("-0", true), "0");
        assert_eq!(c("-9223372036854775808", true), "-9223372036854775808");
        assert_eq!(c("18446744073709551615", true), "18446744073709551615");
        assert_eq!(c("18446744073709551616", true), "1.8446744073709552e19");
    }

    #[test]
    fn floats() {
        assert_eq!(c("1.50", false), "1.5");
        assert_eq!(c("1e16", false), "1e16");
        assert_eq!(c("1e15", false), "1000000000000000.0");
        assert_eq!(c("0.0001", false), "0.0001");
        assert_eq!(c("1E-5", false), "0.00001");
        assert_eq!(c("1e-6", false), "1e-6");
        assert_eq!(c("-0.0", false), "-0.0");
        assert_eq!(c("1e400", false), "1e400");
    }
}
