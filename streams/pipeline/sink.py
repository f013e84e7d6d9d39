"""Sends handler outputs to their topics, under the topic prefix.

Two sinks behind one shape (`OutputSink`: `send`, then `flush` before the
batch's state is committed), chosen by `producer.client` in topology.yaml:

- `ConfluentSink`: librdkafka through confluent-kafka. `produce` copies a key
  and value into librdkafka's queue and returns; batching and sending run in
  its C threads. Round 4 of issue 21 put aiokafka's `send` at 16% of a
  worker's time (a coroutine, a future and Python batch building per record);
  round 5 measured the workers on librdkafka at 7-8% more CPU per event on
  the 2-core machine, so it is the option.
- `ProducerSink`: the Faust app's aiokafka producer (the default), fed
  whole record batches.

Both partition a key with murmur2, as Kafka's Java clients do, so a trace's
or an edge's records land where every other client of the contract expects.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer

from streams.kafka.clients import new_confluent_producer
from streams.kafka.partitioner import CachedPartitioner
from streams.pipeline.batch import Output, OutputSink
from streams.pipeline.topology import ProducerSpec
from streams.settings import Settings

log = logging.getLogger("lineage.sink")


class DeliveryFailed(RuntimeError):
    """Outputs that Kafka did not acknowledge; the batch that made them is not committed.

    Raised by `ConfluentSink.flush` after librdkafka gave up on a record
    (its `message.timeout.ms`, 5 minutes by default, with retries). The
    message names topics and error codes, never a key or a value.
    """

    def __init__(self, failures: Sequence[tuple[str, str]]) -> None:
        self.failures = list(failures)
        shown = ", ".join(sorted({f"{topic} ({error})" for topic, error in failures}))
        super().__init__(f"{len(failures)} output record(s) not delivered: {shown}")


class ProducerSink:
    """Sends through aiokafka, one closed record batch per partition and call.

    aiokafka's per-record `send` costs a coroutine, a future and a
    `get_running_loop` (a `getpid` system call on Python 3.11) per record;
    a rough measurement put 100,000 records at 2.1-3.1 CPU s that way
    against 0.9-2.2 s in batches (docs/BENCHMARKS.md, "Issue 21, round 6").
    Here each `send` partitions its outputs as Kafka's clients do (murmur2),
    appends each partition's records to batches of at most the producer's
    `max_batch_size` bytes, in order, and hands each batch to aiokafka
    closed, so it goes out without lingering. `flush` waits for every batch
    its task sent (the agents share the sink) and raises `DeliveryFailed` for
    those the broker refused (topics and error types only), so the batch's
    state is not committed.

    `client` returns the started `AIOKafkaProducer` (the Faust app's, made
    when the app starts: hence a function, called at the first send).
    """

    def __init__(self, client: Callable[[], AIOKafkaProducer], settings: Settings,
                 partitioner: CachedPartitioner | None = None) -> None:
        self.client = client
        self.settings = settings
        self._partitioner = partitioner or CachedPartitioner()
        self._partitions: dict[str, list[int]] = {}
        self._topics: dict[str, str] = {}
        #: Batches sent and not yet flushed, by the task that sent them: the
        #: agents share the sink, and each commits only what it saw delivered.
        self._in_flight: dict[asyncio.Task[Any] | None, list[tuple[str, asyncio.Future[Any]]]] = (
            defaultdict(list))

    async def _topic(self, name: str, producer: AIOKafkaProducer) -> tuple[str, list[int]]:
        """The physical topic of `name` and its partitions (asked once: they are fixed)."""
        topic = self._topics.get(name)
        if topic is None:
            topic = self._topics[name] = self.settings.topic(name)
        partitions = self._partitions.get(topic)
        if partitions is None:
            partitions = self._partitions[topic] = sorted(await producer.partitions_for(topic))
        return topic, partitions

    async def send(self, outputs: Sequence[Output]) -> None:
        if not outputs:
            return
        producer = self.client()
        partition_of = self._partitioner
        grouped: dict[tuple[str, int], list[Output]] = defaultdict(list)
        resolved: dict[str, tuple[str, list[int]]] = {}
        for out in outputs:
            where = resolved.get(out.topic)
            if where is None:
                where = resolved[out.topic] = await self._topic(out.topic, producer)
            topic, every = where
            grouped[topic, partition_of(out.key, every, every)].append(out)
        for (topic, partition), records in grouped.items():
            batch = producer.create_batch()
            for out in records:
                if batch.append(key=out.key, value=out.value, timestamp=None) is None:
                    await self._submit(producer, batch, topic, partition)
                    batch = producer.create_batch()
                    batch.append(key=out.key, value=out.value, timestamp=None)  # first: fits
            await self._submit(producer, batch, topic, partition)

    async def _submit(self, producer: AIOKafkaProducer, batch: Any, topic: str,
                      partition: int) -> None:
        batch.close()  # a closed batch is sent at once, not after the linger
        future = await producer.send_batch(batch, topic, partition=partition)
        self._in_flight[asyncio.current_task()].append((topic, future))

    async def flush(self) -> None:
        in_flight = self._in_flight.pop(asyncio.current_task(), None)
        if not in_flight:
            return
        await asyncio.wait([future for _topic, future in in_flight])
        failures = [(topic, type(future.exception()).__name__) for topic, future in in_flight
                    if future.exception() is not None]
        if failures:
            raise DeliveryFailed(failures)


class ConfluentSink:
    """Sends through librdkafka; `flush` waits in a thread and raises `DeliveryFailed`.

    Only failed deliveries call back into Python (`delivery.report.only.error`),
    into the list of the task that sent the record: the agents share the sink,
    and a task's `flush` raises only for its own records. The producer is made
    on the first send, so a worker that never sends (or a test that only builds
    the app) starts no librdkafka threads.
    """

    def __init__(self, settings: Settings, *, linger_ms: int,
                 config: dict[str, Any] | None = None,
                 new_producer: Callable[..., Any] = new_confluent_producer) -> None:
        self.settings = settings
        self.config: dict[str, Any] = {
            "linger.ms": linger_ms,
            "acks": "all",
            "enable.idempotence": True,
            "partitioner": "murmur2_random",  # Java's default for keyed records
            "delivery.report.only.error": True,
            **(config or {}),
        }
        self._new_producer = new_producer
        self._producer: Any = None
        self._topics: dict[str, str] = {}
        #: Records librdkafka gave up on, by the task that sent them (each
        #: commits only what it saw delivered), with the callback that notes them.
        self._failures: dict[asyncio.Task[Any] | None, _Failures] = {}

    def _client(self) -> Any:
        if self._producer is None:
            self._producer = self._new_producer(
                self.settings, error_cb=self._on_error,
                logger=logging.getLogger("lineage.librdkafka"), **self.config)
        return self._producer

    @staticmethod
    def _on_error(error: Any) -> None:
        log.warning("kafka producer: %s (%s)", error.name(), error.str())

    def _topic(self, name: str) -> str:
        topic = self._topics.get(name)
        if topic is None:
            topic = self._topics[name] = self.settings.topic(name)
        return topic

    async def send(self, outputs: Sequence[Output]) -> None:
        producer = self._client()
        task = asyncio.current_task()
        failed = self._failures.get(task)
        if failed is None:
            failed = self._failures[task] = _Failures()
        produce, topic_of = producer.produce, self._topic
        for out in outputs:
            topic = topic_of(out.topic)
            while True:
                try:
                    produce(topic, out.value, out.key, on_delivery=failed.note)
                    break
                except BufferError:  # librdkafka's queue is full: let it drain
                    await asyncio.get_running_loop().run_in_executor(None, producer.poll, 0.1)

    async def flush(self) -> None:
        producer = self._producer
        if producer is None:
            return
        if len(producer):  # records queued or in flight
            await asyncio.get_running_loop().run_in_executor(None, producer.flush)
        else:
            producer.poll(0)  # serve a failure report that is already in
        failed = self._failures.pop(asyncio.current_task(), None)
        if failed:
            raise DeliveryFailed(failed)


class _Failures(list[tuple[str, str]]):
    """One task's undelivered records: (topic, librdkafka's error name)."""

    def note(self, error: Any, message: Any) -> None:
        """librdkafka's delivery report (only failures are reported)."""
        if error is not None:
            self.append((message.topic(), error.name()))


def make_sink(spec: ProducerSpec, settings: Settings, faust_producer: Any) -> OutputSink:
    """The sink `spec` names; `faust_producer` serves `client: aiokafka`."""
    if spec.client == "confluent":
        return ConfluentSink(settings, linger_ms=spec.linger_ms,
                             config={"batch.size": spec.max_batch_bytes})
    return ProducerSink(faust_producer._ensure_producer, settings)
