"""`lineage loadtest`: generated traffic at a set rate, scored against its ground truth."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import signal
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
@click.option("--keep-topics/--delete-topics", "keep_topics", default=None,
              help="Keep or delete the run's topics (every topic under the prefix) at the "
                   "end. Default: delete them, with the workers' state, when the run made "
                   "its own prefix; keep them under a --topic-prefix you gave.")
def loadtest_command(settings: Settings, rate: int, duration: float, workers: int, seed: int,
                     fmt: str, report_dir: Path | None, keep_topics: bool | None) -> None:
    """Send generated traffic at RATE for DURATION and measure the pipeline.

    Without --topic-prefix the run gets a fresh prefix `lt-<time>-`, and its
    topics and the workers' state are deleted at the end (a run at 50,000/s
    for a minute leaves about a gigabyte on the broker); --keep-topics keeps
    them. Prints sustained events/s, end-to-end latency (p50/p99), max
    consumer lag, dead letters, and precision/recall of high-confidence
    edges against the truth.
    """
    from loadtest.driver import LoadSpec, run_load
    from loadtest.report import headline, write_report

    own_prefix = not settings.topic_prefix
    if own_prefix:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        settings = dataclasses.replace(settings, topic_prefix=f"lt-{stamp}-",
                                       data_dir=settings.data_dir / f"lt-{stamp}")
    delete = not keep_topics if keep_topics is not None else own_prefix
    spec = LoadSpec(rate=rate, duration_s=duration, workers=max(workers, 1), seed=seed,
                    start_workers=workers > 0)
    err = Console(stderr=True)
    # A terminated run unwinds as an interrupted one does: its workers are stopped
    # (they run in sessions of their own and would outlive it) and its topics deleted.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    with err.status("starting") as status:
        def progress(stage: str, fraction: float) -> None:
            status.update(f"{stage} {fraction:4.0%}")

        try:
            result = asyncio.run(run_load(settings, spec, progress))
        except RuntimeError as exc:
            raise fail(str(exc)) from exc
        finally:
            if delete:
                status.update("deleting the run's topics")
                _delete_run(settings, own_data_dir=own_prefix, err=err)
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


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _delete_run(settings: Settings, *, own_data_dir: bool, err: Console) -> None:
    """Delete the run's topics (and its workers' state when the run named the
    directory); a failure is reported, never raised over the run's result."""
    from streams.kafka.topics import delete_prefixed_topics

    try:
        names = asyncio.run(delete_prefixed_topics(settings))
    except Exception as exc:  # the broker may be the reason the run failed
        err.print(f"could not delete the topics under {settings.topic_prefix!r}: "
                  f"{type(exc).__name__}")
    else:
        err.print(f"deleted {len(names)} topics under {settings.topic_prefix!r}")
    if own_data_dir:
        shutil.rmtree(settings.data_dir, ignore_errors=True)
