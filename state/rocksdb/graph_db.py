"""A RocksDB store tuned for the graph replica: many point reads, few writes.

Same interface as `PartitionStore` (the `state.transaction.Store` protocol);
what differs is the options: a large LRU block cache so that traversals over
a big graph read from memory, bloom filters, and compressed blocks.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from rocksdict import BlockBasedOptions, Cache, DBCompressionType, Options, Rdict, WriteBatch

from state.rocksdb.store import StoreLockedError

_OFFSET_KEY = b"\x00offset"


@dataclass(frozen=True)
class GraphDBOptions:
    block_cache_bytes: int = 256 << 20
    block_size: int = 16 << 10
    bloom_bits_per_key: int = 10

    def to_options(self) -> Options:
        options = Options(raw_mode=True)
        options.create_if_missing(True)
        options.set_compression_type(DBCompressionType.lz4())
        table = BlockBasedOptions()
        table.set_block_cache(Cache(self.block_cache_bytes))
        table.set_block_size(self.block_size)
        table.set_bloom_filter(self.bloom_bits_per_key, False)
        table.set_cache_index_and_filter_blocks(True)
        table.set_pin_l0_filter_and_index_blocks_in_cache(True)
        options.set_block_based_table_factory(table)
        return options


class GraphDB:
    """Ordered bytes-to-bytes store for the graph; keys starting with NUL are reserved."""

    def __init__(self, path: Path, options: GraphDBOptions | None = None) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            rocks = (options or GraphDBOptions()).to_options()
            # The options again for the default column family: without them
            # rocksdict reopens an existing store with its default table
            # options (an 8 MB block cache, no bloom filters).
            self._db = Rdict(str(path), rocks, column_families={"default": rocks})
        except Exception as exc:  # rocksdict raises a bare Exception
            if "lock" in str(exc).lower():
                raise StoreLockedError(f"graph store {path} is in use by another process") from None
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

    def close(self) -> None:
        self._db.close()
