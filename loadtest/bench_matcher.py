"""Benchmark of the payload matcher against its peers (not a timed test).

    python -m loadtest.bench_matcher [--requests N] [--json]

One generated workload (seeded): each request has 2-30 source leaves of 6-60
bytes and 1-8 sinks of 100 B-16 KB (log-uniform sizes; JSON objects or raw
log lines); about 20% of requests carry a source value planted in a sink,
some through a transform. On the same requests, in one run, it times:

- ``matcher_rs.match_requests`` (the batch API, batches of ``--batch``);
- the pure-Python reference of the tests (on the first ``--reference-sample``
  requests only: it is slow on purpose);
- pyahocorasick and ahocorasick-rs, one automaton per request, inside the same
  Python pipeline (flatten, guards, transforms, leaf mapping), so that each
  gives the same classification output, which is checked.

``speedup_vs_best_peer`` compares matcher_rs with the faster of the two real
peers, both timed on the full request set; the reference only checks the
output (its sample is too small to be a fair rate). The batch call runs on
one thread, so ``sink_mb_per_s`` is per core. ``--dump FILE`` writes the
workload for the Rust-only harness (``matcher_rs/examples/workload.rs``).

Peers come from the ``bench`` extra: ``pip install -e '.[bench]'``.
"""

from __future__ import annotations

import argparse
import base64
import functools
import hashlib
import importlib.util
import json
import math
import random
import string
import struct
import sys
import time
import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson

import matcher_rs

Request = tuple[list[bytes], list[bytes]]
Outcome = tuple[list[tuple[Any, ...]], list[tuple[int, int]]]
REFERENCE_PATH = Path(__file__).resolve().parents[1] / "tests/unit/matcher_rs/matcher_reference.py"
PLANT_TRANSFORMS: list[str | None] = [
    None,
    None,
    None,
    "lowercase",
    "url",
    "base64",
    "sha256",
    "md5",
]


def load_reference() -> ModuleType:
    """The pure-Python reference matcher of the tests."""
    spec = importlib.util.spec_from_file_location("matcher_reference", REFERENCE_PATH)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {REFERENCE_PATH}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["matcher_reference"] = module
    spec.loader.exec_module(module)
    return module


# -- workload ------------------------------------------------------------------


def _word(rng: random.Random, lo: int, hi: int) -> str:
    alphabet = string.ascii_letters + string.digits + " -_.,@"
    return "".join(rng.choices(alphabet, k=rng.randint(lo, hi))).strip() or "x" * lo


def _transformed(value: str, name: str | None) -> str:
    raw = value.encode()
    if name is None:
        return value
    if name == "lowercase":
        return value.lower()
    if name == "url":
        return urllib.parse.quote(value, safe="")
    if name == "base64":
        return base64.b64encode(raw).decode()
    return hashlib.new(name, raw).hexdigest()


def generate(n: int, seed: int = 7, max_source_leaves: int = 30) -> list[Request]:
    """`n` requests with their planted values (see the module docstring)."""
    rng = random.Random(seed)
    filler = "".join(
        rng.choice(("the ", "user ", "event ", "ok ", "id=", "2025-01-22 ", "\n", "value "))
        + _word(rng, 3, 9)
        + " "
        for _ in range(40_000)
    )
    requests: list[Request] = []
    for _ in range(n):
        n_leaves = rng.randint(2, max_source_leaves)
        values = [_word(rng, 6, 60) for _ in range(n_leaves)]
        n_sources = rng.randint(1, min(3, n_leaves))
        sources: list[bytes] = []
        for s in range(n_sources):
            mine = values[s::n_sources]
            sources.append(orjson.dumps({f"field{i}": v for i, v in enumerate(mine)}))
        planted = rng.random() < 0.2
        sinks: list[bytes] = []
        for k in range(rng.randint(1, 8)):
            size = int(math.exp(rng.uniform(math.log(100), math.log(16 * 1024))))
            start = rng.randrange(len(filler) - size)
            text = filler[start : start + size]
            if planted and k == 0:
                value = _transformed(rng.choice(values), rng.choice(PLANT_TRANSFORMS))
                at = rng.randrange(len(text) + 1)
                text = text[:at] + value + text[at:] if rng.random() < 0.7 else value
            if rng.random() < 0.6:
                half = len(text) // 2
                sinks.append(orjson.dumps({"msg": text[:half], "ctx": {"detail": text[half:]}}))
            else:
                sinks.append(text.encode())
        requests.append((sources, sinks))
    return requests


# -- the peers' pipeline -------------------------------------------------------


