"""psycopg 3 against a live PostgreSQL server (a throwaway cluster, tests/postgres.py):
what the probes capture from writes and reads, sync and async, and that the
application sees the same values and leaves the same rows with the probes on."""

from __future__ import annotations

import asyncio
import datetime
import decimal
import itertools
from collections.abc import Iterator
from typing import Any

import lineage_probes
import psycopg
import pytest
from lineage_probes import context
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from tests.postgres import PgCluster, live_postgres

SCHEMA = [
    "CREATE TABLE users (id integer PRIMARY KEY, name text NOT NULL, Email text, city text,"
    " balance numeric(10, 2), joined date, prefs jsonb)",
    "CREATE SCHEMA crm",
    "CREATE TABLE crm.notes (id serial PRIMARY KEY, user_id integer, body text)",
]
TABLES = ["users", "crm.notes"]
_names = itertools.count()


@pytest.fixture(scope="module")
def server() -> Iterator[PgCluster]:
    with live_postgres("probes") as cluster:
        yield cluster


@pytest.fixture()
def db(server: PgCluster) -> Iterator[Any]:
    """`db()`: a fresh database with the schema on the module's server."""
    def make() -> PgCluster:
        fresh = server.create_database(f"app{next(_names)}")
        with psycopg.connect(fresh.conninfo) as conn:
            for statement in SCHEMA:
                conn.execute(statement)
        return fresh
    yield make


def _traced(fn: Any) -> Any:
    token = context.begin(None, 1.0)
    try:
        return fn()
    finally:
        context.end(token)


def _work(conninfo: str) -> list[Any]:
    """Writes with `%s` and `%(name)s`, executemany, an upsert; reads every way."""
    got: list[Any] = []
    with psycopg.connect(conninfo) as conn:
        conn.execute(
            "INSERT INTO users (id, name, Email, city, balance, joined, prefs)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (1, "Ada Lovelace", "ada@example.com", "London", decimal.Decimal("12.50"),
             datetime.date(2024, 5, 1), Jsonb({"theme": "dark"})))
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO users (id, name, email) VALUES (%(id)s, %(n)s, %(e)s)",
                            ({"id": i, "n": n, "e": e} for i, n, e in (
                                (2, "Grace Hopper", "grace@example.com"),
                                (3, "Alan Turing", "alan@example.com"))))
            cur.execute("UPDATE users SET city = %(city)s WHERE name = %(name)s",
                        {"city": "Arlington", "name": "Grace Hopper"})
            got.append(cur.rowcount)
            cur.execute("INSERT INTO users (id, name, city) VALUES (%s, %s, %s)"
                        " ON CONFLICT (id) DO UPDATE SET city = EXCLUDED.city",
                        (2, "Grace Hopper", "New York"))
            cur.execute("INSERT INTO crm.notes (user_id, body) VALUES (%s, %s) RETURNING id",
                        (3, "Prefers tea"))
            got.append(cur.fetchone())
            cur.execute("INSERT INTO users (id, name) VALUES (4, 'Literal Only')")
            cur.execute("SELECT name, city FROM users WHERE id = %s", (1,))
            got.append(cur.fetchone())
            cur.execute("SELECT id, name, email FROM users ORDER BY id")
            got.append(cur.fetchmany(2))
            got.append(cur.fetchall())
            cur.execute("SELECT name FROM users ORDER BY id")
            got.append(list(cur))
        with conn.cursor(name="server_side") as cur:
            cur.execute("SELECT email FROM users WHERE id > %s ORDER BY id", (1,))
            got.append(cur.fetchone())
            got.append(list(cur))
        with conn.cursor(row_factory=dict_row) as cur:
            cur.execute("SELECT name, balance, joined, prefs FROM users WHERE id = %(id)s",
                        {"id": 1})
            got.append(cur.fetchall())
        got.append(conn.execute("SELECT body FROM crm.notes").fetchall())
    return got


