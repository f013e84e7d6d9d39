"""Console benchmark: the asset view's data request and its first render, on a large graph.

    python -m loadtest.bench_console --edges 1000000 --json

Loads N edges of the `bench_graph` generator into a GraphStore, serves the
worker's API app (graph API + console) from it on a loopback port, and
measures, from random fields, in the same run:

- the asset view's data request (`/api/v1/console/neighbourhood`, both
  directions, `--hops` (2, the page's default), at most 200 nodes: what the
  page asks first) against the plain graph API's downstream query
  (`/graph/downstream`, same hops, unbounded in nodes) of the same root:
  p50/p99 of each and their ratio, over HTTP;
- the time to first render in headless Chromium (`/usr/bin/chromium`, via
  Playwright): from navigation start to the neighbourhood drawn (the page
  stamps `body[data-render-ms]` after layout), for a fresh tab per root.

Requests alternate which endpoint goes first for each root, so neither gets
a warmer cache. No Kafka: violations and zones are not part of this page's
first render.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import socket
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import orjson
from aiohttp import web

from loadtest.bench_graph import generate
from loadtest.measure import percentile, print_figures
from state.graph import GraphStore
from streams.console import Console, register_console
from streams.graph.api import make_api
from streams.settings import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def load(graph: GraphStore, n_edges: int, batch: int = 5000) -> tuple[list[str], float]:
    """Apply `n_edges` generated deltas; the fields that have out-edges (roots), seconds."""
    roots: list[str] = []
    pending: list[tuple[int, int, bytes | None, bytes | None]] = []
    started = time.perf_counter()
    for offset, delta in enumerate(generate(n_edges)):
        if len(roots) < 50_000 and "#" in delta["src"]:
            roots.append(delta["src"])
        pending.append((offset % 4, offset // 4, delta["edge_id"].encode(), orjson.dumps(delta)))
        if len(pending) >= batch:
            graph.apply(pending)
            pending = []
    graph.apply(pending)
    return roots, time.perf_counter() - started


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(graph: GraphStore, workdir: Path) -> Iterator[str]:
    """The worker's API app (graph API + console) on a loopback port, in its own thread."""
    port = _free_port()
    loop = asyncio.new_event_loop()
    started = threading.Event()
    runner_box: list[web.AppRunner] = []

    async def start() -> None:
        app = make_api(graph)
        settings = Settings(bootstrap_servers="127.0.0.1:9", data_dir=workdir)
        register_console(app, Console(settings, lambda: graph))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        runner_box.append(runner)
        started.set()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()

    thread = threading.Thread(target=run, name="bench-console-api", daemon=True)
    thread.start()
    started.wait(30)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner_box[0].cleanup(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)


def _get(url: str) -> tuple[float, dict[str, Any]]:
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:
        body = orjson.loads(response.read())
    return (time.perf_counter() - t0) * 1000, body


def measure_requests(base: str, roots: list[str], warmup: int, hops: int) -> dict[str, Any]:
    console_ms: list[float] = []
    graph_ms: list[float] = []
    drawn: list[int] = []
    hidden: list[int] = []
    for i, root in enumerate(roots):
        console_url = f"{base}/api/v1/console/neighbourhood?" + urlencode(
            {"uri": root, "hops": hops, "limit": 200})
        graph_url = f"{base}/graph/downstream?" + urlencode({"asset": root, "max_hops": hops})
        first, second = ((console_url, graph_url) if i % 2 else (graph_url, console_url))
        a, body_a = _get(first)
        b, body_b = _get(second)
        if i < warmup:
            continue
        c_ms, g_ms, c_body = (b, a, body_b) if first == graph_url else (a, b, body_a)
        console_ms.append(c_ms)
        graph_ms.append(g_ms)
        drawn.append(len(c_body["nodes"]))
        hidden.append(c_body["hidden"])
    c50, c99 = percentile(console_ms, 50), percentile(console_ms, 99)
    g50, g99 = percentile(graph_ms, 50), percentile(graph_ms, 99)
    return {
        "console_request_p50_ms": round(c50, 2), "console_request_p99_ms": round(c99, 2),
        "graph_api_p50_ms": round(g50, 2), "graph_api_p99_ms": round(g99, 2),
        "p50_ratio_console_to_graph_api": round(c50 / g50, 2) if g50 else None,
        "p99_ratio_console_to_graph_api": round(c99 / g99, 2) if g99 else None,
        "drawn_nodes_p50": percentile(drawn, 50), "drawn_nodes_max": max(drawn, default=0),
        "hidden_p50": percentile(hidden, 50), "hidden_max": max(hidden, default=0),
        "requests": len(console_ms),
    }


def measure_render(base: str, roots: list[str], hops: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    render_ms: list[float] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            for root in roots:
                page = context.new_page()
                page.goto(f"{base}/ui/asset?uri={quote(root)}&hops={hops}")
                page.wait_for_selector("body[data-render-ms]", timeout=60_000)
                render_ms.append(float(page.get_attribute("body", "data-render-ms") or 0))
                page.close()
        finally:
            browser.close()
    return {"first_render_p50_ms": round(percentile(render_ms, 50), 1),
            "first_render_p99_ms": round(percentile(render_ms, 99), 1),
            "first_render_max_ms": round(max(render_ms, default=0.0), 1),
            "renders": len(render_ms)}


def run(n_edges: int, *, requests: int = 300, warmup: int = 30, renders: int = 20,
        hops: int = 2, seed: int = 11) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-console-"))
    try:
        graph = GraphStore.open(workdir / "graph")
        roots, load_s = load(graph, n_edges)
        rng = random.Random(seed)
        report: dict[str, Any] = {"edges": n_edges, "hops": hops, "load_s": round(load_s, 1)}
        with serving(graph, workdir) as base:
            report |= measure_requests(base, [rng.choice(roots) for _ in range(requests + warmup)],
                                       warmup, hops)
            if renders:
                report |= measure_render(base, [rng.choice(roots) for _ in range(renders)], hops)
                report["first_render_p50_over_graph_api_p50"] = round(
                    report["first_render_p50_ms"] / report["graph_api_p50_ms"], 1)
        graph.close()
        return report
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edges", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--renders", type=int, default=20,
                        help="page loads in headless Chromium (0: skip the browser)")
    parser.add_argument("--hops", type=int, default=2,
                        help="hop limit of both queries (the page's default: 2)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    report = run(args.edges, requests=args.requests, warmup=args.warmup, renders=args.renders,
                 hops=args.hops)
    print_figures(report, as_json=args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
