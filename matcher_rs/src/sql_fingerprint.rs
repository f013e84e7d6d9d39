//! The SQL fingerprint of `analyzers/sql/keys.py` (`_fingerprint`), for ASCII text.
//!
//! The Python version runs one regular expression (`_LITERALS`) over the text and
//! calls back into Python for each match (literal values, comments, quoted
//! identifiers, numbers and words with digits); this is the same scan by hand,
//! with the same leftmost-first, backtracking semantics, in one pass. It gives
//! the same text and the same word ends, which a differential test in
//! `tests/unit/analyzers/test_sql_fingerprint_native.py` holds it to. Text with a
//! non-ASCII byte, or a list of literals nested past [`MAX_LIST_ITEMS`], gets
//! `None`: the caller then runs the Python version.

/// Items of one parenthesised list of literals matched here; longer: `None`.
pub const MAX_LIST_ITEMS: usize = 100_000;

/// `\s` (and `str.split()`) on ASCII text.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0x1c..=0x1f)
}

/// `[\w$@#]`: the keys' word characters on ASCII text.
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$' | b'@' | b'#')
}

fn skip_space(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && is_space(s[i]) {
        i += 1;
    }
    i
}

fn skip_digits(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && s[i].is_ascii_digit() {
        i += 1;
    }
    i
}

/// Where `q(?:[^q\\]|\\.|qq)*q` starting at `start` may end (exclusive), in the order
/// a backtracking matcher tries them: the greedy end first, then each doubled quote
/// from the last (the star gives it back and its first quote closes the run).
fn quoted_ends(s: &[u8], start: usize, q: u8, out: &mut Vec<usize>) {
    out.clear();
    let n = s.len();
    let mut i = start + 1;
    let mut pairs: Vec<usize> = Vec::new();
    let natural = loop {
        if i >= n {
            break None;
        }
        let c = s[i];
        if c == b'\\' {
            if i + 1 < n {
                i += 2;
                continue;
            }
            break None;
        }
        if c == q {
            if i + 1 < n && s[i + 1] == q {
                pairs.push(i);
                i += 2;
                continue;
            }
            break Some(i + 1);
        }
        i += 1;
    };
    out.extend(natural);
    out.extend(pairs.iter().rev().map(|p| p + 1));
}

/// The end of `-?\d+(?:\.\d+)?` at `i` (deterministic: a shorter match is followed by a
/// digit or a dot, which nothing after it accepts).
fn number_end(s: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    if j < s.len() && s[j] == b'-' {
        j += 1;
    }
    let k = skip_digits(s, j);
    if k == j {
        return None;
    }
    if k + 1 < s.len() && s[k] == b'.' && s[k + 1].is_ascii_digit() {
        return Some(skip_digits(s, k + 1));
    }
    Some(k)
}

/// The end of `\(\s*LIT(?:\s*,\s*LIT)*\s*\)` at `start` (an opening parenthesis):
/// `Ok(None)` when it does not match, `Err(())` past [`MAX_LIST_ITEMS`].
fn literal_list(s: &[u8], start: usize) -> Result<Option<usize>, ()> {
    // Each frame: the candidate ends of one literal, and which one is being tried.
    let mut frames: Vec<(Vec<usize>, usize)> = Vec::new();
    let first = skip_space(s, start + 1);
    frames.push((literal_ends(s, first), 0));
    loop {
        let Some((ends, tried)) = frames.last_mut() else {
            return Ok(None);
        };
        if *tried >= ends.len() {
            frames.pop();
            match frames.last_mut() {
                Some((_, t)) => *t += 1,
                None => return Ok(None),
            }
            continue;
        }
        let end = ends[*tried];
        let j = skip_space(s, end);
        if j < s.len() && s[j] == b',' {
            if frames.len() >= MAX_LIST_ITEMS {
                return Err(());
            }
            let k = skip_space(s, j + 1);
            frames.push((literal_ends(s, k), 0));
            continue;
        }
        if j < s.len() && s[j] == b')' {
            return Ok(Some(j + 1));
        }
        *tried += 1;
    }
}