async def _async_work(conninfo: str) -> list[Any]:
    got: list[Any] = []
    async with await psycopg.AsyncConnection.connect(conninfo) as conn:
        await conn.execute("INSERT INTO users (id, name, email, city) VALUES (%s, %s, %s, %s)",
                           (1, "Ada Lovelace", "ada@example.com", "London"))
        async with conn.cursor() as cur:
            await cur.executemany("INSERT INTO users (id, name) VALUES (%(id)s, %(name)s)",
                                  [{"id": 2, "name": "Grace Hopper"},
                                   {"id": 3, "name": "Alan Turing"}])
            await cur.execute("INSERT INTO users (id, name, city) VALUES (%(id)s, %(name)s,"
                              " %(city)s) ON CONFLICT (id) DO UPDATE SET city = EXCLUDED.city",
                              {"id": 3, "name": "Alan Turing", "city": "Wilmslow"})
            await cur.execute("SELECT name, city FROM users WHERE id = %s", (3,))
            got.append(await cur.fetchone())
            await cur.execute("SELECT id, name FROM users ORDER BY id")
            got.append(await cur.fetchmany(1))
            got.append(await cur.fetchall())
            await cur.execute("SELECT name FROM users ORDER BY id")
            got.append([row async for row in cur])
        async with conn.cursor(name="server_side") as cur:
            await cur.execute("SELECT id FROM users WHERE name = %s", ("Alan Turing",))
            got.append(await cur.fetchall())
    return got


def _contents(conninfo: str) -> list[Any]:
    with psycopg.connect(conninfo) as conn:
        return [conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() for t in TABLES]


def test_sync_writes_and_reads_as_captures(probes: Any, db: Any) -> None:
    pg = db()
    cap = probes()
    _traced(lambda: _work(pg.conninfo))
    users = f"{pg.namespace}/{pg.dbname}.public.users"
    assert [e["payload"] for e in cap.of(users, "sink")] == [
        {"id": 1, "name": "Ada Lovelace", "email": "ada@example.com", "city": "London",
         "balance": "12.50", "joined": "2024-05-01", "prefs": {"theme": "dark"}},
        {"id": 2, "name": "Grace Hopper", "email": "grace@example.com"},
        {"id": 3, "name": "Alan Turing", "email": "alan@example.com"},
        {"city": "Arlington"},
        {"id": 2, "name": "Grace Hopper", "city": "New York"},
    ]
    notes = f"{pg.namespace}/{pg.dbname}.crm.notes"
    assert [e["payload"] for e in cap.of(notes, "sink")] == [{"user_id": 3, "body": "Prefers tea"}]
    assert [e["payload"] for e in cap.of(notes, "source")] == [{"body": "Prefers tea"}]
    sources = [e["payload"] for e in cap.of(users, "source")]
    names = ["Ada Lovelace", "Grace Hopper", "Alan Turing", "Literal Only"]
    emails = ["ada@example.com", "grace@example.com", "alan@example.com", None]
    assert sources == [
        {"name": "Ada Lovelace", "city": "London"},  # fetchone
        *({"id": i + 1, "name": n, "email": e}  # fetchmany, then fetchall
          for i, (n, e) in enumerate(zip(names, emails, strict=True))),
        *({"name": n} for n in names),  # iterating the cursor
        *({"email": e} for e in emails[1:]),  # a server-side cursor
        {"name": "Ada Lovelace", "balance": "12.50", "joined": "2024-05-01",  # dict rows
         "prefs": {"theme": "dark"}},
    ]
    events = cap.events
    assert {e["trace_id"] for e in events} == {events[0]["trace_id"]}
    assert all(e["code_location"].startswith("tests/unit/probes/test_psycopg_probe.py:")
               for e in events)


