"""The fault suite in a reduced form: a short load, one worker SIGKILLed and restarted,
a poison pill and a year-3000 event on every partition of `probe-events`.

The full suite (`python -m loadtest.faults`, docs/RELIABILITY.md) also kills
without restart, adds a third worker and stops its own broker;
test_failover.py covers the kill without restart on a crafted workload.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from loadtest.driver import LoadSpec
from loadtest.faults import suite
from streams.pipeline.topology import load_topology
from streams.settings import Settings


def test_each_fault_under_load_ends_with_the_fault_free_graph(
        settings: Settings, tmp_path: Path) -> None:
    spec = LoadSpec(rate=300, duration_s=12, drain_timeout_s=120)
    report = asyncio.run(suite(replace(settings, data_dir=tmp_path),
                               ["kill-restart", "poison-pill", "far-future"], spec, None, print))
    baseline, *faulted = report["rows"]
    assert [row["scenario"] for row in faulted] == ["kill-restart", "poison-pill", "far-future"]
    assert report["skipped"] == []
    for row in faulted:
        assert row["drained"] and row["graph_equal"], row
        assert row["versions_went_back"] == 0
        assert row["events_sent"] == baseline["events_sent"]
    partitions = load_topology().topics["probe-events"].partitions
    _, poison, future = faulted
    # nothing lost: each hostile record is a dead letter, the load's events are all joined
    assert poison["dead_letters"] == baseline["dead_letters"] + partitions
    assert future["dead_letters"] == baseline["dead_letters"] + partitions
