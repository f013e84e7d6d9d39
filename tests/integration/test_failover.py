"""Two workers, one SIGKILLed mid-run: the survivor takes its partitions with their state.

Traces are split across the kill (their sources before, their sinks after),
so the survivor must rebuild the killed worker's open trace windows; edges
keep growing after the kill, so it must also continue their aggregates and
versions. The graph ends as a fault-free run's, and no edge's version ever
goes backwards on `lineage-graph`.
"""

from __future__ import annotations

import asyncio
import signal
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from loadtest.graph_view import version_histories
from loadtest.sender import send_events
from loadtest.workload import generate, stream
from streams.settings import Settings
from tests.integration.worker import (
    running_worker,
    start_worker,
    stop_worker,
    summary,
    wait_for_graph,
)

REQUESTS = 400


def _traffic() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The workload in two parts; the traces of the middle fifth are cut in two."""
    events = list(stream(generate(11), int(time.time() * 1000), REQUESTS))
    traces = sorted({e["trace_id"] for e in events if e["type"] == "probe"},
                    key=lambda t: int(t.split("-")[1], 16))
    cut = set(traces[int(len(traces) * 0.4):int(len(traces) * 0.6)])
    late = set(traces[int(len(traces) * 0.6):])
    first = [e for e in events if e.get("trace_id") not in late
             and not (e.get("trace_id") in cut and e["role"] == "sink")]
    second = [e for e in events if e.get("trace_id") in late
              or (e.get("trace_id") in cut and e["role"] == "sink")]
    return first, second


def _send(settings: Settings, events: list[dict[str, Any]]) -> None:
    assert asyncio.run(send_events(settings, events)) == len(events)


def _graph(settings: Settings) -> dict[str, dict[str, Any]]:
    return wait_for_graph(settings, lambda edges: len(edges) > 0, timeout_s=180, settle_s=6)


def _wait_for_log(path: Path, text: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        time.sleep(0.5)
    raise AssertionError(f"{path.name} never logged {text!r}")


def test_survivor_restores_the_killed_workers_state(settings: Settings) -> None:
    first, second = _traffic()
    baseline = replace(settings, topic_prefix=settings.topic_prefix + "base-",
                       data_dir=settings.data_dir / "base")
    with running_worker(baseline):
        _send(baseline, first)
        _send(baseline, second)
        expected = _graph(baseline)

    run = replace(settings, topic_prefix=settings.topic_prefix + "kill-")
    one = replace(run, data_dir=settings.data_dir / "one")
    two = replace(run, data_dir=settings.data_dir / "two")
    survivor = start_worker(one)
    victim = start_worker(two)
    try:
        _wait_for_log(two.data_dir / "worker.log", "batch consumer assigned")
        _send(run, first)
        before = _graph(run)
        stop_worker(victim, signal.SIGKILL)
        _send(run, second)
        _wait_for_log(one.data_dir / "worker.log", "restored edge-merge")
        after = wait_for_graph(run, lambda edges: set(expected) <= set(edges), timeout_s=180,
                               settle_s=6)
    finally:
        stop_worker(victim, signal.SIGKILL)
        stop_worker(survivor)

    log = (one.data_dir / "worker.log").read_text(errors="replace")
    assert "restored probe-join" in log
    assert len(before) < len(expected)  # the second part adds edges after the kill
    assert summary(after) == summary(expected)
    assert {e: d["score"] for e, d in after.items()} == \
        {e: d["score"] for e, d in expected.items()}
    histories = asyncio.run(version_histories(run))
    went_back = {edge: v for edge, v in histories.items() if v != sorted(v)}
    assert not went_back
    # edges of the killed worker's partitions got more deltas from the survivor
    assert any(len(v) > 1 and v[-1] > 1 for v in histories.values())
