"""Reading topics to their end through the one Kafka door (streams/kafka/)."""

from __future__ import annotations

import asyncio

from streams.kafka.clients import new_consumer, new_producer, topic_partitions
from streams.kafka.topic_reader import assign_from_beginning, latest_records, read_latest
from streams.kafka.topics import ensure_topics
from streams.pipeline.topology import load_topology
from streams.settings import Settings


async def _scenario(settings: Settings) -> None:
    assert await read_latest(settings, "policy-violations") == {}  # no topic yet: empty
    await ensure_topics(settings, load_topology())
    producer = new_producer(settings)
    await producer.start()
    try:
        for key, value in [(b"a", b"1"), (b"b", b"1"), (b"a", b"2"), (b"b", None)]:
            await producer.send_and_wait(settings.topic("policy-violations"), value, key=key)
        await producer.send_and_wait(settings.topic("dead-letters"), b"x", key=None)
        await producer.send_and_wait(settings.topic("dead-letters"), b"y", key=None)
    finally:
        await producer.stop()

    # latest per key, tombstones as None, keyless records left out
    assert await read_latest(settings, "policy-violations") == {b"a": b"2", b"b": None}

    consumer = new_consumer(settings, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await topic_partitions(consumer)
        spec = load_topology().topics["lineage-graph"]
        assert partitions[settings.topic("lineage-graph")] == list(range(spec.partitions))
        await assign_from_beginning(consumer, [settings.topic("dead-letters"),
                                               settings.topic("policy-violations")])
        latest = await latest_records(consumer)
    finally:
        await consumer.stop()
    dead = sorted(r.value for (topic, _), r in latest.items()
                  if topic == settings.topic("dead-letters"))
    assert dead == [b"x", b"y"]  # keyless (a delete-policy topic): each under its offset
    assert latest[(settings.topic("policy-violations"), b"a")].value == b"2"


def test_read_to_end_latest_per_key(settings: Settings) -> None:
    asyncio.run(_scenario(settings))


async def _led_when_created(settings: Settings) -> None:
    from streams.kafka.clients import new_admin

    created = await ensure_topics(settings, load_topology())
    assert settings.topic("probe-events") in created
    admin = new_admin(settings)
    await admin.start()
    try:  # no wait here: ensure_topics must have waited for every leader
        described = await admin.describe_topics(created)
    finally:
        await admin.close()
    assert {t["topic"] for t in described} == set(created)
    assert all(t["error_code"] == 0 and t["partitions"]
               and all(p["leader"] >= 0 for p in t["partitions"]) for t in described)


def test_topics_are_led_when_ensure_topics_returns(settings: Settings) -> None:
    # a worker subscribing right after would otherwise miss a topic for good (Faust)
    asyncio.run(_led_when_created(settings))
