"""Where each agent keeps the state of each input partition it owns."""

from __future__ import annotations

from pathlib import Path

from state.rocksdb import PartitionStore


class StoreRegistry:
    """Opens one `PartitionStore` per (agent, topic, partition), lazily, once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._stores: dict[tuple[str, str, int], PartitionStore] = {}

    def get(self, agent: str, topic: str, partition: int) -> PartitionStore:
        key = (agent, topic, partition)
        store = self._stores.get(key)
        if store is None:
            store = PartitionStore(self.root / agent / f"{topic}-{partition}")
            self._stores[key] = store
        return store

    def close(self) -> None:
        for store in self._stores.values():
            store.close()
        self._stores.clear()
