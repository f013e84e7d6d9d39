"""The batch consumer's clients without a broker.

Against the real one: tests/integration/test_batch_fetch.py.
"""

from __future__ import annotations

import asyncio
import logging
import socket

import confluent_kafka
import pytest
from aiokafka import TopicPartition

from streams.pipeline.batch import Message, record_time_ms
from streams.pipeline.batch_fetch import (
    AiokafkaFetcher,
    ConfluentFetcher,
    FetchedRecord,
    fetched_records,
    new_fetcher,
)
from streams.settings import Settings


def _nowhere() -> Settings:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    return Settings(bootstrap_servers=f"127.0.0.1:{port}", topic_prefix="t.")


async def test_the_topology_names_the_client() -> None:  # aiokafka wants a loop
    settings = Settings()
    assert isinstance(new_fetcher("confluent", settings, "g", 10), ConfluentFetcher)
    assert isinstance(new_fetcher("aiokafka", settings, "g", 10), AiokafkaFetcher)


def test_a_fetch_waits_for_the_bytes_the_topology_asks() -> None:
    confluent = new_fetcher("confluent", Settings(), "g", 10, min_bytes=4096, max_wait_ms=70)
    assert isinstance(confluent, ConfluentFetcher)
    assert (confluent._config["fetch.min.bytes"], confluent._config["fetch.wait.max.ms"]) == (
        4096, 70)


def test_a_fetched_record_is_what_the_batch_path_reads() -> None:
    record: Message = FetchedRecord("t.probe-events", 3, 41, None, b"{}", -1)
    assert (record.topic, record.partition, record.offset, record.key, record.value) == (
        "t.probe-events", 3, 41, None, b"{}")
    with pytest.raises(AttributeError):  # a tuple: no stray attributes per record
        record.headers = []  # type: ignore[attr-defined]


def _message(partition: int, offset: int, **fields: object) -> confluent_kafka.Message:
    return confluent_kafka.Message(topic="t.probe-events", partition=partition, offset=offset,
                                   **fields)


def test_librdkafkas_messages_become_records_by_partition_in_order(
        caplog: pytest.LogCaptureFixture) -> None:
    transport = confluent_kafka.KafkaError(confluent_kafka.KafkaError._TRANSPORT)
    messages = [
        _message(2, 7, key=b"a", value=b"1", timestamp=(1, 1_700_000_000_000)),
        _message(2, 8, key=None, value=None, timestamp=(1, 1_700_000_000_001)),
        _message(0, 3, key=b"c", value=b"3", timestamp=(0, -1)),  # no timestamp
        confluent_kafka.Message(topic="t.probe-events", partition=1, error=transport),
        _message(2, 9, key=b"d", value=b"4", timestamp=(2, 1_700_000_000_002)),
    ]
    with caplog.at_level(logging.WARNING, logger="lineage.batch"):
        fetched = fetched_records(messages)
    tp = "t.probe-events"
    assert fetched == {
        TopicPartition(tp, 2): [FetchedRecord(tp, 2, 7, b"a", b"1", 1_700_000_000_000),
                                FetchedRecord(tp, 2, 8, None, None, 1_700_000_000_001),
                                FetchedRecord(tp, 2, 9, b"d", b"4", 1_700_000_000_002)],
        TopicPartition(tp, 0): [FetchedRecord(tp, 0, 3, b"c", b"3", -1)],
    }
    assert record_time_ms(fetched[TopicPartition(tp, 0)][0]) is None
    assert [r.getMessage() for r in caplog.records] == [
        "batch consumer: _TRANSPORT from the client (not fatal: it goes on)"]
    assert fetched_records([]) == {}


def test_a_fatal_client_error_ends_the_fetch() -> None:
    fatal = confluent_kafka.KafkaError(confluent_kafka.KafkaError._FENCED, fatal=True)
    with pytest.raises(confluent_kafka.KafkaException):
        fetched_records([_message(0, 1, value=b"1"),
                         confluent_kafka.Message(topic="t", partition=0, error=fatal)])


async def test_without_a_broker_a_fetch_waits_then_returns_nothing_and_stop_leaves(
        caplog: pytest.LogCaptureFixture) -> None:
    fetcher = ConfluentFetcher(_nowhere(), "g", 100)
    await fetcher.start()
    assigned: list[object] = []
    fetcher.subscribe(["t.probe-events"], asyncio.Lock(), assigned.extend, assigned.extend)
    with caplog.at_level(logging.WARNING, logger="lineage.batch"):
        for _ in range(3):
            assert await fetcher.fetch(100, 100) == {}
    assert assigned == [] and fetcher.assignment() == set()
    await fetcher.stop()
    assert all("not fatal" in r.getMessage() for r in caplog.records)  # errors are only logged
