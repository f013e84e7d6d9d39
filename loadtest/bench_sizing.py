"""State sizes for capacity planning, and what a crash costs the probe join.

    python -m loadtest.bench_sizing [--requests N] [--json]

Runs the probe join and the edge merge offline (real RocksDB stores, no
Kafka) on the generated workload (about 4 probe events per request, one
request per event-time millisecond, so every trace window is still open at
the end), closes the stores (RocksDB flushes and compacts its log) and
reports:

Each store's fixed files (``fixed_bytes_per_store``) are subtracted first.

- ``bytes_per_open_trace``: the probe join's store on disk over the windows
  open in it (sealed captures, window metadata, expiry index);
- ``bytes_per_edge_aggregate`` and ``bytes_per_replica_edge``: the edge
  merge's store and a graph replica (``GraphStore``) over their edges;
- ``windows_lost_on_restart``: then a restart (new in-memory capture keys)
  and one more capture for every trace: how many windows lost their earlier
  captures, against ``open_windows_at_restart``: a crash costs exactly the
  windows open at that moment.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

import orjson

from analyzers.signals import parse_signal
from loadtest.bench_pipeline import _Collect, _Message
from loadtest.measure import print_figures
from loadtest.workload import generate, stream
from state.graph import GraphStore
from state.windows import open_windows
from streams.pipeline.agents.edge_merge import EdgeMerge
from streams.pipeline.agents.probe_join import ProbeJoin
from streams.pipeline.batch import input_validator, process_messages
from streams.pipeline.metrics import Metrics
from streams.pipeline.stores import StoreRegistry
from streams.pipeline.topology import load_topology

PARTITIONS = 4


def _bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _empty_store_bytes(root: Path) -> int:
    """A store's fixed files (options, manifest, log of one key), subtracted per store."""
    store = StoreRegistry(root).get("empty", "t", 0)
    store.write({b"k": b"v"}, 0)
    store.close()
    return _bytes(root)


def _messages(events: list[dict[str, Any]], first_offset: int) -> list[_Message]:
    return [_Message("probe-events", zlib.crc32(str(e["trace_id"]).encode()) % PARTITIONS,
                     first_offset + i, str(e["trace_id"]).encode(), orjson.dumps(e))
            for i, e in enumerate(events)]


async def _run(handler: Any, agent: str, validate: Any, messages: list[_Message],
               stores: StoreRegistry, metrics: Metrics, size: int) -> _Collect:
    out = _Collect()
    for i in range(0, len(messages), size):
        await process_messages(messages[i:i + size], agent=agent, validate=validate,
                               stores=stores, handler=handler, sink=out, metrics=metrics)
    return out


async def measure(requests: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-sizing-") as scratch:
        return await _measure_in(Path(scratch), requests)


async def _measure_in(root: Path, requests: int) -> dict[str, float]:
    topology, metrics = load_topology(), Metrics()
    size = topology.agents["probe-join"].batch_size
    probes = [e for e in stream(generate(7), int(time.time() * 1000), requests)
              if e["type"] == "probe"]
    stores = StoreRegistry(root / "state")
    signals = await _run(ProbeJoin(topology, metrics), "probe-join",
                         input_validator("probe-events"), _messages(probes, 0), stores,
                         metrics, size)
    signal_messages = [_Message("flow-signals", i % PARTITIONS, i, o.key, o.value or b"")
                       for i, o in enumerate(signals.outputs)]
    deltas = await _run(EdgeMerge(topology, metrics), "edge-merge", parse_signal,
                        signal_messages, stores, metrics, size)
    open_traces = sum(open_windows(store, "trace") for (agent, _, _), store in stores.items()
                      if agent == "probe-join")
    edge_states = len({o.key for o in deltas.outputs if o.topic == "lineage-graph"})
    stores.close()
    fixed = _empty_store_bytes(root / "empty")
    probe_bytes = _bytes(root / "state" / "probe-join") - PARTITIONS * fixed
    merge_bytes = _bytes(root / "state" / "edge-merge") - PARTITIONS * fixed

    graph = GraphStore.open(root / "graph")
    graph.apply([(0, i, o.key, o.value) for i, o in enumerate(deltas.outputs)
                 if o.topic == "lineage-graph"])
    replica_edges = graph.edge_count()
    graph.close()

    # A restart: the same stores, new in-memory keys; one more capture per trace.
    restarted, after = StoreRegistry(root / "state"), Metrics()
    traces = {str(e["trace_id"]): e for e in probes}
    more = [{**e, "ts": int(e["ts"]) + 1, "role": "sink"} for e in traces.values()]
    await _run(ProbeJoin(topology, after), "probe-join", input_validator("probe-events"),
               _messages(more, len(probes)), restarted, after, size)
    restarted.close()
    replica_bytes = _bytes(root / "graph") - fixed
    return {
        "probe_events": len(probes),
        "open_traces": open_traces,
        "bytes_per_open_trace": round(probe_bytes / max(open_traces, 1)),
        "edges": edge_states,
        "bytes_per_edge_aggregate": round(merge_bytes / max(edge_states, 1)),
        "bytes_per_replica_edge": round(replica_bytes / max(replica_edges, 1)),
        "fixed_bytes_per_store": fixed,
        "open_windows_at_restart": open_traces,
        "windows_lost_on_restart": after.counters["probe-join.lost_windows"],
        "captures_lost_on_restart": after.counters["probe-join.lost_captures"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    print_figures(asyncio.run(measure(args.requests)), as_json=args.json)


if __name__ == "__main__":
    main()
