"""`lineage openlineage emit`: the live graph to a Marquez-style endpoint (retrying) or a topic."""

from __future__ import annotations

import asyncio
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from analyzers.openlineage import SqlLineage, kind_of, reduce_event, run_signals
from streams.kafka.topic_reader import read_latest
from streams.settings import Settings
from tests.integration.kafka_helpers import read_topic
from tests.integration.openlineage_helpers import free_port
from tests.integration.worker import LINEAGE, cli_args, running_worker, send_file, wait_for_graph
from tests.openlineage_schemas import check_event

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "photo_location.jsonl"
MODEL_EDGE = "hive://warehouse/default.ads_audience_tbl -> model://registry/ad_targeting_model"
KEY = "marquez-key"


class FakeMarquez:
    """A real aiohttp server taking OpenLineage events; the first `failures` posts get 503."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.events: list[dict[str, Any]] = []
        self.refused = 0
        self.unauthorized = 0

    async def lineage(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {KEY}":
            self.unauthorized += 1
            return web.Response(status=401)
        if self.failures > 0:
            self.failures -= 1
            self.refused += 1
            return web.Response(status=503)
        self.events.append(orjson.loads(await request.read()))
        return web.Response(status=201)


@contextmanager
def serving(marquez: FakeMarquez) -> Iterator[int]:
    port = free_port()
    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_post("/api/v1/lineage", marquez.lineage)
    runner = web.AppRunner(app)
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield port
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def _emit(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LINEAGE, "openlineage", "emit", *args, "--exit-when-idle", "4",
                           *cli_args(settings)], capture_output=True, text=True, check=False,
                          timeout=180)


def _edges_of(events: list[dict[str, Any]]) -> set[str]:
    edges: set[str] = set()
    for event in events:
        if "job" in event:
            part = reduce_event(event, kind_of(event))
            edges |= {s.edge_id for s in run_signals(part, SqlLineage())}
    return edges


def test_emit_to_http_retries_resumes_and_tags_violations(settings: Settings) -> None:
    marquez = FakeMarquez(failures=3)
    with running_worker(settings), serving(marquez) as port:
        assert send_file(settings, EXAMPLE).returncode == 0
        graph = wait_for_graph(settings, lambda e: MODEL_EDGE in e)
        violations = asyncio.run(read_latest(settings, "policy-violations"))
        assert violations, "the example raises violations"

        done = _emit(settings, "--url", f"http://127.0.0.1:{port}", "--api-key", KEY)
        assert done.returncode == 0, done.stderr
        assert marquez.refused == 3 and marquez.unauthorized == 0  # retried, not dropped
        for event in marquez.events:
            check_event(event)
        representable = {e for e in graph
                         if not ("#" in e.split(" -> ")[1] and "#" not in e.split(" -> ")[0])}
        assert _edges_of(marquez.events) == representable
        tagged = {(e["dataset"]["namespace"], e["dataset"]["name"]) for e in marquez.events
                  if "dataset" in e and e["dataset"]["facets"]["tags"]["tags"]}
        sinks = {orjson.loads(v)["sink"].partition("#")[0] for v in violations.values() if v}
        assert len(tagged) == len(sinks) >= 1

        # restarted: it resumes from its offsets, sending only what changed since
        before = len(marquez.events)
        new = Path(settings.data_dir) / "more.jsonl"
        new.write_text('{"v":1,"type":"static","source":"web://a/b#x","sink":"http://c/d#y",'
                       '"ts":1737540000000}\n')
        assert send_file(settings, new).returncode == 0
        wait_for_graph(settings, lambda e: "web://a/b#x -> http://c/d#y" in e)
        again = _emit(settings, "--url", f"http://127.0.0.1:{port}", "--api-key", KEY)
        assert again.returncode == 0, again.stderr
        fresh = marquez.events[before:]
        assert [e["job"]["name"] for e in fresh] == ["http://c/d"]
        assert _edges_of(fresh) == {"web://a/b#x -> http://c/d#y"}


def test_emit_to_a_kafka_topic(settings: Settings) -> None:
    out_topic = settings.topic("ol-out")
    with running_worker(settings):
        assert send_file(settings, EXAMPLE).returncode == 0
        graph = wait_for_graph(settings, lambda e: MODEL_EDGE in e)
    done = _emit(settings, "--kafka-topic", out_topic, "--no-tags")
    assert done.returncode == 0, done.stderr
    records = asyncio.run(read_topic(settings.bootstrap_servers, out_topic))
    events = [orjson.loads(r.value) for r in records]
    assert all(r.key == f"job:lineage-stream/{e['job']['name']}".encode()
               for r, e in zip(records, events, strict=True))
    assert MODEL_EDGE in _edges_of(events) and _edges_of(events) <= set(graph)
