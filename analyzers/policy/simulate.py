"""Dry run of enforcement: which recorded writes a policy in `enforce` mode would have blocked.

Replays recorded probe captures (`probe-events`) against a policy's current
zone with the probes' request-level rule: a trace that read a zone asset
(the source's asset, or one of its top-level fields) is tainted from that
capture on; each later sink capture it made to an asset the policy denies is
a write enforcement would have blocked (its kind in `enforce_on`) or only
logged. Captures are sampled, so every count comes with an estimate
(`estimated`: each trace weighted by 1 / its `sample_rate`).

>>> from analyzers.policy.model import Policy
>>> p = Policy.create("p", ["L"], ["http://ads/**"])
>>> caps = [{"trace_id": "t", "role": "source", "asset": "db://a/users", "ts": 1,
...          "payload": {"city": "x"}, "service": "web", "sample_rate": 0.5},
...         {"trace_id": "t", "role": "sink", "asset": "http://ads/t", "ts": 2,
...          "payload": {}, "service": "web", "code_location": "app.py:9", "sample_rate": 0.5}]
>>> out = simulate_enforcement(p, {"db://a/users#city"}, caps)
>>> [(r["sink"], r["traces"], r["estimated"]) for r in out["would_block"]]
[('http://ads/t', 1, 2.0)]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from analyzers.policy.model import Policy

__all__ = ["evidence", "simulate_enforcement", "sink_kind"]

#: What the dry run reads of a capture (its payload: only the field names)
_KEPT = ("trace_id", "role", "asset", "ts", "service", "code_location", "sample_rate")

_KINDS = {"sqlite": "db", "postgres": "db", "mysql": "db", "http": "http", "https": "http",
          "kafka": "kafka", "redis": "cache", "log": "log"}


def sink_kind(asset: str) -> str:
    """The sink kind of an asset the probes name (`web` responses: `response`).

    >>> sink_kind("sqlite://app.db/users"), sink_kind("web://svc/users#response")
    ('db', 'response')
    """
    return _KINDS.get(asset.partition("://")[0], "response")


def evidence(value: bytes | None, since_ms: int | None = None) -> dict[str, Any] | None:
    """One `probe-events` record as the dry run replays it, or None.

    None for anything but a probe capture, and for a capture whose `ts` is
    before `since_ms`. The payload's values are dropped: only its top-level
    field names are kept (all the taint rule looks at), so replaying an
    archive holds no captured value in memory.

    >>> evidence(b'{"type":"probe","trace_id":"t","ts":5,"role":"source","asset":"a",'
    ...          b'"payload":{"city":"x"}}')
    {'trace_id': 't', 'role': 'source', 'asset': 'a', 'ts': 5, 'payload': {'city': None}}
    >>> evidence(b'{"type":"probe","trace_id":"t","ts":5}', since_ms=6), evidence(b'{')
    (None, None)
    """
    if value is None:
        return None
    try:
        event = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(event, dict) or event.get("type") != "probe":
        return None
    ts = event.get("ts")
    if since_ms is not None and not (isinstance(ts, int) and ts >= since_ms):
        return None
    out = {k: event[k] for k in _KEPT if k in event}
    payload = event.get("payload")
    out["payload"] = dict.fromkeys(payload) if isinstance(payload, dict) else None
    return out


def _tainting(asset: str, payload: Any, zone: set[str]) -> str | None:
    if asset in zone:
        return asset
    if isinstance(payload, Mapping):
        for key in payload:
            field = f"{asset}#{key}"
            if field in zone:
                return field
    return None


def simulate_enforcement(policy: Policy, zone: set[str],
                         captures: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Per (service, sink, code location): traces that would have been blocked or logged."""
    traces: dict[str, list[Mapping[str, Any]]] = {}
    for capture in captures:
        traces.setdefault(str(capture.get("trace_id")), []).append(capture)
    rows: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    tainted_traces = 0
    blocking = set(policy.enforcement.enforce_on)
    for trace in traces.values():
        # a total order, so the report does not depend on the order the captures came in
        trace.sort(key=lambda c: (c.get("ts") or 0, c.get("role") != "source",
                                  str(c.get("asset")), str(c.get("code_location"))))
        source: str | None = None
        seen: set[tuple[str, str, str, str]] = set()
        for capture in trace:
            asset = str(capture.get("asset", ""))
            if capture.get("role") == "source":
                source = source or _tainting(asset, capture.get("payload"), zone)
                continue
            if source is None or not policy.deny.matches(asset):
                continue
            kind = sink_kind(asset)
            key = (str(capture.get("service")), asset, str(capture.get("code_location")), kind)
            if key in seen:
                continue
            seen.add(key)
            rate = capture.get("sample_rate")
            weight = 1.0 / rate if isinstance(rate, int | float) and rate > 0 else 1.0
            row = rows.setdefault(key, {
                "service": key[0], "sink": asset, "code_location": key[2], "kind": kind,
                "decision": "blocked" if kind in blocking else "logged",
                "sources": set(), "traces": 0, "estimated": 0.0})
            row["traces"] += 1
            row["estimated"] += weight
            row["sources"].add(source)
        tainted_traces += source is not None
    out = sorted(rows.values(), key=lambda r: (-r["traces"], r["service"], r["sink"],
                                               r["code_location"], r["kind"]))
    for row in out:
        row["sources"] = sorted(row["sources"])
        row["estimated"] = round(row["estimated"], 1)
    return {"policy_id": policy.policy_id, "mode": policy.enforcement.mode,
            "enforce_on": sorted(blocking), "traces": len(traces),
            "tainted_traces": tainted_traces,
            "would_block": [r for r in out if r["decision"] == "blocked"],
            "would_log": [r for r in out if r["decision"] == "logged"]}
