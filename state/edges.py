"""Edge aggregates of the edge merge, with the static-verification index."""

from __future__ import annotations

from analyzers.edges import EdgeState
from state.transaction import Transaction

_EDGE = b"edge|e|"
_STATIC = b"edge|s|"
_WATERMARK = b"edge|w"


class EdgeStore:
    """Edge states by edge id, the partition's watermark, and static deadlines."""

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx
        raw = tx.get(_WATERMARK)
        self.watermark = int(raw) if raw is not None else -1

    def get(self, edge_id: str) -> EdgeState | None:
        raw = self.tx.get(_EDGE + edge_id.encode())
        return None if raw is None else EdgeState.from_bytes(raw)

    def put(self, state: EdgeState) -> None:
        self.tx.put(_EDGE + state.edge_id.encode(), state.to_bytes())

    def advance(self, ts: int) -> None:
        if ts > self.watermark:
            self.watermark = ts
            self.tx.put(_WATERMARK, str(ts).encode())

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
