//! Probe events decoded in bulk: raw record values in, what the join needs out.
//!
//! The probe join reads tens of thousands of events per second; building a
//! Python dict per event (and re-serializing its payload) was a sixth of a
//! worker's time. [`decode`] reads one record value (JSON text) and gives
//! either a [`ProbeEvent`] (trace id, event time, role, asset, and the
//! payload as the bytes `orjson.dumps(orjson.loads(value)["payload"])`
//! would give), an [`Verdict::Invalid`] reason word for word what
//! `analyzers/events.py` says, or [`Verdict::Undecided`]: a rare shape for
//! which exact parity with orjson and the Python validator is not attempted
//! here (invalid JSON, whose reason quotes orjson's error position; floats
//! or integers beyond 64 bits inside the payload; duplicate keys; lone
//! surrogates; `payload_b64`; another event type). The caller decides those
//! with the Python validator, so every verdict is the Python one; a
//! differential test over a fuzz corpus holds the two to it.
//!
//! ```
//! use matcher_rs::probe_events::{decode, Verdict};
//! let mut arena = Vec::new();
//! let raw = br#"{"v":1,"type":"probe","ts":5,"trace_id":"t","role":"sink","asset":"db://x","payload":{"a": [1, "\u00e9"]}}"#;
//! match decode(raw, &mut arena) {
//!     Verdict::Probe(e) => assert_eq!(&arena[e.payload], "{\"a\":[1,\"é\"]}".as_bytes()),
//!     _ => unreachable!(),
//! }
//! ```

use std::borrow::Cow;
use std::ops::Range;

use crate::flatten::plain_ascii_run;

/// Nesting deeper than this is left to Python (orjson's limit is higher).
const MAX_DEPTH: usize = 128;

/// The capture's side of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Source,
    Sink,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Source => "source",
            Role::Sink => "sink",
        }
    }
}

/// A valid probe event: what the trace join uses of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeEvent<'a> {
    pub trace_id: Cow<'a, str>,
    pub ts: i64,
    pub role: Role,
    pub asset: Cow<'a, str>,
    /// The payload's canonical JSON text, in the caller's arena.
    pub payload: Range<usize>,
}

/// The outcome for one record value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict<'a> {
    Probe(ProbeEvent<'a>),
    /// The reason `analyzers.events.validate_event` gives (safe to log:
    /// it names fields and types, never values).
    Invalid(&'static str),
    /// Left to the Python validator (see the module documentation).
    Undecided,
}

/// Not decided here: invalid JSON or a shape left to Python.
#[derive(Debug)]
pub(crate) struct Undecided;

pub(crate) type Parse<T> = Result<T, Undecided>;

/// What the validator needs to know of a top-level field's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scalar<'a> {
    Str(Cow<'a, str>),
    Int(i64),
    /// An integer beyond `i64`: still an `int` for Python.
    BigInt,
    /// A finite float (one beyond `f64` is invalid JSON for orjson: undecided).
    Float,
    Bool(bool),
    Null,
    Container,
}

impl Scalar<'_> {
    pub(crate) fn is_str(&self) -> bool {
        matches!(self, Scalar::Str(s) if !s.is_empty())
    }
}

/// Decode and validate one probe event (see the module documentation).
/// The payload's canonical text is appended to `arena`.
pub fn decode<'a>(raw: &'a [u8], arena: &mut Vec<u8>) -> Verdict<'a> {
    let mark = arena.len();
    let reader = Reader {
        b: raw,
        i: 0,
        keys: Vec::with_capacity(16),
    };
    let verdict = reader.event(arena).unwrap_or(Verdict::Undecided);
    if !matches!(verdict, Verdict::Probe(_)) {
        arena.truncate(mark);
    }
    verdict
}

/// The fields named in `names` of the JSON object `raw`, summarized for a
/// validator ([`Scalar`]); `Ok(None)` for valid JSON that is not an object;
/// `Err(Undecided)` for what is left to Python (invalid JSON, a repeated
/// key, nesting beyond the limit, lone surrogates).
pub(crate) fn object_fields<'a, const N: usize>(
    raw: &'a [u8],
    names: &[&str; N],
) -> Parse<Option<[Option<Scalar<'a>>; N]>> {
    Reader {
        b: raw,
        i: 0,
        keys: Vec::with_capacity(16),
    }
    .fields(names)
}

