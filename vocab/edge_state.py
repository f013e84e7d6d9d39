"""One edge's aggregate as the edge merge keeps it, and its byte codec.

The record and its encoding are shared vocabulary: `analyzers.edges` folds
signals into it, `state.edges` stores it. What it means (the confidence table,
the contract's evidence counters) lives in `analyzers.edges`.

>>> s = EdgeState("a://x#f", "b://y", {"EXACT_MATCH": 2}, first_seen=1, last_seen=5)
>>> EdgeState.from_bytes(s.to_bytes()) == s, s.edge_id, sorted(s.kinds)
(True, 'a://x#f -> b://y', ['EXACT_MATCH'])
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import orjson

from vocab.assets import edge_id
from vocab.confidence import LOW


def frozen_counts(counts: Mapping[str, int]) -> Mapping[str, int]:
    """Per-kind counts, read-only, sorted by kind, without zeros."""
    return MappingProxyType({k: counts[k] for k in sorted(counts) if counts[k] > 0})


@dataclass(frozen=True, slots=True)
class EdgeState:
    """One edge's aggregate, as kept in the edge-merge table.

    `counts` is per effective kind (see `analyzers.edges.effective_kind`); the
    contract's `evidence` counters (`analyzers.edges.evidence_of`) and `kinds`
    derive from it. `confidence` and `score` are those of the latest fold
    (equal to the latest delta's when the state comes from `merge`). `version`
    is that of the latest delta sent for the edge (0: none yet). A retracted
    edge stays as a tombstone (`deleted`), keeping its counts and version so a
    re-creation continues the versions.
    """

    src: str
    dst: str
    counts: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    first_seen: int = 0
    last_seen: int = 0
    version: int = 0
    confidence: str = LOW
    score: float = 0.0
    deleted: bool = False

    @property
    def edge_id(self) -> str:
        return edge_id(self.src, self.dst)

    @property
    def kinds(self) -> frozenset[str]:
        """Kinds seen; `STATIC` only while nothing else is (static only, unconfirmed)."""
        seen = frozenset(k for k, n in self.counts.items() if n > 0)
        return seen - {"STATIC"} if len(seen) > 1 else seen

    @property
    def static_only(self) -> bool:
        return set(self.counts) == {"STATIC"}

    def to_bytes(self) -> bytes:
        return orjson.dumps({
            "v": 1, "src": self.src, "dst": self.dst, "counts": dict(self.counts),
            "first_seen": self.first_seen, "last_seen": self.last_seen,
            "version": self.version, "confidence": self.confidence, "score": self.score,
            "deleted": self.deleted,
        })

    @classmethod
    def from_bytes(cls, raw: bytes) -> EdgeState:
        body: dict[str, Any] = orjson.loads(raw)
        return cls(
            src=body["src"], dst=body["dst"], counts=frozen_counts(body["counts"]),
            first_seen=body["first_seen"], last_seen=body["last_seen"],
            version=body["version"], confidence=body["confidence"],
            score=float(body["score"]), deleted=body["deleted"],
        )
