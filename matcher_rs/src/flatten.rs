//! Flattening: a payload becomes a list of leaves, each a path and a value.
//!
//! A payload is JSON text or raw bytes. JSON (strict RFC 8259, UTF-8) is
//! flattened into leaves: object keys join with `.`, list positions are `[]`
//! (`a.b`, `list[]`, `a[].b`). Strings and numbers are leaves (numbers in
//! canonical text, see [`crate::number`]); booleans and null are not
//! evidence and yield nothing. Anything that is not valid JSON (bad syntax,
//! invalid UTF-8, lone surrogate escapes, nesting deeper than [`MAX_DEPTH`]) is
//! one leaf with an empty path holding the raw bytes, and so is a JSON string
//! at top level (its decoded text).
//!
//! A leaf whose value is exactly a byte range of the payload remembers that
//! range (`span`), so that a search over the whole payload can be mapped back
//! to leaves without copying; escaped strings and non-canonical numbers own
//! their decoded value instead.

use std::borrow::Cow;
use std::cell::RefCell;
use std::ops::Range;
use std::thread::LocalKey;

/// Nesting deeper than this makes the payload raw bytes (no stack overflow).
pub const MAX_DEPTH: usize = 128;

/// One leaf of a flattened payload.
#[derive(Debug, Clone)]
pub struct Leaf<'a> {
    /// Range of the leaf's path in [`Flattened::paths`].
    path: Range<u32>,
    /// The leaf's value: decoded string bytes, canonical number text or raw bytes.
    pub value: Cow<'a, [u8]>,
    /// The payload bytes equal to `value`, when the value is a slice of it.
    pub span: Option<Range<usize>>,
}

/// A flattened payload: its leaves, in document order.
#[derive(Debug, Clone, Default)]
pub struct Flattened<'a> {
    pub leaves: Vec<Leaf<'a>>,
    paths: String,
    /// Whether the payload parsed as JSON (false: one raw leaf).
    pub is_json: bool,
}

impl<'a> Flattened<'a> {
    /// The path of `leaf` (empty for a raw payload or a top-level scalar).
    pub fn path(&self, leaf: &Leaf<'a>) -> &str {
        &self.paths[leaf.path.start as usize..leaf.path.end as usize]
    }

    /// The payload as one raw leaf with an empty path.
    pub fn raw(payload: &'a [u8]) -> Self {
        let mut leaves = pooled_leaves();
        leaves.push(Leaf {
            path: 0..0,
            value: Cow::Borrowed(payload),
            span: Some(0..payload.len()),
        });
        Flattened {
            leaves,
            paths: String::new(),
            is_json: false,
        }
    }
}

impl Drop for Flattened<'_> {
    fn drop(&mut self) {
        let mut leaves = std::mem::take(&mut self.leaves);
        leaves.clear();
        // Same layout (only the lifetime differs): the buffer is kept.
        let leaves: Vec<Leaf<'static>> = leaves.into_iter().map(|_| unreachable!()).collect();
        give_back(&LEAVES, leaves);
        give_back_string(std::mem::take(&mut self.paths));
    }
}

