"""The console's live stream against the real broker: violations and enforcement decisions.

A console (in this process, over an empty graph) follows the test's own
`policy-violations` and `enforcement-events`; two pages stream with the
decisions; what the probes produce after the pages loaded reaches both,
filtered by policy, with one consumer per feed for the whole process and
never a value.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from state.graph import GraphStore
from streams.console import Console, register_console
from streams.console import feed as feed_module
from streams.kafka.clients import new_producer
from streams.kafka.topics import ensure_topics
from streams.pipeline.topology import load_topology
from streams.settings import Settings

API = "/api/v1/console"
POLICY = "location-not-for-ads"
SINK = "http://ads-service/ad_targeting"
OTHER_SINK = "http://ads-service/audience"
MODEL = "model://registry/ad_targeting_model"
SECRET = "Home, 123 Main St"  # in an unknown field of a decision: it must go nowhere


def _decision(sink: str, decision: str, ts: int, policy: str = POLICY,
              **extra: Any) -> dict[str, Any]:
    return {"v": 1, "type": "enforcement", "policy_id": policy, "mode": "enforce",
            "decision": decision, "sink": sink, "sink_kind": "http",
            "source": "sqlite://app.db/users#location", "service": "photos-web",
            "trace_id": f"t-{ts}", "code_location": "photos/upload.py:88", "ts": ts, **extra}


def _violation(status: str, ts: int) -> dict[str, Any]:
    return {"v": 1, "type": "violation", "policy_id": POLICY, "status": status,
            "label": "PRECISE_LOCATION", "source": "web://photos-web/up#location",
            "sink": MODEL, "path": ["web://photos-web/up#location", MODEL],
            "confidence": "high", "detected_at": ts, "ts": ts}


async def _send(settings: Settings, records: list[tuple[str, dict[str, Any]]]) -> None:
    producer = new_producer(settings)
    await producer.start()
    try:
        for topic, event in records:
            await producer.send_and_wait(
                settings.topic(topic), orjson.dumps(event),
                key=f"{event['policy_id']}|{event['sink']}".encode())
    finally:
        await producer.stop()


class Page:
    """One streaming page: its events as they arrive, and every byte it was sent."""

    def __init__(self, response: Any) -> None:
        self.response = response
        self.raw = b""

    async def next(self, timeout_s: float = 30.0) -> tuple[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            block = await asyncio.wait_for(self.response.content.readuntil(b"\n\n"),
                                           max(0.1, deadline - time.monotonic()))
            self.raw += block
            if not block.startswith(b":"):  # not a keep-alive
                head, data = block.split(b"\ndata: ", 1)
                return head.removeprefix(b"event: ").decode(), orjson.loads(data)

    async def until(self, done: Any, timeout_s: float = 60.0) -> list[tuple[str, Any]]:
        """Events until `done(events)` holds."""
        seen: list[tuple[str, Any]] = []
        deadline = time.monotonic() + timeout_s
        while not done(seen):
            seen.append(await self.next(max(0.1, deadline - time.monotonic())))
        return seen


def _row(events: list[tuple[str, Any]], decision: str, sink: str) -> dict[str, Any] | None:
    rows = [d for name, d in events if name == "enforcement"
            and (d["decision"], d["sink"]) == (decision, sink)]
    return rows[-1] if rows else None


async def test_decisions_produced_after_the_pages_loaded_reach_them_live(
        settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    consumers: list[Any] = []
    real = feed_module.new_consumer

    def counted(*args: Any, **kwargs: Any) -> Any:
        consumers.append(real(*args, **kwargs))
        return consumers[-1]

    monkeypatch.setattr(feed_module, "new_consumer", counted)
    await ensure_topics(settings, load_topology())
    await _send(settings, [("enforcement-events", _decision(SINK, "blocked", 1000)),
                           ("enforcement-events", _decision(SINK, "blocked", 1001)),
                           ("policy-violations", _violation("open", 900))])
    graph = GraphStore.open(tmp_path / "graph")
    app = web.Application()
    register_console(app, Console(settings, lambda: graph))
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        pages = [Page(await client.get(f"{API}/violations/stream",
                                       params={"policy": POLICY, "enforcement": "1"}))
                 for _ in range(2)]
        plain = Page(await client.get(f"{API}/violations/stream", params={"policy": POLICY}))
        for page in pages:
            name, snapshot = await page.next()
            assert name == "snapshot" and [v["status"] for v in snapshot] == ["open"]
            name, rows = await page.next()
            assert name == "enforcement_snapshot"
            assert [(r["sink"], r["decision"], r["count"]) for r in rows] == [
                (SINK, "blocked", 2)]
        assert (await plain.next())[0] == "snapshot"

        # The probes decide more, after the pages loaded; the pipeline resolves the violation.
        await _send(settings, [
            ("enforcement-events", _decision(SINK, "blocked", 2000,
                                             payload={"location": SECRET})),
            ("enforcement-events", _decision(OTHER_SINK, "logged", 2001, mode="log")),
            ("enforcement-events", _decision(SINK, "blocked", 2002, policy="another-policy")),
            ("policy-violations", _violation("resolved", 2003))])

        def complete(events: list[tuple[str, Any]]) -> bool:
            row = _row(events, "blocked", SINK)
            return (row is not None and row["count"] == 3
                    and _row(events, "logged", OTHER_SINK) is not None
                    and any(name == "violation" for name, _ in events))

        for page in pages:
            events = await page.until(complete)
            assert {name for name, _ in events} == {"enforcement", "violation"}
            assert all(d["policy_id"] == POLICY for _, d in events)  # the page's policy only
            blocked = _row(events, "blocked", SINK)
            assert blocked is not None and (blocked["last_ts"], blocked["last_trace_id"]) == (
                2000, "t-2000")
            logged = _row(events, "logged", OTHER_SINK)
            assert logged is not None and (logged["count"], logged["mode"]) == (1, "log")
            assert [v["status"] for name, v in events if name == "violation"] == ["resolved"]
            assert SECRET.encode() not in page.raw
        # The stream without `enforcement` is the violations' stream as it always was.
        assert await plain.next() == ("violation", _violation("resolved", 2003))

        rows = (await (await client.get(f"{API}/enforcement")).json())["decisions"]
        assert {(r["policy_id"], r["sink"], r["decision"], r["count"]) for r in rows} == {
            (POLICY, SINK, "blocked", 3), (POLICY, OTHER_SINK, "logged", 1),
            ("another-policy", SINK, "blocked", 1)}
        assert SECRET not in orjson.dumps(rows).decode()
        # Three pages and two reads, one consumer per feed.
        assert len(consumers) == 2
        for page in [*pages, plain]:
            page.response.close()
    finally:
        await client.close()
        graph.close()
