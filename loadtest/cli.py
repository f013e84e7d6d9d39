"""`lineage loadtest`: generated traffic at a set rate, scored against its ground truth."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import click
import orjson
from rich.console import Console
from rich.table import Table

from streams.cli.common import common_options, fail
from streams.settings import Settings


@click.command("loadtest")
@common_options
@click.option("--rate", type=click.IntRange(min=1), default=2000, show_default=True,
              help="Target input events per second.")
@click.option("--duration", type=click.FloatRange(min=1), default=30, show_default=True,
              help="Seconds of sending.")
@click.option("--workers", type=click.IntRange(min=0), default=1, show_default=True,
              help="Workers to start (0: use workers already running on the prefix).")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["json", "table"]), default="table",
              show_default=True)
@click.option("--report", "report_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Write report.json and PNG plots here.")
def loadtest_command(settings: Settings, rate: int, duration: float, workers: int, seed: int,
                     fmt: str, report_dir: Path | None) -> None:
    """Send generated traffic at RATE for DURATION and measure the pipeline.

    Without --topic-prefix the run gets a fresh prefix `lt-<time>-`. Prints
    sustained events/s, end-to-end latency (p50/p99), max consumer lag, dead
    letters, and precision/recall of high-confidence edges against the truth.
    """
    from loadtest.driver import LoadSpec, run_load
    from loadtest.report import headline, write_report

    if not settings.topic_prefix:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        settings = Settings(settings.bootstrap_servers, f"lt-{stamp}-",
                            settings.data_dir / f"lt-{stamp}")
    spec = LoadSpec(rate=rate, duration_s=duration, workers=max(workers, 1), seed=seed,
                    start_workers=workers > 0)
    err = Console(stderr=True)
    with err.status("starting") as status:
        def progress(stage: str, fraction: float) -> None:
            status.update(f"{stage} {fraction:4.0%}")

        try:
            result = asyncio.run(run_load(settings, spec, progress))
        except RuntimeError as exc:
            raise fail(str(exc)) from exc
    if report_dir is not None:
        for path in write_report(result, report_dir):
            err.print(f"wrote {path}")
    summary = headline(result)
    if fmt == "json":
        click.echo(orjson.dumps(summary).decode())
        return
    table = Table(title=f"load test ({settings.topic_prefix})")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        table.add_row(key, str(value))
    Console().print(table)
