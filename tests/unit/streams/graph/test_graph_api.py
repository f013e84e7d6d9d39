"""The graph HTTP API over a real store: endpoints, filters, errors, the token."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from state.graph import GraphStore, Limits
from streams.graph.api import ApiConfig, ApiConfigError, is_loopback, make_api
from tests.unit.state.graph_fixtures import delta

T = "hive://w/db.t"


@pytest.fixture()
def graph(tmp_path: Path) -> Iterator[GraphStore]:
    store = GraphStore.open(tmp_path / "graph")
    store.apply_delta(delta("web#loc", f"{T}#loc", 1))
    store.apply_delta(delta(T, "model", 1, confidence="medium", kinds=("CONFIG",)))
    store.apply_delta(delta("web#loc", "logs", 1, confidence="low", kinds=("NO_MATCH",)))
    yield store
    store.close()


async def _client(app: web.Application) -> TestClient:
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


@pytest.fixture()
async def client(graph: GraphStore) -> AsyncIterator[TestClient]:
    client = await _client(make_api(graph, status=lambda: {"caught_up": True}))
    yield client
    await client.close()


async def test_downstream_with_table_semantics(client: TestClient) -> None:
    response = await client.get("/graph/downstream", params={"asset": "web#loc"})
    assert response.status == 200
    body = await response.json()
    assert body["root"] == "web#loc" and body["direction"] == "downstream"
    assert set(body["nodes"]) == {f"{T}#loc", "model", "logs"}
    assert {"src": T, "dst": "model", "confidence": "medium", "kinds": ["CONFIG"]} in body["edges"]


async def test_filters(client: TestClient) -> None:
    body = await (await client.get("/graph/downstream", params={
        "asset": "web#loc", "min_confidence": "medium"})).json()
    assert set(body["nodes"]) == {f"{T}#loc", "model"}
    body = await (await client.get("/graph/downstream", params={
        "asset": "web#loc", "max_hops": "1"})).json()
    assert set(body["nodes"]) == {f"{T}#loc", "logs"}
    body = await (await client.get("/graph/downstream", params=[
        ("asset", "web#loc"), ("kind", "NO_MATCH"), ("kind", "CONFIG")])).json()
    assert body["nodes"] == ["logs"]


async def test_upstream(client: TestClient) -> None:
    body = await (await client.get("/graph/upstream", params={"asset": "model"})).json()
    # T stands for all its fields: what feeds T#loc feeds T.
    assert body["direction"] == "upstream" and body["nodes"] == [T, "web#loc"]
    body = await (await client.get("/graph/upstream", params={"asset": f"{T}#loc"})).json()
    assert body["nodes"] == ["web#loc"]


async def test_path_with_evidence(client: TestClient) -> None:
    body = await (await client.get("/graph/path", params={"src": "web#loc", "dst": "model"})).json()
    assert body["found"] is True and body["hops"] == 2 and body["confidence"] == "medium"
    assert body["nodes"] == ["web#loc", f"{T}#loc", "model"]
    assert body["edges"][0]["evidence"] == {"runtime_exact": 1}
    missing = await (await client.get("/graph/path", params={"src": "model", "dst": "web#loc"})
                     ).json()
    assert missing["found"] is False and missing["edges"] == []


async def test_edges_edge_and_health(client: TestClient) -> None:
    body = await (await client.get("/graph/edges")).json()
    assert len(body["edges"]) == 3
    body = await (await client.get("/graph/edges", params={"min_confidence": "medium"})).json()
    assert len(body["edges"]) == 2
    edge = await client.get("/graph/edge", params={"id": f"{T} -> model"})
    assert (await edge.json())["kinds"] == ["CONFIG"]
    assert (await client.get("/graph/edge", params={"id": "nope"})).status == 404
    health = await (await client.get("/health")).json()
    assert health == {"status": "ok", "edges": 3, "caught_up": True}


async def test_bad_requests_are_400(client: TestClient) -> None:
    for params in ({}, {"asset": "a", "min_confidence": "sure"}, {"asset": "a", "max_hops": "x"},
                   {"asset": "a", "max_hops": "0"}):
        response = await client.get("/graph/downstream", params=params)
        assert response.status == 400, params
        assert "error" in await response.json()
    assert (await client.get("/graph/path", params={"src": "a"})).status == 400


async def test_too_large_is_422(graph: GraphStore) -> None:
    client = await _client(make_api(graph, limits=Limits(max_nodes=1)))
    try:
        response = await client.get("/graph/downstream", params={"asset": "web#loc"})
        assert response.status == 422
        assert "more than 1 nodes" in (await response.json())["error"]
    finally:
        await client.close()


async def test_token_is_required_when_set(graph: GraphStore) -> None:
    client = await _client(make_api(graph, token="s3cret"))
    try:
        assert (await client.get("/health")).status == 401
        wrong = {"Authorization": "Bearer nope"}
        assert (await client.get("/health", headers=wrong)).status == 401
        right = {"Authorization": "Bearer s3cret"}
        assert (await client.get("/health", headers=right)).status == 200
    finally:
        await client.close()


def test_non_loopback_bind_needs_a_token() -> None:
    assert ApiConfig(8080).bind == "127.0.0.1"
    ApiConfig(8080, "::1")
    ApiConfig(8080, "localhost")
    ApiConfig(8080, "0.0.0.0", "token")
    with pytest.raises(ApiConfigError, match="without a token"):
        ApiConfig(8080, "0.0.0.0")
    with pytest.raises(ApiConfigError):
        ApiConfig(8080, "10.1.2.3", "")
    assert is_loopback("127.0.0.2") and not is_loopback("example.com")
