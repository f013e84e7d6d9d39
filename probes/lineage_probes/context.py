"""The per-request trace: one per inbound request or consumed message.

`CURRENT` holds the trace of the request being served (a contextvar, so
threads and asyncio tasks each see their own). Every hook reads it first; an
unsampled trace makes every capture a pass-through. Enforcement keeps the
request's taint here (every request, sampled or not), so it follows the
asyncio tasks and (hooks/threads_hook.py) the threads started for it.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass

from lineage_probes import tracecontext


@dataclass(slots=True)
class Trace:
    trace_id: str
    sampled: bool
    captures: int = 0
    # enforcement: policy -> the zone asset whose read tainted the request
    # ("inherited": the caller's header); None until tainted
    taint: dict[str, str] | None = None
    # enforcement decisions already recorded in this trace (policy, sink, decision)
    decided: set[tuple[str, str, str]] | None = None
    # precise mode: policy -> the forms of the zone values the request read
    # (in memory for the request only; a policy tainted but absent here is
    # judged at request level)
    values: dict[str, set[str]] | None = None

    def child_traceparent(self) -> str:
        return tracecontext.traceparent(self.trace_id, self.sampled)


CURRENT: ContextVar[Trace | None] = ContextVar("lineage_probes_trace", default=None)
# Set while an HTTP client hook runs, so the client library it sits on
# (requests over urllib3) does not capture the same call twice.
IN_CLIENT: ContextVar[bool] = ContextVar("lineage_probes_in_client", default=False)


def new_trace(traceparent: str | bytes | None, rate: float) -> Trace:
    """The trace of an inbound request or message, joining the caller's if it sent one."""
    trace_id = tracecontext.parse_traceparent(traceparent) or tracecontext.new_trace_id()
    return Trace(trace_id, tracecontext.sampled(trace_id, rate))


def begin(traceparent: str | bytes | None, rate: float) -> Token[Trace | None]:
    return CURRENT.set(new_trace(traceparent, rate))


def end(token: Token[Trace | None]) -> None:
    CURRENT.reset(token)


def sampled_trace() -> Trace | None:
    """The current trace when it is sampled, else None (the hooks' fast path)."""
    trace = CURRENT.get()
    return trace if trace is not None and trace.sampled else None
