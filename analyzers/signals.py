"""Flow signals: one piece of evidence that data flows from `src` to `dst`.

Every signal source (probe join, SQL analysis, config parsing, static intake)
emits these to the internal `flow-signals` topic, keyed by `edge_id`; the
edge merge folds them into edges. A signal carries asset names, a kind and a
time, never a payload value.
"""

from __future__ import annotations

from collections.abc import Sequence
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
#: An OpenLineage flow known at table level only (no column lineage, no SQL).
OPENLINEAGE_KIND = "OPENLINEAGE"
ALL_KINDS = (*RUNTIME_KINDS, *SQL_KINDS, "CONFIG", "STATIC", OPENLINEAGE_KIND)

Origin = Literal["runtime", "sql", "config", "static", "openlineage"]


@dataclass(frozen=True, slots=True)
class FlowSignal:
    """One observation of a flow.

    `kind` is one of ALL_KINDS. `masking` marks SQL lineage through a hash.
    `transform` names what the matcher applied to the source value (runtime).
    `ts` is the event time of the observation (the triggering event's `ts`).
    `producer` is the OpenLineage producer URI of an `openlineage` signal.
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
    producer: str | None = None

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
        if self.producer is not None:
            body["producer"] = self.producer
        return orjson.dumps(body)

    @classmethod
    def from_json(cls, raw: bytes) -> FlowSignal:
        return parse_signal(orjson.loads(raw))


ORIGINS = ("runtime", "sql", "config", "static", "openlineage")


#: The range of a signal's integers: what the edge state stores.
_INT64 = range(-(2**63), 2**63)


def parse_signal(body: dict[str, Any]) -> FlowSignal:
    """A decoded `flow-signals` message, checked and built in one pass.

    Raises InvalidEvent naming the field. The reference of the edge merge's
    Rust decoder (`analyzers.signal_batch`), which gives the same verdicts
    and reasons; its checks are in this order.
    """
    v = body.get("v")
    if type(v) is not int or v != 1:
        raise InvalidEvent("signal: field 'v' must be 1")
    for name in ("src", "dst"):
        if not isinstance(body.get(name), str) or not body[name]:
            raise InvalidEvent(f"signal: field {name!r} must be a non-empty string")
    if body.get("kind") not in ALL_KINDS:
        raise InvalidEvent("signal: field 'kind' is not a known kind")
    if body.get("origin") not in ORIGINS:
        raise InvalidEvent("signal: field 'origin' is not a known origin")
    for name in ("ts", "count", "earliest"):
        if name == "ts" or name in body:
            value = body.get(name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise InvalidEvent(f"signal: field {name!r} must be an integer")
            if value not in _INT64:
                raise InvalidEvent(f"signal: field {name!r} is beyond 64 bits")
    producer = body.get("producer")
    if producer is not None and not isinstance(producer, str):
        raise InvalidEvent("signal: field 'producer' must be a string")
    count = body.get("count", 1)
    if count < 1:
        raise InvalidEvent("signal: field 'count' must be at least 1")
    transform = body.get("transform")
    if transform is not None and not isinstance(transform, str):
        raise InvalidEvent("signal: field 'transform' must be a string")
    masking = body.get("masking", False)
    if not isinstance(masking, bool):
        raise InvalidEvent("signal: field 'masking' must be true or false")
    return FlowSignal(
        src=body["src"], dst=body["dst"], kind=body["kind"], origin=body["origin"],
        ts=body["ts"], transform=transform, masking=masking,
        count=count, earliest=body.get("earliest"), producer=producer,
    )


#: What makes observations identical: everything but their times and count.
SignalKey = tuple[str, str, str, str, str | None, bool, str | None]


def signal_key(sig: FlowSignal) -> SignalKey:
    """The signals with equal keys are the same observation, made at other times."""
    return (sig.src, sig.dst, sig.kind, sig.origin, sig.transform, sig.masking, sig.producer)


def fold(signals: Sequence[FlowSignal]) -> FlowSignal:
    """One signal with the evidence of `signals` (all of one `signal_key`): their
    counts summed, the latest `ts`, the earliest `first_ts`. One signal is itself."""
    first = signals[0]
    if len(signals) == 1:
        return first
    return FlowSignal(
        src=first.src, dst=first.dst, kind=first.kind, origin=first.origin,
        ts=max(sig.ts for sig in signals), transform=first.transform, masking=first.masking,
        count=sum(sig.count for sig in signals),
        earliest=min(sig.first_ts for sig in signals), producer=first.producer,
    )


def aggregate(signals: list[FlowSignal]) -> list[FlowSignal]:
    """Fold identical observations of one batch into one signal each, with a count.

    Evidence is the same as sending them one by one; the edge merge then
    handles one message per (edge, kind, transform, masking) per batch.
    """
    groups: dict[SignalKey, list[FlowSignal]] = {}
    for sig in signals:
        groups.setdefault(signal_key(sig), []).append(sig)
    return [fold(group) for group in groups.values()]
