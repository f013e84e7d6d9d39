"""bench_pipeline --against: each tree's own benchmark, its worker included, on the broker."""

from __future__ import annotations

from pathlib import Path

from loadtest.bench_pipeline import COMPARED, compare

HERE = Path(__file__).resolve().parents[2]


def test_a_tree_against_itself_measures_both_sides_in_full(bootstrap: str) -> None:
    figures = compare(HERE, 200, bootstrap, 1)
    assert figures["pairs"] == 1 and figures["events"] > 200  # about 4 probe events a request
    for name in COMPARED:
        assert figures[f"this_{name}"] > 0 and figures[f"against_{name}"] > 0
        assert figures[f"{name}_vs_against_min"] == figures[f"{name}_vs_against"] \
            == figures[f"{name}_vs_against_max"]  # one pair: one ratio
