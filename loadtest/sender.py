"""Send generated events at load-test rates: record batches built by hand.

`AIOKafkaProducer.send` costs a future, a partitioner call and an
accumulator lookup per message, which alone would cap the driver near the
rates it must offer. Here events are appended to one `BatchBuilder` per
topic partition and each full (or flushed) batch goes out with
`send_batch`. Keys and partitions are those `lineage send` would give
(the contract's key, Kafka's murmur2 partitioner), so every capture of a
trace still lands in one partition.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder

from analyzers.events import SPECS
from streams.kafka.clients import new_producer
from streams.settings import Settings


@dataclass(frozen=True, slots=True)
class Prepared:
    """An event serialized ahead of time but for its `ts`: `ts_offset` after a base time."""

    topic: str
    partition: int
    key: bytes
    ts_offset: int
    tail: bytes  # the JSON object without "ts", less its opening brace

    def value(self, base_ts: int) -> bytes:
        return b'{"ts":%d,' % (base_ts + self.ts_offset) + self.tail


class BatchSender:
    """Buffers events per topic partition; `flush` sends every open batch."""

    def __init__(self, producer: AIOKafkaProducer, settings: Settings) -> None:
        self.producer = producer
        self.settings = settings
        self._partitions: dict[str, list[int]] = {}
        self._batches: dict[tuple[str, int], BatchBuilder] = {}
        self._in_flight: list[asyncio.Future[Any]] = []
        self.sent = 0
        self._last_key: tuple[str, bytes] | None = None
        self._last_partition = 0

    async def _partitions_of(self, topic: str) -> list[int]:
        partitions = self._partitions.get(topic)
        if partitions is None:
            found = await self.producer.partitions_for(topic)
            partitions = self._partitions[topic] = sorted(found)
        return partitions

    async def _route(self, event: dict[str, Any]) -> tuple[str, int, bytes]:
        """The topic, partition and key `lineage send` would give `event`."""
        spec = SPECS[event["type"]]
        key = spec.key_of(event).encode()
        topic = self.settings.topic(spec.topic)
        if (topic, key) != self._last_key:  # a trace's captures come one after another
            partitions = await self._partitions_of(topic)
            self._last_partition = DefaultPartitioner()(key, partitions, partitions)
            self._last_key = (topic, key)
        return topic, self._last_partition, key

    async def add(self, event: dict[str, Any]) -> None:
        """Buffer one valid event (the generator's); its topic and key follow the contract."""
        topic, partition, key = await self._route(event)
        await self.add_raw(topic, partition, key, orjson.dumps(event))

    async def prepare(self, event: dict[str, Any]) -> Prepared:
        """`event` (its `ts` an offset from the time it will be sent) ready to send."""
        topic, partition, key = await self._route(event)
        rest = {k: v for k, v in event.items() if k != "ts"}
        if not rest:
            raise ValueError("an event needs fields besides 'ts'")
        return Prepared(topic, partition, key, event["ts"], orjson.dumps(rest)[1:])

    async def add_prepared(self, event: Prepared, base_ts: int) -> None:
        await self.add_raw(event.topic, event.partition, event.key, event.value(base_ts))

    async def add_raw(self, topic: str, partition: int, key: bytes, value: bytes) -> None:
        batch = self._batches.get((topic, partition))
        if batch is None:
            batch = self._batches[(topic, partition)] = self.producer.create_batch()
        if batch.append(timestamp=None, key=key, value=value) is None:
            await self._send(topic, partition, batch)
            batch = self._batches[(topic, partition)] = self.producer.create_batch()
            if batch.append(timestamp=None, key=key, value=value) is None:
                raise ValueError(f"an event of {len(value)} bytes does not fit in a batch")
        self.sent += 1

    async def _send(self, topic: str, partition: int, batch: BatchBuilder) -> None:
        batch.close()
        self._in_flight.append(await self.producer.send_batch(batch, topic, partition=partition))

    async def flush(self) -> None:
        """Send every open batch (without waiting for the broker)."""
        batches, self._batches = self._batches, {}
        for (topic, partition), batch in batches.items():
            await self._send(topic, partition, batch)
        self._in_flight = [f for f in self._in_flight if not f.done()]

    async def drain(self) -> None:
        """Send what is open and wait until the broker acknowledged everything."""
        await self.flush()
        if self._in_flight:
            await asyncio.gather(*self._in_flight)
        self._in_flight = []


async def send_events(settings: Settings, events: Iterable[dict[str, Any]]) -> int:
    """Send `events` as fast as the broker takes them; return how many."""
    producer = new_producer(settings, linger_ms=5, max_batch_size=512 * 1024)
    await producer.start()
    try:
        sender = BatchSender(producer, settings)
        for event in events:
            await sender.add(event)
        await sender.drain()
        return sender.sent
    finally:
        await producer.stop()