thread_local! {
    /// Emptied leaf vectors and path strings of dropped results, for reuse
    /// (a fresh allocation per payload costs more).
    static LEAVES: RefCell<Vec<Vec<Leaf<'static>>>> = const { RefCell::new(Vec::new()) };
    static STRINGS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// How many buffers of each kind a thread keeps, and the largest it keeps.
const POOLED: usize = 16;
const POOLED_MAX_BYTES: usize = 1 << 20;

fn give_back<T>(pool: &'static LocalKey<RefCell<Vec<Vec<T>>>>, v: Vec<T>) {
    if v.capacity() == 0 || v.capacity() * std::mem::size_of::<T>() > POOLED_MAX_BYTES {
        return;
    }
    let _ = pool.try_with(|p| {
        let mut p = p.borrow_mut();
        if p.len() < POOLED {
            p.push(v);
        }
    });
}

fn give_back_string(mut s: String) {
    if s.capacity() == 0 || s.capacity() > POOLED_MAX_BYTES {
        return;
    }
    s.clear();
    let _ = STRINGS.try_with(|p| {
        let mut p = p.borrow_mut();
        if p.len() < POOLED {
            p.push(s);
        }
    });
}

/// An empty leaf vector, from the pool when there is one.
fn pooled_leaves<'a>() -> Vec<Leaf<'a>> {
    let v: Vec<Leaf<'static>> = LEAVES
        .try_with(|p| p.borrow_mut().pop())
        .ok()
        .flatten()
        .unwrap_or_default();
    v.into_iter().map(|_| unreachable!()).collect()
}

/// An empty string, from the pool when there is one.
fn pooled_string() -> String {
    STRINGS
        .try_with(|p| p.borrow_mut().pop())
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// Flatten a payload into leaves. Never fails: non-JSON is one raw leaf.
pub fn flatten(payload: &[u8]) -> Flattened<'_> {
    if std::str::from_utf8(payload).is_err() {
        return Flattened::raw(payload);
    }
    let mut parser = Parser {
        s: payload,
        pos: 0,
        path: pooled_string(),
        out: Flattened {
            leaves: pooled_leaves(),
            paths: pooled_string(),
            is_json: true,
        },
        last_path: None,
    };
    let ok = parser.document();
    give_back_string(std::mem::take(&mut parser.path));
    match ok {
        Some(()) => parser.out,
        None => Flattened::raw(payload),
    }
}

/// Where the JSON string that contains position `i` (inside it, after its
/// opening quote) ends: the index of its closing quote, escapes skipped
/// (not checked); `None` when it is not closed.
fn string_end(s: &[u8], mut i: usize) -> Option<usize> {
    loop {
        i = plain_run(s, i);
        match *s.get(i)? {
            b'"' => return Some(i),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
}

/// The end of the run of string bytes that need no decoding from `i`: the
/// index of the first `"`, `\\` or control byte (or the end of `s`).
#[inline]
fn plain_run(s: &[u8], i: usize) -> usize {
    special_run::<false>(s, i)
}

/// As [`plain_run`], and a byte beyond ASCII ends the run too: a run that
/// ends at a `"` is then a valid UTF-8 string as it is.
#[inline]
pub(crate) fn plain_ascii_run(s: &[u8], i: usize) -> usize {
    special_run::<true>(s, i)
}

#[inline(always)]
fn special_run<const ASCII: bool>(s: &[u8], mut i: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        while i + 16 <= s.len() {
            // SAFETY: SSE2 is part of x86_64; the load reads s[i..i + 16].
            let special = unsafe {
                let b = _mm_loadu_si128(s.as_ptr().add(i) as *const __m128i);
                let quote = _mm_cmpeq_epi8(b, _mm_set1_epi8(b'"' as i8));
                let back = _mm_cmpeq_epi8(b, _mm_set1_epi8(b'\\' as i8));
                let ctl = _mm_cmpeq_epi8(_mm_max_epu8(b, _mm_set1_epi8(0x1f)), _mm_set1_epi8(0x1f));
                let found = _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, back), ctl)) as u32;
                // The high bit of each byte: set beyond ASCII.
                found
                    | if ASCII {
                        _mm_movemask_epi8(b) as u32
                    } else {
                        0
                    }
            };
            if special != 0 {
                return i + special.trailing_zeros() as usize;
            }
            i += 16;
        }
    }
    while let Some(&b) = s.get(i) {
        if b == b'"' || b == b'\\' || b < 0x20 || (ASCII && b >= 0x80) {
            return i;
        }
        i += 1;
    }
    i
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    path: String,
    out: Flattened<'a>,
    /// The arena range of the last path written, reused for repeated paths.
    last_path: Option<Range<u32>>,
}

