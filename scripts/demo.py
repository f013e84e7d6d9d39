"""`make demo`: run the pipeline on the bundled example and show the graph.

Starts a worker under a fresh topic prefix (so reruns do not mix), sends
examples/photo_location.jsonl, waits until the graph stops changing, prints
its edges, and stops the worker. Kafka must be up (`lineage kafka up`).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
from rich.console import Console
from rich.table import Table

from loadtest.graph_view import current_edges
from loadtest.settle import settle
from streams.kafka.topic_reader import read_latest
from streams.settings import Settings
from vocab import CONFIDENCE_RANK

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "photo_location.jsonl"


def lineage(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "lineage"), *args]


def wait_for_stable_graph(settings: Settings, console: Console, timeout_s: float = 120) -> dict:
    with console.status("waiting for the graph to settle") as status:
        return settle(
            lambda: asyncio.run(current_edges(settings)), bool, timeout_s=timeout_s,
            settle_s=6, poll_s=1,
            on_change=lambda edges: status.update(
                f"graph has {len(edges)} edges; waiting for it to settle"))


def read_violations(settings: Settings) -> list:
    latest = asyncio.run(read_latest(settings, "policy-violations"))
    return sorted((orjson.loads(v) for v in latest.values() if v is not None),
                  key=lambda e: (e["policy_id"], e["sink"]))


def wait_for_violations(settings: Settings, console: Console, timeout_s: float = 60) -> list:
    """The latest event of every violation key, once they stop changing."""
    with console.status("waiting for the policy monitor"):
        return settle(lambda: read_violations(settings), bool, timeout_s=timeout_s,
                      settle_s=4, poll_s=1)


def main() -> int:
    console = Console() if sys.stdout.isatty() else Console(width=200)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Settings.from_env()
    settings = Settings(bootstrap_servers=base.bootstrap_servers, topic_prefix=f"demo-{stamp}-",
                        data_dir=base.data_dir / f"demo-{stamp}")
    common = ["--bootstrap-servers", settings.bootstrap_servers,
              "--topic-prefix", settings.topic_prefix, "--data-dir", str(settings.data_dir)]
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    log_path = settings.data_dir / "worker.log"
    console.print(f"[bold]demo[/] prefix {settings.topic_prefix}  worker log {log_path}")
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(lineage("worker", *common), stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        sent = subprocess.run(lineage("send", str(EXAMPLE), *common), check=False)
        if sent.returncode != 0:
            console.print("[red]sending the example failed[/]")
            return 1
        edges = wait_for_stable_graph(settings, console)
        violations = wait_for_violations(settings, console)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
    if not edges:
        console.print(f"[red]no edges arrived; see {log_path}[/]")
        return 1
    table = Table(title=f"lineage graph ({len(edges)} edges)")
    for column in ("source", "destination", "confidence", "kinds", "score"):
        table.add_column(column)
    ordered = sorted(edges.values(),
                     key=lambda e: (-CONFIDENCE_RANK[e["confidence"]], e["src"], e["dst"]))
    for edge in ordered:
        table.add_row(edge["src"], edge["dst"], edge["confidence"], ",".join(edge["kinds"]),
                      f"{edge['score']:.2f}")
    console.print(table)
    console.print(f"\n[bold]policy violations ({len(violations)})[/]")
    for event in violations:
        console.print(f"[bold]{event['status']}[/] {event['policy_id']}: {event['sink']} "
                      f"({event['confidence']}, label {event['label']})")
        console.print("    " + "\n -> ".join(event["path"]).replace("\n", "\n    "))
    console.print(f"query it: .venv/bin/lineage graph downstream '{edges_root(edges)}' "
                  f"--topic-prefix {settings.topic_prefix} --data-dir {settings.data_dir}")
    return 0


def edges_root(edges: dict) -> str:
    """A protected-looking source to suggest for a first query."""
    sources = sorted(e["src"] for e in edges.values() if e["src"].startswith("web://")
                     and "#" in e["src"])
    return sources[0] if sources else next(iter(edges.values()))["src"]


if __name__ == "__main__":
    raise SystemExit(main())
