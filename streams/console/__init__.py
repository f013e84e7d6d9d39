"""The Policy Zone console: a web page to explore lineage, review zones and watch violations.

The page's source is `console/` (npm); its build is committed in
`streams/console/static/`, so an installed package serves it without Node.
`register_console` adds the pages and JSON endpoints to an aiohttp app (the
worker's API app, or the standalone read-only app of `lineage console`).
"""

from __future__ import annotations

from aiohttp import web

from state.graph import GraphStore
from streams.console.routes import Console, register_console
from streams.graph.service import RouteHook
from streams.settings import Settings

__all__ = ["Console", "register_console", "worker_console"]


def worker_console(settings: Settings) -> RouteHook:
    """The hook a worker's graph service calls to add the (writable) console to its API."""

    def hook(app: web.Application, graph: GraphStore, token: str | None) -> None:
        register_console(app, Console(settings, lambda: graph, token=token))

    return hook
