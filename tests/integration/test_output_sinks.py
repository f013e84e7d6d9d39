"""Both output sinks against the real broker: every output lands, where Kafka's clients put it.

Keys must land on the partition Kafka's Java clients (and aiokafka with
`CachedPartitioner`) choose, or a trace's records would be split across
partitions and the joins downstream would miss each other. A record the
broker refuses fails the flush of the task that sent it, and only that one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from streams.kafka.clients import new_producer
from streams.kafka.partitioner import CachedPartitioner
from streams.kafka.topics import ensure_topics
from streams.pipeline.batch import Output, OutputSink
from streams.pipeline.sink import ConfluentSink, DeliveryFailed, ProducerSink
from streams.pipeline.topology import load_topology
from streams.settings import Settings
from tests.integration.kafka_helpers import read_topic

SECRET = b"precise-location-48.85,2.35"


@pytest.fixture(params=["aiokafka", "confluent"])
async def new_sink(request: pytest.FixtureRequest,
                   settings: Settings) -> AsyncIterator[Callable[[int], OutputSink]]:
    """Makes a sink of the client under test, with batches of at most the given bytes."""
    producers = []

    def make(max_batch_bytes: int) -> OutputSink:
        if request.param == "confluent":
            return ConfluentSink(settings, linger_ms=5, config={"batch.size": max_batch_bytes})
        producer = new_producer(settings, linger_ms=5, max_batch_size=max_batch_bytes)
        producers.append(producer)
        return ProducerSink(lambda: producer, settings)

    await ensure_topics(settings, load_topology())
    yield make
    for producer in producers:
        await producer.stop()


async def _started(sink: OutputSink) -> OutputSink:
    if isinstance(sink, ProducerSink):
        await sink.client().start()
    return sink


@pytest.mark.asyncio
async def test_every_output_lands_on_the_java_clients_partition_in_order(
        settings: Settings, new_sink: Callable[[int], OutputSink]) -> None:
    partitions = list(range(load_topology().topics["flow-signals"].partitions))
    assert len(partitions) > 1
    outputs = [Output("flow-signals", f"web://svc-{i % 40}/route#f->hive://w/t{i % 40}".encode(),
                      b'{"n":%d}' % i) for i in range(600)]
    outputs.append(Output("flow-signals", b"tombstoned-edge", None))
    sink = await _started(new_sink(2048))  # many batches per partition and call
    await sink.send(outputs[:300])
    await sink.send(outputs[300:])
    await sink.flush()

    records = await read_topic(settings.bootstrap_servers, settings.topic("flow-signals"),
                               expect=len(outputs))
    assert len(records) == len(outputs)
    java_partition = CachedPartitioner()
    for key in {out.key for out in outputs}:
        sent = [out.value for out in outputs if out.key == key]
        landed = sorted((r for r in records if r.key == key), key=lambda r: r.offset)
        assert [r.value for r in landed] == sent  # a key's records in the order sent
        assert {r.partition for r in landed} == {java_partition(key, partitions, partitions)}


@pytest.mark.asyncio
async def test_a_refused_record_fails_only_its_own_tasks_flush_without_its_value(
        settings: Settings, new_sink: Callable[[int], OutputSink]) -> None:
    sink = await _started(new_sink(16_384))
    if isinstance(sink, ConfluentSink):
        sink.config["message.timeout.ms"] = 5000
    too_large = SECRET * 200_000  # over the broker's message.max.bytes (1 MiB)

    async def refused() -> None:
        await sink.send([Output("dead-letters", b"big", too_large)])
        await sink.flush()

    async def delivered() -> None:
        await sink.send([Output("flow-signals", b"edge-1", b"{}")])
        await sink.flush()

    outcomes = await asyncio.gather(asyncio.create_task(refused()),
                                    asyncio.create_task(delivered()), return_exceptions=True)
    if isinstance(sink, ProducerSink):  # librdkafka refuses it before it is queued
        assert isinstance(outcomes[0], DeliveryFailed)
        assert outcomes[0].failures[0][0] == settings.topic("dead-letters")
    else:
        assert type(outcomes[0]).__name__ == "KafkaException"
    assert "precise-location" not in str(outcomes[0]) and "big" not in str(outcomes[0])
    assert outcomes[1] is None
    landed = await read_topic(settings.bootstrap_servers, settings.topic("flow-signals"),
                              expect=1)
    assert [r.key for r in landed] == [b"edge-1"]
