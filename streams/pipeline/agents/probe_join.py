"""probe-events -> runtime signals: captures joined per trace, matched per batch.

Each capture is stored in its trace's window and matched against the
counterparts already there (a source against earlier sinks, a sink against
earlier sources), so arrival order does not change the result. A
partition's record values are decoded and validated in Rust and stay there
(`matcher_rs.ProbeBatch`, `analyzers.probe_events.decode_probe_batch`); the
per-event join (windows, pairing, matching, the runtime fold, the signals'
records) runs over them in one more Rust call (`ProbeBatch.join`) between
`TraceWindows.load` and `TraceWindows.apply`, and Python words the dead
letters. `native=False` decodes with the Python validator and runs the same
join event by event in Python, the reference the differential tests hold the
Rust path to.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import matcher_rs
from analyzers.payloads import payload_bytes
from analyzers.probe_events import (
    PayloadFault,
    ProbeFields,
    decode_probe_batch,
    decode_probe_value,
    decode_probe_values,
)
from analyzers.runtime import RuntimeFold
from state.sealing import EpochKeys, Keyrings
from state.traces import Capture, TraceCapsSpec, TraceWindows
from state.transaction import Transaction
from state.windows import Admission, EventTimeBounds
from streams.pipeline.batch import (
    Message,
    Output,
    message_dead_letter,
    message_values,
    record_time_ms,
    record_times_ms,
)
from streams.pipeline.deadletters import window_refusal
from streams.pipeline.metrics import Metrics
from streams.pipeline.topology import Topology

AGENT = "probe-join"

__all__ = ["AGENT", "ProbeJoin", "payload_bytes"]

#: One decoded event with the message it came in (the Python reference join's).
ProbeItem = tuple[ProbeFields | PayloadFault, Message]


@dataclass(frozen=True, slots=True)
class DecodedBatch:
    """A partition's batch decoded in Rust, with the messages it came in."""

    batch: matcher_rs.ProbeBatch
    messages: Sequence[Message]

    def __len__(self) -> int:
        return len(self.batch)

    def __iter__(self) -> Iterator[ProbeItem]:
        """The valid events as the reference decode gives them (made when asked:
        the join does not need them)."""
        messages = self.messages
        for index, item in self.batch.valid():
            if item is None:  # held: a `ts` beyond 64 bits
                yield decode_probe_value(messages[index].value), messages[index]  # type: ignore[misc]
            else:
                yield PayloadFault(*item) if len(item) == 2 else item, messages[index]


#: What `decode_batch` gives `__call__`.
ProbeEvents = DecodedBatch | list[ProbeItem]


