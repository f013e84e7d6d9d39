"""A synthetic organisation that knows its own ground truth.

Services take requests (sources) and write to DB tables, logs, APIs and
caches (sinks). Each *route* plants true flows from request fields to sink
fields, some through a transform (lower-case, URL, base64, hashes), some
transformed away (only a count leaves: no flow); distractor sinks carry
look-alike values that differ from the real ones. Warehouse SQL jobs repeat
the same queries with occasional new ones; configs turn columns into
features and models; static analysis proposes flows, some of which never
happen. `truth` is the set of edges a perfect pipeline would hold at high
confidence.

The generator is deterministic for a seed, and it never reuses a value
across requests, so the only shared values are the planted ones.
"""

from __future__ import annotations

import base64
import hashlib
import random
import string
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

TRANSFORMS: dict[str, Any] = {
    "none": lambda v: v,
    "lowercase": lambda v: v.lower(),
    "url": lambda v: urllib.parse.quote(v, safe=""),
    "base64": lambda v: base64.b64encode(v.encode()).decode(),
    "sha256": lambda v: hashlib.sha256(v.encode()).hexdigest(),
    "md5": lambda v: hashlib.md5(v.encode()).hexdigest(),
}
FIELD_KINDS = ("email", "address", "name", "phone", "device", "token")
WAREHOUSE = "hive://warehouse/default"


@dataclass(frozen=True)
class Plant:
    """One source field written to one sink field, possibly transformed."""

    src_field: str
    sink: str
    sink_path: str
    transform: str  # a TRANSFORMS key, or "count" (transformed away: no flow)


@dataclass(frozen=True)
class Route:
    service: str
    source: str  # asset of the request input
    fields: tuple[str, ...]
    plants: tuple[Plant, ...]
    distractor_sinks: tuple[str, ...]


@dataclass
class Organisation:
    routes: list[Route]
    sql_queries: list[tuple[str, list[tuple[str, str]]]]  # (query, true column edges)
    configs: list[dict[str, Any]]
    config_edges: list[tuple[str, str]]
    static_never: list[tuple[str, str]]


# Random bytes mapped onto letters: one call per word instead of one per letter
# (the generator must keep up with the rates it drives; the slight bias of 256
# onto 26 letters does not matter here).
_LETTERS = bytes(string.ascii_lowercase[i % 26].encode()[0] for i in range(256))


def _word(rng: random.Random, n: int) -> str:
    return rng.randbytes(n).translate(_LETTERS).decode()


def build_organisation(rng: random.Random, services: int = 20) -> Organisation:
    routes: list[Route] = []
    for s in range(services):
        svc = f"svc{s:02d}-{_word(rng, 4)}"
        sinks = [f"mysql://{svc}-db/app.{_word(rng, 6)}", f"scribe://logs/{svc}_{_word(rng, 5)}",
                 f"http://{_word(rng, 6)}-service/api/{_word(rng, 5)}",
                 f"cache://{svc}-cache/{_word(rng, 5)}"]
        for r in range(3):
            source = f"web://{svc}/handle{_word(rng, 6).capitalize()}{r}"
            fields = tuple(rng.sample(FIELD_KINDS, rng.randint(2, 4)))
            plants = []
            for sink in rng.sample(sinks, rng.randint(1, 3)):
                for fld in rng.sample(fields, rng.randint(1, len(fields))):
                    transform = rng.choices(
                        [*TRANSFORMS, "count"], weights=[10, 2, 2, 2, 1, 1, 2])[0]
                    path = f"{fld}_{transform}" if transform != "none" else fld
                    plants.append(Plant(fld, sink, f"data.{path}", transform))
            distractors = tuple(rng.sample([s for s in sinks], 1))
            routes.append(Route(svc, source, fields, tuple(plants), distractors))
    tables = [f"t_{_word(rng, 6)}" for _ in range(12)]
    queries: list[tuple[str, list[tuple[str, str]]]] = []
    for i in range(40):
        src, dst = rng.sample(tables, 2)
        cols = rng.sample(["email", "address", "name", "phone", "device", "city"], 3)
        select = ", ".join(f"{c} AS {c}_{i % 3}" for c in cols)
        query = (f"INSERT INTO {dst} SELECT {select}, COUNT(*) AS n FROM {src} "
                 f"GROUP BY {', '.join(cols)}")
        edges = [(f"{WAREHOUSE}.{src}#{c}", f"{WAREHOUSE}.{dst}#{c}_{i % 3}") for c in cols]
        queries.append((query, edges))
    configs: list[dict[str, Any]] = []
    config_edges: list[tuple[str, str]] = []
    for _ in range(10):
        table = rng.choice(tables)
        feature = f"F_{_word(rng, 6).upper()}"
        model = f"model://registry/m_{_word(rng, 6)}"
        src = f"hive://warehouse/default.{table}#address"
        configs.append({"kind": "feature", "config_id": f"{feature}@v1",
                        "config": {"feature": feature, "sources": [src]}})
        configs.append({"kind": "training", "config_id": f"{model}@v1",
                        "config": {"model_name": model.rsplit("/", 1)[1],
                                   "features": [feature], "output_model": model}})
        config_edges += [(src, f"feature://store/{feature}"), (f"feature://store/{feature}", model)]
    static_never = [(f"{r.source}#{r.fields[0]}", f"http://ads-{i}.example/collect#x")
                    for i, r in enumerate(rng.sample(routes, 10))]
    return Organisation(routes, queries, configs, config_edges, static_never)


