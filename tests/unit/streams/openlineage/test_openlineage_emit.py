"""The emitter without Kafka: which events a batch of changes calls for, and the HTTP retry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web
from aiohttp.test_utils import TestServer

from streams.openlineage.emit import Emitter
from streams.openlineage.targets import HttpTarget
from streams.settings import Settings
from tests.openlineage_schemas import check_event

SETTINGS = Settings(topic_prefix="t-")
A, B, C = "hive://w/default.a", "hive://w/default.b", "hive://w/default.c"


@dataclass
class Record:
    topic: str
    key: bytes | None
    value: bytes | None


def upsert(src: str, dst: str, version: int = 1) -> Record:
    delta = {"v": 1, "op": "upsert", "edge_id": f"{src} -> {dst}", "src": src, "dst": dst,
             "confidence": "high", "score": 0.7, "kinds": ["IDENTITY"],
             "evidence": {"sql": 1}, "first_seen": 1, "last_seen": 2, "version": version}
    return Record("t-lineage-graph", f"{src} -> {dst}".encode(), orjson.dumps(delta))


def delete(src: str, dst: str, version: int) -> Record:
    delta = {"v": 1, "op": "delete", "edge_id": f"{src} -> {dst}", "src": src, "dst": dst,
             "version": version}
    return Record("t-lineage-graph", f"{src} -> {dst}".encode(), orjson.dumps(delta))


def violation(sink: str, status: str = "open") -> Record:
    body = {"v": 1, "type": "violation", "policy_id": "p1", "status": status, "sink": sink}
    return Record("t-policy-violations", f"p1|{sink}".encode(), orjson.dumps(body))


def emitter() -> Emitter:
    return Emitter(SETTINGS, HttpTarget("http://unused"), group_id="g")


def jobs(events: list[dict[str, Any]]) -> dict[str, list[str]]:
    return {e["job"]["name"]: sorted(f"{i['namespace']}/{i['name']}" for i in e["inputs"])
            for e in events if "job" in e}


def test_a_change_sends_the_whole_inflow_of_its_destination() -> None:
    em = emitter()
    first = em.events_for([upsert(f"{A}#x", f"{C}#x"), upsert(f"{B}#y", f"{C}#y")])
    assert jobs(first) == {C: [A, B]}
    again = em.events_for([upsert(f"{A}#x", f"{C}#x", version=2)])
    assert jobs(again) == {C: [A, B]}  # B's edge rides along: a consumer replaces job inputs
    for event in first + again:
        check_event(event)


def test_a_delete_empties_the_jobs_that_lost_every_edge() -> None:
    em = emitter()
    em.events_for([upsert(A, C), upsert(f"{B}#y", f"{C}#y")])
    events = em.events_for([delete(A, C, version=2)])
    assert jobs(events) == {C: [B], f"{C} (dataset)": [], f"{C} (tables)": []}
    for event in events:
        check_event(event)


def test_violations_become_tags_on_the_sink_dataset() -> None:
    em = emitter()
    [opened] = em.events_for([violation(f"{C}#x")])
    check_event(opened)
    assert opened["dataset"]["name"] == "default.c"
    assert opened["dataset"]["facets"]["tags"]["tags"] == [
        {"key": "privacy_violation", "value": "p1", "source": "lineage-stream", "field": "x"}]
    [resolved] = em.events_for([violation(f"{C}#x", status="resolved")])
    assert resolved["dataset"]["facets"]["tags"]["tags"] == []


async def test_http_target_retries_until_the_endpoint_takes_the_event() -> None:
    answers = [503, 429, 201]
    got: list[dict[str, Any]] = []

    async def lineage(request: web.Request) -> web.Response:
        status = answers.pop(0)
        if status == 201:
            got.append(await request.json())
        return web.Response(status=status)

    app = web.Application()
    app.router.add_post("/api/v1/lineage", lineage)
    async with TestServer(app) as server:
        target = HttpTarget(str(server.make_url("/")), api_key="k", first_backoff_s=0.01)
        await target.start()
        try:
            await target.send([{"job": {"name": "j"}}])
        finally:
            await target.stop()
    assert got == [{"job": {"name": "j"}}]
    assert (target.retries, target.sent, target.rejected) == (2, 1, 0)
