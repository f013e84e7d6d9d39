"""A policy's zone: every asset its protected data can reach, and the path it takes.

The zone of a policy is every asset reachable from a *root* (an asset
carrying one of the policy's `protects` labels) along edges whose confidence
is at least the policy's `min_confidence`, never entering an excluded asset.
docs/POLICY.md states the rules; in short:

- **Table level.** A node `T#f` also follows `T`'s table-level edges, and a
  node `T` also follows the edges of every `T#f` (a table stands for all of
  its fields). An edge is followed from every zone node that *overlaps* its
  `src` (equal, or one is the table of the other).
- **Reviews.** An excluded asset is never entered, so whatever is reached
  only through it drops out (cascading exclusion), and what is also reached
  another way stays. An included asset is confirmed: every edge into it
  counts as `high` for this policy. A review of a table applies to its
  fields unless the field has its own review.
- **Chosen path.** Each asset keeps one path: the one with the best weakest
  confidence, then the fewest hops, then (ties) the smallest parent name at
  each hop. Concretely, one breadth-first tree per confidence level `L`
  (from `high` down to `min_confidence`) over the edges at or above `L`; an
  asset's path is its path in the tree of the highest level that reaches it.
  The trees are canonical (a function of the graph, labels and reviews only),
  so an incremental update and a from-scratch computation agree exactly.

`Zone.add_edge` / `Zone.add_root` extend the trees in place (distances only
shrink: a heap-ordered relaxation from the touched nodes). Anything that can
remove a path (a deleted or weakened edge the trees use, an exclusion, a lost
label) rebuilds the zone with `Zone.build`.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from analyzers.policy.model import (
    EXCLUDE,
    INCLUDE,
    Decision,
    EdgeView,
    GraphView,
    Policy,
)
from vocab import CONFIDENCES, HIGH, rank_of, split_field, table_of

__all__ = [
    "Hop",
    "Zone",
    "ZoneEntry",
    "ZoneRules",
    "compute_zone",
    "edges_from",
    "label_for",
    "overlaps",
]

_HIGH_RANK = rank_of(HIGH)


def overlaps(a: str, b: str) -> bool:
    """Whether assets `a` and `b` share data: equal, or one is the table of the other.

    >>> overlaps("t#f", "t"), overlaps("t", "t#f"), overlaps("t#f", "t#g")
    (True, True, False)
    """
    return a == b or table_of(a) == b or table_of(b) == a


def edges_from(graph: GraphView, node: str) -> Iterator[EdgeView]:
    """Every edge a zone node follows: its own, its table's, or (a table) its fields'."""
    yield from graph.out_edges(node)
    table, field = split_field(node)
    if field is None:
        yield from graph.field_out_edges(node)
    else:
        yield from graph.out_edges(table)


def label_for(policy: Policy, labels: Iterable[str] | None) -> str | None:
    """The protected label an asset carries for `policy` (the smallest name), if any."""
    if not labels:
        return None
    hits = policy.protects.intersection(labels)
    return min(hits) if hits else None


@dataclass(frozen=True, slots=True)
class ZoneRules:
    """What besides the graph and the roots decides a zone: threshold and reviews.

    `reviews` (asset -> decision) is read live: the monitor keeps one mapping
    per policy and rebuilds or extends the zone after changing it.
    """

    min_rank: int
    reviews: Mapping[str, Decision]

    def decision(self, asset: str) -> Decision | None:
        found = self.reviews.get(asset)
        if found is None and "#" in asset:
            found = self.reviews.get(table_of(asset))
        return found

    def excluded(self, asset: str) -> bool:
        return self.decision(asset) == EXCLUDE

    def included(self, asset: str) -> bool:
        return self.decision(asset) == INCLUDE

    def edge_rank(self, edge: EdgeView) -> int:
        """The edge's confidence for this policy: `high` into a confirmed asset."""
        return _HIGH_RANK if self.included(edge.dst) else rank_of(edge.confidence)

    @property
    def levels(self) -> tuple[int, ...]:
        """The ranks of the breadth-first trees, strongest first."""
        return tuple(r for r in range(len(CONFIDENCES) - 1, -1, -1) if r >= self.min_rank)


@dataclass(frozen=True, slots=True)
class ZoneEntry:
    """Why one asset is in a zone."""

    asset: str
    source: str  #: the protected root the path starts from
    label: str  #: the root's protected label
    path: tuple[str, ...]  #: source first, asset last
    confidence: str  #: the weakest confidence along the path
    confirmed: bool  #: an `include` review confirms the asset


