"""loadtest.measure's pairing of two trees' runs and the ratios taken from them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from loadtest.measure import PairedRatios, alternate_trees


def test_the_trees_take_turns_the_order_swapped_each_pair(tmp_path: Path) -> None:
    this, other = tmp_path / "this", tmp_path / "other"
    order: list[Path] = []

    def run(tree: Path) -> Mapping[str, float]:
        order.append(tree)
        return {"run": len(order)}

    these, theirs = alternate_trees(this, other, 3, run)
    assert order == [other, this, this, other, other, this]
    assert [f["run"] for f in these] == [2, 3, 6] and [f["run"] for f in theirs] == [1, 4, 5]


def test_a_tree_against_itself_keeps_both_sides_apart(tmp_path: Path) -> None:
    calls = iter(range(1, 100))
    these, theirs = alternate_trees(tmp_path, tmp_path, 2, lambda tree: {"run": next(calls)})
    assert [f["run"] for f in these] == [2, 3] and [f["run"] for f in theirs] == [1, 4]


def test_ratios_are_taken_per_pair_then_summarised() -> None:
    paired = PairedRatios.of([300.0, 200.0, 330.0], [100.0, 100.0, 110.0])
    assert paired == PairedRatios(this=300, against=100, ratio=3.0, least=2.0, most=3.0)


def test_pairs_of_unequal_length_are_refused() -> None:
    with pytest.raises(ValueError):
        PairedRatios.of([1.0, 2.0], [1.0])
