"""Cost of enforcement in the probes (`python -m loadtest.bench_enforcement`).

Measured against a baseline taken in the same run (the machine is shared:
read the ratios, not the absolute numbers):

1. per sink call, in process: a sqlite INSERT inside an unsampled request,
   timed per call, with the probes on and enforcement off (the baseline),
   then with enforcement on and the request untainted, tainted with a sink no
   policy denies, and tainted with a denied sink in `log` mode (a decision
   and its `enforcement-events` record each call: one request per call), and
   a precise (`match: value`) policy checking a 1 KB write that carries no
   value read (against enforcement off writing the same 1 KB); the modes
   interleaved over `--rounds` rounds (in a shuffled order each round), the
   p50 and p99 of every call. An A/A row, the baseline measured again as if
   it were another mode, gives the noise floor: `untainted_vs_noise` sets
   the untainted request's p50 delta against it, round by round;
2. with `--kafka`: mode change to effect, the time from producing a
   `policies` record that flips the mode to the probes' zone feed (its own
   thread, the real broker) using it, `--flips` times.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import lineage_probes
from lineage_probes import context
from lineage_probes.emitter import MemoryEmitter
from lineage_probes.enforcement.feed import KafkaZoneFeed, StaticZones
from lineage_probes.enforcement.index import ZoneState
from lineage_probes.enforcement.values import needles_of

POLICY = {"policy_id": "loc", "mode": "log", "deny": ["sqlite://memory/ads_log"]}
MODES = ("enforcement off", "untainted", "tainted, sink allowed", "tainted, sink denied (log)",
         "enforcement off, 1 KB written", "precise, 1 KB written, no value read in it",
         "enforcement off again (A/A)", "untainted, sink denied")
BASE, UNTAINTED, AA, UNTAINTED_DENIED = MODES[0], MODES[1], MODES[-2], MODES[-1]


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def _zones(precise: bool) -> StaticZones:
    state = ZoneState()
    policy = {**POLICY, "match": "value"} if precise else POLICY
    state.apply_policy(b"loc", json.dumps(policy).encode())
    state.apply_member(b"loc|sqlite://memory/users#city", b'{"state":"root"}')
    return StaticZones(state)


def _sink_calls(mode: str, calls: int) -> list[float]:
    """µs per INSERT into an in-memory database (so the probes' share shows), each in its
    own unsampled request."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.executescript("CREATE TABLE ads_log (segment TEXT); CREATE TABLE other_log "
                       "(segment TEXT);")
    precise = mode.startswith("precise")
    table = "ads_log" if "sink denied" in mode or precise else "other_log"
    tainted = mode.startswith("tainted") or precise
    segment = "s" * 1024 if "1 KB" in mode else "s"
    needles = needles_of(["Valparaiso-4711"])
    times: list[float] = []
    try:
        for n in range(calls):
            trace = context.Trace(f"{n:032x}", False)
            if tainted:
                trace.taint = {"loc": "sqlite://memory/users#city"}
            if precise:
                trace.values = {"loc": set(needles)}
            token = context.CURRENT.set(trace)
            try:
                started = time.perf_counter_ns()
                conn.execute(f"INSERT INTO {table} (segment) VALUES (?)", (segment,))
                times.append((time.perf_counter_ns() - started) / 1000)
            finally:
                context.CURRENT.reset(token)
    finally:
        conn.close()
    return times


def _round(mode: str, calls: int) -> list[float]:
    off = mode.startswith("enforcement off")
    lineage_probes.instrument(service="bench", sample_rate=0.0, emitter=MemoryEmitter(),
                              probes=["sqlite3"], enforce=not off,
                              zones=None if off else _zones(mode.startswith("precise")))
    try:
        _sink_calls(mode, 200)  # warm up (statement plans cached)
        return _sink_calls(mode, calls)
    finally:
        lineage_probes.uninstrument()


