"""Threads: the request's trace (and so its taint) follows the threads started for it.

asyncio tasks copy the context by themselves, and `asyncio.to_thread` /
Starlette's thread pool run their function in a copy of it; a plain
`threading.Thread` and `concurrent.futures.ThreadPoolExecutor.submit` do
not. `Thread.start` notes the current trace and the new thread sets it
before `run`; `submit` wraps the function to run with the submitter's trace.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from lineage_probes import context
from lineage_probes.capture import Recorder
from lineage_probes.probe import Patches, Probe


def install(rec: Recorder, patches: Patches) -> bool:
    probe = Probe("threads")
    if not hasattr(threading.Thread, "_bootstrap_inner"):
        return False  # another Python: leave threads alone
    original_start = threading.Thread.start
    original_inner = threading.Thread._bootstrap_inner
    original_submit = ThreadPoolExecutor.submit

    def start(self: threading.Thread) -> None:
        if probe.enabled:
            trace = context.CURRENT.get()
            if trace is not None:
                try:
                    self._lp_trace = trace  # type: ignore[attr-defined]
                except Exception as exc:  # a Thread subclass with __slots__
                    probe.fail(exc)
        original_start(self)

    def _bootstrap_inner(self: threading.Thread) -> None:
        trace = getattr(self, "_lp_trace", None)
        if trace is not None:
            context.CURRENT.set(trace)
        original_inner(self)

    def submit(self: ThreadPoolExecutor, fn: Callable[..., Any], /, *args: Any,
               **kwargs: Any) -> Any:
        trace = context.CURRENT.get() if probe.enabled else None
        if trace is None:
            return original_submit(self, fn, *args, **kwargs)

        def in_trace(*a: Any, **kw: Any) -> Any:
            token = context.CURRENT.set(trace)
            try:
                return fn(*a, **kw)
            finally:
                context.CURRENT.reset(token)

        return original_submit(self, in_trace, *args, **kwargs)

    patches.patch(threading.Thread, "start", start)
    patches.patch(threading.Thread, "_bootstrap_inner", _bootstrap_inner)
    patches.patch(ThreadPoolExecutor, "submit", submit)
    return True
