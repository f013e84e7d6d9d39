"""The two doors every capture passes through: `source` and `sink`.

A hook calls one of them with an asset name and the raw payload; the door
redacts and caps the payload (the snapshot), writes the `probe-events`
record and hands it to the emitter. `sink` also receives the sink's kind
(`db`, `http`, `kafka`, `cache`, `log`, `response`): the place where
enforcement will decide, before the write happens, whether it may go on.

Nothing here logs or raises a payload value: a failure surfaces to the hook,
which turns its probe off (`Probe.fail`).
"""

from __future__ import annotations

import json
import time
from typing import Any

from lineage_probes import codeloc, counters, sanitize
from lineage_probes.config import ProbeConfig
from lineage_probes.context import Trace
from lineage_probes.emitter import Emitter


class Recorder:
    """The configured doors: settings and emitter of an `instrument()` call."""

    def __init__(self, cfg: ProbeConfig, emitter: Emitter) -> None:
        self.cfg = cfg
        self.emitter = emitter

    def source(self, trace: Trace, asset: str, payload: Any, *,
               code_location: str | None = None) -> None:
        """Data entering the service: a request input, a DB read, a consumed message."""
        if self._emit(trace, "source", asset, payload, code_location):
            trace.source_assets.append(asset)

    def sink(self, trace: Trace, asset: str, payload: Any, *, kind: str,
             code_location: str | None = None) -> None:
        """Data leaving the service: a DB write, a log line, an outbound call, a publish."""
        self._emit(trace, "sink", asset, payload, code_location)

    def _emit(self, trace: Trace, role: str, asset: str, payload: Any,
              code_location: str | None) -> bool:
        cfg = self.cfg
        if trace.captures >= cfg.max_captures_per_trace:
            counters.incr("dropped_trace_cap")
            return False
        cleaned = sanitize.clean(payload, cfg)
        if sanitize.is_empty(cleaned):
            counters.incr("skipped_empty")
            return False
        trace.captures += 1
        event = {
            "v": 1, "type": "probe", "trace_id": trace.trace_id,
            "ts": int(time.time() * 1000), "service": cfg.service, "role": role,
            "asset": asset, "payload": cleaned, "sample_rate": cfg.sample_rate,
            "code_location": code_location if code_location is not None else codeloc.here(3),
        }
        data = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        if len(data) > cfg.max_event_bytes:
            counters.incr("dropped_too_large")
            return False
        counters.incr("captured")
        self.emitter.send(trace.trace_id.encode("ascii"), data)
        return True
