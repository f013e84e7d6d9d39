"""`lineage analyze-sql --log` output: written in parts, whole and in order."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest

from analyzers.sql import SqlAnalyzer, analyze
from analyzers.sql.querylog import LogEntry, log_entries
from streams.cli import sql_log

LINES = [
    (b'{"line":%d,' % i, b'"n":%d,"pad":"%b"}\n' % (i, b"x" * (i % 97))) for i in range(1, 1300)
]
EXPECTED = b"".join(h + b for h, b in LINES)


def test_write_lines_to_a_file_descriptor(tmp_path: Path) -> None:
    advanced: list[int] = []
    with open(tmp_path / "out", "wb") as out:
        out.write(b"first\n")  # buffered before: must come out first
        sql_log.write_lines(out, iter(LINES), advanced.append)
    assert (tmp_path / "out").read_bytes() == b"first\n" + EXPECTED
    assert sum(advanced) == len(LINES) // sql_log._BATCH * sql_log._BATCH


def test_write_lines_survives_partial_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = os.writev

    def short(fd: int, parts: list[bytes]) -> int:  # a pipe may take only part of a call
        return real(fd, [bytes(memoryview(b"".join(parts))[:7])])

    monkeypatch.setattr(sql_log.os, "writev", short)
    with open(tmp_path / "out", "wb") as out:
        sql_log.write_lines(out, iter(LINES))
    assert (tmp_path / "out").read_bytes() == EXPECTED


def test_write_lines_without_a_file_descriptor() -> None:
    out = io.BytesIO()
    sql_log.write_lines(out, iter(LINES))
    assert out.getvalue() == EXPECTED


def _bench_log(size: int) -> tuple[str, dict[str, list[str]]]:
    """The first ``size`` statements of the benchmark's stream as a JSON-lines log, with
    lines of other engines, without an engine and broken ones mixed in."""
    bench = pytest.importorskip("loadtest.bench_sql")
    pytest.importorskip("sqllineage")
    queries = bench.tpcds_queries()
    stream, _ = bench.make_stream(size, queries)
    lines = [json.dumps({"query": q}) for q in stream]
    for n in range(0, size, 97):
        lines[n] = json.dumps({"query": stream[n], "engine": "trino", "default_schema": "s"})
    for n in range(5, size, 331):
        lines[n] = "not json" if n % 2 else json.dumps({"query": stream[n], "engine": "nope"})
    return "\n".join(lines) + "\n", bench.tpcds_schema(queries)


def _run(text: str, schema: dict[str, list[str]], jobs: int, engine: str) -> bytes:
    analyzer = SqlAnalyzer(engine="spark", default_schema="default", schema=schema)
    out = io.BytesIO()
    entries = list(log_entries(text))
    sql_log.write_lines(out, sql_log.log_lines(analyzer, entries, "hive://w", engine, jobs))
    return out.getvalue()


def test_parallel_log_is_the_serial_log_and_fresh_analyses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text, schema = _bench_log(3000)
    forks: list[int] = []
    real_fork = sql_log._fork

    def counted_fork(*args: Any) -> tuple[int, int]:
        forks.append(1)
        return real_fork(*args)

    monkeypatch.setattr(sql_log, "_fork", counted_fork)
    serial = _run(text, schema, 1, "spark")
    assert not forks
    assert _run(text, schema, 3, "spark") == serial
    assert len(forks) == 2
    fresh: dict[LogEntry, dict[str, object]] = {}
    for (line, entry), got in zip(log_entries(text), serial.splitlines(), strict=True):
        answer = json.loads(got)
        assert answer.pop("line") == line
        if entry.error or entry.engine == "nope":
            assert answer["errors"] and not answer["statements"]
            continue
        if entry not in fresh:
            fresh[entry] = analyze(
                entry.query, engine=entry.engine or "spark", namespace="hive://w",
                default_schema=entry.default_schema or "default", schema=schema,
            ).to_json()  # fmt: skip
        assert answer == fresh[entry], line


def test_a_failed_worker_share_is_analysed_here(monkeypatch: pytest.MonkeyPatch) -> None:
    text, schema = _bench_log(600)
    serial = _run(text, schema, 1, "spark")
    parent = os.getpid()
    real = sql_log.entry_body

    def body_or_crash(*args: object) -> bytes:
        if os.getpid() != parent:
            raise RuntimeError("worker fails")
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(sql_log, "entry_body", body_or_crash)
    monkeypatch.setattr(sql_log, "MIN_GROUPS_PER_JOB", 1)
    assert _run(text, schema, 2, "spark") == serial
