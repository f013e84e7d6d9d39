"""config-events -> CONFIG signals (feature, training, inference configs)."""

from __future__ import annotations

from analyzers.configs import ConfigError, config_signals
from state.transaction import Transaction
from streams.pipeline.batch import InEvent, Output, dead_letter

AGENT = "config-parsing"


def handle_config(tx: Transaction, events: list[InEvent]) -> list[Output]:
    outputs = []
    for item in events:
        try:
            signals = config_signals(item.event)
        except ConfigError as exc:
            outputs.append(dead_letter(item.origin, exc.reason, item.key, item.raw,
                                       item.event["ts"], AGENT))
            continue
        outputs += [Output("flow-signals", s.edge_id.encode(), s.to_json()) for s in signals]
    return outputs
