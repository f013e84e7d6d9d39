"""A worker killed with SIGKILL mid-stream and restarted ends with the same graph."""

from __future__ import annotations

import signal
from pathlib import Path

from streams.settings import Settings
from tests.integration.worker import (
    running_worker,
    send_file,
    start_worker,
    stop_worker,
    summary,
    wait_for_graph,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "photo_location.jsonl"


def _split_by_trace(tmp_path: Path) -> tuple[Path, Path]:
    """First half and second half of the example, splitting traces across the kill."""
    lines = EXAMPLE.read_bytes().splitlines()
    middle = len(lines) // 2
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_bytes(b"\n".join(lines[:middle]) + b"\n")
    second.write_bytes(b"\n".join(lines[middle:]) + b"\n")
    return first, second


def test_sigkill_and_restart_gives_the_same_graph(settings: Settings, tmp_path: Path) -> None:
    baseline = Settings(settings.bootstrap_servers, settings.topic_prefix + "base-",
                        settings.data_dir / "base")
    with running_worker(baseline):
        assert send_file(baseline, EXAMPLE).returncode == 0
        expected = wait_for_graph(baseline, lambda edges: len(edges) >= 20)
    assert len(expected) >= 20

    crashed = Settings(settings.bootstrap_servers, settings.topic_prefix + "kill-",
                       settings.data_dir / "kill")
    first, second = _split_by_trace(tmp_path)
    worker = start_worker(crashed)
    try:
        assert send_file(crashed, first).returncode == 0
        partial = wait_for_graph(crashed, lambda edges: len(edges) >= 3)
        assert partial, "the first half produced no edges before the kill"
    finally:
        stop_worker(worker, signal.SIGKILL)
    # Input sent while no worker runs is picked up after the restart.
    assert send_file(crashed, second).returncode == 0
    with running_worker(crashed):
        recovered = wait_for_graph(crashed, lambda edges: set(expected) <= set(edges))

    assert summary(recovered) == summary(expected)
