"""The fingerprint cache: parse each distinct statement once.

Two levels, both bounded LRUs keyed with the dialect, namespace and default
schema:

1. the *text key*: the statement as logged, then with whitespace collapsed (a
   dict lookup, about a microsecond: a query logged thousands of times);
2. the *fingerprint*: the text with comments dropped and single-quoted string
   literals and numbers after a comparison replaced by ``?``, so the daily run
   of a job with a new date literal is parsed once. Literals never change
   column lineage (positional ``GROUP BY 1`` is left alone, since only numbers
   after ``= < > ,(`` of IN lists ... are masked when preceded by an operator).

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

from analyzers.sql.model import AnalysisResult
from analyzers.sql.naming import normalize_schema
from analyzers.sql.script import MAX_TOKENS, TIME_CAP_S, analyze_script

_LITERALS = re.compile(
    r"""(`[^`]*`|"(?:[^"\\]|\\.|"")*")"""  # quoted identifiers (kept; a string in some dialects)
    r"""|--[^\n]*|/\*.*?\*/"""  # comments (dropped)
    r"""|'(?:[^'\\]|\\.|'')*'"""  # string literals
    r"""|(?<=[=<>(,])\s*-?\d+(?:\.\d+)?(?![\w.])""",  # numbers right after an operator
    re.DOTALL,
)


def _mask(m: re.Match[str]) -> str:
    kept = m.group(1)
    if kept is not None:
        return kept
    text = m.group(0)
    if text.startswith(("--", "/*")):
        return " "
    return "?"


def fingerprint(sql: str) -> str:
    """The literal-insensitive form of a statement.

    >>> fingerprint("SELECT a FROM t /* run 7 */ WHERE d='2024-01-01' AND n > 5 GROUP BY 1")
    'SELECT a FROM t WHERE d=? AND n >? GROUP BY 1'
    """
    return " ".join(_LITERALS.sub(_mask, sql).split())


class _Lru:
    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.data: OrderedDict[tuple[str, ...], AnalysisResult] = OrderedDict()

    def get(self, key: tuple[str, ...]) -> AnalysisResult | None:
        value = self.data.get(key)
        if value is not None:
            self.data.move_to_end(key)
        return value

    def put(self, key: tuple[str, ...], value: AnalysisResult) -> None:
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
        self.hits = 0
        self.misses = 0

    def _schema(self, default_schema: str | None) -> dict[str, tuple[str, ...]]:
        schema = self._schemas.get(default_schema)
        if schema is None:
            schema = normalize_schema(self._raw_schema, default_schema)
            self._schemas[default_schema] = schema
        return schema

    def analyze(
        self,
        sql: str,
        *,
        engine: str | None = None,
        namespace: str | None = None,
        default_schema: str | None = None,
    ) -> AnalysisResult:
        """The lineage of ``sql`` (one statement or a script), from the cache when seen before."""
        engine = engine or self.engine
        namespace = self.namespace if namespace is None else namespace
        ds = default_schema if default_schema is not None else self.default_schema
        context = (engine.lower(), namespace, ds or "")
        raw_key = (*context, sql)
        result = self._by_text.get(raw_key)
        if result is not None:
            self.hits += 1
            return result
        text_key = (*context, " ".join(sql.split()))
        result = self._by_text.get(text_key)
        if result is not None:
            self.hits += 1
            self._by_text.put(raw_key, result)
            return result
        print_key = (*context, fingerprint(sql))
        result = self._by_print.get(print_key)
        if result is not None:
            self.hits += 1
            self._by_text.put(text_key, result)
            self._by_text.put(raw_key, result)
            return result
        self.misses += 1
        result = analyze_script(
            sql,
            engine=engine,
            namespace=namespace,
            default_schema=ds,
            schema=self._schema(ds),
            time_cap_s=self.time_cap_s,
            max_tokens=self.max_tokens,
        )
        self._by_text.put(text_key, result)
        self._by_text.put(raw_key, result)
        self._by_print.put(print_key, result)
        return result

    @property
    def size(self) -> int:
        return len(self._by_text.data)

    def stats(self) -> dict[str, int]:
        return {"hits": self.hits, "misses": self.misses, "size": self.size}
