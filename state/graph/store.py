"""The lineage graph materialized from `lineage-graph` deltas into one ordered store.

Keys (all names UTF-8; `<x>` is `length_prefixed`, so no name's prefix is
another's):

- `e|EDGE_ID` -> the latest delta of the edge as received (an upsert), or a
  tombstone `{"op":"delete","version":N,...}` kept so that an older upsert
  replayed later does not resurrect a deleted edge.
- `o|<SRC>DST` and `i|<DST>SRC` -> `[confidence rank, score, kinds]`: out- and
  in-adjacency with what a traversal filters on, without reading the edge.
- `fo|<TABLE>FIELD` / `fi|<TABLE>FIELD` -> fields of a table that have out-
  (in-) edges, so a traversal holding the table continues along them.
- `m|offset|P` -> the last offset of topic partition P applied; `m|count` ->
  the number of live edges. Both change in the same batch as the edges.

A delta is applied only if its `version` is above the stored one: replays,
redeliveries and out-of-order copies are no-ops.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

import orjson

from state.transaction import Store, Transaction, length_prefixed, prefix_end

CONFIDENCES = ("low", "medium", "high")
CONFIDENCE_RANK = {name: rank for rank, name in enumerate(CONFIDENCES)}

Direction = Literal["downstream", "upstream"]

_EDGE = b"e|"
_OUT = b"o|"
_IN = b"i|"
_FIELDS_OUT = b"fo|"
_FIELDS_IN = b"fi|"
_OFFSET = b"m|offset|"
_COUNT = b"m|count"


def table_of(asset: str) -> str:
    """The table (or other container) of an asset: the part before `#`."""
    return asset.partition("#")[0]


class EdgeRef(NamedTuple):
    """An edge as traversals see it: endpoints and what filters look at.

    A named tuple: traversals make one per edge read, and tuples are cheap.
    """

    src: str
    dst: str
    confidence: str
    kinds: tuple[str, ...]
    score: float = 0.0

    @property
    def edge_id(self) -> str:
        return f"{self.src} -> {self.dst}"

    @property
    def rank(self) -> int:
        return CONFIDENCE_RANK[self.confidence]

    def to_json(self) -> dict[str, Any]:
        return {"src": self.src, "dst": self.dst, "confidence": self.confidence,
                "kinds": list(self.kinds)}


@dataclass(frozen=True, slots=True)
class GraphChange:
    """One applied delta: the edge before and after (None when absent)."""

    edge_id: str
    before: EdgeRef | None
    after: EdgeRef | None
    version: int | None

    @property
    def op(self) -> str:
        return "delete" if self.after is None else "upsert"


class GraphStore:
    """The graph over a `Store` (a `PartitionStore`): apply deltas, read adjacency."""

    def __init__(self, store: Store) -> None:
        self.store = store
        #: Records that were not usable deltas (bad JSON, missing fields): skipped.
        self.skipped = 0

    @classmethod
    def open(cls, path: Path) -> GraphStore:
        """Open (or create) the RocksDB store at `path`; raises StoreLockedError if held."""
        from state.rocksdb.graph_db import GraphDB

        return cls(GraphDB(path))

    def close(self) -> None:
        close = getattr(self.store, "close", None)
        if close is not None:
            close()

    # -- writing -----------------------------------------------------------

    def apply(
        self, records: Iterable[tuple[int, int, bytes | None, bytes | None]],
    ) -> list[GraphChange]:
        """Apply topic records `(partition, offset, key, value)` in one atomic write.

        Records at or below a partition's stored offset are skipped (already
        applied); the new offsets are written with the changes. A `None`
        value (a Kafka tombstone) removes the edge and its version for good.
        """
        tx = Transaction(self.store)
        offsets = self.offsets()
        changes: list[GraphChange] = []
        count = self._count(tx)
        for partition, offset, key, value in records:
            if offset <= offsets.get(partition, -1):
                continue
            offsets[partition] = offset
            change = self._apply_record(tx, key, value)
            if change is not None:
                count += (change.after is not None) - (change.before is not None)
                changes.append(change)
        for partition, offset in offsets.items():
            tx.put(_OFFSET + b"%d" % partition, b"%d" % offset)
        tx.put(_COUNT, b"%d" % count)
        tx.commit()
        return changes

    def apply_delta(self, delta: dict[str, Any]) -> GraphChange | None:
        """Apply one delta (no topic offset) and commit it; None if it changed nothing."""
        tx = Transaction(self.store)
        change = self._apply_record(tx, None, orjson.dumps(delta))
        if change is not None:
            count = self._count(tx) + (change.after is not None) - (change.before is not None)
            tx.put(_COUNT, b"%d" % count)
        tx.commit()
        return change

    def _apply_record(
        self, tx: Transaction, key: bytes | None, value: bytes | None,
    ) -> GraphChange | None:
        if value is None:
            return None if key is None else self._purge(tx, key.decode())
        try:
            delta = orjson.loads(value)
            edge_id, src, dst = delta["edge_id"], delta["src"], delta["dst"]
            version = int(delta["version"])
            op = delta["op"]
            if op == "upsert":
                after: EdgeRef | None = EdgeRef(
                    src, dst, delta["confidence"], tuple(delta["kinds"]),
                    float(delta.get("score") or 0.0))
                assert after is not None and after.confidence in CONFIDENCE_RANK
            elif op == "delete":
                after = None
            else:
                raise ValueError(op)
            if not (isinstance(src, str) and isinstance(dst, str) and isinstance(edge_id, str)):
                raise TypeError(edge_id)
        except (ValueError, KeyError, TypeError, AssertionError):
            self.skipped += 1
            return None
        edge_key = _EDGE + edge_id.encode()
        stored = tx.get(edge_key)
        before: EdgeRef | None = None
        if stored is not None:
            old = orjson.loads(stored)
            if version <= int(old["version"]):
                return None
            if old["op"] == "upsert":
                before = EdgeRef(old["src"], old["dst"], old["confidence"], tuple(old["kinds"]),
                                 float(old.get("score") or 0.0))
        if before is not None:
            self._unlink(tx, before)
        if after is not None:
            self._link(tx, after)
            tx.put(edge_key, value)
        else:
            tx.put(edge_key, orjson.dumps({"op": "delete", "edge_id": edge_id, "src": src,
                                           "dst": dst, "version": version}))
        if before is None and after is None:
            return None
        return GraphChange(edge_id, before, after, version)

    def _purge(self, tx: Transaction, edge_id: str) -> GraphChange | None:
        edge_key = _EDGE + edge_id.encode()
        stored = tx.get(edge_key)
        if stored is None:
            return None
        tx.delete(edge_key)
        old = orjson.loads(stored)
        if old["op"] != "upsert":
            return None
        before = EdgeRef(old["src"], old["dst"], old["confidence"], tuple(old["kinds"]),
                         float(old.get("score") or 0.0))
        self._unlink(tx, before)
        return GraphChange(edge_id, before, None, None)

    def _link(self, tx: Transaction, edge: EdgeRef) -> None:
        attrs = orjson.dumps([edge.rank, edge.score, edge.kinds])
        tx.put(length_prefixed(_OUT, edge.src) + edge.dst.encode(), attrs)
        tx.put(length_prefixed(_IN, edge.dst) + edge.src.encode(), attrs)
        if "#" in edge.src:
            tx.put(length_prefixed(_FIELDS_OUT, table_of(edge.src)) + edge.src.encode(), b"")
        if "#" in edge.dst:
            tx.put(length_prefixed(_FIELDS_IN, table_of(edge.dst)) + edge.dst.encode(), b"")

    def _unlink(self, tx: Transaction, edge: EdgeRef) -> None:
        tx.delete(length_prefixed(_OUT, edge.src) + edge.dst.encode())
        tx.delete(length_prefixed(_IN, edge.dst) + edge.src.encode())
        for adjacency, index, asset in ((_OUT, _FIELDS_OUT, edge.src), (_IN, _FIELDS_IN, edge.dst)):
            if "#" not in asset:
                continue
            prefix = length_prefixed(adjacency, asset)
            if next(iter(tx.scan(prefix, prefix_end(prefix))), None) is None:
                tx.delete(length_prefixed(index, table_of(asset)) + asset.encode())

    # -- reading -----------------------------------------------------------

    def offsets(self) -> dict[int, int]:
        """The last applied offset of each topic partition seen."""
        return {int(key[len(_OFFSET):]): int(value)
                for key, value in self.store.scan(_OFFSET, prefix_end(_OFFSET))}

    def edge_count(self) -> int:
        raw = self.store.get(_COUNT)
        return 0 if raw is None else int(raw)

    def _count(self, tx: Transaction) -> int:
        raw = tx.get(_COUNT)
        return 0 if raw is None else int(raw)

    def edge(self, edge_id: str) -> dict[str, Any] | None:
        """The latest upsert delta of a live edge (evidence, score, times), else None."""
        raw = self.store.get(_EDGE + edge_id.encode())
        if raw is None:
            return None
        delta: dict[str, Any] = orjson.loads(raw)
        return delta if delta.get("op") == "upsert" else None

    def version(self, edge_id: str) -> int | None:
        """The stored version of an edge, live or deleted (tombstone), else None."""
        raw = self.store.get(_EDGE + edge_id.encode())
        return None if raw is None else int(orjson.loads(raw)["version"])

    def edges(self) -> Iterator[dict[str, Any]]:
        """Every live edge's latest delta, in edge id order."""
        for _, raw in self.store.scan(_EDGE, prefix_end(_EDGE)):
            delta: dict[str, Any] = orjson.loads(raw)
            if delta.get("op") == "upsert":
                yield delta

    def direct_edges(self, asset: str, direction: Direction) -> list[EdgeRef]:
        """Edges out of (downstream) or into (upstream) exactly `asset`."""
        prefix = length_prefixed(_OUT if direction == "downstream" else _IN, asset)
        start = len(prefix)
        out = []
        for key, raw in self.store.scan(prefix, prefix_end(prefix)):
            other = key[start:].decode()
            rank, score, kinds = orjson.loads(raw)
            src, dst = (asset, other) if direction == "downstream" else (other, asset)
            out.append(EdgeRef(src, dst, CONFIDENCES[rank], tuple(kinds), score))
        return out

    def fields(self, table: str, direction: Direction) -> list[str]:
        """Fields `TABLE#f` that have edges out of (downstream) or into (upstream) them."""
        prefix = length_prefixed(_FIELDS_OUT if direction == "downstream" else _FIELDS_IN, table)
        return [key[len(prefix):].decode()
                for key, _ in self.store.scan(prefix, prefix_end(prefix))]

    def holders(self, asset: str, direction: Direction) -> list[str]:
        """The assets whose edges continue a traversal that holds `asset`.

        A field `T#f` is carried by T's table-level edges too; a table `T`
        stands for every field, so its fields' edges continue it as well.
        """
        if "#" in asset:
            return [asset, table_of(asset)]
        return [asset, *self.fields(asset, direction)]

    def neighbors(self, asset: str, direction: Direction) -> list[EdgeRef]:
        """Every edge that continues a traversal holding `asset` (table semantics)."""
        return [edge for holder in self.holders(asset, direction)
                for edge in self.direct_edges(holder, direction)]
