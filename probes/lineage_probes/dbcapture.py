"""DB-API captures shared by the sqlite3 and psycopg hooks.

A write (INSERT, UPDATE, UPSERT) is a sink whose payload maps each column to
the parameter written to it; each row a SELECT returns is a source whose
payload maps the result's column names to its values (at most `max_rows`
rows per statement). Statements are planned by `sqlplan` (cached per text).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from lineage_probes import context, sqlplan
from lineage_probes.capture import Recorder

AssetOf = Callable[[sqlplan.Plan], str]


class ReadState:
    """What a cursor's last SELECT needs to turn fetched rows into captures."""

    __slots__ = ("asset", "left", "names", "trace")

    def __init__(self, trace: context.Trace, asset: str, names: list[str], left: int) -> None:
        self.trace, self.asset, self.names, self.left = trace, asset, names, left


def on_execute(rec: Recorder, trace: context.Trace, sql: Any, dialect: str,
               param_sets: Iterable[Any], asset_of: AssetOf,
               description: Callable[[], Sequence[Any] | None]) -> ReadState | None:
    """Capture a write's parameters; for a read, the state to capture its rows later."""
    if not isinstance(sql, str):
        return None
    plan = sqlplan.plan(sql, dialect)
    if plan.kind == "write" and plan.columns:
        asset = asset_of(plan)
        for n, params in enumerate(param_sets):
            if n >= rec.cfg.max_rows:
                break
            rec.sink(trace, asset, plan.bind(params), kind="db")
    elif plan.kind == "read":
        names = [str(d[0]).lower() for d in description() or ()]
        if names:
            return ReadState(trace, asset_of(plan), names, rec.cfg.max_rows)
    return None


def on_rows(rec: Recorder, state: ReadState | None, rows: Iterable[Any]) -> None:
    if state is None:
        return
    for row in rows:
        if state.left <= 0:
            return
        state.left -= 1
        if isinstance(row, dict):
            payload = row
        elif isinstance(row, Sequence) and not isinstance(row, str | bytes):
            payload = dict(zip(state.names, row, strict=False))
        else:
            try:
                payload = dict(zip(state.names, tuple(row), strict=False))
            except TypeError:
                continue
        rec.source(state.trace, state.asset, payload)
