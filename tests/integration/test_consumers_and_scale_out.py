"""The same example graph from Faust's stream agents, the batch consumer, and two workers."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from dataclasses import replace
from pathlib import Path

from loadtest.measure import LagProbe, pipeline_groups
from streams.pipeline.topology import load_topology, write_consumer_variant
from streams.settings import Settings
from tests.integration.test_topology_example import EXAMPLE, EXPECTED_HIGH, LOW_ONLY, MEDIUM
from tests.integration.worker import (
    running_worker,
    send_file,
    start_worker,
    stop_worker,
    summary,
    wait_for_graph,
)


def _complete(edges: dict[str, dict[str, object]]) -> bool:
    return set(EXPECTED_HIGH) | LOW_ONLY | set(MEDIUM) <= set(edges)


def _example_graph(settings: Settings, topology: Path) -> dict[str, tuple[str, tuple[str, ...]]]:
    with running_worker(settings, topology=topology):
        assert send_file(settings, EXAMPLE).returncode == 0
        return summary(wait_for_graph(settings, _complete))


def test_stream_and_batch_consumers_build_the_same_graph(settings: Settings,
                                                         tmp_path: Path) -> None:
    graphs = {}
    for consumer in ("stream", "batch"):
        run = replace(settings, topic_prefix=f"{settings.topic_prefix}{consumer}-",
                      data_dir=settings.data_dir / consumer)
        graphs[consumer] = _example_graph(run, write_consumer_variant(consumer,
                                                                      tmp_path / consumer))
    assert set(EXPECTED_HIGH) <= set(graphs["batch"])
    assert graphs["stream"] == graphs["batch"]


async def _wait_for_members(settings: Settings, count: int, timeout_s: float = 90) -> int:
    probe = LagProbe(settings, pipeline_groups(settings, load_topology()))
    await probe.start()
    try:
        deadline = time.monotonic() + timeout_s
        members = 0
        while time.monotonic() < deadline:
            members = await probe.members()
            if members >= count:
                break
            await asyncio.sleep(0.5)
        return members
    finally:
        await probe.stop()


def test_two_workers_in_one_group_build_the_same_graph_as_one(settings: Settings) -> None:
    one = replace(settings, topic_prefix=f"{settings.topic_prefix}one-",
                  data_dir=settings.data_dir / "one")
    with running_worker(one):
        assert send_file(one, EXAMPLE).returncode == 0
        alone = summary(wait_for_graph(one, _complete))

    two = replace(settings, topic_prefix=f"{settings.topic_prefix}two-")
    workers = [start_worker(replace(two, data_dir=settings.data_dir / f"two-{i}"))
               for i in range(2)]
    try:
        # Both in every group before any event: the partitions stay where they are.
        assert asyncio.run(_wait_for_members(two, 2)) == 2
        assert send_file(two, EXAMPLE).returncode == 0
        together = summary(wait_for_graph(two, _complete))
    finally:
        # Both at once: a worker stopped alone hands its partitions to the other,
        # which would restore their state (streams/pipeline/restore.py).
        for proc in workers:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in workers:
            stop_worker(proc)
    assert set(EXPECTED_HIGH) <= set(together)
    assert together == alone
    # The work was shared: each worker holds the state of partitions of its own.
    held = [{p.relative_to(settings.data_dir / f"two-{i}" / "state")
             for p in (settings.data_dir / f"two-{i}" / "state").glob("*/*")}
            for i in range(2)]
    assert held[0] and held[1]
    assert not held[0] & held[1]