async def test_async_writes_and_reads_as_captures(probes: Any, db: Any) -> None:
    pg = db()
    cap = probes()
    token = context.begin(None, 1.0)
    try:
        await _async_work(pg.conninfo)
    finally:
        context.end(token)
    users = f"{pg.namespace}/{pg.dbname}.public.users"
    assert [e["payload"] for e in cap.of(users, "sink")] == [
        {"id": 1, "name": "Ada Lovelace", "email": "ada@example.com", "city": "London"},
        {"id": 2, "name": "Grace Hopper"},
        {"id": 3, "name": "Alan Turing"},
        {"id": 3, "name": "Alan Turing", "city": "Wilmslow"},
    ]
    names = ["Ada Lovelace", "Grace Hopper", "Alan Turing"]
    assert [e["payload"] for e in cap.of(users, "source")] == [
        {"name": "Alan Turing", "city": "Wilmslow"},
        *({"id": i + 1, "name": n} for i, n in enumerate(names)),
        *({"name": n} for n in names),
        {"id": 3},
    ]


def test_outside_a_sampled_trace_nothing_is_captured(probes: Any, db: Any) -> None:
    pg = db()
    cap = probes()
    _work(pg.conninfo)
    assert cap.events == []


def test_results_and_rows_identical_with_and_without_probes(probes: Any, db: Any) -> None:
    plain, probed = db(), db()
    without = _traced(lambda: _work(plain.conninfo))
    cap = probes()
    with_probes = _traced(lambda: _work(probed.conninfo))
    assert cap.events
    assert with_probes == without
    assert _contents(probed.conninfo) == _contents(plain.conninfo)


def test_async_results_and_rows_identical_with_and_without_probes(probes: Any,
                                                                  db: Any) -> None:
    plain, probed = db(), db()

    def run(conninfo: str) -> list[Any]:
        return _traced(lambda: asyncio.run(_async_work(conninfo)))
    without = run(plain.conninfo)
    cap = probes()
    with_probes = run(probed.conninfo)
    assert cap.events
    assert with_probes == without
    assert _contents(probed.conninfo) == _contents(plain.conninfo)


def test_a_unix_socket_connection_is_named_localhost(probes: Any, db: Any) -> None:
    pg = db()
    cap = probes()
    socket_dir = str(pg.directory)
    _traced(lambda: psycopg.connect(host=socket_dir, port=pg.port, dbname=pg.dbname,
                                    user=pg.user).execute(
        "INSERT INTO users (id, name) VALUES (%s, %s)", (9, "Radia Perlman")))
    assert [e["asset"] for e in cap.events] == [
        f"postgres://localhost:{pg.port}/{pg.dbname}.public.users"]


def test_uninstrument_restores_the_originals(probes: Any, db: Any) -> None:
    names = ["execute", "executemany", "fetchone", "fetchmany", "fetchall"]
    steps, async_steps = ("__next__", "__iter__"), ("__anext__", "__aiter__")
    classes = {psycopg.Cursor: steps, psycopg.ServerCursor: steps,
               psycopg.AsyncCursor: async_steps, psycopg.AsyncServerCursor: async_steps}
    originals = {(cls, n): cls.__dict__[n] for cls in classes for n in names}
    for cls, candidates in classes.items():
        step = next(n for n in candidates if n in cls.__dict__)  # iteration, old or new psycopg
        originals[cls, step] = cls.__dict__[step]
    cap = probes()
    assert all(cls.__dict__[n] is not fn for (cls, n), fn in originals.items())
    lineage_probes.uninstrument()
    assert all(cls.__dict__[n] is fn for (cls, n), fn in originals.items())
    _traced(lambda: _work(db().conninfo))
    assert cap.events == []


