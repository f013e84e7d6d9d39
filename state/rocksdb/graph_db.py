"""A RocksDB store tuned for the graph replica: many point reads, few writes.

A `PartitionStore` (the `state.transaction.Store` protocol) whose options
differ: a large LRU block cache so that traversals over
a big graph read from memory, bloom filters, and compressed blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rocksdict import BlockBasedOptions, Cache, DBCompressionType, Options

from state.rocksdb.store import PartitionStore


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


class GraphDB(PartitionStore):
    """The graph replica's store: a `PartitionStore` with the tuned options."""

    def __init__(self, path: Path, options: GraphDBOptions | None = None) -> None:
        super().__init__(path, options=(options or GraphDBOptions()).to_options())

