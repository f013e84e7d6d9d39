"""Where `lineage openlineage emit` sends events: a Marquez-style HTTP endpoint or a topic.

`HttpTarget` posts each event to `URL/api/v1/lineage` (a bearer API key when
given), a few at a time; a refused connection, a timeout, 429 or 5xx is
retried with exponential backoff until it goes through (the emitter commits
its offsets only after a batch is delivered, so nothing is skipped); any
other 4xx is a permanent refusal, counted and logged by job name.
`KafkaTarget` produces each event keyed as OpenLineage's Kafka transport does.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

import aiohttp
import orjson
from aiokafka import AIOKafkaProducer

from streams.kafka.producer import make_producer
from streams.openlineage.intake import kafka_key
from streams.settings import Settings

log = logging.getLogger("lineage.openlineage")


class Target(Protocol):
    async def start(self) -> None: ...
    async def send(self, events: list[dict[str, Any]]) -> None: ...
    async def stop(self) -> None: ...


class HttpTarget:
    """POST each event, retrying transient failures with backoff."""

    def __init__(self, url: str, *, api_key: str | None = None,
                 endpoint: str = "api/v1/lineage", concurrency: int = 8,
                 first_backoff_s: float = 0.5, max_backoff_s: float = 30.0,
                 timeout_s: float = 10.0) -> None:
        self.url = f"{url.rstrip('/')}/{endpoint.lstrip('/')}"
        self.headers = {"Content-Type": "application/json"}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"
        self.concurrency = concurrency
        self.first_backoff_s = first_backoff_s
        self.max_backoff_s = max_backoff_s
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.sent = 0
        self.retries = 0
        self.rejected = 0
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=self.timeout, headers=self.headers)

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(self, events: list[dict[str, Any]]) -> None:
        gate = asyncio.Semaphore(self.concurrency)

        async def one(event: dict[str, Any]) -> None:
            async with gate:
                await self._post(event)

        await asyncio.gather(*(one(e) for e in events))

    async def _post(self, event: dict[str, Any]) -> None:
        assert self._session is not None, "start() the target first"
        body = orjson.dumps(event)
        delay = self.first_backoff_s
        while True:
            try:
                async with self._session.post(self.url, data=body) as response:
                    status = response.status
                    await response.read()
            except (aiohttp.ClientError, TimeoutError) as exc:
                status, why = 0, type(exc).__name__
            else:
                why = f"HTTP {status}"
            if 200 <= status < 300:
                self.sent += 1
                return
            if 400 <= status < 500 and status not in (408, 429):
                self.rejected += 1
                log.warning("%s refused the event of job %r: %s", self.url,
                            event.get("job", {}).get("name"), why)
                return
            self.retries += 1
            log.info("%s: %s; retrying in %.1f s", self.url, why, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.max_backoff_s)


class KafkaTarget:
    """Produce each event to `topic` (a full topic name, not prefixed)."""

    def __init__(self, settings: Settings, topic: str) -> None:
        self.settings = settings
        self.topic = topic
        self.sent = 0
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        self._producer = make_producer(self.settings)
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()

    async def send(self, events: list[dict[str, Any]]) -> None:
        assert self._producer is not None, "start() the target first"
        pending = [await self._producer.send(self.topic, orjson.dumps(e), kafka_key(e).encode())
                   for e in events]
        for future in pending:
            await future
        self.sent += len(events)
