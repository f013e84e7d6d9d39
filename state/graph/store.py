"""The lineage graph materialized from `lineage-graph` deltas into one ordered store.

Keys (all names UTF-8):

- `e|EDGE_ID` -> the latest delta of the edge as received (an upsert), or a
  tombstone `{"op":"delete","version":N,...}` kept so that an older upsert
  replayed later does not resurrect a deleted edge.
- `o|ASSET` and `i|ASSET` -> the asset's whole out- (in-) adjacency in one
  value, `[{OTHER: [confidence rank, score, kinds], ...}, {FIELD: 0, ...}]`
  (keys sorted): the edges with what a traversal filters on, and,
  when ASSET is a table, its fields `ASSET#f` that have out- (in-) edges, so
  a traversal holding the table continues along them. Reading an asset's
  neighbors is one point lookup (bloom filters answer the misses), not a
  range scan.
- `m|offset|P` -> the last offset of topic partition P applied; `m|count` ->
  the number of live edges; `m|format` -> the layout's version (a store in
  another layout is emptied on open and rebuilt from the topic). All change
  in the same batch as the edges.

A delta is applied only if its `version` is above the stored one: replays,
redeliveries and out-of-order copies are no-ops. A batch reads each edge and
each touched adjacency list once, changes them in memory and writes them back
in one atomic write.

Decoded adjacency lists can be kept in a bounded LRU (`AdjacencyCache`, opt-in:
`cache_edges`) in the process; `apply` drops the entries of the lists it
rewrote, after its write.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

import orjson

from state.transaction import Store, prefix_end
from vocab import CONFIDENCE_RANK, CONFIDENCES, edge_id, table_of

Direction = Literal["downstream", "upstream"]

_EDGE = b"e|"
_OUT = b"o|"
_IN = b"i|"
_OFFSET = b"m|offset|"
_COUNT = b"m|count"
_FORMAT = b"m|format"
FORMAT = b"2"  # 1: o|<SRC>DST, i|<DST>SRC, fo|, fi| keys (one per edge)

#: Default bound of the adjacency cache, in cached edges and field names: off.
#: With RocksDB's block cache a point read costs a few microseconds; a large
#: cache of decoded lists was slower on random traversals at 1M edges (more
#: objects for the garbage collector to walk), so it is opt-in for workloads
#: that traverse from the same few assets over and over.
DEFAULT_CACHE_EDGES = 0


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
        return edge_id(self.src, self.dst)

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


class _Adjacency(NamedTuple):
    """A decoded adjacency list, as cached: edges in the other end's order, fields."""

    edges: tuple[EdgeRef, ...]
    fields: tuple[str, ...]


_EMPTY = _Adjacency((), ())


def _adjacency_key(asset: str, direction: Direction) -> bytes:
    return (_OUT if direction == "downstream" else _IN) + asset.encode()


def _decode(asset: str, direction: Direction, raw: bytes | None) -> _Adjacency:
    if raw is None:
        return _EMPTY
    edges, fields = orjson.loads(raw)
    if direction == "downstream":
        refs = tuple(EdgeRef(asset, other, CONFIDENCES[rank], tuple(kinds), score)
                     for other, (rank, score, kinds) in edges.items())
    else:
        refs = tuple(EdgeRef(other, asset, CONFIDENCES[rank], tuple(kinds), score)
                     for other, (rank, score, kinds) in edges.items())
    return _Adjacency(refs, tuple(fields))


