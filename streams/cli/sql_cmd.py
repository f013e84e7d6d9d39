"""`lineage analyze-sql`: SQL lineage as JSON (or a table), offline."""

from __future__ import annotations

import json
import mmap
import os
import stat
import sys
from pathlib import Path
from typing import Any

import click
import orjson

from analyzers.sql import AnalysisResult, SqlAnalyzer, dialect_for
from analyzers.sql.keys import RESERVED
from analyzers.sql.querylog import log_entries
from streams.cli.common import common_options, fail
from streams.cli.sql_log import log_lines, write_lines


def _read_text(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        # bytes then one decode: a text-mode read of a large log costs several times more
        text = Path(path).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise fail(f"cannot read {path}: {e.__class__.__name__}") from None
    if "\r" in text:  # as a text-mode read: each \r\n and \r is a \n
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _read_log(path: str) -> str | bytes | mmap.mmap:
    """The log's text (stdin) or bytes: a file mapped, not copied (read once, in parts)."""
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, "rb") as f:
            info = os.fstat(f.fileno())
            if stat.S_ISREG(info.st_mode) and info.st_size > 0:
                return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            return f.read()
    except OSError as e:
        raise fail(f"cannot read {path}: {e.__class__.__name__}") from None


def _read_schema(path: str | None) -> dict[str, list[str]] | None:
    if path is None:
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise fail(f"cannot read schema {path}: {e.__class__.__name__}") from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(c, str) for c in v)
        for k, v in data.items()
    ):
        raise fail(f'schema {path} must be {{"db.table": ["col", ...]}}')
    return data


def _table(result: AnalysisResult) -> str:
    lines: list[str] = []
    for st in result.statements:
        lines.append(
            f"[{st.index}] {st.kind}  inputs={','.join(st.inputs) or '-'}  "
            f"outputs={','.join(st.outputs) or '-'}"
        )
        for col in st.columns:
            for src in col.sources or ():
                mask = " masked" if src.masking else ""
                lines.append(f"    {col.target} <- {src.field}  {src.type}/{src.subtype}{mask}")
            if not col.sources:
                lines.append(f"    {col.target} <- (no source column)")
    for err in result.errors:
        lines.append(f"[{err.index}] error: {err.message}")
    return "\n".join(lines)


def _run_log(
    log: str,
    engine: str | None,
    namespace: str | None,
    default_schema: str | None,
    schema: dict[str, list[str]] | None,
    jobs: int,
    cache: str | None = None,
) -> None:
    store = None
    if cache is not None:
        from streams.cli.sql_store import AnswerStore

        store = AnswerStore(cache)
        for name, words in store.reserved.items():  # no sqlglot needed for known engines
            RESERVED.setdefault(name, words)
    if engine is not None:
        _check_engine(engine)
    try:
        entries = list(log_entries(_read_log(log)))
    except UnicodeDecodeError as e:
        raise fail(f"cannot read {log}: {e.__class__.__name__}") from None
    analyzer = SqlAnalyzer(engine=engine or "spark", default_schema=default_schema,
                           schema=schema, maxsize=50_000, store=store)  # fmt: skip
    try:
        _write_log(analyzer, entries, namespace, engine, jobs, store)
    finally:
        if store is not None:
            _save(store, cache)


def _save(store: Any, cache: str | None) -> None:
    try:
        store.save(RESERVED)
    except OSError as e:
        click.echo(f"warning: cannot write the cache in {cache}: {e.__class__.__name__}",
                   err=True)  # fmt: skip
    finally:
        store.close()


