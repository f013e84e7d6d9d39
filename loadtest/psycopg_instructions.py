"""The psycopg probe's cost per request in machine instructions (valgrind).

A request here is an unsampled trace running an INSERT and a SELECT (its row
fetched) over one psycopg connection to a throwaway PostgreSQL cluster
(`loadtest.pgcluster`, Debian's postgresql). Each mode runs in its own Python
under `valgrind --tool=cachegrind --cache-sim=no`, once with no requests and
once with `--calls` after the same warm-up; the difference over `--calls` is
the client's instructions per request, which the machine's load does not
move (the server's work and the waits are not counted). Modes: `off` (the
probes on, enforcement off) and `enforce` (enforcement on, zones holding a
table this request never touches).

`python -m loadtest.psycopg_instructions [--calls 1000] [--probes DIR ...]`:
each `--probes` directory (a `lineage_probes` tree's parent, e.g. an older
commit's `probes/` from `git archive`) is measured beside this checkout's.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from typing import Any

_IREFS = re.compile(r"I\s+refs:\s+([\d,]+)")
WARM_UP = 300


def run_requests(conninfo: str, mode: str, calls: int) -> None:
    """The measured child."""
    import lineage_probes
    import psycopg
    from lineage_probes import context
    from lineage_probes.emitter import MemoryEmitter
    from lineage_probes.enforcement.feed import StaticZones
    from lineage_probes.enforcement.index import ZoneState

    zones = None
    if mode == "enforce":
        state = ZoneState()
        state.apply_policy(b"loc", json.dumps({"policy_id": "loc", "mode": "enforce",
                                               "deny": ["http://ads/**"]}).encode())
        state.apply_member(b"loc|postgres://elsewhere:5432/x.public.orders#total",
                           b'{"state":"root"}')
        zones = StaticZones(state)
    lineage_probes.instrument(service="bench", sample_rate=0.0, emitter=MemoryEmitter(),
                              probes=["psycopg"], zones=zones)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        def request() -> None:
            token = context.begin(None, 0.0)
            try:
                conn.execute("INSERT INTO ads_log (segment) VALUES (%s)", ("s",))
                conn.execute("SELECT name FROM users WHERE id = %s", (1,)).fetchone()
            finally:
                context.end(token)

        for _ in range(WARM_UP + calls):
            request()


def _instructions(conninfo: str, mode: str, calls: int, probes: str | None) -> int:
    env = dict(os.environ, PYTHONHASHSEED="0")
    if probes is not None:
        env["PYTHONPATH"] = os.pathsep.join([probes, env.get("PYTHONPATH", "")])
    done = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
         sys.executable, "-m", "loadtest.psycopg_instructions", "--child", conninfo, mode,
         str(calls)], env=env, capture_output=True, text=True, check=False)
    found = _IREFS.search(done.stderr)
    if done.returncode != 0 or found is None:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        raise SystemExit(f"the {mode} run failed ({done.returncode}): {tail[0]}")
    return int(found.group(1).replace(",", ""))


def measure(calls: int, trees: list[str | None]) -> dict[str, Any]:
    import psycopg

    from loadtest.pgcluster import throwaway_cluster

    out: dict[str, Any] = {"calls": calls, "instructions_per_request": {}}
    with throwaway_cluster("bench") as pg:
        with psycopg.connect(pg.conninfo, autocommit=True) as conn:
            conn.execute("CREATE TABLE ads_log (segment text)")
            conn.execute("CREATE TABLE users (id int PRIMARY KEY, name text)")
            conn.execute("INSERT INTO users VALUES (1, 'Ada')")
        for mode in ("off", "enforce"):
            for tree in trees:
                per = (_instructions(pg.conninfo, mode, calls, tree)
                       - _instructions(pg.conninfo, mode, 0, tree)) / calls
                name = f"{tree or 'this checkout'}: {mode}"
                out["instructions_per_request"][name] = round(per)
                print(f"{name}: {per:,.0f}", file=sys.stderr, flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.psycopg_instructions",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000, help="requests per measured run")
    parser.add_argument("--probes", action="append", default=[],
                        help="another lineage_probes tree's parent directory to measure too")
    parser.add_argument("--child", nargs=3, metavar=("CONNINFO", "MODE", "CALLS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        run_requests(args.child[0], args.child[1], int(args.child[2]))
        return 0
    if args.calls < 1:
        parser.error("--calls must be at least 1")
    print(json.dumps(measure(args.calls, [*args.probes, None]), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