class AdjacencyCache:
    """A bounded LRU of decoded adjacency lists, safe to share across threads.

    The bound is in cached edges plus field names (an empty list counts 1),
    so a few hubs cannot hold a lot more memory than many leaves. A reader
    that missed takes `generation` before reading the store and offers what
    it read with it; `invalidate` (after a write) bumps the generation, so a
    list read before a write can never be cached after it.
    """

    def __init__(self, max_weight: int = DEFAULT_CACHE_EDGES) -> None:
        self.max_weight = max_weight
        self.generation = 0
        self.hits = 0
        self.misses = 0
        self._weight = 0
        self._lock = threading.Lock()
        self._entries: OrderedDict[bytes, _Adjacency] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def _weight_of(entry: _Adjacency) -> int:
        return 1 + len(entry.edges) + len(entry.fields)

    def get(self, key: bytes) -> _Adjacency | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry

    def offer(self, key: bytes, entry: _Adjacency, generation: int) -> None:
        """Cache `entry`, read from the store at `generation`, unless a write came since."""
        weight = self._weight_of(entry)
        if weight > self.max_weight:
            return
        with self._lock:
            if generation != self.generation or key in self._entries:
                return
            self._entries[key] = entry
            self._weight += weight
            while self._weight > self.max_weight:
                _, old = self._entries.popitem(last=False)
                self._weight -= self._weight_of(old)

    def invalidate(self, keys: Iterable[bytes]) -> None:
        """Drop these lists (the store has new ones); call after the write."""
        with self._lock:
            self.generation += 1
            for key in keys:
                old = self._entries.pop(key, None)
                if old is not None:
                    self._weight -= self._weight_of(old)

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()
            self._weight = 0


@dataclass(slots=True)
class _Parsed:
    """A usable delta: `after` None for a delete."""

    edge_id: str
    src: str
    dst: str
    version: int
    after: EdgeRef | None
    raw: bytes
    edge_key: bytes
    out_key: bytes  # o|SRC
    in_key: bytes  # i|DST


# An adjacency list being changed by a batch, as stored: [{other: [rank, score,
# kinds]}, {field: 0}] (objects, so adding and removing are dict operations;
# written with sorted keys, so the stored order is the other end's).
_Mutable = list[dict[str, Any]]


def _mutable(raw: bytes | None) -> _Mutable:
    if raw is None:
        return [{}, {}]
    value: _Mutable = orjson.loads(raw)
    return value


