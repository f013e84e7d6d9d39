"""Policy monitor benchmark: delta-to-violation latency and the cost of an exclusion.

    python -m loadtest.bench_policy --json                  # 100k assets, the RocksDB store
    python -m loadtest.bench_policy --graph memory --json   # the in-memory graph

The graph: one protected root (`web://app/upload#location`) with two
branches of `--assets / 2` warehouse columns each (8 columns per table).
Each branch is a random DAG (every column has one parent among the 2,000
columns before it, 30% a second one; confidences 60% high, 30% medium, 10%
low), and every 100th column feeds a denied model (`model://ads/m*`). The
policy follows every edge (`min_confidence: low`), so the zone holds all of
it; the first branch hangs off one hub column, the cut the exclusion makes.

Measured with the monitor's own code (`PolicyZones` over `StoreGraphView`,
as in the worker, or over `MemoryGraph`), without Kafka:

- `p50_ms` / `p99_ms`: one upsert of a new edge from a random zone column
  to a new denied model, from the `on_edge_change` call to the returned
  `open` event (the store already holds the delta, as in the worker);
  `noop_p50_ms`: a re-sent existing edge (new version, same band);
- `exclusion_ms`: `on_review(exclude)` of the hub, which takes half the
  zone out (a rebuild of the policy's zone and the diff that resolves the
  violations behind it); `exclusion_events`: the resolved events;
- `rebuild_ms`: `rebuild_all` on start (what a new leader pays);
- `zone_size`: assets in the zone before the exclusion.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from analyzers.policy import Edge, GraphView, MemoryGraph, Policy, PolicyZones
from loadtest.measure import print_figures
from state.graph import GraphStore
from streams.policy.inputs import StoreGraphView
from vocab import edge_id

ROOT = "web://app/upload#location"
CONFIDENCE = ["high"] * 6 + ["medium"] * 3 + ["low"]
POLICY = Policy.create("no-ads", ["PRECISE_LOCATION"], ["model://ads/*"], "low")


def column(i: int) -> str:
    return f"hive://warehouse/db.t{i // 8}#c{i % 8}"


def generate(n_assets: int, seed: int = 7) -> Iterator[tuple[str, str, str]]:
    """Edges `(src, dst, confidence)`; see the module docstring for the shape."""
    rng = random.Random(seed)
    half = n_assets // 2
    for lo, hi in ((0, half), (half, n_assets)):
        yield ROOT, column(lo), "high"
        for j in range(lo + 1, hi):
            parents = {rng.randrange(max(lo, j - 2000), j)}
            if rng.random() < 0.3:
                parents.add(rng.randrange(max(lo, j - 2000), j))
            for p in sorted(parents):
                yield column(p), column(j), rng.choice(CONFIDENCE)
            if j % 100 == 0:
                yield column(j), f"model://ads/m{j}", "high"


def _delta(src: str, dst: str, confidence: str, version: int) -> dict[str, Any]:
    return {"v": 1, "op": "upsert", "edge_id": edge_id(src, dst), "src": src, "dst": dst,
            "confidence": confidence, "kinds": ["IDENTITY"], "score": 0.9,
            "first_seen": 1, "last_seen": 2, "version": version}


class Graph:
    """The benchmark's graph under test: the RocksDB store or the in-memory one."""

    def __init__(self, kind: str, directory: Path) -> None:
        self.kind = kind
        self.store = GraphStore.open(directory / "graph") if kind == "store" else None
        self.memory = MemoryGraph()
        self.view: GraphView = StoreGraphView(self.store) if self.store else self.memory

    def load(self, edges: Iterator[tuple[str, str, str]], batch: int = 5000) -> int:
        count = 0
        pending: list[tuple[int, int, bytes | None, bytes | None]] = []
        for src, dst, confidence in edges:
            count += 1
            if self.store is None:
                self.memory.upsert(Edge(src, dst, confidence))
                continue
            delta = _delta(src, dst, confidence, 1)
            pending.append((0, count, delta["edge_id"].encode(), orjson.dumps(delta)))
            if len(pending) >= batch:
                self.store.apply(pending)
                pending.clear()
        if self.store is not None and pending:
            self.store.apply(pending)
        return count

    def upsert(self, src: str, dst: str, confidence: str, version: int) -> tuple[Any, Any]:
        """Apply one upsert; the (before, after) pair the monitor is given."""
        if self.store is None:
            edge = Edge(src, dst, confidence, version=version)
            return self.memory.upsert(edge), edge
        change = self.store.apply_delta(_delta(src, dst, confidence, version))
        assert change is not None
        return change.before, change.after

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


def _ms(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 3)


def run(n_assets: int, n_deltas: int, kind: str, seed: int = 7) -> dict[str, Any]:
    directory = Path(tempfile.mkdtemp(prefix="bench-policy-"))
    graph = Graph(kind, directory)
    try:
        started = time.perf_counter()
        n_edges = graph.load(generate(n_assets, seed))
        load_s = time.perf_counter() - started

        zones = PolicyZones(graph.view, clock=lambda: 0)
        zones.load(labels={ROOT: ["PRECISE_LOCATION"]}, policies=[POLICY])
        started = time.perf_counter()
        opened = zones.rebuild_all(ts=0)
        rebuild_s = time.perf_counter() - started
        zone = zones.zone(POLICY.policy_id)
        assert zone is not None
        zone_size = len(zone)

        rng = random.Random(seed + 1)
        latencies: list[float] = []
        for k in range(n_deltas):
            src = column(rng.randrange(n_assets))
            before, after = graph.upsert(src, f"model://ads/new{k}", rng.choice(CONFIDENCE), 1)
            t0 = time.perf_counter()
            events = zones.on_edge_change(before, after, ts=k)
            latencies.append(time.perf_counter() - t0)
            assert len(events) == 1 and events[0]["status"] == "open"
        noop: list[float] = []
        for k in range(min(n_deltas, 1000)):
            before, after = graph.upsert(ROOT, column(0), "high", k + 2)
            t0 = time.perf_counter()
            assert zones.on_edge_change(before, after, ts=k) == []
            noop.append(time.perf_counter() - t0)

        hub = column(0)
        started = time.perf_counter()
        resolved = zones.on_review(POLICY.policy_id, hub, "exclude", ts=1)
        exclusion_s = time.perf_counter() - started
        zone = zones.zone(POLICY.policy_id)
        assert zone is not None and hub not in zone
        assert resolved and all(e["status"] == "resolved" for e in resolved)
        return {
            "graph": kind, "assets": n_assets, "edges": n_edges, "load_s": round(load_s, 2),
            "zone_size": zone_size, "open_violations": len(opened),
            "rebuild_ms": round(rebuild_s * 1000, 1),
            "deltas": n_deltas, "p50_ms": _ms(latencies, 0.5), "p99_ms": _ms(latencies, 0.99),
            "mean_ms": round(statistics.fmean(latencies) * 1000, 3),
            "noop_p50_ms": _ms(noop, 0.5),
            "exclusion_ms": round(exclusion_s * 1000, 1), "exclusion_events": len(resolved),
            "zone_size_after_exclusion": len(zone),
        }
    finally:
        graph.close()
        shutil.rmtree(directory, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--assets", type=int, default=100_000, help="columns in the zone")
    parser.add_argument("--deltas", type=int, default=2000, help="timed upserts")
    parser.add_argument("--graph", choices=["store", "memory"], default="store")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    report = run(args.assets, args.deltas, args.graph, args.seed)
    print_figures(report, as_json=args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
