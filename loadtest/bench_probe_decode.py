"""The probe join's decode alone: `matcher_rs.ProbeBatch` over the workload's values.

    python -m loadtest.bench_probe_decode [--requests N] [--repeat R]
        [--against TREE [--pairs P]] [--json]

The generated workload's probe events (loadtest.workload, seed 7), encoded
as the load driver sends them, decoded in batches of 5,000 as the batch
consumer hands them over; the best of `--repeat` passes, in CPU time.
Reports nanoseconds per value and values per CPU second.

With `--against TREE` (another checkout whose `matcher_rs` is built in
place) it runs itself `--pairs` times with each tree's `matcher_rs` in turn,
in fresh processes (this tree's workload and benchmark both times), this
tree second in the first pair and first in the next, and reports both
trees' medians and `vs_against`, the median of the per-pair ratios of
values per CPU s.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import orjson

from loadtest.measure import PairedRatios, alternate_trees, print_figures, run_json_benchmark
from loadtest.workload import generate, stream

BATCH = 5000


def measure(requests: int, repeat: int, matcher_tree: Path | None = None) -> dict[str, float]:
    """`matcher_rs` (this tree's, or `matcher_tree`'s) on the workload's values."""
    if matcher_tree is not None:
        sys.path.insert(0, str(matcher_tree))
    import matcher_rs

    if matcher_tree is not None and Path(matcher_rs.__file__).parent != matcher_tree / "matcher_rs":
        raise RuntimeError(f"matcher_rs came from {matcher_rs.__file__}, not {matcher_tree}")

    events = stream(generate(7), 1_700_000_000_000, requests)
    values = [orjson.dumps(e) for e in events if e["type"] == "probe"]
    batches = [values[i:i + BATCH] for i in range(0, len(values), BATCH)]
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        for batch in batches:
            matcher_rs.ProbeBatch(batch)
        best = min(best, time.process_time() - started)
    return {"values": len(values), "ns_per_value": round(best / len(values) * 1e9),
            "values_per_cpu_s": round(len(values) / best)}


def _run_on(tree: Path, requests: int, repeat: int) -> dict[str, float]:
    """One measurement in a fresh process, with `tree`'s `matcher_rs`."""
    here = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": f"{here}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return run_json_benchmark(tree, "loadtest.bench_probe_decode",
                              ["--requests", str(requests), "--repeat", str(repeat),
                               "--matcher-tree", str(tree)], env, here)


def compare(against: Path, requests: int, repeat: int, pairs: int) -> dict[str, float]:
    here = Path(__file__).resolve().parent.parent
    this, base = alternate_trees(here, against, pairs,
                                 lambda tree: _run_on(tree, requests, repeat))
    paired = PairedRatios.of([f["values_per_cpu_s"] for f in this],
                             [f["values_per_cpu_s"] for f in base])
    return {"pairs": pairs, "this_values_per_cpu_s": paired.this,
            "against_values_per_cpu_s": paired.against, "vs_against": paired.ratio,
            "vs_against_min": paired.least, "vs_against_max": paired.most}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000,
                        help="requests of the generated workload (about 4 probe events each)")
    parser.add_argument("--repeat", type=int, default=15, help="passes; the best counts")
    parser.add_argument("--against", type=Path, default=None, metavar="TREE",
                        help="another checkout (its matcher_rs built) to compare with")
    parser.add_argument("--pairs", type=int, default=5, help="runs per tree with --against")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--matcher-tree", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.against is not None:
        if not (args.against / "matcher_rs").is_dir():
            parser.error(f"{args.against}: no matcher_rs/ there")
        try:
            figures = compare(args.against.resolve(), args.requests, args.repeat, args.pairs)
        except RuntimeError as exc:  # a tree's run failed: its message, not a traceback
            parser.exit(1, f"bench_probe_decode: {exc}\n")
    else:
        figures = measure(args.requests, args.repeat, args.matcher_tree)
    print_figures(figures, as_json=args.json)


if __name__ == "__main__":
    main()
