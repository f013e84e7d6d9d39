"""One RocksDB database per (agent, input partition), with its input offset.

State writes and the offset of the last input message they reflect go in one
`WriteBatch`, so after a crash the store and its offset agree: messages at or
below the stored offset are already in the state and are skipped on replay.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from rocksdict import AccessType, Options, Rdict, WriteBatch

_OFFSET_KEY = b"\x00offset"


class StoreLockedError(RuntimeError):
    """Another process holds this store (two workers sharing a data dir)."""


class PartitionStore:
    """Ordered bytes-to-bytes store; keys starting with NUL are reserved."""

    def __init__(self, path: Path, *, read_only: bool = False,
                 options: Options | None = None) -> None:
        """Open (creating) the store; `options` replace the defaults (raw mode)."""
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if options is None:
            options = Options(raw_mode=True)
            options.create_if_missing(True)
        try:
            self._db = Rdict(
                str(path), options,
                # The options again for the default column family: without them
                # rocksdict reopens an existing store with its default table options.
                column_families={"default": options},
                access_type=AccessType.read_only() if read_only else AccessType.read_write(),
            )
        except Exception as exc:  # rocksdict raises a bare Exception
            if "lock" in str(exc).lower():
                raise StoreLockedError(f"store {path} is in use by another process") from None
            raise

    def get(self, key: bytes) -> bytes | None:
        value = self._db.get(key)
        return value if value is None else bytes(value)

    def get_many(self, keys: list[bytes]) -> list[bytes | None]:
        """The values of `keys` (None when absent), in one multi-get."""
        wanted: list[str | int | float | bytes | bool] = list(keys)
        found = self._db.get(wanted)
        assert isinstance(found, list)
        return [None if value is None else bytes(value) for value in found]

    def scan(self, start: bytes, end: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Items with start <= key < end, in key order."""
        for key, value in self._db.items(from_key=start):
            assert isinstance(key, bytes) and isinstance(value, bytes)  # raw mode
            if key >= end:
                break
            yield key, value

    def offset(self) -> int:
        """The offset of the last input message applied, or -1."""
        raw = self._db.get(_OFFSET_KEY)
        return -1 if raw is None else int(raw)

    def write(self, changes: Mapping[bytes, bytes | None], offset: int | None = None) -> None:
        """Apply puts (value) and deletes (None), and the offset, atomically."""
        batch = WriteBatch(raw_mode=True)
        for key, value in changes.items():
            if value is None:
                batch.delete(key)
            else:
                batch.put(key, value)
        if offset is not None:
            batch.put(_OFFSET_KEY, str(offset).encode())
        self._db.write(batch)

    def reset(self, records: Mapping[bytes, bytes], offset: int) -> None:
        """Replace everything with `records` at `offset`, atomically.

        How a partition's state is rebuilt when it moved here from another
        worker: whatever this store held from an earlier ownership is stale.
        """
        batch = WriteBatch(raw_mode=True)
        for key in self._db.keys():  # noqa: SIM118  (an Rdict, not a dict)
            batch.delete(key)
        for key, value in records.items():
            batch.put(key, value)
        batch.put(_OFFSET_KEY, str(offset).encode())
        self._db.write(batch)

    def close(self) -> None:
        self._db.close()
