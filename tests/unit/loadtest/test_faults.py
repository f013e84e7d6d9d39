"""The fault suite's figures and choices (the runs themselves need a broker)."""

from __future__ import annotations

from pathlib import Path

import orjson

from loadtest.faults import YEAR_3000_MS, hostile_probe, markdown, recovery_s, scenarios
from streams.localkafka import LocalKafka


def test_recovery_is_the_last_slow_delta_after_the_fault() -> None:
    latency = [(1.0, 200), (2.0, 300), (5.0, 9000), (9.5, 4000), (10.0, 250), (12.0, 260)]
    assert recovery_s(latency, fault_at_s=4.0) == 5.5


def test_no_slow_delta_after_the_fault_is_no_recovery_time() -> None:
    assert recovery_s([(1.0, 200), (6.0, 900)], fault_at_s=4.0) == 0.0
    assert recovery_s([(6.0, 900)], fault_at_s=4.0) is None  # nothing to compare with


def test_broker_stop_needs_the_suites_own_broker(tmp_path: Path) -> None:
    names = ["kill", "broker-stop", "poison-pill", "far-future"]
    chosen, skipped = scenarios(names, broker=None)
    assert [s.name for s in chosen] == ["kill", "poison-pill", "far-future"]
    assert [reason.split(":")[0] for reason in skipped] == ["broker-stop"]
    chosen, _ = scenarios(names, broker=LocalKafka(tmp_path, port=19999))
    assert [s.name for s in chosen] == ["kill", "broker-stop", "poison-pill", "far-future"]


def test_hostile_probes_are_valid_envelopes_a_window_cannot_take() -> None:
    pill = orjson.loads(hostile_probe("poison-pill", 1_000, 2))
    late = orjson.loads(hostile_probe("far-future", 1_000, 3))
    assert len(pill["asset"].encode()) > 65_535 and pill["ts"] == 1_000
    assert late["ts"] == YEAR_3000_MS and len(late["asset"]) < 100
    assert {pill["trace_id"], late["trace_id"]} == {"fault-poison-pill-2", "fault-far-future-3"}


def test_the_table_has_a_row_per_scenario_and_the_skipped_ones() -> None:
    table = markdown({"rows": [{"scenario": "baseline", "p99_latency_ms": 300},
                               {"scenario": "kill", "graph_equal": True}],
                      "skipped": ["far-future: not in this build"]})
    lines = table.splitlines()
    assert lines[2].startswith("| baseline |") and "| True |" in lines[3]
    assert lines[-1] == "- skipped: far-future: not in this build"
