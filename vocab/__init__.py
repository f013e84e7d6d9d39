"""The shared vocabulary of the project, written once: asset and edge names,
the confidence scale, the edge-state record.

Imports nothing of the project (a test checks it), so `analyzers/`, `state/`
and `streams/` can all use it without reaching up or sideways.

>>> from vocab import edge_id, split_edge_id, table_of
>>> split_edge_id(edge_id("db://t#f", "model://m")), table_of("db://t#f")
(('db://t#f', 'model://m'), 'db://t')
"""

from __future__ import annotations

from vocab.assets import EDGE_SEPARATOR, edge_id, split_edge_id, split_field, table_of
from vocab.confidence import CONFIDENCE_RANK, CONFIDENCES, HIGH, LOW, MEDIUM, rank_of
from vocab.edge_state import EdgeState

__all__ = [
    "CONFIDENCES",
    "CONFIDENCE_RANK",
    "EDGE_SEPARATOR",
    "HIGH",
    "LOW",
    "MEDIUM",
    "EdgeState",
    "edge_id",
    "rank_of",
    "split_edge_id",
    "split_field",
    "table_of",
]
