"""DB-API: `sqlite3`.

`sqlite3.Connection` and `Cursor` are C types that cannot be patched, so
`sqlite3.connect` is replaced by one that passes a probed `factory` (a
subclass: `isinstance(conn, sqlite3.Connection)` still holds). A connection
opened with the application's own `factory` is left alone. Assets are
`sqlite://FILE/TABLE`, FILE the database's file name.
"""

from __future__ import annotations

import sqlite3
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
            if rec.enforcer is None and self._lp_read is None:
                trace = context.CURRENT.get()
                if trace is None or not trace.sampled:  # the unsampled path: nothing to do
                    return super().execute(sql, parameters)
            read = None if rec.enforcer is None else guard.before(sql, self._lp_asset,
                                                                  (parameters,))
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
            if rec.enforcer is None:
                trace = context.CURRENT.get()
                if trace is None or not trace.sampled:
                    # unsampled, no enforcement: sqlite3's own C path (a plain
                    # cursor: its rows are never captured or guarded anyway)
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
        return conn

    patches.patch(sqlite3, "connect", connect)
    patches.patch(sqlite3.dbapi2, "connect", connect)
    return True


__all__ = ["install", "sqlplan"]
