"""Cache keys for a statement's text: the fingerprint, and the template over table names.

The *fingerprint* is the text with comments dropped, whitespace collapsed,
single-quoted string literals and parenthesised lists of literals (``IN (1, 2)``,
``VALUES (...)``) replaced by ``?``, and numbers replaced by ``?`` when they
follow an operator (``= < > ( + - * / %``), a comma outside a ``BY`` list, or a
keyword that takes a value (``AND``, ``BETWEEN``, ``LIMIT``, ``THEN`` ...).
Literals never change column lineage; the one place a number does, a
positional ``GROUP BY 1, 2`` / ``ORDER BY 2, 1``, is kept, as are quoted
identifiers and a string that names a column (``AS 'name'``).

The *template key* also replaces table names that contain a digit (dated,
sharded, per-job tables: ``events_20240101``, ``tmp_job_123``) by numbered
placeholders; see :mod:`analyzers.sql.template` for when a cached answer may be
renamed to another set of such names.

>>> fingerprint("SELECT a FROM t /* run 7 */ WHERE d='2024-01-01' AND n > 5 GROUP BY 1")
'SELECT a FROM t WHERE d=? AND n > ? GROUP BY 1'
>>> fingerprint("SELECT a, b FROM t WHERE x IN (1, 2+1) AND y BETWEEN 3 AND 4 GROUP BY 1, 2")
'SELECT a, b FROM t WHERE x IN (?, ?+?) AND y BETWEEN ? AND ? GROUP BY 1, 2'
>>> sql = "INSERT INTO out_7 SELECT a FROM logs.ev_7 JOIN dim ON x = 1"
>>> key, words = template_key(sql, frozenset())
>>> key.replace("\\x00", "$"), words
('INSERT INTO $0$ SELECT a FROM logs.$1$ JOIN dim ON x = ?', ('out_7', 'ev_7'))
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

_native_fingerprint: Callable[[str], tuple[str, list[int]] | None] | None
_native_positions: Callable[[str, list[str]], list[int] | None] | None
_native_table_words: Callable[[str, list[int]], list[tuple[int, bool]] | None] | None
try:  # the same scans in Rust (ASCII text; None: left to the Python versions below)
    from matcher_rs._native import sql_fingerprint as _native_fingerprint
    from matcher_rs._native import sql_table_words as _native_table_words
    from matcher_rs._native import sql_word_positions as _native_positions
except ImportError:  # pragma: no cover - the extension is built by `make install`
    _native_fingerprint = _native_positions = _native_table_words = None

_LIT = r"""-?\d+(?:\.\d+)?|'(?:[^'\\]|\\.|'')*'"""
# Every branch starts with one fixed character: the regex engine skips, in C, every other
# character, and tries only the branch of the one it stops at.
_LITERALS = re.compile(
    r"`[^`]*`|\"(?:[^\"\\]|\\.|\"\")*\""  # quoted identifiers (kept)
    r"|--[^\n]*|/\*.*?\*/"  # comments (dropped)
    r"|'(?:[^'\\]|\\.|'')*'"  # string literals
    rf"|\(\s*(?:{_LIT})(?:\s*,\s*(?:{_LIT}))*\s*\)"  # a list of literals
    # a number (masked by what is before it), digits in a word, a word starting with a digit
    + "".join(f"|{d}(?:\\d*(?:\\.\\d+)?(?![\\w$@#.])|[\\w$@#]*)" for d in "0123456789"),
    re.DOTALL,
)
_NUMBER = re.compile(r"\d+(?:\.\d+)?\Z")
_VALUE_KEYWORDS = frozenset(
    {"and", "or", "not", "between", "like", "is", "in", "then", "else", "when"}
    | {"limit", "offset", "top", "interval"}
)
_OPERATORS = frozenset("=<>(+*/%-")
_DIGITS = frozenset("0123456789")
_WORD_OR_DOT = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$@#.")
# A word, as the keys see words: a maximal run of these characters.
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$@#")
_WORD = re.compile(r"[\w$@#]+")
_BY = re.compile(r"(?i)(?<![\w$@#])by(?![\w$@#])")
_UNCLEAN = re.compile(r"""['"`]|--|/\*""")


