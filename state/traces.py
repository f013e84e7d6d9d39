"""Per-trace capture windows for the probe join.

Each capture of a trace is kept (payload included) until the trace window
closes; the payload bytes live nowhere else and are deleted with the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import orjson

from state.transaction import Transaction, length_prefixed
from state.windows import Admission, EventTimeWindows, WindowMeta


class Capture(NamedTuple):
    """One capture kept in its trace's window (a tuple: the join makes one per event)."""

    role: str  # "source" | "sink"
    asset: str
    ts: int
    payload: bytes

    def to_bytes(self) -> bytes:
        header = orjson.dumps({"role": self.role, "asset": self.asset, "ts": self.ts})
        return header + b"\x00" + self.payload

    @classmethod
    def from_bytes(cls, raw: bytes) -> Capture:
        header, _, payload = raw.partition(b"\x00")
        head = orjson.loads(header)
        return cls(role=head["role"], asset=head["asset"], ts=head["ts"], payload=payload)


@dataclass(frozen=True)
class TraceCapsSpec:
    max_captures: int
    max_bytes: int


class TraceWindows:
    """Captures by trace id, in event-time windows with caps."""

    def __init__(self, tx: Transaction, *, size_ms: int, allowed_lateness_ms: int,
                 caps: TraceCapsSpec) -> None:
        self.tx = tx
        self.windows = EventTimeWindows(tx, "trace", size_ms=size_ms,
                                        allowed_lateness_ms=allowed_lateness_ms)
        self.caps = caps
        self._closed_early = 0
        # Traces touched by this transaction, so that the captures of a trace
        # are read and decoded once per batch, not once per capture.
        self._open: dict[str, tuple[WindowMeta, list[Capture], bytes]] = {}

    def _prefix(self, trace_id: str) -> bytes:
        return length_prefixed(b"trace|c|", trace_id)

    def captures(self, trace_id: str) -> list[Capture]:
        return [Capture.from_bytes(v) for _, v in self.tx.scan_prefix(self._prefix(trace_id))]

    def add(self, trace_id: str, capture: Capture) -> tuple[Admission, list[Capture]]:
        """Store a capture; return how it was admitted and the trace's earlier captures.

        A late capture (its window already closed) or one over the trace's caps
        is not stored; the overflow is counted on the window.
        """
        windows = self.windows
        windows.advance(capture.ts)
        if windows.is_late(capture.ts):
            return Admission.LATE, []
        cached = self._open.get(trace_id)
        if cached is None or cached[0].close_at <= windows.watermark:
            cached = self._working_set(trace_id, capture.ts)
        meta, stored, prefix = cached
        size = len(capture.payload)
        if meta.count >= self.caps.max_captures or meta.size + size > self.caps.max_bytes:
            meta.overflow += 1
            windows.save(trace_id, meta)
            return Admission.OVERFLOW, []
        earlier = stored.copy()
        self.tx.put(prefix + b"%06d" % meta.count, capture.to_bytes())
        stored.append(capture)
        meta.count += 1
        meta.size += size
        windows.save(trace_id, meta)
        return Admission.STORED, earlier

    def _working_set(self, trace_id: str, ts: int) -> tuple[WindowMeta, list[Capture], bytes]:
        """The trace's open window, captures and key prefix, closing an expired window first."""
        closed = self.windows.close_if_expired(trace_id)
        if closed is not None:
            self._forget(trace_id, closed)
            self._closed_early += 1
        meta = self.windows.open(trace_id, ts)
        entry = (meta, self.captures(trace_id) if meta.count else [], self._prefix(trace_id))
        self._open[trace_id] = entry
        return entry

    def _forget(self, trace_id: str, meta: WindowMeta) -> None:
        """Delete the closed window's captures: keys 0 .. count-1 under the trace's prefix."""
        prefix = self._prefix(trace_id)
        for number in range(meta.count):
            self.tx.delete(prefix + b"%06d" % number)

    def expire(self) -> int:
        """Delete every closed trace with its captures; return how many closed.

        The count includes traces closed early by `add` since the last call.
        """
        closed = self.windows.close_expired()
        for trace_id, meta in closed:
            self._forget(trace_id, meta)
        count, self._closed_early = len(closed) + self._closed_early, 0
        return count
