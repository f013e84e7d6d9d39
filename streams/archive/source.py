"""Read history from Kafka: some partitions, from a start offset up to the end taken now.

No consumer group: partitions are assigned and sought explicitly, nothing is
committed, and the pipeline's own group is never disturbed. The end offsets
are taken once, before reading, so records produced meanwhile are left for
the next run.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiokafka.structs import TopicPartition

from streams.archive.manifest import ArchiveError
from streams.archive.records import Record
from streams.kafka.clients import new_consumer, topic_partitions
from streams.settings import Settings


@dataclass(frozen=True, slots=True)
class PartitionRange:
    """Offsets [start, end) of one partition of a contract topic."""

    topic: str
    partition: int
    start: int
    end: int

    @property
    def size(self) -> int:
        return max(0, self.end - self.start)


class KafkaHistory:
    """A group-less consumer over the topics of one prefix."""

    def __init__(self, settings: Settings, prefix: str, *,
                 idle_timeout_s: float = 30.0, max_fetch_records: int = 5000) -> None:
        self.prefix = prefix
        self.idle_timeout_s = idle_timeout_s
        self.max_fetch_records = max_fetch_records
        self.consumer = new_consumer(settings, enable_auto_commit=False,
                                     auto_offset_reset="earliest")
        self._partitions: dict[str, list[int]] = {}

    async def __aenter__(self) -> KafkaHistory:
        await self.consumer.start()
        # One metadata snapshot of the cluster (a group-less consumer learns no
        # topic metadata by itself until partitions are assigned).
        self._partitions = await topic_partitions(self.consumer)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    def _tp(self, topic: str, partition: int) -> TopicPartition:
        return TopicPartition(self.prefix + topic, partition)

    def exists(self, topic: str) -> bool:
        return self.prefix + topic in self._partitions

    def partitions(self, topic: str) -> list[int]:
        return self._partitions.get(self.prefix + topic, [])

    async def bounds(self, topic: str) -> dict[int, tuple[int, int]]:
        """Per partition: (first offset still held, end offset) as of now."""
        tps = [self._tp(topic, p) for p in self.partitions(topic)]
        if not tps:
            return {}
        first = await self.consumer.beginning_offsets(tps)
        end = await self.consumer.end_offsets(tps)
        return {tp.partition: (first[tp], end[tp]) for tp in tps}

    async def offsets_since(self, topic: str, since_ms: int) -> dict[int, int | None]:
        """Per partition: the first offset whose timestamp is at or after `since_ms`."""
        tps = [self._tp(topic, p) for p in self.partitions(topic)]
        if not tps:
            return {}
        found = await self.consumer.offsets_for_times({tp: since_ms for tp in tps})
        return {tp.partition: (None if at is None else at.offset) for tp, at in found.items()}

    async def read(self, ranges: list[PartitionRange]) -> AsyncIterator[list[Record]]:
        """Batches of records, each from one partition in offset order, up to each end."""
        wanted = {self._tp(r.topic, r.partition): r for r in ranges if r.size > 0}
        if not wanted:
            return
        self.consumer.assign(list(wanted))
        for tp, r in wanted.items():
            self.consumer.seek(tp, r.start)
        active = set(wanted)
        loop = asyncio.get_running_loop()
        last_progress = loop.time()
        while active:
            batch = await self.consumer.getmany(*active, timeout_ms=1000,
                                                max_records=self.max_fetch_records)
            for tp, messages in batch.items():
                r = wanted[tp]
                records = [
                    Record(topic=r.topic, partition=tp.partition, offset=m.offset,
                           timestamp=m.timestamp, key=m.key, value=m.value)
                    for m in messages if r.start <= m.offset < r.end
                ]
                if records:
                    last_progress = loop.time()
                    yield records
            for tp in list(active):
                if await self.consumer.position(tp) >= wanted[tp].end:
                    active.discard(tp)
                    self.consumer.pause(tp)
            if active and loop.time() - last_progress > self.idle_timeout_s:
                tp = min(active, key=lambda t: (t.topic, t.partition))
                raise ArchiveError(
                    f"no progress reading {tp.topic}[{tp.partition}] for "
                    f"{self.idle_timeout_s:.0f}s (at offset {await self.consumer.position(tp)}, "
                    f"end {wanted[tp].end})")
