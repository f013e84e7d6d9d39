"""An asset's neighbourhood, upstream and downstream, bounded for drawing.

What the console's asset view draws: the assets within `max_hops` of a root
in both directions, but never more than `max_nodes` of them. Whatever the
bound leaves out is counted on the node it hangs from (`hidden`), so a page
can offer "expand (12 more)" instead of drawing 100,000 nodes. Unlike
`traverse`, running into the bound is the normal case, not an error.

Both directions are walked level by level, alternately (down 1, up 1,
down 2, ...), each side taking at most its share of the room left at that
level, so a hub on one side cannot crowd the other side out. The
table semantics of `traverse` hold: a node `T#f` continues along `T`'s
table-level edges, a table `T` along its fields' edges; such an edge is
drawn from (or to) the node that holds it, and keeps its own id in
`merged` for its details.

>>> from state.graph.neighbourhood import namespace_of
>>> namespace_of("hive://warehouse/default.t#c"), namespace_of("file:/tmp/x")
('hive://warehouse', 'file:')
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from state.graph.store import Direction, EdgeRef
from state.graph.traverse import EdgeFilter, GraphReader, TraversalError
from vocab import CONFIDENCE_RANK, table_of

Side = Literal["root", "upstream", "downstream"]

#: Bounds a caller may not exceed (the server clamps what a page asks for).
MAX_NODES = 500
MAX_HOPS = 10
_ANY = EdgeFilter()


def namespace_of(asset: str) -> str:
    """The asset's namespace (scheme and authority): `hive://warehouse`, `file:`."""
    scheme, sep, rest = asset.partition("://")
    if sep:
        return f"{scheme}://{rest.partition('/')[0]}"
    head, colon, _ = asset.partition(":")
    return f"{head}:" if colon else ""


@dataclass
class Node:
    """A drawn asset: how far from the root, on which side, how much is left out."""

    asset: str
    hops: int
    side: Side
    hidden: int = 0  #: edges from it (on its side) not drawn: past the hop or node bound
    fields: int = 0  #: after `collapse`: how many of its fields were merged into it

    def to_json(self) -> dict[str, Any]:
        table, _, column = self.asset.partition("#")
        return {"id": self.asset, "namespace": namespace_of(self.asset), "table": table,
                "field": column or None, "hops": self.hops, "side": self.side,
                "hidden": self.hidden, "fields": self.fields}


@dataclass
class DrawnEdge:
    """An edge to draw; after `collapse`, several field edges merged into one."""

    src: str
    dst: str
    confidence: str
    kinds: tuple[str, ...]
    score: float
    merged: list[str] = field(default_factory=list)  #: the edge ids behind it

    def to_json(self) -> dict[str, Any]:
        return {"id": f"{self.src} -> {self.dst}", "src": self.src, "dst": self.dst,
                "confidence": self.confidence, "kinds": list(self.kinds),
                "score": round(self.score, 4), "edges": self.merged}


@dataclass
class Neighbourhood:
    root: str
    nodes: dict[str, Node]
    edges: list[DrawnEdge]
    truncated: bool  #: the node bound cut something off

    @property
    def hidden(self) -> int:
        return sum(node.hidden for node in self.nodes.values())

    def to_json(self) -> dict[str, Any]:
        return {"root": self.root, "nodes": [n.to_json() for n in self.nodes.values()],
                "edges": [e.to_json() for e in self.edges], "hidden": self.hidden,
                "truncated": self.truncated}


class _Cut(NamedTuple):
    """An asset the node bound kept out at first: drawn later if room is left."""

    direction: Direction
    node: str
    other: str
    ends: tuple[str, str]
    edge: EdgeRef


def _far(edge: EdgeRef, direction: Direction) -> str:
    return edge.dst if direction == "downstream" else edge.src


