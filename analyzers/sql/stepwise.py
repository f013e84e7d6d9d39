"""A script through the fingerprint cache, one statement at a time, while that is exact.

A script's statements may depend on earlier ones (``USE``, temp views, a
``CREATE TABLE`` whose columns a later ``INSERT`` maps to, ``DROP``). While no
statement changes that state, each statement means what it means alone, so
each goes through :class:`~analyzers.sql.cache.SqlAnalyzer` (a repeated
statement is one lookup); a script with such a statement (or an error, whose
line and column are the script's) is analysed as a whole, as
:func:`analyzers.sql.analyze` does. The result is
the same as analysing the whole script at once (a test checks it on every
golden fixture).

>>> from analyzers.sql.cache import SqlAnalyzer
>>> a = SqlAnalyzer(engine="spark", namespace="hive://w", default_schema="default")
>>> r = analyze_stepwise(a, "INSERT INTO o SELECT x FROM t; USE db; INSERT INTO o SELECT y FROM t")
>>> [s.outputs[0] for s in r.statements if s.outputs]
['hive://w/default.o', 'hive://w/db.o']
"""

from __future__ import annotations

from dataclasses import replace

from sqlglot.dialects.dialect import Dialect

from analyzers.sql.cache import SqlAnalyzer
from analyzers.sql.model import AnalysisResult
from analyzers.sql.naming import dialect_for
from analyzers.sql.script import chunks

#: Statement kinds after which later statements may mean something else.
STATEFUL_KINDS = frozenset(
    {"use", "drop", "create_table", "create_view", "create_temp_view", "create_temp_table"}
)


def analyze_stepwise(
    analyzer: SqlAnalyzer,
    sql: str,
    *,
    engine: str | None = None,
    namespace: str | None = None,
    default_schema: str | None = None,
) -> AnalysisResult:
    """The lineage of the script ``sql``, each independent statement from the cache."""
    whole: dict[str, str | None] = {
        "engine": engine, "namespace": namespace, "default_schema": default_schema
    }  # fmt: skip
    try:
        dialect = Dialect.get_or_raise(dialect_for(engine or analyzer.engine))
    except ValueError:
        return analyzer.analyze(sql, **whole)
    statements = []
    literal_dependent = False
    for index, chunk in enumerate(chunks(sql, dialect)):
        if isinstance(chunk, Exception):
            return analyzer.analyze(sql, **whole)
        one = analyzer.analyze(sql[chunk[0].start : chunk[-1].end + 1], **whole)
        if one.errors or any(s.kind in STATEFUL_KINDS for s in one.statements):
            # state flows on from here, and error positions are the script's: as a whole
            return analyzer.analyze(sql, **whole)
        statements += [replace(s, index=index) for s in one.statements]
        literal_dependent |= one.literal_dependent
    return AnalysisResult(tuple(statements), (), literal_dependent)
