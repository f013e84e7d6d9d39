"""A script: split into statements, analyse each in turn, name the results.

Statements are split on the dialect's own tokens (a ``;`` inside a string or
comment does not split), tokenised once and parsed one by one, so a broken
statement fails alone. Caps keep one statement from stalling a worker: a token
cap (checked before parsing) and a time cap (checked between phases and at
every relation of the scope walk; cooperative, no threads or signals).
"""

from __future__ import annotations

import gc
import logging
import re
import time
from collections.abc import Callable, Iterator

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from analyzers.sql.errors import (
    MAX_TOKENS,
    TIME_CAP_S,
    SqlAnalysisError,
    StatementTimeout,
    StatementTooLarge,
)
from analyzers.sql.kinds import DIRECT_RANK
from analyzers.sql.lineage import Entry
from analyzers.sql.model import (
    DIRECT,
    INDIRECT,
    AnalysisResult,
    ColumnLineage,
    DatasetLineage,
    SourceField,
    StatementError,
    StatementLineage,
    TableFlow,
)
from analyzers.sql.naming import dialect_for, field_uri, table_uri
from analyzers.sql.outcome import Outcome, ScriptState
from analyzers.sql.preparse import preparse
from analyzers.sql.statements import analyze_statement
from analyzers.sql.transfers import Transfer, analyze_transfer


