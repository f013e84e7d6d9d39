"""What the load test observes: deltas with their latency, consumer lag, counts."""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiokafka import TopicPartition

from streams.kafka.clients import new_admin, new_consumer
from streams.pipeline.topology import Topology
from streams.settings import Settings

INPUT_AND_INTERNAL = ("probe-events", "sql-job-logs", "config-events", "static-flows",
                      "flow-signals")


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Samples:
    """Time series and latencies collected during a run."""

    latencies_ms: list[int] = field(default_factory=list)
    lag: list[tuple[float, int]] = field(default_factory=list)  # (seconds since start, lag)
    sent: list[tuple[float, int]] = field(default_factory=list)  # (seconds, events sent)
    #: (time.monotonic() at arrival, latency ms) of each upsert, for recovery times
    latency_at: list[tuple[float, int]] = field(default_factory=list)
    deltas: int = 0


async def follow_deltas(settings: Settings, samples: Samples, stop: asyncio.Event) -> None:
    """Record each upsert's latency: arrival wall time minus its `last_seen` event time.

    The generator stamps every event with its send time, so `last_seen` (the
    event time of the signal that caused the delta) is when that event left
    the producer.
    """
    consumer = new_consumer(settings, settings.topic("lineage-graph"),
                            auto_offset_reset="earliest")
    await consumer.start()
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=200)
            arrived, arrived_at = now_ms(), time.monotonic()
            for records in batch.values():
                for record in records:
                    if record.value is None:
                        continue
                    delta = orjson.loads(record.value)
                    if delta.get("op") == "upsert":
                        samples.deltas += 1
                        latency = max(0, arrived - delta["last_seen"])
                        samples.latencies_ms.append(latency)
                        samples.latency_at.append((arrived_at, latency))
    finally:
        await consumer.stop()


class LagProbe:
    """The pipeline's consumer-group lag over its input and internal topics."""

    def __init__(self, settings: Settings, groups: Sequence[str] | None = None) -> None:
        self.settings = settings
        #: The consumer groups whose members and lag count (see `pipeline_groups`).
        self.groups = tuple(groups or settings.consumer_groups)
        self.admin = new_admin(settings)
        self.consumer = new_consumer(settings)

    async def start(self) -> None:
        await self.admin.start()
        await self.consumer.start()

    async def stop(self) -> None:
        await self.admin.close()
        await self.consumer.stop()

    async def committed(self) -> dict[TopicPartition, int]:
        """Committed offsets on the input and internal topics, over every pipeline group.

        Each topic is read by one group (Faust's or the batch agents'), so the
        groups' offsets never overlap.
        """
        topics = {self.settings.topic(t) for t in INPUT_AND_INTERNAL}
        offsets: dict[TopicPartition, int] = {}
        for group in self.groups:
            committed = await self.admin.list_consumer_group_offsets(group)
            offsets.update({tp: meta.offset for tp, meta in committed.items()
                            if tp.topic in topics})
        return offsets

    async def lag(self, committed: dict[TopicPartition, int] | None = None) -> int:
        """Messages not yet consumed; `committed` if the caller already read it."""
        if committed is None:
            committed = await self.committed()
        if not committed:
            return 0
        ends = await self.consumer.end_offsets(list(committed))
        return sum(max(0, ends[tp] - offset) for tp, offset in committed.items())

    async def members(self) -> int:
        """How many workers have joined: the least stable membership over the groups."""
        counts = []
        for group in self.groups:
            # One group per request: a response describing two live groups
            # failed to decode in aiokafka 0.14 ("Buffer underrun").
            described = await self.admin.describe_consumer_groups([group])
            found = [g for response in described for g in getattr(response, "groups", [])]
            state = found[0][2] if found else ""
            counts.append(len(found[0][5]) if state == "Stable" else 0)
        return min(counts)


def pipeline_groups(settings: Settings, topology: Topology) -> tuple[str, ...]:
    """The consumer groups a worker joins with this topology."""
    if any(agent.consumer == "batch" for agent in topology.agents.values()):
        return settings.consumer_groups
    return (settings.group_id,)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return float(ordered[index])


def print_figures(figures: Mapping[str, Any], *, as_json: bool) -> None:
    """A benchmark's result: one JSON object, or one aligned `key  value` line each."""
    if as_json:
        print(orjson.dumps(figures).decode())
        return
    width = max((len(key) for key in figures), default=0)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")


def run_json_benchmark(tree: Path, module: str, args: Sequence[str],
                       env: Mapping[str, str], cwd: Path) -> dict[str, float]:
    """`python -m <module> <args> --json` for `tree`, in a fresh process; its figures.

    A failed run raises RuntimeError naming `tree` and the last line it printed
    to stderr.
    """
    done = subprocess.run([sys.executable, "-m", module, *args, "--json"],
                          cwd=cwd, env=dict(env), capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"the run on {tree} failed: {last}")
    figures: dict[str, float] = orjson.loads(done.stdout.strip().splitlines()[-1])
    return figures


def alternate_trees(this: Path, against: Path, pairs: int,
                    run: Callable[[Path], Mapping[str, float]]) -> tuple[list[Mapping[str, float]],
                                                                         list[Mapping[str, float]]]:
    """`run` on each tree `pairs` times in turn, `against` first in the first pair and
    second in the next (so neither tree always runs on a warmer machine); the
    figures of `this`'s runs and of `against`'s, in pair order."""
    these: list[Mapping[str, float]] = []
    theirs: list[Mapping[str, float]] = []  # by side, not by path: a tree may face itself
    for pair in range(pairs):
        for tree, runs in ((against, theirs), (this, these))[::1 if pair % 2 == 0 else -1]:
            runs.append(run(tree))
    return these, theirs


@dataclass(frozen=True)
class PairedRatios:
    """One figure of two trees measured in pairs: each side's median, and the median,
    least and most of the per-pair ratios (this over against)."""

    this: float
    against: float
    ratio: float
    least: float
    most: float

    @classmethod
    def of(cls, this: Sequence[float], against: Sequence[float]) -> PairedRatios:
        ratios = [new / max(old, 1e-9) for new, old in zip(this, against, strict=True)]
        return cls(round(statistics.median(this)), round(statistics.median(against)),
                   round(statistics.median(ratios), 3), round(min(ratios), 3),
                   round(max(ratios), 3))


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its threads so far (Linux /proc; 0 elsewhere,
    or when the process is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