def _needles(value: bytes, names: Sequence[str]) -> list[tuple[str | None, bytes]]:
    """The needles matcher_rs seeks for `value` (see matcher_rs/src/transforms.rs)."""
    out: list[tuple[str | None, bytes]] = [(None, value)]
    for name in names:
        if name == "lowercase":
            try:
                form = value.decode().lower().encode()
            except UnicodeDecodeError:
                form = value.lower()
        elif name == "url":
            form = urllib.parse.quote(value, safe="").encode()
        elif name == "base64":
            padded = base64.b64encode(value)
            form = padded if len(value) % 3 == 0 else padded.rstrip(b"=")[:-1]
        elif name.endswith("_base64"):
            digest = hashlib.new(name[: -len("_base64")], value).digest()
            form = base64.b64encode(digest).rstrip(b"=")
        else:
            form = hashlib.new(name, value).hexdigest().encode()
        if form != value:
            out.append((name, form))
    return out


def _is_numeric(needle: bytes) -> bool:
    return all(c in b"0123456789.eE+-" for c in needle)


def peer_match(
    ref: ModuleType,
    request: Request,
    build: Callable[[list[bytes]], Any],
    search: Callable[[Any, bytes], set[int]],
) -> Outcome:
    """One request through the Python pipeline with a given automaton."""
    sources, sinks = request
    names = matcher_rs.transform_names()
    stop = {w.encode().lower() for w in matcher_rs.default_stop_list()}
    leaves = [(si, path, value) for si, p in enumerate(sources) for path, value in ref.flatten(p)]
    ids: dict[bytes, int] = {}
    owners: list[list[int]] = []
    tests: list[dict[str | None, Any]] = []
    for leaf_id, (_, _, value) in enumerate(leaves):
        tests.append({})
        if not ref.is_evidence(value, 4, stop):
            continue
        tests[leaf_id] = dict(ref.transform_tests(value, names))
        for _, needle in _needles(value, names):
            if needle not in ids:
                ids[needle] = len(ids)
                owners.append([])
            owners[ids[needle]].append(leaf_id)
    found: set[tuple[Any, ...]] = set()
    matched: set[tuple[int, int]] = set()
    if ids:
        needles = list(ids)
        numeric = any(_is_numeric(n) for n in needles)
        automaton = build(needles)
        for ki, sink in enumerate(sinks):
            if not search(automaton, sink) and not numeric and b"\\" not in sink:
                continue
            for kpath, leaf in ref.flatten(sink):
                best: dict[int, tuple[int, int]] = {}
                for n in search(automaton, leaf):
                    for leaf_id in owners[n]:
                        for name, (contains, exact) in tests[leaf_id].items():
                            kind = 0 if exact(leaf) else 1 if contains(leaf) else None
                            if kind is not None:
                                rank = (kind, ref.TRANSFORM_ORDER.index(name))
                                best[leaf_id] = min(best.get(leaf_id, rank), rank)
                for leaf_id, (kind, t) in best.items():
                    si, spath, _ = leaves[leaf_id]
                    found.add((si, spath, ki, kpath, ref.KIND_ORDER[kind], ref.TRANSFORM_ORDER[t]))
                    matched.add((si, ki))
    matches = sorted(found, key=lambda m: (*m[:5], m[5] or ""))
    pairs = [(i, j) for i in range(len(sources)) for j in range(len(sinks))]
    nomatch = [p for p in pairs if p not in matched]
    return matches, nomatch


def _peer(
    ref: ModuleType,
    build: Callable[[list[bytes]], Any],
    search: Callable[[Any, bytes], set[int]],
    request: Request,
) -> Outcome:
    return peer_match(ref, request, build, search)


def _pyahocorasick() -> tuple[Callable[[list[bytes]], Any], Callable[[Any, bytes], set[int]]]:
    import ahocorasick  # the unicode build: bytes go through latin-1, one char per byte

    def build(needles: list[bytes]) -> Any:
        automaton = ahocorasick.Automaton()
        for i, n in enumerate(needles):
            automaton.add_word(n.decode("latin-1"), i)
        automaton.make_automaton()
        return automaton

    def search(automaton: Any, hay: bytes) -> set[int]:
        return {i for _, i in automaton.iter(hay.decode("latin-1"))}

    return build, search


def _ahocorasick_rs() -> tuple[Callable[[list[bytes]], Any], Callable[[Any, bytes], set[int]]]:
    import ahocorasick_rs

    def build(needles: list[bytes]) -> Any:
        return ahocorasick_rs.BytesAhoCorasick(needles, matchkind=ahocorasick_rs.MatchKind.Standard)

    def search(automaton: Any, hay: bytes) -> set[int]:
        return {i for i, _, _ in automaton.find_matches_as_indexes(hay, overlapping=True)}

    return build, search


# -- timing --------------------------------------------------------------------


