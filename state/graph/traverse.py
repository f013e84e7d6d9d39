"""Downstream and upstream traversals and the path between two assets.

Both follow the contract's table semantics through `GraphReader.holders`: a
traversal holding `T#f` continues along `T`'s table-level edges, and one
holding `T` along the edges of every field of `T`. Each holder's edges are
read once per traversal. Both are bounded: past `Limits` they raise
`TraversalTooLarge` instead of running on.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from state.graph.store import Direction, EdgeRef
from vocab import CONFIDENCE_RANK, table_of


class TraversalError(ValueError):
    """A traversal that cannot be answered (bad option, too large)."""


class TraversalTooLarge(TraversalError):
    """The traversal went past its node, edge or time bound."""


class GraphReader(Protocol):
    def holders(self, asset: str, direction: Direction) -> list[str]: ...
    def direct_edges(self, asset: str, direction: Direction) -> list[EdgeRef]: ...


@dataclass(frozen=True)
class Limits:
    """Bounds of one traversal; past them it raises `TraversalTooLarge`."""

    max_nodes: int = 100_000
    max_edges: int = 500_000
    time_budget_s: float = 5.0


@dataclass(frozen=True)
class EdgeFilter:
    """Which edges a traversal may follow: at least `min_confidence`, any of `kinds`."""

    min_confidence: str = "low"
    kinds: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.min_confidence not in CONFIDENCE_RANK:
            raise TraversalError(f"min_confidence must be one of low, medium, high, "
                                 f"not {self.min_confidence!r}")

    @classmethod
    def of(cls, min_confidence: str = "low", kinds: Iterable[str] = ()) -> EdgeFilter:
        return cls(min_confidence, frozenset(kinds))

    def accepts(self, edge: EdgeRef) -> bool:
        if edge.rank < CONFIDENCE_RANK[self.min_confidence]:
            return False
        return not self.kinds or not self.kinds.isdisjoint(edge.kinds)


@dataclass
class Traversal:
    """What a traversal reached: nodes in BFS order (root excluded), edges followed."""

    root: str
    direction: Direction
    nodes: list[str] = field(default_factory=list)
    edges: list[EdgeRef] = field(default_factory=list)
    hops: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"root": self.root, "direction": self.direction, "nodes": self.nodes,
                "edges": [edge.to_json() for edge in self.edges]}


@dataclass
class GraphPath:
    """The path found between two assets: its edges in order, src first."""

    src: str
    dst: str
    edges: list[EdgeRef]

    @property
    def nodes(self) -> list[str]:
        """The assets the path holds: src, then each edge's destination."""
        return [self.src, *(edge.dst for edge in self.edges)]

    @property
    def confidence(self) -> str:
        """The weakest edge's confidence."""
        return min(self.edges, key=lambda e: e.rank).confidence if self.edges else "high"


class _Budget:
    def __init__(self, what: str, limits: Limits) -> None:
        self.what = what
        self.limits = limits
        self.deadline = time.monotonic() + limits.time_budget_s
        self.edges = 0

    def check(self, nodes: int) -> None:
        if nodes > self.limits.max_nodes:
            raise TraversalTooLarge(
                f"{self.what} reached more than {self.limits.max_nodes} nodes; "
                "narrow it with --max-hops, --min-confidence or --kind")
        if self.edges > self.limits.max_edges:
            raise TraversalTooLarge(
                f"{self.what} followed more than {self.limits.max_edges} edges; "
                "narrow it with --max-hops, --min-confidence or --kind")
        if time.monotonic() > self.deadline:
            raise TraversalTooLarge(
                f"{self.what} took longer than {self.limits.time_budget_s:g} s; "
                "narrow it with --max-hops, --min-confidence or --kind")


def _check_direction(direction: str) -> None:
    if direction not in ("downstream", "upstream"):
        raise TraversalError(f"direction must be downstream or upstream, not {direction!r}")


def _check_hops(max_hops: int | None) -> None:
    if max_hops is not None and max_hops < 1:
        raise TraversalError("max_hops must be at least 1")


def _far_end(edge: EdgeRef, direction: Direction) -> str:
    return edge.dst if direction == "downstream" else edge.src


