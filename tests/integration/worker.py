"""Run `lineage worker` as a real subprocess for integration tests."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from streams.graph_view import current_edges
from streams.settings import Settings

LINEAGE = str(Path(sys.executable).parent / "lineage")


def cli_args(settings: Settings) -> list[str]:
    return ["--bootstrap-servers", settings.bootstrap_servers,
            "--topic-prefix", settings.topic_prefix, "--data-dir", str(settings.data_dir)]


def start_worker(settings: Settings, log_name: str = "worker.log") -> subprocess.Popen[bytes]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.data_dir / log_name, "ab") as log:
        return subprocess.Popen([LINEAGE, "worker", *cli_args(settings)], stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)


def stop_worker(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@contextmanager
def running_worker(settings: Settings) -> Iterator[subprocess.Popen[bytes]]:
    proc = start_worker(settings)
    try:
        yield proc
    finally:
        stop_worker(proc)


def send_file(settings: Settings, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LINEAGE, "send", str(path), *cli_args(settings)],
                          capture_output=True, text=True, check=False)


def wait_for_graph(
    settings: Settings, done: Callable[[dict[str, dict[str, Any]]], bool], *,
    timeout_s: float = 90.0, settle_s: float = 4.0,
) -> dict[str, dict[str, Any]]:
    """Poll the graph until `done(edges)` holds and the graph stopped changing.

    The bound only keeps a broken pipeline from hanging the suite; the test
    asserts on the graph, never on how long it took.
    """
    deadline = time.monotonic() + timeout_s
    previous: dict[str, dict[str, Any]] = {}
    stable_since = time.monotonic()
    while time.monotonic() < deadline:
        edges = asyncio.run(current_edges(settings))
        if edges != previous:
            previous, stable_since = edges, time.monotonic()
        elif done(edges) and time.monotonic() - stable_since >= settle_s:
            return edges
        time.sleep(0.5)
    return previous


def summary(edges: dict[str, dict[str, Any]]) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Edge id -> (confidence, kinds): what must not depend on order or restarts."""
    return {eid: (e["confidence"], tuple(e["kinds"])) for eid, e in edges.items()}