def test_precise_enforcement_judges_writes_by_the_values_fetched(probes: Any, db: Any) -> None:
    """`match: value` over psycopg reads: tuple and dict rows keep the zone column's values,
    and only a write that carries one of them is blocked (before it runs)."""
    import json

    from lineage_probes.enforcement.feed import StaticZones
    from lineage_probes.enforcement.index import ZoneState

    pg = db()
    with psycopg.connect(pg.conninfo) as conn:
        conn.execute("CREATE TABLE ads_log (segment text)")
        conn.execute("INSERT INTO users (id, name, city) VALUES (1, 'Ada', 'Valparaiso-4711')")
    table = f"{pg.namespace}/{pg.dbname}.public"
    state = ZoneState()
    state.apply_policy(b"loc", json.dumps({"policy_id": "loc", "mode": "enforce",
                                           "match": "value",
                                           "deny": [f"{table}.ads_log"]}).encode())
    state.apply_member(f"loc|{table}.users#city".encode(), b'{"state":"root"}')
    probes(sample_rate=0.0, zones=StaticZones(state))

    def request(segment_of: Any, row_factory: Any = None) -> None:
        def run() -> None:
            with psycopg.connect(pg.conninfo) as conn:
                with conn.cursor(row_factory=row_factory) as cur:
                    cur.execute("SELECT name, city FROM users WHERE id = %s", (1,))
                    row = cur.fetchone()
                city = row["city"] if isinstance(row, dict) else row[1]
                conn.execute("INSERT INTO ads_log (segment) VALUES (%s)", (segment_of(city),))
        _untraced_request(run)

    request(lambda city: "generic")  # read the city, wrote something else: goes
    request(lambda city: "generic", dict_row)
    for row_factory in (None, dict_row):
        with pytest.raises(lineage_probes.FlowBlocked):
            request(lambda city: f"near {city.upper()}", row_factory)
    with psycopg.connect(pg.conninfo) as conn:
        assert conn.execute("SELECT segment FROM ads_log").fetchall() == [("generic",)] * 2


def _untraced_request(fn: Any) -> Any:
    """`fn` in an unsampled request's trace: enforcement sees every request."""
    token = context.begin(None, 0.0)
    try:
        return fn()
    finally:
        context.end(token)


def test_statements_are_judged_once_per_database_and_again_under_new_zones(
        probes: Any, db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The DB guard's fast path over psycopg: a statement judged quiet is not planned
    again under the same zones (keyed by its connection's database and text), the same
    text on another database is judged for that one, and new zones judge it again."""
    import json

    from lineage_probes import dbcapture
    from lineage_probes.enforcement.feed import StaticZones
    from lineage_probes.enforcement.index import ZoneState

    first, second = db(), db()
    for pg in (first, second):
        with psycopg.connect(pg.conninfo) as conn:
            conn.execute("CREATE TABLE ads_log (segment text)")

    def zones_denying(pg: PgCluster) -> ZoneState:
        state = ZoneState()
        state.apply_policy(b"loc", json.dumps({
            "policy_id": "loc", "mode": "enforce",
            "deny": [f"{pg.namespace}/{pg.dbname}.public.ads_log"]}).encode())
        state.apply_member(f"loc|{first.namespace}/{first.dbname}.public.users#city".encode(),
                           b'{"state":"root"}')
        return state

    zones = StaticZones(zones_denying(second))
    probes(sample_rate=0.0, zones=zones)
    planned: list[str] = []
    plan = dbcapture.sqlplan.plan
    monkeypatch.setattr(dbcapture.sqlplan, "plan",
                        lambda sql, dialect: planned.append(sql) or plan(sql, dialect))
    write = "INSERT INTO ads_log (segment) VALUES (%s)"

    def tainted_write(conn: Any) -> None:
        trace = context.Trace("ab" * 16, False)
        trace.taint = {"loc": "inherited"}
        token = context.CURRENT.set(trace)
        try:
            conn.execute(write, ("s",))
        finally:
            context.end(token)

    with psycopg.connect(first.conninfo, autocommit=True) as on_first, \
            psycopg.connect(second.conninfo, autocommit=True) as on_second:
        tainted_write(on_first)  # not denied on the first database: goes, judged quiet
        tainted_write(on_first)
        assert planned == [write]  # the second time: known quiet, not planned
        with pytest.raises(lineage_probes.FlowBlocked) as blocked:
            tainted_write(on_second)  # the same text, denied on the second database
        assert blocked.value.sink.endswith(f"/{second.dbname}.public.ads_log")
        zones.update(zones_denying(first))
        with pytest.raises(lineage_probes.FlowBlocked):
            tainted_write(on_first)  # new zones: judged again, now denied
        tainted_write(on_second)  # and the second database's write goes
        counts = [conn.execute("SELECT count(*) FROM ads_log").fetchone()
                  for conn in (on_first, on_second)]
    assert counts == [(2,), (1,)]
