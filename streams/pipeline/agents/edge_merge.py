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
one-by-one fold would have ended with, but for its version. The decoding,
validation and folding run in Rust over the batch's raw values
(`matcher_rs.SignalBatch`, issue 21 round 7), so Python builds one
`FlowSignal` per observation, not one dict and signal per message.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import orjson

from analyzers.edges import merge, retract, static_expired
from analyzers.signal_batch import (
    Folds,
    decode_signal,
    decode_signal_batch,
    fold_in_python,
    folded_signals,
)
from analyzers.signals import FlowSignal
from state.edges import EdgeStore
from state.transaction import Transaction
from state.windows import EventTimeBounds
from streams.pipeline.batch import (
    Message,
    Output,
    dead_letter,
    message_dead_letter,
    message_values,
)
from streams.pipeline.deadletters import Origin
from streams.pipeline.metrics import Metrics
from streams.pipeline.topology import Topology

AGENT = "edge-merge"


@dataclass(frozen=True, slots=True)
class FoldedSignals:
    """A partition's valid signals, folded per observation in the order each first
    appears: each folded signal with the indexes of the messages it came in."""

    groups: Folds
    messages: Sequence[Message]
    #: How many valid signals were folded.
    signals: int

    def __len__(self) -> int:
        return self.signals


@dataclass
class EdgeMerge:
    """The edge merge's handler, configured from topology.yaml.

    It decodes its own batches: in Rust (`analyzers.signal_batch`), one
    `FlowSignal` per observation and batch; `native=False` decodes and folds
    message by message in Python, the reference the differential tests hold
    the Rust path to.
    """

    topology: Topology
    metrics: Metrics
    native: bool = True

    def decode_batch(self, messages: Sequence[Message], *, agent: str, metrics: Metrics,
                     bounds: EventTimeBounds | None = None,
                     ) -> tuple[FoldedSignals, list[Output]]:
        """The batch's signals folded per observation, and the dead letters of the
        invalid values. Signals carry their origin event's time, already bounded
        where it entered: this agent takes no event-time bounds."""
        if bounds is not None:
            raise ValueError("the edge merge takes no event-time bounds")
        if self.native:
            batch = decode_signal_batch(message_values(messages))
            groups = folded_signals(batch)
            refused, valid = batch.dead(), len(batch)
        else:
            groups, refused = fold_in_python(message_values(messages))
            valid = len(messages) - len(refused)
        dead: list[Output] = []
        if refused:
            now = int(time.time() * 1000)
            dead = [message_dead_letter(messages[i], reason, now, agent) for i, reason in refused]
            metrics.incr(f"{agent}.dead_letters", len(dead))
        return FoldedSignals(groups, messages, valid), dead

    def __call__(self, tx: Transaction, events: FoldedSignals) -> list[Output]:
        verification_ms = self.topology.windows.static_verification_ms
        edges = EdgeStore(tx)
        outputs: list[Output] = []
        for signal, members in events.groups:
            old = edges.get(signal.edge_id)
            try:
                new, delta = merge(old, signal)
            except ValueError as exc:  # e.g. its edge id is another (src, dst)'s
                outputs.extend(_refused(events.messages, members, f"signal: {exc}"))
                self.metrics.incr(f"{AGENT}.dead_letters", len(members))
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


def _refused(messages: Sequence[Message], members: list[int], reason: str) -> list[Output]:
    """Each message of a signal the merge refused its dead letter, at its own `ts`:
    nothing vanishes."""
    outputs = []
    for i in members:
        message = messages[i]
        signal = cast(FlowSignal, decode_signal(message.value))  # valid: it was folded
        origin = Origin(message.topic, message.partition, message.offset)
        outputs.append(dead_letter(origin, reason, message.key, message.value, signal.ts, AGENT))
    return outputs
