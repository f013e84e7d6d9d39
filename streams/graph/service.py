"""The worker's graph: a replica it follows, the HTTP API it may serve, and a hook.

`GraphService.install(app)` adds one Faust task that opens the replica
(`DATA_DIR/graph`), optionally starts the API, follows `lineage-graph` until
the worker stops, then closes both. Other parts of the worker (the policy
monitor) read `service.graph` once `service.ready` is set and subscribe to
applied changes with `service.add_listener`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

from state.graph import GraphStore
from streams.graph.api import ApiConfig, make_api, serve_api
from streams.graph.replica import GraphMaterializer, Listener, worker_replica_path
from streams.pipeline.topology import GraphReplicaSpec
from streams.settings import Settings

log = logging.getLogger("lineage.graph")

#: Adds routes to the worker's API app: `(app, graph, token)`.
RouteHook = Callable[[web.Application, GraphStore, str | None], object]


class GraphService:
    """The worker's replica of the lineage graph and its optional API."""

    def __init__(self, settings: Settings, spec: GraphReplicaSpec, *,
                 api: ApiConfig | None = None) -> None:
        self.settings = settings
        self.spec = spec
        self.api = api
        self._listeners: list[Listener] = []
        self._routes: list[RouteHook] = []
        self._graph: GraphStore | None = None
        self.materializer: GraphMaterializer | None = None
        #: Set when the replica is open (it may still be catching up).
        self.ready = asyncio.Event()

    @property
    def graph(self) -> GraphStore:
        """The replica; only while the worker runs (after `ready`)."""
        if self._graph is None:
            raise RuntimeError("the graph replica is not open yet")
        return self._graph

    def add_listener(self, listener: Listener) -> None:
        """`listener(changes)` after every applied batch (also those before it was added)."""
        self._listeners.append(listener)
        if self.materializer is not None:
            self.materializer.add_listener(listener)

    def add_routes(self, hook: RouteHook) -> None:
        """`hook(api_app, graph, token)` adds routes to the API app before it serves
        (the console); called only when the worker serves an API."""
        self._routes.append(hook)

    def install(self, app: Any) -> None:
        """Run the replica (and the API) as a task of the Faust `app`."""

        @app.task
        async def graph_replica() -> None:
            await self.run()

    async def run(self) -> None:
        """Open, serve and follow until cancelled; then close everything."""
        graph = GraphStore.open(worker_replica_path(self.settings))
        # Batches are applied in the event loop (listeners see a graph that
        # does not change under them); small ones keep the agents' pauses short.
        materializer = GraphMaterializer(graph, self.settings, batch_size=self.spec.batch_size,
                                         topic=self.spec.topic)
        for listener in self._listeners:
            materializer.add_listener(listener)
        self._graph, self.materializer = graph, materializer
        runner = None
        try:
            if self.api is not None:
                app = make_api(graph, token=self.api.token, status=self.status)
                for hook in self._routes:
                    hook(app, graph, self.api.token)
                runner = await serve_api(app, self.api)
                log.info("graph API on http://%s:%d", self.api.bind, self.api.port)
            self.ready.set()
            await materializer.run()
        finally:
            if runner is not None:
                await runner.cleanup()
            self._graph = None
            graph.close()

    def status(self) -> dict[str, Any]:
        materializer = self.materializer
        return {"caught_up": materializer is not None and materializer.caught_up.is_set(),
                "offsets": {str(p): o for p, o in (self._graph.offsets().items()
                                                   if self._graph else [])}}
