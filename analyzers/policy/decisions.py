"""The probes' enforcement decisions (`enforcement-events`) summed up per policy, sink and decision.

What `lineage violations --enforcement` prints and the console shows live:
how often each policy logged or blocked a write to each sink, where
(services, code locations), from which zone assets, first and last time.
Names and counts only: a row is built from the fields below, never from
the rest of an event.

`DecisionTally` keeps the sums as events arrive (the console's live feed),
optionally bounded: at most `max_rows` rows (the one updated longest ago
goes first) and `max_names` names per list. `summarize_decisions` sums a
finite set of events, unbounded.

>>> e = {"policy_id": "p", "decision": "blocked", "sink": "http://ads/x", "mode": "enforce",
...      "service": "web", "source": "db://u#city", "code_location": "app.py:3",
...      "trace_id": "t1", "ts": 5, "sink_kind": "http"}
>>> [(s["count"], s["services"]) for s in summarize_decisions([e, {**e, "ts": 9}])]
[(2, ['web'])]
>>> tally = DecisionTally(max_rows=1)
>>> key = tally.add(e)
>>> tally.add({**e, "sink": "http://ads/y"}) != key, len(tally), tally.evicted
(True, 1, 1)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["DecisionTally", "decision_key", "summarize_decisions"]

DecisionKey = tuple[str, str, str]
#: The lists of names a row keeps, and the event field each one collects.
NAME_FIELDS = (("service", "services"), ("source", "sources"),
               ("code_location", "code_locations"))


def decision_key(event: Mapping[str, Any]) -> DecisionKey:
    """(policy_id, sink, decision): the row an event (or a row) belongs to."""
    return str(event.get("policy_id")), str(event.get("sink")), str(event.get("decision"))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class DecisionTally:
    """Rows per (policy, sink, decision), updated one event at a time."""

    def __init__(self, *, max_rows: int | None = None, max_names: int | None = None) -> None:
        self.max_rows = max_rows
        self.max_names = max_names
        self.evicted = 0  # rows dropped to stay within max_rows
        # Insertion order is update order: a row moves to the end when it changes,
        # so the first one is the one updated longest ago.
        self._rows: dict[DecisionKey, dict[str, Any]] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, event: Mapping[str, Any]) -> DecisionKey:
        """Count `event` in its row; the row's key."""
        key = decision_key(event)
        ts = event.get("ts") if isinstance(event.get("ts"), int) else 0
        row = self._rows.pop(key, None)
        if row is None:
            row = {"policy_id": key[0], "sink": key[1], "decision": key[2],
                   "sink_kind": _text(event.get("sink_kind")), "mode": _text(event.get("mode")),
                   "count": 0, "first_ts": ts, "last_ts": ts,
                   "last_trace_id": _text(event.get("trace_id")),
                   **{plural: set() for _, plural in NAME_FIELDS}}
        self._rows[key] = row
        row["count"] += 1
        if ts >= row["last_ts"]:
            row["last_ts"], row["last_trace_id"] = ts, _text(event.get("trace_id"))
            row["mode"] = _text(event.get("mode"))
        row["first_ts"] = min(row["first_ts"], ts)
        for name, plural in NAME_FIELDS:
            names: set[str] = row[plural]
            if event.get(name) and (self.max_names is None or len(names) < self.max_names):
                names.add(str(event[name]))
        if self.max_rows is not None:
            while len(self._rows) > self.max_rows:
                del self._rows[next(iter(self._rows))]
                self.evicted += 1
        return key

    def row(self, key: DecisionKey) -> dict[str, Any] | None:
        """A JSON-ready copy of one row (lists sorted); None if it is not (or no longer) kept."""
        row = self._rows.get(key)
        return None if row is None else _json(row)

    def rows(self) -> list[dict[str, Any]]:
        """Every row, most recent first."""
        out = [_json(row) for row in self._rows.values()]
        out.sort(key=lambda r: (-r["last_ts"], r["policy_id"], r["sink"], r["decision"]))
        return out


def _json(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, **{plural: sorted(row[plural]) for _, plural in NAME_FIELDS}}


def summarize_decisions(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per (policy, sink, decision), most recent first."""
    tally = DecisionTally()
    for event in events:
        tally.add(event)
    return tally.rows()
