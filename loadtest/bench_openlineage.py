"""OpenLineage HTTP intake benchmark: events/s and p99 latency, against a no-op aiohttp floor.

Run: ``python -m loadtest.bench_openlineage [--seconds S] [--concurrency C] [--json]``
(needs the broker on ``--bootstrap-servers``, default 127.0.0.1:9092).

Two servers, each in its own process, take the same events in the same run:

- *floor*: a bare aiohttp handler that reads the body and answers 201 (the
  HTTP cost alone: what no intake can beat on this machine);
- *intake*: the worker's real `POST /api/v1/lineage` (`streams.openlineage.intake`):
  full validation, then produced to `openlineage-events` under a throw-away
  topic prefix and acknowledged by the broker before the 201.

Each event is a COMPLETE RunEvent of a new run whose output carries a
`columnLineage` facet of 20 columns (and a 20-field `schema` facet on its
input and output). For each server: (a) *throughput*: `--concurrency`
requests in flight for `--seconds`; (b) *latency*: an open-loop sender at
half the intake's measured throughput for `--seconds`, p50/p99 per request.
The client runs in this process; the machine is shared, so read the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import statistics
import time
import uuid
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from loadtest.measure import print_figures
from streams.settings import Settings

COLUMNS = 20
NS = "postgres://shop-db:5432"


def make_event(i: int) -> bytes:
    fields = [f"col_{c}" for c in range(COLUMNS)]
    facet = {"_producer": "https://bench", "_schemaURL": "https://openlineage.io/spec/facets/x"}
    schema = {**facet, "fields": [{"name": f, "type": "varchar"} for f in fields]}
    lineage = {**facet, "fields": {f"out_{f}": {"inputFields": [{
        "namespace": NS, "name": "shop.public.orders", "field": f,
        "transformations": [{"type": "DIRECT", "subtype": "IDENTITY", "masking": False}]}]}
        for f in fields}}
    return orjson.dumps({
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "eventTime": "2026-01-01T00:00:00.000Z", "producer": "https://bench/ol",
        "eventType": "COMPLETE", "run": {"runId": str(uuid.UUID(int=i + 1))},
        "job": {"namespace": "bench", "name": f"job_{i % 50}"},
        "inputs": [{"namespace": NS, "name": "shop.public.orders", "facets": {"schema": schema}}],
        "outputs": [{"namespace": NS, "name": f"shop.public.copy_{i % 50}",
                     "facets": {"schema": {**facet, "fields": [
                         {"name": f"out_{f}"} for f in fields]}, "columnLineage": lineage}}],
    })


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(kind: str, port: int, bootstrap: str, prefix: str) -> None:
    """A server process: the no-op floor or the real intake."""

    async def main() -> None:
        app = web.Application()
        if kind == "intake":
            from streams.openlineage.intake import add_lineage_routes

            add_lineage_routes(app, Settings(bootstrap_servers=bootstrap, topic_prefix=prefix))
        else:
            async def noop(request: web.Request) -> web.Response:
                await request.read()
                return web.Response(status=201)

            app.router.add_post("/api/v1/lineage", noop)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await asyncio.Event().wait()

    asyncio.run(main())


async def _wait_up(session: aiohttp.ClientSession, url: str) -> None:
    for _ in range(200):
        try:
            async with session.get(url) as response:
                await response.read()
                return
        except aiohttp.ClientError:
            await asyncio.sleep(0.1)
    raise RuntimeError(f"server at {url} never came up")


async def _first_accepted(session: aiohttp.ClientSession, url: str, body: bytes,
                          timeout_s: float = 60.0) -> None:
    """Wait until one event is answered 201 (not measured): on a broker started a
    moment ago, the new topics' leaders may not be known yet and the intake refuses."""
    deadline = time.perf_counter() + timeout_s
    while True:
        async with session.post(url, data=body,
                                headers={"Content-Type": "application/json"}) as r:
            await r.read()
            if r.status == 201:
                return
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{url} answered {r.status}, never 201, for {timeout_s:.0f} s")
        await asyncio.sleep(0.5)


