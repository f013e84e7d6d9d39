"""The OpenLineage bridge, pure: events in -> flow signals, graph edges -> events out.

In: `validate.kind_of(event)` checks an event (one-line reasons),
`reduce.reduce_event` reads it into a `RunPart`, `model.merge_parts` joins a
run's parts, `lineage.run_signals` turns a part into flow signals. Out:
`export.graph_events` makes one `JobEvent` per destination dataset. Naming
both ways is in `naming`, the transformation map in `transformations`.
"""

from __future__ import annotations

from analyzers.openlineage.lineage import TABLE_KIND, run_edges, run_signals
from analyzers.openlineage.model import ColumnEdge, Dataset, RunPart, merge_parts
from analyzers.openlineage.reduce import reduce_event
from analyzers.openlineage.sql import SqlLineage
from analyzers.openlineage.validate import decode, kind_of

__all__ = [
    "TABLE_KIND",
    "ColumnEdge",
    "Dataset",
    "RunPart",
    "SqlLineage",
    "decode",
    "kind_of",
    "merge_parts",
    "reduce_event",
    "run_edges",
    "run_signals",
]
