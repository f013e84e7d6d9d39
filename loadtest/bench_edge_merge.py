"""The edge merge alone: its Rust decode and fold against the Python reference, in one run.

    python -m loadtest.bench_edge_merge [--requests N] [--rounds R] [--json]

The flow signals the probe join makes of the generated workload (seed 7, one
partition, real RocksDB, no Kafka) are merged by `EdgeMerge` (native: the
batch decoded, validated and folded in Rust, `matcher_rs.SignalBatch`) and by
`EdgeMerge(native=False)` (each message decoded and checked in Python, then
folded), alternated R times on fresh stores, the best CPU time of each
kept. It reports signals per CPU second of each and their ratio, and how many
signals a batch folds per observation (a live batch at 50,000 events/s folds
about 11; this offline one fewer, so the ratio here understates the live one).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import orjson

from analyzers.signal_batch import decode_signal_batch
from analyzers.signals import parse_signal
from loadtest.bench_pipeline import _Collect, _Message
from loadtest.measure import print_figures
from loadtest.workload import generate, stream
from streams.pipeline.agents.edge_merge import EdgeMerge
from streams.pipeline.agents.probe_join import ProbeJoin
from streams.pipeline.batch import input_validator, process_messages
from streams.pipeline.metrics import Metrics
from streams.pipeline.stores import StoreRegistry
from streams.pipeline.topology import Topology, load_topology


async def _signals(topology: Topology, requests: int) -> list[_Message]:
    """The flow-signals records the probe join makes of the workload, as messages."""
    events = stream(generate(7), 1_700_000_000_000, requests)
    probes = [e for e in events if e["type"] == "probe"]
    messages = [_Message("probe-events", 0, i, str(e["trace_id"]).encode(), orjson.dumps(e))
                for i, e in enumerate(probes)]
    size, metrics, signals = topology.agents["probe-join"].batch_size, Metrics(), _Collect()
    with tempfile.TemporaryDirectory(prefix="bench-edge-merge-") as scratch:
        stores = StoreRegistry(Path(scratch))
        for i in range(0, len(messages), size):
            await process_messages(messages[i:i + size], agent="probe-join",
                                   validate=input_validator("probe-events"), stores=stores,
                                   handler=ProbeJoin(topology, metrics), sink=signals,
                                   metrics=metrics)
        stores.close()
    return [_Message("flow-signals", 0, i, o.key, o.value or b"")
            for i, o in enumerate(signals.outputs) if o.topic == "flow-signals"]


async def _merge_cpu_s(topology: Topology, signals: list[_Message], native: bool) -> float:
    """CPU seconds of the edge merge's loop over `signals` on fresh stores."""
    size, metrics = topology.agents["edge-merge"].batch_size, Metrics()
    handler = EdgeMerge(topology, metrics, native=native)
    with tempfile.TemporaryDirectory(prefix="bench-edge-merge-") as scratch:
        stores = StoreRegistry(Path(scratch))
        stores.get("edge-merge", "flow-signals", 0)  # opened outside the measured loop
        start = time.process_time()
        for i in range(0, len(signals), size):
            await process_messages(signals[i:i + size], agent="edge-merge",
                                   validate=parse_signal, stores=stores, handler=handler,
                                   sink=_Collect(), metrics=metrics)
        cpu = time.process_time() - start
        stores.close()
    return cpu


async def measure(requests: int, rounds: int) -> dict[str, float]:
    topology = load_topology()
    signals = await _signals(topology, requests)
    size = topology.agents["edge-merge"].batch_size
    observations = sum(len(decode_signal_batch([m.value for m in signals[i:i + size]]).groups())
                       for i in range(0, len(signals), size))
    best = {True: float("inf"), False: float("inf")}
    for _ in range(rounds):
        for native in (False, True):
            best[native] = min(best[native], await _merge_cpu_s(topology, signals, native))
    return {"signals": len(signals),
            "signals_per_observation_and_batch": round(len(signals) / max(observations, 1), 2),
            "python_signals_per_cpu_s": round(len(signals) / best[False]),
            "native_signals_per_cpu_s": round(len(signals) / best[True]),
            "native_vs_python": round(best[False] / best[True], 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    print_figures(asyncio.run(measure(args.requests, args.rounds)), as_json=args.json)


if __name__ == "__main__":
    main()