async def _throughput(url: str, bodies: list[bytes], seconds: float,
                      concurrency: int) -> tuple[float, int]:
    """Requests/s with `concurrency` in flight; and how many answers were not 201."""
    done = bad = 0
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        await _wait_up(session, url.rsplit("/api", 1)[0] + "/")
        await _first_accepted(session, url, bodies[0])

        async def worker(offset: int) -> None:
            nonlocal done, bad
            i = offset
            while time.perf_counter() < deadline:
                async with session.post(url, data=bodies[i % len(bodies)],
                                        headers={"Content-Type": "application/json"}) as r:
                    await r.read()
                    bad += r.status != 201
                done += 1
                i += concurrency

        start = time.perf_counter()
        await asyncio.gather(*(worker(k) for k in range(concurrency)))
        elapsed = time.perf_counter() - start
    return done / elapsed, bad


async def _latency(url: str, bodies: list[bytes], seconds: float,
                   rate: float) -> tuple[float, float, float]:
    """Open loop at `rate`/s: (achieved rate, p50 ms, p99 ms) of the request latencies."""
    latencies: list[float] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        async def one(body: bytes) -> None:
            start = time.perf_counter()
            async with session.post(url, data=body,
                                    headers={"Content-Type": "application/json"}) as r:
                await r.read()
            latencies.append((time.perf_counter() - start) * 1000)

        tasks = []
        begin = time.perf_counter()
        n = int(rate * seconds)
        for i in range(n):
            delay = begin + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(bodies[i % len(bodies)])))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - begin
    cuts = statistics.quantiles(latencies, n=100)
    return n / elapsed, cuts[49], cuts[98]


def _measure(kind: str, args: argparse.Namespace, bodies: list[bytes], prefix: str,
             rate: float | None) -> dict[str, float]:
    port = _free_port()
    ctx = multiprocessing.get_context("spawn")
    server = ctx.Process(target=_serve, args=(kind, port, args.bootstrap_servers, prefix),
                         daemon=True)
    server.start()
    try:
        url = f"http://127.0.0.1:{port}/api/v1/lineage"
        per_s, bad = asyncio.run(_throughput(url, bodies, args.seconds, args.concurrency))
        if bad:
            raise RuntimeError(f"{kind}: {bad} requests were not answered 201")
        half = (rate if rate is not None else per_s) / 2
        achieved, p50, p99 = asyncio.run(_latency(url, bodies, args.seconds, half))
        return {"events_per_s": round(per_s), "latency_rate": round(achieved),
                "p50_ms": round(p50, 2), "p99_ms": round(p99, 2)}
    finally:
        server.terminate()
        server.join(10)


async def _topics(settings: Settings, create: bool) -> None:
    from streams.kafka.clients import new_admin
    from streams.kafka.topics import ensure_topics
    from streams.pipeline.topology import load_topology

    if create:
        await ensure_topics(settings, load_topology())
        return
    admin = new_admin(settings)
    await admin.start()
    try:
        names = [t for t in await admin.list_topics() if t.startswith(settings.topic_prefix)]
        if names:
            await admin.delete_topics(names)
    finally:
        await admin.close()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--events", type=int, default=2000, help="distinct event bodies")
    parser.add_argument("--bootstrap-servers", default="127.0.0.1:9092")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    bodies = [make_event(i) for i in range(args.events)]
    prefix = f"bench-ol-{uuid.uuid4().hex[:8]}-"
    settings = Settings(bootstrap_servers=args.bootstrap_servers, topic_prefix=prefix)
    asyncio.run(_topics(settings, create=True))
    try:
        intake = _measure("intake", args, bodies, prefix, None)
        floor = _measure("floor", args, bodies, prefix, intake["events_per_s"])
    finally:
        asyncio.run(_topics(settings, create=False))
    figures: dict[str, Any] = {
        "event_bytes": len(bodies[0]), "columns": COLUMNS, "concurrency": args.concurrency,
        "seconds": args.seconds,
        **{f"intake_{k}": v for k, v in intake.items()},
        **{f"floor_{k}": v for k, v in floor.items()},
        "intake_over_floor": round(intake["events_per_s"] / floor["events_per_s"], 2),
    }
    print_figures(figures, as_json=args.json)
    return figures


if __name__ == "__main__":
    main()
