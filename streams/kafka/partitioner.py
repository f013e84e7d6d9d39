"""Kafka's default partitioner (murmur2 of the key), with the hashes remembered.

aiokafka's murmur2 is pure Python: some 10-20 us for an edge id, paid on
every output message. Output keys (edge ids) repeat all the time, so the
hash of each is computed once; the result is the same partition Kafka's own
clients (and `DefaultPartitioner`) choose.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from aiokafka.partitioner import murmur2


class CachedPartitioner:
    """A drop-in `partitioner(key, all_partitions, available)` with a bounded memo."""

    def __init__(self, max_keys: int = 200_000) -> None:
        self.max_keys = max_keys
        self._hashes: dict[bytes, int] = {}

    def __call__(self, key: bytes | None, all_partitions: Sequence[int],
                 available: Sequence[int]) -> int:
        if key is None:
            return random.choice(available or all_partitions)
        hashed = self._hashes.get(key)
        if hashed is None:
            if len(self._hashes) >= self.max_keys:
                self._hashes.clear()
            hashed = self._hashes[key] = murmur2(key) & 0x7FFFFFFF
        return all_partitions[hashed % len(all_partitions)]
