"""Probes on, in memory: every unit test of a framework hook goes through the real
hooks, sanitizer and capture doors; only the Kafka producer is replaced by
`MemoryEmitter` (the emitter has its own tests against a closed port)."""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lineage_probes
import pytest
from lineage_probes import counters
from lineage_probes.emitter import MemoryEmitter


class Captured:
    def __init__(self, emitter: MemoryEmitter) -> None:
        self.emitter = emitter

    @property
    def events(self) -> list[dict[str, Any]]:
        out = []
        for key, value in self.emitter.sent:
            event = json.loads(value)
            assert key.decode() == event["trace_id"]
            out.append(event)
        return out

    def of(self, asset_prefix: str, role: str | None = None) -> list[dict[str, Any]]:
        return [e for e in self.events if e["asset"].startswith(asset_prefix)
                and (role is None or e["role"] == role)]

    def clear(self) -> None:
        self.emitter.sent.clear()


@pytest.fixture()
def probes(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """`probes(sample_rate=..., redact=..., probes=[...])` turns them on; off after the test."""
    for var in ("LINEAGE_PROBE_DISABLED", "LINEAGE_PROBE_REDACT", "LINEAGE_PROBE_SAMPLE_RATE"):
        monkeypatch.delenv(var, raising=False)
    counters.reset()

    def start(sample_rate: float = 1.0, service: str = "svc", **kwargs: Any) -> Captured:
        emitter = MemoryEmitter()
        lineage_probes.instrument(service=service, sample_rate=sample_rate, emitter=emitter,
                                  **kwargs)
        return Captured(emitter)

    yield start
    lineage_probes.uninstrument()


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    """An SQLite file `app.db` with the table `ads_log (segment)`, the sink enforcement
    tests deny (a module may bring its own `db` with more tables)."""
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE ads_log (segment TEXT)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def closed_port() -> int:
    """A loopback port nothing listens on (a Kafka client there never reaches a broker)."""
    return free_port()


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (make install installs it with apt)")
    port = free_port()
    work: Path = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(work)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield port
    proc.terminate()
    proc.wait(timeout=10)
