"""Run `lineage worker` as a real subprocess for integration tests."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from loadtest.graph_view import current_edges
from loadtest.settle import settle
from streams.settings import Settings

LINEAGE = str(Path(sys.executable).parent / "lineage")


def cli_args(settings: Settings) -> list[str]:
    return ["--bootstrap-servers", settings.bootstrap_servers,
            "--topic-prefix", settings.topic_prefix, "--data-dir", str(settings.data_dir)]


def start_worker(settings: Settings, log_name: str = "worker.log", *,
                 topology: Path | None = None) -> subprocess.Popen[bytes]:
    """A worker on `settings`; `topology` replaces topology.yaml (env LINEAGE_TOPOLOGY)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if topology is not None:
        env["LINEAGE_TOPOLOGY"] = str(topology)
    with open(settings.data_dir / log_name, "ab") as log:
        return subprocess.Popen([LINEAGE, "worker", *cli_args(settings)], stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True, env=env)


def stop_worker(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@contextmanager
def running_worker(settings: Settings, *,
                   topology: Path | None = None) -> Iterator[subprocess.Popen[bytes]]:
    proc = start_worker(settings, topology=topology)
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
    """The graph once `done(edges)` holds and it stopped changing (see loadtest.settle)."""
    return settle(lambda: asyncio.run(current_edges(settings)), done,
                  timeout_s=timeout_s, settle_s=settle_s)


def summary(edges: dict[str, dict[str, Any]]) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Edge id -> (confidence, kinds): what must not depend on order or restarts."""
    return {eid: (e["confidence"], tuple(e["kinds"])) for eid, e in edges.items()}
