"""Probes on, in memory: every unit test of a framework hook goes through the real
hooks, sanitizer and capture doors; only the Kafka producer is replaced by
`MemoryEmitter` (the emitter has its own tests against a closed port)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import lineage_probes
import pytest
from lineage_probes import counters
from lineage_probes.emitter import MemoryEmitter


class Captured:
    def __init__(self, emitter: MemoryEmitter) -> None:
        self.emitter = emitter

    @property
    def events(self) -> list[dict[str, Any]]:
        out = []
        for key, value in self.emitter.sent:
            event = json.loads(value)
            assert key.decode() == event["trace_id"]
            out.append(event)
        return out

    def of(self, asset_prefix: str, role: str | None = None) -> list[dict[str, Any]]:
        return [e for e in self.events if e["asset"].startswith(asset_prefix)
                and (role is None or e["role"] == role)]

    def clear(self) -> None:
        self.emitter.sent.clear()


@pytest.fixture()
def probes(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """`probes(sample_rate=..., redact=..., probes=[...])` turns them on; off after the test."""
    for var in ("LINEAGE_PROBE_DISABLED", "LINEAGE_PROBE_REDACT", "LINEAGE_PROBE_SAMPLE_RATE"):
        monkeypatch.delenv(var, raising=False)
    counters.reset()

    def start(sample_rate: float = 1.0, service: str = "svc", **kwargs: Any) -> Captured:
        emitter = MemoryEmitter()
        lineage_probes.instrument(service=service, sample_rate=sample_rate, emitter=emitter,
                                  **kwargs)
        return Captured(emitter)

    yield start
    lineage_probes.uninstrument()
