"""static-flows -> STATIC candidate signals."""

from __future__ import annotations

from analyzers.signals import FlowSignal
from state.transaction import Transaction
from streams.pipeline.batch import InEvent, Output

AGENT = "static-intake"


def handle_static(tx: Transaction, events: list[InEvent]) -> list[Output]:
    outputs = []
    for item in events:
        event = item.event
        signal = FlowSignal(src=event["source"], dst=event["sink"], kind="STATIC",
                            origin="static", ts=event["ts"])
        outputs.append(Output("flow-signals", signal.edge_id.encode(), signal.to_json()))
    return outputs
