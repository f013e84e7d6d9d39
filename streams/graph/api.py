"""The graph's HTTP API (aiohttp), served by a worker from its own replica.

Bound to 127.0.0.1 unless told otherwise; a bearer token, when set, is
required on every request, and binding anything but a loopback address
without one is refused. Queries run in a thread so that a long traversal
never stalls the worker's agents.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from state.graph import (
    EdgeFilter,
    GraphStore,
    Limits,
    TraversalError,
    TraversalTooLarge,
    find_path,
    traverse,
)
from streams.graph.format import path_json
from vocab import CONFIDENCE_RANK

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiConfigError(ValueError):
    """An API setting that would be unsafe or cannot work."""


@dataclass(frozen=True)
class ApiConfig:
    port: int
    bind: str = "127.0.0.1"
    token: str | None = None

    def __post_init__(self) -> None:
        if not self.token and not is_loopback(self.bind):
            raise ApiConfigError(
                f"refusing to serve the graph API on {self.bind} without a token "
                "(set --api-token or LINEAGE_API_TOKEN)")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


class _BadRequest(Exception):
    pass


def _query_filter(request: web.Request) -> tuple[EdgeFilter, int | None]:
    query = request.query
    confidence = query.get("min_confidence", "low")
    if confidence not in CONFIDENCE_RANK:
        raise _BadRequest("min_confidence must be one of low, medium, high")
    raw_hops = query.get("max_hops")
    try:
        hops = None if raw_hops in (None, "") else int(raw_hops)
    except ValueError:
        raise _BadRequest("max_hops must be an integer") from None
    return EdgeFilter.of(confidence, query.getall("kind", [])), hops


def _required(request: web.Request, name: str) -> str:
    value = request.query.get(name)
    if not value:
        raise _BadRequest(f"missing query parameter {name!r}")
    return value


def make_api(
    graph: GraphStore, *, token: str | None = None, limits: Limits | None = None,
    status: Callable[[], dict[str, Any]] | None = None,
) -> web.Application:
    """The aiohttp application over `graph`; `status()` adds fields to /health."""
    bounds = limits or Limits()

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if token is not None:
            given = request.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return _json({"error": "missing or wrong bearer token"}, 401)
        try:
            return await handler(request)
        except _BadRequest as exc:
            return _json({"error": str(exc)}, 400)
        except TraversalTooLarge as exc:
            return _json({"error": str(exc)}, 422)
        except TraversalError as exc:
            return _json({"error": str(exc)}, 400)

    async def health(request: web.Request) -> web.Response:
        extra = status() if status is not None else {}
        return _json({"status": "ok", "edges": graph.edge_count(), **extra})

    def traversal(direction: str) -> Handler:
        async def handle(request: web.Request) -> web.Response:
            asset = _required(request, "asset")
            edge_filter, hops = _query_filter(request)
            result = await asyncio.to_thread(
                traverse, graph, asset, direction,  # type: ignore[arg-type]
                edge_filter=edge_filter, max_hops=hops, limits=bounds)
            return _json(result.to_json())

        return handle

    async def path(request: web.Request) -> web.Response:
        src, dst = _required(request, "src"), _required(request, "dst")
        edge_filter, hops = _query_filter(request)

        def answer() -> dict[str, Any]:
            found = find_path(graph, src, dst, edge_filter=edge_filter, max_hops=hops,
                              limits=bounds)
            return path_json(found, src, dst, graph)

        return _json(await asyncio.to_thread(answer))

    async def edges(request: web.Request) -> web.Response:
        edge_filter, _ = _query_filter(request)
        floor = CONFIDENCE_RANK[edge_filter.min_confidence]

        def answer() -> list[dict[str, Any]]:
            return [e for e in graph.edges() if CONFIDENCE_RANK.get(e["confidence"], 0) >= floor]

        return _json({"edges": await asyncio.to_thread(answer)})

    async def edge(request: web.Request) -> web.Response:
        found = graph.edge(_required(request, "id"))
        return _json(found) if found is not None else _json({"error": "no such edge"}, 404)

    app = web.Application(middlewares=[guard])
    app.router.add_get("/health", health)
    app.router.add_get("/graph/downstream", traversal("downstream"))
    app.router.add_get("/graph/upstream", traversal("upstream"))
    app.router.add_get("/graph/path", path)
    app.router.add_get("/graph/edges", edges)
    app.router.add_get("/graph/edge", edge)
    return app


async def serve_api(app: web.Application, config: ApiConfig) -> web.AppRunner:
    """Start serving `app`; stop it with `await runner.cleanup()`."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, config.bind, config.port)
    await site.start()
    return runner