def dump(requests: Sequence[Request], path: Path) -> None:
    """Write requests for matcher_rs/examples/workload.rs: per request, the
    sources then the sinks, each a u32 count of u32-length-prefixed payloads."""
    with path.open("wb") as f:
        for sources, sinks in requests:
            for group in (sources, sinks):
                f.write(struct.pack("<I", len(group)))
                for payload in group:
                    f.write(struct.pack("<I", len(payload)))
                    f.write(payload)


def _rates(name: str, seconds: float, requests: Sequence[Request]) -> dict[str, Any]:
    sink_bytes = sum(len(s) for _, sinks in requests for s in sinks)
    return {
        "name": name,
        "requests": len(requests),
        "seconds": round(seconds, 4),
        "requests_per_s": round(len(requests) / seconds, 1),
        "sink_mb_per_s": round(sink_bytes / seconds / 1e6, 1),
    }


def run_rust(requests: list[Request], batch: int) -> tuple[float, list[Outcome]]:
    out: list[Outcome] = []
    t0 = time.perf_counter()
    results = []
    for i in range(0, len(requests), batch):
        results.extend(matcher_rs.match_requests(requests[i : i + batch]))
    elapsed = time.perf_counter() - t0
    out = [(r.matches, r.nomatch) for r in results]
    return elapsed, out


def run_python(
    requests: list[Request], match: Callable[[Request], Outcome]
) -> tuple[float, list[Outcome]]:
    t0 = time.perf_counter()
    out = [match(r) for r in requests]
    return time.perf_counter() - t0, out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--reference-sample", type=int, default=300)
    parser.add_argument("--max-source-leaves", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--dump", type=Path, help="write the workload here and exit")
    args = parser.parse_args(argv)

    ref = load_reference()
    requests = generate(args.requests, args.seed, args.max_source_leaves)
    if args.dump:
        dump(requests, args.dump)
        return 0
    sink_bytes = sum(len(s) for _, sinks in requests for s in sinks)
    rust_s, rust_out = run_rust(requests, args.batch)
    rows = [_rates("matcher_rs", rust_s, requests)]
    mismatches: dict[str, int] = {}

    sample = requests[: args.reference_sample]

    def reference(request: Request) -> Outcome:
        result = ref.match_request(*request)
        return result.matches, result.nomatch

    ref_s, ref_out = run_python(sample, reference)
    rows.append(_rates("python_reference", ref_s, sample))
    mismatches["python_reference"] = sum(a != b for a, b in zip(ref_out, rust_out, strict=False))

    peers: dict[str, Any] = {"pyahocorasick": _pyahocorasick, "ahocorasick_rs": _ahocorasick_rs}
    for name, factory in peers.items():
        try:
            build, search = factory()
        except ImportError:
            print(f"{name} not installed; pip install -e '.[bench]'", file=sys.stderr)
            continue
        seconds, out = run_python(requests, functools.partial(_peer, ref, build, search))
        rows.append(_rates(name, seconds, requests))
        mismatches[name] = sum(a != b for a, b in zip(out, rust_out, strict=True))

    # The best real peer, timed on the same full request set (not the
    # reference, which is timed on a sample only).
    full = [r for r in rows[1:] if r["name"] in peers and r["requests"] == len(requests)]
    best_peer = max(full, key=lambda r: r["requests_per_s"]) if full else None
    report = {
        "requests": len(requests),
        "sink_bytes": sink_bytes,
        "planted_requests": sum(1 for m, _ in rust_out if m),
        "threads": 1,
        "requests_per_s": rows[0]["requests_per_s"],
        "sink_mb_per_s": rows[0]["sink_mb_per_s"],
        "best_peer": best_peer["name"] if best_peer else None,
        "speedup_vs_best_peer": (
            round(rows[0]["requests_per_s"] / best_peer["requests_per_s"], 1) if best_peer else None
        ),
        "mismatches": mismatches,
        "runs": rows,
    }
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{len(requests)} requests, {sink_bytes / 1e6:.1f} MB of sinks")
        for r in rows:
            ratio = rows[0]["requests_per_s"] / r["requests_per_s"]
            print(
                f"  {r['name']:<18} {r['requests_per_s']:>12,.0f} req/s "
                f"{r['sink_mb_per_s']:>9,.1f} MB/s   x{ratio:,.1f}  ({r['requests']} requests)"
            )
        print("sink MB/s are per core: the batch call runs on one thread")
        if best_peer:
            print(
                f"speedup vs best peer ({best_peer['name']}, same {len(requests)} requests): "
                f"x{report['speedup_vs_best_peer']}"
            )
        else:
            print("no peer installed: pip install -e '.[bench]'")
        print(f"output mismatches vs matcher_rs: {mismatches}")
    return 0 if not any(mismatches.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
