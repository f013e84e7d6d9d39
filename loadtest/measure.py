"""What the load test observes: deltas with their latency, consumer lag, counts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from streams.settings import Settings

INPUT_AND_INTERNAL = ("probe-events", "sql-job-logs", "config-events", "static-flows",
                      "flow-signals")


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Samples:
    """Time series and latencies collected during a run."""

    latencies_ms: list[int] = field(default_factory=list)
    lag: list[tuple[float, int]] = field(default_factory=list)  # (seconds since start, lag)
    sent: list[tuple[float, int]] = field(default_factory=list)  # (seconds, events sent)
    deltas: int = 0


async def follow_deltas(settings: Settings, samples: Samples, stop: asyncio.Event) -> None:
    """Record each upsert's latency: arrival wall time minus its `last_seen` event time.

    The generator stamps every event with its send time, so `last_seen` (the
    event time of the signal that caused the delta) is when that event left
    the producer.
    """
    consumer = AIOKafkaConsumer(settings.topic("lineage-graph"),
                                bootstrap_servers=settings.bootstrap_servers,
                                group_id=None, auto_offset_reset="earliest")
    await consumer.start()
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=200)
            arrived = now_ms()
            for records in batch.values():
                for record in records:
                    if record.value is None:
                        continue
                    delta = orjson.loads(record.value)
                    if delta.get("op") == "upsert":
                        samples.deltas += 1
                        samples.latencies_ms.append(max(0, arrived - delta["last_seen"]))
    finally:
        await consumer.stop()


class LagProbe:
    """The pipeline's consumer-group lag over its input and internal topics."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
        self.consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers,
                                         group_id=None)

    async def start(self) -> None:
        await self.admin.start()
        await self.consumer.start()

    async def stop(self) -> None:
        await self.admin.close()
        await self.consumer.stop()

    async def lag(self) -> int:
        topics = {self.settings.topic(t) for t in INPUT_AND_INTERNAL}
        committed = await self.admin.list_consumer_group_offsets(self.settings.group_id)
        parts = [tp for tp in committed if tp.topic in topics]
        if not parts:
            return 0
        ends = await self.consumer.end_offsets(parts)
        return sum(max(0, ends[tp] - committed[tp].offset) for tp in parts)

    async def total_input(self) -> int:
        """Messages on the input and internal topics (for a drained check)."""
        names = {self.settings.topic(t) for t in INPUT_AND_INTERNAL}
        cluster_topics = await self.consumer.topics()
        from aiokafka import TopicPartition

        parts = [TopicPartition(t, p) for t in names & cluster_topics
                 for p in (self.consumer.partitions_for_topic(t) or set())]
        ends = await self.consumer.end_offsets(parts) if parts else {}
        return sum(ends.values())

    async def members(self) -> int:
        """How many workers have joined the pipeline's consumer group."""
        described = await self.admin.describe_consumer_groups([self.settings.group_id])
        groups = getattr(described[0], "groups", [])
        if not groups:
            return 0
        group = groups[0]
        state = group[2] if isinstance(group, tuple) else getattr(group, "state", "")
        members = group[5] if isinstance(group, tuple) else getattr(group, "members", [])
        return len(members) if state == "Stable" else 0


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return float(ordered[index])
