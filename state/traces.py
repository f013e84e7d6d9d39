"""Per-trace capture windows for the probe join, sealed per window epoch.

Each capture of a trace is kept (payload included) until the trace window
closes. A trace's captures are one record (`trace|c|` + the trace id),
encrypted with the key of the window's epoch (state/sealing.py) and written
again, whole, by each batch that adds to the trace: the payload bytes on
disk are ciphertext whose key is forgotten once the window's epoch has
closed, so a closed window's values cannot be read back from the data
directory even before compaction removes the deleted records. Closing a
window deletes that one record (format 1 kept a record per batch, numbered
by its first capture, and deleted a key per capture).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import NamedTuple

from state.sealing import EpochKeys, sealed_count
from state.transaction import Transaction, length_prefixed
from state.windows import Admission, EventTimeWindows, WindowMeta


class Capture(NamedTuple):
    """One capture kept in its trace's window (a tuple: the join makes one per event)."""

    role: str  # "source" | "sink"
    asset: str
    ts: int
    payload: bytes


#: Per capture: is-sink flag, ts, asset length, payload length; then asset and payload.
_FIELDS = struct.Struct(">BqHI")
_ROLES = ("source", "sink")


def pack_captures(captures: list[Capture]) -> bytes:
    """Captures as one byte string (struct headers: a JSON header cost twice as much)."""
    if len(captures) == 1:  # the usual record: one capture of a trace per batch
        (capture,) = captures
        asset = capture.asset.encode()
        return _FIELDS.pack(capture.role == "sink", capture.ts, len(asset),
                            len(capture.payload)) + asset + capture.payload
    parts = []
    for capture in captures:
        asset = capture.asset.encode()
        parts.append(_FIELDS.pack(capture.role == "sink", capture.ts, len(asset),
                                  len(capture.payload)))
        parts.append(asset)
        parts.append(capture.payload)
    return b"".join(parts)


def unpack_captures(raw: bytes) -> list[Capture]:
    captures = []
    at, end, size = 0, len(raw), _FIELDS.size
    while at < end:
        sink, ts, asset_length, payload_length = _FIELDS.unpack_from(raw, at)
        at += size
        asset = raw[at:at + asset_length].decode()
        at += asset_length
        captures.append(Capture(_ROLES[sink], asset, ts, raw[at:at + payload_length]))
        at += payload_length
    return captures


#: A trace's window before a batch, for a join done outside (`load`): its
#: (first_ts, close_at, count, size, overflow) and its readable captures packed.
Prior = tuple[tuple[int, int, int, int, int], bytes | None] | None

#: What a join done outside writes (`matcher_rs.join_traces`, for `apply`): the
#: window changes in order (key, value or None), the capture records to seal
#: (key, (close_at, count, packed)), per touched trace in order its flags (bit 0
#: its earlier window's captures were read, bit 1 that window closed, bit 2 its
#: window at the end opened in the batch) and its index into the trace ids, and
#: (windows closed early, open windows of the partition after the batch).
Writes = tuple[list[tuple[bytes, bytes | None]], list[tuple[bytes, tuple[int, int, bytes]]],
               bytes, list[int], tuple[int, int]]

#: The key namespaces a join done outside writes in: window metadata, expiry
#: index, capture records.
Prefixes = tuple[bytes, bytes, bytes]

_RECORDS = b"trace|c|"


@dataclass(frozen=True)
class TraceCapsSpec:
    max_captures: int
    max_bytes: int


