"""Hostile input against the real broker and a real worker: bad clocks, poison pills,
and dead letters sent back with `lineage replay --dead-letters`."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path
from typing import Any

import orjson
import yaml
from aiokafka import AIOKafkaProducer

from streams.kafka.topics import ensure_topics
from streams.pipeline.topology import DEFAULT_PATH, load_topology
from streams.settings import Settings
from tests.integration.kafka_helpers import read_topic
from tests.integration.worker import (
    LINEAGE,
    cli_args,
    command_env,
    running_worker,
    wait_for_graph,
)

YEAR_3000 = 32_503_680_000_000
WEB = "web://shop/checkout"
TRACES = 12


def probe(trace: str, role: str, asset: str, ts: int, payload: dict[str, str]) -> bytes:
    return orjson.dumps({"v": 1, "type": "probe", "trace_id": trace, "ts": ts, "role": role,
                         "asset": asset, "payload": payload})


def traces(now: int, count: int = TRACES) -> list[bytes]:
    """`count` traces, each joined into its own edge WEB#location -> sink n#loc."""
    values = []
    for n in range(count):
        secret = f"customer-{n:04d}-lives-at-{n * 7} Elm St"
        values.append(probe(f"t-{n}", "source", WEB, now + n, {"location": secret}))
        values.append(probe(f"t-{n}", "sink", f"mysql://db/t.t{n}", now + n + 3, {"loc": secret}))
    return values


def edge(n: int) -> str:
    return f"{WEB}#location -> mysql://db/t.t{n}#loc"


async def produce(settings: Settings, topic: str, values: list[bytes], *,
                  partition: int | None = 0) -> None:
    """Send `values` in order, all to one partition (the record timestamp is now)."""
    await ensure_topics(settings, load_topology())
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers)
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(settings.topic(topic), value, key=b"k",
                                         partition=partition)
    finally:
        await producer.stop()


def letters(settings: Settings, expect: int) -> list[dict[str, Any]]:
    records = asyncio.run(read_topic(settings.bootstrap_servers,
                                     settings.topic("dead-letters"), expect=expect))
    return [orjson.loads(r.value) for r in records]


def all_joined(edges: dict[str, Any]) -> bool:
    return all(edge(n) in edges for n in range(TRACES))


def test_a_year_3000_event_does_not_blind_its_partition(settings: Settings) -> None:
    """The issue's scenario: one bad clock, then valid traces on the same partition."""
    now = int(time.time() * 1000)
    bad = probe("t-bad", "source", WEB, YEAR_3000, {"location": "x"})
    asyncio.run(produce(settings, "probe-events", [bad, *traces(now)]))
    # the same on a Faust-stream agent (Faust gives record timestamps in seconds)
    static = {"v": 1, "type": "static", "source": "web://a/x", "sink": "http://b/y"}
    asyncio.run(produce(settings, "static-flows", [orjson.dumps({**static, "ts": YEAR_3000}),
                                                   orjson.dumps({**static, "ts": now})]))
    with running_worker(settings):
        edges = wait_for_graph(settings, lambda e: all_joined(e) and "web://a/x -> http://b/y" in e)
        found = {letter["agent"]: letter for letter in letters(settings, expect=2)}
    assert all_joined(edges)
    assert sorted(found) == ["probe-join", "static-intake"]
    for letter in found.values():
        assert letter["reason"].startswith("event time: ts is ")
        assert letter["record_ts"] >= now
    assert found["probe-join"]["origin"] == f"{settings.topic('probe-events')}:0:0"


def test_a_poison_pill_is_dead_lettered_and_its_partition_goes_on(settings: Settings) -> None:
    """A record that makes the probe join fail every time (an asset name over 64 KiB cannot
    be written to its trace window), then valid traces on the same partition."""
    now = int(time.time() * 1000)
    pill = probe("t-pill", "source", "web://x/" + "a" * 70_000, now, {"location": "x"})
    asyncio.run(produce(settings, "probe-events", [*traces(now, 2), pill, *traces(now + 10)]))
    with running_worker(settings) as worker:
        edges = wait_for_graph(settings, all_joined)
        (letter,) = letters(settings, expect=1)
        assert worker.poll() is None  # still running
    assert all_joined(edges)
    assert letter["reason"] == "handler: raised struct.error on each of 3 attempts"
    assert letter["origin"] == f"{settings.topic('probe-events')}:0:4"


def strict_topology(directory: Path) -> Path:
    """topology.yaml with a 5 s future bound: events 20 s ahead become dead letters."""
    data = yaml.safe_load(DEFAULT_PATH.read_text())
    data["event_time"]["max_future_ms"] = 5000
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "topology.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_replay_dead_letters_reruns_what_failed_after_an_upgrade(
    settings: Settings, tmp_path: Path,
) -> None:
    now = int(time.time() * 1000)
    ahead = traces(now + 20_000, 2)  # 20 s ahead of their record timestamps
    asyncio.run(produce(settings, "probe-events", ahead))
    nested = "INSERT INTO t SELECT " + "(" * 3000 + "1" + ")" * 3000
    sql = orjson.dumps({"v": 1, "type": "sql", "job_id": "j", "ts": now, "engine": "spark",
                        "namespace": "ns", "query": nested})
    asyncio.run(produce(settings, "sql-job-logs", [sql]))
    with running_worker(settings, topology=strict_topology(tmp_path / "strict")):
        found = letters(settings, expect=5)
    reasons = sorted(letter["reason"].split(":")[0] for letter in found)
    assert reasons == ["event time"] * 4 + ["sql analysis"], reasons
    assert all("SELECT" not in letter["reason"] for letter in found)

    # "the upgrade": the default bounds admit events 20 s ahead
    with running_worker(settings):
        done = subprocess.run(
            [LINEAGE, "replay", "--dead-letters", "--reason-like", "event time",
             *cli_args(settings)],
            capture_output=True, text=True, check=False, env=command_env(settings))
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("replayed 4 of 5 dead letters (probe-events=4)")
        assert "1 not selected by --reason-like" in done.stderr
        edges = wait_for_graph(settings, lambda e: edge(0) in e and edge(1) in e)
    assert edge(0) in edges and edge(1) in edges
    again = asyncio.run(read_topic(settings.bootstrap_servers, settings.topic("probe-events"),
                                   expect=8))
    originals, replayed = again[:4], again[4:]
    assert [(r.key, r.value, r.timestamp) for r in replayed] == [
        (r.key, r.value, r.timestamp) for r in originals]
    sql_records = asyncio.run(read_topic(settings.bootstrap_servers,
                                         settings.topic("sql-job-logs"), idle_s=1.0))
    assert len(sql_records) == 1  # not selected: not sent back
