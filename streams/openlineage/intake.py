"""OpenLineage over HTTP, Marquez-compatible: `POST /api/v1/lineage` and `/api/v1/lineage/batch`.

Served on the worker's API port (behind the graph API's token rule). A good
event is produced to `openlineage-events`, keyed as OpenLineage's own Kafka
transport keys it, and acknowledged by the broker before the answer, so HTTP
and Kafka take one path and an accepted event is never lost. A bad event is
answered 400 with a one-line reason and kept as a dead letter. A body past
`MAX_BODY_BYTES` is refused (413) before it is read.

Answers (OpenLineage's OpenAPI, spec/OpenLineage.yml): one event, 201; a
batch, 200 with `{"status": "success" | "partial_success", "summary":
{"received", "successful", "failed", "retriable", "non_retriable"},
"failed_events": [{"index", "reason", "retriable"}]}`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web
from aiokafka import AIOKafkaProducer

from analyzers.events import InvalidEvent
from analyzers.openlineage import decode, kind_of
from streams.kafka.clients import new_producer
from streams.pipeline.deadletters import Origin, dead_letter_record
from streams.pipeline.metrics import Metrics
from streams.settings import Settings

LINEAGE_PATH = "/api/v1/lineage"
BATCH_PATH = "/api/v1/lineage/batch"
#: Fits a Kafka message (and its dead letter) under the broker's default limit.
MAX_BODY_BYTES = 1 << 20
TOPIC = "openlineage-events"
AGENT = "openlineage-http"
NOT_A_BATCH = "openlineage: a batch must be a JSON array of events"
_PRODUCER: web.AppKey[AIOKafkaProducer] = web.AppKey("openlineage_producer", AIOKafkaProducer)


def kafka_key(event: Mapping[str, Any]) -> str:
    """The key OpenLineage's Kafka transport gives an event (its parent's job for a child run)."""
    if "dataset" in event and "job" not in event:
        return f"dataset:{event['dataset']['namespace']}/{event['dataset']['name']}"
    job = event["job"]
    if "run" not in event:
        return f"job:{job['namespace']}/{job['name']}"
    parent = ((event["run"].get("facets") or {}).get("parent") or {})
    for source in (parent.get("root", {}).get("job"), parent.get("job")):
        if isinstance(source, dict) and source.get("namespace") and source.get("name"):
            return f"run:{source['namespace']}/{source['name']}"
    return f"run:{job['namespace']}/{job['name']}"


class _TooLarge(Exception):
    pass


async def _read_body(request: web.Request) -> bytes:
    length = request.content_length
    if length is not None and length > MAX_BODY_BYTES:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(1 << 16):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _json(data: Any, status: int) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


class LineageIntake:
    """The two routes, with the producer they share."""

    def __init__(self, settings: Settings, metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.metrics = metrics or Metrics()
        self.topic = settings.topic(TOPIC)
        self._dead_seq = 0

    def producer(self, request: web.Request) -> AIOKafkaProducer:
        return request.app[_PRODUCER]

    async def _dead_letter(self, request: web.Request, reason: str, raw: bytes,
                           index: int) -> None:
        self._dead_seq += 1
        now = int(time.time() * 1000)
        origin = Origin(request.path.lstrip("/"), index, now * 1000 + self._dead_seq % 1000)
        record = dead_letter_record(origin, reason, key=None, value=raw, ts=now, agent=AGENT)
        await self.producer(request).send_and_wait(
            self.settings.topic("dead-letters"), record, origin.key.encode())
        self.metrics.incr(f"{AGENT}.dead_letters")

    async def _refuse(self, request: web.Request, reason: str, raw: bytes) -> web.Response:
        await self._dead_letter(request, reason, raw, 0)
        return _json({"error": reason}, 400)

    async def _parse(self, request: web.Request) -> tuple[bytes, Any] | web.Response:
        """The body and its JSON, or the answer refusing it (413, or 400 + a dead letter)."""
        try:
            raw = await _read_body(request)
        except _TooLarge:
            return _too_large()
        try:
            return raw, decode(raw)
        except InvalidEvent as exc:
            return await self._refuse(request, exc.reason, raw)

    async def post_one(self, request: web.Request) -> web.Response:
        parsed = await self._parse(request)
        if isinstance(parsed, web.Response):
            return parsed
        raw, event = parsed
        try:
            kind_of(event)
        except InvalidEvent as exc:
            return await self._refuse(request, exc.reason, raw)
        await self.producer(request).send_and_wait(self.topic, raw, kafka_key(event).encode())
        self.metrics.incr(f"{AGENT}.accepted")
        return web.Response(status=201)

    async def post_batch(self, request: web.Request) -> web.Response:
        parsed = await self._parse(request)
        if isinstance(parsed, web.Response):
            return parsed
        raw, items = parsed
        if not isinstance(items, list):
            return await self._refuse(request, NOT_A_BATCH, raw)
        failed: list[dict[str, Any]] = []
        pending = []
        producer = self.producer(request)
        for index, event in enumerate(items):
            body = orjson.dumps(event)
            try:
                kind_of(event)
            except InvalidEvent as exc:
                await self._dead_letter(request, exc.reason, body, index)
                failed.append({"index": index, "reason": exc.reason, "retriable": False})
                continue
            pending.append(await producer.send(self.topic, body, kafka_key(event).encode()))
        for future in pending:
            await future
        self.metrics.incr(f"{AGENT}.accepted", len(pending))
        return _json({
            "status": "partial_success" if failed else "success",
            "summary": {"received": len(items), "successful": len(pending),
                        "failed": len(failed), "retriable": 0, "non_retriable": len(failed)},
            "failed_events": failed,
        }, 200)


def _too_large() -> web.Response:
    return _json({"error": f"openlineage: body larger than {MAX_BODY_BYTES} bytes"}, 413)


def add_lineage_routes(app: web.Application, settings: Settings,
                       metrics: Metrics | None = None) -> LineageIntake:
    """Register the intake on `app`; its producer starts and stops with the app."""
    intake = LineageIntake(settings, metrics)

    async def start(app: web.Application) -> None:
        # Each request waits for its ack: a short linger (the CLI's is 20 ms)
        # keeps latency low; concurrent requests still share batches.
        producer = new_producer(settings, linger_ms=1, acks="all", enable_idempotence=True,
                                max_batch_size=512 * 1024, max_request_size=2 * MAX_BODY_BYTES)
        await producer.start()
        app[_PRODUCER] = producer

    async def stop(app: web.Application) -> None:
        await app[_PRODUCER].stop()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_post(LINEAGE_PATH, intake.post_one)
    app.router.add_post(BATCH_PATH, intake.post_batch)
    return intake