def _versus_noise(per_round: dict[str, list[float]]) -> dict[str, Any]:
    """The untainted p50 delta of each round against the A/A delta of the same round."""
    base = per_round[BASE]

    def added(mode: str) -> list[float]:
        return [round(m - b, 3) for m, b in zip(per_round[mode], base, strict=True)]

    aa = added(AA)
    floor = max(abs(d) for d in aa)
    out: dict[str, Any] = {"aa_p50_added_us_per_round": aa, "noise_floor_us": round(floor, 3)}
    for name, mode in (("untainted", UNTAINTED), ("untainted_sink_denied", UNTAINTED_DENIED)):
        deltas = added(mode)
        median = statistics.median(deltas)
        out[name] = {"p50_added_us_per_round": deltas, "p50_added_us_median": round(median, 3),
                     "rounds_above_zero": sum(d > 0 for d in deltas),
                     "measurable": median > floor}
    return out


def per_sink_call(calls: int, rounds: int, seed: int = 0) -> dict[str, Any]:
    samples: dict[str, list[float]] = {m: [] for m in MODES}
    per_round: dict[str, list[float]] = {m: [] for m in MODES}
    shuffle = random.Random(seed).shuffle
    for _ in range(rounds):
        order = list(MODES)
        shuffle(order)
        for mode in order:
            times = _round(mode, calls)
            samples[mode] += times
            per_round[mode].append(_p(times, 0.5))
    out: dict[str, Any] = {}
    for mode, v in samples.items():
        base = samples[MODES[4] if "1 KB" in mode else BASE]  # same payload size
        base50, base99 = _p(base, 0.5), _p(base, 0.99)
        out[mode] = {"p50_us": round(_p(v, 0.5), 2), "p99_us": round(_p(v, 0.99), 2),
                     "p50_added_us": round(_p(v, 0.5) - base50, 2),
                     "p99_added_us": round(_p(v, 0.99) - base99, 2),
                     "p50_ratio": round(_p(v, 0.5) / base50, 3) if base50 else None}
    out["untainted_vs_noise"] = _versus_noise(per_round)
    return out


def mode_change(bootstrap: str, flips: int) -> dict[str, Any]:
    """Seconds from a `policies` record flipping the mode to the feed using it."""
    from lineage_probes.config import ProbeConfig

    from loadtest.probes_services import prepare_topics
    from streams.kafka.producer import make_producer
    from streams.settings import Settings

    prefix = f"bench-enf-{uuid.uuid4().hex[:8]}-"
    settings = Settings(bootstrap_servers=bootstrap, topic_prefix=prefix)
    prepare_topics(settings)
    feed = KafkaZoneFeed(ProbeConfig(bootstrap_servers=bootstrap, service="bench",
                                     topic_prefix=settings.topic_prefix))
    feed.start()
    feed.ready.wait(30)
    took: list[float] = []

    async def produce(mode: str) -> None:
        producer = make_producer(settings)
        await producer.start()
        try:
            value = json.dumps({**POLICY, "mode": mode}).encode()
            await producer.send_and_wait(settings.topic("policies"), value=value, key=b"loc")
        finally:
            await producer.stop()

    def in_effect(mode: str) -> Callable[[], bool]:
        def check() -> bool:
            rule = feed.index.rules.get("loc")
            return rule is not None and rule.mode == mode
        return check

    try:
        for n in range(flips):
            mode = "enforce" if n % 2 == 0 else "log"
            started = time.monotonic()
            asyncio.run(produce(mode))
            check = in_effect(mode)
            while not check() and time.monotonic() - started < 30:
                time.sleep(0.01)
            took.append(time.monotonic() - started)
    finally:
        feed.close()
    return {"flips": flips, "p50_s": round(_p(took, 0.5), 3), "p99_s": round(_p(took, 0.99), 3),
            "max_s": round(max(took), 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.bench_enforcement",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=3000, help="sink calls per mode and round")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds, modes interleaved in a shuffled order each round")
    parser.add_argument("--seed", type=int, default=0, help="seed of the modes' order")
    parser.add_argument("--kafka", action="store_true",
                        help="also measure mode change to effect on the real broker")
    parser.add_argument("--bootstrap-servers", default="127.0.0.1:9092")
    parser.add_argument("--flips", type=int, default=20, help="mode changes measured")
    args = parser.parse_args(argv)
    out: dict[str, Any] = {"per_sink_call": per_sink_call(args.calls, args.rounds, args.seed)}
    if args.kafka:
        out["mode_change"] = mode_change(args.bootstrap_servers, args.flips)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
