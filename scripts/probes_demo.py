"""`make probes-demo`: two real services under `lineage-probe run`, and the graph they make.

Starts a worker under a fresh topic prefix, then the demo services of
examples/probes_demo (users-api: FastAPI under uvicorn; mailer: Flask under
gunicorn; one SQLite database) with the probes on, drives users-api with a
real HTTP client, waits for the graph to settle and prints it: request field
-> DB column -> log field -> the other service's input, found by payload
matching, with no event written by hand. Kafka must be up (`lineage kafka up`).

    python -m scripts.probes_demo [--requests N] [--sample-rate R]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import time
from typing import Any

from loadtest.probes_services import Probes, demo_services, drive, prepare_topics


def chains(edges: dict[str, dict[str, Any]], mailer_url: str) -> list[list[str]]:
    """The flows the demo is about, as paths through the discovered edges."""
    port = mailer_url.rsplit(":", 1)[1]
    wanted = [
        ["web://users-api/users#name", "sqlite://demo.db/users#name",
         "log://mailer/mailer#message"],
        ["web://users-api/users#email", "sqlite://demo.db/users#email_sha256",
         "sqlite://demo.db/outbox#recipient_sha256"],
        ["web://users-api/users#city", f"http://127.0.0.1:{port}/welcome/{{id}}#city"],
        ["web://mailer/welcome/{user_id}#city", "sqlite://demo.db/outbox#city"],
        ["web://users-api/users#city", "log://users-api/users_api#message"],
    ]
    found = {(e["src"], e["dst"]): e for e in edges.values()}
    out = []
    for path in wanted:
        steps = [path[0]]
        for src, dst in itertools.pairwise(path):
            edge = found.get((src, dst))
            how = "missing" if edge is None else \
                f"{edge['confidence']} {','.join(edge['kinds'])}"
            steps.append(f"  --({how})--> {dst}")
        out.append(steps)
    return out


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console
    from rich.table import Table

    from loadtest.settle import settle
    from streams.settings import Settings
    from tests.integration.worker import cli_args, start_worker, stop_worker

    parser = argparse.ArgumentParser(prog="python -m scripts.probes_demo",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="users to create (300)")
    parser.add_argument("--sample-rate", type=float, default=1.0, help="probe sample rate (1.0)")
    args = parser.parse_args(argv)
    console = Console() if sys.stdout.isatty() else Console(width=200)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Settings.from_env()
    settings = Settings(bootstrap_servers=base.bootstrap_servers,
                        topic_prefix=f"probes-demo-{stamp}-",
                        data_dir=base.data_dir / f"probes-demo-{stamp}")
    prepare_topics(settings)
    console.print(f"[bold]probes demo[/] prefix {settings.topic_prefix}  logs {settings.data_dir}")
    worker = start_worker(settings)
    try:
        probes = Probes(settings.bootstrap_servers, settings.topic_prefix, args.sample_rate)
        with demo_services(settings.data_dir / "services", probes) as services:
            result = asyncio.run(drive(services.users_url, args.requests))
            console.print(f"drove users-api: {result.ok} users created and read back "
                          f"({result.failed} failed) in {result.seconds:.1f} s")
            with console.status("waiting for the graph to settle"):
                edges = settle(lambda: asyncio.run(_edges(settings)), _has_flows,
                               timeout_s=120, settle_s=6, poll_s=1)
    finally:
        stop_worker(worker)
    shown = sorted((e for e in edges.values() if e["confidence"] != "low"),
                   key=lambda e: (e["src"], e["dst"]))
    table = Table(title=f"discovered flows ({len(shown)} of {len(edges)} edges; "
                        "low-confidence NO_MATCH candidates not shown)")
    for column in ("source", "destination", "confidence", "kinds"):
        table.add_column(column)
    for edge in shown:
        table.add_row(edge["src"], edge["dst"], edge["confidence"], ",".join(edge["kinds"]))
    console.print(table)
    console.print("\n[bold]the flows through both services[/]")
    for steps in chains(edges, services.mailer_url):
        console.print("\n".join(steps) + "\n", markup=False)
    console.print("query it: .venv/bin/lineage graph downstream 'web://users-api/users#name' "
                  + " ".join(cli_args(settings)))
    return 0


async def _edges(settings: Any) -> dict[str, dict[str, Any]]:
    from loadtest.graph_view import current_edges
    return await current_edges(settings)


def _has_flows(edges: dict[str, dict[str, Any]]) -> bool:
    return any(e["src"].startswith("web://users-api/") and e["confidence"] == "high"
               for e in edges.values())


if __name__ == "__main__":
    raise SystemExit(main())
