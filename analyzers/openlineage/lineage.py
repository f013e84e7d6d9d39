"""A run's `RunPart` -> flow signals (origin `openlineage`), by the issue's three rules.

1. An output with a `columnLineage` facet: its column edges, kinds from the
   transformations (`transformations.py`).
2. Else, when the job has a `sql` facet: the SQL analyzer's edges
   (`sql.py`), with the run's `schema` facets as the schema.
3. Else: a table-level `OPENLINEAGE` edge from every input to every output.

Every signal carries the event's producer URI.
"""

from __future__ import annotations

from analyzers.openlineage.model import ColumnEdge, RunPart
from analyzers.openlineage.sql import SqlLineage
from analyzers.signals import FlowSignal

#: The kind of an OpenLineage flow known at table level only.
TABLE_KIND = "OPENLINEAGE"


def run_edges(part: RunPart, sql: SqlLineage) -> list[ColumnEdge]:
    """The edges a run's merged part implies, by the three rules above."""
    edges = list(part.columns)
    pending = [asset for asset in part.outputs if asset not in part.lineage_outputs]
    if pending and part.sql and not part.lineage_outputs:
        sql_edges, written = sql.edges(part)
        edges += sql_edges
        pending = [asset for asset in pending if asset not in written]
    for dst in pending:
        for src in part.inputs:
            if src != dst:
                edges.append(ColumnEdge(src, dst, TABLE_KIND))
    return edges


def run_signals(part: RunPart, sql: SqlLineage) -> list[FlowSignal]:
    """One signal per distinct edge of the run, at the run's latest event time."""
    seen: set[ColumnEdge] = set()
    signals = []
    for edge in run_edges(part, sql):
        if edge in seen or edge.src == edge.dst:
            continue
        seen.add(edge)
        signals.append(FlowSignal(src=edge.src, dst=edge.dst, kind=edge.kind,
                                  origin="openlineage", ts=part.ts, masking=edge.masking,
                                  producer=part.producer))
    return signals