/// A strict RFC 8259 reader (what orjson accepts) over one record value.
struct Reader<'a> {
    b: &'a [u8],
    i: usize,
    /// The keys of the objects being read, innermost last (for the
    /// duplicate check): one vector for every object of the value.
    keys: Vec<Cow<'a, str>>,
}

/// The top-level fields the probe spec names, as read.
#[derive(Default)]
struct Fields<'a> {
    v: Option<Scalar<'a>>,
    kind: Option<Scalar<'a>>,
    ts: Option<Scalar<'a>>,
    trace_id: Option<Scalar<'a>>,
    role: Option<Scalar<'a>>,
    asset: Option<Scalar<'a>>,
    service: Option<Scalar<'a>>,
    code_location: Option<Scalar<'a>>,
    payload_b64: Option<Scalar<'a>>,
    payload: Option<Range<usize>>,
}

impl<'a> Reader<'a> {
    fn event(mut self, arena: &mut Vec<u8>) -> Parse<Verdict<'a>> {
        let mut f = Fields::default();
        let object = self.top_level(|reader, key| {
            let slot = match key {
                "v" => Some(&mut f.v),
                "type" => Some(&mut f.kind),
                "ts" => Some(&mut f.ts),
                "trace_id" => Some(&mut f.trace_id),
                "role" => Some(&mut f.role),
                "asset" => Some(&mut f.asset),
                "service" => Some(&mut f.service),
                "code_location" => Some(&mut f.code_location),
                "payload_b64" => Some(&mut f.payload_b64),
                _ => None,
            };
            if let Some(slot) = slot {
                *slot = Some(reader.scalar()?);
            } else if key == "payload" {
                let start = arena.len();
                reader.canonical(arena, 0)?;
                f.payload = Some(start..arena.len());
            } else {
                reader.skip_value(0)?;
            }
            Ok(())
        })?;
        if !object {
            return Ok(Verdict::Invalid("event is not a JSON object"));
        }
        validate(f)
    }

    /// The top-level object's fields named in `names`, each summarized (the
    /// others only checked), or `None` for valid JSON that is not an object.
    fn fields<const N: usize>(
        mut self,
        names: &[&str; N],
    ) -> Parse<Option<[Option<Scalar<'a>>; N]>> {
        let mut out: [Option<Scalar<'a>>; N] = std::array::from_fn(|_| None);
        let object = self.top_level(|reader, key| {
            match names.iter().position(|name| *name == key) {
                Some(at) => out[at] = Some(reader.scalar()?),
                None => reader.skip_value(0)?,
            }
            Ok(())
        })?;
        Ok(object.then_some(out))
    }

    /// Walk the whole value: for an object, `member` reads each member's value
    /// (given its key); `false` for valid JSON that is not an object. A
    /// repeated key is undecided (the last one wins in Python: left to it).
    fn top_level(&mut self, mut member: impl FnMut(&mut Self, &str) -> Parse<()>) -> Parse<bool> {
        self.ws();
        if self.peek() != Some(b'{') {
            // Valid JSON that is not an object; anything else is Python's.
            self.skip_value(0)?;
            self.end()?;
            return Ok(false);
        }
        self.i += 1;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
        } else {
            loop {
                self.ws();
                let key = self.string()?;
                if self.keys.contains(&key) {
                    return Err(Undecided);
                }
                self.ws();
                self.expect(b':')?;
                self.ws();
                member(self, &key)?;
                self.keys.push(key);
                self.ws();
                match self.next()? {
                    b',' => continue,
                    b'}' => break,
                    _ => return Err(Undecided),
                }
            }
        }
        self.end()?;
        Ok(true)
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline]
    fn next(&mut self) -> Parse<u8> {
        let c = self.peek().ok_or(Undecided)?;
        self.i += 1;
        Ok(c)
    }

    #[inline]
    fn expect(&mut self, c: u8) -> Parse<()> {
        if self.next()? == c {
            Ok(())
        } else {
            Err(Undecided)
        }
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    /// Only whitespace is left.
    fn end(&mut self) -> Parse<()> {
        self.ws();
        if self.i == self.b.len() {
            Ok(())
        } else {
            Err(Undecided)
        }
    }

    fn literal(&mut self, word: &[u8]) -> Parse<()> {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(())
        } else {
            Err(Undecided)
        }
    }

    /// A top-level field's value, summarized.
    fn scalar(&mut self) -> Parse<Scalar<'a>> {
        Ok(match self.peek().ok_or(Undecided)? {
            b'"' => Scalar::Str(self.string()?),
            b't' => self.literal(b"true").map(|_| Scalar::Bool(true))?,
            b'f' => self.literal(b"false").map(|_| Scalar::Bool(false))?,
            b'n' => self.literal(b"null").map(|_| Scalar::Null)?,
            b'{' | b'[' => self.skip_value(0).map(|_| Scalar::Container)?,
            _ => match self.number()? {
                Number::Int(text) => text.parse::<i64>().map_or(Scalar::BigInt, Scalar::Int),
                Number::Float => Scalar::Float,
            },
        })
    }

    /// A number's text (integer literal) or that it is a float.
    fn number(&mut self) -> Parse<Number<'a>> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.next()? {
            b'0' => {}
            b'1'..=b'9' => self.digits(),
            _ => return Err(Undecided),
        }
        let mut float = false;
        if self.peek() == Some(b'.') {
            self.i += 1;
            self.digit()?;
            self.digits();
            float = true;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            self.digit()?;
            self.digits();
            float = true;
        }
        if float {
            // orjson refuses a float beyond `f64` ("number is infinity"),
            // wherever it is: its reason quotes a position, so Python's.
            let text = std::str::from_utf8(&self.b[start..self.i]).map_err(|_| Undecided)?;
            return match text.parse::<f64>() {
                Ok(x) if x.is_finite() => Ok(Number::Float),
                _ => Err(Undecided),
            };
        }
        // SAFETY-free: the bytes are ASCII digits and an optional sign.
        Ok(Number::Int(
            std::str::from_utf8(&self.b[start..self.i]).map_err(|_| Undecided)?,
        ))
    }

    fn digit(&mut self) -> Parse<()> {
        match self.next()? {
            b'0'..=b'9' => Ok(()),
            _ => Err(Undecided),
        }
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
    }

    /// A string, decoded; borrowed when it has no escape.
    fn string(&mut self) -> Parse<Cow<'a, str>> {
        self.expect(b'"')?;
        let start = self.i;
        // Most strings are plain ASCII: one vector scan finds their end.
        let run = plain_ascii_run(self.b, start);
        if self.b.get(run) == Some(&b'"') {
            self.i = run + 1;
            let ascii = &self.b[start..run];
            // SAFETY: every byte of the run is below 0x80 (`plain_ascii_run`):
            // ASCII, so valid UTF-8.
            return Ok(Cow::Borrowed(unsafe {
                std::str::from_utf8_unchecked(ascii)
            }));
        }
        let rest = &self.b[start..];
        let end = memchr::memchr2(b'"', b'\\', rest).ok_or(Undecided)?;
        let plain = &rest[..end];
        if plain.iter().any(|&c| c < 0x20) {
            return Err(Undecided);
        }
        if rest[end] == b'"' {
            self.i = start + end + 1;
            return std::str::from_utf8(plain)
                .map(Cow::Borrowed)
                .map_err(|_| Undecided);
        }
        let mut out: Vec<u8> = plain.to_vec();
        self.i = start + end;
        loop {
            let c = self.next()?;
            match c {
                b'"' => break,
                b'\\' => match self.next()? {
                    b'"' => out.push(b'"'),
                    b'\\' => out.push(b'\\'),
                    b'/' => out.push(b'/'),
                    b'b' => out.push(0x08),
                    b'f' => out.push(0x0c),
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'u' => {
                        let hi = self.hex4()?;
                        let code = match hi {
                            0xd800..=0xdbff => {
                                self.literal(b"\\u")?;
                                let lo = self.hex4()?;
                                if !(0xdc00..=0xdfff).contains(&lo) {
                                    return Err(Undecided);
                                }
                                0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                            }
                            0xdc00..=0xdfff => return Err(Undecided),
                            _ => hi,
                        };
                        let ch = char::from_u32(code).ok_or(Undecided)?;
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    }
                    _ => return Err(Undecided),
                },
                0..=0x1f => return Err(Undecided),
                _ => out.push(c),
            }
        }
        String::from_utf8(out)
            .map(Cow::Owned)
            .map_err(|_| Undecided)
    }

    fn hex4(&mut self) -> Parse<u32> {
        let h = self.b.get(self.i..self.i + 4).ok_or(Undecided)?;
        if !h.iter().all(u8::is_ascii_hexdigit) {
            return Err(Undecided);
        }
        self.i += 4;
        u32::from_str_radix(std::str::from_utf8(h).map_err(|_| Undecided)?, 16)
            .map_err(|_| Undecided)
    }

    /// Check one value's syntax and move past it.
    fn skip_value(&mut self, depth: usize) -> Parse<()> {
        let mut sink = Discard;
        self.value(&mut sink, depth)
    }

    /// One value written as `orjson.dumps(orjson.loads(text))` would.
    fn canonical(&mut self, out: &mut Vec<u8>, depth: usize) -> Parse<()> {
        self.value(out, depth)
    }

    fn value<W: Writer>(&mut self, out: &mut W, depth: usize) -> Parse<()> {
        if depth > MAX_DEPTH {
            return Err(Undecided);
        }
        match self.peek().ok_or(Undecided)? {
            b'{' => {
                self.i += 1;
                out.put(b"{");
                self.ws();
                if self.peek() == Some(b'}') {
                    self.i += 1;
                    out.put(b"}");
                    return Ok(());
                }
                let first_key = self.keys.len();
                loop {
                    self.ws();
                    let key = self.string()?;
                    if W::CHECKS_KEYS {
                        if self.keys[first_key..].contains(&key) {
                            return Err(Undecided);
                        }
                        put_string(out, &key);
                        self.keys.push(key);
                    }
                    self.ws();
                    self.expect(b':')?;
                    out.put(b":");
                    self.ws();
                    self.value(out, depth + 1)?;
                    self.ws();
                    match self.next()? {
                        b',' => out.put(b","),
                        b'}' => break,
                        _ => return Err(Undecided),
                    }
                }
                self.keys.truncate(first_key);
                out.put(b"}");
            }
            b'[' => {
                self.i += 1;
                out.put(b"[");
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    out.put(b"]");
                    return Ok(());
                }
                loop {
                    self.ws();
                    self.value(out, depth + 1)?;
                    self.ws();
                    match self.next()? {
                        b',' => out.put(b","),
                        b']' => break,
                        _ => return Err(Undecided),
                    }
                }
                out.put(b"]");
            }
            b'"' => put_string(out, &self.string()?),
            b't' => self.literal(b"true").map(|_| out.put(b"true"))?,
            b'f' => self.literal(b"false").map(|_| out.put(b"false"))?,
            b'n' => self.literal(b"null").map(|_| out.put(b"null"))?,
            _ => match self.number()? {
                Number::Int(text) if W::CHECKS_KEYS => {
                    // orjson reads integers that fit 64 bits (signed, or
                    // unsigned) as `int`, larger ones as `float`.
                    // Its text is canonical but for leading `-0`.
                    if text == "-0" {
                        out.put(b"0");
                    } else if text.parse::<i64>().is_ok() || text.parse::<u64>().is_ok() {
                        out.put(text.as_bytes());
                    } else {
                        return Err(Undecided);
                    }
                }
                Number::Int(_) => {}
                // Float formatting is left to orjson.
                Number::Float if W::CHECKS_KEYS => return Err(Undecided),
                Number::Float => {}
            },
        }
        Ok(())
    }
}

