"""The lineage graph materialized from `lineage-graph` deltas, and its traversals."""

from __future__ import annotations

from state.graph.store import CONFIDENCE_RANK, EdgeRef, GraphChange, GraphStore, table_of
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
    "CONFIDENCE_RANK",
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
    "table_of",
    "traverse",
]
