"""`make probes-demo`: two real services under `lineage-probe run`, and the graph they make.

Starts a worker under a fresh topic prefix, then the demo services of
examples/probes_demo (users-api: FastAPI under uvicorn; mailer: Flask under
gunicorn; one SQLite database) with the probes on, drives users-api with a
real HTTP client, waits for the graph to settle and prints it: request field
-> DB column -> log field -> the other service's input, found by payload
matching, with no event written by hand. Kafka must be up (`lineage kafka up`).

    python -m scripts.probes_demo [--requests N] [--sample-rate R]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
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
def demo_services(work: Path, probes: Probes | None, *,
                  mailer_workers: int = 1) -> Iterator[Services]:
    """users-api and mailer on free loopback ports over a fresh SQLite DB in `work`."""
    work = work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    db = work / "demo.db"
    with sqlite3.connect(db) as conn:
        conn.executescript((APP_DIR / "schema.sql").read_text())
    users_port, mailer_port = free_port(), free_port()
    services = Services(f"http://127.0.0.1:{users_port}", f"http://127.0.0.1:{mailer_port}", db)
    env = {**os.environ, "DEMO_DB": str(db), "MAILER_URL": services.mailer_url}
    env.pop("LINEAGE_PROBE_DISABLED", None)
    mailer = _launch("mailer", [str(BIN / "gunicorn"), "--workers", str(mailer_workers),
                                "--bind", f"127.0.0.1:{mailer_port}", "--chdir", str(APP_DIR),
                                "--log-level", "warning", "mailer:app"], probes)
    users = _launch("users-api", [str(BIN / "uvicorn"), "users_api:app", "--app-dir",
                                  str(APP_DIR), "--host", "127.0.0.1", "--port",
                                  str(users_port), "--log-level", "warning",
                                  "--no-access-log"], probes)
    try:
        for name, cmd, url in (("mailer", mailer, services.mailer_url),
                               ("users-api", users, services.users_url)):
            log = work / f"{name}.log"
            with open(log, "ab") as out:
                proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env,
                                        cwd=ROOT, start_new_session=True)
            services.procs.append(proc)
            _wait_healthy(url, proc, log)
        yield services
    finally:
        for proc in reversed(services.procs):
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


def chains(edges: dict[str, dict[str, Any]], mailer_url: str) -> list[list[str]]:
    """The flows the demo is about, as paths through the discovered edges."""
    port = mailer_url.rsplit(":", 1)[1]
    wanted = [
        ["web://users-api/users#name", "sqlite://demo.db/users#name",
         "log://mailer/mailer#message"],
        ["web://users-api/users#email", "sqlite://demo.db/users#email_sha256",
         "sqlite://demo.db/outbox#recipient_sha256"],
        ["web://users-api/users#city", f"http://127.0.0.1:{port}/welcome/{{id}}#city"],
        ["web://mailer/welcome/{user_id}#city", "sqlite://demo.db/outbox#city"],
        ["web://users-api/users#city", "log://users-api/users_api#message"],
    ]
    found = {(e["src"], e["dst"]): e for e in edges.values()}
    out = []
    for path in wanted:
        steps = [path[0]]
        for src, dst in itertools.pairwise(path):
            edge = found.get((src, dst))
            how = "missing" if edge is None else \
                f"{edge['confidence']} {','.join(edge['kinds'])}"
            steps.append(f"  --({how})--> {dst}")
        out.append(steps)
    return out


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console
    from rich.table import Table

    from loadtest.settle import settle
    from streams.settings import Settings
    from tests.integration.worker import cli_args, start_worker, stop_worker

    parser = argparse.ArgumentParser(prog="python -m scripts.probes_demo",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="users to create (300)")
    parser.add_argument("--sample-rate", type=float, default=1.0, help="probe sample rate (1.0)")
    args = parser.parse_args(argv)
    console = Console() if sys.stdout.isatty() else Console(width=200)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Settings.from_env()
    settings = Settings(bootstrap_servers=base.bootstrap_servers,
                        topic_prefix=f"probes-demo-{stamp}-",
                        data_dir=base.data_dir / f"probes-demo-{stamp}")
    prepare_topics(settings)
    console.print(f"[bold]probes demo[/] prefix {settings.topic_prefix}  logs {settings.data_dir}")
    worker = start_worker(settings)
    try:
        probes = Probes(settings.bootstrap_servers, settings.topic_prefix, args.sample_rate)
        with demo_services(settings.data_dir / "services", probes) as services:
            result = asyncio.run(drive(services.users_url, args.requests))
            console.print(f"drove users-api: {result.ok} users created and read back "
                          f"({result.failed} failed) in {result.seconds:.1f} s")
            with console.status("waiting for the graph to settle"):
                edges = settle(lambda: asyncio.run(_edges(settings)), _has_flows,
                               timeout_s=120, settle_s=6, poll_s=1)
    finally:
        stop_worker(worker)
    shown = sorted((e for e in edges.values() if e["confidence"] != "low"),
                   key=lambda e: (e["src"], e["dst"]))
    table = Table(title=f"discovered flows ({len(shown)} of {len(edges)} edges; "
                        "low-confidence NO_MATCH candidates not shown)")
    for column in ("source", "destination", "confidence", "kinds"):
        table.add_column(column)
    for edge in shown:
        table.add_row(edge["src"], edge["dst"], edge["confidence"], ",".join(edge["kinds"]))
    console.print(table)
    console.print("\n[bold]the flows through both services[/]")
    for steps in chains(edges, services.mailer_url):
        console.print("\n".join(steps) + "\n", markup=False)
    console.print("query it: .venv/bin/lineage graph downstream 'web://users-api/users#name' "
                  + " ".join(cli_args(settings)))
    return 0


async def _edges(settings: Any) -> dict[str, dict[str, Any]]:
    from loadtest.graph_view import current_edges
    return await current_edges(settings)


def _has_flows(edges: dict[str, dict[str, Any]]) -> bool:
    return any(e["src"].startswith("web://users-api/") and e["confidence"] == "high"
               for e in edges.values())


def prepare_topics(settings: Any) -> None:
    """The pipeline's topics, made before the probes write (not auto-created by the broker)."""
    from streams.kafka.topics import ensure_topics
    from streams.pipeline.topology import load_topology
    asyncio.run(ensure_topics(settings, load_topology()))


if __name__ == "__main__":
    raise SystemExit(main())
