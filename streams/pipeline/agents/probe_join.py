"""probe-events -> runtime signals: captures joined per trace, matched per batch.

Each capture is stored in its trace's window and matched against the
counterparts already there (a source against earlier sinks, a sink against
earlier sources), so arrival order does not change the result. All requests
of a batch go to the Rust matcher in one call.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import matcher_rs
from analyzers.payloads import PayloadError, payload_bytes
from analyzers.runtime import RuntimeFold
from state.traces import Capture, TraceCapsSpec, TraceWindows
from state.transaction import Transaction
from state.windows import Admission
from streams.pipeline.batch import InEvent, Output, dead_letter
from streams.pipeline.metrics import Metrics
from streams.pipeline.topology import Topology

AGENT = "probe-join"


@dataclass
class ProbeJoin:
    """The probe join's handler, configured from topology.yaml."""

    topology: Topology
    metrics: Metrics

    def __call__(self, tx: Transaction, events: list[InEvent]) -> list[Output]:
        topo = self.topology
        traces = TraceWindows(
            tx, size_ms=topo.windows.trace.size_ms,
            allowed_lateness_ms=topo.windows.trace.allowed_lateness_ms,
            caps=TraceCapsSpec(topo.caps.trace.max_captures, topo.caps.trace.max_bytes),
        )
        max_bytes = topo.caps.capture_max_bytes
        outputs: list[Output] = []
        requests: list[tuple[list[bytes], list[bytes]]] = []
        assets: list[tuple[list[str], list[str], int]] = []
        admissions: Counter[Admission] = Counter()
        for item in events:
            event = item.event
            try:
                payload = payload_bytes(event)
            except PayloadError as exc:
                outputs.append(dead_letter(item.origin, f"probe: {exc}",
                                           item.key, item.raw, event["ts"], AGENT))
                continue
            if len(payload) > max_bytes:
                reason = f"probe: payload of {len(payload)} bytes is over the cap of {max_bytes}"
                outputs.append(dead_letter(item.origin, reason, item.key, item.raw,
                                           event["ts"], AGENT))
                continue
            role = event["role"]
            capture = Capture(role, event["asset"], event["ts"], payload)
            admission, earlier = traces.add(event["trace_id"], capture)
            admissions[admission] += 1
            if admission is not Admission.STORED:
                continue
            counterparts = [c for c in earlier if c.role != role]
            if not counterparts:
                continue
            if role == "source":
                sources, sinks = [capture], counterparts
            else:
                sources, sinks = counterparts, [capture]
            requests.append(([c.payload for c in sources], [c.payload for c in sinks]))
            assets.append(([c.asset for c in sources], [c.asset for c in sinks], capture.ts))
        for admission, count in admissions.items():
            self.metrics.incr(f"{AGENT}.{admission.value}", count)
        fold = RuntimeFold()
        if requests:
            results = matcher_rs.match_requests(
                requests, min_length=topo.matcher.min_length,
                transforms=list(topo.matcher.transforms), max_capture_bytes=max_bytes,
            )
            for result, (src_assets, sink_assets, ts) in zip(results, assets, strict=True):
                if result.failed:
                    self.metrics.incr(f"{AGENT}.matcher_failed")
                    continue
                fold.add(result, src_assets, sink_assets, ts)
        for signal in fold.signals():
            outputs.append(Output("flow-signals", signal.edge_id.encode(), signal.to_json()))
        self.metrics.incr(f"{AGENT}.traces_closed", traces.expire())
        return outputs
