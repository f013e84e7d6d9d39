"""Agents that read with Kafka's batch fetch instead of Faust's per-event stream.

Faust hands a stream one event at a time (a task hand-off, a channel put, an
ack and a future per message); for the probe join and the edge merge that
path, not their handlers, capped a worker at under 2k events/s. An agent
configured with `consumer: batch` in topology.yaml is run here instead: one
aiokafka consumer per worker, in its own consumer group (`Settings.batch_group_id`),
fetches up to the largest `batch_size` of its agents with `getmany` (waiting at
most the shortest `batch_within_ms` when nothing is there) and hands each
topic's records to the same `process_messages` the Faust agents use, so
state, offsets, dead letters and recovery behave exactly the same.

Offsets: the partition store's offset is the truth (a redelivered record is
skipped); the group's committed offset follows it after every batch, so a
restart or another worker resumes there and lag is visible to the usual
tools. A revocation waits for the batch in flight.

State follows its partitions: every partition assigned is checked against the
group's committed offset before any of its records is processed, and a store
left behind by another worker's progress is rebuilt (streams/pipeline/restore.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from aiokafka.structs import ConsumerRecord

from streams.kafka.clients import new_consumer, topic_partitions
from streams.pipeline.batch import Handler, InputRules, OutputSink, Validator, process_messages
from streams.pipeline.metrics import Metrics
from streams.pipeline.restore import StateRestorer, check_partition_counts
from streams.pipeline.stores import StoreRegistry
from streams.settings import Settings

log = logging.getLogger("lineage.batch")


@dataclass(frozen=True)
class BatchAgent:
    """One agent served by the batch consumer: what it reads and how it handles it."""

    name: str
    topic: str  # the physical topic name
    batch_size: int
    within_ms: int
    handler: Handler
    validate: Validator
    rules: InputRules = field(default_factory=InputRules)


class _WaitForBatch(ConsumerRebalanceListener):
    """Revocations wait for the batch in flight; assignments are noted for a state check."""

    def __init__(self, lock: asyncio.Lock, unchecked: set[TopicPartition]) -> None:
        self.lock = lock
        self.unchecked = unchecked

    async def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        async with self.lock:  # the batch in flight finishes and commits first
            self.unchecked.difference_update(revoked)

    async def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        self.unchecked.update(assigned)
        if assigned:
            log.info("batch consumer assigned %s",
                     ", ".join(sorted(f"{tp.topic}:{tp.partition}" for tp in assigned)))


class BatchConsumer:
    """Runs the batch agents of a worker until cancelled."""

    def __init__(self, settings: Settings, agents: Sequence[BatchAgent], *,
                 stores: StoreRegistry, sink: OutputSink, metrics: Metrics,
                 restorer: StateRestorer | None = None) -> None:
        if not agents:
            raise ValueError("a batch consumer needs at least one agent")
        self.settings = settings
        self.agents = {agent.topic: agent for agent in agents}
        self.stores = stores
        self.sink = sink
        self.metrics = metrics
        self.restorer = restorer
        self._lock = asyncio.Lock()
        self._unchecked: set[TopicPartition] = set()
        self.max_records = max(agent.batch_size for agent in agents)
        self.within_ms = min(agent.within_ms for agent in agents)

    def _consumer(self) -> AIOKafkaConsumer:
        return new_consumer(
            self.settings,
            group_id=self.settings.batch_group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.max_records,
            fetch_max_bytes=64 * 1024 * 1024,
            max_partition_fetch_bytes=8 * 1024 * 1024,
            # As for the Faust consumer: a killed worker's partitions return quickly.
            session_timeout_ms=10_000,
            heartbeat_interval_ms=2_000,
        )

    async def run(self) -> None:
        consumer = self._consumer()
        await consumer.start()
        try:
            if self.restorer is not None:
                check_partition_counts(self.settings, await topic_partitions(consumer))
            consumer.subscribe(topics=sorted(self.agents),
                               listener=_WaitForBatch(self._lock, self._unchecked))
            while True:
                fetched = await consumer.getmany(timeout_ms=self.within_ms,
                                                 max_records=self.max_records)
                if fetched or self._unchecked:
                    async with self._lock:
                        await self._restore_assigned(consumer)
                        if fetched:
                            await self.process(fetched)
                            await self._commit(consumer, fetched)
        finally:
            await consumer.stop()

    async def _restore_assigned(self, consumer: AIOKafkaConsumer) -> None:
        """Restore the state of partitions assigned since the last batch, if they lack it."""
        while self._unchecked:
            tp = min(self._unchecked)
            if self.restorer is not None and tp in consumer.assignment():
                committed = await consumer.committed(tp)
                agent = self.agents[tp.topic]
                await self.restorer.restore(agent.name, tp.topic, tp.partition, committed,
                                            (agent.handler, agent.validate), agent.rules)
            self._unchecked.discard(tp)

    async def process(self, fetched: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        """Hand each topic's records, all partitions together, to its agent."""
        by_topic: dict[str, list[ConsumerRecord]] = defaultdict(list)
        for tp, records in fetched.items():
            by_topic[tp.topic].extend(records)
        for topic, records in by_topic.items():
            agent = self.agents[topic]
            await process_messages(records, agent=agent.name, validate=agent.validate,
                                   stores=self.stores, handler=agent.handler, sink=self.sink,
                                   metrics=self.metrics, rules=agent.rules)

    async def _commit(self, consumer: AIOKafkaConsumer,
                      fetched: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        offsets = {tp: records[-1].offset + 1 for tp, records in fetched.items() if records}
        try:
            await consumer.commit(offsets)
        except (CommitFailedError, KafkaError) as exc:
            # The store already holds this batch (a redelivery here is skipped);
            # the next successful commit covers these offsets too.
            log.warning("batch consumer: offset commit failed (%s); continuing",
                        type(exc).__name__)