/// The candidate ends of one literal (a string or a number) at `i`, longest first.
fn literal_ends(s: &[u8], i: usize) -> Vec<usize> {
    let mut out = Vec::new();
    if i < s.len() && s[i] == b'\'' {
        quoted_ends(s, i, b'\'', &mut out);
    } else if let Some(e) = number_end(s, i) {
        out.push(e);
    }
    out
}

/// `_in_by_list`: may the number after the comma at `pos` be a position of a BY list?
fn in_by_list(s: &[u8], pos: usize) -> bool {
    let mut depth = 0usize;
    let mut i = pos;
    let mut start = 0usize;
    loop {
        let o = s[..i].iter().rposition(|&b| b == b'(');
        let c = s[..i].iter().rposition(|&b| b == b')');
        match (o, c) {
            (None, None) => break,
            (o, Some(c)) if o.is_none_or(|o| c > o) => {
                depth += 1;
                i = c;
            }
            (Some(o), _) => {
                if depth > 0 {
                    depth -= 1;
                    i = o;
                } else {
                    start = o + 1;
                    break;
                }
            }
            (None, Some(_)) => unreachable!(),
        }
    }
    let between = &s[start..pos];
    has_by(between) || has_unclean(between)
}

/// `(?i)(?<![\w$@#])by(?![\w$@#])` in `t`.
fn has_by(t: &[u8]) -> bool {
    (0..t.len().saturating_sub(1)).any(|i| {
        t[i].eq_ignore_ascii_case(&b'b')
            && t[i + 1].eq_ignore_ascii_case(&b'y')
            && (i == 0 || !is_word(t[i - 1]))
            && (i + 2 >= t.len() || !is_word(t[i + 2]))
    })
}

/// `['"`]|--|/\*` in `t`.
fn has_unclean(t: &[u8]) -> bool {
    t.iter().any(|&b| matches!(b, b'\'' | b'"' | b'`'))
        || t.windows(2).any(|w| w == b"--" || w == b"/*")
}

const VALUE_KEYWORDS: [&[u8]; 14] = [
    b"and",
    b"or",
    b"not",
    b"between",
    b"like",
    b"is",
    b"in",
    b"then",
    b"else",
    b"when",
    b"limit",
    b"offset",
    b"top",
    b"interval",
];

/// `_number`: a number masked after an operator, a comma outside a BY list or a value
/// keyword (`before`: end of the previous match).
fn number_masked(s: &[u8], start: usize, before: usize) -> bool {
    let mut j = start;
    while j > before && is_space(s[j - 1]) {
        j -= 1;
    }
    if j == before {
        return false;
    }
    let c = s[j - 1];
    if b"=<>(+*/%-".contains(&c) {
        return true;
    }
    if c == b',' {
        return !in_by_list(s, j - 1);
    }
    if is_word(c) {
        let mut k = j - 1;
        while k > before && is_word(s[k - 1]) {
            k -= 1;
        }
        let word = &s[k..j];
        return VALUE_KEYWORDS
            .iter()
            .any(|kw| word.eq_ignore_ascii_case(kw));
    }
    false
}

/// `AS 'name'`: the four characters before `start`, right-stripped and lower-cased, end
/// with `as` not preceded by a letter or digit.
fn names_a_column(s: &[u8], start: usize) -> bool {
    let mut p = &s[start.saturating_sub(4)..start];
    while let [rest @ .., last] = p {
        if !is_space(*last) {
            break;
        }
        p = rest;
    }
    let n = p.len();
    n >= 2
        && p[n - 2].eq_ignore_ascii_case(&b'a')
        && p[n - 1].eq_ignore_ascii_case(&b's')
        && (n < 3 || !p[n - 3].is_ascii_alphanumeric())
}

