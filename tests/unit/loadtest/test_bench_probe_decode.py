"""bench_probe_decode: its figures, and its comparison of two trees' matcher_rs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from loadtest.bench_probe_decode import compare, measure

HERE = Path(__file__).resolve().parents[3]


def test_measure_decodes_every_probe_value_of_the_workload() -> None:
    figures = measure(300, 2)
    assert figures["values"] > 300  # about 4 probe events per request
    assert figures["values_per_cpu_s"] > 0
    assert figures["ns_per_value"] == pytest.approx(1e9 / figures["values_per_cpu_s"], rel=0.01)


def test_a_tree_against_itself_runs_both_sides_in_turn() -> None:
    figures = compare(HERE, 200, 1, 2)
    assert figures["pairs"] == 2
    assert figures["this_values_per_cpu_s"] > 0 and figures["against_values_per_cpu_s"] > 0
    assert figures["vs_against_min"] <= figures["vs_against"] <= figures["vs_against_max"]


def test_a_tree_whose_run_fails_is_named(tmp_path: Path) -> None:
    (tmp_path / "matcher_rs").mkdir()  # no extension built there
    with pytest.raises(RuntimeError, match=str(tmp_path)):
        compare(tmp_path, 100, 1, 1)


def test_a_failing_tree_ends_the_command_with_its_message(tmp_path: Path) -> None:
    (tmp_path / "matcher_rs").mkdir()  # no extension built there
    done = subprocess.run([sys.executable, "-m", "loadtest.bench_probe_decode", "--against",
                           str(tmp_path), "--pairs", "1", "--requests", "10", "--repeat", "1"],
                          cwd=HERE, capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.startswith(f"bench_probe_decode: the run on {tmp_path} failed: ")
    assert "Traceback" not in done.stderr
