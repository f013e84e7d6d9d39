"""redis-py against a real redis-server; a Kafka producer with the broker absent
(aiokafka and consuming are in tests/integration/test_probes_kafka.py)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lineage_probes import context

TRACE = "6bf92f3577b34da6a3ce929d0e0e4736"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (make install installs it with apt)")
    port = _port()
    work: Path = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(work)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield port
    proc.terminate()
    proc.wait(timeout=10)


def _in_trace(fn: Any) -> Any:
    token = context.CURRENT.set(context.Trace(TRACE, True))
    try:
        return fn()
    finally:
        context.end(token)


def test_redis_set_get_hset(probes: Any, redis_port: int) -> None:
    import redis
    cap = probes()
    client = redis.Redis(host="127.0.0.1", port=redis_port, db=0)

    def work() -> Any:
        client.set("user:1042:home", "12 Rose Lane, Springfield", ex=60)
        client.hset("profile:1042", mapping={"city": "Springfield", "age": "41"})
        return client.get("user:1042:home"), client.hgetall("profile:1042")
    got = _in_trace(work)
    assert got[0] == b"12 Rose Lane, Springfield"
    asset = f"redis://127.0.0.1:{redis_port}/0"
    sinks = [e["payload"] for e in cap.of(asset, "sink")]
    assert sinks == [{"user:{id}:home": "12 Rose Lane, Springfield"},
                     {"profile:{id}": {"city": "Springfield", "age": "41"}}]
    sources = [e["payload"] for e in cap.of(asset, "source")]
    assert sources == [{"user:{id}:home": "12 Rose Lane, Springfield"},
                       {"profile:{id}": {"city": "Springfield", "age": "41"}}]


def test_redis_identical_without_trace(probes: Any, redis_port: int) -> None:
    import redis
    cap = probes()
    client = redis.Redis(host="127.0.0.1", port=redis_port, db=1)
    client.set("k", "v")
    assert client.get("k") == b"v" and cap.events == []


def test_confluent_kafka_produce_is_a_sink(probes: Any) -> None:
    cap = probes()
    import confluent_kafka
    producer = confluent_kafka.Producer({"bootstrap.servers": f"127.0.0.1:{_port()}"})
    _in_trace(lambda: producer.produce("orders", value=b'{"address": "12 Rose Lane"}',
                                       headers={"app": b"1"}))
    [sink] = cap.of("kafka://127.0.0.1:", "sink")
    assert sink["asset"].endswith("/orders") and sink["payload"] == {"address": "12 Rose Lane"}
    assert isinstance(producer, confluent_kafka.cimpl.Producer)
    producer.purge()