def _value(rng: random.Random, kind: str, serial: int) -> str:
    tag = f"{serial:x}{_word(rng, 5)}"
    if kind == "email":
        return f"{_word(rng, 6)}.{tag}@example.com"
    if kind == "address":
        return f"{rng.randint(1, 999)} {_word(rng, 7).capitalize()} St, Apt {tag}"
    if kind == "name":
        return f"{_word(rng, 6).capitalize()} {tag.capitalize()}"
    if kind == "phone":
        return f"+1-555-{rng.randint(1000000, 9999999)}-{tag}"
    return f"{kind}-{tag}{_word(rng, 8)}"


def _near_miss(rng: random.Random, value: str) -> str:
    """`value` with its last three characters replaced, never by the same three."""
    tail = _word(rng, 3)
    if tail == value[-3:]:
        tail = chr((ord(tail[0]) - ord("a") + 1) % 26 + ord("a")) + tail[1:]
    return value[:-3] + tail


@dataclass
class Workload:
    """Events in send order, with what a perfect pipeline would conclude."""

    org: Organisation
    rng: random.Random
    serial: int = 0
    plant_counts: Counter[tuple[str, str]] = field(default_factory=Counter)

    def request(self, ts: int) -> list[dict[str, Any]]:
        """The captures of one sampled request (a trace), in capture order."""
        rng, route = self.rng, self.rng.choice(self.org.routes)
        self.serial += 1
        trace = f"lt-{self.serial:x}"
        values = {f: _value(rng, f, self.serial) for f in route.fields}
        events = [{"v": 1, "type": "probe", "trace_id": trace, "ts": ts, "role": "source",
                   "service": route.service, "asset": route.source, "payload": values,
                   "sample_rate": 0.01}]
        by_sink: dict[str, dict[str, Any]] = {}
        for plant in route.plants:
            value = values[plant.src_field]
            body = by_sink.setdefault(plant.sink, {"data": {}, "request_ms": rng.randint(1, 900)})
            key = plant.sink_path.split(".", 1)[1]
            if plant.transform == "count":
                body["data"][key] = len(value)
            else:
                body["data"][key] = TRANSFORMS[plant.transform](value)
                self.plant_counts[(f"{route.source}#{plant.src_field}",
                                   f"{plant.sink}#{plant.sink_path}")] += 1
        for sink in route.distractor_sinks:
            look_alike = {f: _near_miss(rng, v) for f, v in values.items()}
            by_sink.setdefault(f"{sink}_audit", {"data": look_alike})
        for offset, (sink, body) in enumerate(by_sink.items(), start=1):
            events.append({"v": 1, "type": "probe", "trace_id": trace, "ts": ts + offset,
                           "role": "sink", "service": route.service, "asset": sink,
                           "payload": body, "sample_rate": 0.01})
        return events

    def background(self, ts: int) -> list[dict[str, Any]]:
        """SQL, configs and static candidates: the slower signals."""
        rng = self.rng
        out: list[dict[str, Any]] = []
        query, _ = rng.choice(self.org.sql_queries)
        out.append({"v": 1, "type": "sql", "job_id": f"job-{rng.randint(0, 10**9)}", "ts": ts,
                    "engine": "spark", "namespace": "hive://warehouse",
                    "default_schema": "default", "query": query})
        return out

    def preamble(self, ts: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for cfg in self.org.configs:
            out.append({"v": 1, "type": "config", "ts": ts, **cfg})
        for src, dst in self.org.static_never:
            out.append({"v": 1, "type": "static", "source": src, "sink": dst, "ts": ts})
        for query, _ in self.org.sql_queries:
            out.append({"v": 1, "type": "sql", "job_id": f"job-seed-{abs(hash(query))}",
                        "ts": ts, "engine": "spark", "namespace": "hive://warehouse",
                        "default_schema": "default", "query": query})
        return out

    def truth(self, min_samples: int = 1) -> set[tuple[str, str]]:
        """True edges: planted flows seen at least `min_samples` times, SQL and config edges."""
        edges = {pair for pair, n in self.plant_counts.items() if n >= min_samples}
        for _, column_edges in self.org.sql_queries:
            edges.update(column_edges)
        edges.update(self.org.config_edges)
        return edges

    def all_true(self) -> set[tuple[str, str]]:
        """Every edge that is true at all (for precision)."""
        return self.truth(min_samples=1)


def generate(seed: int = 7) -> Workload:
    rng = random.Random(seed)
    return Workload(build_organisation(rng), rng)


def stream(workload: Workload, start_ts: int, requests: int) -> Iterator[dict[str, Any]]:
    """Preamble, then `requests` requests with a background event every 50."""
    yield from workload.preamble(start_ts)
    for i in range(requests):
        ts = start_ts + i
        yield from workload.request(ts)
        if i % 50 == 0:
            yield from workload.background(ts)
