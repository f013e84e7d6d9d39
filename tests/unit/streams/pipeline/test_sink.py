"""The output sinks without a broker: librdkafka against a port nobody listens on.

Delivery to the real broker, and the partition of each key, are in
tests/integration/test_confluent_sink.py.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from streams.pipeline.batch import Output
from streams.pipeline.sink import ConfluentSink, DeliveryFailed, ProducerSink, make_sink
from streams.pipeline.topology import ProducerSpec
from streams.settings import Settings

SECRET = b"precise-location-48.85,2.35"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _nowhere(**config: Any) -> ConfluentSink:
    settings = Settings(bootstrap_servers=f"127.0.0.1:{_closed_port()}", topic_prefix="t.")
    return ConfluentSink(settings, linger_ms=0,
                         config={"message.timeout.ms": 300, "log_level": 0, **config})


async def test_undelivered_outputs_fail_the_flush_without_their_values() -> None:
    sink = _nowhere()
    await sink.send([Output("flow-signals", b"edge-1", SECRET),
                     Output("dead-letters", b"k", SECRET), Output("flow-signals", b"edge-2", None)])
    with pytest.raises(DeliveryFailed) as caught:
        await sink.flush()
    assert len(caught.value.failures) == 3
    assert {topic for topic, _error in caught.value.failures} == {"t.flow-signals",
                                                                  "t.dead-letters"}
    assert {error for _topic, error in caught.value.failures} == {"_MSG_TIMED_OUT"}
    assert "3 output record(s) not delivered" in str(caught.value)
    assert "precise-location" not in str(caught.value) and "edge-1" not in str(caught.value)
    await sink.flush()  # reported once: the next batch starts clean


async def test_a_tasks_flush_raises_only_for_the_records_it_sent() -> None:
    """The agents share one sink: a failure is the sending task's, whoever flushes first."""
    sink = _nowhere()
    sent, bystander_flushed = asyncio.Event(), asyncio.Event()

    async def sender() -> None:
        await sink.send([Output("flow-signals", b"edge-1", SECRET)])
        sent.set()
        await bystander_flushed.wait()  # the bystander's flush served the failure report
        with pytest.raises(DeliveryFailed) as caught:
            await sink.flush()
        assert caught.value.failures == [("t.flow-signals", "_MSG_TIMED_OUT")]

    async def bystander() -> None:
        await sent.wait()
        await sink.flush()  # waits for the sender's record, raises nothing of its own
        bystander_flushed.set()

    await asyncio.gather(asyncio.create_task(sender()), asyncio.create_task(bystander()))


async def test_a_full_queue_waits_for_room_instead_of_dropping() -> None:
    sink = _nowhere(**{"queue.buffering.max.messages": 1})
    await sink.send([Output("flow-signals", f"edge-{i}".encode(), SECRET) for i in range(3)])
    with pytest.raises(DeliveryFailed) as caught:
        await sink.flush()
    assert len(caught.value.failures) == 3  # every record was queued once, none lost


async def test_a_sink_that_never_sends_starts_no_client() -> None:
    made: list[Any] = []
    sink = ConfluentSink(Settings(), linger_ms=5, new_producer=lambda *a, **k: made.append(a))
    await sink.flush()
    assert made == [] and sink.config["partitioner"] == "murmur2_random"
    assert sink.config["linger.ms"] == 5


class _FaustProducer:
    """What the sink takes of Faust's aiokafka producer: the client it started."""

    def __init__(self) -> None:
        self.client = object()

    def _ensure_producer(self) -> object:
        return self.client


def test_topology_chooses_the_sink() -> None:
    settings, faust_producer = Settings(), _FaustProducer()
    confluent = make_sink(ProducerSpec("confluent", 5, max_batch_bytes=4096), settings,
                          faust_producer)
    assert isinstance(confluent, ConfluentSink) and confluent.config["batch.size"] == 4096
    chosen = make_sink(ProducerSpec("aiokafka", 5), settings, faust_producer)
    assert isinstance(chosen, ProducerSink) and chosen.client() is faust_producer.client
