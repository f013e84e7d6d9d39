"""Canary values through a real worker: once their windows close, nowhere at rest.

Canary payloads go through the real probe join on the real broker; windows
are then closed by later captures on every partition (event time, past the
window and its key epoch). Every file of the worker's data directory (a copy
taken while it runs, and the directory after it stopped) and every broker
log directory of the test's internal and output topics is searched for the
canary bytes: zero hits. The input topic `probe-events` holds them by design
(it is the input): it is searched too, as the control that the search finds
what is there.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from pathlib import Path

import orjson
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.partitioner import murmur2

from streams.kafka.clients import new_admin, new_consumer
from streams.pipeline.topology import load_topology
from streams.settings import Settings
from tests.integration.worker import running_worker, send_file, wait_for_graph

WEB = "web://canary-web/signup"
DB = "mysql://canary-db/users.users"
LOG = "scribe://logs/canary_signup"


def _probe(trace: str, ts: int, role: str, asset: str, payload: object) -> dict[str, object]:
    return {"v": 1, "type": "probe", "trace_id": trace, "ts": ts, "service": "canary",
            "role": role, "asset": asset, "payload": payload}


def _trace_on_partition(partition: int, partitions: int) -> str:
    """A trace id that Kafka's default partitioner puts on `partition`."""
    for n in range(10_000):
        trace = f"closer-{n}"
        if (murmur2(trace.encode()) & 0x7FFFFFFF) % partitions == partition:
            return trace
    raise AssertionError("no trace id found for the partition")


def _write_jsonl(path: Path, events: list[dict[str, object]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    return path


async def _broker_log_dirs(settings: Settings) -> list[Path]:
    """The broker's `log.dirs`, asked of the broker itself."""
    admin = new_admin(settings)
    await admin.start()
    try:
        cluster = await admin.describe_cluster()
        dirs: list[Path] = []
        for broker in cluster["brokers"]:
            resource = ConfigResource(ConfigResourceType.BROKER, str(broker["node_id"]),
                                      configs={"log.dirs": None})
            (response,) = await admin.describe_configs([resource])
            for _, _, _, _, entries in response.resources:
                dirs += [Path(d) for name, value, *_ in entries if name == "log.dirs"
                         for d in value.split(",")]
        return dirs
    finally:
        await admin.close()


async def _wait_consumed(settings: Settings, topic: str, timeout_s: float = 90.0) -> None:
    """Until the batch agents' group has committed every message of `topic`."""
    admin, consumer = new_admin(settings), new_consumer(settings)
    await admin.start()
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            committed = await admin.list_consumer_group_offsets(settings.batch_group_id)
            mine = {tp: meta.offset for tp, meta in committed.items() if tp.topic == topic}
            if mine:
                ends = await consumer.end_offsets(list(mine))
                if all(mine[tp] >= ends[tp] for tp in mine) and len(mine) == len(ends):
                    return
            await asyncio.sleep(0.5)
        raise AssertionError(f"{topic} not consumed within {timeout_s} s")
    finally:
        await admin.close()
        await consumer.stop()


def _copy_tree(source: Path, target: Path) -> Path:
    """Copy what can be read of a directory another process is writing."""
    for path in source.rglob("*"):
        if path.is_file():
            copy = target / path.relative_to(source)
            copy.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                copy.write_bytes(path.read_bytes())
    return target


def _files_holding(roots: list[Path], needles: list[bytes]) -> list[str]:
    hits = []
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            data = path.read_bytes()
            hits += [f"{path}: {needle!r}" for needle in needles if needle in data]
    return hits


def test_canary_values_are_unrecoverable_once_their_windows_closed(
    settings: Settings, tmp_path: Path,
) -> None:
    topology = load_topology()
    canaries = [f"canary-{uuid.uuid4().hex}@example.org", f"Canary Lane {uuid.uuid4().hex}"]
    needles = [c.encode() for c in canaries]
    ts = int(time.time() * 1000)
    events = [
        _probe("canary-1", ts, "source", WEB, {"email": canaries[0], "street": canaries[1]}),
        _probe("canary-1", ts + 5, "sink", DB, {"contact": canaries[0]}),
        _probe("canary-1", ts + 9, "sink", LOG, f"signed up from {canaries[1]} today"),
    ]
    trace = topology.windows.trace
    after = (ts + trace.size_ms + trace.allowed_lateness_ms
             + 2 * topology.windows.capture_key_epoch_ms)
    partitions = topology.topics["probe-events"].partitions
    closers = [_probe(_trace_on_partition(p, partitions), after, "source", WEB, {"n": p})
               for p in range(partitions)]

    with running_worker(settings):
        assert send_file(settings, _write_jsonl(tmp_path / "canary.jsonl", events)).returncode == 0
        edges = wait_for_graph(settings, lambda e: f"{WEB}#email -> {DB}#contact" in e)
        assert f"{WEB}#street -> {LOG}" in edges
        assert send_file(settings, _write_jsonl(tmp_path / "close.jsonl", closers)).returncode == 0
        asyncio.run(_wait_consumed(settings, settings.topic("probe-events")))
        # A copy taken while the worker runs: its WAL and memtable-era files
        # still hold the deleted records (a clean stop flushes them away).
        live = _copy_tree(settings.data_dir, tmp_path / "live-copy")

    log_dirs = asyncio.run(_broker_log_dirs(settings))
    assert log_dirs and all(d.is_dir() for d in log_dirs), log_dirs
    topic_dirs = [d for log_dir in log_dirs for d in log_dir.iterdir()
                  if d.is_dir() and d.name.startswith(settings.topic_prefix)]
    inputs = [d for d in topic_dirs if d.name.startswith(settings.topic("probe-events") + "-")]
    others = [d for d in topic_dirs if d not in inputs]
    assert {d.name.rsplit("-", 1)[0] for d in others} >= {
        settings.topic("flow-signals"), settings.topic("lineage-graph")}

    assert _files_holding([live], needles) == []
    assert _files_holding([settings.data_dir], needles) == []
    assert _files_holding(others, needles) == []
    # The control: the input topic holds the values, and the search sees them.
    assert len(_files_holding(inputs, needles)) >= len(needles)
