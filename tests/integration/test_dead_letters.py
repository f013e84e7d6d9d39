"""Bad input on an input topic reaches `dead-letters` with its bytes; the worker goes on."""

from __future__ import annotations

import asyncio
import base64

import orjson
from aiokafka import AIOKafkaProducer

from streams.kafka.topics import ensure_topics
from streams.pipeline.topology import load_topology
from streams.settings import Settings
from tests.integration.kafka_helpers import read_topic
from tests.integration.worker import running_worker, wait_for_graph

SECRET = "Flat 9, 12 Secret Lane"
GOOD_SOURCE = {"v": 1, "type": "probe", "trace_id": "t-1", "ts": 1000, "role": "source",
               "asset": "web://a/h", "payload": {"location": SECRET}}
GOOD_SINK = {"v": 1, "type": "probe", "trace_id": "t-1", "ts": 1001, "role": "sink",
             "asset": "mysql://db/t.t", "payload": {"loc": SECRET}}
BAD = [
    b'{"v":1,"type":"probe","trace_id":"t-1","payload":"' + SECRET.encode(),  # truncated JSON
    orjson.dumps({**GOOD_SOURCE, "role": "middle"}),  # bad field value
    orjson.dumps({**GOOD_SOURCE, "type": "static"}),  # wrong type for the topic
]


async def _produce(settings: Settings, values: list[bytes]) -> None:
    await ensure_topics(settings, load_topology())
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers)
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(settings.topic("probe-events"), value, key=b"t-1")
    finally:
        await producer.stop()


def test_bad_events_become_dead_letters_and_the_rest_goes_on(settings: Settings) -> None:
    values = [BAD[0], orjson.dumps(GOOD_SOURCE), BAD[1], BAD[2], orjson.dumps(GOOD_SINK)]
    asyncio.run(_produce(settings, values))
    with running_worker(settings):
        edges = wait_for_graph(settings, lambda e: "web://a/h#location -> mysql://db/t.t#loc" in e)
        letters = asyncio.run(read_topic(settings.bootstrap_servers,
                                         settings.topic("dead-letters"), expect=3))
    assert "web://a/h#location -> mysql://db/t.t#loc" in edges
    records = [orjson.loads(r.value) for r in letters]
    assert sorted(base64.b64decode(r["value_b64"]) for r in records) == sorted(BAD)
    reasons = {r["reason"] for r in records}
    assert any(reason.startswith("not valid JSON") for reason in reasons)
    assert "probe: field 'role' must be one of 'source', 'sink'" in reasons
    assert "event type 'static' does not belong on topic 'probe-events'" in reasons
    for record, letter in zip(records, letters, strict=True):
        assert SECRET not in record["reason"]
        assert letter.key.decode() == record["origin"]
        assert record["origin"].startswith(settings.topic("probe-events") + ":")
