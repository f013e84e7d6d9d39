"""`/metrics` over HTTP, behind the worker's access rules (streams/http/access.py)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry

from streams.http.access import ApiConfig, token_guard
from streams.observability.collector import PipelineCollector
from streams.observability.lag import LagSampler

if TYPE_CHECKING:
    from streams.pipeline.app import Pipeline

log = logging.getLogger("lineage.metrics")


def add_metrics_route(app: web.Application, registry: CollectorRegistry) -> None:
    """Register GET /metrics on `app` (an app already behind `token_guard`)."""

    async def metrics(request: web.Request) -> web.Response:
        body = await asyncio.to_thread(generate_latest, registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/metrics", metrics)


def metrics_app(registry: CollectorRegistry, token: str | None) -> web.Application:
    app = web.Application(middlewares=[token_guard(token)])
    add_metrics_route(app, registry)
    return app


class MetricsService:
    """Serves the pipeline's metrics on their own port, with a lag sampler."""

    def __init__(self, config: ApiConfig) -> None:
        self.config = config

    def install(self, pipeline: Pipeline) -> None:
        """Add the server and the sampler as a task of the pipeline's Faust app."""
        sampler = LagSampler(pipeline.settings)
        registry = CollectorRegistry(auto_describe=False)
        registry.register(PipelineCollector(pipeline, sampler))
        config = self.config

        @pipeline.app.task
        async def metrics_endpoint() -> None:
            runner = web.AppRunner(metrics_app(registry, config.token), access_log=None)
            await runner.setup()
            await web.TCPSite(runner, config.bind, config.port).start()
            log.info("metrics on http://%s:%d/metrics", config.bind, config.port)
            try:
                await sampler.run()
            finally:
                await runner.cleanup()