def traverse(
    graph: GraphReader, root: str, direction: Direction, *,
    edge_filter: EdgeFilter = EdgeFilter(), max_hops: int | None = None,
    limits: Limits = Limits(),
) -> Traversal:
    """Every asset reachable from `root` (downstream) or reaching it (upstream).

    Breadth first, so `hops` holds each node's fewest hops. `edges` lists every
    followed edge once, including edges back into already reached nodes.
    """
    _check_direction(direction)
    _check_hops(max_hops)
    result = Traversal(root, direction)
    budget = _Budget(f"{direction} traversal from {root}", limits)
    reached = {root: 0}
    expanded: set[str] = set()
    seen_edges: set[tuple[str, str]] = set()
    frontier = [root]
    depth = 0
    while frontier and (max_hops is None or depth < max_hops):
        depth += 1
        following: list[str] = []
        for node in frontier:
            for holder in graph.holders(node, direction):
                if holder in expanded:
                    continue
                expanded.add(holder)
                for edge in graph.direct_edges(holder, direction):
                    if not edge_filter.accepts(edge) or (edge.src, edge.dst) in seen_edges:
                        continue
                    seen_edges.add((edge.src, edge.dst))
                    result.edges.append(edge)
                    budget.edges += 1
                    other = _far_end(edge, direction)
                    if other not in reached:
                        reached[other] = depth
                        result.nodes.append(other)
                        following.append(other)
            budget.check(len(reached))
        frontier = following
    result.hops = {node: reached[node] for node in result.nodes}
    return result


def _arrives(node: str, dst: str) -> bool:
    """Holding `node` means holding (some of) `dst`: same asset, or table and field."""
    return node == dst or table_of(node) == dst or node == table_of(dst)


def find_path(
    graph: GraphReader, src: str, dst: str, *,
    edge_filter: EdgeFilter = EdgeFilter(), max_hops: int | None = None,
    limits: Limits = Limits(),
) -> GraphPath | None:
    """The path from `src` to `dst` with the fewest hops, then the strongest weakest edge.

    Level by level: every fewest-hop path to a node comes from a node of the
    level before, so each node keeps its best weakest-edge rank (ties: the
    higher score sum, then the first found). Reaching a field of table `dst`,
    or the table of field `dst`, arrives too (table semantics). None if no
    path exists within the bounds.
    """
    _check_hops(max_hops)
    if _arrives(src, dst):
        return GraphPath(src, dst, [])
    budget = _Budget(f"path search from {src} to {dst}", limits)
    # node -> (weakest rank on its best path, score sum, edge into it, node before it)
    best: dict[str, _Step] = {src: _Step(3, 0.0, None, None)}
    expanded: set[str] = set()
    frontier = [src]
    depth = 0
    while frontier and (max_hops is None or depth < max_hops):
        depth += 1
        # Each holder once per search, from the frontier node that holds it best:
        # a holder shared by several fields of one table is read once.
        via: dict[str, str] = {}
        for node in frontier:
            for holder in graph.holders(node, "downstream"):
                if holder in expanded:
                    continue
                if holder not in via or best[node].key > best[via[holder]].key:
                    via[holder] = node
        level: dict[str, _Step] = {}
        for holder, node in via.items():
            expanded.add(holder)
            step = best[node]
            for edge in graph.direct_edges(holder, "downstream"):
                if not edge_filter.accepts(edge) or edge.dst in best:
                    continue
                budget.edges += 1
                candidate = _Step(min(step.weakest, edge.rank), step.score + edge.score,
                                  edge, node)
                current = level.get(edge.dst)
                if current is None or candidate.key > current.key:
                    level[edge.dst] = candidate
            budget.check(len(best) + len(level))
        best.update(level)
        arrived = [node for node in level if _arrives(node, dst)]
        if arrived:
            end = max(arrived, key=lambda n: (*level[n].key, n == dst))
            return GraphPath(src, dst, _walk_back(best, end))
        frontier = list(level)
    return None


@dataclass(frozen=True, slots=True)
class _Step:
    weakest: int
    score: float
    edge: EdgeRef | None
    previous: str | None

    @property
    def key(self) -> tuple[int, float]:
        return (self.weakest, self.score)


def _walk_back(best: dict[str, _Step], end: str) -> list[EdgeRef]:
    edges: list[EdgeRef] = []
    step = best[end]
    while step.edge is not None and step.previous is not None:
        edges.append(step.edge)
        step = best[step.previous]
    edges.reverse()
    return edges
