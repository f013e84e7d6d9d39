"""Builders of lineage-graph deltas and topic records for the graph store tests."""

from __future__ import annotations

from typing import Any

import orjson


def delta(src: str, dst: str, version: int, *, op: str = "upsert", confidence: str = "high",
          kinds: tuple[str, ...] = ("EXACT_MATCH",), score: float = 0.9) -> dict[str, Any]:
    d: dict[str, Any] = {"v": 1, "op": op, "edge_id": f"{src} -> {dst}", "src": src, "dst": dst,
                         "version": version}
    if op == "upsert":
        d |= {"confidence": confidence, "kinds": list(kinds), "score": score,
              "evidence": {"runtime_exact": version}, "first_seen": 1, "last_seen": 2}
    return d


def record(partition: int, offset: int, d: dict[str, Any] | None,
           key: str | None = None) -> tuple[int, int, bytes | None, bytes | None]:
    k = key if key is not None else (d or {}).get("edge_id", "")
    return partition, offset, k.encode(), None if d is None else orjson.dumps(d)
