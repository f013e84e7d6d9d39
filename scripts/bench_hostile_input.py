"""What the event-time bounds cost the probe join, as a ratio in one run.

The same batches of 5,000 probe events (source and sink of 2,500 traces)
through `process_messages` with the real probe join and RocksDB stores, with
and without `event_time` bounds, interleaved (each round alternates which goes
first); the median batch time of each and their ratio. Also the decode step
alone (`ProbeJoin.decode_batch`), where the check runs.

    .venv/bin/python -m scripts.bench_hostile_input
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from state.windows import EventTimeBounds
from streams.pipeline.agents.probe_join import ProbeJoin
from streams.pipeline.batch import InputRules, Output, input_validator, process_messages
from streams.pipeline.metrics import Metrics
from streams.pipeline.stores import StoreRegistry
from streams.pipeline.topology import load_topology

NOW = 1_764_900_000_000
BATCH = 5000
ROUNDS = 8


@dataclass
class Record:
    """What process_messages reads of an aiokafka record."""

    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes
    timestamp: int


class NullSink:
    async def send(self, outputs: list[Output]) -> None:
        pass

    async def flush(self) -> None:
        pass


def batch(start: int) -> list[Record]:
    records = []
    for i in range(start, start + BATCH):
        role = "source" if i % 2 == 0 else "sink"
        event = {"v": 1, "type": "probe", "trace_id": f"t{i // 2}", "ts": NOW + i, "role": role,
                 "asset": f"web://a/{role}", "payload": {"location": f"Flat {i // 2} Lane"}}
        records.append(Record("probe-events", 0, i, b"k", orjson.dumps(event), NOW + i))
    return records


async def pipeline_ratio() -> tuple[float, float]:
    topology = load_topology()
    bounds = EventTimeBounds(topology.event_time.max_future_ms, topology.event_time.max_age_ms)
    rules = {"off": InputRules(attempts=3), "on": InputRules(bounds, 3)}
    times: dict[str, list[float]] = {"off": [], "on": []}
    with tempfile.TemporaryDirectory() as scratch:
        stores = {k: StoreRegistry(Path(scratch) / k) for k in rules}
        joins = {k: ProbeJoin(topology, Metrics()) for k in rules}
        for round_ in range(ROUNDS):
            records = batch(round_ * BATCH)
            for k in ("off", "on") if round_ % 2 else ("on", "off"):
                started = time.perf_counter()
                await process_messages(records, agent="probe-join",
                                       validate=input_validator("probe-events"),
                                       stores=stores[k], handler=joins[k], sink=NullSink(),
                                       metrics=Metrics(), rules=rules[k])
                times[k].append(time.perf_counter() - started)
        for registry in stores.values():
            registry.close()
    return statistics.median(times["off"]), statistics.median(times["on"])


def decode_ratio() -> tuple[float, float]:
    topology = load_topology()
    bounds = EventTimeBounds(topology.event_time.max_future_ms, topology.event_time.max_age_ms)
    join, records = ProbeJoin(topology, Metrics()), batch(0)
    times: dict[EventTimeBounds | None, list[float]] = {None: [], bounds: []}
    for _ in range(15):
        for which in (None, bounds):
            started = time.perf_counter()
            join.decode_batch(records, agent="bench", metrics=Metrics(), bounds=which)
            times[which].append(time.perf_counter() - started)
    return statistics.median(times[None]), statistics.median(times[bounds])


def main() -> None:
    off, on = asyncio.run(pipeline_ratio())
    print(f"probe join, {ROUNDS} batches of {BATCH}: median {off * 1e3:.1f} ms without bounds, "
          f"{on * 1e3:.1f} ms with; ratio {on / off:.3f}")
    off, on = decode_ratio()
    print(f"decode_batch of {BATCH}: {off * 1e3:.2f} ms without bounds, {on * 1e3:.2f} ms with; "
          f"ratio {on / off:.3f}")


if __name__ == "__main__":
    main()
