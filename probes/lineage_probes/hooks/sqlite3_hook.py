"""DB-API: `sqlite3`.

`sqlite3.Connection` and `Cursor` are C types that cannot be patched, so
`sqlite3.connect` is replaced by one that passes a probed `factory` (a
subclass: `isinstance(conn, sqlite3.Connection)` still holds). A connection
opened with the application's own `factory` is left alone. Assets are
`sqlite://FILE/TABLE`, FILE the database's file name.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

from lineage_probes import context, dbcapture, naming, sqlplan
from lineage_probes.capture import Recorder
from lineage_probes.probe import Patches, Probe


def install(rec: Recorder, patches: Patches) -> bool:
    try:
        import sqlglot  # noqa: F401  (the statement planner; lineage-probes[sql])
    except ImportError:
        return False
    probe = Probe("sqlite3")

    guard = dbcapture.Guard(rec, probe, "sqlite")
    databases = _Databases()
    # the zones of this instrument() call (None: enforcement off), read by every statement
    zones = None if rec.enforcer is None else rec.enforcer.source

    def key_of(conn: Any, sql: Any) -> Any:
        """What names a statement in `ZoneIndex.quiet`/`writes` (see `_Databases`)."""
        return sql if databases.single else (conn._lp_database, sql)

    def unguarded(conn: Any, sql: Any, trace: context.Trace | None) -> bool:
        """Enforcement has nothing to do with `sql` on `conn` in this request: off, no
        request, a statement judged quiet under the current zones, or, while the zones
        are fresh, an untainted request's write or any statement of an untainted request
        when no table is in a zone (`dbcapture.Guard.before`)."""
        if zones is None or trace is None:
            return True
        try:
            key = sql if databases.single else (conn._lp_database, sql)  # key_of, inlined
            index = zones.index
            return key in index.quiet or (
                (key in index.writes or not index.by_table) and not trace.taint
                and zones.available())
        except (AttributeError, TypeError):  # an unhashable statement: the guard decides
            return False

    class ProbedCursor(sqlite3.Cursor):
        _lp_read: dbcapture.ReadState | None = None
        _lp_vals: Any = None  # what precise policies collect from the rows (enforcement)

        def _lp_asset(self, plan: sqlplan.Plan) -> str:
            return naming.sqlite(getattr(self.connection, "_lp_database", ""), plan.table or "")

        def _lp_run(self, sql: Any, param_sets: Any) -> None:
            trace = context.sampled_trace()
            self._lp_read = None
            if trace is None or not probe.enabled:
                return
            try:
                database = getattr(self.connection, "_lp_database", "")
                self._lp_read = dbcapture.on_execute(
                    rec, trace, sql, "sqlite", param_sets,
                    lambda plan: naming.sqlite(database, plan.table or ""),
                    lambda: self.description)
            except Exception as exc:
                probe.fail(exc)

        def _lp_rows(self, rows: Any) -> None:
            if self._lp_read is not None and probe.enabled:
                try:
                    dbcapture.on_rows(rec, self._lp_read, rows)
                except Exception as exc:
                    probe.fail(exc)

        def execute(self, sql: Any, parameters: Any = (), /) -> Any:
            if self._lp_read is None and self._lp_vals is None:
                trace = context.CURRENT.get()
                if (trace is None or not trace.sampled) and (
                        zones is None or unguarded(self.connection, sql, trace)):
                    return super().execute(sql, parameters)  # unsampled: nothing to do
            read = None if zones is None else guard.before(
                sql, self._lp_asset, (parameters,), key_of(self.connection, sql))
            result = super().execute(sql, parameters)
            if read is not None or self._lp_vals is not None:
                self._lp_vals = None if read is None else guard.after(read, self.description)
            if self._lp_read is not None or context.sampled_trace() is not None:
                self._lp_run(sql, (parameters,))
            return result

        def executemany(self, sql: Any, seq_of_parameters: Any, /) -> Any:
            guard.before(sql, self._lp_asset, seq_of_parameters)
            if context.sampled_trace() is not None and probe.enabled:
                seq_of_parameters = list(seq_of_parameters)
            result = super().executemany(sql, seq_of_parameters)
            self._lp_run(sql, seq_of_parameters)
            return result

        def _lp_fetched(self, rows: Any) -> None:
            if self._lp_vals is not None:
                guard.rows(self._lp_vals, rows)
            if self._lp_read is not None:
                self._lp_rows(rows)

        def fetchone(self) -> Any:
            row = super().fetchone()
            if row is not None:
                self._lp_fetched((row,))
            return row

        def fetchmany(self, size: int | None = None) -> list[Any]:
            rows = super().fetchmany(self.arraysize if size is None else size)
            self._lp_fetched(rows)
            return rows

        def fetchall(self) -> list[Any]:
            rows = super().fetchall()
            self._lp_fetched(rows)
            return rows

        def __next__(self) -> Any:
            row = super().__next__()
            self._lp_fetched((row,))
            return row

    class ProbedConnection(sqlite3.Connection):
        _lp_database = ""

        def cursor(self, factory: Any = None) -> Any:
            return super().cursor(ProbedCursor if factory is None else factory)

        def execute(self, sql: Any, parameters: Any = (), /) -> Any:
            trace = context.CURRENT.get()
            if (trace is None or not trace.sampled) and unguarded(self, sql, trace):
                # unsampled, nothing for enforcement to do: sqlite3's own C path (a
                # plain cursor: its rows are never captured or guarded anyway)
                return sqlite3.Connection.execute(self, sql, parameters)
            return self.cursor().execute(sql, parameters)

        def executemany(self, sql: Any, parameters: Any, /) -> Any:
            return self.cursor().executemany(sql, parameters)

    original_connect = sqlite3.connect

    def connect(database: Any, *args: Any, **kwargs: Any) -> Any:
        if not probe.enabled or len(args) >= 5 or kwargs.get("factory") is not None:
            return original_connect(database, *args, **kwargs)
        conn = original_connect(database, *args, factory=ProbedConnection, **kwargs)
        try:
            conn._lp_database = str(database)
        except Exception as exc:
            probe.fail(exc)
        databases.seen(conn._lp_database)
        return conn

    patches.patch(sqlite3, "connect", connect)
    patches.patch(sqlite3.dbapi2, "connect", connect)
    return True


class _Databases:
    """The database names this process's probed connections opened.

    While there is only one, a statement's text alone names what it reads or
    writes, so it alone keys the statement in `ZoneIndex.quiet` (the cheapest
    lookup); from a second one on, the key is (database, text). The switch is
    one-way, so a text-only key is never looked up for another database.
    """

    __slots__ = ("_lock", "first", "single")

    def __init__(self) -> None:
        self.first: str | None = None
        self.single = True
        self._lock = threading.Lock()

    def seen(self, name: str) -> None:
        with self._lock:
            if self.first is None:
                self.first = name
            elif name != self.first:
                self.single = False


__all__ = ["install", "sqlplan"]
