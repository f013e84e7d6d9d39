"""The probe join and edge merge in-process, per CPU second, optionally profiled.

    python -m loadtest.bench_handlers [--requests N] [--profile] [--json]

The handlers part of `bench_pipeline` without a broker: the same generated
workload (seed 7), real RocksDB state, no Kafka. It reports CPU time (so a
shared machine moves it less than wall time): `handlers_events_per_cpu_s`
over the whole run (building the messages included, as before issue 21 round
2), `loops_events_per_cpu_s` over the two handlers' loops alone. With
`--profile` it prints
where the time goes (pyinstrument, from the `bench` extra). For an A/B, run
it alternately with `PYTHONPATH` on each tree.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time

from loadtest.bench_pipeline import _handlers_offline
from loadtest.measure import print_figures
from loadtest.workload import generate, stream


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10000)
    parser.add_argument("--profile", action="store_true",
                        help="print a pyinstrument profile (needs the bench extra)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--gc-thresholds", default=None, metavar="A,B,C",
                        help="the cyclic GC's thresholds for the run (default: Python's; "
                             "the worker's are streams.pipeline.gc_policy.THRESHOLDS)")
    args = parser.parse_args()
    if args.gc_thresholds:
        gc.set_threshold(*(int(n) for n in args.gc_thresholds.split(",")))
    events = list(stream(generate(7), 1_700_000_000_000, args.requests))
    probes = [e for e in events if e["type"] == "probe"]
    profiler = None
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
    cpu_start = time.process_time()
    loops: list[float] = []
    wall_rate = asyncio.run(_handlers_offline(probes, loops))
    cpu = time.process_time() - cpu_start
    if profiler is not None:
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False))
    print_figures({"probe_events": len(probes), "handlers_events_per_s": round(wall_rate),
                   "handlers_events_per_cpu_s": round(len(probes) / cpu),
                   "loops_events_per_cpu_s": round(len(probes) / loops[0])},
                  as_json=args.json)


if __name__ == "__main__":
    main()
