"""The policy monitor's values: edges as it sees them, policies, reviews, violations.

`GraphView` is the only thing the zone logic needs from a graph: the edges
leaving an asset, and the edges leaving any field of a table. The in-memory
`MemoryGraph` (analyzers/policy/graph.py) implements it for tests; the graph
store (state/graph/) implements it for the running monitor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from analyzers.policy.globs import DenySet
from vocab import CONFIDENCE_RANK, HIGH, LOW

__all__ = [
    "EXCLUDE",
    "INCLUDE",
    "Decision",
    "Edge",
    "EdgeView",
    "Enforcement",
    "GraphView",
    "Policy",
    "PolicyError",
    "ViolationState",
    "state_of_event",
    "violation_event",
    "violation_key",
]

#: A policy without `min_confidence` follows every edge, candidates included.
DEFAULT_MIN_CONFIDENCE = LOW
#: The sink kinds an `enforce` policy blocks when it names none: all but `log`.
DEFAULT_ENFORCE_ON = ("db", "http", "kafka", "cache")

INCLUDE: Literal["include"] = "include"
EXCLUDE: Literal["exclude"] = "exclude"
Decision = Literal["include", "exclude"]


class PolicyError(ValueError):
    """A policy, review or label that cannot be used; the message names fields only."""


class EdgeView(Protocol):
    """What the zone logic reads of an edge (the graph store's edge satisfies it)."""

    @property
    def src(self) -> str: ...
    @property
    def dst(self) -> str: ...
    @property
    def confidence(self) -> str: ...


class GraphView(Protocol):
    """Read access to the current lineage graph."""

    def out_edges(self, node: str) -> Iterable[EdgeView]:
        """Live edges whose `src` is exactly `node`."""
        ...

    def field_out_edges(self, table: str) -> Iterable[EdgeView]:
        """Live edges whose `src` is a field of `table` (`src` starts with `table#`)."""
        ...


@dataclass(frozen=True, slots=True)
class Edge:
    """A plain edge, for `MemoryGraph` and tests."""

    src: str
    dst: str
    confidence: str = HIGH
    kinds: tuple[str, ...] = ()
    version: int = 0


@dataclass(frozen=True, slots=True)
class Enforcement:
    """How the probes act on a policy (docs/ENFORCEMENT.md); the zone does not depend on it.

    `mode` `log` records would-be violations, `enforce` blocks them; `enforce_on`
    lists the sink kinds blocked; `fail_mode` says what to do when the zone
    cannot be read; `match` `request` taints the whole request, `value` only
    the values read.
    """

    mode: str = "log"
    enforce_on: tuple[str, ...] = DEFAULT_ENFORCE_ON
    fail_mode: str = "fail_open"
    match: str = "request"

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> Enforcement:
        kinds = event.get("enforce_on")
        return cls(
            str(event.get("mode") or "log"),
            DEFAULT_ENFORCE_ON if kinds is None else tuple(dict.fromkeys(kinds)),
            str(event.get("fail_mode") or "fail_open"),
            str(event.get("match") or "request"),
        )


@dataclass(frozen=True, slots=True)
class Policy:
    """One policy of the `policies` topic, deny globs compiled."""

    policy_id: str
    protects: frozenset[str]
    deny: DenySet
    min_confidence: str = DEFAULT_MIN_CONFIDENCE
    enforcement: Enforcement = Enforcement()

    @classmethod
    def create(
        cls,
        policy_id: str,
        protects: Iterable[str],
        deny: Iterable[str],
        min_confidence: str | None = None,
        enforcement: Enforcement | None = None,
    ) -> Policy:
        confidence = min_confidence or DEFAULT_MIN_CONFIDENCE
        if confidence not in CONFIDENCE_RANK:
            raise PolicyError("policy: field 'min_confidence' must be high, medium or low")
        return cls(policy_id, frozenset(protects), DenySet.compile(deny), confidence,
                   enforcement or Enforcement())

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> Policy:
        """A policy from a validated `policies` event (analyzers.events.validate_event)."""
        try:
            return cls.create(
                event["policy_id"], event["protects"], event["deny"], event.get("min_confidence"),
                Enforcement.from_event(event),
            )
        except KeyError as exc:
            raise PolicyError(f"policy: missing field {exc.args[0]!r}") from None

    @property
    def min_rank(self) -> int:
        return CONFIDENCE_RANK[self.min_confidence]

    def same_zone_as(self, other: Policy) -> bool:
        """Whether `other` has the same zone as this policy (deny may differ)."""
        return self.protects == other.protects and self.min_confidence == other.min_confidence

    def same_as(self, other: Policy) -> bool:
        return (self.same_zone_as(other) and self.deny.patterns == other.deny.patterns
                and self.enforcement == other.enforcement)


@dataclass(frozen=True, slots=True)
class ViolationState:
    """What an open violation says; a change of any of it is an updated `open` event."""

    label: str
    source: str
    path: tuple[str, ...]
    confidence: str
    confirmed: bool


def violation_event(
    policy_id: str,
    sink: str,
    state: ViolationState,
    *,
    status: Literal["open", "resolved"],
    detected_at: int,
    ts: int,
) -> dict[str, Any]:
    """A `policy-violations` event (contract shape, plus the optional `confirmed`).

    Keyed `policy_id|sink` (see `violation_key`). A `resolved` event repeats the
    last open state (label, source, path, confidence) so a subscriber sees what
    went away.

    >>> s = ViolationState("L", "a", ("a", "b"), "high", False)
    >>> violation_event("p", "b", s, status="open", detected_at=2, ts=1)["path"]
    ['a', 'b']
    """
    return {
        "v": 1,
        "type": "violation",
        "policy_id": policy_id,
        "status": status,
        "label": state.label,
        "source": state.source,
        "sink": sink,
        "path": list(state.path),
        "confidence": state.confidence,
        "confirmed": state.confirmed,
        "detected_at": detected_at,
        "ts": ts,
    }


def violation_key(policy_id: str, sink: str) -> str:
    """The `policy-violations` key."""
    return f"{policy_id}|{sink}"


def state_of_event(event: Mapping[str, Any]) -> ViolationState:
    """The `ViolationState` an earlier violation event carried (for restoring open ones)."""
    return ViolationState(
        str(event.get("label", "")),
        str(event.get("source", "")),
        tuple(event.get("path") or ()),
        str(event.get("confidence", LOW)),
        bool(event.get("confirmed", False)),
    )

