"""`lineage loadtest` end to end at a low rate: it drains and scores against the truth."""

from __future__ import annotations

import subprocess
from pathlib import Path

import orjson

from streams.settings import Settings
from tests.integration.worker import LINEAGE, cli_args


def test_loadtest_reports_a_drained_run_with_precision_and_recall(settings: Settings,
                                                                  tmp_path: Path) -> None:
    report = tmp_path / "report"
    run = subprocess.run(
        [LINEAGE, "loadtest", "--rate", "400", "--duration", "5", "--workers", "1",
         "--format", "json", "--report", str(report), *cli_args(settings)],
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
