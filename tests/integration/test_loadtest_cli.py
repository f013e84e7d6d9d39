"""`lineage loadtest` end to end at a low rate: it drains, scores against the truth, and
deletes its topics when told to."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import orjson

from streams.kafka.clients import new_admin
from streams.settings import Settings
from tests.integration.worker import LINEAGE, cli_args


def test_loadtest_reports_a_drained_run_with_precision_and_recall(settings: Settings,
                                                                  tmp_path: Path) -> None:
    report = tmp_path / "report"
    run = subprocess.run(
        [LINEAGE, "loadtest", "--rate", "400", "--duration", "5", "--workers", "1",
         "--format", "json", "--report", str(report), "--delete-topics", *cli_args(settings)],
        capture_output=True, text=True, check=False, timeout=240)
    assert run.returncode == 0, run.stderr[-2000:]
    result = orjson.loads(run.stdout)
    assert result["drained"] is True
    assert result["events_sent"] >= 2000
    assert result["dead_letters"] == 0
    assert result["precision"] >= 0.99
    assert result["recall"] >= 0.97
    assert {"sustained_events_per_s", "p50_latency_ms", "p99_latency_ms", "max_lag",
            "driver_cpu_s"} <= set(result)
    # The worker's own CPU from the first event to the drain: positive, and the events
    # per CPU second follow from it.
    assert result["workers_cpu_s"] > 0
    assert result["events_per_worker_cpu_s"] == round(result["events_sent"]
                                                      / result["workers_cpu_s"])
    saved = orjson.loads((report / "report.json").read_bytes())
    assert saved["events_sent"] == result["events_sent"]
    assert saved["series"]["sent"][-1][1] >= result["events_sent"]
    # --delete-topics: nothing of the run is left on the broker (a run at a real rate
    # leaves gigabytes), and it says so.
    assert "topics under" in run.stderr and f"{settings.topic_prefix!r}" in run.stderr
    assert asyncio.run(_topics_under(settings)) == []


async def _topics_under(settings: Settings) -> list[str]:
    admin = new_admin(settings)
    await admin.start()
    try:
        return [t for t in await admin.list_topics() if t.startswith(settings.topic_prefix)]
    finally:
        await admin.close()


def _workers_of(settings: Settings) -> list[int]:
    """The pids of `lineage worker` processes on the test's prefix (from /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if (b"worker" in args and settings.topic_prefix.encode() in args
                and entry.name.isdigit() and int(entry.name) != os.getpid()):
            pids.append(int(entry.name))
    return pids


def test_a_terminated_loadtest_stops_its_workers_and_deletes_its_topics(
    settings: Settings,
) -> None:
    run = subprocess.Popen(
        [LINEAGE, "loadtest", "--rate", "200", "--duration", "120", "--workers", "1",
         "--format", "json", "--delete-topics", *cli_args(settings)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not _workers_of(settings):  # the worker runs in a session of its own
        assert run.poll() is None and time.monotonic() < deadline, "no worker started"
        time.sleep(0.5)
    time.sleep(3)  # sending

    run.send_signal(signal.SIGTERM)
    _, stderr = run.communicate(timeout=90)

    assert run.returncode == 128 + signal.SIGTERM
    assert _workers_of(settings) == []
    assert "topics under" in stderr
    assert asyncio.run(_topics_under(settings)) == []


def test_a_run_on_its_own_prefix_deletes_its_topics_and_state_by_default(
    settings: Settings,
) -> None:
    run = subprocess.run(
        [LINEAGE, "loadtest", "--rate", "200", "--duration", "2", "--workers", "1",
         "--format", "json", "--bootstrap-servers", settings.bootstrap_servers,
         "--data-dir", str(settings.data_dir)],
        capture_output=True, text=True, check=False, timeout=240)
    assert run.returncode == 0, run.stderr[-2000:]
    found = re.search(r"deleted (\d+) topics under '(lt-[^']+)'", run.stderr)
    assert found is not None, run.stderr[-2000:]
    prefix = found.group(2)
    assert int(found.group(1)) > 0
    own = dataclasses.replace(settings, topic_prefix=prefix)
    assert asyncio.run(_topics_under(own)) == []
    assert not (settings.data_dir / prefix.rstrip("-")).exists()  # the workers' state
