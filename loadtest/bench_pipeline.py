"""Where the pipeline's time goes, against baselines measured in the same run.

    python -m loadtest.bench_pipeline [--requests N] [--json]

On one generated workload (loadtest.workload, about 4 probe events per
request) already on the broker, it measures in events/s:

- ``bare_consume``: a plain aiokafka consumer reading and orjson-decoding every
  probe event (the ceiling for any Python consumer on this machine);
- ``handlers_offline``: the probe join and the edge merge run on the same
  events in-process, with real RocksDB state, without Kafka or Faust;
- ``pipeline``: one ``lineage worker`` consuming everything, from its start to
  the moment every input and signal is consumed (lag 0).

It prints the figures and the ratios ``pipeline_vs_bare`` and
``pipeline_vs_handlers``. Needs a broker (``lineage kafka up``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer

from analyzers.signals import validate_signal
from loadtest.driver import _send, _stop_workers
from loadtest.measure import LagProbe
from loadtest.workload import generate, stream
from streams.agents.edge_merge import EdgeMerge
from streams.agents.probe_join import ProbeJoin
from streams.batch import Output, input_validator, process_messages
from streams.metrics import Metrics
from streams.settings import Settings
from streams.stores import StoreRegistry
from streams.topics import ensure_topics
from streams.topology import load_topology


@dataclass
class _Message:
    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes


class _Collect:
    def __init__(self) -> None:
        self.outputs: list[Output] = []

    async def send(self, outputs: Sequence[Output]) -> None:
        self.outputs.extend(outputs)

    async def flush(self) -> None:
        return None


async def _produce(settings: Settings, events: list[dict[str, object]]) -> None:
    from aiokafka import AIOKafkaProducer

    await ensure_topics(settings, load_topology())
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=20,
                                max_batch_size=512 * 1024)
    await producer.start()
    try:
        for event in events:
            await _send(producer, settings, event)
        await producer.flush()
    finally:
        await producer.stop()


async def _bare_consume(settings: Settings, expected: int) -> float:
    consumer = AIOKafkaConsumer(settings.topic("probe-events"),
                                bootstrap_servers=settings.bootstrap_servers, group_id=None,
                                auto_offset_reset="earliest", max_poll_records=5000)
    await consumer.start()
    seen = 0
    try:
        start = time.perf_counter()
        while seen < expected:
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            for records in batch.values():
                for record in records:
                    orjson.loads(record.value)
                    seen += 1
        return seen / (time.perf_counter() - start)
    finally:
        await consumer.stop()


async def _handlers_offline(probes: list[dict[str, object]]) -> float:
    topology, metrics = load_topology(), Metrics()
    stores = StoreRegistry(Path(tempfile.mkdtemp(prefix="bench-pipeline-")))
    messages = [_Message("probe-events", 0, i, str(e["trace_id"]).encode(), orjson.dumps(e))
                for i, e in enumerate(probes)]
    size = topology.agents["probe-join"].batch_size
    signals, deltas = _Collect(), _Collect()
    probe_join, edge_merge = ProbeJoin(topology, metrics), EdgeMerge(topology, metrics)
    start = time.perf_counter()
    for i in range(0, len(messages), size):
        await process_messages(messages[i:i + size], agent="probe-join",
                               validate=input_validator("probe-events"), stores=stores,
                               handler=probe_join, sink=signals, metrics=metrics)
    signal_messages = [_Message("flow-signals", 0, i, o.key, o.value or b"")
                       for i, o in enumerate(signals.outputs)]
    for i in range(0, len(signal_messages), size):
        await process_messages(signal_messages[i:i + size], agent="edge-merge",
                               validate=validate_signal, stores=stores, handler=edge_merge,
                               sink=deltas, metrics=metrics)
    elapsed = time.perf_counter() - start
    stores.close()
    return len(messages) / elapsed


async def _pipeline(settings: Settings, expected_inputs: int) -> float:
    lineage = str(Path(sys.executable).parent / "lineage")
    data_dir = Path(tempfile.mkdtemp(prefix="bench-pipeline-worker-"))
    start = time.perf_counter()
    proc = subprocess.Popen([lineage, "worker", "--bootstrap-servers", settings.bootstrap_servers,
                             "--topic-prefix", settings.topic_prefix, "--data-dir",
                             str(data_dir), "--loglevel", "warning"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    probe = LagProbe(settings)
    await probe.start()
    try:
        quiet = 0
        while quiet < 2:
            await asyncio.sleep(0.5)
            try:
                lag = await probe.lag()
                committed = await probe.admin.list_consumer_group_offsets(settings.group_id)
            except Exception:
                continue
            started = any(tp.topic == settings.topic("probe-events") for tp in committed)
            quiet = quiet + 1 if started and lag == 0 else 0
        return expected_inputs / (time.perf_counter() - start)
    finally:
        await probe.stop()
        _stop_workers([proc])


async def run(requests: int, bootstrap: str) -> dict[str, float]:
    workload = generate(7)
    events = list(stream(workload, int(time.time() * 1000), requests))
    probes = [e for e in events if e["type"] == "probe"]
    settings = Settings(bootstrap, f"bench-pipeline-{int(time.time())}-", Path("."))
    await _produce(settings, events)
    bare = await _bare_consume(settings, len(probes))
    offline = await _handlers_offline(probes)
    pipeline = await _pipeline(settings, len(events))
    return {
        "events": len(events), "probe_events": len(probes),
        "bare_consume_events_per_s": round(bare),
        "handlers_offline_events_per_s": round(offline),
        "pipeline_events_per_s": round(pipeline),
        "pipeline_vs_bare": round(pipeline / bare, 3),
        "pipeline_vs_handlers": round(pipeline / offline, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--bootstrap-servers", default="127.0.0.1:9092")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    result = asyncio.run(run(args.requests, args.bootstrap_servers))
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:32} {value}")


if __name__ == "__main__":
    main()