/// What a match becomes in the fingerprint.
enum Out {
    Keep,
    Text(&'static [u8]),
}

/// The result of one scan: the text with masked matches replaced, the ends of words with
/// a digit, and the spans of the replaced matches (comments and masked literals).
struct Scan {
    masked: Vec<u8>,
    words: Vec<usize>,
    dropped: Vec<(usize, usize)>,
}

/// `(fingerprint, word ends)` as `_fingerprint` gives them, or `None` (see the module).
pub fn fingerprint(sql: &str) -> Option<(String, Vec<usize>)> {
    let scan = scan(sql)?;
    let mut out = String::with_capacity(scan.masked.len());
    for part in scan
        .masked
        .split(|&b| is_space(b))
        .filter(|p| !p.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        // ASCII in, ASCII out
        out.push_str(std::str::from_utf8(part).ok()?);
    }
    Some((out, scan.words))
}

/// `word_positions`: the offsets of the words (maximal runs of `[\w$@#]`) outside
/// comments and masked literals whose lower-case form is one of `words` (lower case).
pub fn word_positions(sql: &str, words: &[String]) -> Option<Vec<usize>> {
    let s = sql.as_bytes();
    let scan = scan(sql)?;
    let mut found = Vec::new();
    let mut last = 0usize;
    let ends = scan
        .dropped
        .iter()
        .copied()
        .chain(std::iter::once((s.len(), s.len())));
    for (start, end) in ends {
        let mut i = last;
        while i < start {
            if !is_word(s[i]) {
                i += 1;
                continue;
            }
            let b = i;
            while i < start && is_word(s[i]) {
                i += 1;
            }
            let w = &s[b..i];
            if words.iter().any(|x| x.as_bytes().eq_ignore_ascii_case(w)) {
                found.push(b);
            }
        }
        last = end;
    }
    Some(found)
}

const TABLE_KEYWORDS: [&[u8]; 8] = [
    b"from", b"join", b"into", b"table", b"view", b"exists", b"update", b"using",
];

/// For each end of a word with a digit (from [`fingerprint`]): where the word starts, and
/// whether a table keyword (FROM, JOIN, INTO, TABLE, VIEW, EXISTS, UPDATE, USING) comes
/// before it, past its dotted qualifiers and white space (`_table_words`' test).
pub fn table_words(sql: &str, ends: &[usize]) -> Option<Vec<(usize, bool)>> {
    let s = sql.as_bytes();
    if !s.is_ascii() || ends.iter().any(|&e| e == 0 || e > s.len()) {
        return None;
    }
    let found = ends.iter().map(|&e| {
        let mut b = e - 1;
        while b > 0 && is_word(s[b - 1]) {
            b -= 1;
        }
        // j: one past the character looked at (0: before the text)
        let mut j = b;
        while j > 0 && s[j - 1] == b'.' {
            j -= 1;
            while j > 0 && is_word(s[j - 1]) {
                j -= 1;
            }
        }
        while j > 0 && is_space(s[j - 1]) {
            j -= 1;
        }
        let mut k = j;
        while k > 0 && is_word(s[k - 1]) {
            k -= 1;
        }
        let word = &s[k..j];
        (
            b,
            TABLE_KEYWORDS
                .iter()
                .any(|kw| word.eq_ignore_ascii_case(kw)),
        )
    });
    Some(found.collect())
}

fn scan(sql: &str) -> Option<Scan> {
    let s = sql.as_bytes();
    if !s.is_ascii() {
        return None;
    }
    let n = s.len();
    let mut masked: Vec<u8> = Vec::with_capacity(n);
    let mut words: Vec<usize> = Vec::new();
    let mut dropped: Vec<(usize, usize)> = Vec::new();
    let mut ends: Vec<usize> = Vec::new();
    let mut copied = 0usize; // text before it is in `masked`
    let mut last = 0usize; // end of the previous match
    let mut i = 0usize;
    while i < n {
        let c = s[i];
        let found: Option<(usize, Out)> = match c {
            b'`' => s[i + 1..]
                .iter()
                .position(|&b| b == b'`')
                .map(|p| (i + p + 2, Out::Keep)),
            b'"' => {
                quoted_ends(s, i, b'"', &mut ends);
                ends.first().map(|&e| (e, Out::Keep))
            }
            b'-' if i + 1 < n && s[i + 1] == b'-' => {
                let e = s[i..].iter().position(|&b| b == b'\n').map_or(n, |p| i + p);
                Some((e, Out::Text(b" ")))
            }
            b'/' if i + 1 < n && s[i + 1] == b'*' => s[i + 2..]
                .windows(2)
                .position(|w| w == b"*/")
                .map(|p| (i + 2 + p + 2, Out::Text(b" "))),
            b'\'' => {
                quoted_ends(s, i, b'\'', &mut ends);
                ends.first().map(|&e| {
                    (
                        e,
                        if names_a_column(s, i) {
                            Out::Keep
                        } else {
                            Out::Text(b"?")
                        },
                    )
                })
            }
            b'(' => literal_list(s, i).ok()?.map(|e| (e, Out::Text(b"(?)"))),
            b'0'..=b'9' => {
                // a number not followed by [\w$@#.], else a run of [\w$@#]
                let mut e = skip_digits(s, i + 1);
                if e + 1 < n && s[e] == b'.' && s[e + 1].is_ascii_digit() {
                    e = skip_digits(s, e + 1);
                }
                let number = !(e < n && (is_word(s[e]) || s[e] == b'.'));
                if !number {
                    e = i + 1;
                    while e < n && is_word(s[e]) {
                        e += 1;
                    }
                }
                let out = if i > 0 && is_word(s[i - 1]) {
                    if !(e < n && s[e] == b'.') {
                        words.push(e);
                    }
                    Out::Keep
                } else if number && number_masked(s, i, last) {
                    Out::Text(b"?")
                } else {
                    Out::Keep
                };
                Some((e, out))
            }
            _ => None,
        };
        match found {
            None => i += 1,
            Some((end, out)) => {
                if let Out::Text(t) = out {
                    masked.extend_from_slice(&s[copied..i]);
                    masked.extend_from_slice(t);
                    copied = end;
                    dropped.push((i, end));
                }
                last = end;
                i = end;
            }
        }
    }
    masked.extend_from_slice(&s[copied..]);
    Some(Scan {
        masked,
        words,
        dropped,
    })
}

#[cfg(test)]
mod tests {
    use super::fingerprint;

