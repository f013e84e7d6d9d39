"""Event-time session-per-key windows with a persisted watermark and expiry index.

A key's window opens at its first event's `ts` and ends `size_ms` later; it
closes once the partition's watermark (the largest `ts` seen) passes the end
plus `allowed_lateness_ms`. Closing is driven by event time only, so a replay
of the same history opens and closes the same windows. The expiry index is
kept in the store itself (ordered by close time), so it survives restarts.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import Enum

import orjson

from state.transaction import Store, Transaction


class Admission(Enum):
    """What became of an event offered to a window."""

    STORED = "stored"
    LATE = "late"
    OVERFLOW = "overflow"


#: A window's metadata on disk (format 2): the format byte, then first_ts,
#: close_at, count, size and overflow as fixed-width integers. Format 1 (up to
#: round 1 of issue 21) was a JSON object; it is still read (`legacy`).
_META = struct.Struct(">Bqqiqq")
_FORMAT = 2


@dataclass(slots=True)
class WindowMeta:
    """What the window of one key holds, for caps and expiry.

    >>> meta = WindowMeta(first_ts=1000, close_at=1150, count=2, size=30)
    >>> WindowMeta.from_bytes(meta.to_bytes()) == meta
    True
    >>> WindowMeta.from_bytes(b'{"first_ts":1,"close_at":2,"count":3,"size":4,"overflow":0}').legacy
    True
    """

    first_ts: int
    close_at: int
    count: int = 0
    size: int = 0
    overflow: int = 0
    #: Read from a format-1 (JSON) record: its namespace may keep older records too.
    legacy: bool = field(default=False, compare=False, repr=False)

    def to_bytes(self) -> bytes:
        """Format 2: a struct, about 4x cheaper to write than the JSON of format 1."""
        return _META.pack(_FORMAT, self.first_ts, self.close_at, self.count, self.size,
                          self.overflow)

    @classmethod
    def from_bytes(cls, raw: bytes) -> WindowMeta:
        if raw[:1] == b"{":  # format 1
            return cls(**orjson.loads(raw), legacy=True)
        _, first_ts, close_at, count, size, overflow = _META.unpack(raw)
        return cls(first_ts, close_at, count, size, overflow)


@dataclass(frozen=True)
class EventTimeBounds:
    """How far an event's `ts` may stray from its Kafka record timestamp.

    One event with a clock in the year 3000 would otherwise move its
    partition's watermark for good and make every later event late. An event
    outside the bounds is refused before any window sees it (a dead letter),
    so only admitted events move watermarks. `max_age_ms` of -1: no lower bound.

    >>> bounds = EventTimeBounds(max_future_ms=1000, max_age_ms=5000)
    >>> bounds.refusal(ts=10_000, record_ts=10_000) is None
    True
    >>> bounds.refusal(ts=32_503_680_000_000, record_ts=10_000)[:36]
    'event time: ts is 32503679990000 ms '
    >>> bounds.refusal(ts=1, record_ts=10_000)
    'event time: ts is 9999 ms older than its record timestamp (max_age_ms 5000)'
    """

    max_future_ms: int
    max_age_ms: int

    def refusal(self, ts: int, record_ts: int | None) -> str | None:
        """The dead-letter reason for an event out of bounds, or None (also when the
        record has no timestamp). The reason holds numbers only, never a value."""
        if record_ts is None or record_ts < 0:
            return None
        ahead = ts - record_ts
        if ahead > self.max_future_ms:
            return (f"event time: ts is {ahead} ms ahead of its record timestamp "
                    f"(max_future_ms {self.max_future_ms})")
        if self.max_age_ms >= 0 and -ahead > self.max_age_ms:
            return (f"event time: ts is {-ahead} ms older than its record timestamp "
                    f"(max_age_ms {self.max_age_ms})")
        return None


def open_count_key(namespace: str) -> bytes:
    """Where a namespace keeps how many windows are open (see `open_windows`)."""
    return f"{namespace}|n".encode()


def open_windows(store: Store, namespace: str) -> int:
    """How many windows of `namespace` are open in `store`, as of its last commit."""
    raw = store.get(open_count_key(namespace))
    return int(raw) if raw is not None else 0


class EventTimeWindows:
    """Window bookkeeping for one namespace of keys inside a partition store.

    The watermark and the windows' metadata are kept in memory while the
    transaction is open and written to it once, just before it commits (a
    capture of a busy trace used to rewrite both on every event). Use one
    instance per namespace and transaction.
    """

    def __init__(self, tx: Transaction, namespace: str, *, size_ms: int,
                 allowed_lateness_ms: int) -> None:
        self.tx = tx
        self.size_ms = size_ms
        self.lateness_ms = allowed_lateness_ms
        self._meta = f"{namespace}|m|".encode()
        self._index = f"{namespace}|x|".encode()
        self._wm_key = f"{namespace}|w".encode()
        raw = tx.get(self._wm_key)
        self.watermark = int(raw) if raw is not None else -1
        self._stored_watermark = self.watermark
        self._count_key = open_count_key(namespace)
        raw = tx.get(self._count_key)
        #: Windows open in this partition (kept in the store, for the metrics).
        self.open_count = int(raw) if raw is not None else 0
        self._stored_count = self.open_count
        self._metas: dict[str, WindowMeta | None] = {}  # read or changed in this transaction
        self._dirty: set[str] = set()
        tx.before_commit(self._write)

    def advance(self, ts: int) -> None:
        """Move the watermark forward to `ts` (never back)."""
        if ts > self.watermark:
            self.watermark = ts

    def is_late(self, ts: int) -> bool:
        """An event whose own window would already be closed."""
        return ts + self.size_ms + self.lateness_ms <= self.watermark

    def meta(self, key: str) -> WindowMeta | None:
        if key in self._metas:
            return self._metas[key]
        raw = self.tx.get(self._meta + key.encode())
        meta = None if raw is None else WindowMeta.from_bytes(raw)
        self._metas[key] = meta
        return meta

    def metas(self, keys: list[str]) -> list[WindowMeta | None]:
        """`meta` of each key, those not read yet in one multi-get."""
        cached = self._metas
        missing = [key for key in keys if key not in cached]
        if missing:
            prefix, from_bytes = self._meta, WindowMeta.from_bytes
            raws = self.tx.get_many([prefix + key.encode() for key in missing])
            cached.update(zip(missing, [None if raw is None else from_bytes(raw) for raw in raws],
                              strict=True))
        return [cached[key] for key in keys]

    def open(self, key: str, ts: int) -> WindowMeta:
        """The key's open window, opened at `ts` when it has none."""
        meta = self.meta(key)
        if meta is None:
            meta = WindowMeta(first_ts=ts, close_at=ts + self.size_ms + self.lateness_ms)
            self.tx.put(self._index + b"%020d|" % meta.close_at + key.encode(), b"")
            self.save(key, meta)
            self.open_count += 1
        return meta

    @property
    def prefixes(self) -> tuple[bytes, bytes]:
        """The key namespaces of the windows' metadata and of the expiry index."""
        return self._meta, self._index

    def written_outside(self, watermark: int, open_count: int) -> None:
        """Take windows a join done outside wrote into the transaction itself: the
        watermark and open-window count they reached. The metadata read so far
        is dropped, so later reads see what was written."""
        assert not self._dirty, "windows written both ways in one transaction"
        self.advance(watermark)
        self.open_count = open_count
        self._metas.clear()

    def save(self, key: str, meta: WindowMeta) -> None:
        """Keep `meta` as the key's window; written when the transaction commits."""
        self._metas[key] = meta
        self._dirty.add(key)

    def _drop(self, key: str, key_bytes: bytes, meta: WindowMeta) -> None:
        self.tx.delete(self._index + b"%020d|" % meta.close_at + key_bytes)
        self.tx.delete(self._meta + key_bytes)
        self._metas[key] = None
        self._dirty.discard(key)
        self.open_count = max(0, self.open_count - 1)

    def close_if_expired(self, key: str) -> WindowMeta | None:
        """Close the key's window now if the watermark reached its close time.

        `close_expired` runs once per batch; a key's next event must not land
        in its expired window before then, or the result would depend on
        where batches begin and end.
        """
        meta = self.meta(key)
        if meta is None or meta.close_at > self.watermark:
            return None
        self._drop(key, key.encode(), meta)
        return meta

    def close_expired(self) -> list[tuple[str, WindowMeta]]:
        """Remove and return the windows whose close time the watermark passed."""
        closed: list[tuple[str, WindowMeta]] = []
        due_end = self._index + b"%020d|" % (self.watermark + 1)
        for index_key, _ in list(self.tx.scan(self._index, due_end)):
            key_bytes = index_key[len(self._index):].partition(b"|")[2]
            key = key_bytes.decode()
            meta = self.meta(key)
            self.tx.delete(index_key)
            if meta is not None:
                self._drop(key, key_bytes, meta)
                closed.append((key, meta))
            else:
                self.tx.delete(self._meta + key_bytes)
        return closed

    def _write(self) -> None:
        """Put the changed windows and the watermark into the transaction."""
        for key in self._dirty:
            meta = self._metas[key]
            if meta is not None:
                self.tx.put(self._meta + key.encode(), meta.to_bytes())
        self._dirty.clear()
        if self.watermark != self._stored_watermark:
            self.tx.put(self._wm_key, str(self.watermark).encode())
            self._stored_watermark = self.watermark
        if self.open_count != self._stored_count:
            self.tx.put(self._count_key, str(self.open_count).encode())
            self._stored_count = self.open_count
