"""The load test's batch sender: every event arrives once, keyed and partitioned as `send` does."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer
from aiokafka.partitioner import DefaultPartitioner

from analyzers.events import validate_event
from loadtest.sender import send_events
from loadtest.workload import generate, stream
from streams.kafka.topics import ensure_topics
from streams.pipeline.topology import load_topology
from streams.settings import Settings


async def _read_all(settings: Settings, topics: list[str], expected: int) -> list[Any]:
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=settings.bootstrap_servers,
                                group_id=None, auto_offset_reset="earliest")
    await consumer.start()
    records: list[Any] = []
    try:
        for _ in range(100):
            batch = await consumer.getmany(timeout_ms=200)
            for items in batch.values():
                records.extend(items)
            if len(records) >= expected:
                break
    finally:
        await consumer.stop()
    return records


def test_every_event_arrives_once_with_its_contract_key_and_partition(
        settings: Settings) -> None:
    topology = load_topology()
    events = list(stream(generate(3), 1_700_000_000_000, 300))
    asyncio.run(ensure_topics(settings, topology))
    assert asyncio.run(send_events(settings, events)) == len(events)

    topics = sorted({settings.topic(validate_event(e).topic) for e in events})
    records = asyncio.run(_read_all(settings, topics, len(events)))
    assert Counter(r.value for r in records) == Counter(orjson.dumps(e) for e in events)
    for record in records:
        event = orjson.loads(record.value)
        spec = validate_event(event)
        key = spec.key_of(event).encode()
        partitions = list(range(topology.topics[spec.topic].partitions))
        assert record.key == key
        assert record.partition == DefaultPartitioner()(key, partitions, partitions)
