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

Splitting a script exactly needs the dialect's tokenizer (a ``;`` in a string
or comment does not end a statement), which is most of the cost of a long,
repetitive script. So the script is cut after each ``;`` that ends a line into
*pieces*, and each distinct piece is tokenized once: a piece whose last token
is that ``;`` starts and ends at statement boundaries, so its statements are
those the whole script's tokens give there, and a repeated piece has the same
ones. A piece that does not end with a real ``;`` (the cut fell inside a
comment or string) sends the whole script down the exact path.

>>> from analyzers.sql.cache import SqlAnalyzer
>>> a = SqlAnalyzer(engine="spark", namespace="hive://w", default_schema="default")
>>> r = analyze_stepwise(a, "INSERT INTO o SELECT x FROM t; USE db; INSERT INTO o SELECT y FROM t")
>>> [s.outputs[0] for s in r.statements if s.outputs]
['hive://w/default.o', 'hive://w/db.o']
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType

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
    texts = _statement_texts(sql, dialect)
    if texts is None:
        texts = []
        for chunk in chunks(sql, dialect):
            if isinstance(chunk, Exception):
                return analyzer.analyze(sql, **whole)
            texts.append(sql[chunk[0].start : chunk[-1].end + 1])
    statements = []
    literal_dependent = False
    for index, text in enumerate(texts):
        one = analyzer.analyze(text, **whole)
        if one.errors or any(s.kind in STATEFUL_KINDS for s in one.statements):
            # state flows on from here, and error positions are the script's: as a whole
            return analyzer.analyze(sql, **whole)
        statements += [replace(s, index=index) for s in one.statements]
        literal_dependent |= one.literal_dependent
    return AnalysisResult(tuple(statements), (), literal_dependent)


_CUT = re.compile(r";[ \t]*\r?\n")
_PIECES_CAP = 100_000


def _statement_texts(sql: str, dialect: Dialect) -> list[str] | None:
    """Each statement's text, from the distinct pieces of the script; None: not exact."""
    memo: dict[str, tuple[str, ...] | None] = {}
    texts: list[str] = []
    for piece, last in _pieces(sql):
        if piece in memo:
            found = memo[piece]
        else:
            found = _piece_statements(piece, dialect, last)
            if len(memo) < _PIECES_CAP:
                memo[piece] = found
        if found is None:
            return None
        texts += found
    return texts


def _pieces(sql: str) -> Iterator[tuple[str, bool]]:
    pos = 0
    for m in _CUT.finditer(sql):
        yield sql[pos : m.end()], False
        pos = m.end()
    if pos < len(sql):
        yield sql[pos:], True


def _piece_statements(piece: str, dialect: Dialect, last: bool) -> tuple[str, ...] | None:
    try:
        tokens = dialect.tokenize(piece)
    except TokenError:
        return None
    if not last and (not tokens or tokens[-1].token_type != TokenType.SEMICOLON):
        return None  # the `;` the cut was made after is inside a comment or a string
    out: list[str] = []
    start = None
    for i, tok in enumerate(tokens):
        if tok.token_type == TokenType.SEMICOLON:
            if start is not None:
                out.append(piece[tokens[start].start : tokens[i - 1].end + 1])
            start = None
        elif start is None:
            start = i
    if start is not None:
        out.append(piece[tokens[start].start : tokens[-1].end + 1])
    return tuple(out)