impl<'a> Parser<'a> {
    fn document(&mut self) -> Option<()> {
        self.ws();
        self.value(0)?;
        self.ws();
        (self.pos == self.s.len()).then_some(())
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(&b) = self.s.get(self.pos) {
            if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    #[inline]
    fn eat(&mut self, lit: &[u8]) -> Option<()> {
        if self.s[self.pos..].starts_with(lit) {
            self.pos += lit.len();
            Some(())
        } else {
            None
        }
    }

    fn emit(&mut self, value: Cow<'a, [u8]>, span: Option<Range<usize>>) {
        let path = match &self.last_path {
            Some(r) if &self.out.paths[r.start as usize..r.end as usize] == self.path => r.clone(),
            _ => {
                let start = self.out.paths.len() as u32;
                self.out.paths.push_str(&self.path);
                let r = start..self.out.paths.len() as u32;
                self.last_path = Some(r.clone());
                r
            }
        };
        self.out.leaves.push(Leaf { path, value, span });
    }

    fn value(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match *self.s.get(self.pos)? {
            b'{' => self.object(depth),
            b'[' => self.array(depth),
            b'"' => {
                let (value, span) = self.string()?;
                self.emit(value, span);
                Some(())
            }
            b't' => self.eat(b"true"),
            b'f' => self.eat(b"false"),
            b'n' => self.eat(b"null"),
            b'-' | b'0'..=b'9' => {
                let start = self.pos;
                let is_integer = self.number()?;
                let raw = &self.s[start..self.pos];
                match crate::number::canonical(raw, is_integer) {
                    None => self.emit(Cow::Borrowed(raw), Some(start..self.pos)),
                    Some(text) => self.emit(Cow::Owned(text.into_bytes()), None),
                }
                Some(())
            }
            _ => None,
        }
    }

    fn object(&mut self, depth: usize) -> Option<()> {
        self.pos += 1;
        self.ws();
        if self.eat(b"}").is_some() {
            return Some(());
        }
        loop {
            self.ws();
            if self.s.get(self.pos) != Some(&b'"') {
                return None;
            }
            let (key, _) = self.string()?;
            self.ws();
            self.eat(b":")?;
            self.ws();
            let saved = self.path.len();
            if saved > 0 {
                self.path.push('.');
            }
            // Keys come from validated UTF-8 input and decoded escapes.
            self.path.push_str(std::str::from_utf8(&key).ok()?);
            self.value(depth + 1)?;
            self.path.truncate(saved);
            self.ws();
            match *self.s.get(self.pos)? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn array(&mut self, depth: usize) -> Option<()> {
        self.pos += 1;
        self.ws();
        if self.eat(b"]").is_some() {
            return Some(());
        }
        let saved = self.path.len();
        self.path.push_str("[]");
        loop {
            self.ws();
            self.value(depth + 1)?;
            self.ws();
            match *self.s.get(self.pos)? {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    self.path.truncate(saved);
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// A JSON string at `pos` (on its opening quote): its decoded bytes, and
    /// its content span when it has no escapes.
    fn string(&mut self) -> Option<(Cow<'a, [u8]>, Option<Range<usize>>)> {
        let start = self.pos + 1;
        let s = self.s;
        // Fast scan: no escapes.
        let mut i = plain_run(s, start);
        match *s.get(i)? {
            b'"' => {
                self.pos = i + 1;
                return Some((Cow::Borrowed(&s[start..i]), Some(start..i)));
            }
            b'\\' => {}
            _ => return None,
        }
        // Every escape decodes to fewer bytes than its text: room for the
        // raw string up to its closing quote is enough (no growing).
        let mut out = Vec::with_capacity(string_end(s, i).map_or(0, |end| end - start));
        out.extend_from_slice(&s[start..i]);
        loop {
            let run = plain_run(s, i);
            out.extend_from_slice(&s[i..run]);
            i = run;
            let b = *s.get(i)?;
            match b {
                b'"' => {
                    self.pos = i + 1;
                    return Some((Cow::Owned(out), None));
                }
                b'\\' => {
                    let e = *s.get(i + 1)?;
                    i += 2;
                    match e {
                        b'"' => out.push(b'"'),
                        b'\\' => out.push(b'\\'),
                        b'/' => out.push(b'/'),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0c),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let hi = hex4(s.get(i..i + 4)?)?;
                            i += 4;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                if s.get(i..i + 2)? != b"\\u" {
                                    return None;
                                }
                                let lo = hex4(s.get(i + 2..i + 6)?)?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return None;
                                }
                                i += 6;
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else if (0xDC00..0xE000).contains(&hi) {
                                return None;
                            } else {
                                hi
                            };
                            let c = char::from_u32(code)?;
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return None,
                    }
                }
                b if b < 0x20 => return None,
                _ => {
                    out.push(b);
                    i += 1;
                }
            }
        }
    }

    /// A JSON number at `pos`; returns whether it is an integer literal.
    fn number(&mut self) -> Option<bool> {
        let s = self.s;
        let mut i = self.pos;
        if s.get(i) == Some(&b'-') {
            i += 1;
        }
        match s.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                while matches!(s.get(i), Some(b'0'..=b'9')) {
                    i += 1;
                }
            }
            _ => return None,
        }
        let mut integer = true;
        if s.get(i) == Some(&b'.') {
            integer = false;
            i += 1;
            if !matches!(s.get(i), Some(b'0'..=b'9')) {
                return None;
            }
            while matches!(s.get(i), Some(b'0'..=b'9')) {
                i += 1;
            }
        }
        if matches!(s.get(i), Some(b'e' | b'E')) {
            integer = false;
            i += 1;
            if matches!(s.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if !matches!(s.get(i), Some(b'0'..=b'9')) {
                return None;
            }
            while matches!(s.get(i), Some(b'0'..=b'9')) {
                i += 1;
            }
        }
        self.pos = i;
        Some(integer)
    }
}

fn hex4(b: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &c in b {
        v = v * 16 + (c as char).to_digit(16)?;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The runs, vector and byte by byte, against a plain loop: every stop
    /// byte at every position of the 16-byte chunks and their tails.
    #[test]
    fn runs_stop_at_the_first_special_byte() {
        let reference = |s: &[u8], i: usize, ascii: bool| {
            (i..s.len())
                .find(|&j| {
                    let b = s[j];
                    b == b'"' || b == b'\\' || b < 0x20 || (ascii && b >= 0x80)
                })
                .unwrap_or(s.len())
        };
        for len in [0, 1, 15, 16, 17, 31, 33, 40] {
            for at in 0..=len {
                for stop in [b'"', b'\\', 0x00, 0x1f, 0x80, 0xc3, 0xff, b' ', 0x7f] {
                    let mut s = vec![b'a'; len];
                    if at < len {
                        s[at] = stop;
                    }
                    for from in [0, 1.min(len)] {
                        assert_eq!(plain_run(&s, from), reference(&s, from, false));
                        assert_eq!(plain_ascii_run(&s, from), reference(&s, from, true));
                    }
                }
            }
        }
    }

    #[test]
    fn pooled_buffers_are_reused() {
        let payload = br#"{"a":"x","b":[1,2,3],"c":{"d":"y"}}"#;
        let first = flatten(payload);
        let ptr = first.leaves.as_ptr() as usize;
        drop(first);
        let again = flatten(payload);
        assert_eq!(again.leaves.as_ptr() as usize, ptr);
        assert_eq!(again.leaves.len(), 5);
    }

    fn leaves(payload: &str) -> Vec<(String, String)> {
        let f = flatten(payload.as_bytes());
        f.leaves
            .iter()
            .map(|l| {
                (
                    f.path(l).to_string(),
                    String::from_utf8_lossy(&l.value).into_owned(),
                )
            })
            .collect()
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn nested_objects_and_lists() {
        let got = leaves(r#"{"a":{"b":"x1","c":[1,"y",{"d":2.50}]},"e":true,"f":null}"#);
        assert_eq!(
            got,
            pairs(&[
                ("a.b", "x1"),
                ("a.c[]", "1"),
                ("a.c[]", "y"),
                ("a.c[].d", "2.5")
            ])
        );
    }

    #[test]
    fn top_level_scalars() {
        assert_eq!(leaves(r#""hello""#), pairs(&[("", "hello")]));
        assert_eq!(leaves("42"), pairs(&[("", "42")]));
        assert_eq!(
            leaves(r#"["a",["b"]]"#),
            pairs(&[("[]", "a"), ("[][]", "b")])
        );
        assert!(leaves("true").is_empty());
        assert!(leaves(" null ").is_empty());
        assert!(flatten(b"null").is_json);
    }

    #[test]
    fn a_json_string_that_holds_json_is_still_a_string() {
        assert_eq!(leaves(r#""{\"a\":\"b\"}""#), pairs(&[("", r#"{"a":"b"}"#)]));
    }

    #[test]
    fn escapes_are_decoded_and_owned() {
        let p = br#"{"k\u00e9y":"a\"b\\c\n\u00e9\ud83d\ude00","p":"plain"}"#;
        let f = flatten(p);
        assert_eq!(f.path(&f.leaves[0]), "kéy");
        assert_eq!(&*f.leaves[0].value, "a\"b\\c\né😀".as_bytes());
        assert!(f.leaves[0].span.is_none());
        let at = p.windows(5).position(|w| w == b"plain").unwrap();
        assert_eq!(f.leaves[1].span, Some(at..at + 5));
    }

    #[test]
    fn invalid_json_is_one_raw_leaf() {
        for bad in [
            &b"{\"a\":1"[..],
            b"{'a':1}",
            b"01",
            b"1.",
            b"[1,]",
            b"\"a\x01\"",
            b"\"\\ud800\"",
            b"\"\\x\"",
            b"1 2",
            b"NaN",
            b"",
            b"   ",
            b"\xff\xfe",
            b"plain text",
        ] {
            let f = flatten(bad);
            assert!(!f.is_json, "{:?}", bad);
            assert_eq!(f.leaves.len(), 1);
            assert_eq!(&*f.leaves[0].value, bad);
            assert_eq!(f.path(&f.leaves[0]), "");
        }
    }

    #[test]
    fn deep_nesting_is_raw_not_a_stack_overflow() {
        let deep = "[".repeat(100_000);
        assert!(!flatten(deep.as_bytes()).is_json);
        let ok = format!("{}1{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(flatten(ok.as_bytes()).is_json);
    }

    #[test]
    fn numbers_are_canonical() {
        let got = leaves(r#"[1, -0, 1.0, 1e2, 1.5E-7, 12345678901234567890123, 0.00001]"#);
        let vals: Vec<String> = got.into_iter().map(|(_, v)| v).collect();
        assert_eq!(
            vals,
            [
                "1",
                "0",
                "1.0",
                "100.0",
                "1.5e-7",
                "1.2345678901234568e22",
                "0.00001"
            ]
        );
    }

    #[test]
    fn spans_point_at_values() {
        let p = br#"{"a": "xyz", "n": 123}"#;
        let f = flatten(p);
        for leaf in &f.leaves {
            let span = leaf.span.clone().unwrap();
            assert_eq!(&p[span], &*leaf.value);
        }
    }
}