    fn fp(s: &str) -> String {
        fingerprint(s).unwrap().0
    }

    #[test]
    fn masks_literals_and_drops_comments() {
        assert_eq!(
            fp("SELECT a FROM t /* run 7 */ WHERE d='2024-01-01' AND n > 5 GROUP BY 1"),
            "SELECT a FROM t WHERE d=? AND n > ? GROUP BY 1"
        );
        assert_eq!(
            fp("SELECT a, b FROM t WHERE x IN (1, 2+1) AND y BETWEEN 3 AND 4 GROUP BY 1, 2"),
            "SELECT a, b FROM t WHERE x IN (?, ?+?) AND y BETWEEN ? AND ? GROUP BY 1, 2"
        );
        assert_eq!(fp("select 'a' as 'b' -- c\n, 1"), "select ? as 'b' , 1");
        assert_eq!(fp("x IN ('a''b', -1.5 )"), "x IN (?)");
        assert_eq!(fp("x IN ('a'')"), "x IN (?')");
    }

    #[test]
    fn notes_words_with_digits() {
        let (key, words) = fingerprint("INSERT INTO out_7 SELECT a FROM logs.ev_7 x1.y").unwrap();
        assert_eq!(key, "INSERT INTO out_7 SELECT a FROM logs.ev_7 x1.y");
        assert_eq!(words, vec![17, 41]);
    }

    #[test]
    fn finds_words_outside_comments_and_masked_literals() {
        let sql = "SELECT ev_7 FROM ev_7 /* ev_7 */ WHERE x = 'ev_7' AS \"ev_7\" -- ev_7";
        let got = super::word_positions(sql, &["ev_7".to_string()]).unwrap();
        assert_eq!(got, vec![7, 17, 54]);
    }

    #[test]
    fn gives_up_on_non_ascii() {
        assert!(fingerprint("SELECT 'é'").is_none());
    }
}
