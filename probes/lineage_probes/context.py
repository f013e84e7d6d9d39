"""The per-request trace: one per inbound request or consumed message.

`CURRENT` holds the trace of the request being served (a contextvar, so
threads and asyncio tasks each see their own). Every hook reads it first; an
unsampled trace makes every capture a pass-through. Enforcement keeps the
request's taint here (every request, sampled or not), so it follows the
asyncio tasks and (hooks/threads_hook.py) the threads started for it.
"""

from __future__ import annotations

import random
import threading
from contextvars import ContextVar, Token

from lineage_probes import tracecontext


class Trace:
    """One request's trace. A trace the probes start themselves gets its id only
    when something needs it (a capture, an outbound call's `traceparent`, an
    enforcement event): an unsampled request that calls nobody never pays for
    drawing and formatting 128 random bits. The sampling decision is taken at
    creation from the low 64 bits, which the id keeps once it is made."""

    __slots__ = ("_id", "_low", "captures", "decided", "sampled", "taint", "values")

    def __init__(self, trace_id: str | None, sampled: bool, low: int | None = None) -> None:
        self._id = trace_id
        self._low = low  # the drawn low half of a new id (None: not drawn yet)
        self.sampled = sampled
        self.captures = 0
        # enforcement: policy -> the zone asset whose read tainted the request
        # ("inherited": the caller's header); None until tainted
        self.taint: dict[str, str] | None = None
        # enforcement decisions already recorded in this trace (policy, sink, decision)
        self.decided: set[tuple[str, str, str]] | None = None
        # precise mode: policy -> the forms of the zone values the request read
        # (in memory for the request only; a policy tainted but absent here is
        # judged at request level)
        self.values: dict[str, set[str]] | None = None

    @property
    def trace_id(self) -> str:
        trace_id = self._id
        if trace_id is None:
            with _ID_LOCK:  # threads started for the request share this trace
                trace_id = self._id
                if trace_id is None:
                    trace_id = self._id = tracecontext.new_trace_id(self._low)
        return trace_id

    def child_traceparent(self) -> str:
        return tracecontext.traceparent(self.trace_id, self.sampled)

    def __repr__(self) -> str:  # the id only, never the taint's values
        return f"Trace({self._id!r}, sampled={self.sampled})"


_ID_LOCK = threading.Lock()
_low_bits = random.getrandbits  # the module instance: reseeded in a forked child


CURRENT: ContextVar[Trace | None] = ContextVar("lineage_probes_trace", default=None)
# Set while an HTTP client hook runs, so the client library it sits on
# (requests over urllib3) does not capture the same call twice.
IN_CLIENT: ContextVar[bool] = ContextVar("lineage_probes_in_client", default=False)


def new_trace(traceparent: str | bytes | None, rate: float) -> Trace:
    """The trace of an inbound request or message, joining the caller's if it sent one."""
    if traceparent is not None:
        trace_id = tracecontext.parse_traceparent(traceparent)
        if trace_id is not None:
            return Trace(trace_id, tracecontext.sampled(trace_id, rate))
    if rate <= 0.0:
        return Trace(None, False)
    if rate >= 1.0:
        return Trace(None, True)
    low = _low_bits(64)
    return Trace(None, low < tracecontext.threshold(rate), low)


def begin(traceparent: str | bytes | None, rate: float) -> Token[Trace | None]:
    return CURRENT.set(new_trace(traceparent, rate))


def end(token: Token[Trace | None]) -> None:
    CURRENT.reset(token)


def sampled_trace() -> Trace | None:
    """The current trace when it is sampled, else None (the hooks' fast path)."""
    trace = CURRENT.get()
    return trace if trace is not None and trace.sampled else None
