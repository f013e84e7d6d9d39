"""Agents that read with Kafka's batch fetch instead of Faust's per-event stream.

Faust hands a stream one event at a time (a task hand-off, a channel put, an
ack and a future per message); for the probe join and the edge merge that
path, not their handlers, capped a worker at under 2k events/s. An agent
configured with `consumer: batch` in topology.yaml is run here instead: one
consumer per worker (aiokafka or librdkafka, `batch_consumer.client` in
topology.yaml; streams/pipeline/batch_fetch.py), in its own consumer group
(`Settings.batch_group_id`), fetches up to the largest `batch_size` of its
agents (waiting at most the shortest `batch_within_ms` when nothing is there) and hands each
topic's records, grouped by partition as fetched, to `process_partitions`
(what `process_messages` of the Faust agents runs after grouping), so
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

from aiokafka import TopicPartition

from streams.pipeline.batch import (
    Handler,
    InputRules,
    Message,
    OutputSink,
    Validator,
    process_partitions,
)
from streams.pipeline.batch_fetch import CommitFailed, Fetcher, new_fetcher
from streams.pipeline.metrics import Metrics
from streams.pipeline.restore import StateRestorer, check_partition_counts
from streams.pipeline.stores import StoreRegistry
from streams.pipeline.topology import BatchConsumerSpec
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


class BatchConsumer:
    """Runs the batch agents of a worker until cancelled."""

    def __init__(self, settings: Settings, agents: Sequence[BatchAgent], *,
                 stores: StoreRegistry, sink: OutputSink, metrics: Metrics,
                 restorer: StateRestorer | None = None,
                 spec: BatchConsumerSpec | None = None) -> None:
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
        self.spec = spec or BatchConsumerSpec("aiokafka")

    def _assigned(self, assigned: Sequence[TopicPartition]) -> None:
        self._unchecked.update(assigned)
        if assigned:
            log.info("batch consumer assigned %s",
                     ", ".join(sorted(f"{tp.topic}:{tp.partition}" for tp in assigned)))

    def _revoked(self, revoked: Sequence[TopicPartition]) -> None:
        self._unchecked.difference_update(revoked)

    async def run(self) -> None:
        spec = self.spec
        consumer = new_fetcher(spec.client, self.settings, self.settings.batch_group_id,
                               self.max_records, min_bytes=spec.fetch_min_bytes,
                               max_wait_ms=spec.fetch_max_wait_ms,
                               columns=spec.records == "columns")
        await consumer.start()
        try:
            if self.restorer is not None:
                check_partition_counts(self.settings, await consumer.partitions())
            consumer.subscribe(sorted(self.agents), self._lock, self._assigned, self._revoked)
            while True:
                fetched = await consumer.fetch(self.within_ms, self.max_records)
                if fetched or self._unchecked:
                    async with self._lock:
                        await self._restore_assigned(consumer)
                        if fetched:
                            await self.process(fetched)
                            await self._commit(consumer, fetched)
        finally:
            await consumer.stop()

    async def _restore_assigned(self, consumer: Fetcher) -> None:
        """Restore the state of partitions assigned since the last batch, if they lack it."""
        while self._unchecked:
            tp = min(self._unchecked)
            if self.restorer is not None and tp in consumer.assignment():
                committed = await consumer.committed(tp)
                agent = self.agents[tp.topic]
                await self.restorer.restore(agent.name, tp.topic, tp.partition, committed,
                                            (agent.handler, agent.validate), agent.rules)
            self._unchecked.discard(tp)

    async def process(self, fetched: dict[TopicPartition, Sequence[Message]]) -> None:
        """Hand each topic's records, all partitions together, to its agent (grouped
        by partition as fetched: `process_partitions`)."""
        by_topic: dict[str, dict[int, Sequence[Message]]] = defaultdict(dict)
        for tp, records in fetched.items():
            by_topic[tp.topic][tp.partition] = records
        for topic, by_partition in by_topic.items():
            agent = self.agents[topic]
            await process_partitions(by_partition, agent=agent.name, validate=agent.validate,
                                     stores=self.stores, handler=agent.handler, sink=self.sink,
                                     metrics=self.metrics, rules=agent.rules)

    async def _commit(self, consumer: Fetcher,
                      fetched: dict[TopicPartition, Sequence[Message]]) -> None:
        offsets = {tp: records[-1].offset + 1 for tp, records in fetched.items() if records}
        try:
            await consumer.commit(offsets)
        except CommitFailed as exc:
            # The store already holds this batch (a redelivery here is skipped);
            # the next successful commit covers these offsets too.
            log.warning("batch consumer: offset commit failed (%s); continuing", exc)