@dataclass
class ProbeJoin:
    """The probe join's handler, configured from topology.yaml."""

    topology: Topology
    metrics: Metrics
    #: The in-memory capture keys of each partition store (state/sealing.py);
    #: made from the topology unless given.
    keyrings: Keyrings | None = None
    #: The per-event work in Rust (`matcher_rs.join_traces`); False: the Python
    #: reference, event by event (the differential tests hold both to the same).
    native: bool = True

    def __post_init__(self) -> None:
        if self.keyrings is None:
            self.keyrings = Keyrings(self.topology.windows.capture_key_epoch_ms)
        self._keyrings = self.keyrings

    def keys(self, store: object) -> EpochKeys:
        """The capture keys of one partition store."""
        return self._keyrings.of(store)

    def decode_batch(self, messages: Sequence[Message], *, agent: str, metrics: Metrics,
                     bounds: EventTimeBounds | None = None,
                     ) -> tuple[ProbeEvents, list[Output]]:
        """The batch's events (decoded in Rust) and the dead letters of the invalid ones.

        With `bounds`, an event too far from its record timestamp is a dead
        letter as well: it never reaches a trace window nor moves its watermark.
        Native, the decoded events stay in Rust (`matcher_rs.ProbeBatch`) for
        the join; `native=False` decodes them in Python for the reference join.
        """
        now = int(time.time() * 1000)
        if not self.native:
            return self._decode_python(messages, agent=agent, metrics=metrics, bounds=bounds,
                                       now=now)
        batch = decode_probe_batch(message_values(messages))
        if bounds is not None:
            batch.bound(record_times_ms(messages), bounds.max_future_ms,
                        bounds.max_age_ms)
            for index in batch.held():  # a `ts` beyond 64 bits: bounded here
                verdict = decode_probe_value(messages[index].value)
                ts = verdict.ts if isinstance(verdict, PayloadFault) else verdict[1]
                reason = bounds.refusal(ts, record_time_ms(messages[index]))  # type: ignore[arg-type]
                if reason is not None:
                    batch.settle(index, reason)
        dead: list[Output] = []
        if len(batch) < len(messages):
            dead = [message_dead_letter(messages[index], reason if reason is not None
                                        else _bound_refusal(bounds, ts, messages[index]),
                                        now, agent)
                    for index, reason, ts in batch.dead()]
            metrics.incr(f"{agent}.dead_letters", len(dead))
        return DecodedBatch(batch, messages), dead

    def _decode_python(self, messages: Sequence[Message], *, agent: str, metrics: Metrics,
                       bounds: EventTimeBounds | None, now: int,
                       ) -> tuple[list[ProbeItem], list[Output]]:
        """The reference decode, value by value in Python."""
        verdicts = decode_probe_values([m.value for m in messages], native=False)
        if bounds is not None:
            verdicts = [verdict if isinstance(verdict, str) else bounds.refusal(
                verdict.ts if isinstance(verdict, PayloadFault) else verdict[1],
                record_time_ms(message)) or verdict
                for message, verdict in zip(messages, verdicts, strict=True)]
        items: list[ProbeItem] = [(verdict, message) for message, verdict  # type: ignore[misc]
                                  in zip(messages, verdicts, strict=True)
                                  if type(verdict) is not str]
        dead: list[Output] = []
        if len(items) < len(messages):
            dead = [message_dead_letter(message, verdict, now, agent)
                    for message, verdict in zip(messages, verdicts, strict=True)
                    if type(verdict) is str]
            metrics.incr(f"{agent}.dead_letters", len(dead))
        return items, dead

    def __call__(self, tx: Transaction, events: ProbeEvents) -> list[Output]:
        topo = self.topology
        traces = TraceWindows(
            tx, size_ms=topo.windows.trace.size_ms,
            allowed_lateness_ms=topo.windows.trace.allowed_lateness_ms,
            caps=TraceCapsSpec(topo.caps.trace.max_captures, topo.caps.trace.max_bytes),
            keys=self.keys(tx.store),
        )
        if isinstance(events, DecodedBatch):
            outputs = self._join_native(traces, events)
        else:
            outputs = self._join_python(traces, events)
        self.metrics.incr(f"{AGENT}.traces_closed", traces.expire())
        if traces.lost_captures:
            self.metrics.incr(f"{AGENT}.lost_captures", traces.lost_captures)
            self.metrics.incr(f"{AGENT}.lost_windows", traces.lost_windows)
        return outputs

    def _refusal(self, fields: ProbeFields | PayloadFault, message: Message) -> Output | None:
        """The dead letter of an event no window may see: an unreadable or oversized payload."""
        if isinstance(fields, PayloadFault):
            return message_dead_letter(message, fields.reason, fields.ts, AGENT)
        max_bytes = self.topology.caps.capture_max_bytes
        if len(fields[4]) > max_bytes:
            return message_dead_letter(message, _oversize(len(fields[4]), max_bytes), fields[1],
                                       AGENT)
        return None

    def _join_native(self, traces: TraceWindows, events: DecodedBatch) -> list[Output]:
        """The per-event work in Rust over the batch it decoded (`ProbeBatch.join`),
        with the windows `traces` loads; the same outputs, state and counts as
        `_join_python`."""
        topo = self.topology
        cap = topo.caps.capture_max_bytes
        batch = events.batch
        trace_ids = batch.trace_ids(cap)
        started = time.perf_counter()
        refusals, (admissions, watermark, writes, signals, requests, matched_bytes,
                   failed) = batch.join(
            traces.load(trace_ids), watermark=traces.windows.watermark,
            size_ms=topo.windows.trace.size_ms,
            allowed_lateness_ms=topo.windows.trace.allowed_lateness_ms,
            max_captures=topo.caps.trace.max_captures, max_bytes=topo.caps.trace.max_bytes,
            prefixes=traces.prefixes, open_windows=traces.windows.open_count,
            min_length=topo.matcher.min_length, transforms=list(topo.matcher.transforms),
            max_capture_bytes=cap)
        if requests:
            self.metrics.observe(f"{AGENT}.matcher", time.perf_counter() - started)
            self.metrics.incr(f"{AGENT}.matcher_bytes", matched_bytes)
            self.metrics.incr(f"{AGENT}.matcher_failed", failed)
        traces.apply(trace_ids, writes, watermark)
        for admission in Admission:
            self.metrics.incr(f"{AGENT}.{admission.value}", admissions.count(_CODES[admission]))
        outputs: list[Output] = []
        if refusals:  # dead letters, in event order
            messages = events.messages
            outputs = [message_dead_letter(messages[index], _refusal_reason(code, detail, cap),
                                           ts, AGENT)
                       for index, code, ts, detail in refusals]
        outputs.extend(itertools.starmap(_signal_output, signals))
        return outputs

    def _join_python(self, traces: TraceWindows, events: list[ProbeItem]) -> list[Output]:
        """The reference join, event by event in Python (`native=False`)."""
        topo = self.topology
        max_bytes = topo.caps.capture_max_bytes
        outputs: list[Output] = []
        requests: list[tuple[list[bytes], list[bytes]]] = []
        assets: list[tuple[list[str], list[str], int]] = []
        admissions: Counter[Admission] = Counter()
        for fields, message in events:
            refused = self._refusal(fields, message)
            if refused is not None:
                outputs.append(refused)
                continue
            trace_id, ts, role, asset, payload = fields  # type: ignore[misc]
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
        return outputs


#: The admission codes of `matcher_rs.join_traces`.
_CODES = {Admission.STORED: 0, Admission.LATE: 1, Admission.OVERFLOW: 2}


def _signal_output(key: bytes, value: bytes) -> Output:
    """A `flow-signals` record made in Rust (`matcher_rs.runtime_signals`)."""
    return Output("flow-signals", key, value)


def _oversize(size: int, max_bytes: int) -> str:
    """The dead-letter reason of a payload over the capture cap."""
    return f"probe: payload of {size} bytes is over the cap of {max_bytes}"


def _refusal_reason(code: int, detail: str | int | None, max_bytes: int) -> str:
    """The dead-letter reason of a `ProbeBatch.join` refusal."""
    if code == 0:  # a payload fault, with its reason
        return str(detail)
    if code == 1:  # a payload over the cap, with its size
        return _oversize(int(detail or 0), max_bytes)
    return window_refusal("trace", late=code == 2)


def _bound_refusal(bounds: EventTimeBounds | None, ts: int | None, message: Message) -> str:
    """The reason `ProbeBatch.bound` refused an event for (it words none itself)."""
    reason = None if bounds is None or ts is None else bounds.refusal(ts, record_time_ms(message))
    if reason is None:  # not reached: the Rust bound and `refusal` are the same test
        raise ValueError("an event refused by its bounds that EventTimeBounds lets through")
    return reason
