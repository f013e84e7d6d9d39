"""DB-API captures shared by the sqlite3 and psycopg hooks.

A write (INSERT, UPDATE, UPSERT) is a sink whose payload maps each column to
the parameter written to it; each row a SELECT returns is a source whose
payload maps the result's column names to its values (at most `max_rows`
rows per statement). Statements are planned by `sqlplan` (cached per text).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from lineage_probes import context, sqlplan
from lineage_probes.capture import Recorder
from lineage_probes.enforcement.enforcer import UNKNOWN, Deferred, ValuePlan
from lineage_probes.enforcement.index import ZoneIndex
from lineage_probes.probe import Probe

AssetOf = Callable[[sqlplan.Plan], str]


class ReadState:
    """What a cursor's last SELECT needs to turn fetched rows into captures."""

    __slots__ = ("asset", "left", "names", "trace")

    def __init__(self, trace: context.Trace, asset: str, names: list[str], left: int) -> None:
        self.trace, self.asset, self.names, self.left = trace, asset, names, left


class Guard:
    """Enforcement at a DB-API cursor, for every request: check a write before it runs,
    taint the request with the columns a read returns (after it ran, from its description)."""

    __slots__ = ("adapt", "collects_rows", "dialect", "probe", "rec")

    def __init__(self, rec: Recorder, probe: Probe, dialect: str, *,
                 collects_rows: bool = True, adapt: Callable[[Any], Any] | None = None) -> None:
        """`collects_rows`: the hook hands fetched rows to `rows` (precise policies read
        values from them); without it a precise policy taints the request as a whole.
        `adapt`: one parameter set as the driver's wrappers unwrapped (what is written)."""
        self.rec, self.probe, self.dialect = rec, probe, dialect
        self.collects_rows, self.adapt = collects_rows, adapt

    def before(self, sql: Any, asset_of: AssetOf, param_sets: Any = UNKNOWN,
               key: object = None) -> tuple[context.Trace, str] | None:
        """Raises `FlowBlocked` for a forbidden write; for a read, what `after` needs.

        `param_sets` (a list or tuple of parameter sets) is what a write writes.
        `key` (hashable: names the database and `sql`): once the zones were
        read, the statement's verdict under the current index is kept under it
        (`ZoneIndex.judged`): a `quiet` one returns at once (a hook may skip
        the call for it), and an untainted request's write to a denied sink
        returns without a plan.
        """
        enforcer = self.rec.enforcer
        if enforcer is None or not isinstance(sql, str):
            return None
        trace = context.CURRENT.get()
        if trace is None or not self.probe.enabled:
            return None
        source = enforcer.source
        index = source.index
        if key is not None and key in index.quiet:
            return None  # nothing to do for it under these zones, whatever the request
        if not trace.taint and (not index.by_table or key in index.writes) \
                and source.available():
            return None  # nothing to taint with, or an untainted write: no statement plan
        try:
            plan = sqlplan.plan(sql, self.dialect)
            if key is not None and key not in index.loud and source.ready.is_set():
                asset = asset_of(plan) if plan.kind != "other" else None
                index.judged(key, _verdict(index, plan.kind, asset))
            elif plan.kind == "write" and not trace.taint and source.available():
                return None  # an untainted write is never checked (Enforcer.check_sink)
            else:
                asset = asset_of(plan) if plan.kind != "other" else None
        except Exception as exc:
            self.probe.fail(exc)
            return None
        if asset is None:
            return None
        if plan.kind == "write":
            if not trace.taint and source.available():
                return None  # an untainted write is never checked (Enforcer.check_sink)
            payload: Any = UNKNOWN
            if trace.values and isinstance(param_sets, list | tuple):  # a precise policy
                payload = Deferred(lambda: self._bound(plan, param_sets))
            self.rec.guard(trace, asset, "db", payload=payload)
            return None
        return trace, asset

    def _bound(self, plan: sqlplan.Plan, param_sets: Any) -> Any:
        """The columns a write sets, per parameter set (precise policies judge by them)."""
        try:
            adapt = self.adapt
            return [plan.bind(p if adapt is None else adapt(p)) for p in param_sets]
        except Exception as exc:
            self.probe.fail(exc)
            return UNKNOWN

    def after(self, read: tuple[context.Trace, str], description: Any
              ) -> tuple[context.Trace, ValuePlan] | None:
        """Taint with the columns the read returns; the rows precise policies need, if any."""
        try:
            names = [str(d[0]).lower() for d in description or ()]
        except Exception as exc:
            self.probe.fail(exc)
            return None
        plan = self.rec.read(read[0], read[1], names, rows_follow=self.collects_rows)
        return None if plan is None else (read[0], plan)

    def rows(self, values: tuple[context.Trace, ValuePlan], rows: Any) -> None:
        try:
            # a dict row (psycopg's `dict_row`) holds its columns in the statement's order
            fetched = [tuple(r.values()) if isinstance(r, Mapping) else tuple(r) for r in rows]
        except Exception as exc:
            self.probe.fail(exc)
            return
        self.rec.rows(values[0], values[1], fetched)


def _verdict(index: ZoneIndex, kind: str, asset: str | None) -> str:
    """`quiet` when the guard of a statement would do nothing under `index` whatever the
    request's taint and whether the zones are still fresh: not a read of a zone table,
    not a write to a sink a policy denies (such a sink is never blocked, even
    fail-closed, once the zones were read); else `write` (to a denied sink) or `loud`."""
    if asset is None:
        return "quiet"  # not a statement the guard looks at
    if kind == "read":
        return "quiet" if asset not in index.by_table else "loud"
    return "quiet" if not index.denying(asset) else "write"


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
