"""DB-API: `psycopg` (3), sync and async cursors.

Patches `Cursor`/`AsyncCursor` and the server-side `ServerCursor`/
`AsyncServerCursor`: `execute`, `executemany`, the fetch methods and
iteration (`for row in cur`, `async for`). Statements given as text are
planned (`%s` and `%(name)s` placeholders map to columns); composed
`psycopg.sql` objects are not captured. A `Json`/`Jsonb` parameter is
captured as the object it wraps. Assets are
`postgres://HOST:PORT/DB.SCHEMA.TABLE` (schema `public` unless the statement
names one; HOST `localhost` for a unix-socket connection, whose host is a
directory).
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from lineage_probes import context, dbcapture, naming, sqlplan
from lineage_probes.capture import Recorder
from lineage_probes.probe import Patches, Probe

# psycopg cursors have __slots__: the read state of each lives beside it
_READS: weakref.WeakKeyDictionary[Any, dbcapture.ReadState] = weakref.WeakKeyDictionary()
# enforcement, precise policies: what to keep of the rows a cursor's read fetches
_VALUES: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _database(conn: Any) -> tuple[str, int, str]:
    """(host, port, database) of a connection, read from libpq once and kept on it."""
    found: tuple[str, int, str] | None = getattr(conn, "_lp_database", None)
    if found is None:
        info = conn.info
        host = info.host
        if not host or host[0] in "/@":  # a unix socket: its directory (or abstract name)
            host = "localhost"
        found = (host, info.port or 5432, info.dbname or "")
        with contextlib.suppress(AttributeError):  # a class with slots: read each time
            conn._lp_database = found
    return found


def _asset_of(cursor: Any) -> Any:
    def asset(plan: sqlplan.Plan) -> str:
        host, port, dbname = _database(cursor.connection)
        return naming.postgres(host, port, dbname, plan.schema or "public", plan.table or "")
    return asset


def _key(cursor: Any, query: Any) -> object:
    """What names a statement in `ZoneIndex.quiet`/`writes`: its database and text (a
    composed `psycopg.sql` statement is never judged: no key)."""
    return (_database(cursor.connection), query) if isinstance(query, str) else None


def _unwrapper(json_types: tuple[type[Any], ...]) -> Any:
    """Parameters with `Json(obj)`/`Jsonb(obj)` replaced by `obj` (what is written)."""
    def unwrap(params: Any) -> Any:
        if isinstance(params, Mapping) and any(isinstance(v, json_types)
                                               for v in params.values()):
            return {k: v.obj if isinstance(v, json_types) else v for k, v in params.items()}
        if isinstance(params, Sequence) and not isinstance(params, str | bytes) \
                and any(isinstance(v, json_types) for v in params):
            return [v.obj if isinstance(v, json_types) else v for v in params]
        return params
    return unwrap


def install(rec: Recorder, patches: Patches) -> bool:
    try:
        import psycopg
        import sqlglot  # noqa: F401  (the statement planner; lineage-probes[sql])
        from psycopg.types.json import Json, Jsonb
    except ImportError:
        return False
    probe = Probe("psycopg")
    unwrap = _unwrapper((Json, Jsonb))

    def run(cursor: Any, query: Any, param_sets: Any) -> None:
        _READS.pop(cursor, None)
        trace = context.sampled_trace()
        if trace is None or not probe.enabled:
            return
        try:
            state = dbcapture.on_execute(
                rec, trace, query, "postgres", map(unwrap, param_sets), _asset_of(cursor),
                lambda: cursor.description)
            if state is not None:
                _READS[cursor] = state
        except Exception as exc:
            probe.fail(exc)

    def rows(cursor: Any, fetched: Any) -> None:
        values = _VALUES.get(cursor)
        if values is not None:
            guard.rows(values, fetched)
        state = _READS.get(cursor)
        if state is not None and probe.enabled:
            try:
                dbcapture.on_rows(rec, state, fetched)
            except Exception as exc:
                probe.fail(exc)

    guard = dbcapture.Guard(rec, probe, "postgres", adapt=unwrap)
    # server-side (named) cursors execute and fetch with methods of their own
    for cls, is_async in ((psycopg.Cursor, False), (psycopg.AsyncCursor, True),
                          (psycopg.ServerCursor, False), (psycopg.AsyncServerCursor, True)):
        _patch_cursor(cls, is_async, patches, run, rows, probe, guard)
    return True


def _after_read(cursor: Any, read: Any, guard: dbcapture.Guard) -> None:
    """After an execute: taint with what a read returned; keep what precise policies need."""
    values = None if read is None else guard.after(read, cursor.description)
    if values is not None:
        _VALUES[cursor] = values
    elif _VALUES:
        _VALUES.pop(cursor, None)


def _patch_cursor(cls: Any, is_async: bool, patches: Patches, run: Any, rows: Any,
                  probe: Probe, guard: dbcapture.Guard) -> None:
    execute, executemany = cls.execute, cls.executemany
    fetchone, fetchmany, fetchall = cls.fetchone, cls.fetchmany, cls.fetchall
    # iteration: recent psycopg defines `__next__`/`__anext__`, older ones a generator
    # `__iter__`/`__aiter__` that reads rows without the fetch methods
    step_name = "__anext__" if is_async else "__next__"
    stepwise = step_name in vars(cls)
    if not stepwise:
        step_name = "__aiter__" if is_async else "__iter__"
    step = getattr(cls, step_name)

    def before(cursor: Any, query: Any, params: Any) -> Any:
        """`guard.before` for one statement, keyed so a quiet one is judged once."""
        if guard.rec.enforcer is None:
            return None
        return guard.before(query, _asset_of(cursor), (params,), _key(cursor, query))

    def listed(params_seq: Any) -> Any:
        return list(params_seq) if context.sampled_trace() is not None and probe.enabled \
            else params_seq

    if is_async:
        async def a_execute(self: Any, query: Any, params: Any = None, **kw: Any) -> Any:
            read = before(self, query, params)
            result = await execute(self, query, params, **kw)
            _after_read(self, read, guard)
            run(self, query, (params,))
            return result

        async def a_executemany(self: Any, query: Any, params_seq: Any, **kw: Any) -> Any:
            guard.before(query, _asset_of(self), params_seq)
            params_seq = listed(params_seq)
            result = await executemany(self, query, params_seq, **kw)
            _after_read(self, None, guard)
            run(self, query, params_seq)
            return result

        async def a_fetchone(self: Any) -> Any:
            row = await fetchone(self)
            if row is not None:
                rows(self, (row,))
            return row

        async def a_fetchmany(self: Any, size: int = 0) -> Any:
            got = await fetchmany(self, size)
            rows(self, got)
            return got

        async def a_fetchall(self: Any) -> Any:
            got = await fetchall(self)
            rows(self, got)
            return got

        async def a_anext(self: Any) -> Any:
            row = await step(self)
            rows(self, (row,))
            return row

        async def a_aiter(self: Any) -> Any:  # older psycopg: an async generator
            async for row in step(self):
                rows(self, (row,))
                yield row

        replacements = {"execute": a_execute, "executemany": a_executemany,
                        "fetchone": a_fetchone, "fetchmany": a_fetchmany,
                        "fetchall": a_fetchall, step_name: a_anext if stepwise else a_aiter}
    else:
        def s_execute(self: Any, query: Any, params: Any = None, **kw: Any) -> Any:
            read = before(self, query, params)
            result = execute(self, query, params, **kw)
            _after_read(self, read, guard)
            run(self, query, (params,))
            return result

        def s_executemany(self: Any, query: Any, params_seq: Any, **kw: Any) -> Any:
            guard.before(query, _asset_of(self), params_seq)
            params_seq = listed(params_seq)
            result = executemany(self, query, params_seq, **kw)
            _after_read(self, None, guard)
            run(self, query, params_seq)
            return result

        def s_fetchone(self: Any) -> Any:
            row = fetchone(self)
            if row is not None:
                rows(self, (row,))
            return row

        def s_fetchmany(self: Any, size: int = 0) -> Any:
            got = fetchmany(self, size)
            rows(self, got)
            return got

        def s_fetchall(self: Any) -> Any:
            got = fetchall(self)
            rows(self, got)
            return got

        def s_next(self: Any) -> Any:
            row = step(self)
            rows(self, (row,))
            return row

        def s_iter(self: Any) -> Any:  # older psycopg: a generator
            for row in step(self):
                rows(self, (row,))
                yield row

        replacements = {"execute": s_execute, "executemany": s_executemany,
                        "fetchone": s_fetchone, "fetchmany": s_fetchmany,
                        "fetchall": s_fetchall, step_name: s_next if stepwise else s_iter}
    for name, fn in replacements.items():
        patches.patch(cls, name, fn)
