"""`lineage analyze-sql --log --cache DIR`: answers kept across runs, the same bytes."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from analyzers.sql import SqlAnalyzer
from analyzers.sql.keys import RESERVED
from analyzers.sql.querylog import log_entries
from streams.cli import sql_log, sql_store
from streams.cli.sql_store import AnswerStore

ROOT = Path(__file__).resolve().parents[4]

# Literal values no byte of the store may hold (they may be people's data).
SECRETS = ("alice.secret@example.org", "987654321", "s3://private-bucket/alice")
LOG = [
    "INSERT INTO out_1 SELECT a, b FROM t WHERE email = 'alice.secret@example.org'",
    "INSERT INTO out_2 SELECT a, b FROM t WHERE email = 'bob@example.org'",
    "INSERT INTO out_1 SELECT a, b FROM t WHERE id = 987654321",
    "SELECT upper(name) AS n FROM people WHERE age > 3 AND tag = 'x'",
    "SELECT upper(name) AS n FROM people WHERE age > 4 AND tag = 'y'",
    "SELECT FROM WHERE 'alice.secret@example.org'",  # an error: never kept
    "LOAD DATA INPATH 's3://private-bucket/alice' INTO TABLE raw",  # literal-dependent
    "SELECT a FROM events_20240101 JOIN dim_7 ON events_20240101.k = dim_7.k",
    "SELECT a FROM events_20240102 JOIN dim_7 ON events_20240102.k = dim_7.k",
]
SCHEMA = {"default.t": ["a", "b", "email", "id"], "default.raw": ["x", "y"]}


def _text(queries: list[str]) -> str:
    return "".join(json.dumps({"query": q}) + "\n" for q in queries)


def _run(text: str, store: AnswerStore | None, jobs: int = 1) -> bytes:
    analyzer = SqlAnalyzer(engine="spark", default_schema="default", schema=SCHEMA, store=store)
    out = io.BytesIO()
    lines = sql_log.log_lines(analyzer, list(log_entries(text)), "hive://w", "spark", jobs, store)
    sql_log.write_lines(out, lines)
    if store is not None:
        store.save(RESERVED)
        store.close()
    return out.getvalue()


def test_later_runs_give_the_same_bytes_from_the_store(tmp_path: Path) -> None:
    text = _text(LOG)
    cold = _run(text, None)
    assert _run(text, AnswerStore(tmp_path, "id")) == cold
    warm = AnswerStore(tmp_path, "id")
    # kept: the 6 answers without errors and without a literal they depend on, and the
    # templates of the 3 shapes with a dated or numbered table
    assert len(warm) == 6 + 3
    assert _run(text, warm) == cold
    assert warm.hits == len(LOG) - 2  # two texts differ in literals only: one answer
    # a new literal or a new dated table of a kept shape: answered from the store
    more = _text([LOG[0].replace("alice", "carol"), LOG[3].replace("3", "30")])
    again = AnswerStore(tmp_path, "id")
    assert _run(more, again) == _run(more, None)
    assert again.hits == 2


def test_a_known_shape_over_new_tables_is_renamed_from_a_kept_template(tmp_path: Path) -> None:
    day1 = [
        "INSERT INTO report_20240101 SELECT a, upper(b) AS b FROM t "
        "JOIN ev_20240101 e ON t.a = e.k",
        "SELECT a FROM events_20240101 JOIN dim_7 ON events_20240101.k = dim_7.k",
    ]
    day2 = [q.replace("20240101", "20240102") for q in day1]
    _run(_text(day1), AnswerStore(tmp_path, "id"))
    store = AnswerStore(tmp_path, "id")
    analyzer = SqlAnalyzer(engine="spark", default_schema="default", schema=SCHEMA, store=store)
    out = io.BytesIO()
    entries = list(log_entries(_text(day2)))
    sql_log.write_lines(out, sql_log.log_lines(analyzer, entries, "hive://w", "spark", 1, store))
    assert out.getvalue() == _run(_text(day2), None)
    assert analyzer.stats()["misses"] == 0  # no parse: renamed from the kept templates
    assert analyzer.stats()["template_hits"] == 2


def test_the_store_holds_no_statement_text_or_literal(tmp_path: Path) -> None:
    _run(_text(LOG), AnswerStore(tmp_path, "id"))
    data = (tmp_path / sql_store.FILE_NAME).read_bytes()
    for secret in SECRETS:
        assert secret.encode() not in data
    assert b"bob@example.org" not in data and b"upper(name)" not in data  # no statement text
    assert oct(os.stat(tmp_path / sql_store.FILE_NAME).st_mode & 0o777) == "0o600"


def test_workers_keep_their_answers_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sql_log, "MIN_GROUPS_PER_JOB", 1)
    text = _text(LOG)
    cold = _run(text, None)
    assert _run(text, AnswerStore(tmp_path, "id"), jobs=3) == cold
    serial_dir = tmp_path / "serial"
    _run(text, AnswerStore(serial_dir, "id"))
    warm = AnswerStore(tmp_path, "id")
    assert len(warm) == len(AnswerStore(serial_dir, "id"))
    assert _run(text, warm, jobs=3) == cold
    assert warm.hits == len(LOG) - 2


def test_other_code_or_a_broken_file_is_ignored(tmp_path: Path) -> None:
    text = _text(LOG)
    cold = _run(text, AnswerStore(tmp_path, "id"))
    assert len(AnswerStore(tmp_path, "other code")) == 0
    path = tmp_path / sql_store.FILE_NAME
    data = path.read_bytes()
    for broken in (data[:-1], data[:40], b"junk" + data, data[:60] + b"\xff" + data[61:]):
        path.write_bytes(broken)
        store = AnswerStore(tmp_path, "id")
        assert store.hits == 0
        assert _run(text, store) == cold
    assert len(AnswerStore(tmp_path, "id")) > 0  # rewritten whole


def test_the_store_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sql_store, "MAX_ENTRIES", 2)
    _run(_text(LOG), AnswerStore(tmp_path, "id"))
    assert len(AnswerStore(tmp_path, "id")) == 2


def test_the_code_identity_changes_with_the_analyzer(tmp_path: Path) -> None:
    assert sql_store.code_identity() == sql_store.code_identity()
    assert sql_store._version("sqlglot") not in ("", "unknown")
    assert sql_store._version("no_such_package_here") == ""


def test_a_run_answered_from_the_store_does_not_import_sqlglot(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text(_text([q for q in LOG if "FROM WHERE" not in q and "LOAD" not in q]))
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(SCHEMA))
    probe = (
        "import sys\nfrom streams.cli import main\n"
        "try:\n    main()\nfinally:\n"
        "    print('sqlglot' in sys.modules, file=sys.stderr)\n"
    )
    args = ["analyze-sql", "--log", str(log), "--engine", "spark", "--default-schema",
            "default", "--schema", str(schema), "--cache", str(tmp_path / "c")]  # fmt: skip

    def run() -> tuple[bytes, bytes]:
        done = subprocess.run(
            [sys.executable, "-c", probe, *args], capture_output=True, cwd=ROOT, check=False
        )
        assert done.returncode == 0, done.stderr
        return done.stdout, done.stderr.strip().splitlines()[-1]

    cold, imported = run()
    assert imported == b"True"
    warm, imported = run()
    assert imported == b"False"
    assert warm == cold
    # the next day's tables: renamed from the kept templates, still without sqlglot
    log.write_text(_text([LOG[7].replace("0101", "0105"), LOG[0].replace("out_1", "out_9")]))
    _, imported = run()
    assert imported == b"False"
