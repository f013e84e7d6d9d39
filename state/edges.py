"""Edge aggregates of the edge merge, with the static-verification index."""

from __future__ import annotations

from collections.abc import Iterable

from state.transaction import Transaction
from vocab import EdgeState

_EDGE = b"edge|e|"
_STATIC = b"edge|s|"
_WATERMARK = b"edge|w"


class EdgeStore:
    """Edge states by edge id, the partition's watermark, and static deadlines.

    Edge states and the watermark are kept decoded in memory while the
    transaction is open and written to it once, before it commits: a batch
    carries many signals of the same few hundred edges. Use one instance per
    transaction.
    """

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx
        raw = tx.get(_WATERMARK)
        self.watermark = int(raw) if raw is not None else -1
        self._stored_watermark = self.watermark
        self._states: dict[str, EdgeState | None] = {}
        self._dirty: set[str] = set()
        tx.before_commit(self._write)

    def get(self, edge_id: str) -> EdgeState | None:
        if edge_id in self._states:
            return self._states[edge_id]
        raw = self.tx.get(_EDGE + edge_id.encode())
        state = None if raw is None else EdgeState.from_bytes(raw)
        self._states[edge_id] = state
        return state

    def put(self, state: EdgeState) -> None:
        """Keep `state` as its edge's; written when the transaction commits."""
        self._states[state.edge_id] = state
        self._dirty.add(state.edge_id)

    def advance(self, ts: int) -> None:
        if ts > self.watermark:
            self.watermark = ts

    def watch_static(self, edge_id: str, deadline: int) -> None:
        """Check this edge again once the watermark passes `deadline`."""
        self.tx.put(_STATIC + b"%020d|" % deadline + edge_id.encode(), b"")

    def due_static(self) -> list[str]:
        """Edge ids whose static deadline the watermark passed; their index entries go."""
        due = []
        for key, _ in list(self.tx.scan(_STATIC, _STATIC + b"%020d|" % self.watermark)):
            self.tx.delete(key)
            due.append(key[len(_STATIC):].partition(b"|")[2].decode())
        return due

    def _write(self) -> None:
        for edge_id in self._dirty:
            state = self._states[edge_id]
            if state is not None:
                self.tx.put(_EDGE + edge_id.encode(), state.to_bytes())
        self._dirty.clear()
        if self.watermark != self._stored_watermark:
            self.tx.put(_WATERMARK, str(self.watermark).encode())
            self._stored_watermark = self.watermark


def restored_records(states: Iterable[EdgeState], verification_ms: int) -> dict[bytes, bytes]:
    """The records of an edge-merge partition rebuilt from its edges' states.

    Each state; the partition's watermark (event time), taken as the latest
    `last_seen` (signals are folded with `last_seen = max(ts)`, so it is the
    watermark the lost store had for these edges); and the static deadline of
    every live static-only edge, so retraction still happens on time.
    """
    records: dict[bytes, bytes] = {}
    watermark = -1
    for state in states:
        records[_EDGE + state.edge_id.encode()] = state.to_bytes()
        watermark = max(watermark, state.last_seen)
        if state.static_only and not state.deleted:
            deadline = state.first_seen + verification_ms
            records[_STATIC + b"%020d|" % deadline + state.edge_id.encode()] = b""
    if watermark >= 0:
        records[_WATERMARK] = str(watermark).encode()
    return records
