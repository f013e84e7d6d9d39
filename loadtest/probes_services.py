"""The probes demo's two services (examples/probes_demo) as processes, and a driver.

users-api (FastAPI under uvicorn) and mailer (Flask under gunicorn) over one
SQLite database, each under `lineage-probe run` or not, on free loopback
ports; `drive` creates users through users-api with a real HTTP client. Used
by `make probes-demo`, its integration test and `loadtest.bench_probes`;
`probed_service` starts any one service that way (the Django and PostgreSQL probe tests).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
APP_DIR = ROOT / "examples" / "probes_demo"
BIN = Path(sys.executable).parent
NAMES = ["Ada Lovelace", "Grace Hopper", "Alan Turing", "Edsger Dijkstra", "Barbara Liskov",
         "Donald Knuth", "Frances Allen", "Ken Thompson", "Radia Perlman", "Tony Hoare"]
CITIES = ["Lisbon", "Montreal", "Nairobi", "Osaka", "Valparaiso", "Reykjavik", "Tbilisi",
          "Cartagena", "Brisbane", "Kraków"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Probes:
    """How the services run under the launcher (None: without probes)."""

    bootstrap_servers: str
    topic_prefix: str
    sample_rate: float


@dataclass
class Services:
    users_url: str
    mailer_url: str
    db: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)


def _launch(service: str, cmd: list[str], probes: Probes | None) -> list[str]:
    if probes is None:
        return cmd
    return [str(BIN / "lineage-probe"), "run", "--service", service,
            "--sample-rate", str(probes.sample_rate),
            "--bootstrap-servers", probes.bootstrap_servers,
            "--topic-prefix", probes.topic_prefix, "--", *cmd]


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path,
                  timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited with {proc.returncode}; see {log}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not healthy after {timeout_s:.0f} s; see {log}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@contextmanager
def demo_services(work: Path, probes: Probes | None, *, mailer_workers: int = 1,
                  env: dict[str, str] | None = None) -> Iterator[Services]:
    """users-api and mailer on free loopback ports over a fresh SQLite DB in `work`
    (`env`: more environment for both, e.g. the probes' enforcement settings)."""
    work = work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    db = work / "demo.db"
    with sqlite3.connect(db) as conn:
        conn.executescript((APP_DIR / "schema.sql").read_text())
    users_port, mailer_port = free_port(), free_port()
    services = Services(f"http://127.0.0.1:{users_port}", f"http://127.0.0.1:{mailer_port}", db)
    extra = env or {}
    env = {**os.environ, "DEMO_DB": str(db), "MAILER_URL": services.mailer_url, **extra}
    env.pop("LINEAGE_PROBE_DISABLED", None)
    mailer = [str(BIN / "gunicorn"), "--workers", str(mailer_workers),
              "--bind", f"127.0.0.1:{mailer_port}", "--chdir", str(APP_DIR),
              "--log-level", "warning", "mailer:app"]
    users = [str(BIN / "uvicorn"), "users_api:app", "--app-dir", str(APP_DIR), "--host",
             "127.0.0.1", "--port", str(users_port), "--log-level", "warning", "--no-access-log"]
    with ExitStack() as stack:  # stopped in reverse order
        for name, cmd, url in (("mailer", mailer, services.mailer_url),
                               ("users-api", users, services.users_url)):
            services.procs.append(
                stack.enter_context(probed_service(name, cmd, url, work, probes, env)))
        yield services


@contextmanager
def probed_service(name: str, cmd: list[str], url: str, work: Path, probes: Probes | None,
                   env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """`cmd` as service `name` (under `lineage-probe run` when `probes`), in its own session,
    its output in `work/NAME.log`, until `url/health` answers 200; stopped on exit."""
    log = work / f"{name}.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(_launch(name, cmd, probes), stdout=out,
                                stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                                start_new_session=True)
    try:
        _wait_healthy(url, proc, log)
        yield proc
    finally:
        _stop(proc)


def user(n: int, rng: random.Random) -> dict[str, str]:
    name = f"{rng.choice(NAMES)} {n:04d}"
    return {"name": name, "email": f"{name.split()[0].lower()}.{n:04d}@example.org",
            "city": rng.choice(CITIES)}


@dataclass
class DriveResult:
    ok: int
    failed: int
    seconds: float
    latencies_ms: list[float]

    @property
    def per_second(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


async def drive(base_url: str, requests: int, *, concurrency: int = 8, seed: int = 7,
                reads: bool = True) -> DriveResult:
    """POST `requests` new users (and read each back) with a real HTTP client."""
    rng = random.Random(seed)
    bodies = [user(n, rng) for n in range(requests)]
    queue: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    latencies: list[float] = []
    failed = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal failed
        while not queue.empty():
            body = queue.get_nowait()
            started = time.perf_counter()
            try:
                reply = await client.post("/users", json=body)
                if reads and reply.status_code == 200:
                    reply = await client.get(f"/users/{reply.json()['id']}")
            except httpx.HTTPError:
                failed += 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)
            if reply.status_code != 200:
                failed += 1

    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return DriveResult(len(latencies) - failed if failed < len(latencies) else 0, failed,
                       time.perf_counter() - started, latencies)


def prepare_topics(settings: Any) -> None:
    """The pipeline's topics, made before the probes write (not auto-created by the broker)."""
    from streams.kafka.topics import ensure_topics
    from streams.pipeline.topology import load_topology
    asyncio.run(ensure_topics(settings, load_topology()))
