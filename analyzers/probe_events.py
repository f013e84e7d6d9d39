"""Probe-event record values in bulk: decoded in Rust, the Python validator behind it.

Raw record values in; per value what the probe join needs out: the event's
fields (`ProbeFields`: trace id, event time, role, asset, payload bytes), a
`PayloadFault` (a valid envelope whose payload cannot be read), or the
envelope's dead-letter reason (a `str`). `matcher_rs.decode_probe_events`
decides most values without a Python dict per event; the few it leaves
(`None`: invalid JSON, `payload_b64`, floats in the payload...) go through
`decode_event`, `validate_event` and `payload_bytes` as one event at a time
would, so every verdict and reason is the Python one (a differential test
holds the two paths to it).

>>> good, bad, tombstone = decode_probe_values([
...     b'{"v":1,"type":"probe","ts":5,"trace_id":"t","role":"sink","asset":"db://x",'
...     b'"payload":{"a": 1}}', b'{"v":2}', None])
>>> good, bad
(('t', 5, 'sink', 'db://x', b'{"a":1}'), "field 'v' must be 1")
>>> tombstone
'empty message (tombstone) on an input topic'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import matcher_rs
from analyzers.events import InvalidEvent, decode_event, validate_event
from analyzers.payloads import PayloadError, payload_bytes

#: The topic whose envelope rules the Rust decoder applies.
PROBE_TOPIC = "probe-events"

#: A valid probe event: (trace_id, ts, role, asset, payload bytes).
ProbeFields = tuple[str, int, str, str, bytes]


class PayloadFault(NamedTuple):
    """A valid envelope whose payload cannot be read (dead-lettered at the event's time)."""

    reason: str
    ts: int


ProbeVerdict = ProbeFields | PayloadFault | str


def decode_probe_value(raw: bytes | None, *, expected_topic: str = PROBE_TOPIC) -> ProbeVerdict:
    """One value through the Python validator: the reference the Rust path must equal."""
    try:
        event = decode_event(raw)
        validate_event(event, expected_topic=expected_topic)
    except InvalidEvent as exc:
        return exc.reason
    try:
        payload = payload_bytes(event)
    except PayloadError as exc:
        return PayloadFault(f"probe: {exc}", event["ts"])
    return (event["trace_id"], event["ts"], event["role"], event["asset"], payload)


def decode_probe_batch(values: Sequence[bytes | None]) -> matcher_rs.ProbeBatch:
    """A partition's values decoded in Rust for the trace join (`matcher_rs.ProbeBatch`),
    the values it leaves settled by the Python validator: the verdicts and
    reasons of `decode_probe_values`, without the events crossing into Python.

    >>> batch = decode_probe_batch([b'{"v":2}', None, b'{"v":1,"type":"probe","ts":5,'
    ...     b'"trace_id":"t","role":"sink","asset":"db://x","payload":1.5}'])
    >>> len(batch), [reason for _, reason, _ in batch.dead()]
    (1, ["field 'v' must be 1", 'empty message (tombstone) on an input topic'])
    >>> batch.trace_ids(1024)
    ['t']
    """
    batch = matcher_rs.ProbeBatch(values)
    for i in batch.undecided():
        batch.settle(i, decode_probe_value(values[i]))
    return batch


def decode_probe_values(values: Sequence[bytes | None], *, expected_topic: str = PROBE_TOPIC,
                        native: bool = True) -> list[ProbeVerdict]:
    """Decode and validate a batch of values; one verdict per value, in order.

    `native=False` (or a topic other than probe-events) takes the Python path
    for every value.
    """
    if not native or expected_topic != PROBE_TOPIC:
        return [decode_probe_value(raw, expected_topic=expected_topic) for raw in values]
    fast = matcher_rs.decode_probe_events([b"" if raw is None else raw for raw in values])
    verdicts: list[ProbeVerdict] = fast  # type: ignore[assignment]  # Nones replaced below
    for i, verdict in enumerate(fast):
        if verdict is None:
            verdicts[i] = decode_probe_value(values[i], expected_topic=expected_topic)
    return verdicts
