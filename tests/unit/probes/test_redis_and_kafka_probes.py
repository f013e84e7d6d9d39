"""redis-py against a real redis-server; a Kafka producer with the broker absent
(aiokafka and consuming are in tests/integration/test_probes_kafka.py)."""

from __future__ import annotations

from typing import Any

from lineage_probes import context

TRACE = "6bf92f3577b34da6a3ce929d0e0e4736"


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


def test_confluent_kafka_produce_is_a_sink(probes: Any, closed_port: int) -> None:
    cap = probes()
    import confluent_kafka
    producer = confluent_kafka.Producer({"bootstrap.servers": f"127.0.0.1:{closed_port}"})
    _in_trace(lambda: producer.produce("orders", value=b'{"address": "12 Rose Lane"}',
                                       headers={"app": b"1"}))
    [sink] = cap.of("kafka://127.0.0.1:", "sink")
    assert sink["asset"].endswith("/orders") and sink["payload"] == {"address": "12 Rose Lane"}
    assert isinstance(producer, confluent_kafka.cimpl.Producer)
    producer.purge()