class _WithoutSqlText(logging.Filter):
    """sqlglot logs the text of a statement it parses as a bare ``Command``; SQL may hold
    data values (literals), which no log line of this project may carry."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "contains unsupported syntax" in str(record.msg):
            record.msg = "a statement contains unsupported syntax; parsed as a Command"
            record.args = ()
        return True


_SQLGLOT_LOG = logging.getLogger("sqlglot")
if not any(isinstance(f, _WithoutSqlText) for f in _SQLGLOT_LOG.filters):
    _SQLGLOT_LOG.addFilter(_WithoutSqlText())

# sqlglot puts a token's repr (with its text, maybe a data value) in some messages.
_TOKEN_REPR = re.compile(r"<Token token_type: TokenType\.(\w+).*?comments: \[.*?\]>", re.DOTALL)


def chunks(sql: str, dialect: Dialect) -> Iterator[list[Token] | Exception]:
    """Token lists of the non-empty statements, or the error of one that will not tokenise."""
    try:
        tokens = dialect.tokenize(sql)
    except TokenError:
        # Fall back to a plain split; the bad piece fails alone.
        for piece in sql.split(";"):
            if not piece.strip():
                continue
            try:
                yield dialect.tokenize(piece)
            except TokenError as e:
                yield e
        return
    if ";" not in sql:  # one statement: no token can be a semicolon
        if tokens:
            yield tokens
        return
    current: list[Token] = []
    for tok in tokens:
        if tok.token_type == TokenType.SEMICOLON:
            if current:
                yield current
            current = []
        else:
            current.append(tok)
    if current:
        yield current


def parse_error_message(e: Exception) -> str:
    """A message without the SQL text around the error (it may hold data values)."""
    if isinstance(e, ParseError) and e.errors:
        first = e.errors[0]
        desc = _TOKEN_REPR.sub(r"\1", str(first.get("description") or "parse error"))
        return f"{desc} (line {first.get('line')}, col {first.get('col')})"
    if isinstance(e, TokenError):
        return "cannot tokenize the statement (unterminated string, quote or comment?)"
    if isinstance(e, SqlAnalysisError):
        return str(e)
    if isinstance(e, RecursionError):
        return "statement nested too deeply"
    return f"internal error ({type(e).__name__})"


def analyze_script(
    sql: str,
    *,
    engine: str,
    namespace: str,
    default_schema: str | None,
    schema: dict[str, tuple[str, ...]],
    time_cap_s: float = TIME_CAP_S,
    max_tokens: int = MAX_TOKENS,
    on_parse: Callable[[exp.Expr], None] | None = None,
) -> AnalysisResult:
    """Analyse every statement of ``sql``; never raises for bad SQL.

    ``on_parse``, if given, sees each parsed statement before it is analysed
    (the analysis may rearrange the tree).
    """
    try:
        dialect = Dialect.get_or_raise(dialect_for(engine))
    except ValueError:
        return AnalysisResult(errors=(StatementError(0, f"unknown engine: {engine!r}"),))
    # Parse trees are cyclic (parent links); pausing the cyclic GC while a script is
    # analysed saves a third of the time. Collection resumes right after.
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        return _analyze(
            sql, dialect, namespace, default_schema, schema, time_cap_s, max_tokens, on_parse
        )
    finally:
        if paused:
            gc.enable()


def _analyze(
    sql: str,
    dialect: Dialect,
    namespace: str,
    default_schema: str | None,
    schema: dict[str, tuple[str, ...]],
    time_cap_s: float,
    max_tokens: int,
    on_parse: Callable[[exp.Expr], None] | None = None,
) -> AnalysisResult:
    state = ScriptState(default_schema=default_schema, schema=schema)
    statements: list[StatementLineage] = []
    errors: list[StatementError] = []
    literal_dependent = False
    for index, chunk in enumerate(chunks(sql, dialect)):
        try:
            if isinstance(chunk, Exception):
                raise chunk
            outcome = _one(chunk, sql, dialect, state, time_cap_s, max_tokens, on_parse)
            if outcome is not None:
                literal_dependent |= outcome.literal_dependent
                statements.append(to_lineage(index, outcome, namespace))
        except Exception as e:
            errors.append(StatementError(index, parse_error_message(e)))
    return AnalysisResult(
        statements=tuple(statements),
        errors=tuple(errors),
        literal_dependent=literal_dependent,
        defined=tuple(state.learned.items()),
    )


def _one(
    tokens: list[Token],
    sql: str,
    dialect: Dialect,
    state: ScriptState,
    time_cap_s: float,
    max_tokens: int,
    on_parse: Callable[[exp.Expr], None] | None = None,
) -> Outcome | None:
    if len(tokens) > max_tokens:
        raise StatementTooLarge(f"statement has {len(tokens)} tokens, over the cap of {max_tokens}")
    deadline = time.perf_counter() + time_cap_s
    try:
        parsed = [e for e in dialect.parser().parse(tokens, sql) if e is not None]
    except ParseError:
        transfer = _preparse(tokens, sql, dialect)
        if transfer is None:
            raise
        return analyze_transfer(transfer, state, deadline)
    if not parsed:
        return None
    if isinstance(parsed[0], exp.Command):
        transfer = _preparse(tokens, sql, dialect)
        if transfer is not None:
            return analyze_transfer(transfer, state, deadline)
    if time.perf_counter() > deadline:
        raise StatementTimeout("statement ran past the time cap while parsing")
    if on_parse is not None:
        on_parse(parsed[0])
    return analyze_statement(parsed[0], state, deadline)


def _preparse(tokens: list[Token], sql: str, dialect: Dialect) -> Transfer | None:
    """A data-moving statement sqlglot does not parse (:mod:`analyzers.sql.preparse`)."""
    text = sql[tokens[0].start : tokens[-1].end + 1]
    try:
        return preparse(text, dialect)
    except (ParseError, TokenError):
        return None


class _Fields(dict[tuple[str, str, str, bool], SourceField]):
    def __missing__(self, key: tuple[str, str, str, bool]) -> SourceField:
        sf = self[key] = SourceField(*key)
        return sf


class _Namer:
    """Entries to sorted :class:`SourceField` tuples for one statement, memoised.

    A relation's filters, joins and groupings reach every one of its output
    columns, so the same entry is named many times: each entry's key
    ``(field, type, subtype, masking)`` and each ``SourceField`` is built once
    per statement.
    """

    __slots__ = ("fields", "keys", "namespace", "shared", "shared_keys")

    def __init__(self, namespace: str, shared: set[Entry] | None = None) -> None:
        self.namespace = namespace
        self.keys: dict[Entry, tuple[str, str, str, bool]] = {}
        self.fields = _Fields()
        # Entries common to most columns (relation-wide indirect ones): named once.
        if shared and any(e[2] in DIRECT_RANK for e in shared):
            shared = None
        self.shared = shared or None
        self.shared_keys: set[tuple[str, str, str, bool]] | None = None

    def key(self, entry: Entry) -> tuple[str, str, str, bool]:
        table, col, kind, masked = entry
        uri = field_uri(self.namespace, table, col)
        direct = kind in DIRECT_RANK
        key = (uri, DIRECT, kind, masked) if direct else (uri, INDIRECT, kind, False)
        self.keys[entry] = key
        return key

    def sources(self, entries: set[Entry]) -> tuple[SourceField, ...]:
        memo = self.keys
        keys: set[tuple[str, str, str, bool]] = set()
        shared = self.shared
        if shared is not None and shared <= entries:
            if self.shared_keys is None:
                self.shared_keys = {memo.get(e) or self.key(e) for e in shared}
            keys |= self.shared_keys
            entries = entries - shared
        direct: set[tuple[str, str, str]] = set()
        merge = False
        for entry in entries:
            key = memo.get(entry) or self.key(entry)
            if key[1] is DIRECT:
                if key[:3] in direct:
                    merge = True
                direct.add(key[:3])
            keys.add(key)
        if merge:  # one DIRECT entry per (field, kind): masked only if every path masks it
            keys = {k for k in keys if k[1] is not DIRECT}
            merged: dict[tuple[str, str], bool] = {}
            for entry in entries:
                if entry[2] in DIRECT_RANK:
                    uri = memo[entry][0]
                    prev = merged.get((uri, entry[2]))
                    merged[(uri, entry[2])] = entry[3] if prev is None else (prev and entry[3])
            keys.update((uri, DIRECT, kind, m) for (uri, kind), m in merged.items())
        # (field, type, subtype) is unique per key, so tuple order is the documented order.
        return tuple(map(self.fields.__getitem__, sorted(keys)))


def to_lineage(index: int, outcome: Outcome, namespace: str) -> StatementLineage:
    """Name an :class:`Outcome`'s tables and fields in ``namespace``."""
    namer = _Namer(namespace, outcome.shared)
    columns = tuple(
        ColumnLineage(
            target=field_uri(namespace, table, name) if table else f"#{name}",
            sources=namer.sources(entries),
        )
        for table, name, entries in outcome.columns
    )
    dataset = tuple(
        DatasetLineage(table_uri(namespace, key), namer.sources(entries))
        for key, entries in outcome.dataset.items()
        if entries
    )
    table_level = tuple(
        TableFlow(table_uri(namespace, src), table_uri(namespace, dst) if dst else None)
        for src, dst in sorted(outcome.stars, key=lambda p: (p[0], p[1] or ""))
    )
    return StatementLineage(
        index=index,
        kind=outcome.kind,
        inputs=tuple(sorted(table_uri(namespace, t) for t in outcome.inputs)),
        outputs=tuple(table_uri(namespace, t) for t in outcome.outputs),
        columns=columns,
        unresolved=tuple(sorted(outcome.unresolved)),
        dataset=dataset,
        table_level=table_level,
    )
