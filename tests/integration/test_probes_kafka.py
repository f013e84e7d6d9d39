"""The Kafka probes on the real broker: a produced message carries the trace, the
consumer joins it, and both ends are captured (confluent_kafka one way, aiokafka the other)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import lineage_probes
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from lineage_probes import context
from lineage_probes.emitter import MemoryEmitter

from streams.settings import Settings

TRACE = "7bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture()
def captured() -> Iterator[MemoryEmitter]:
    emitter = MemoryEmitter()
    lineage_probes.instrument(service="svc", sample_rate=1.0, emitter=emitter,
                              probes=["confluent_kafka", "aiokafka"])
    yield emitter
    lineage_probes.uninstrument()


async def _topic(settings: Settings, name: str) -> str:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(settings.topic(name), 1, 1)])
    finally:
        await admin.close()
    return settings.topic(name)


def _events(emitter: MemoryEmitter) -> list[dict[str, Any]]:
    return [json.loads(v) for _, v in emitter.sent]


async def test_confluent_produce_to_aiokafka_consume(settings: Settings,
                                                     captured: MemoryEmitter) -> None:
    import aiokafka
    import confluent_kafka
    topic = await _topic(settings, "orders")
    producer = confluent_kafka.Producer({"bootstrap.servers": settings.bootstrap_servers})
    token = context.CURRENT.set(context.Trace(TRACE, True))
    try:
        producer.produce(topic, value=json.dumps({"address": "12 Rose Lane"}).encode())
    finally:
        context.end(token)
    assert producer.flush(15) == 0
    consumer = aiokafka.AIOKafkaConsumer(topic, bootstrap_servers=settings.bootstrap_servers,
                                         auto_offset_reset="earliest")
    await consumer.start()
    try:
        async with asyncio.timeout(30):  # not wait_for: a new task would not share our context
            message = await consumer.getone()
        joined = context.CURRENT.get()
    finally:
        await consumer.stop()
    assert dict(message.headers)["traceparent"].decode().split("-")[1] == TRACE
    assert joined is not None and joined.trace_id == TRACE
    events = _events(captured)
    asset = f"kafka://{settings.bootstrap_servers.split(',')[0]}/{topic}"
    assert [(e["role"], e["asset"], e["trace_id"]) for e in events] == [
        ("sink", asset, TRACE), ("source", asset, TRACE)]
    assert events[1]["payload"] == {"address": "12 Rose Lane"}


async def test_aiokafka_produce_to_confluent_consume(settings: Settings,
                                                     captured: MemoryEmitter) -> None:
    import aiokafka
    import confluent_kafka
    topic = await _topic(settings, "events")
    producer = aiokafka.AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers)
    await producer.start()
    token = context.CURRENT.set(context.Trace(TRACE, True))
    try:
        await producer.send_and_wait(topic, b"moved to 12 Rose Lane")
    finally:
        context.end(token)
        await producer.stop()
    consumer = confluent_kafka.Consumer({
        "bootstrap.servers": settings.bootstrap_servers, "group.id": settings.topic("g"),
        "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    try:
        message = None
        for _ in range(60):
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                break
        joined = context.CURRENT.get()
    finally:
        consumer.close()
    assert message is not None and message.value() == b"moved to 12 Rose Lane"
    assert joined is not None and joined.trace_id == TRACE
    roles = [(e["role"], e["payload"]) for e in _events(captured)]
    assert roles == [("sink", "moved to 12 Rose Lane"), ("source", "moved to 12 Rose Lane")]


async def test_precise_policy_on_consumed_messages(settings: Settings) -> None:
    """A consumed message of a zone topic (confluent_kafka `poll`, aiokafka `getone`) blocks
    only a produce to the denied topic that carries its zone value (verbatim, inside a
    longer value, hashed); one carrying none goes, and no enforcement event holds a value."""
    import hashlib

    import aiokafka
    import confluent_kafka
    from lineage_probes.enforcement.feed import StaticZones
    from lineage_probes.enforcement.index import ZoneState

    city = "Valparaiso-4711"
    users, ads = await _topic(settings, "users"), await _topic(settings, "ads")
    first = settings.bootstrap_servers.split(",")[0]
    state = ZoneState()
    state.apply_policy(b"loc", json.dumps({
        "policy_id": "loc", "mode": "enforce", "match": "value",
        "deny": [f"kafka://{first}/{ads}"]}).encode())
    state.apply_member(f"loc|kafka://{first}/{users}#address.city".encode(), b'{"state":"root"}')
    emitter = MemoryEmitter()
    lineage_probes.instrument(service="svc", sample_rate=0.0, emitter=emitter,
                              probes=["confluent_kafka", "aiokafka"], zones=StaticZones(state))
    try:
        seed = confluent_kafka.Producer({"bootstrap.servers": settings.bootstrap_servers})
        for _ in range(8):  # outside any request: a message per consume below
            seed.produce(users, value=json.dumps({"id": 7, "address": {"city": city}}).encode())
        assert seed.flush(15) == 0
        writes = [lambda c: "generic", lambda c: c, lambda c: f"near {c.upper()}!",
                  lambda c: hashlib.sha256(c.encode()).hexdigest()]
        out = confluent_kafka.Producer({"bootstrap.servers": settings.bootstrap_servers})

        def produced(write: Any) -> bool:
            try:
                out.produce(ads, value=json.dumps({"segment": write(city)}).encode())
            except lineage_probes.FlowBlocked:
                return False
            return True

        consumer = confluent_kafka.Consumer({
            "bootstrap.servers": settings.bootstrap_servers, "group.id": settings.topic("g1"),
            "auto.offset.reset": "earliest"})
        consumer.subscribe([users])
        by_poll = []
        try:
            for write in writes:
                message = None
                for _ in range(60):
                    message = consumer.poll(0.5)
                    if message is not None and message.error() is None:
                        break
                assert message is not None and message.error() is None
                by_poll.append(produced(write))
        finally:
            consumer.close()
        aio = aiokafka.AIOKafkaConsumer(users, bootstrap_servers=settings.bootstrap_servers,
                                        group_id=settings.topic("g2"),
                                        auto_offset_reset="earliest")
        await aio.start()
        by_getone = []
        try:
            for write in writes:
                async with asyncio.timeout(30):  # not wait_for: the trace stays in this task
                    await aio.getone()
                by_getone.append(produced(write))
        finally:
            await aio.stop()
        out.flush(15)
    finally:
        lineage_probes.uninstrument()
    assert by_poll == by_getone == [True, False, False, False]
    events = [v for topic, _, v in emitter.other if topic == "enforcement-events"]
    assert events and all(json.loads(v)["decision"] == "blocked" for v in events)
    assert city.lower().encode() not in b"".join(events).lower()
