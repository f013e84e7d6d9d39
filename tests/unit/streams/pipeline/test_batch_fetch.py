"""The batch consumer's clients without a broker.

Against the real one: tests/integration/test_batch_fetch.py.
"""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest

from streams.pipeline.batch import Message
from streams.pipeline.batch_fetch import (
    AiokafkaFetcher,
    ConfluentFetcher,
    FetchedRecord,
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


def test_a_fetched_record_is_what_the_batch_path_reads() -> None:
    record: Message = FetchedRecord("t.probe-events", 3, 41, None, b"{}", -1)
    assert (record.topic, record.partition, record.offset, record.key, record.value) == (
        "t.probe-events", 3, 41, None, b"{}")
    with pytest.raises(AttributeError):  # slots: no stray attributes per record
        record.headers = []  # type: ignore[misc]


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
    assert all("retries" in r.getMessage() for r in caplog.records)  # errors are only logged
