"""The probes' enforcement decisions (`enforcement-events`) summed up per policy, sink and decision.

What `lineage violations --enforcement` prints: how often each policy logged
or blocked a write to each sink, where (services, code locations), from
which zone assets, first and last time. Names and counts only.

>>> e = {"policy_id": "p", "decision": "blocked", "sink": "http://ads/x", "mode": "enforce",
...      "service": "web", "source": "db://u#city", "code_location": "app.py:3",
...      "trace_id": "t1", "ts": 5, "sink_kind": "http"}
>>> [(s["count"], s["services"]) for s in summarize_decisions([e, {**e, "ts": 9}])]
[(2, ['web'])]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["summarize_decisions"]


def summarize_decisions(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per (policy, sink, decision), most recent first."""
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    for event in events:
        key = (str(event.get("policy_id")), str(event.get("sink")), str(event.get("decision")))
        ts = event.get("ts") if isinstance(event.get("ts"), int) else 0
        row = rows.get(key)
        if row is None:
            row = rows[key] = {
                "policy_id": key[0], "sink": key[1], "decision": key[2],
                "sink_kind": event.get("sink_kind"), "mode": event.get("mode"), "count": 0,
                "first_ts": ts, "last_ts": ts, "last_trace_id": event.get("trace_id"),
                "services": set(), "sources": set(), "code_locations": set()}
        row["count"] += 1
        if ts >= row["last_ts"]:
            row["last_ts"], row["last_trace_id"] = ts, event.get("trace_id")
            row["mode"] = event.get("mode")
        row["first_ts"] = min(row["first_ts"], ts)
        for field, plural in (("service", "services"), ("source", "sources"),
                              ("code_location", "code_locations")):
            if event.get(field):
                row[plural].add(str(event[field]))
    out = []
    for row in rows.values():
        for plural in ("services", "sources", "code_locations"):
            row[plural] = sorted(row[plural])
        out.append(row)
    out.sort(key=lambda r: (-r["last_ts"], r["policy_id"], r["sink"], r["decision"]))
    return out