def neighbourhood(
    graph: GraphReader, root: str, *,
    directions: Iterable[Direction] = ("downstream", "upstream"),
    edge_filter: EdgeFilter = _ANY, max_hops: int = 2, max_nodes: int = 200,
    keep: Callable[[str], bool] | None = None,
) -> Neighbourhood:
    """The assets within `max_hops` of `root`, at most `max_nodes` of them (root included).

    `keep(asset)` false hides an asset and whatever lies only behind it (a
    namespace filter). Each node's `hidden` counts the distinct assets one
    hop further on its side that were not drawn.
    """
    if not 1 <= max_hops <= MAX_HOPS:
        raise TraversalError(f"max_hops must be between 1 and {MAX_HOPS}")
    if not 1 <= max_nodes <= MAX_NODES:
        raise TraversalError(f"max_nodes must be between 1 and {MAX_NODES}")
    nodes = {root: Node(root, 0, "root")}
    edges: dict[tuple[str, str], DrawnEdge] = {}
    truncated = False
    frontiers: dict[Direction, list[str]] = {d: [root] for d in dict.fromkeys(directions)}
    expanded: dict[Direction, set[str]] = {d: set() for d in frontiers}

    def link(ends: tuple[str, str], edge: EdgeRef) -> None:
        drawn = edges.get(ends)
        if drawn is None:
            edges[ends] = DrawnEdge(*ends, edge.confidence, edge.kinds, edge.score,
                                    [edge.edge_id])
        elif edge.edge_id not in drawn.merged:
            drawn.merged.append(edge.edge_id)

    def step(node: str, direction: Direction, limit: int | None, cut: list[_Cut]) -> list[str]:
        """Draw `node`'s edges on `direction` up to `limit` nodes (None: only count)."""
        reached: list[str] = []
        left_out: set[str] = set()
        for holder in graph.holders(node, direction):
            if limit is not None:
                if holder in expanded[direction]:
                    continue
                expanded[direction].add(holder)
            for edge in graph.direct_edges(holder, direction):
                other = _far(edge, direction)
                if not edge_filter.accepts(edge) or (keep is not None and not keep(other)):
                    continue
                # An edge of a holder (the table of a field, a field of a
                # table) is drawn from the node that holds it.
                ends = (node, other) if direction == "downstream" else (other, node)
                known = other in nodes
                if limit is None:
                    if not known or ends not in edges:
                        left_out.add(other)
                    continue
                if not known and len(nodes) >= limit:
                    cut.append(_Cut(direction, node, other, ends, edge))
                    left_out.add(other)
                    continue
                if not known:
                    nodes[other] = Node(other, nodes[node].hops + 1, direction)
                    reached.append(other)
                link(ends, edge)
        nodes[node].hidden += len(left_out)
        return reached

    for _ in range(max_hops):
        cut: list[_Cut] = []
        for k, (direction, frontier) in enumerate(list(frontiers.items())):
            # Each side gets its share of the room left at this level (the
            # last side takes what the others left) ...
            limit = len(nodes) + -(-(max_nodes - len(nodes)) // (len(frontiers) - k))
            following: list[str] = []
            for node in frontier:
                following += step(node, direction, limit, cut)
            frontiers[direction] = following
        # ... and what a side left unused goes to the sides that were cut.
        undone: set[tuple[str, str]] = set()
        for c in cut:
            if c.other not in nodes:
                if len(nodes) >= max_nodes:
                    truncated = True
                    continue
                nodes[c.other] = Node(c.other, nodes[c.node].hops + 1, c.direction)
                frontiers[c.direction].append(c.other)
            if (c.node, c.other) not in undone:
                undone.add((c.node, c.other))
                nodes[c.node].hidden -= 1
            link(c.ends, c.edge)
    for direction, frontier in frontiers.items():  # the boundary: count what lies beyond
        for node in frontier:
            step(node, direction, None, [])
    return Neighbourhood(root, nodes, list(edges.values()), truncated)


def collapse(found: Neighbourhood) -> Neighbourhood:
    """Fields merged into their tables: one node per table, one edge per table pair.

    A merged edge keeps the strongest confidence, every kind, the best score
    and the ids of the edges behind it; edges between fields of one table
    disappear.
    """
    root = table_of(found.root)
    nodes: dict[str, Node] = {}
    for node in sorted(found.nodes.values(), key=lambda n: n.hops):
        table = table_of(node.asset)
        merged = nodes.get(table)
        if merged is None:
            side: Side = "root" if table == root else node.side
            merged = nodes[table] = Node(table, node.hops, side)
        merged.hidden += node.hidden
        merged.fields += node.asset != table
    edges: dict[tuple[str, str], DrawnEdge] = {}
    for edge in found.edges:
        src, dst = table_of(edge.src), table_of(edge.dst)
        if src == dst:
            continue
        seen = edges.get((src, dst))
        if seen is None:
            edges[(src, dst)] = DrawnEdge(src, dst, edge.confidence, edge.kinds, edge.score,
                                          list(edge.merged))
            continue
        if CONFIDENCE_RANK[edge.confidence] > CONFIDENCE_RANK[seen.confidence]:
            seen.confidence = edge.confidence
        seen.kinds = tuple(sorted(set(seen.kinds) | set(edge.kinds)))
        seen.score = max(seen.score, edge.score)
        seen.merged += edge.merged
    return Neighbourhood(root, nodes, list(edges.values()), found.truncated)


__all__ = ["MAX_HOPS", "MAX_NODES", "DrawnEdge", "Neighbourhood", "Node",
           "collapse", "namespace_of", "neighbourhood"]
