"""The console's routes on an aiohttp app: the page shell under /ui/, JSON under /api/v1/console/.

`register_console(app, console)` adds them to the worker's API app (next to
the graph API) or to the standalone app of `lineage console`. Every view
has its own URL (`/ui/`, `/ui/asset?uri=...`, `/ui/zones/POLICY`,
`/ui/violations`); they all serve the same page, which reads its URL.
Graph queries run in a thread, bounded as the graph API's are.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web
from aiokafka.errors import KafkaError

from state.graph import (
    EdgeFilter,
    GraphStore,
    Limits,
    TraversalError,
    TraversalTooLarge,
    find_path,
)
from state.graph.neighbourhood import collapse, namespace_of, neighbourhood
from streams.console.feed import EnforcementFeed, ViolationFeed, new_subscriber
from streams.console.policy_state import PolicyStateReader
from streams.console.reviews import ReviewRequestError, ReviewWriter, now_ms, review_records
from streams.console.search import search_assets
from streams.console.security import Guard, Handler, json_response
from streams.console.zones import (
    DECISION_COLUMNS,
    FIX_COLUMNS,
    ZoneQueryError,
    export_rows,
    policies_json,
    preview_json,
    to_csv,
    zone_json,
)
from streams.graph.format import path_json
from streams.http.access import public
from streams.settings import Settings
from vocab import CONFIDENCE_RANK

STATIC = Path(__file__).parent / "static"
API = "/api/v1/console"


class BadRequest(ValueError):
    pass


@dataclass
class Console:
    """What the console reads and writes; `writable` False refuses reviews (403)."""

    settings: Settings
    graph: Callable[[], GraphStore]
    token: str | None = None
    writable: bool = True
    limits: Limits = field(default_factory=lambda: Limits(max_nodes=50_000, time_budget_s=3.0))
    guard: Guard = field(init=False)
    feed: ViolationFeed = field(init=False)
    enforcement: EnforcementFeed = field(init=False)
    policy_state: PolicyStateReader = field(init=False)
    reviews: ReviewWriter = field(init=False)

    def __post_init__(self) -> None:
        self.guard = Guard(self.token)
        self.feed = ViolationFeed(self.settings)
        self.enforcement = EnforcementFeed(self.settings)
        self.policy_state = PolicyStateReader(self.settings)
        self.reviews = ReviewWriter(self.settings)

    async def close(self) -> None:
        await self.feed.stop()
        await self.enforcement.stop()
        await self.reviews.close()


def _int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer") from None
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}")
    return value


def _required(request: web.Request, name: str) -> str:
    value = request.query.get(name, "")
    if not value:
        raise BadRequest(f"missing query parameter {name!r}")
    return value


def _edge_filter(request: web.Request) -> EdgeFilter:
    confidence = request.query.get("min_confidence", "low") or "low"
    if confidence not in CONFIDENCE_RANK:
        raise BadRequest("min_confidence must be one of low, medium, high")
    return EdgeFilter.of(confidence, [k for k in request.query.getall("kind", []) if k])


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise BadRequest("the body must be JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def _assets(body: dict[str, Any]) -> list[str]:
    assets = body.get("assets")
    if not isinstance(assets, list) or not all(isinstance(a, str) and a for a in assets):
        raise BadRequest("'assets' must be a list of asset URIs")
    return assets


def _errors(handler: Handler) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except (BadRequest, ZoneQueryError, ReviewRequestError) as exc:
            return json_response({"error": str(exc)}, 400)
        except TraversalTooLarge as exc:
            return json_response({"error": str(exc)}, 422)
        except TraversalError as exc:
            return json_response({"error": str(exc)}, 400)
        except (KafkaError, TimeoutError) as exc:
            return json_response({"error": f"Kafka is not answering: {type(exc).__name__}"}, 503)

    return handle


def register_console(app: web.Application, console: Console) -> None:
    """Add the console's pages and JSON endpoints to `app`; close it with the app."""
    guard = console.guard

    async def close(_: web.Application) -> None:
        await console.close()

    app.on_cleanup.append(close)

    # -- the page ------------------------------------------------------------
    @public
    async def page(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html", headers=_PAGE_HEADERS)

    static_files = {p.name for p in STATIC.iterdir() if p.is_file()} if STATIC.is_dir() else set()

    @public
    async def static(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in static_files:
            raise web.HTTPNotFound()
        return web.FileResponse(STATIC / name, headers={"Cache-Control": "no-cache",
                                                        "X-Content-Type-Options": "nosniff"})

    @public
    async def to_ui(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/ui/")

    # -- reads -----------------------------------------------------------------
    async def session(request: web.Request) -> web.Response:
        return json_response({"read_only": not console.writable, "csrf": guard.csrf_token,
                              "token_required": guard.token is not None})

    async def search(request: web.Request) -> web.Response:
        query = request.query.get("q", "")
        limit = _int(request, "limit", 50, 1, 500)
        graph = console.graph()
        result = await asyncio.to_thread(search_assets, graph, query, limit=limit)
        return json_response(result.to_json())

    async def neighbours(request: web.Request) -> web.Response:
        uri = _required(request, "uri")
        edge_filter = _edge_filter(request)
        hops = _int(request, "hops", 2, 1, 10)
        limit = _int(request, "limit", 200, 1, 500)
        direction = request.query.get("direction", "both")
        if direction not in ("both", "downstream", "upstream"):
            raise BadRequest("direction must be both, downstream or upstream")
        directions = ("downstream", "upstream") if direction == "both" else (direction,)
        spaces = {n for n in request.query.getall("namespace", []) if n}
        keep = None if not spaces else (lambda a: namespace_of(a) in spaces)
        collapsed = request.query.get("collapse") in ("1", "true", "yes")
        graph = console.graph()

        def answer() -> dict[str, Any]:
            found = neighbourhood(graph, uri, directions=directions,  # type: ignore[arg-type]
                                  edge_filter=edge_filter, max_hops=hops, max_nodes=limit,
                                  keep=keep)
            return (collapse(found) if collapsed else found).to_json()

        return json_response(await asyncio.to_thread(answer))

    async def edge(request: web.Request) -> web.Response:
        found = console.graph().edge(_required(request, "id"))
        if found is None:
            return json_response({"error": "no such edge"}, 404)
        return json_response(found)

    async def path(request: web.Request) -> web.Response:
        src, dst = _required(request, "src"), _required(request, "dst")
        edge_filter = _edge_filter(request)
        graph = console.graph()

        def answer() -> dict[str, Any]:
            found = find_path(graph, src, dst, edge_filter=edge_filter, limits=console.limits)
            return path_json(found, src, dst, graph)

        return json_response(await asyncio.to_thread(answer))

    async def policies(request: web.Request) -> web.Response:
        state = await console.policy_state.read()
        return json_response({"policies": policies_json(state)})

    async def zone(request: web.Request) -> web.Response:
        policy_id = _required(request, "policy")
        limit = _int(request, "limit", 300, 1, 500)
        rows = _int(request, "rows", 1000, 1, 10_000)
        query = request.query.get("q", "")
        state = await console.policy_state.read()
        answer = await asyncio.to_thread(zone_json, console.graph(), state, policy_id,
                                         limit=limit, rows=rows, query=query)
        answer["read_only"] = not console.writable
        return json_response(answer)

    async def export(request: web.Request) -> web.Response:
        policy_id = _required(request, "policy")
        what = request.query.get("what", "all")
        fmt = request.query.get("format", "json")
        if what not in ("all", "decisions", "to_fix") or fmt not in ("json", "csv"):
            raise BadRequest("what must be all, decisions or to_fix; format json or csv")
        if fmt == "csv" and what == "all":
            raise BadRequest("a CSV export is either what=decisions or what=to_fix")
        state = await console.policy_state.read()
        decisions, to_fix = await asyncio.to_thread(export_rows, console.graph(), state,
                                                    policy_id)
        name = f"{_safe(policy_id)}-{what}.{fmt}"
        headers = {"Content-Disposition": f'attachment; filename="{name}"',
                   "Cache-Control": "no-store"}
        if fmt == "json":
            body: dict[str, Any] = {"policy_id": policy_id}
            if what in ("all", "decisions"):
                body["decisions"] = decisions
            if what in ("all", "to_fix"):
                body["to_fix"] = to_fix
            return web.Response(body=orjson.dumps(body, option=orjson.OPT_INDENT_2),
                                content_type="application/json", headers=headers)
        text = (to_csv(decisions, DECISION_COLUMNS) if what == "decisions"
                else to_csv(to_fix, FIX_COLUMNS))
        return web.Response(text=text, content_type="text/csv", headers=headers)

    async def violations(request: web.Request) -> web.Response:
        keep = _violation_filter(request)
        events = [e for e in await console.feed.snapshot() if keep(e)]
        events.sort(key=lambda e: (e.get("status") != "open", -int(e.get("ts") or 0)))
        return json_response({"violations": events})

    async def enforcement(request: web.Request) -> web.Response:
        mine = _policy_filter(request)
        rows = [r for r in await console.enforcement.snapshot() if mine(r)]
        return json_response({"decisions": rows})

    async def stream(request: web.Request) -> web.StreamResponse:
        keep = _violation_filter(request)
        mine = _policy_filter(request)
        feeds: list[ViolationFeed | EnforcementFeed] = [console.feed]
        if request.query.get("enforcement") in ("1", "true", "yes"):
            feeds.append(console.enforcement)
        queue = new_subscriber()
        try:
            snapshots = [await feed.subscribe(queue) for feed in feeds]
        except BaseException:
            for feed in feeds:
                feed.unsubscribe(queue)
            raise
        response = web.StreamResponse(headers={
            "Content-Type": "text/event-stream", "Cache-Control": "no-store",
            "X-Accel-Buffering": "no"})
        await response.prepare(request)
        try:
            await response.write(_sse("snapshot", [e for e in snapshots[0] if keep(e)]))
            if len(snapshots) > 1:
                await response.write(_sse("enforcement_snapshot",
                                          [r for r in snapshots[1] if mine(r)]))
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), 15.0)
                except TimeoutError:
                    if not all(feed.subscribed(queue) for feed in feeds):
                        break
                    await response.write(b": keep-alive\n\n")
                    continue
                if item is None:
                    break
                name, data = item
                if keep(data) if name == "violation" else mine(data):
                    await response.write(_sse(name, data))
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            for feed in feeds:
                feed.unsubscribe(queue)
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await response.write_eof()
        return response

    # -- writes ----------------------------------------------------------------
    async def preview(request: web.Request) -> web.Response:
        body = await _body(request)
        policy_id = body.get("policy")
        if not isinstance(policy_id, str) or not policy_id:
            raise BadRequest("'policy' is required")
        state = await console.policy_state.read()
        answer = await asyncio.to_thread(preview_json, console.graph(), state, policy_id,
                                         str(body.get("decision", "")), _assets(body))
        return json_response(answer)

    async def reviews(request: web.Request) -> web.Response:
        if not console.writable:
            return json_response({"error": "this console is read-only (lineage console); "
                                           "review from a worker's console"}, 403)
        body = await _body(request)
        policy_id, reviewer = body.get("policy"), body.get("reviewer")
        reason = body.get("reason")
        if not isinstance(policy_id, str) or not policy_id:
            raise BadRequest("'policy' is required")
        if not isinstance(reviewer, str):
            raise BadRequest("'reviewer' is required")
        if reason is not None and not isinstance(reason, str):
            raise BadRequest("'reason' must be a string")
        records = review_records(policy_id, str(body.get("decision", "")), _assets(body),
                                 reviewer=reviewer, reason=reason or None, ts=now_ms())
        written = await console.reviews.write(records)
        console.policy_state.forget()
        return json_response({"written": written, "policy": policy_id,
                              "decision": body.get("decision")})

    router = app.router
    router.add_get("/ui", to_ui)
    for route in ("/ui/", "/ui/asset", "/ui/violations", "/ui/zones/{policy:.+}"):
        router.add_get(route, page)
    router.add_get("/ui/static/{name}", static)
    reads: dict[str, Handler] = {
        "session": session, "search": search, "neighbourhood": neighbours, "edge": edge,
        "path": path, "policies": policies, "zone": zone, "zone/export": export,
        "violations": violations, "violations/stream": stream, "enforcement": enforcement,
    }
    for name, handler in reads.items():
        router.add_get(f"{API}/{name}", guard.wrap(_errors(handler)))
    router.add_post(f"{API}/zone/preview", guard.wrap(_errors(preview), write=True))
    router.add_post(f"{API}/reviews", guard.wrap(_errors(reviews), write=True))


_PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    # Scripts and styles from this server only; no inline script.
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self' "
                                "'unsafe-inline'; img-src 'self' data: blob:; "
                                "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"),
}


def _policy_filter(request: web.Request) -> Callable[[dict[str, Any]], bool]:
    policy = request.query.get("policy") or None
    return lambda e: policy is None or e.get("policy_id") == policy


def _violation_filter(request: web.Request) -> Callable[[dict[str, Any]], bool]:
    mine = _policy_filter(request)
    status = request.query.get("status", "all") or "all"
    if status not in ("open", "resolved", "all"):
        raise BadRequest("status must be open, resolved or all")
    return lambda e: mine(e) and (status == "all" or e.get("status") == status)


def _sse(name: str, data: Any) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:80] or "policy"
