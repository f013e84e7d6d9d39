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

    def offset(self, agent: str, topic: str, partition: int) -> int:
        """The store's offset (-1: none), without creating a store that does not exist."""
        key = (agent, topic, partition)
        if key not in self._stores and not (self.root / agent / f"{topic}-{partition}").exists():
            return -1
        return self.get(agent, topic, partition).offset()

    def items(self) -> list[tuple[tuple[str, str, int], PartitionStore]]:
        """Every open store by (agent, topic, partition)."""
        return list(self._stores.items())

    def close(self) -> None:
        for store in self._stores.values():
            store.close()
        self._stores.clear()
