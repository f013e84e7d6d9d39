"""The DB guard's fast path keeps enforcement's decisions: a statement judged quiet or an
untainted write under one set of zones is judged again under the next, per database,
and an untainted write is checked again once the zones go stale."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import lineage_probes
import pytest
from lineage_probes import context
from lineage_probes.enforcement.feed import StaticZones
from lineage_probes.enforcement.index import ZoneState

WRITE = "INSERT INTO ads_log (segment) VALUES (?)"
READ = "SELECT name, city FROM users WHERE id = 1"


def _state(deny: list[str], zone: str = "sqlite://app.db/users#city", **policy: Any
           ) -> ZoneState:
    state = ZoneState()
    state.apply_policy(b"loc", json.dumps({"policy_id": "loc", "mode": "enforce",
                                           "deny": deny, **policy}).encode())
    state.apply_member(f"loc|{zone}".encode(), b'{"state":"root"}')
    return state


def _database(path: Path) -> Path:
    with sqlite3.connect(path) as conn:  # before instrument(): not probed
        conn.executescript("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, city TEXT);"
                           "CREATE TABLE ads_log (segment TEXT);"
                           "INSERT INTO users VALUES (1, 'Ada', 'Valparaiso');")
    return path


def _request(conn: sqlite3.Connection, *, read: bool = True, taint: bool = False) -> None:
    """One request: reads the user (maybe), then writes ads_log twice (the second time the
    statement is known)."""
    trace = context.Trace("ab" * 16, False)
    if taint:
        trace.taint = {"loc": "inherited"}
    token = context.CURRENT.set(trace)
    try:
        if read:
            conn.execute(READ).fetchone()
        for _ in range(2):
            conn.execute(WRITE, ("s",))
    finally:
        context.end(token)


def _rows(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM ads_log").fetchone()[0])


def test_statements_are_judged_again_under_new_zones(probes: Any, tmp_path: Path) -> None:
    db = _database(tmp_path / "app.db")
    zones = StaticZones(_state(["http://ads/**"], zone="sqlite://app.db/orders#total"))
    probes(zones=zones)
    conn = sqlite3.connect(db, isolation_level=None)
    _request(conn)
    _request(conn)  # the read and the write are quiet now: no zone table, no denied sink
    assert _rows(conn) == 4
    zones.update(_state(["sqlite://app.db/ads_log"]))  # users#city in the zone, ads_log denied
    with pytest.raises(lineage_probes.FlowBlocked):
        _request(conn)  # the same read taints, the same write is blocked
    _request(conn, read=False)  # untainted: goes
    assert _rows(conn) == 6


def test_the_same_text_on_a_second_database_is_judged_for_it(probes: Any,
                                                             tmp_path: Path) -> None:
    first, second = _database(tmp_path / "app.db"), _database(tmp_path / "ads.db")
    probes(zones=StaticZones(_state(["sqlite://ads.db/ads_log"])))
    conn = sqlite3.connect(first, isolation_level=None)
    _request(conn, taint=True)  # not denied on app.db: goes, and is quiet there
    _request(conn, taint=True)
    other = sqlite3.connect(second, isolation_level=None)
    with pytest.raises(lineage_probes.FlowBlocked) as blocked:
        _request(other, read=False, taint=True)
    assert blocked.value.sink == "sqlite://ads.db/ads_log"
    _request(conn, taint=True)  # still quiet on app.db
    assert (_rows(conn), _rows(other)) == (6, 0)


def test_a_known_untainted_write_is_checked_once_the_zones_go_stale(probes: Any,
                                                                   tmp_path: Path) -> None:
    db = _database(tmp_path / "app.db")
    zones = StaticZones(_state(["sqlite://app.db/ads_log"], fail_mode="fail_closed"))
    probes(zones=zones)
    conn = sqlite3.connect(db, isolation_level=None)
    _request(conn, read=False)
    _request(conn, read=False)  # an untainted write to a denied sink: known, goes
    with pytest.raises(lineage_probes.FlowBlocked):
        _request(conn, read=False, taint=True)  # tainted: checked, blocked
    zones.set_available(False)
    with pytest.raises(lineage_probes.FlowBlocked) as blocked:
        _request(conn, read=False)  # fail_closed: cannot prove the request clean
    assert blocked.value.reason == "fail_closed"
    assert _rows(conn) == 4


def test_a_quiet_statement_on_a_reused_cursor_drops_the_last_reads_row_plan(
        probes: Any, tmp_path: Path) -> None:
    """Precise mode: a zone read executed but never fetched taints nothing; the rows of
    the quiet statement run next on the same cursor are not taken for its rows."""
    db = _database(tmp_path / "app.db")
    with sqlite3.connect(db) as setup:
        setup.executescript("CREATE TABLE notes (n TEXT, v TEXT);"
                            "INSERT INTO notes VALUES ('a', 'Zvalue');")
    probes(zones=StaticZones(_state(["sqlite://app.db/ads_log"], match="value")))
    conn = sqlite3.connect(db, isolation_level=None)
    cursor = conn.cursor()

    def request() -> None:
        cursor.execute("SELECT n, v FROM notes").fetchall()  # quiet from the second time
        cursor.execute(READ)  # a zone read, never fetched
        rows = cursor.execute("SELECT n, v FROM notes").fetchall()
        conn.execute(WRITE, (rows[0][1],))

    for _ in range(2):
        token = context.CURRENT.set(context.Trace("ab" * 16, False))
        try:
            request()
        finally:
            context.end(token)
    assert _rows(conn) == 2


def test_with_no_table_in_a_zone_an_untainted_statement_takes_sqlite3s_own_path(
        probes: Any, tmp_path: Path) -> None:
    db = _database(tmp_path / "app.db")
    state = ZoneState()  # a policy denying ads_log, nothing in its zone yet
    state.apply_policy(b"loc", json.dumps({"policy_id": "loc", "mode": "enforce",
                                           "deny": ["sqlite://app.db/ads_log"]}).encode())
    zones = StaticZones(state)
    probes(sample_rate=0.0, zones=zones)
    conn = sqlite3.connect(db)

    def cursor_type(taint: bool) -> type:
        trace = context.Trace("ab" * 16, False)
        if taint:
            trace.taint = {"loc": "inherited"}
        token = context.CURRENT.set(trace)
        try:
            return type(conn.execute(WRITE, ("s",)))
        finally:
            context.end(token)

    assert cursor_type(taint=False) is sqlite3.Cursor  # the C path: nothing to check
    with pytest.raises(lineage_probes.FlowBlocked):
        cursor_type(taint=True)  # the caller's taint: still checked
    zones.set_available(False)  # stale: the guard decides again (fail_open here)
    assert cursor_type(taint=False) is not sqlite3.Cursor
    assert _rows(conn) == 2
    conn.close()


def test_a_tainted_request_builds_a_sink_payload_only_when_a_policy_denies_the_sink(
        probes: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import logging

    from lineage_probes.hooks import logging_hook

    built: list[str] = []
    real = logging_hook.payload_of

    def counted(record: logging.LogRecord) -> dict[str, Any]:
        built.append(record.name)
        return real(record)

    monkeypatch.setattr(logging_hook, "payload_of", counted)
    probes(sample_rate=0.0, zones=StaticZones(_state(["log://svc/ads"], match="value",
                                                              enforce_on=["log"])))
    trace = context.Trace("ab" * 16, False)
    trace.taint, trace.values = {"loc": "sqlite://app.db/users#city"}, {"loc": {"valparaiso"}}
    token = context.CURRENT.set(trace)
    try:
        logging.getLogger("audit").warning("user moved to %s", "Valparaiso")  # not denied
        assert built == []
        logging.getLogger("ads").warning("segment %s", "coastal")  # denied, no value read
        assert built == ["ads"]
        with pytest.raises(lineage_probes.FlowBlocked):
            logging.getLogger("ads").warning("segment %s", "Valparaiso")
    finally:
        context.end(token)
