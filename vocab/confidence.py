"""The confidence scale of edges: three bands, weakest first, ranked by position.

Every comparison of bands (a policy's `min_confidence`, a traversal's floor,
the best band of an edge's kinds, sorting for display) goes through the rank.

>>> CONFIDENCES, CONFIDENCE_RANK["high"], rank_of("unknown")
(('low', 'medium', 'high'), 2, 0)
"""

from __future__ import annotations

from collections.abc import Mapping

LOW, MEDIUM, HIGH = "low", "medium", "high"
#: The bands, weakest first: a band's rank is its index.
CONFIDENCES: tuple[str, str, str] = (LOW, MEDIUM, HIGH)
#: Band -> rank (`low` 0 .. `high` 2). Read-only by type; a plain dict because
#: the graph store looks it up once per edge it writes.
CONFIDENCE_RANK: Mapping[str, int] = {band: rank for rank, band in enumerate(CONFIDENCES)}


def rank_of(confidence: str) -> int:
    """The rank of a band; an unknown band ranks as `low`."""
    return CONFIDENCE_RANK.get(confidence, 0)