enum Number<'a> {
    Int(&'a str),
    Float,
}

/// Where a value goes: the canonical text, or nowhere (syntax check only).
trait Writer {
    /// Whether the value is being re-serialized (keys checked for duplicates,
    /// numbers canonicalized); a syntax check needs neither.
    const CHECKS_KEYS: bool;
    fn put(&mut self, bytes: &[u8]);
}

impl Writer for Vec<u8> {
    const CHECKS_KEYS: bool = true;
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

struct Discard;

impl Writer for Discard {
    const CHECKS_KEYS: bool = false;
    #[inline]
    fn put(&mut self, _: &[u8]) {}
}

/// `s` as a JSON string, as orjson writes it (see `write_string`).
pub(crate) fn json_string(out: &mut Vec<u8>, s: &str) {
    write_string(out, s);
}

/// A string as `Reader::string` read it, written as orjson writes it: a
/// borrowed one had no escape and no control character in the text, so it is
/// written as it is.
#[allow(clippy::ptr_arg)] // the variant, not only the text, is what it reads
fn put_string<W: Writer>(out: &mut W, s: &Cow<'_, str>) {
    match s {
        Cow::Borrowed(s) => {
            out.put(b"\"");
            out.put(s.as_bytes());
            out.put(b"\"");
        }
        Cow::Owned(s) => write_string(out, s),
    }
}

/// A string as orjson writes it: `"` and `\` escaped, control characters as
/// `\b \t \n \f \r` or `\u00xx`, everything else (`/`, non-ASCII) as is.
fn write_string<W: Writer>(out: &mut W, s: &str) {
    out.put(b"\"");
    let bytes = s.as_bytes();
    let mut from = 0;
    for (i, &c) in bytes.iter().enumerate() {
        let esc: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            0x0c => b"\\f",
            b'\r' => b"\\r",
            0..=0x1f => {
                out.put(&bytes[from..i]);
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.put(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[(c >> 4) as usize],
                    HEX[(c & 15) as usize],
                ]);
                from = i + 1;
                continue;
            }
            _ => continue,
        };
        out.put(&bytes[from..i]);
        out.put(esc);
        from = i + 1;
    }
    out.put(&bytes[from..]);
    out.put(b"\"");
}

