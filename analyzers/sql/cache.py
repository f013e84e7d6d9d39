"""The fingerprint cache: parse each distinct statement once.

Two levels, both bounded LRUs keyed with the dialect, namespace and default
schema:

1. the *text*: the statement exactly as logged. A hit is one dict lookup (a
   query logged thousands of times); nothing else is computed.
2. the *fingerprint*, computed only when the text misses: the text with
   comments dropped, whitespace collapsed, single-quoted string literals and
   parenthesised lists of literals (``IN (1, 2)``, ``VALUES (...)``) replaced
   by ``?``, and numbers replaced by ``?`` when they follow an operator
   (``= < > ( + - * / %``) or a keyword that takes a value (``AND``,
   ``BETWEEN``, ``LIMIT``, ``THEN`` ...). So the daily run of a job with a new
   date, id or range is parsed once. Literals never change column lineage; the
   one place a number does, a positional ``GROUP BY 1, 2`` / ``ORDER BY 2, 1``,
   follows ``BY`` or a comma and is kept, as are quoted identifiers and a
   string that names a column (``AS 'name'``).

>>> a = SqlAnalyzer(engine="spark", namespace="hive://w", default_schema="default")
>>> _ = a.analyze("SELECT x FROM t WHERE d = '2024-01-01'")
>>> _ = a.analyze("SELECT x FROM t WHERE d = '2024-01-02'")
>>> (a.hits, a.misses)
(1, 1)
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

from analyzers.sql.model import AnalysisResult
from analyzers.sql.naming import normalize_schema
from analyzers.sql.script import MAX_TOKENS, TIME_CAP_S, analyze_script

_LIT = r"""-?\d+(?:\.\d+)?|'(?:[^'\\]|\\.|'')*'"""
# Every branch starts with a fixed character, which keeps the scan fast.
_LITERALS = re.compile(
    r"""(`[^`]*`|"(?:[^"\\]|\\.|"")*")"""  # 1: quoted identifiers (kept; a string in some dialects)
    r"""|--[^\n]*|/\*.*?\*/"""  # comments (dropped)
    r"""|'(?:[^'\\]|\\.|'')*'"""  # string literals
    rf"""|\(\s*(?:{_LIT})(?:\s*,\s*(?:{_LIT}))*\s*\)"""  # a list of literals
    r"""|([=<>(+*/%-])\s*-?\d+(?:\.\d+)?(?![\w.])""",  # 2: a number after an operator
    re.DOTALL,
)
# After the first pass: a number after a space, masked when the word before it takes a value.
_SPACED_NUMBER = re.compile(r" -?\d+(?:\.\d+)?(?![\w.])")
_VALUE_KEYWORDS = frozenset(
    {"and", "or", "not", "between", "like", "is", "in", "then", "else", "when"}
    | {"limit", "offset", "top", "interval"}
)


def _mask(m: re.Match[str]) -> str:
    kept = m.group(1)
    if kept is not None:
        return kept
    op = m.group(2)
    if op is not None:
        return op + "?"
    text = m.group(0)
    first = text[0]
    if first == "'":
        # ``AS 'name'`` (MySQL, SQLite) names an output column: kept.
        start = m.start()
        before = m.string[max(0, start - 4) : start].rstrip().lower()
        if before.endswith("as") and (len(before) < 3 or not before[-3].isalnum()):
            return text
        return "?"
    if first == "(":
        return "(?)"
    return " "  # a comment


def fingerprint(sql: str) -> str:
    """The literal-insensitive form of a statement.

    >>> fingerprint("SELECT a FROM t /* run 7 */ WHERE d='2024-01-01' AND n > 5 GROUP BY 1")
    'SELECT a FROM t WHERE d=? AND n >? GROUP BY 1'
    >>> fingerprint("SELECT a, b FROM t WHERE x IN (1, 2) AND y BETWEEN 3 AND 4 GROUP BY 1, 2")
    'SELECT a, b FROM t WHERE x IN (?) AND y BETWEEN ? AND ? GROUP BY 1, 2'
    """
    text = " ".join(_LITERALS.sub(_mask, sql).split())
    if " " not in text:
        return text

    def keyword_value(m: re.Match[str]) -> str:
        start = m.start()
        word = text[text.rfind(" ", 0, start) + 1 : start]
        return " ?" if word.lower() in _VALUE_KEYWORDS else m.group(0)

    return _SPACED_NUMBER.sub(keyword_value, text)


