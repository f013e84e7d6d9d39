from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from lineage_probes import context


def _traced(fn: Any, rate: float = 1.0) -> Any:
    token = context.begin(None, rate)
    try:
        return fn()
    finally:
        context.end(token)


def _work(path: Path) -> list[Any]:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, Email TEXT, city TEXT)")
    conn.execute("INSERT INTO users (name, Email, city) VALUES (?, ?, ?)",
                 ("Ada Lovelace", "ada@example.com", "London"))
    conn.executemany("INSERT INTO users (name, email) VALUES (:n, :e)",
                     [{"n": "Grace Hopper", "e": "grace@example.com"},
                      {"n": "Alan Turing", "e": "alan@example.com"}])
    conn.execute("UPDATE users SET city = ? WHERE name = ?", ("Arlington", "Grace Hopper"))
    conn.execute("INSERT INTO users (name) VALUES ('Literal Only')")
    conn.commit()
    cur = conn.cursor()
    cur.execute("SELECT name, city FROM users WHERE id = ?", (1,))
    first = cur.fetchone()
    rows = list(conn.execute("SELECT name, email FROM users ORDER BY id"))
    conn.close()
    return [first, rows]


def test_writes_and_reads_as_captures(probes: Any, tmp_path: Path) -> None:
    cap = probes()
    _traced(lambda: _work(tmp_path / "app.db"))
    sinks = [e["payload"] for e in cap.of("sqlite://app.db/users", "sink")]
    assert sinks == [
        {"name": "Ada Lovelace", "email": "ada@example.com", "city": "London"},
        {"name": "Grace Hopper", "email": "grace@example.com"},
        {"name": "Alan Turing", "email": "alan@example.com"},
        {"city": "Arlington"},
    ]
    sources = [e["payload"] for e in cap.of("sqlite://app.db/users", "source")]
    assert sources[0] == {"name": "Ada Lovelace", "city": "London"}
    assert {"name": "Alan Turing", "email": "alan@example.com"} in sources[1:]
    assert len(sources) == 1 + 4
    assert all(e["code_location"].startswith("tests/unit/probes/test_sqlite_probe.py:")
               for e in cap.events)


def test_outside_a_sampled_trace_nothing_is_captured(probes: Any, tmp_path: Path) -> None:
    cap = probes()
    _work(tmp_path / "a.db")
    assert cap.events == []


def test_results_and_files_identical_with_and_without_probes(probes: Any,
                                                             tmp_path: Path) -> None:
    without = _traced(lambda: _work(tmp_path / "plain.db"))
    probes()
    with_probes = _traced(lambda: _work(tmp_path / "probed.db"))
    assert with_probes == without
    dump = [list(sqlite3.connect(tmp_path / n).iterdump()) for n in ("plain.db", "probed.db")]
    assert dump[0] == dump[1]


def test_connection_is_still_a_sqlite3_connection(probes: Any) -> None:
    probes()
    conn = sqlite3.connect(":memory:")
    assert isinstance(conn, sqlite3.Connection)
    conn.row_factory = sqlite3.Row
    assert conn.execute("SELECT 1 AS one").fetchone()["one"] == 1


def test_an_app_factory_is_left_alone(probes: Any) -> None:
    probes()

    class Mine(sqlite3.Connection):
        pass
    assert type(sqlite3.connect(":memory:", factory=Mine)) is Mine


def _unsampled(fn: Any) -> Any:
    return _traced(fn, rate=0.0)


def test_unsampled_requests_get_the_same_results_and_capture_nothing(
        probes: Any, tmp_path: Path) -> None:
    without = _unsampled(lambda: _work(tmp_path / "plain.db"))
    cap = probes()
    assert _unsampled(lambda: _work(tmp_path / "probed.db")) == without
    assert cap.events == []


def test_a_cursor_read_in_a_sampled_request_is_not_captured_in_an_unsampled_one(
        probes: Any) -> None:
    cap = probes()
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (name TEXT)")
    conn.execute("INSERT INTO t (name) VALUES ('Ada Lovelace')")
    cur = conn.cursor()
    _traced(lambda: cur.execute("SELECT name FROM t").fetchall())
    assert len(cap.of("sqlite://memory/t", "source")) == 1
    # the same cursor again, unsampled: the earlier read must not capture these rows
    assert _unsampled(lambda: cur.execute("SELECT name FROM t").fetchall()) == [("Ada Lovelace",)]
    assert len(cap.of("sqlite://memory/t", "source")) == 1
