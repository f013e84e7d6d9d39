"""`MemoryGraph`: the lineage graph in a dict, from `lineage-graph` deltas.

A `GraphView` for tests and offline use; the running monitor reads the graph
store of state/graph/ through the same protocol. Deltas apply by version: one
whose version is not above the edge's last applied version (upsert or
delete) is stale and changes nothing, so redelivery and replays are harmless.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from analyzers.policy.model import Edge
from vocab import table_of

__all__ = ["EdgeChange", "MemoryGraph"]


@dataclass(frozen=True, slots=True)
class EdgeChange:
    """What one applied delta did: the edge before and after (None: absent)."""

    previous: Edge | None
    current: Edge | None


class MemoryGraph:
    """Live edges by source, plus the last version seen per edge (tombstones too)."""

    def __init__(self) -> None:
        self._out: dict[str, dict[str, Edge]] = {}
        self._fields: dict[str, set[str]] = {}  # table -> its field sources with edges
        self._versions: dict[tuple[str, str], int] = {}

    # -- GraphView ---------------------------------------------------------
    def out_edges(self, node: str) -> Iterator[Edge]:
        yield from self._out.get(node, {}).values()

    def field_out_edges(self, table: str) -> Iterator[Edge]:
        for src in self._fields.get(table, ()):
            yield from self._out.get(src, {}).values()

    # -- reading -----------------------------------------------------------
    def edge(self, src: str, dst: str) -> Edge | None:
        return self._out.get(src, {}).get(dst)

    def edges(self) -> Iterator[Edge]:
        for by_dst in self._out.values():
            yield from by_dst.values()

    def __len__(self) -> int:
        return sum(len(by_dst) for by_dst in self._out.values())

    # -- writing -----------------------------------------------------------
    def upsert(self, edge: Edge) -> Edge | None:
        """Put `edge` regardless of versions; return the edge it replaced."""
        previous = self.edge(edge.src, edge.dst)
        self._out.setdefault(edge.src, {})[edge.dst] = edge
        if "#" in edge.src:
            self._fields.setdefault(table_of(edge.src), set()).add(edge.src)
        return previous

    def delete(self, src: str, dst: str) -> Edge | None:
        """Remove the edge `src -> dst` regardless of versions; return it."""
        by_dst = self._out.get(src)
        if not by_dst or dst not in by_dst:
            return None
        previous = by_dst.pop(dst)
        if not by_dst:
            del self._out[src]
            if "#" in src:
                fields = self._fields[table_of(src)]
                fields.discard(src)
                if not fields:
                    del self._fields[table_of(src)]
        return previous

    def apply_delta(self, delta: Mapping[str, Any]) -> EdgeChange | None:
        """Apply one `lineage-graph` delta; None when stale (version not above the last).

        >>> g = MemoryGraph()
        >>> d = {"op": "upsert", "src": "a", "dst": "b", "confidence": "low", "version": 1}
        >>> g.apply_delta(d).current.confidence, g.apply_delta(d)
        ('low', None)
        """
        src, dst = delta["src"], delta["dst"]
        version = int(delta.get("version", 0))
        last = self._versions.get((src, dst))
        if last is not None and version <= last:
            return None
        self._versions[(src, dst)] = version
        if delta.get("op") == "delete":
            previous = self.delete(src, dst)
            return None if previous is None else EdgeChange(previous, None)
        edge = Edge(
            src, dst, str(delta.get("confidence", "low")), tuple(delta.get("kinds") or ()), version
        )
        return EdgeChange(self.upsert(edge), edge)