/// The probe spec of `analyzers/events.py`, checked in its order.
fn validate(f: Fields<'_>) -> Parse<Verdict<'_>> {
    match f.v {
        Some(Scalar::Int(1)) => {}
        Some(Scalar::Float) => return Err(Undecided), // 1.0 == 1 in Python
        _ => return Ok(Verdict::Invalid("field 'v' must be 1")),
    }
    match &f.kind {
        Some(Scalar::Str(k)) if k == "probe" => {}
        Some(Scalar::Str(_)) => return Err(Undecided), // its reason quotes the type
        _ => return Ok(Verdict::Invalid("field 'type' is missing or not a string")),
    }
    let ts = match f.ts {
        None => return Ok(Verdict::Invalid("probe: missing field 'ts'")),
        Some(Scalar::Int(ts)) => ts,
        Some(Scalar::BigInt) => return Err(Undecided),
        Some(_) => return Ok(Verdict::Invalid("probe: field 'ts' must be an integer")),
    };
    let trace_id = match f.trace_id {
        None => return Ok(Verdict::Invalid("probe: missing field 'trace_id'")),
        Some(Scalar::Str(s)) if !s.is_empty() => s,
        Some(_) => {
            return Ok(Verdict::Invalid(
                "probe: field 'trace_id' must be a non-empty string",
            ))
        }
    };
    let role = match &f.role {
        None => return Ok(Verdict::Invalid("probe: missing field 'role'")),
        Some(Scalar::Str(s)) if s == "source" => Role::Source,
        Some(Scalar::Str(s)) if s == "sink" => Role::Sink,
        Some(_) => {
            return Ok(Verdict::Invalid(
                "probe: field 'role' must be one of 'source', 'sink'",
            ))
        }
    };
    let asset = match f.asset {
        None => return Ok(Verdict::Invalid("probe: missing field 'asset'")),
        Some(Scalar::Str(s)) if !s.is_empty() => s,
        Some(_) => {
            return Ok(Verdict::Invalid(
                "probe: field 'asset' must be a non-empty string",
            ))
        }
    };
    let optional = [
        (
            &f.service,
            "probe: field 'service' must be a non-empty string",
        ),
        (
            &f.code_location,
            "probe: field 'code_location' must be a non-empty string",
        ),
        (
            &f.payload_b64,
            "probe: field 'payload_b64' must be a non-empty string",
        ),
    ];
    for (value, reason) in optional {
        if let Some(v) = value {
            if *v != Scalar::Null && !v.is_str() {
                return Ok(Verdict::Invalid(reason));
            }
        }
    }
    if f.payload_b64.is_some() {
        // `payload_b64` wins when present: its decoding (and errors) is Python's.
        return Err(Undecided);
    }
    let Some(payload) = f.payload else {
        return Ok(Verdict::Invalid("probe: needs 'payload' or 'payload_b64'"));
    };
    Ok(Verdict::Probe(ProbeEvent {
        trace_id,
        ts,
        role,
        asset,
        payload,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(raw: &str) -> (Verdict<'_>, Vec<u8>) {
        let mut arena = b"prefix".to_vec();
        let v = decode(raw.as_bytes(), &mut arena);
        (v, arena)
    }

    const OK: &str = r#"{"v":1,"type":"probe","trace_id":"t1","ts":7,"role":"source","asset":"svc://a","payload":{"b": "x\u0041\n\u0001\/", "n": -0, "l": [true, null, 18446744073709551615]},"sample_rate":0.01}"#;

    #[test]
    fn a_valid_event_keeps_what_the_join_needs() {
        let (v, arena) = run(OK);
        let Verdict::Probe(e) = v else {
            panic!("{v:?}")
        };
        assert_eq!(
            (&*e.trace_id, e.ts, e.role, &*e.asset),
            ("t1", 7, Role::Source, "svc://a")
        );
        assert_eq!(
            std::str::from_utf8(&arena[e.payload]).unwrap(),
            r#"{"b":"xA\n\u0001/","n":0,"l":[true,null,18446744073709551615]}"#
        );
    }

    #[test]
    fn invalid_events_get_the_python_reason() {
        for (raw, reason) in [
            ("[1]", "event is not a JSON object"),
            (r#"{"type":"probe"}"#, "field 'v' must be 1"),
            (r#"{"v":true}"#, "field 'v' must be 1"),
            (
                r#"{"v":1,"type":3}"#,
                "field 'type' is missing or not a string",
            ),
            (r#"{"v":1,"type":"probe"}"#, "probe: missing field 'ts'"),
            (
                r#"{"v":1,"type":"probe","ts":1.5}"#,
                "probe: field 'ts' must be an integer",
            ),
            (
                r#"{"v":1,"type":"probe","ts":1,"trace_id":"","role":"x"}"#,
                "probe: field 'trace_id' must be a non-empty string",
            ),
            (
                r#"{"v":1,"type":"probe","ts":1,"trace_id":"t","role":"x"}"#,
                "probe: field 'role' must be one of 'source', 'sink'",
            ),
            (
                r#"{"v":1,"type":"probe","ts":1,"trace_id":"t","role":"sink","asset":"a","service":2}"#,
                "probe: field 'service' must be a non-empty string",
            ),
            (
                r#"{"v":1,"type":"probe","ts":1,"trace_id":"t","role":"sink","asset":"a"}"#,
                "probe: needs 'payload' or 'payload_b64'",
            ),
        ] {
            let (v, arena) = run(raw);
            assert_eq!(v, Verdict::Invalid(reason), "{raw}");
            assert_eq!(arena, b"prefix");
        }
    }

    #[test]
    fn odd_shapes_are_left_to_python() {
        for raw in [
            "{",
            "{\"v\":1,}",
            "\u{feff}{}",
            r#"{"v":1.0}"#,
            r#"{"v":1,"v":1}"#,
            r#"{"v":1,"type":"sql"}"#,
            r#"{"v":1,"type":"probe","ts":99999999999999999999}"#,
            &OK.replace("\"n\": -0", "\"n\": 1.5"),
            &OK.replace("\"n\": -0", "\"n\": \"\\ud800\""),
            &OK.replace("\"n\": -0", "\"b\": 1"),
            &OK.replace("\"n\": -0", "\"n\": 1e400"),
            &OK.replace("\"sample_rate\":0.01", "\"payload_b64\":\"eA==\""),
        ] {
            assert_eq!(run(raw).0, Verdict::Undecided, "{raw}");
        }
    }
}
