"""flow-signals -> lineage-graph deltas: evidence folded per edge.

A delta goes out only when an edge appears or its confidence, kinds or score
change. A static-only edge not confirmed at run time within the verification
window (event time) is retracted with an `op: "delete"` delta.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import orjson

from analyzers.edges import merge, retract, static_expired
from analyzers.signals import FlowSignal
from state.edges import EdgeStore
from state.transaction import Transaction
from streams.pipeline.batch import InEvent, Output, dead_letter
from streams.pipeline.metrics import Metrics
from streams.pipeline.topology import Topology

AGENT = "edge-merge"


@dataclass
class EdgeMerge:
    topology: Topology
    metrics: Metrics

    def __call__(self, tx: Transaction, events: list[InEvent]) -> list[Output]:
        verification_ms = self.topology.windows.static_verification_ms
        edges = EdgeStore(tx)
        outputs: list[Output] = []
        for item in events:
            # the app wires `parse_signal` as this agent's validator
            signal = cast(FlowSignal, item.parsed)
            old = edges.get(signal.edge_id)
            try:
                new, delta = merge(old, signal)
            except ValueError as exc:  # e.g. its edge id is another (src, dst)'s
                outputs.append(dead_letter(item.origin, f"signal: {exc}", item.key, item.raw,
                                           signal.ts, AGENT))
                self.metrics.incr(f"{AGENT}.dead_letters")
                continue
            edges.advance(signal.ts)
            edges.put(new)
            if new.static_only and (old is None or old.deleted):
                edges.watch_static(new.edge_id, new.first_seen + verification_ms)
            if delta is not None:
                outputs.append(Output("lineage-graph", new.edge_id.encode(), orjson.dumps(delta)))
        for edge_id in edges.due_static():
            state = edges.get(edge_id)
            if state is not None and static_expired(state, edges.watermark, verification_ms):
                state, delta = retract(state)
                edges.put(state)
                self.metrics.incr(f"{AGENT}.static_retracted")
                outputs.append(Output("lineage-graph", edge_id.encode(), orjson.dumps(delta)))
        return outputs
