"""Graph store benchmark: load N edges, then time downstream traversals and paths.

    python -m loadtest.bench_graph --edges 100000 --json

The generated graph looks like a warehouse seen through lineage: data
domains of 40 tables (4-16 fields each) in 8 layers (ingest -> staging ->
marts -> features/models). Half of a table's fields feed others, each with a
Pareto fan-out (mean about 2, tail to 30) into tables of the next layers of
its domain; 5% of edges cross into another domain, and 5% are table-level
(`sql_io` halves, configs), so traversals exercise the table semantics. Deltas go through
`GraphStore.apply` in batches, as the materializer applies them (without
Kafka). Reports load time, bytes on disk per edge, the latency of 5-hop
downstream traversals from random fields (p50/p99, after a warm-up: a live
replica's caches are warm) and of path queries between a field and an asset
it reaches (p99). `--cache-edges N` turns on the replica's optional adjacency
cache (off by default: RocksDB reads only); its hit rate counts warm-up and
timed queries.
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

from loadtest.measure import percentile, print_figures
from state.graph import GraphStore, find_path, traverse
from state.graph.store import DEFAULT_CACHE_EDGES
from state.graph.traverse import Limits, TraversalTooLarge
from vocab import edge_id

KINDS = ["EXACT_MATCH", "CONTAINS", "IDENTITY", "TRANSFORMATION", "AGGREGATION", "JOIN",
         "CONFIG", "NO_MATCH", "STATIC"]
CONFIDENCE = ["high"] * 6 + ["medium"] * 3 + ["low"]
DOMAIN_LAYERS = 8  # ingest -> ... -> models, per data domain
LAYER_TABLES = 5
DOMAIN_TABLES = DOMAIN_LAYERS * LAYER_TABLES


def generate(n_edges: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    """`n_edges` distinct upsert deltas; see the module docstring for the shape."""
    rng = random.Random(seed)
    n_tables = max(DOMAIN_TABLES, n_edges // 10)
    n_domains = max(1, n_tables // DOMAIN_TABLES)
    n_tables = n_domains * DOMAIN_TABLES
    fields = [rng.randint(4, 16) for _ in range(n_tables)]

    def table(i: int) -> str:
        return f"hive://warehouse/d{i // DOMAIN_TABLES}.t{i}"

    def downstream_table(i: int) -> int:
        domain, layer = divmod(i, DOMAIN_TABLES)
        layer //= LAYER_TABLES
        if rng.random() < 0.05 or layer == DOMAIN_LAYERS - 1:
            domain = rng.randrange(n_domains)  # a feed into (or out of) another domain
            layer = rng.randrange(DOMAIN_LAYERS)
        else:
            layer = min(layer + rng.choice((1, 1, 1, 2)), DOMAIN_LAYERS - 1)
        return domain * DOMAIN_TABLES + layer * LAYER_TABLES + rng.randrange(LAYER_TABLES)

    seen: set[tuple[str, str]] = set()
    while len(seen) < n_edges:
        i = rng.randrange(n_tables)
        # Half of a table's fields feed anything; a feeding field has a Pareto
        # fan-out (mean about 2, a long tail up to 30).
        field = rng.randrange(max(1, fields[i] // 2))
        fan_out = min(int(rng.paretovariate(1.6)), 30)
        for _ in range(fan_out):
            k = downstream_table(i)
            if rng.random() < 0.05:
                src, dst = table(i), table(k)
            else:
                src = f"{table(i)}#c{field}"
                dst = f"{table(k)}#c{rng.randrange(fields[k])}"
            if (src, dst) in seen or k == i:
                continue
            seen.add((src, dst))
            yield {"v": 1, "op": "upsert", "edge_id": edge_id(src, dst), "src": src, "dst": dst,
                   "confidence": rng.choice(CONFIDENCE), "score": round(rng.random(), 2),
                   "kinds": [rng.choice(KINDS)],
                   "evidence": {"runtime_exact": rng.randrange(50), "runtime_contains": 0,
                                "runtime_nomatch": 0, "sql": rng.randrange(3), "config": 0,
                                "static": 0},
                   "first_seen": 1737540600000, "last_seen": 1737540655000, "version": 1}
            if len(seen) >= n_edges:
                return


def _dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def run(n_edges: int, *, queries: int = 1000, warmup: int = 200, batch: int = 5000,
        seed: int = 7, cache_edges: int = DEFAULT_CACHE_EDGES) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-graph-"))
    try:
        graph = GraphStore.open(workdir / "graph", cache_edges=cache_edges)
        sources: list[str] = []
        started = time.perf_counter()
        pending: list[tuple[int, int, bytes | None, bytes | None]] = []
        for offset, delta in enumerate(generate(n_edges, seed)):
            if len(sources) < 50_000 and "#" in delta["src"]:
                sources.append(delta["src"])
            pending.append((offset % 4, offset // 4, delta["edge_id"].encode(),
                            orjson.dumps(delta)))
            if len(pending) >= batch:
                graph.apply(pending)
                pending = []
        graph.apply(pending)
        load_s = time.perf_counter() - started
        graph.close()
        size = _dir_bytes(workdir / "graph")
        graph = GraphStore.open(workdir / "graph", cache_edges=cache_edges)

        rng = random.Random(seed + 1)
        for _ in range(warmup):  # a live replica is warm: fill the block cache first
            traverse(graph, rng.choice(sources), "downstream", max_hops=5)
        down_ms: list[float] = []
        reached: list[int] = []
        pairs: list[tuple[str, str]] = []
        too_large = 0
        for _ in range(queries):
            root = rng.choice(sources)
            t0 = time.perf_counter()
            try:
                result = traverse(graph, root, "downstream", max_hops=5, limits=Limits())
            except TraversalTooLarge:
                too_large += 1
                continue
            down_ms.append((time.perf_counter() - t0) * 1000)
            reached.append(len(result.nodes))
            if result.nodes:
                pairs.append((root, rng.choice(result.nodes)))
        path_ms: list[float] = []
        for src, dst in pairs:
            t0 = time.perf_counter()
            found = find_path(graph, src, dst, max_hops=5)
            path_ms.append((time.perf_counter() - t0) * 1000)
            assert found is not None, (src, dst)
        cache = graph.cache
        lookups = (cache.hits + cache.misses) if cache is not None else 0
        graph.close()
        return {
            "edges": n_edges,
            "load_s": round(load_s, 2),
            "bytes_per_edge": round(size / n_edges, 1),
            "downstream_p50_ms": round(percentile(down_ms, 50), 2),
            "downstream_p99_ms": round(percentile(down_ms, 99), 2),
            "downstream_mean_nodes": round(statistics.fmean(reached), 1) if reached else 0,
            "downstream_p99_nodes": percentile(reached, 99),
            "downstream_too_large": too_large,
            "path_p50_ms": round(percentile(path_ms, 50), 2),
            "path_p99_ms": round(percentile(path_ms, 99), 2),
            "cache_edges": cache_edges,
            "cache_hit_rate": round(cache.hits / lookups, 3) if cache and lookups else 0.0,
            "queries": queries,
            "warmup_queries": warmup,
        }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edges", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--cache-edges", type=int, default=DEFAULT_CACHE_EDGES,
                        help="bound of the replica's adjacency cache (0, the default: none)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    report = run(args.edges, queries=args.queries, warmup=args.warmup,
                 cache_edges=args.cache_edges)
    print_figures(report, as_json=args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
