"""The lineage graph materialized from `lineage-graph` deltas, and its traversals."""

from __future__ import annotations

from state.graph.store import EdgeRef, GraphChange, GraphStore
from state.graph.traverse import (
    EdgeFilter,
    GraphPath,
    Limits,
    Traversal,
    TraversalError,
    TraversalTooLarge,
    find_path,
    traverse,
)

__all__ = [
    "EdgeFilter",
    "EdgeRef",
    "GraphChange",
    "GraphPath",
    "GraphStore",
    "Limits",
    "Traversal",
    "TraversalError",
    "TraversalTooLarge",
    "find_path",
    "traverse",
]
