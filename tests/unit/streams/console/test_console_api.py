"""The console's JSON API over a real GraphStore: every endpoint, the token, CSRF."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from console_fixtures import (
    ADS,
    AGG,
    AGG_TABLE,
    DB,
    LOG,
    MODEL,
    POLICY,
    RANKER,
    RAW,
    STATIC_SINK,
    WEB,
    FixedPolicyState,
    build_graph,
    policy_state,
)

from state.graph import GraphStore
from streams.console import Console, register_console
from streams.graph.api import make_api
from streams.settings import Settings

API = "/api/v1/console"
TOKEN = "s3cret-token"


@pytest.fixture()
def graph(tmp_path: Path) -> Iterator[GraphStore]:
    store = build_graph(tmp_path / "graph")
    yield store
    store.close()


def _console(graph: GraphStore, tmp_path: Path, *, token: str | None = None,
             writable: bool = True, reviews: dict[str, str] | None = None) -> Console:
    settings = Settings(bootstrap_servers="127.0.0.1:1", topic_prefix="unit-",
                        data_dir=tmp_path / "data")
    console = Console(settings, lambda: graph, token=token, writable=writable)
    console.policy_state = FixedPolicyState(policy_state(reviews))  # type: ignore[assignment]
    return console


async def _start(console: Console) -> TestClient:
    app = web.Application()
    register_console(app, console)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


@pytest.fixture()
async def client(graph: GraphStore, tmp_path: Path) -> AsyncIterator[TestClient]:
    client = await _start(_console(graph, tmp_path))
    yield client
    await client.close()


async def _json(client: TestClient, path: str, params: Any = None, status: int = 200,
                headers: dict[str, str] | None = None) -> Any:
    response = await client.get(f"{API}/{path}", params=params, headers=headers)
    assert response.status == status, await response.text()
    return await response.json()


async def _csrf(client: TestClient, headers: dict[str, str] | None = None) -> str:
    return str((await _json(client, "session", headers=headers))["csrf"])


# -- the page ---------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/ui/", "/ui/asset?uri=x", "/ui/violations",
                                  "/ui/zones/location-not-for-ads"])
async def test_every_view_serves_the_page(client: TestClient, path: str) -> None:
    response = await client.get(path)
    assert response.status == 200
    text = await response.text()
    assert '<script src="/ui/static/console.js"></script>' in text
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


async def test_static_files_and_nothing_else(client: TestClient) -> None:
    assert (await client.get("/ui/static/console.js")).status == 200
    assert (await client.get("/ui/static/console.css")).status == 200
    assert (await client.get("/ui/static/..%2fsecurity.py")).status == 404
    assert (await client.get("/ui/static/nope.js")).status == 404


# -- search -------------------------------------------------------------------------

async def test_search_by_substring_with_counts(client: TestClient) -> None:
    body = await _json(client, "search", {"q": "LOCATION_analytics"})
    assert body["total"] == 2 and not body["partial"]
    assert [a["uri"] for a in body["assets"]] == [AGG_TABLE, AGG]
    assert body["assets"][0] == {"uri": AGG_TABLE, "downstream": 1, "upstream": 0}


async def test_search_by_glob_and_limit(client: TestClient) -> None:
    body = await _json(client, "search", {"q": "hive://warehouse/**"})
    assert body["total"] == 5  # three tables (a field's table is an asset too), two fields
    body = await _json(client, "search", {"q": "hive://warehouse/*", "limit": "1"})
    assert body["total"] == 3 and body["assets"] == [
        {"uri": ADS, "downstream": 1, "upstream": 1}]  # fields are past `*` (it stops at #)
    assert (await _json(client, "search", {"q": ""}))["total"] == 0
    await _json(client, "search", {"q": "x", "limit": "0"}, status=400)


# -- neighbourhood, edge, path ------------------------------------------------------

async def test_neighbourhood_both_directions_with_hops(client: TestClient) -> None:
    body = await _json(client, "neighbourhood", {"uri": LOG, "hops": "1"})
    sides = {n["id"]: (n["side"], n["hops"]) for n in body["nodes"]}
    assert sides == {LOG: ("root", 0), RAW: ("downstream", 1), WEB: ("upstream", 1)}
    by_id = {n["id"]: n for n in body["nodes"]}
    assert by_id[RAW]["hidden"] == 1  # AGG, one hop past the bound
    assert by_id[WEB]["hidden"] == 0  # nothing feeds WEB
    assert {e["id"] for e in body["edges"]} == {f"{WEB} -> {LOG}", f"{LOG} -> {RAW}"}
    assert by_id[LOG]["namespace"] == "scribe://logs"


async def test_neighbourhood_filters_and_table_semantics(client: TestClient) -> None:
    body = await _json(client, "neighbourhood", {"uri": AGG, "hops": "3",
                                                 "direction": "downstream"})
    assert {n["id"] for n in body["nodes"]} == {AGG, ADS, MODEL, RANKER}  # via the table edge
    drawn = {e["id"]: e for e in body["edges"]}
    assert drawn[f"{AGG} -> {ADS}"]["edges"] == [f"{AGG_TABLE} -> {ADS}"]  # held, drawn from AGG
    body = await _json(client, "neighbourhood", {"uri": AGG, "hops": "3",
                                                 "direction": "downstream",
                                                 "min_confidence": "high"})
    assert {n["id"] for n in body["nodes"]} == {AGG}
    body = await _json(client, "neighbourhood", {"uri": WEB, "hops": "1", "kind": "STATIC"})
    assert {n["id"] for n in body["nodes"]} == {WEB, STATIC_SINK}
    body = await _json(client, "neighbourhood", [("uri", WEB), ("hops", "2"),
                                                 ("namespace", "scribe://logs")])
    assert {n["id"] for n in body["nodes"]} == {WEB, LOG}


async def test_neighbourhood_is_bounded_with_counts(client: TestClient) -> None:
    body = await _json(client, "neighbourhood", {"uri": WEB, "hops": "1", "limit": "2"})
    assert len(body["nodes"]) == 2 and body["truncated"]
    root = next(n for n in body["nodes"] if n["id"] == WEB)
    assert root["hidden"] == 2 and body["hidden"] >= 2
    for bad in ({"uri": WEB, "limit": "501"}, {"uri": WEB, "hops": "11"},
                {"uri": WEB, "min_confidence": "huge"}, {"uri": WEB, "direction": "sideways"},
                {"hops": "1"}):
        await _json(client, "neighbourhood", bad, status=400)


async def test_neighbourhood_collapses_fields_into_tables(client: TestClient) -> None:
    body = await _json(client, "neighbourhood", {"uri": RAW, "hops": "2", "collapse": "1",
                                                 "direction": "downstream"})
    ids = {n["id"] for n in body["nodes"]}
    assert ids == {"hive://warehouse/default.photo_metadata_log", AGG_TABLE, ADS}
    table = next(n for n in body["nodes"] if n["id"] == AGG_TABLE)
    assert table["fields"] == 1
    merged = {e["id"]: e for e in body["edges"]}
    assert f"{AGG_TABLE} -> {ADS}" in merged
    assert merged[f"hive://warehouse/default.photo_metadata_log -> {AGG_TABLE}"]["edges"] == [
        f"{RAW} -> {AGG}"]


async def test_edge_details_and_missing_edge(client: TestClient) -> None:
    body = await _json(client, "edge", {"id": f"{WEB} -> {DB}"})
    assert body["kinds"] == ["EXACT_MATCH"] and body["evidence"] == {"runtime_exact": 1}
    assert body["first_seen"] == 1 and body["last_seen"] == 2
    await _json(client, "edge", {"id": "a -> b"}, status=404)


async def test_path_between_two_assets(client: TestClient) -> None:
    body = await _json(client, "path", {"src": WEB, "dst": RANKER})
    assert body["found"] and body["nodes"][0] == WEB and body["nodes"][-1] == RANKER
    assert body["confidence"] == "medium"
    body = await _json(client, "path", {"src": WEB, "dst": RANKER, "min_confidence": "high"})
    assert not body["found"]


# -- zones --------------------------------------------------------------------------

async def test_policies_and_zone_states(client: TestClient) -> None:
    body = await _json(client, "policies")
    assert [p["policy_id"] for p in body["policies"]] == [POLICY]
    zone = await _json(client, "zone", {"policy": POLICY})
    states = {n["id"]: n["state"] for n in zone["nodes"]}
    assert states[WEB] == "root" and states[MODEL] == "denied" and states[RANKER] == "denied"
    assert states[RAW] == "reached" and STATIC_SINK not in states  # low: below medium
    assert zone["counts"] == {"root": 1, "denied": 2, "reached": 5, "included": 0,
                              "excluded": 0}
    assert zone["size"] == 8 and zone["hidden"] == 0
    parents = {(e["src"], e["dst"]) for e in zone["edges"]}
    assert (ADS, MODEL) in parents
    filtered = await _json(client, "zone", {"policy": POLICY, "q": "ads"})
    assert {r["id"] for r in filtered["rows"]} == {ADS, RANKER}
    await _json(client, "zone", {"policy": "nope"}, status=400)


async def test_zone_draws_a_bounded_part_paths_to_violations_first(client: TestClient) -> None:
    zone = await _json(client, "zone", {"policy": POLICY, "limit": "6"})
    drawn = [n["id"] for n in zone["nodes"]]
    assert drawn[0] == WEB and MODEL in drawn and len(drawn) == 6 and zone["hidden"] == 2


async def test_zone_shows_excluded_assets_and_the_cut(graph: GraphStore, tmp_path: Path) -> None:
    client = await _start(_console(graph, tmp_path, reviews={AGG: "exclude"}))
    try:
        zone = await _json(client, "zone", {"policy": POLICY})
    finally:
        await client.close()
    states = {n["id"]: n["state"] for n in zone["nodes"]}
    assert states[AGG] == "excluded" and MODEL not in states
    assert {"src": RAW, "dst": AGG, "kind": "excluded"} in zone["edges"]
    assert zone["counts"]["excluded"] == 1 and zone["counts"]["denied"] == 0
    row = next(r for r in zone["rows"] if r["id"] == AGG)
    assert row["review"]["reviewer"] == "alice"


async def test_cascade_preview_before_confirming(client: TestClient) -> None:
    csrf = await _csrf(client)
    response = await client.post(f"{API}/zone/preview", json={
        "policy": POLICY, "decision": "exclude", "assets": [AGG]},
        headers={"X-Lineage-CSRF": csrf})
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["removed"] == 3 and set(body["removed_sample"]) == {ADS, MODEL, RANKER}
    assert body["resolved"] == [MODEL, RANKER] and body["opened"] == []
    assert body["message"].startswith("excluding this 1 removes 3 downstream assets")
    assert body["zone_before"] == 8 and body["zone_after"] == 4


async def test_export_csv_and_json(graph: GraphStore, tmp_path: Path) -> None:
    client = await _start(_console(graph, tmp_path, reviews={STATIC_SINK: "exclude"}))
    try:
        response = await client.get(f"{API}/zone/export", params={
            "policy": POLICY, "what": "to_fix", "format": "csv"})
        assert response.status == 200 and response.content_type == "text/csv"
        rows = list(csv.DictReader(io.StringIO(await response.text())))
        assert [r["sink"] for r in rows] == [MODEL, RANKER]
        assert rows[0]["path"].startswith(WEB + " -> ")
        response = await client.get(f"{API}/zone/export", params={
            "policy": POLICY, "what": "decisions", "format": "csv"})
        decisions = list(csv.DictReader(io.StringIO(await response.text())))
        assert decisions[0]["asset"] == STATIC_SINK and decisions[0]["reviewer"] == "alice"
        assert decisions[0]["reason"].startswith("'=")  # a formula stays text
        body = orjson.loads(await (await client.get(f"{API}/zone/export", params={
            "policy": POLICY})).read())
        assert len(body["decisions"]) == 1 and len(body["to_fix"]) == 2
        assert (await client.get(f"{API}/zone/export", params={
            "policy": POLICY, "format": "csv"})).status == 400
    finally:
        await client.close()


# -- violations --------------------------------------------------------------------

def _violation(sink: str, status: str, ts: int) -> bytes:
    return orjson.dumps({"v": 1, "type": "violation", "policy_id": POLICY, "status": status,
                         "label": "PRECISE_LOCATION", "source": WEB, "sink": sink,
                         "path": [WEB, sink], "confidence": "high", "detected_at": ts,
                         "ts": ts})


async def test_violations_and_their_live_stream(graph: GraphStore, tmp_path: Path) -> None:
    console = _console(graph, tmp_path)
    console.feed._take(_violation(MODEL, "open", 1))
    console.feed._take(_violation(RANKER, "open", 2))
    console.feed._take(b"not json")
    console.feed.ready.set()
    console.feed.start = lambda: None  # type: ignore[method-assign]  # no Kafka here
    client = await _start(console)
    try:
        body = await _json(client, "violations", {"status": "open"})
        assert [v["sink"] for v in body["violations"]] == [RANKER, MODEL]
        await _json(client, "violations", {"status": "maybe"}, status=400)
        response = await client.get(f"{API}/violations/stream", params={"policy": POLICY})
        assert response.headers["Content-Type"] == "text/event-stream"
        first = await response.content.readuntil(b"\n\n")
        assert first.startswith(b"event: snapshot\ndata: ")
        assert len(orjson.loads(first.split(b"data: ", 1)[1])) == 2
        console.feed._take(_violation(MODEL, "resolved", 3))
        second = await response.content.readuntil(b"\n\n")
        event = orjson.loads(second.split(b"data: ", 1)[1])
        assert second.startswith(b"event: violation") and event["status"] == "resolved"
        response.close()
        body = await _json(client, "violations", {"status": "resolved"})
        assert [v["sink"] for v in body["violations"]] == [MODEL]
    finally:
        await client.close()


# -- enforcement decisions, live ------------------------------------------------------

SECRET = "Home, 123 Main St"  # a value no decision may ever carry to a page


def _decision(sink: str, decision: str, ts: int, *, policy: str = POLICY,
              service: str = "photos-web", **extra: Any) -> bytes:
    return orjson.dumps({"v": 1, "type": "enforcement", "policy_id": policy, "sink": sink,
                         "decision": decision, "mode": "enforce", "sink_kind": "http",
                         "source": WEB, "service": service, "trace_id": f"t{ts}",
                         "code_location": "photos/upload.py:88", "ts": ts, **extra})


def _ready(console: Console) -> None:
    """Both feeds as if they had read their topics to the end (no Kafka here)."""
    for feed in (console.feed, console.enforcement):
        feed.ready.set()
        feed.start = lambda: None  # type: ignore[method-assign]


async def _sse_event(response: Any) -> tuple[str, Any]:
    block = await response.content.readuntil(b"\n\n")
    while block.startswith(b":"):  # a keep-alive comment
        block = await response.content.readuntil(b"\n\n")
    head, data = block.split(b"\ndata: ", 1)
    return head.removeprefix(b"event: ").decode(), orjson.loads(data)


async def test_enforcement_decisions_live_on_the_violation_stream(
        graph: GraphStore, tmp_path: Path) -> None:
    console = _console(graph, tmp_path)
    console.feed._take(_violation(MODEL, "open", 1))
    console.enforcement._take(_decision(STATIC_SINK, "blocked", 10))
    console.enforcement._take(_decision(STATIC_SINK, "blocked", 5, service="photos-api"))
    console.enforcement._take(_decision("http://ads-service/other", "logged", 7, policy="other"))
    console.enforcement._take(b"not json")
    console.enforcement._take(b'["not", "an", "event"]')
    _ready(console)
    client = await _start(console)
    try:
        rows = (await _json(client, "enforcement", {"policy": POLICY}))["decisions"]
        assert [(r["sink"], r["count"], r["services"]) for r in rows] == [
            (STATIC_SINK, 2, ["photos-api", "photos-web"])]
        assert len((await _json(client, "enforcement"))["decisions"]) == 2

        plain = await client.get(f"{API}/violations/stream", params={"policy": POLICY})
        live = await client.get(f"{API}/violations/stream",
                                params={"policy": POLICY, "enforcement": "1"})
        assert await _sse_event(plain) == ("snapshot", [orjson.loads(_violation(MODEL, "open",
                                                                                1))])
        name, snapshot = await _sse_event(live)
        assert name == "snapshot" and [v["sink"] for v in snapshot] == [MODEL]
        name, decisions = await _sse_event(live)
        assert name == "enforcement_snapshot" and decisions == rows  # the policy's rows only

        # New decisions, after the page loaded: the changed row, once per batch.
        console.enforcement._publish(console.enforcement._apply([
            _decision(STATIC_SINK, "blocked", 20, payload={"location": SECRET}),
            _decision(STATIC_SINK, "blocked", 21, value=SECRET),
            _decision("http://ads-service/other", "logged", 22, policy="other")]))
        console.feed._take(_violation(MODEL, "resolved", 30))
        name, row = await _sse_event(live)
        assert name == "enforcement"
        assert (row["sink"], row["decision"], row["count"], row["last_ts"]) == (
            STATIC_SINK, "blocked", 4, 21)
        assert row["last_trace_id"] == "t21" and row["first_ts"] == 5
        assert set(row) == set(rows[0]) and SECRET not in orjson.dumps(row).decode()
        assert await _sse_event(live) == ("violation", orjson.loads(_violation(MODEL,
                                                                               "resolved", 30)))
        # A stream that did not ask for decisions gets the violation, and nothing else.
        assert await _sse_event(plain) == ("violation", orjson.loads(_violation(MODEL,
                                                                                "resolved", 30)))
        plain.close()
        live.close()
        rows = (await _json(client, "enforcement", {"policy": POLICY}))["decisions"]
        assert rows[0]["count"] == 4 and SECRET not in orjson.dumps(rows).decode()
    finally:
        await client.close()


async def test_one_consumer_per_feed_for_every_page(graph: GraphStore, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from streams.console.feed import TopicFeed

    runs: list[str] = []

    async def run(feed: TopicFeed) -> None:  # the consumer loop, without Kafka
        runs.append(feed.topic)
        feed.ready.set()
        await asyncio.Event().wait()

    monkeypatch.setattr(TopicFeed, "_run", run)
    client = await _start(_console(graph, tmp_path))
    try:
        pages = [await client.get(f"{API}/violations/stream", params={"enforcement": "1"})
                 for _ in range(3)]
        for page in pages:
            assert (await _sse_event(page))[0] == "snapshot"
            assert (await _sse_event(page)) == ("enforcement_snapshot", [])
        await _json(client, "enforcement")
        assert sorted(runs) == ["enforcement-events", "policy-violations"]
        for page in pages:
            page.close()
    finally:
        await client.close()


async def test_a_page_that_falls_behind_is_dropped(graph: GraphStore, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from streams.console import routes
    from streams.console.feed import new_subscriber

    queues: list[asyncio.Queue[Any]] = []

    def small() -> asyncio.Queue[Any]:
        queues.append(new_subscriber(2))
        return queues[-1]

    monkeypatch.setattr(routes, "new_subscriber", small)
    console = _console(graph, tmp_path)
    _ready(console)
    client = await _start(console)
    try:
        response = await client.get(f"{API}/violations/stream", params={"enforcement": "1"})
        assert (await _sse_event(response))[0] == "snapshot"
        assert (await _sse_event(response))[0] == "enforcement_snapshot"
        # Three rows change in one batch, more than the page's queue holds: dropped by
        # the decisions' feed, and so by the violations' one too; its stream ends.
        console.enforcement._publish(console.enforcement._apply(
            [_decision(f"http://ads-service/{n}", "blocked", n) for n in range(3)]))
        assert not console.enforcement.subscribed(queues[0])
        assert await response.content.read() == b""  # the end: the page reconnects
        assert not console.feed.subscribed(queues[0])
        console.feed._take(_violation(MODEL, "open", 1))  # nobody left to send it to
        assert queues[0].empty()
        response.close()
    finally:
        await client.close()


# -- the token and CSRF -------------------------------------------------------------

READS = [("session", {}), ("search", {"q": "x"}), ("neighbourhood", {"uri": WEB}),
         ("edge", {"id": "a -> b"}), ("path", {"src": WEB, "dst": DB}), ("policies", {}),
         ("zone", {"policy": POLICY}), ("zone/export", {"policy": POLICY}),
         ("violations", {}), ("violations/stream", {}), ("enforcement", {}),
         ("violations/stream", {"enforcement": "1"})]


@pytest.fixture()
async def locked(graph: GraphStore, tmp_path: Path) -> AsyncIterator[TestClient]:
    client = await _start(_console(graph, tmp_path, token=TOKEN))
    yield client
    await client.close()


@pytest.mark.parametrize(("path", "params"), READS)
async def test_every_read_needs_the_token(locked: TestClient, path: str,
                                          params: dict[str, str]) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        response = await locked.get(f"{API}/{path}", params=params, headers=headers)
        assert response.status == 401
        assert "token" in (await response.json())["error"]


async def test_the_page_is_public_but_its_data_is_not(locked: TestClient) -> None:
    assert (await locked.get("/ui/")).status == 200
    assert (await locked.get("/ui/static/console.js")).status == 200
    body = await _json(locked, "session", headers={"Authorization": f"Bearer {TOKEN}"})
    assert body["token_required"] and not body["read_only"]


@pytest.mark.parametrize("path", ["zone/preview", "reviews"])
async def test_writes_need_token_and_csrf(locked: TestClient, path: str) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    csrf = await _csrf(locked, auth)
    body = {"policy": POLICY, "decision": "exclude", "assets": [AGG], "reviewer": "bob"}
    url = f"{API}/{path}"
    response = await locked.post(url, json=body, headers={"X-Lineage-CSRF": csrf})
    assert response.status == 401  # the CSRF token alone is not enough
    for headers, why in [
        (auth, "X-Lineage-CSRF"),
        ({**auth, "X-Lineage-CSRF": "guess"}, "X-Lineage-CSRF"),
        ({**auth, "X-Lineage-CSRF": csrf, "Origin": "http://evil.example"}, "cross-origin"),
        ({**auth, "X-Lineage-CSRF": csrf, "Origin": "null"}, "cross-origin"),
    ]:
        response = await locked.post(url, json=body, headers=headers)
        assert response.status == 403
        assert why in (await response.json())["error"]
    response = await locked.post(url, data=orjson.dumps(body), headers={
        **auth, "X-Lineage-CSRF": csrf, "Content-Type": "text/plain"})
    assert response.status == 403  # a form-like body: not JSON
    assert (await locked.get(url, headers={**auth, "X-Lineage-CSRF": csrf})).status == 405


async def test_review_requests_are_checked_before_anything_is_written(
        client: TestClient) -> None:
    headers = {"X-Lineage-CSRF": await _csrf(client)}
    origin = {**headers, "Origin": str(client.make_url("")).rstrip("/")}
    for body, why in [
        ({"policy": POLICY, "decision": "exclude", "assets": [AGG]}, "reviewer"),
        ({"policy": POLICY, "decision": "exclude", "assets": [AGG], "reviewer": " "},
         "reviewer"),
        ({"policy": POLICY, "decision": "drop", "assets": [AGG], "reviewer": "bob"},
         "decision"),
        ({"policy": POLICY, "decision": "exclude", "assets": [], "reviewer": "bob"},
         "select"),
        ({"policy": POLICY, "decision": "exclude", "assets": "x", "reviewer": "bob"}, "list"),
        ({"decision": "exclude", "assets": [AGG], "reviewer": "bob"}, "policy"),
    ]:
        response = await client.post(f"{API}/reviews", json=body, headers=origin)
        assert response.status == 400, body
        assert why in (await response.json())["error"]
    response = await client.post(f"{API}/reviews", data=b"[", headers={
        **headers, "Content-Type": "application/json"})
    assert response.status == 400


async def test_a_read_only_console_refuses_reviews(graph: GraphStore, tmp_path: Path) -> None:
    client = await _start(_console(graph, tmp_path, writable=False))
    try:
        csrf = await _csrf(client)
        assert (await _json(client, "session"))["read_only"]
        response = await client.post(f"{API}/reviews", json={
            "policy": POLICY, "decision": "exclude", "assets": [AGG], "reviewer": "bob"},
            headers={"X-Lineage-CSRF": csrf})
        assert response.status == 403 and "read-only" in (await response.json())["error"]
        response = await client.post(f"{API}/zone/preview", json={
            "policy": POLICY, "decision": "exclude", "assets": [AGG]},
            headers={"X-Lineage-CSRF": csrf})
        assert response.status == 200  # a preview writes nothing
    finally:
        await client.close()


async def test_on_the_worker_api_the_graph_keeps_its_token(graph: GraphStore,
                                                           tmp_path: Path) -> None:
    app = make_api(graph, token=TOKEN)
    register_console(app, _console(graph, tmp_path, token=TOKEN))
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        assert (await client.get("/ui/")).status == 200
        assert (await client.get("/graph/edges")).status == 401
        assert (await client.get(f"{API}/session")).status == 401
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert (await client.get(f"{API}/session", headers=auth)).status == 200
        assert (await client.get("/graph/edges", headers=auth)).status == 200
    finally:
        await client.close()
