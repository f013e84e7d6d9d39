"""flow-signals -> lineage-graph deltas: evidence folded per edge.

A delta goes out only when an edge appears or its confidence, kinds or score
change. A static-only edge not confirmed at run time within the verification
window (event time) is retracted with an `op: "delete"` delta.

The signals of a batch that are the same observation (`signal_key`) are
folded into one first (`fold`), in the order each first appears: a live batch
holds about ten signals per key (issue 21, round 6), and the edge's state
after the batch is the same as after folding them one by one. What differs is
that changes within one batch make one delta, not one each; `version` still
rises by one per delta, and the last delta of a batch is the one a
one-by-one fold would have ended with, but for its version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import orjson

from analyzers.edges import merge, retract, static_expired
from analyzers.signals import FlowSignal, SignalKey, fold, signal_key
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
        same: dict[SignalKey, list[InEvent]] = {}
        for item in events:
            # the app wires `parse_signal` as this agent's validator
            same.setdefault(signal_key(cast(FlowSignal, item.parsed)), []).append(item)
        for items in same.values():
            signal = fold([cast(FlowSignal, item.parsed) for item in items])
            old = edges.get(signal.edge_id)
            try:
                new, delta = merge(old, signal)
            except ValueError as exc:  # e.g. its edge id is another (src, dst)'s
                for item in items:  # each message its dead letter: nothing vanishes
                    outputs.append(dead_letter(item.origin, f"signal: {exc}", item.key,
                                               item.raw, cast(FlowSignal, item.parsed).ts, AGENT))
                self.metrics.incr(f"{AGENT}.dead_letters", len(items))
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
