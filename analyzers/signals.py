"""Flow signals: one piece of evidence that data flows from `src` to `dst`.

Every signal source (probe join, SQL analysis, config parsing, static intake)
emits these to the internal `flow-signals` topic, keyed by `edge_id`; the
edge merge folds them into edges. A signal carries asset names, a kind and a
time, never a payload value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import orjson

from analyzers.events import InvalidEvent
from vocab import edge_id

#: Runtime kinds (payload matching).
RUNTIME_KINDS = ("EXACT_MATCH", "CONTAINS", "NO_MATCH")
#: SQL column-lineage subtypes (OpenLineage), plus TABLE for table-level sql_io joins.
SQL_DIRECT = ("IDENTITY", "TRANSFORMATION", "AGGREGATION")
SQL_INDIRECT = ("JOIN", "FILTER", "GROUP_BY", "SORT", "WINDOW", "CONDITIONAL")
SQL_KINDS = (*SQL_DIRECT, *SQL_INDIRECT, "MASKED")
ALL_KINDS = (*RUNTIME_KINDS, *SQL_KINDS, "CONFIG", "STATIC")

Origin = Literal["runtime", "sql", "config", "static"]


@dataclass(frozen=True, slots=True)
class FlowSignal:
    """One observation of a flow.

    `kind` is one of ALL_KINDS. `masking` marks SQL lineage through a hash.
    `transform` names what the matcher applied to the source value (runtime).
    `ts` is the event time of the observation (the triggering event's `ts`).
    A signal may stand for `count` identical observations (folded within one
    batch by `aggregate`); `earliest` is then the first one's time.
    """

    src: str
    dst: str
    kind: str
    origin: Origin
    ts: int
    transform: str | None = None
    masking: bool = False
    count: int = 1
    earliest: int | None = None

    @property
    def edge_id(self) -> str:
        return edge_id(self.src, self.dst)

    @property
    def first_ts(self) -> int:
        return self.ts if self.earliest is None else self.earliest

    def to_json(self) -> bytes:
        body: dict[str, Any] = {
            "v": 1, "src": self.src, "dst": self.dst, "kind": self.kind,
            "origin": self.origin, "ts": self.ts,
        }
        if self.transform is not None:
            body["transform"] = self.transform
        if self.masking:
            body["masking"] = True
        if self.count != 1:
            body["count"] = self.count
        if self.earliest is not None and self.earliest != self.ts:
            body["earliest"] = self.earliest
        return orjson.dumps(body)

    @classmethod
    def from_json(cls, raw: bytes) -> FlowSignal:
        return parse_signal(orjson.loads(raw))


_ORIGINS = ("runtime", "sql", "config", "static")


def parse_signal(body: dict[str, Any]) -> FlowSignal:
    """A decoded `flow-signals` message, checked and built in one pass.

    Raises InvalidEvent naming the field. The edge merge's validator: the
    signal it returns is what the handler folds (no second parse).
    """
    if body.get("v") != 1:
        raise InvalidEvent("signal: field 'v' must be 1")
    for name in ("src", "dst"):
        if not isinstance(body.get(name), str) or not body[name]:
            raise InvalidEvent(f"signal: field {name!r} must be a non-empty string")
    if body.get("kind") not in ALL_KINDS:
        raise InvalidEvent("signal: field 'kind' is not a known kind")
    if body.get("origin") not in _ORIGINS:
        raise InvalidEvent("signal: field 'origin' is not a known origin")
    for name in ("ts", "count", "earliest"):
        if name == "ts" or name in body:
            value = body.get(name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise InvalidEvent(f"signal: field {name!r} must be an integer")
    count = body.get("count", 1)
    if count < 1:
        raise InvalidEvent("signal: field 'count' must be at least 1")
    return FlowSignal(
        src=body["src"], dst=body["dst"], kind=body["kind"], origin=body["origin"],
        ts=body["ts"], transform=body.get("transform"), masking=body.get("masking", False),
        count=count, earliest=body.get("earliest"),
    )


def aggregate(signals: list[FlowSignal]) -> list[FlowSignal]:
    """Fold identical observations of one batch into one signal each, with a count.

    Evidence is the same as sending them one by one; the edge merge then
    handles one message per (edge, kind, transform, masking) per batch.
    """
    folded: dict[tuple[str, str, str, str, str | None, bool], FlowSignal] = {}
    for sig in signals:
        key = (sig.src, sig.dst, sig.kind, sig.origin, sig.transform, sig.masking)
        seen = folded.get(key)
        if seen is None:
            folded[key] = sig
        else:
            folded[key] = FlowSignal(
                src=sig.src, dst=sig.dst, kind=sig.kind, origin=sig.origin,
                ts=max(seen.ts, sig.ts), transform=sig.transform, masking=sig.masking,
                count=seen.count + sig.count, earliest=min(seen.first_ts, sig.first_ts),
            )
    return list(folded.values())
