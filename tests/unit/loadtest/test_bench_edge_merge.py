"""bench_edge_merge: both edge merge paths over the probe join's signals, nothing left behind."""

from __future__ import annotations

import tempfile
from pathlib import Path

from loadtest.bench_edge_merge import measure


async def test_both_paths_are_measured_on_the_same_signals_and_nothing_is_left() -> None:
    before = set(Path(tempfile.gettempdir()).glob("bench-edge-merge-*"))
    figures = await measure(requests=3000, rounds=1)
    assert figures["signals"] > 0
    # the signals repeat within a batch, which is what the Rust fold is for
    assert figures["signals_per_observation_and_batch"] > 1
    assert figures["python_signals_per_cpu_s"] > 0 and figures["native_signals_per_cpu_s"] > 0
    assert set(Path(tempfile.gettempdir()).glob("bench-edge-merge-*")) == before