def _in_by_list(sql: str, pos: int) -> bool:
    """Whether the number after the comma at ``pos`` may be a ``BY`` list's position.

    True when a ``BY`` comes between the innermost open parenthesis and ``pos``
    (a function's or a value list's arguments are never positions), and, to stay
    safe, whenever a quote or comment in between could hide a parenthesis.
    """
    depth = 0
    i = pos
    start = 0
    while True:
        o = sql.rfind("(", 0, i)
        c = sql.rfind(")", 0, i)
        if o < 0 and c < 0:
            break
        if c > o:
            depth += 1
            i = c
        elif depth:
            depth -= 1
            i = o
        else:
            start = o + 1
            break
    between = sql[start:pos]
    return bool(_BY.search(between) or _UNCLEAN.search(between))


def _masker(words: list[int]) -> Callable[[re.Match[str]], str]:
    """The replacement of each :data:`_LITERALS` match, called in order (it remembers the last).

    Notes in ``words`` where a word with a digit ends (not a qualifier): template candidates.
    """
    last = 0  # end of the previous match

    def mask(m: re.Match[str]) -> str:
        nonlocal last
        start, end = m.span()
        sql = m.string
        before = last
        last = end
        first = sql[start]
        if first in _DIGITS:
            if start and sql[start - 1] in _WORD_CHARS:  # digits in a word
                if sql[end : end + 1] != ".":
                    words.append(end)
                return m.group(0)
            text = m.group(0)
            if sql[end : end + 1] in _WORD_OR_DOT or not (
                (text.isdigit() and text.isascii()) or _NUMBER.match(text)
            ):
                return text  # a word starting with a digit
            return _number(sql, start, before, text)
        if first == "(":
            return "(?)"
        if first == "'":
            # ``AS 'name'`` (MySQL, SQLite) names an output column: kept.
            prefix = sql[max(0, start - 4) : start].rstrip().lower()
            if prefix.endswith("as") and (len(prefix) < 3 or not prefix[-3].isalnum()):
                return m.group(0)
            return "?"
        if first in "-/":
            return " "  # a comment
        return m.group(0)  # a quoted identifier

    return mask


def _number(sql: str, start: int, before: int, text: str) -> str:
    """A number: masked after an operator, a comma outside a BY list or a value keyword.

    ``before`` is the end of the previous match (a literal or comment there: kept).
    """
    j = start - 1
    while j >= before and sql[j].isspace():
        j -= 1
    if j < before:
        return text
    c = sql[j]
    if c in _OPERATORS:
        return "?"
    if c == ",":
        return text if _in_by_list(sql, j) else "?"
    if c in _WORD_CHARS:
        k = j
        while k > before and sql[k - 1] in _WORD_CHARS:
            k -= 1
        if sql[k : j + 1].lower() in _VALUE_KEYWORDS:
            return "?"
    return text


def _fingerprint(sql: str) -> tuple[str, list[int]]:
    """The fingerprint and where each word with a digit ends (``_masker``'s ``words``)."""
    if _native_fingerprint is not None and sql.isascii():
        found = _native_fingerprint(sql)  # the same scan in Rust, 10x faster
        if found is not None:
            return found
    return _python_fingerprint(sql)


def _python_fingerprint(sql: str) -> tuple[str, list[int]]:
    words: list[int] = []
    return " ".join(_LITERALS.sub(_masker(words), sql).split()), words


def fingerprint(sql: str) -> str:
    """The literal-insensitive form of a statement (see the module docstring)."""
    return _fingerprint(sql)[0]


# -- the template key -----------------------------------------------------------------------
#: Per engine, the lower-case words of its dialect (None: an unknown engine, no templates).
#: Filled by :func:`analyzers.sql.template.reserved_words` (from sqlglot's dialect) or
#: given by a persistent store, so that keys are computed without importing sqlglot.
RESERVED: dict[str, frozenset[str] | None] = {}
_TABLE_KEYWORDS = frozenset({"from", "join", "into", "table", "view", "exists", "update", "using"})
_TEMPLATE_WORD = re.compile(r"[a-z][a-z0-9_]*\Z")
PLACEHOLDER = "\x00"