@dataclass(frozen=True, slots=True)
class Hop:
    """One step of an explained path: the zone nodes and the edge that links them."""

    src: str
    dst: str
    edge_src: str  #: the edge's own src: `src`, its table, or (table `src`) one of its fields
    edge_dst: str
    confidence: str  #: the edge's confidence in the graph
    confirmed: bool  #: `dst` is confirmed by review (the hop counts as high)


class Zone:
    """One policy's zone: a breadth-first tree per confidence level."""

    def __init__(self, policy_id: str, rules: ZoneRules, roots: Mapping[str, str]) -> None:
        self.policy_id = policy_id
        self.rules = rules
        self.levels = rules.levels
        self.roots: dict[str, str] = {}  # root -> label
        self._dist: list[dict[str, int]] = [{} for _ in self.levels]
        self._parent: list[dict[str, str | None]] = [{} for _ in self.levels]
        self._fields: dict[str, set[str]] = {}  # table -> its fields in the zone
        for root, label in roots.items():
            if not rules.excluded(root):
                self.roots[root] = label
                for i in range(len(self.levels)):
                    self._dist[i][root] = 0
                    self._parent[i][root] = None
                self._index(root)

    # -- building ----------------------------------------------------------
    @classmethod
    def build(
        cls, graph: GraphView, policy_id: str, rules: ZoneRules, roots: Mapping[str, str]
    ) -> Zone:
        """The zone from scratch: one layered breadth-first search per level."""
        zone = cls(policy_id, rules, roots)
        for i, rank in enumerate(zone.levels):
            dist, parent = zone._dist[i], zone._parent[i]
            frontier = sorted(zone.roots)
            depth = 0
            while frontier:
                following: list[str] = []
                for x in frontier:
                    for edge in edges_from(graph, x):
                        w = edge.dst
                        if rules.edge_rank(edge) < rank or rules.excluded(w):
                            continue
                        seen = dist.get(w)
                        if seen is None:
                            dist[w] = depth + 1
                            parent[w] = x
                            following.append(w)
                        elif seen == depth + 1 and x < (parent[w] or ""):
                            parent[w] = x
                frontier = following
                depth += 1
            for node in dist:
                zone._index(node)
        return zone

    def _index(self, node: str) -> None:
        table, field = split_field(node)
        if field is not None:
            self._fields.setdefault(table, set()).add(node)

    # -- incremental extension ---------------------------------------------
    def add_edge(self, graph: GraphView, edge: EdgeView) -> set[str]:
        """Extend the zone after `edge` appeared or grew stronger; return the changed nodes.

        `graph` must already hold the edge. Only distances shrink, so this is
        exact: the result equals `Zone.build` on the new graph.
        """
        changed: set[str] = set()
        if self.rules.excluded(edge.dst):
            return changed
        rank = self.rules.edge_rank(edge)
        for i, level in enumerate(self.levels):
            if level > rank:
                continue
            heap: list[tuple[int, str]] = []
            dist = self._dist[i]
            for x in self._overlapping(edge.src, i):
                self._offer(i, edge.dst, dist[x] + 1, x, heap, changed)
            self._relax(graph, i, heap, changed)
        return changed

    def add_root(self, graph: GraphView, root: str, label: str) -> set[str]:
        """Make `root` a protected root (it gained a label); return the changed nodes."""
        changed: set[str] = set()
        if self.rules.excluded(root):
            return changed
        self.roots[root] = label
        changed.add(root)
        for i in range(len(self.levels)):
            heap: list[tuple[int, str]] = []
            self._offer(i, root, 0, None, heap, changed)
            self._relax(graph, i, heap, changed)
        return changed

    def _overlapping(self, src: str, i: int) -> list[str]:
        dist = self._dist[i]
        table, field = split_field(src)
        found = [src] if src in dist else []
        if field is not None:
            if table in dist:
                found.append(table)
        else:
            found.extend(f for f in self._fields.get(src, ()) if f in dist)
        return found

    def _offer(
        self,
        i: int,
        node: str,
        depth: int,
        parent: str | None,
        heap: list[tuple[int, str]],
        changed: set[str],
    ) -> None:
        dist, parents = self._dist[i], self._parent[i]
        seen = dist.get(node)
        if seen is None or depth < seen:
            dist[node] = depth
            parents[node] = parent
            heapq.heappush(heap, (depth, node))
            changed.add(node)
            self._index(node)
        elif depth == seen and parent is not None:
            current = parents[node]
            if current is not None and parent < current:
                parents[node] = parent
                changed.add(node)

    def _relax(
        self, graph: GraphView, i: int, heap: list[tuple[int, str]], changed: set[str]
    ) -> None:
        dist, rank, rules = self._dist[i], self.levels[i], self.rules
        while heap:
            depth, x = heapq.heappop(heap)
            if dist.get(x) != depth:
                continue  # superseded by a shorter distance
            for edge in edges_from(graph, x):
                if rules.edge_rank(edge) >= rank and not rules.excluded(edge.dst):
                    self._offer(i, edge.dst, depth + 1, x, heap, changed)

    # -- what a removal touches --------------------------------------------
    def uses_edge(self, graph: GraphView, src: str, dst: str, old_rank: int) -> bool:
        """Whether removing or weakening the edge `src -> dst` (once of rank `old_rank`)
        can change this zone: some tree links `dst` through it and `graph` (already
        changed) has no other edge at that level for the same hop."""
        for i, level in enumerate(self.levels):
            if level > old_rank:
                continue
            parent = self._parent[i].get(dst)
            if parent is None or not overlaps(parent, src):
                continue
            if not any(
                e.dst == dst and self.rules.edge_rank(e) >= level
                for e in edges_from(graph, parent)
            ):
                return True
        return False

    # -- reading -----------------------------------------------------------
    def __contains__(self, asset: object) -> bool:
        return isinstance(asset, str) and bool(self._dist) and asset in self._dist[-1]

    def __len__(self) -> int:
        return len(self._dist[-1]) if self._dist else 0

    def nodes(self) -> Iterator[str]:
        """Every asset of the zone (roots included), in no particular order."""
        return iter(self._dist[-1]) if self._dist else iter(())

    def _level_of(self, asset: str) -> int | None:
        for i, dist in enumerate(self._dist):
            if asset in dist:
                return i
        return None

    def entry(self, asset: str) -> ZoneEntry | None:
        """Why `asset` is in the zone (None when it is not)."""
        i = self._level_of(asset)
        if i is None:
            return None
        parents = self._parent[i]
        path = [asset]
        parent = parents[asset]
        while parent is not None:
            path.append(parent)
            parent = parents[parent]
        path.reverse()
        root = path[0]
        return ZoneEntry(
            asset,
            root,
            self.roots[root],
            tuple(path),
            CONFIDENCES[self.levels[i]],
            self.rules.included(asset),
        )

    def explain(self, graph: GraphView, asset: str) -> list[Hop] | None:
        """The hops of `asset`'s path, each with the edge it follows (None: not in zone)."""
        entry = self.entry(asset)
        if entry is None:
            return None
        level = rank_of(entry.confidence)
        hops: list[Hop] = []
        for x, y in zip(entry.path, entry.path[1:], strict=False):
            edge = min(
                (
                    e
                    for e in edges_from(graph, x)
                    if e.dst == y and self.rules.edge_rank(e) >= level
                ),
                key=lambda e: e.src,
            )
            hops.append(Hop(x, y, edge.src, edge.dst, edge.confidence, self.rules.included(y)))
        return hops

    def snapshot(self) -> dict[str, ZoneEntry]:
        """Every entry, by asset (for tests and `lineage zone`)."""
        entries = {}
        for asset in self.nodes():
            entry = self.entry(asset)
            assert entry is not None
            entries[asset] = entry
        return entries


def compute_zone(
    graph: GraphView,
    policy: Policy,
    labels: Mapping[str, Iterable[str]],
    reviews: Mapping[str, Decision] | None = None,
) -> Zone:
    """A policy's zone from scratch.

    `labels` maps assets to their labels (the `asset-labels` topic); `reviews`
    maps assets to this policy's decisions. A label on a table `T` protects
    `T` and all `T#f` (the traversal treats them as overlapping); a label on
    `T#f` protects that field only.

    >>> from analyzers.policy.graph import MemoryGraph
    >>> from analyzers.policy.model import Edge
    >>> g = MemoryGraph()
    >>> _ = g.upsert(Edge("a#x", "b", "high")), g.upsert(Edge("b", "c", "low"))
    >>> p = Policy.create("p", ["L"], ["c"], "medium")
    >>> sorted(compute_zone(g, p, {"a#x": ["L"]}).nodes())
    ['a#x', 'b']
    """
    rules = ZoneRules(policy.min_rank, dict(reviews or {}))
    roots = {}
    for asset, asset_labels in labels.items():
        label = label_for(policy, asset_labels)
        if label is not None:
            roots[asset] = label
    return Zone.build(graph, policy.policy_id, rules, roots)