class TraceWindows:
    """Captures by trace id, in event-time windows with caps, sealed at rest.

    `lost_captures` and `lost_windows` count the stored captures found
    unreadable (their key died with an earlier process): the open windows a
    crash or restart costs.
    """

    def __init__(self, tx: Transaction, *, size_ms: int, allowed_lateness_ms: int,
                 caps: TraceCapsSpec, keys: EpochKeys) -> None:
        self.tx = tx
        self.windows = EventTimeWindows(tx, "trace", size_ms=size_ms,
                                        allowed_lateness_ms=allowed_lateness_ms)
        self.caps = caps
        self.keys = keys
        self.lost_captures = 0
        self.lost_windows = 0
        self._closed_early = 0
        # Traces touched by this transaction, so that the captures of a trace
        # are read and decoded once per batch, not once per capture.
        self._open: dict[str, tuple[WindowMeta, list[Capture], bytes]] = {}
        # The captures each trace gained in this transaction: one sealed record at commit.
        self._pending: dict[str, list[Capture]] = {}
        # Or, from a join done outside (`apply`), by record key: close time, count
        # and packed captures.
        self._packed: dict[bytes, tuple[int, int, bytes]] = {}
        # `load`: the traces whose record could not be opened, with its capture
        # count, and the format-1 windows.
        self._unreadable: dict[str, int] = {}
        self._legacy: dict[str, WindowMeta] = {}
        tx.before_commit(self._seal)

    def _record_key(self, trace_id: str) -> bytes:
        return length_prefixed(_RECORDS, trace_id)

    def captures(self, trace_id: str) -> list[Capture]:
        """The trace's readable captures, this transaction's included.

        A record whose key is gone is deleted here and counted as lost.
        """
        captures: list[Capture] = []
        meta = self.windows.meta(trace_id)
        if meta is not None and meta.legacy:
            self._drop_legacy(trace_id, meta)
        else:
            key = self._record_key(trace_id)
            sealed = self.tx.get(key)
            if sealed is not None:
                plain = self.keys.unseal(sealed, key)
                if plain is None:
                    self._lost(key, [sealed_count(sealed)])
                else:
                    captures = unpack_captures(plain)
        captures.extend(self._pending.get(trace_id, ()))
        return captures

    def _lost(self, keys: bytes | list[bytes], counts: list[int]) -> None:
        self.lost_windows += 1
        self.lost_captures += sum(counts)
        for key in [keys] if isinstance(keys, bytes) else keys:
            self.tx.delete(key)

    def _drop_legacy(self, trace_id: str, meta: WindowMeta) -> None:
        """A format-1 window's records (one per batch), all counted lost and deleted.

        A format-1 record was sealed by an earlier process (this one writes
        format 2) and the keys die with their process: none can be read.
        """
        records = list(self.tx.scan_prefix(self._record_key(trace_id)))
        if records:
            self._lost([key for key, _ in records], [sealed_count(v) for _, v in records])
        meta.legacy = False

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
        meta, stored, _ = cached
        size = len(capture.payload)
        if meta.count >= self.caps.max_captures or meta.size + size > self.caps.max_bytes:
            meta.overflow += 1
            windows.save(trace_id, meta)
            return Admission.OVERFLOW, []
        earlier = stored.copy()
        pending = self._pending.get(trace_id)
        if pending is None:
            self._pending[trace_id] = [capture]
        else:
            pending.append(capture)
        stored.append(capture)
        meta.count += 1
        meta.size += size
        windows.save(trace_id, meta)
        return Admission.STORED, earlier

    def load(self, trace_ids: list[str]) -> list[Prior]:
        """Each trace's window and readable captures, for a join of a batch done outside.

        A window the watermark already closed is not read: the batch's first
        event of its trace closes it. `apply` takes what the join did.
        """
        priors: list[Prior] = []
        watermark = self.windows.watermark
        for trace_id, meta in zip(trace_ids, self.windows.metas(trace_ids), strict=True):
            if meta is None:
                priors.append(None)
                continue
            packed = None
            if meta.legacy:
                self._legacy[trace_id] = meta
            elif meta.count and meta.close_at > watermark:
                key = self._record_key(trace_id)
                sealed = self.tx.get(key)
                if sealed is not None:
                    packed = self.keys.unseal(sealed, key)
                    if packed is None:
                        self._unreadable[trace_id] = sealed_count(sealed)
            priors.append(((meta.first_ts, meta.close_at, meta.count, meta.size,
                            meta.overflow), packed))
        return priors

    @property
    def prefixes(self) -> Prefixes:
        """Where a join done outside writes (see `Prefixes`)."""
        return (*self.windows.prefixes, _RECORDS)

    def apply(self, trace_ids: list[str], writes: Writes, watermark: int) -> None:
        """Keep what a join done outside wrote (see `Writes`): the same windows,
        records and counts as `add` event by event."""
        changes, records, flags, order, (closed_early, open_count) = writes
        if self._legacy or self._unreadable:
            for flag, index in zip(flags, order, strict=True):
                self._lost_before(trace_ids[index], flag)
        self.tx.update(changes)
        self.windows.written_outside(watermark, open_count)
        self._closed_early += closed_early
        self._packed.update(records)

    def _lost_before(self, trace_id: str, flag: int) -> None:
        """What `apply` deletes and counts lost for a trace whose earlier window
        was unreadable or format 1 (`flag` as in `Writes`)."""
        legacy = self._legacy.get(trace_id)
        if flag & 1:
            if legacy is not None:
                self._drop_legacy(trace_id, legacy)
            elif trace_id in self._unreadable:
                self._lost(self._record_key(trace_id), [self._unreadable[trace_id]])
        if flag & 2 and legacy is not None and legacy.legacy:
            key = self._record_key(trace_id)
            for number in range(legacy.count):
                self.tx.delete(key + b"%06d" % number)

    def _working_set(self, trace_id: str, ts: int) -> tuple[WindowMeta, list[Capture], bytes]:
        """The trace's open window, captures and key prefix, closing an expired window first."""
        closed = self.windows.close_if_expired(trace_id)
        if closed is not None:
            self._forget(trace_id, closed)
            self._closed_early += 1
        meta = self.windows.open(trace_id, ts)
        entry = (meta, self.captures(trace_id) if meta.count else [], self._record_key(trace_id))
        self._open[trace_id] = entry
        return entry

    def _forget(self, trace_id: str, meta: WindowMeta) -> None:
        """Delete the closed window's record (a format-1 window: a key per capture)."""
        self._pending.pop(trace_id, None)
        key = self._record_key(trace_id)
        self._packed.pop(key, None)
        self.tx.delete(key)
        if meta.legacy:
            for number in range(meta.count):
                self.tx.delete(key + b"%06d" % number)

    def _seal(self) -> None:
        """Put each trace's captures, earlier and new, into the transaction as one sealed record."""
        seal, put, working = self.keys.seal, self.tx.put, self._open
        for trace_id in self._pending:
            meta, stored, key = working[trace_id]
            put(key, seal(meta.close_at, pack_captures(stored), len(stored), key))
        self._pending.clear()
        for key, (close_at, count, packed) in self._packed.items():
            put(key, seal(close_at, packed, count, key))
        self._packed.clear()

    def expire(self) -> int:
        """Delete every closed trace with its captures, forget the keys of closed epochs.

        Returns how many traces closed, including those closed early by `add`
        since the last call.
        """
        closed = self.windows.close_expired()
        for trace_id, meta in closed:
            self._forget(trace_id, meta)
        self.keys.forget_closed(self.windows.watermark)
        count, self._closed_early = len(closed) + self._closed_early, 0
        return count