class _Lru:
    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.data: OrderedDict[Any, AnalysisResult] = OrderedDict()

    def get(self, key: Any) -> AnalysisResult | None:
        value = self.data.get(key)
        if value is not None:
            self.data.move_to_end(key)
        return value

    def put(self, key: Any, value: AnalysisResult) -> None:
        self.data[key] = value
        self.data.move_to_end(key)
        while len(self.data) > self.maxsize:
            self.data.popitem(last=False)


class SqlAnalyzer:
    """A cached SQL analyzer for one schema; call :meth:`analyze` per logged query.

    Args:
        engine, namespace, default_schema: defaults for :meth:`analyze`.
        schema: ``{"db.table": ["col", ...]}`` known columns.
        maxsize: entries of each LRU level.
    """

    def __init__(
        self,
        *,
        engine: str = "spark",
        namespace: str = "",
        default_schema: str | None = None,
        schema: Mapping[str, Iterable[str]] | None = None,
        maxsize: int = 10_000,
        time_cap_s: float = TIME_CAP_S,
        max_tokens: int = MAX_TOKENS,
    ) -> None:
        self.engine = engine
        self.namespace = namespace
        self.default_schema = default_schema
        self._raw_schema = schema
        self._schemas: dict[str | None, dict[str, tuple[str, ...]]] = {}
        self.time_cap_s = time_cap_s
        self.max_tokens = max_tokens
        self._by_text = _Lru(maxsize)
        self._by_print = _Lru(maxsize)
        # (engine, namespace, default_schema) as passed -> the normalised context.
        self._contexts: dict[tuple[str | None, ...], tuple[str, str, str | None]] = {}
        self.hits = 0
        self.misses = 0

    def _schema(self, default_schema: str | None) -> dict[str, tuple[str, ...]]:
        schema = self._schemas.get(default_schema)
        if schema is None:
            schema = normalize_schema(self._raw_schema, default_schema)
            self._schemas[default_schema] = schema
        return schema

    def _context(
        self, engine: str | None, namespace: str | None, default_schema: str | None
    ) -> tuple[str, str, str | None]:
        args = (engine, namespace, default_schema)
        context = self._contexts.get(args)
        if context is None:
            ds = default_schema if default_schema is not None else self.default_schema
            context = (
                (engine or self.engine).lower(),
                self.namespace if namespace is None else namespace,
                ds,
            )
            if len(self._contexts) < 1024:
                self._contexts[args] = context
        return context

    def analyze(
        self,
        sql: str,
        *,
        engine: str | None = None,
        namespace: str | None = None,
        default_schema: str | None = None,
    ) -> AnalysisResult:
        """The lineage of ``sql`` (one statement or a script), from the cache when seen before."""
        context = self._contexts.get((engine, namespace, default_schema))
        if context is None:
            context = self._context(engine, namespace, default_schema)
        key = (context, sql)
        texts = self._by_text.data
        result = texts.get(key)
        if result is not None:  # the hit path: one lookup
            texts.move_to_end(key)
            self.hits += 1
            return result
        return self._miss(key)

    def _miss(self, key: tuple[tuple[str, str, str | None], str]) -> AnalysisResult:
        context, sql = key
        print_key = (context, fingerprint(sql))
        result = self._by_print.get(print_key)
        if result is not None:
            self.hits += 1
            self._by_text.put(key, result)
            return result
        self.misses += 1
        engine, namespace, ds = context
        result = analyze_script(
            sql,
            engine=engine,
            namespace=namespace,
            default_schema=ds,
            schema=self._schema(ds),
            time_cap_s=self.time_cap_s,
            max_tokens=self.max_tokens,
        )
        self._by_text.put(key, result)
        self._by_print.put(print_key, result)
        return result

    @property
    def size(self) -> int:
        return len(self._by_text.data)

    def stats(self) -> dict[str, int]:
        return {"hits": self.hits, "misses": self.misses, "size": self.size}
