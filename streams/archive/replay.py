"""Replay history into a fresh pipeline: records -> producer, per-partition order kept.

Each record goes to the same topic (contract name, under the destination
prefix) and the same partition number it came from, with its key and, by
default, its original timestamp. Records of one partition are produced in
offset order by an idempotent producer, which keeps their order, hence the
order of every key. Across partitions, archived records are interleaved by
timestamp (ties broken by topic and partition), as close to the original
arrival as the archive can tell; order across partitions never matters to the
pipeline's results, which depend on event time only.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer

from streams.archive.manifest import ArchiveError
from streams.archive.ratelimit import TokenBucket
from streams.archive.reader import ArchiveReader, Skipped
from streams.archive.records import Record
from streams.archive.source import KafkaHistory, PartitionRange

DRAIN_EVERY = 10_000
PROGRESS_EVERY = 500


@dataclass
class ReplayReport:
    """What one replay did: records sent per topic, files skipped, time taken."""

    sent: dict[str, int] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.sent.values())


def check_partitions(source: dict[str, list[int]], destination: dict[str, int]) -> None:
    """Every source partition must exist at the destination (same partition number)."""
    for topic, partitions in sorted(source.items()):
        if topic not in destination:
            raise ArchiveError(f"{topic}: not a topic of topology.yaml")
        if partitions and max(partitions) >= destination[topic]:
            raise ArchiveError(
                f"{topic}: history has partition {max(partitions)} but topology.yaml gives "
                f"{destination[topic]} partitions; partition order per key could not be kept")


class Replayer:
    """Produce records to the destination prefix, paced by an optional token bucket."""

    def __init__(self, producer: AIOKafkaProducer, prefix: str, *, rate: float | None = None,
                 keep_timestamps: bool = True,
                 on_records: Callable[[int], None] | None = None) -> None:
        self.producer = producer
        self.prefix = prefix
        self.bucket = TokenBucket(rate) if rate else None
        self.keep_timestamps = keep_timestamps
        self.on_records = on_records
        self.report = ReplayReport()
        self._pending: list[Any] = []
        self._unreported = 0

    async def send(self, record: Record) -> None:
        if self.bucket is not None:
            await self.bucket.acquire(1)
        future = await self.producer.send(
            self.prefix + record.topic, value=record.value, key=record.key,
            partition=record.partition,
            timestamp_ms=record.timestamp if self.keep_timestamps and record.timestamp >= 0
            else None,
        )
        self._pending.append(future)
        self.report.sent[record.topic] = self.report.sent.get(record.topic, 0) + 1
        self._unreported += 1
        if self._unreported >= PROGRESS_EVERY:
            self._report_progress()
        if len(self._pending) >= DRAIN_EVERY:
            await self.drain()

    def _report_progress(self) -> None:
        if self._unreported and self.on_records is not None:
            self.on_records(self._unreported)
        self._unreported = 0

    async def drain(self) -> None:
        """Wait until every record sent so far is acknowledged."""
        pending, self._pending = self._pending, []
        for future in pending:
            await future
        self._report_progress()


def interleave(partitions: Sequence[Iterable[Record]]) -> Iterator[Record]:
    """Merge partition streams by timestamp, keeping each stream's own order."""
    return heapq.merge(*partitions, key=lambda r: r.timestamp)


async def replay_archive(reader: ArchiveReader, topics: Sequence[str], replayer: Replayer, *,
                         since_ms: int | None = None) -> ReplayReport:
    """Replay the archived records of `topics`; unreadable files are skipped and reported."""
    started = time.monotonic()
    streams = [reader.records(topic, partition, since_ms=since_ms)
               for topic in topics for partition in reader.partitions(topic)]
    for record in interleave(streams):
        await replayer.send(record)
    await replayer.drain()
    replayer.report.skipped = list(reader.skipped)
    replayer.report.seconds = time.monotonic() - started
    return replayer.report


async def plan_kafka(history: KafkaHistory, topics: Sequence[str], since_ms: int | None
                     ) -> list[PartitionRange]:
    """The ranges to replay: from the beginning (or `since_ms`) up to the end as of now."""
    ranges = []
    for topic in topics:
        if not history.exists(topic):
            continue
        bounds = await history.bounds(topic)
        starts = await history.offsets_since(topic, since_ms) if since_ms is not None else {}
        for partition, (first, end) in sorted(bounds.items()):
            start = first if since_ms is None else starts.get(partition)
            ranges.append(PartitionRange(topic, partition, end if start is None else start, end))
    return ranges


async def replay_kafka(history: KafkaHistory, ranges: list[PartitionRange],
                       replayer: Replayer) -> ReplayReport:
    """Replay the given ranges of the source prefix's topics."""
    started = time.monotonic()
    batches: AsyncIterator[list[Record]] = history.read(ranges)
    async for records in batches:
        for record in records:
            await replayer.send(record)
    await replayer.drain()
    replayer.report.seconds = time.monotonic() - started
    return replayer.report