def _table_words(sql: str, ends: list[int], reserved: frozenset[str]) -> list[str]:
    """Lower-case table names with a digit that a template replaces (``ends``: where they end).

    A name written right after FROM, JOIN, INTO, TABLE, VIEW, EXISTS, UPDATE or USING (its last
    dotted part) that starts with a letter, holds only letters, digits and ``_``,
    and is not a word of the dialect (``reserved``: keywords, functions, types).
    """
    found = _native_table_words(sql, ends) if _native_table_words is not None else None
    if found is None:
        return _python_table_words(sql, ends, reserved)
    words: list[str] = []
    for i, (start, after_keyword) in enumerate(found):
        if after_keyword:
            word = sql[start : ends[i]].lower()
            if word not in words and word not in reserved and _TEMPLATE_WORD.match(word):
                words.append(word)
    return words


def _python_table_words(sql: str, ends: list[int], reserved: frozenset[str]) -> list[str]:
    words: list[str] = []
    for e in ends:
        b = e - 1
        while b and sql[b - 1] in _WORD_CHARS:
            b -= 1
        word = sql[b:e].lower()
        if word in words or word in reserved or not _TEMPLATE_WORD.match(word):
            continue
        j = b - 1
        while j >= 0 and sql[j] == ".":  # db.table: skip the db
            j -= 1
            while j >= 0 and sql[j] in _WORD_CHARS:
                j -= 1
        while j >= 0 and sql[j].isspace():
            j -= 1
        k = j
        while k >= 0 and sql[k] in _WORD_CHARS:
            k -= 1
        if sql[k + 1 : j + 1].lower() in _TABLE_KEYWORDS:
            words.append(word)
    return words


def _occurrences(low: str, word: str) -> Iterator[int]:
    """Start offsets of ``word`` as a whole word in ``low``."""
    n = len(word)
    i = low.find(word)
    while i >= 0:
        end = i + n
        if (i == 0 or low[i - 1] not in _WORD_CHARS) and (
            end == len(low) or low[end] not in _WORD_CHARS
        ):
            yield i
        i = low.find(word, end)


def template_key(sql: str, reserved: frozenset[str]) -> tuple[str, tuple[str, ...]]:
    """``(key, words)``: the fingerprint with template words replaced, and those words.

    Each template word (:func:`_table_words`), wherever it occurs as a word
    (also inside quotes), becomes ``\\x00N\\x00``, N numbering the words by first
    occurrence; ``words`` holds them as written. A text where a word is written
    in two cases, or that holds ``\\x00`` or non-ASCII text, gets no placeholders:
    ``(fingerprint, ())``.
    """
    fp, digit_words = _fingerprint(sql)
    if not digit_words or not fp.isascii() or PLACEHOLDER in fp:
        return fp, ()
    found = _table_words(sql, digit_words, reserved)
    if not found:
        return fp, ()
    low = fp.lower()
    spans: list[tuple[int, int, str]] = []
    for word in found:
        spans.extend((i, i + len(word), word) for i in _occurrences(low, word))
    spans.sort()
    order: dict[str, int] = {}
    exact: list[str] = []
    parts: list[str] = []
    last = 0
    for start, end, word in spans:
        written = fp[start:end]
        n = order.get(word)
        if n is None:
            n = order[word] = len(exact)
            exact.append(written)
        elif exact[n] != written:
            return fp, ()
        parts.append(fp[last:start])
        parts.append(f"{PLACEHOLDER}{n}{PLACEHOLDER}")
        last = end
    parts.append(fp[last:])
    return "".join(parts), tuple(exact)


def word_positions(sql: str, words: frozenset[str]) -> list[int]:
    """Offsets in ``sql`` (as written) of the words the fingerprint keeps that are in ``words``.

    ``words`` are lower case. Comments and masked literals are skipped, exactly
    as :func:`fingerprint` drops them; quoted identifiers and kept strings are not.
    """
    if _native_positions is not None and sql.isascii():
        got = _native_positions(sql, list(words))  # the same scan in Rust
        if got is not None:
            return got
    return _python_word_positions(sql, words)


def _python_word_positions(sql: str, words: frozenset[str]) -> list[int]:
    found: list[int] = []
    last = 0

    def scan(end: int) -> None:
        for m in _WORD.finditer(sql, last, end):
            if m.group(0).lower() in words:
                found.append(m.start())

    mask = _masker([])
    for m in _LITERALS.finditer(sql):
        kept = mask(m) == m.group(0)
        scan(m.end() if kept else m.start())
        last = m.end()
    scan(len(sql))
    return found