def _write_log(
    analyzer: SqlAnalyzer,
    entries: list[Any],
    namespace: str | None,
    engine: str | None,
    jobs: int,
    store: Any,
) -> None:
    if not sys.stderr.isatty():
        write_lines(
            sys.stdout.buffer, log_lines(analyzer, entries, namespace, engine, jobs, store)
        )
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    # the worker processes are forked before the bar's refresh thread starts
    lines = list(log_lines(analyzer, entries, namespace, engine, jobs, store))
    with Progress(
        TextColumn("analyze-sql"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=Console(stderr=True), transient=True,
    ) as progress:  # fmt: skip
        task = progress.add_task("", total=len(lines))
        write_lines(sys.stdout.buffer, lines, lambda n: progress.advance(task, n))


@click.command("analyze-sql")
@click.argument("file", required=False)
@click.option(
    "--log", "log", default=None, metavar="FILE|-",
    help="A query log: one statement per entry (SQL ending ';' + newline, or JSON lines "
    '{"query", "engine", "default_schema", "namespace"}), each analysed alone through the '
    "cache; JSON lines out.",
)  # fmt: skip
@click.option("--engine", default=None, help="Engine that ran the SQL; picks the dialect.")
@click.option("--namespace", default=None, help="Asset namespace [default: ENGINE://default].")
@click.option("--default-schema", default=None, help="Schema for tables named without one.")
@click.option("--schema", "schema_file", default=None, help='JSON {"db.table": ["col", ...]}.')
@click.option(
    "--format", "fmt", type=click.Choice(["json", "table"]), default="json", show_default=True
)
@click.option(
    "--jobs", type=click.IntRange(min=1), default=1, show_default=True,
    help="--log: processes for the first analysis of its distinct statements (forked; the "
    "output is the same). More than 1 pays only with idle cores.",
)  # fmt: skip
@click.option(
    "--cache", "cache", default=None, metavar="DIR",
    help="--log: keep the answers in DIR across runs and reuse them (opt-in; holds no "
    "statement text or literal, see docs/SQL.md).",
)  # fmt: skip
@common_options
def analyze_sql_command(
    file: str | None,
    log: str | None,
    engine: str | None,
    namespace: str | None,
    default_schema: str | None,
    schema_file: str | None,
    fmt: str,
    jobs: int,
    cache: str | None,
    **_: Any,
) -> None:
    """SQL lineage of the script FILE ('-' for stdin), or of each entry of a --log.

    A script's statements run in order (USE, temp views, CREATE); those that
    do not depend on an earlier one are analysed through the fingerprint cache.
    """
    if (file is None) == (log is None):
        raise fail("give a script FILE or --log FILE, not both")
    schema = _read_schema(schema_file)
    if log is not None:
        if fmt != "json":
            raise fail("--log writes JSON lines; --format table is for a script")
        _run_log(log, engine, namespace, default_schema, schema, jobs, cache)
        return
    if cache is not None:
        raise fail("--cache is for --log")
    if engine is None:
        raise fail("--engine is required for a script")
    assert file is not None
    sql = _read_text(file)
    ns = namespace if namespace is not None else f"{engine.lower()}://default"
    _check_engine(engine)
    analyzer = SqlAnalyzer(engine=engine, namespace=ns, default_schema=default_schema,
                           schema=schema)  # fmt: skip
    from analyzers.sql.stepwise import analyze_stepwise

    result = analyze_stepwise(analyzer, sql)
    if fmt == "table":
        click.echo(_table(result))
    else:
        sys.stdout.buffer.write(_script_json(result) + b"\n")
        sys.stdout.flush()


def _script_json(result: AnalysisResult) -> bytes:
    """``result.to_json()`` as bytes; a statement repeated in the script (the same cached
    lineage at another index: its non-empty ``columns`` tuple is the same object, alive
    while ``result`` is) is encoded once."""
    bodies: dict[int, bytes] = {}
    parts = []
    for st in result.statements:
        body = bodies.get(id(st.columns)) if st.columns else None
        if body is None:
            whole = st.to_json()
            del whole["index"]
            body = orjson.dumps(whole)
            if st.columns:
                bodies[id(st.columns)] = body
        parts.append(b'{"index":%d,%b' % (st.index, body[1:]))
    errors = orjson.dumps([e.to_json() for e in result.errors])
    return b'{"statements":[%b],"errors":%b}' % (b",".join(parts), errors)


def _check_engine(engine: str) -> None:
    if RESERVED.get(engine.lower()) is not None:  # its dialect was found (here or by a cache)
        return
    from sqlglot.dialects.dialect import Dialect

    try:
        Dialect.get_or_raise(dialect_for(engine))
    except ValueError:
        raise fail(f"unknown engine: {engine!r}") from None
