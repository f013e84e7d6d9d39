"""Overhead of the probes on the demo ASGI service (`python -m loadtest.bench_probes`).

Three measurements, each against a baseline taken in the same run:

1. requests/s of users-api (one DB insert, one outbound call, one log line per
   request; examples/probes_demo) without probes, at sample rate 0.01 and at
   1.0, the modes interleaved over `--rounds` rounds, best round of each kept;
   and users-api's own CPU seconds per request in each (/proc), the median
   over rounds of each round's ratio to its run without probes;
2. probe CPU per request, in process: an ASGI app (one sqlite insert, one log
   line) called directly, unprobed / probed-unsampled / probed-sampled, CPU
   time per call (the sampled figure includes building and serializing the
   captures, handed to an in-memory emitter), with a new connection per
   request and with one pooled connection;
3. Kafka unreachable (the probes pointed at a closed port, every request
   sampled): p99 latency against the same probes with Kafka up and against no
   probes, and the service's RSS after each round (bounded: the queue drops
   when full).

The machine is shared: read the ratios, not the absolute numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from loadtest.probes_services import Probes, demo_services, drive, free_port, prepare_topics
from streams.settings import Settings


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def throughput(settings: Settings, work: Path, requests: int, rounds: int) -> dict[str, Any]:
    """Requests/s of users-api per mode (best round), and its own CPU per request.

    The CPU figure is the steadier one on a shared machine: requests/s moves
    with whatever else runs, the service's CPU seconds per request much less.
    Its overhead is the median over rounds of each round's ratio to that
    round's run without probes (modes interleaved).
    """
    modes: dict[str, float | None] = {"off": None, "0.01": 0.01, "1.0": 1.0}
    best: dict[str, float] = {}
    cpu_ms: dict[str, list[float]] = {name: [] for name in modes}
    for r in range(rounds):
        for name, rate in modes.items():
            probes = None if rate is None else Probes(settings.bootstrap_servers,
                                                      settings.topic_prefix, rate)
            with demo_services(work / f"tp-{r}-{name}", probes) as services:
                asyncio.run(drive(services.users_url, 20, reads=False))  # warm up
                pid = services.procs[-1].pid  # users-api
                before = _cpu_s(pid)
                result = asyncio.run(drive(services.users_url, requests, reads=False,
                                           seed=r))
                cpu_ms[name].append((_cpu_s(pid) - before) * 1000 / max(1, result.ok))
            best[name] = max(best.get(name, 0.0), result.per_second)
    ratios = {name: [cpu_ms[name][r] / cpu_ms["off"][r] for r in range(rounds)
                     if cpu_ms["off"][r] > 0] for name in ("0.01", "1.0")}
    return {"requests_per_s": {k: round(v, 1) for k, v in best.items()},
            "overhead_pct": {k: round(100 * (1 - best[k] / best["off"]), 1)
                             for k in ("0.01", "1.0")},
            "cpu_ms_per_request": {k: round(statistics.median(v), 3)
                                   for k, v in cpu_ms.items()},
            "cpu_overhead_pct": {k: round(100 * (statistics.median(v) - 1), 1)
                                 for k, v in ratios.items() if v},
            "cpu_overhead_pct_rounds": {k: [round(100 * (x - 1), 1) for x in v]
                                        for k, v in ratios.items()}}


def _asgi_app(pooled: bool = False) -> tuple[Any, Callable[[], None]]:
    """The request: a JSON body, one sqlite INSERT, one log line, a JSON response.

    `pooled`: one connection opened with the app (as a pool keeps them), else a
    new connection and table in every request.
    """
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    db = sqlite3.connect(":memory:", check_same_thread=False)  # made before instrument
    db.execute("CREATE TABLE t (name TEXT, city TEXT)")
    log = logging.getLogger("bench")
    log.setLevel(logging.INFO)
    log.addHandler(logging.NullHandler())
    log.propagate = False

    pool = sqlite3.connect(":memory:", check_same_thread=False)  # made under the probes
    pool.execute("CREATE TABLE t (name TEXT, city TEXT)")

    async def create(request: Request) -> JSONResponse:
        body = await request.json()
        if pooled:
            conn = pool
        else:
            conn = sqlite3.connect(":memory:")
            conn.execute("CREATE TABLE t (name TEXT, city TEXT)")
        conn.execute("INSERT INTO t (name, city) VALUES (?, ?)", (body["name"], body["city"]))
        log.info("new user in %s", body["city"])
        return JSONResponse({"id": request.path_params["uid"], "name": body["name"]})

    def close() -> None:
        db.close()
        pool.close()

    return Starlette(routes=[Route("/users/{uid}", create, methods=["POST"])]), close


async def _call(app: Any, n: int) -> float:
    body = json.dumps({"name": "Ada Lovelace", "city": "Lisbon"}).encode()
    scope = {"type": "http", "method": "POST", "path": "/users/7", "raw_path": b"/users/7",
             "query_string": b"", "root_path": "", "scheme": "http", "http_version": "1.1",
             "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1),
             "headers": [(b"content-type", b"application/json"),
                         (b"content-length", str(len(body)).encode())]}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    started = time.process_time()
    for _ in range(n):
        await app(dict(scope), receive, send)
    return (time.process_time() - started) / n * 1e6


def _zone_state(match: str) -> Any:
    """A policy the bench's request never touches: a zone column of another table, a
    denied table it never writes."""
    from lineage_probes.enforcement.index import ZoneState

    state = ZoneState()
    state.apply_policy(b"loc", json.dumps({"policy_id": "loc", "mode": "enforce",
                                           "match": match,
                                           "deny": ["sqlite://memory/ads_log"]}).encode())
    state.apply_member(b"loc|sqlite://memory/users#city", b'{"state":"root"}')
    return state


def unrelated_zones(match: str = "request") -> Any:
    """Enforcement on, its zones holding a policy the bench's request never touches:
    every request is checked and stays untainted. `match="value"`: the policy is precise."""
    from lineage_probes.enforcement.feed import StaticZones

    return StaticZones(_zone_state(match))


def route_zones(match: str) -> Any:
    """The same policy with the bench route's `city` input in its zone: every request is
    tainted (`match="value"`: with the city it sent) and writes to no denied sink."""
    from lineage_probes.enforcement.feed import StaticZones

    state = _zone_state(match)
    state.apply_member(b"loc|web://bench/users/{uid}#city", b'{"state":"root"}')
    return StaticZones(state)


def probe_cpu(calls: int, *, pooled: bool = False, rounds: int = 5) -> dict[str, Any]:
    """CPU µs per in-process request in each mode, minimum over interleaved rounds.

    `unsampled, enforcement on` checks every request against zones it never
    touches; `unsampled again` repeats the `unsampled` mode (A/A): how far
    two runs of the same mode land apart is the floor under which a
    difference is not measurable.
    """
    import lineage_probes
    from lineage_probes.emitter import MemoryEmitter

    def measure(rate: float | None, enforce: bool = False) -> float:
        emitter = MemoryEmitter()
        if rate is not None:
            lineage_probes.instrument(service="bench", sample_rate=rate, emitter=emitter,
                                      probes=["asgi", "sqlite3", "logging"],
                                      zones=unrelated_zones() if enforce else None)
        try:
            app, close = _asgi_app(pooled)
            asyncio.run(_call(app, 200))  # warm up (sqlglot parses each statement once)
            per_call = asyncio.run(_call(app, calls))
            close()
            return per_call
        finally:
            lineage_probes.uninstrument()

    best: dict[str, float] = {}
    modes: tuple[tuple[str, float | None, bool], ...] = (
        ("off", None, False), ("unsampled", 0.0, False), ("sampled", 1.0, False),
        ("unsampled, enforcement on", 0.0, True), ("unsampled again", 0.0, False))
    for _ in range(rounds):
        for name, rate, enforce in modes:
            best[name] = min(best.get(name, float("inf")), measure(rate, enforce))
    return {"cpu_us_per_request": {k: round(v, 2) for k, v in best.items()},
            "probe_cpu_us": {"unsampled": round(best["unsampled"] - best["off"], 2),
                             "sampled": round(best["sampled"] - best["off"], 2)},
            "enforcement_untainted_us": round(best["unsampled, enforcement on"]
                                              - best["unsampled"], 2),
            "a_a_floor_us": round(abs(best["unsampled again"] - best["unsampled"]), 2)}


def kafka_down(settings: Settings, work: Path, requests: int, rounds: int) -> dict[str, Any]:
    """p99 with Kafka unreachable against Kafka up (both sampling every request) and
    against no probes; the probed service's RSS after each round with Kafka down."""
    modes = {"off": None,
             "kafka_up": Probes(settings.bootstrap_servers, settings.topic_prefix, 1.0),
             "kafka_down": Probes(f"127.0.0.1:{free_port()}", "bench-", 1.0)}
    latencies: dict[str, list[float]] = {name: [] for name in modes}
    rss: list[int] = []
    for r in range(rounds):
        for name, probes in modes.items():
            with demo_services(work / f"down-{r}-{name}", probes) as services:
                asyncio.run(drive(services.users_url, 20, reads=False))  # warm up
                result = asyncio.run(drive(services.users_url, requests, reads=False, seed=r))
                latencies[name] += result.latencies_ms
                if name == "kafka_down":
                    rss.append(_rss_kib(services.procs[-1].pid))
    return {"p99_ms": {name: round(_p(v, 0.99), 1) for name, v in latencies.items()},
            "p50_ms": {name: round(_p(v, 0.5), 1) for name, v in latencies.items()},
            "rss_kib_kafka_down_after_each_round": rss}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.bench_probes",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each mode")
    parser.add_argument("--calls", type=int, default=2000, help="in-process calls per mode")
    parser.add_argument("--in-process-only", action="store_true",
                        help="only the probe CPU per request (no services, no broker)")
    args = parser.parse_args(argv)
    if args.in_process_only:
        print(json.dumps({"probe_cpu": probe_cpu(args.calls),
                          "probe_cpu_pooled": probe_cpu(args.calls, pooled=True, rounds=9)},
                         indent=2))
        return 0
    base = Settings.from_env()
    settings = Settings(bootstrap_servers=base.bootstrap_servers,
                        topic_prefix=f"bench-probes-{uuid.uuid4().hex[:8]}-",
                        data_dir=base.data_dir)
    prepare_topics(settings)
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        report["probe_cpu"] = probe_cpu(args.calls)
        report["probe_cpu_pooled"] = probe_cpu(args.calls, pooled=True, rounds=9)
        report["throughput"] = throughput(settings, work, args.requests, args.rounds)
        report["kafka_down"] = kafka_down(settings, work, args.requests, args.rounds)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
