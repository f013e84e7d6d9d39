"""Consumer lag per partition for both of the pipeline's groups, sampled in the background.

A scrape must not wait on Kafka, so a task asks the cluster every few
seconds (committed offsets of the Faust group and of the batch agents'
group, end offsets of their topics, and the end of `lineage-graph` for the
replica's lag) and the collector reads the last sample.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from streams.kafka.clients import new_admin, new_consumer, topic_partitions
from streams.settings import Settings

log = logging.getLogger("lineage.metrics")


@dataclass
class LagSample:
    """The latest sample: (group, topic, partition) -> lag; partition -> end of the graph."""

    groups: dict[tuple[str, str, int], int] = field(default_factory=dict)
    graph_ends: dict[int, int] = field(default_factory=dict)


class LagSampler:
    """Samples consumer lag every `interval_s` until cancelled."""

    def __init__(self, settings: Settings, graph_topic: str = "lineage-graph",
                 interval_s: float = 5.0) -> None:
        self.settings = settings
        self.graph_topic = settings.topic(graph_topic)
        self.interval_s = interval_s
        self.sample = LagSample()

    async def run(self) -> None:
        admin, consumer = new_admin(self.settings), new_consumer(self.settings)
        await admin.start()
        await consumer.start()
        try:
            while True:
                try:
                    self.sample = await self._take(admin, consumer)
                except Exception as exc:  # a metric must never stop the worker
                    log.warning("lag sample failed: %s", type(exc).__name__)
                await asyncio.sleep(self.interval_s)
        finally:
            await admin.close()
            await consumer.stop()

    async def _take(self, admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer) -> LagSample:
        committed: dict[tuple[str, TopicPartition], int] = {}
        for group in self.settings.consumer_groups:
            offsets = await admin.list_consumer_group_offsets(group)
            for tp, meta in offsets.items():
                if meta.offset >= 0:
                    committed[(group, tp)] = meta.offset
        partitions = await topic_partitions(consumer)
        graph = [TopicPartition(self.graph_topic, p)
                 for p in partitions.get(self.graph_topic, [])]
        wanted = list({tp for _, tp in committed} | set(graph))
        ends = await consumer.end_offsets(wanted) if wanted else {}
        return LagSample(
            groups={(group, tp.topic, tp.partition): max(0, ends[tp] - offset)
                    for (group, tp), offset in committed.items() if tp in ends},
            graph_ends={tp.partition: ends[tp] for tp in graph if tp in ends},
        )
