"""probe-events -> runtime signals: captures joined per trace, matched per batch.

Each capture is stored in its trace's window and matched against the
counterparts already there (a source against earlier sinks, a sink against
earlier sources), so arrival order does not change the result. All requests
of a batch go to the Rust matcher in one call. The batch's record values
are decoded and validated in Rust too (`analyzers.probe_events`): the join
sees each event as a tuple of the fields it uses, never as a dict.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import matcher_rs
from analyzers.payloads import payload_bytes
from analyzers.probe_events import PayloadFault, ProbeFields, decode_probe_values
from analyzers.runtime import RuntimeFold
from state.sealing import EpochKeys, Keyrings
from state.traces import Capture, TraceCapsSpec, TraceWindows
from state.transaction import Transaction
from state.windows import Admission, EventTimeBounds
from streams.pipeline.batch import Message, Output, message_dead_letter, record_time_ms
from streams.pipeline.deadletters import window_refusal
from streams.pipeline.metrics import Metrics
from streams.pipeline.topology import Topology

AGENT = "probe-join"

__all__ = ["AGENT", "ProbeJoin", "payload_bytes"]

#: One decoded event with the message it came in.
ProbeItem = tuple[ProbeFields | PayloadFault, Message]


@dataclass
class ProbeJoin:
    """The probe join's handler, configured from topology.yaml."""

    topology: Topology
    metrics: Metrics
    #: The in-memory capture keys of each partition store (state/sealing.py);
    #: made from the topology unless given.
    keyrings: Keyrings | None = None

    def __post_init__(self) -> None:
        if self.keyrings is None:
            self.keyrings = Keyrings(self.topology.windows.capture_key_epoch_ms)
        self._keyrings = self.keyrings

    def keys(self, store: object) -> EpochKeys:
        """The capture keys of one partition store."""
        return self._keyrings.of(store)

    def decode_batch(self, messages: Sequence[Message], *, agent: str, metrics: Metrics,
                     bounds: EventTimeBounds | None = None,
                     ) -> tuple[list[ProbeItem], list[Output]]:
        """The batch's events (decoded in Rust) and the dead letters of the invalid ones.

        With `bounds`, an event too far from its record timestamp is a dead
        letter as well: it never reaches a trace window nor moves its watermark.
        """
        items: list[ProbeItem] = []
        dead: list[Output] = []
        now = int(time.time() * 1000)
        verdicts = decode_probe_values([m.value for m in messages])
        for message, verdict in zip(messages, verdicts, strict=True):
            if not isinstance(verdict, str) and bounds is not None:
                ts = verdict.ts if isinstance(verdict, PayloadFault) else verdict[1]
                verdict = bounds.refusal(ts, record_time_ms(message)) or verdict
            if isinstance(verdict, str):
                dead.append(message_dead_letter(message, verdict, now, agent))
                metrics.incr(f"{agent}.dead_letters")
            else:
                items.append((verdict, message))
        return items, dead

    def __call__(self, tx: Transaction, events: list[ProbeItem]) -> list[Output]:
        topo = self.topology
        traces = TraceWindows(
            tx, size_ms=topo.windows.trace.size_ms,
            allowed_lateness_ms=topo.windows.trace.allowed_lateness_ms,
            caps=TraceCapsSpec(topo.caps.trace.max_captures, topo.caps.trace.max_bytes),
            keys=self.keys(tx.store),
        )
        max_bytes = topo.caps.capture_max_bytes
        outputs: list[Output] = []
        requests: list[tuple[list[bytes], list[bytes]]] = []
        assets: list[tuple[list[str], list[str], int]] = []
        admissions: Counter[Admission] = Counter()
        for fields, message in events:
            if isinstance(fields, PayloadFault):
                outputs.append(message_dead_letter(message, fields.reason, fields.ts, AGENT))
                continue
            trace_id, ts, role, asset, payload = fields
            if len(payload) > max_bytes:
                reason = f"probe: payload of {len(payload)} bytes is over the cap of {max_bytes}"
                outputs.append(message_dead_letter(message, reason, ts, AGENT))
                continue
            capture = Capture(role, asset, ts, payload)
            admission, earlier = traces.add(trace_id, capture)
            admissions[admission] += 1
            if admission is not Admission.STORED:  # kept as a dead letter: nothing vanishes
                reason = window_refusal("trace", late=admission is Admission.LATE)
                outputs.append(message_dead_letter(message, reason, ts, AGENT))
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
            started = time.perf_counter()
            results = matcher_rs.match_requests(
                requests, min_length=topo.matcher.min_length,
                transforms=list(topo.matcher.transforms), max_capture_bytes=max_bytes,
            )
            self.metrics.observe(f"{AGENT}.matcher", time.perf_counter() - started)
            self.metrics.incr(f"{AGENT}.matcher_bytes", sum(
                len(p) for sources, sinks in requests for p in itertools.chain(sources, sinks)))
            for result, (src_assets, sink_assets, ts) in zip(results, assets, strict=True):
                if result.failed:
                    self.metrics.incr(f"{AGENT}.matcher_failed")
                    continue
                fold.add(result, src_assets, sink_assets, ts)
        for signal in fold.signals():
            outputs.append(Output("flow-signals", signal.edge_id.encode(), signal.to_json()))
        self.metrics.incr(f"{AGENT}.traces_closed", traces.expire())
        if traces.lost_captures:
            self.metrics.incr(f"{AGENT}.lost_captures", traces.lost_captures)
            self.metrics.incr(f"{AGENT}.lost_windows", traces.lost_windows)
        return outputs
