"""Per-run windows for OpenLineage events: a run's events meet by `runId`.

Like the `sql_io` halves (`state/jobs.py`): a run's START (with its inputs)
and COMPLETE (with its outputs) arrive apart; the run's merged content and
the keys of the signals already sent for it are kept in an event-time window
per `runId`, so each event adds what it completes and nothing is counted
twice within one run. Values are opaque bytes here (the stream layer merges).
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from state.transaction import Transaction, length_prefixed
from state.windows import Admission, EventTimeWindows


@dataclass
class RunSlot:
    """What a run's window holds: its merged part (None: first event) and sent keys."""

    admission: Admission
    part: bytes | None
    sent: set[str]


class RunWindows:
    """OpenLineage runs by `runId`, in event-time windows with a byte cap."""

    def __init__(self, tx: Transaction, *, size_ms: int, allowed_lateness_ms: int,
                 max_bytes: int) -> None:
        self.tx = tx
        self.windows = EventTimeWindows(tx, "olrun", size_ms=size_ms,
                                        allowed_lateness_ms=allowed_lateness_ms)
        self.max_bytes = max_bytes

    @staticmethod
    def _part_key(run_id: str) -> bytes:
        return length_prefixed(b"olrun|p|", run_id)

    @staticmethod
    def _sent_key(run_id: str) -> bytes:
        return length_prefixed(b"olrun|s|", run_id)

    def open(self, run_id: str, ts: int) -> RunSlot:
        """The run's slot; LATE (window closed) gives an empty one that is not kept."""
        self.windows.advance(ts)
        if self.windows.is_late(ts):
            return RunSlot(Admission.LATE, None, set())
        if self.windows.close_if_expired(run_id) is not None:
            self._forget(run_id)
        self.windows.open(run_id, ts)
        raw_sent = self.tx.get(self._sent_key(run_id))
        sent = set(orjson.loads(raw_sent)) if raw_sent is not None else set()
        return RunSlot(Admission.STORED, self.tx.get(self._part_key(run_id)), sent)

    def save(self, run_id: str, part: bytes, sent: set[str]) -> Admission:
        """Keep the run's merged part and sent keys; OVERFLOW (not kept) past the byte cap."""
        meta = self.windows.open(run_id, 0)
        raw_sent = orjson.dumps(sorted(sent))
        if len(part) + len(raw_sent) > self.max_bytes:
            meta.overflow += 1
            self.windows.save(run_id, meta)
            return Admission.OVERFLOW
        self.tx.put(self._part_key(run_id), part)
        self.tx.put(self._sent_key(run_id), raw_sent)
        meta.count += 1
        meta.size = len(part) + len(raw_sent)
        self.windows.save(run_id, meta)
        return Admission.STORED

    def _forget(self, run_id: str) -> None:
        self.tx.delete(self._part_key(run_id))
        self.tx.delete(self._sent_key(run_id))

    def expire(self) -> int:
        """Delete every closed run; return how many closed."""
        closed = self.windows.close_expired()
        for run_id, _meta in closed:
            self._forget(run_id)
        return len(closed)
