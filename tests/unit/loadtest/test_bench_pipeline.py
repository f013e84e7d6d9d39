"""bench_pipeline's choice of Kafka clients per run, and its comparison of two trees."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from loadtest.bench_pipeline import COMPARED, TreeRun, compare, parse_clients, run_tree


def test_client_pairs_in_order_the_first_the_baseline() -> None:
    assert parse_clients("aiokafka/aiokafka, confluent/aiokafka,confluent/confluent") == [
        ("aiokafka", "aiokafka", None), ("confluent", "aiokafka", None),
        ("confluent", "confluent", None)]
    assert parse_clients("aiokafka/aiokafka:objects,aiokafka/aiokafka:columns") == [
        ("aiokafka", "aiokafka", "objects"), ("aiokafka", "aiokafka", "columns")]


def test_records_other_than_columns_or_objects_are_refused() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="columns or objects"):
        parse_clients("aiokafka/aiokafka:dicts")


@pytest.mark.parametrize("text", ["confluent", "confluent/", "kafka/aiokafka", "aiokafka/x"])
def test_a_bad_pair_is_refused_by_name(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="expected PRODUCER/FETCH"):
        parse_clients(text)


def _fake_runs(figures_of: dict[Path, list[float]]) -> tuple[TreeRun, list[Path]]:
    """A TreeRun that answers each tree's next figure (the same for every compared name)
    and records the order the trees ran in."""
    order: list[Path] = []

    def run(tree: Path, requests: int, bootstrap: str) -> dict[str, float]:
        assert (requests, bootstrap) == (100, "broker:9092")
        order.append(tree)
        value = figures_of[tree].pop(0)
        return {"events": 400, **{name: value for name in COMPARED}}

    return run, order


def test_against_alternates_the_trees_and_takes_each_pairs_ratio(tmp_path: Path) -> None:
    here = Path(__file__).resolve().parents[3]
    run, order = _fake_runs({here: [300.0, 200.0, 330.0], tmp_path: [100.0, 100.0, 110.0]})
    figures = compare(tmp_path, 100, "broker:9092", 3, run)
    assert order == [tmp_path, here, here, tmp_path, tmp_path, here]  # swapped each pair
    name = "pipeline_batch_events_per_cpu_s"
    assert figures["pairs"] == 3 and figures["events"] == 400
    assert figures[f"this_{name}"] == 300 and figures[f"against_{name}"] == 100
    # per-pair ratios 3.0, 2.0, 3.0: the median, and the least and most of them
    assert figures[f"{name}_vs_against"] == 3.0
    assert figures[f"{name}_vs_against_min"] == 2.0
    assert figures[f"{name}_vs_against_max"] == 3.0


def test_against_a_tree_without_the_benchmark_is_refused(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "loadtest.bench_pipeline", "--against",
                           str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 2
    assert f"{tmp_path}: no loadtest/bench_pipeline.py there" in done.stderr


@pytest.mark.parametrize("option", [["--consumer", "batch"], ["--clients", "aiokafka/aiokafka"],
                                    ["--sealing-only"]])
def test_against_refuses_the_options_it_does_not_follow(tmp_path: Path,
                                                        option: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", "loadtest.bench_pipeline", "--against",
                           str(tmp_path), *option], capture_output=True, text=True)
    assert done.returncode == 2
    assert "--consumer, --clients and --sealing-only do not apply" in done.stderr


def test_against_needs_at_least_one_pair(tmp_path: Path) -> None:
    (tmp_path / "loadtest").mkdir()
    (tmp_path / "loadtest" / "bench_pipeline.py").write_text("")
    done = subprocess.run([sys.executable, "-m", "loadtest.bench_pipeline", "--against",
                           str(tmp_path), "--pairs", "0"], capture_output=True, text=True)
    assert done.returncode == 2 and "--pairs must be at least 1" in done.stderr


def test_a_failing_tree_run_is_named(tmp_path: Path) -> None:
    (tmp_path / "loadtest").mkdir()
    (tmp_path / "loadtest" / "__init__.py").write_text("")
    (tmp_path / "loadtest" / "bench_pipeline.py").write_text("raise SystemExit('no broker')\n")
    with pytest.raises(RuntimeError, match=f"the run on {tmp_path} failed: no broker"):
        run_tree(tmp_path, 10, "127.0.0.1:1")


def test_a_failing_tree_run_ends_the_command_with_its_message(tmp_path: Path) -> None:
    (tmp_path / "loadtest").mkdir()
    (tmp_path / "loadtest" / "__init__.py").write_text("")
    (tmp_path / "loadtest" / "bench_pipeline.py").write_text("raise SystemExit('no broker')\n")
    done = subprocess.run([sys.executable, "-m", "loadtest.bench_pipeline", "--against",
                           str(tmp_path), "--pairs", "1", "--requests", "10"],
                          capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr == f"bench_pipeline: the run on {tmp_path} failed: no broker\n"
