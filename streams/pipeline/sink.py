"""Sends handler outputs to their topics, under the topic prefix.

Two sinks behind one shape (`OutputSink`: `send`, then `flush` before the
batch's state is committed), chosen by `producer.client` in topology.yaml:

- `ConfluentSink`: librdkafka through confluent-kafka. `produce` copies a key
  and value into librdkafka's queue and returns; batching and sending run in
  its C threads. Round 4 of issue 21 put aiokafka's `send` at 16% of a
  worker's time (a coroutine, a future and Python batch building per record);
  round 5 measured the workers on librdkafka at 7-8% more CPU per event on
  the 2-core machine, so it is the option.
- `ProducerSink`: the Faust app's aiokafka producer (the default).

Both partition a key with murmur2, as Kafka's Java clients do, so a trace's
or an edge's records land where every other client of the contract expects.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from streams.kafka.clients import new_confluent_producer
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
    """Buffered sends; `flush` waits until every buffered message is acknowledged."""

    def __init__(self, producer: Any, settings: Settings) -> None:
        self.producer = producer
        self.settings = settings

    async def send(self, outputs: Sequence[Output]) -> None:
        for out in outputs:
            await self.producer.send(
                self.settings.topic(out.topic), out.key, out.value,
                partition=None, timestamp=None, headers=None,
            )

    async def flush(self) -> None:
        await self.producer.flush()


class ConfluentSink:
    """Sends through librdkafka; `flush` waits in a thread and raises `DeliveryFailed`.

    Only failed deliveries call back into Python (`delivery.report.only.error`).
    The producer is made on the first send, so a worker that never sends
    (or a test that only builds the app) starts no librdkafka threads.
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
        self._failures: list[tuple[str, str]] = []

    def _client(self) -> Any:
        if self._producer is None:
            self._producer = self._new_producer(
                self.settings, on_delivery=self._on_delivery, error_cb=self._on_error,
                logger=logging.getLogger("lineage.librdkafka"), **self.config)
        return self._producer

    def _on_delivery(self, error: Any, message: Any) -> None:
        if error is not None:
            self._failures.append((message.topic(), error.name()))

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
        produce, topic_of = producer.produce, self._topic
        for out in outputs:
            topic = topic_of(out.topic)
            while True:
                try:
                    produce(topic, out.value, out.key)
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
        if self._failures:
            failures, self._failures = self._failures, []
            raise DeliveryFailed(failures)


def make_sink(spec: ProducerSpec, settings: Settings, faust_producer: Any) -> OutputSink:
    """The sink `spec` names; `faust_producer` serves `client: aiokafka`."""
    if spec.client == "confluent":
        return ConfluentSink(settings, linger_ms=spec.linger_ms)
    return ProducerSink(faust_producer, settings)
