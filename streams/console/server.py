"""`lineage console`: the console, read-only, over the CLI's own graph replica.

The replica (`DATA_DIR/graph-view/PREFIX`, the one `lineage graph` keeps)
follows `lineage-graph` in the background while the page is served; zones
and violations are read from their topics as on the worker. Reviews are
refused (403): the CLI has no say in the pipeline's decisions; a worker's
console (`lineage worker --api-port P`, `/ui/`) records them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import web

from streams.console.routes import Console, register_console
from streams.graph.api import ApiConfig, serve_api
from streams.graph.replica import GraphMaterializer, cli_replica_path, open_replica
from streams.settings import Settings

log = logging.getLogger("lineage.console")


async def _follow(materializer: GraphMaterializer) -> None:
    """Keep the replica following; if Kafka fails, serve it as last synced until stopped."""
    try:
        await materializer.run()
    except Exception as exc:
        log.warning("the graph replica stopped following lineage-graph (%s: %s); "
                    "serving it as last synced", type(exc).__name__, exc)
        await asyncio.Event().wait()


async def serve_console(settings: Settings, config: ApiConfig,
                        started: asyncio.Event | None = None) -> None:
    """Follow the graph and serve the read-only console until cancelled."""
    with open_replica(cli_replica_path(settings)) as graph:
        materializer = GraphMaterializer(graph, settings, batch_size=2000)
        follow = asyncio.create_task(_follow(materializer), name="console-graph-replica")
        app = web.Application()
        register_console(app, Console(settings, lambda: graph, token=config.token,
                                      writable=False))
        runner = await serve_api(app, config)
        log.info("console on http://%s:%d/ui/", config.bind, config.port)
        if started is not None:
            started.set()
        try:
            await follow
        finally:
            follow.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await follow
            await runner.cleanup()
