"""W3C trace context and the sampling decision.

The decision is a pure function of the trace id and the rate, so every
service at the same rate samples the same traces, and a service at a higher
rate samples a superset of those sampled at a lower one (as OpenTelemetry's
`TraceIdRatioBased`: the low 64 bits of the id against rate * 2**64).

>>> tid = "4bf92f3577b34da6a3ce929d0e0e4736"
>>> parse_traceparent(f"00-{tid}-00f067aa0ba902b7-01") == tid
True
>>> parse_traceparent("garbage") is None
True
>>> sampled(tid, 1.0), sampled(tid, 0.0)
(True, False)
"""

from __future__ import annotations

import functools
import math
import random  # the module instance is reseeded in a forked child

_BOUND = 1 << 64
_HEX = frozenset("0123456789abcdef")


def new_trace_id(low: int | None = None) -> str:
    """A new trace id, ending in `low` when the low half was drawn already."""
    high = random.getrandbits(64) or 1  # never the invalid all-zero id
    return f"{high:016x}{random.getrandbits(64) if low is None else low:016x}"


def new_span_id() -> str:
    return f"{random.getrandbits(64):016x}"


def parse_traceparent(value: str | bytes | None) -> str | None:
    """The trace id of a valid version-00 `traceparent` header, else None."""
    if value is None:
        return None
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            return None
    parts = value.strip().split("-")
    if len(parts) < 4 or len(parts[0]) != 2 or parts[0] == "ff":
        return None
    trace_id = parts[1].lower()
    if (len(trace_id) != 32 or not _HEX.issuperset(trace_id) or trace_id == "0" * 32
            or len(parts[2]) != 16):
        return None
    return trace_id


def sampled(trace_id: str, rate: float) -> bool:
    """Whether this trace is sampled at `rate` (deterministic in the trace id)."""
    if rate >= 1.0:
        return True
    if rate <= 0.0:
        return False
    return int(trace_id[16:32], 16) < rate * _BOUND


@functools.cache
def threshold(rate: float) -> int:
    """A trace id is sampled at `rate` when its low 64 bits are below this."""
    return _BOUND if rate >= 1.0 else max(0, math.ceil(rate * _BOUND))  # low < x iff low < ceil(x)


def traceparent(trace_id: str, is_sampled: bool) -> str:
    """A child `traceparent` for an outbound call or message of this trace."""
    return f"00-{trace_id}-{new_span_id()}-{'01' if is_sampled else '00'}"
