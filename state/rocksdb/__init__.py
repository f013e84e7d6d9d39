"""The only module that touches RocksDB (through rocksdict)."""

from __future__ import annotations

from state.rocksdb.store import PartitionStore, StoreLockedError

__all__ = ["PartitionStore", "StoreLockedError"]
