"""Probe cost per request in machine instructions (valgrind), the figure load cannot move.

On a machine shared with other jobs, CPU time per request swings by more
than the few microseconds the probes add. The number of instructions a
request executes does not: each mode of `bench_probes`' in-process request
runs in its own Python under `valgrind --tool=cachegrind --cache-sim=no`,
once with no requests and once with `--calls` requests after the same warm
up; the difference over `--calls` is the instructions per request. A probe's
cost in microseconds is then estimated as its extra instructions times the
unprobed request's CPU time per instruction, both measured in this run.

`python -m loadtest.probe_instructions [--calls 2000]` (valgrind required).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time
from typing import Any

HOOKS = ("asgi", "sqlite3", "logging")
_IREFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def run_requests(mode: str, calls: int, pooled: bool) -> None:
    """The measured child: `mode` is off, or a sample rate and the hooks
    (`0.0:asgi,sqlite3`), with `:enforce` for enforcement on (`bench_probes.unrelated_zones`),
    `:precise` for the same zones under a precise (`match: value`) policy, `:nozones`
    for enforcement on with zones read and empty, `:route` / `:route-precise` with the
    route's input in a (precise) policy's zone (`bench_probes.route_zones`)."""
    import lineage_probes
    from lineage_probes.emitter import MemoryEmitter
    from lineage_probes.enforcement.feed import StaticZones
    from lineage_probes.enforcement.index import ZoneState

    from loadtest.bench_probes import _asgi_app, _call, route_zones, unrelated_zones

    if mode != "off":
        rate, hooks, *enforce = mode.split(":")
        zones = {"enforce": unrelated_zones, "precise": lambda: unrelated_zones("value"),
                 "nozones": lambda: StaticZones(ZoneState()),
                 "route": lambda: route_zones("request"),
                 "route-precise": lambda: route_zones("value")}
        lineage_probes.instrument(service="bench", sample_rate=float(rate),
                                  emitter=MemoryEmitter(), probes=hooks.split(","),
                                  zones=zones[enforce[0]]() if enforce else None)
    app, close = _asgi_app(pooled)
    asyncio.run(_call(app, 300))  # warm up: imports, statement plans, caches
    if calls:
        asyncio.run(_call(app, calls))
    close()


def _instructions(mode: str, calls: int, pooled: bool) -> int:
    cmd = ["valgrind", "--tool=cachegrind", "--cache-sim=no",
           "--cachegrind-out-file=/dev/null", sys.executable, "-m",
           "loadtest.probe_instructions", "--child", mode, str(calls), str(int(pooled))]
    env = {**os.environ, "PYTHONHASHSEED": "0"}  # same dict layouts run to run: counts within ~20
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    found = _IREFS.search(out.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count in valgrind's output for {mode}")
    return int(found.group(1).replace(",", ""))


def per_request(mode: str, calls: int, pooled: bool) -> float:
    return (_instructions(mode, calls, pooled) - _instructions(mode, 0, pooled)) / calls


def _off_cpu_us(calls: int, pooled: bool, rounds: int = 5) -> float:
    """CPU µs per unprobed request, best of `rounds` (the ns-per-instruction scale)."""
    from loadtest.bench_probes import _asgi_app, _call

    best = float("inf")
    for _ in range(rounds):
        app, close = _asgi_app(pooled)
        asyncio.run(_call(app, 300))
        best = min(best, asyncio.run(_call(app, calls)))
        close()
    return best


def measure(calls: int, progress: bool = True) -> dict[str, Any]:
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is needed (Debian package `valgrind`)")
    modes = {"off": "off", "unsampled": "0.0:" + ",".join(HOOKS),
             "unsampled_enforcement_on": "0.0:" + ",".join(HOOKS) + ":enforce",
             "unsampled_enforcement_no_zones": "0.0:" + ",".join(HOOKS) + ":nozones",
             "unsampled_enforcement_precise": "0.0:" + ",".join(HOOKS) + ":precise",
             "unsampled_route_in_zone": "0.0:" + ",".join(HOOKS) + ":route",
             "unsampled_route_in_precise_zone": "0.0:" + ",".join(HOOKS) + ":route-precise",
             "unsampled_at_0.01": "0.01:" + ",".join(HOOKS),
             **{f"unsampled_{hook}_only": f"0.0:{hook}" for hook in HOOKS}}
    report: dict[str, Any] = {}
    for pooled in (True, False):
        counts: dict[str, float] = {}
        for name, mode in modes.items():
            if progress:
                print(f"{'pooled' if pooled else 'new connection'}: {name} ...",
                      file=sys.stderr, flush=True)
            counts[name] = per_request(mode, calls, pooled)
        off_us = _off_cpu_us(calls, pooled)
        ns_per_instruction = off_us * 1000 / counts["off"]
        report["pooled" if pooled else "new_connection"] = {
            "instructions_per_request": {k: round(v) for k, v in counts.items()},
            "added_instructions": {k: round(v - counts["off"]) for k, v in counts.items()
                                   if k != "off"},
            "off_cpu_us_per_request": round(off_us, 1),
            "estimated_probe_us": {k: round((v - counts["off"]) * ns_per_instruction / 1000, 2)
                                   for k, v in counts.items() if k != "off"}}
    return report


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--child"]:
        run_requests(args[1], int(args[2]), args[3] == "1")
        return 0
    parser = argparse.ArgumentParser(prog="python -m loadtest.probe_instructions",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="requests per measured run")
    parsed = parser.parse_args(args)
    started = time.monotonic()
    report = measure(parsed.calls)
    report["seconds"] = round(time.monotonic() - started, 1)
    report["python"] = sys.version.split()[0]
    report["load_average"] = os.getloadavg()
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
