"""The fault suite in a reduced form: a short load, one worker SIGKILLed and restarted.

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
from streams.settings import Settings


def test_kill_and_restart_under_load_ends_with_the_fault_free_graph(
        settings: Settings, tmp_path: Path) -> None:
    spec = LoadSpec(rate=300, duration_s=12, drain_timeout_s=120)
    report = asyncio.run(suite(replace(settings, data_dir=tmp_path),
                               ["kill-restart", "far-future"], spec, None, print))
    baseline, faulted = report["rows"]
    assert faulted["scenario"] == "kill-restart" and faulted["drained"]
    assert faulted["graph_equal"], faulted
    assert faulted["versions_went_back"] == 0
    assert faulted["events_sent"] == baseline["events_sent"]
    assert [reason.split(":")[0] for reason in report["skipped"]] == ["far-future"]