class _Batch:
    """Reads of one write: each key read once, changed in memory, written at commit."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.values: dict[bytes, bytes | None] = {}  # e| keys: read or written
        self.written: set[bytes] = set()
        self.lists: dict[bytes, _Mutable] = {}
        self.dirty: set[bytes] = set()

    def prefetch(self, keys: Iterable[bytes]) -> None:
        """Read these keys in one go (a RocksDB multi-get when the store has one)."""
        values, lists = self.values, self.lists
        wanted = [key for key in dict.fromkeys(keys) if key not in values and key not in lists]
        if not wanted:
            return
        get_many = getattr(self.store, "get_many", None)
        found = get_many(wanted) if get_many is not None else [self.store.get(k) for k in wanted]
        loads = orjson.loads
        for key, raw in zip(wanted, found, strict=True):
            if key[0] == 0x65:  # e|
                values[key] = raw
            else:
                lists[key] = [{}, {}] if raw is None else loads(raw)

    def get(self, key: bytes) -> bytes | None:
        if key not in self.values:
            self.values[key] = self.store.get(key)
        return self.values[key]

    def put(self, key: bytes, value: bytes | None) -> None:
        self.values[key] = value
        self.written.add(key)

    def adjacency(self, key: bytes) -> _Mutable:
        adjacency = self.lists.get(key)
        if adjacency is None:
            adjacency = self.lists[key] = _mutable(self.store.get(key))
        self.dirty.add(key)
        return adjacency

    def link(self, edge: EdgeRef, out_key: bytes, in_key: bytes) -> None:
        """Add (or update) the edge in both lists (`o|SRC`, `i|DST`).

        A field is in its table's index exactly while its list has edges, so
        the table's list is read only when the field's list was empty.
        """
        attrs = [CONFIDENCE_RANK[edge.confidence], edge.score, edge.kinds]
        for key, namespace, asset, other in ((out_key, _OUT, edge.src, edge.dst),
                                             (in_key, _IN, edge.dst, edge.src)):
            edges = self.adjacency(key)[0]
            if not edges and "#" in asset:
                self.adjacency(namespace + table_of(asset).encode())[1][asset] = 0
            edges[other] = attrs

    def unlink(self, edge: EdgeRef) -> None:
        for namespace, asset, other in ((_OUT, edge.src, edge.dst), (_IN, edge.dst, edge.src)):
            edges = self.adjacency(namespace + asset.encode())[0]
            edges.pop(other, None)
            if "#" in asset and not edges:
                self.adjacency(namespace + table_of(asset).encode())[1].pop(asset, None)

    def changes(self) -> dict[bytes, bytes | None]:
        out = {key: self.values[key] for key in self.written}
        lists = self.lists
        for key in self.dirty:
            edges, fields = adjacency = lists[key]
            out[key] = (orjson.dumps(adjacency, option=orjson.OPT_SORT_KEYS)
                        if edges or fields else None)
        return out


class GraphStore:
    """The graph over a `Store` (a `GraphDB` or `PartitionStore`): apply deltas, read adjacency."""

    def __init__(self, store: Store, *, cache_edges: int = DEFAULT_CACHE_EDGES) -> None:
        self.store = store
        #: Records that were not usable deltas (bad JSON, missing fields): skipped.
        self.skipped = 0
        #: Decoded adjacency lists; `cache_edges=0` turns it off.
        self.cache: AdjacencyCache | None = AdjacencyCache(cache_edges) if cache_edges else None
        self._check_format()

    @classmethod
    def open(cls, path: Path, *, cache_edges: int = DEFAULT_CACHE_EDGES) -> GraphStore:
        """Open (or create) the RocksDB store at `path`; raises StoreLockedError if held."""
        from state.rocksdb.graph_db import GraphDB

        return cls(GraphDB(path), cache_edges=cache_edges)

    def close(self) -> None:
        close = getattr(self.store, "close", None)
        if close is not None:
            close()

    def _check_format(self) -> None:
        """Empty a store written in another layout: its offsets go too, so it is rebuilt."""
        stored = self.store.get(_FORMAT)
        if stored == FORMAT:
            return
        if stored is not None or next(iter(self.store.scan(b"", b"\xff")), None) is not None:
            stale: dict[bytes, bytes | None] = {}
            for key, _ in self.store.scan(b"", b"\xff"):
                stale[key] = None
                if len(stale) >= 10_000:
                    self.store.write(stale)
                    stale = {}
            self.store.write(stale)
        self.store.write({_FORMAT: FORMAT})

    # -- writing -----------------------------------------------------------

    def apply(
        self, records: Iterable[tuple[int, int, bytes | None, bytes | None]],
    ) -> list[GraphChange]:
        """Apply topic records `(partition, offset, key, value)` in one atomic write.

        Records at or below a partition's stored offset are skipped (already
        applied); the new offsets are written with the changes. A `None`
        value (a Kafka tombstone) removes the edge and its version for good.
        """
        offsets = self.offsets()
        todo: list[_Parsed | str] = []  # a delta, or the edge id of a Kafka tombstone
        for partition, offset, key, value in records:
            if offset <= offsets.get(partition, -1):
                continue
            offsets[partition] = offset
            if value is None:
                if key is not None:
                    todo.append(key.decode())
                continue
            parsed = self._parse(value)
            if parsed is not None:
                todo.append(parsed)
        batch = _Batch(self.store)
        changes = self._apply_all(batch, todo, self.edge_count())
        extra: dict[bytes, bytes | None] = {
            _OFFSET + b"%d" % p: b"%d" % o for p, o in offsets.items()}
        self._commit(batch, changes, extra)
        return changes

    def apply_delta(self, delta: dict[str, Any]) -> GraphChange | None:
        """Apply one delta (no topic offset) and commit it; None if it changed nothing."""
        parsed = self._parse(orjson.dumps(delta))
        batch = _Batch(self.store)
        changes = self._apply_all(batch, [] if parsed is None else [parsed], self.edge_count())
        self._commit(batch, changes, {})
        return changes[0] if changes else None

    def _commit(self, batch: _Batch, changes: list[GraphChange],
                extra: dict[bytes, bytes | None]) -> None:
        writes = batch.changes()
        writes.update(extra)
        if changes:
            count = self.edge_count() + sum(
                (c.after is not None) - (c.before is not None) for c in changes)
            writes[_COUNT] = b"%d" % count
        if writes:
            self.store.write(writes)
        if self.cache is not None and batch.dirty:
            self.cache.invalidate(batch.dirty)

    def _parse(self, value: bytes) -> _Parsed | None:
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
        return _Parsed(edge_id, src, dst, version, after, value, _EDGE + edge_id.encode(),
                       _OUT + src.encode(), _IN + dst.encode())

    def _apply_all(self, batch: _Batch, todo: list[_Parsed | str], count: int,
                   ) -> list[GraphChange]:
        keys: list[bytes] = []
        for item in todo:
            if isinstance(item, str):
                keys.append(_EDGE + item.encode())
            else:
                keys += (item.edge_key, item.out_key, item.in_key)
        batch.prefetch(keys)
        # The tables of fields that get their first edge: their index changes.
        lists = batch.lists
        tables: list[bytes] = []
        for item in todo:
            if isinstance(item, str) or item.after is None:
                continue
            if "#" in item.src and not lists[item.out_key][0]:
                tables.append(_OUT + table_of(item.src).encode())
            if "#" in item.dst and not lists[item.in_key][0]:
                tables.append(_IN + table_of(item.dst).encode())
        batch.prefetch(tables)
        changes: list[GraphChange] = []
        for item in todo:
            if isinstance(item, str):
                change = self._purge(batch, item)
            else:
                change = self._upsert(batch, item)
            if change is not None:
                changes.append(change)
        return changes

    def _upsert(self, batch: _Batch, delta: _Parsed) -> GraphChange | None:
        edge_key = delta.edge_key
        stored = batch.get(edge_key)
        before: EdgeRef | None = None
        if stored is not None:
            old = orjson.loads(stored)
            if delta.version <= int(old["version"]):
                return None
            before = _edge_of(old)
        if before is not None and (delta.after is None or before[:2] != delta.after[:2]):
            batch.unlink(before)  # an update of the same endpoints just overwrites
        if delta.after is not None:
            batch.link(delta.after, delta.out_key, delta.in_key)
            batch.put(edge_key, delta.raw)
        else:
            batch.put(edge_key, orjson.dumps({"op": "delete", "edge_id": delta.edge_id,
                                              "src": delta.src, "dst": delta.dst,
                                              "version": delta.version}))
        if before is None and delta.after is None:
            return None
        return GraphChange(delta.edge_id, before, delta.after, delta.version)

    def _purge(self, batch: _Batch, edge_id: str) -> GraphChange | None:
        edge_key = _EDGE + edge_id.encode()
        stored = batch.get(edge_key)
        if stored is None:
            return None
        batch.put(edge_key, None)
        before = _edge_of(orjson.loads(stored))
        if before is None:
            return None
        batch.unlink(before)
        return GraphChange(edge_id, before, None, None)

    # -- reading -----------------------------------------------------------

    def offsets(self) -> dict[int, int]:
        """The last applied offset of each topic partition seen."""
        return {int(key[len(_OFFSET):]): int(value)
                for key, value in self.store.scan(_OFFSET, prefix_end(_OFFSET))}

    def edge_count(self) -> int:
        raw = self.store.get(_COUNT)
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

    def _adjacency(self, asset: str, direction: Direction) -> _Adjacency:
        key = _adjacency_key(asset, direction)
        cache = self.cache
        if cache is None:
            return _decode(asset, direction, self.store.get(key))
        entry = cache.get(key)
        if entry is None:
            generation = cache.generation
            entry = _decode(asset, direction, self.store.get(key))
            cache.offer(key, entry, generation)
        return entry

    def direct_edges(self, asset: str, direction: Direction) -> list[EdgeRef]:
        """Edges out of (downstream) or into (upstream) exactly `asset`, by the other end."""
        return list(self._adjacency(asset, direction).edges)

    def fields(self, table: str, direction: Direction) -> list[str]:
        """Fields `TABLE#f` that have edges out of (downstream) or into (upstream) them."""
        return list(self._adjacency(table, direction).fields)

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
                for edge in self._adjacency(holder, direction).edges]


def _edge_of(delta: dict[str, Any]) -> EdgeRef | None:
    """The live edge a stored delta describes; None for a tombstone."""
    if delta.get("op") != "upsert":
        return None
    return EdgeRef(delta["src"], delta["dst"], delta["confidence"], tuple(delta["kinds"]),
                   float(delta.get("score") or 0.0))
