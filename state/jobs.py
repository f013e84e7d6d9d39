"""Per-job windows for the `sql_io` join: READ halves meet WRITE halves.

Halves are joined by `job_id`, else by `trace_id`, inside the job window. A
table pair whose column-level lineage is known (from a full `sql` log) is
remembered so that no table-level edge is added for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from state.transaction import Transaction, length_prefixed
from state.windows import Admission, EventTimeWindows
from vocab import edge_id


@dataclass(frozen=True, slots=True)
class IoHalf:
    job_id: str
    action: str  # "READ" | "WRITE"
    table: str  # asset name of the table
    trace_id: str | None
    ts: int

    def to_bytes(self) -> bytes:
        return orjson.dumps({
            "job_id": self.job_id, "action": self.action, "table": self.table,
            "trace_id": self.trace_id, "ts": self.ts,
        })

    @classmethod
    def from_bytes(cls, raw: bytes) -> IoHalf:
        return cls(**orjson.loads(raw))


@dataclass(frozen=True)
class JobCapsSpec:
    max_events: int
    max_bytes: int


class JobWindows:
    """`sql_io` halves by job, in event-time windows with caps."""

    def __init__(self, tx: Transaction, *, size_ms: int, allowed_lateness_ms: int,
                 caps: JobCapsSpec) -> None:
        self.tx = tx
        self.windows = EventTimeWindows(tx, "job", size_ms=size_ms,
                                        allowed_lateness_ms=allowed_lateness_ms)
        self.caps = caps
        self._closed_early = 0

    def _halves(self, job_id: str) -> list[IoHalf]:
        prefix = length_prefixed(b"job|h|", job_id)
        return [IoHalf.from_bytes(v) for _, v in self.tx.scan_prefix(prefix)]

    def _jobs_of_trace(self, trace_id: str) -> list[str]:
        prefix = length_prefixed(b"job|t|", trace_id)
        return [k[len(prefix):].decode() for k, _ in self.tx.scan_prefix(prefix)]

    def add(self, half: IoHalf) -> tuple[Admission, list[IoHalf]]:
        """Store a half; return its admission and the opposite halves it joins."""
        self.windows.advance(half.ts)
        if self.windows.is_late(half.ts):
            return Admission.LATE, []
        self._close_if_expired(half.job_id)
        meta = self.windows.open(half.job_id, half.ts)
        raw = half.to_bytes()
        if meta.count >= self.caps.max_events or meta.size + len(raw) > self.caps.max_bytes:
            meta.overflow += 1
            self.windows.save(half.job_id, meta)
            return Admission.OVERFLOW, []
        opposite = "WRITE" if half.action == "READ" else "READ"
        partners = [h for h in self._halves(half.job_id) if h.action == opposite]
        if not partners and half.trace_id:
            for other_job in self._jobs_of_trace(half.trace_id):
                if other_job != half.job_id and not self._close_if_expired(other_job):
                    partners += [h for h in self._halves(other_job) if h.action == opposite]
        self.tx.put(length_prefixed(b"job|h|", half.job_id) + b"%06d" % meta.count, raw)
        if half.trace_id:
            self.tx.put(length_prefixed(b"job|t|", half.trace_id) + half.job_id.encode(), b"")
        meta.count += 1
        meta.size += len(raw)
        self.windows.save(half.job_id, meta)
        return Admission.STORED, partners

    def _forget(self, job_id: str) -> None:
        for half in self._halves(job_id):
            if half.trace_id:
                self.tx.delete(length_prefixed(b"job|t|", half.trace_id) + job_id.encode())
        for key, _ in list(self.tx.scan_prefix(length_prefixed(b"job|h|", job_id))):
            self.tx.delete(key)

    def _close_if_expired(self, job_id: str) -> bool:
        """Close a job whose window the watermark passed before `expire` gets to it."""
        if self.windows.close_if_expired(job_id) is None:
            return False
        self._forget(job_id)
        self._closed_early += 1
        return True

    def expire(self) -> int:
        """Delete every closed job with its halves and trace links; return how many closed.

        The count includes jobs closed early by `add` since the last call.
        """
        closed = self.windows.close_expired()
        for job_id, _meta in closed:
            self._forget(job_id)
        count, self._closed_early = len(closed) + self._closed_early, 0
        return count

    def mark_column_lineage(self, src_table: str, dst_table: str) -> None:
        """Remember that column-level lineage is known from `src_table` to `dst_table`."""
        self.tx.put(b"job|cl|" + edge_id(src_table, dst_table).encode(), b"")

    def has_column_lineage(self, src_table: str, dst_table: str) -> bool:
        return self.tx.get(b"job|cl|" + edge_id(src_table, dst_table).encode()) is not None
