"""`lineage graph downstream|upstream|path|export`: ask the lineage graph questions.

Each call first catches up the CLI's own replica (`DATA_DIR/graph-view/PREFIX`)
to the current end of the `lineage-graph` topic, then answers from it; it
never opens a worker's stores, so it works while workers run.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click
import orjson

from state.graph import (
    EdgeFilter,
    GraphStore,
    Limits,
    TraversalError,
    find_path,
    traverse,
)
from streams.cli.common import common_options, fail
from streams.graph.format import (
    RenderError,
    dot,
    export_graphml,
    export_json,
    export_parquet,
    path_json,
    path_table,
    png,
    traversal_table,
)
from streams.graph.replica import (
    GraphMaterializer,
    GraphSourceError,
    cli_replica_path,
    open_replica,
)
from streams.settings import Settings
from vocab import CONFIDENCE_RANK

F = TypeVar("F", bound=Callable[..., Any])

CONFIDENCE = click.Choice(["low", "medium", "high"])


def query_options(func: F) -> F:
    """Filters and bounds shared by traversals and paths."""
    for option in reversed([
        click.option("--min-confidence", type=CONFIDENCE, default="low", show_default=True,
                     help="Follow only edges at least this confident."),
        click.option("--max-hops", type=click.IntRange(min=1), default=None,
                     help="Stop after this many edges from the start (default: no limit)."),
        click.option("--kind", "kinds", multiple=True, metavar="KIND",
                     help="Follow only edges with this kind (repeatable: any of them)."),
        click.option("--max-nodes", type=click.IntRange(min=1), default=100_000,
                     show_default=True, help="Fail past this many reached assets."),
        click.option("--timeout", "timeout_s", type=float, default=5.0, show_default=True,
                     help="Fail past this many seconds of traversal."),
        click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="Write to this file instead of stdout (required for png)."),
        click.option("--offline", is_flag=True,
                     help="Answer from the local replica as last synced, without Kafka."),
    ]):
        func = option(func)
    return func


@contextlib.contextmanager
def synced_graph(settings: Settings, *, offline: bool = False) -> Iterator[GraphStore]:
    """The CLI's replica, caught up to the topic's current end unless `offline`."""
    with open_replica(cli_replica_path(settings)) as graph:
        if not offline:
            try:
                asyncio.run(GraphMaterializer(graph, settings).catch_up())
            except GraphSourceError as exc:
                raise fail(str(exc)) from exc
        yield graph


def _emit(data: str | bytes, out: Path | None) -> None:
    raw = data.encode() if isinstance(data, str) else data
    if out is None:
        sys.stdout.buffer.write(raw)
        sys.stdout.flush()
    else:
        out.write_bytes(raw)


def _png(dot_text: str, out: Path | None) -> None:
    if out is None:
        raise fail("--format png needs --out FILE.png")
    try:
        png(dot_text, out)
    except RenderError as exc:
        raise fail(str(exc)) from exc


@click.group("graph")
def graph_group() -> None:
    """Query the lineage graph: downstream, upstream, path, export."""


def _traversal_command(direction: str) -> click.Command:
    @click.command(direction)
    @common_options
    @click.argument("asset")
    @query_options
    @click.option("--format", "fmt", type=click.Choice(["json", "table", "dot", "png"]),
                  default="json", show_default=True)
    def command(settings: Settings, asset: str, min_confidence: str, max_hops: int | None,
                kinds: tuple[str, ...], max_nodes: int, timeout_s: float, out: Path | None,
                offline: bool, fmt: str) -> None:
        with synced_graph(settings, offline=offline) as graph:
            try:
                result = traverse(graph, asset, direction,  # type: ignore[arg-type]
                                  edge_filter=EdgeFilter.of(min_confidence, kinds),
                                  max_hops=max_hops,
                                  limits=Limits(max_nodes=max_nodes, time_budget_s=timeout_s))
            except TraversalError as exc:
                raise fail(str(exc)) from exc
        if fmt == "json":
            _emit(orjson.dumps(result.to_json(), option=orjson.OPT_INDENT_2) + b"\n", out)
        elif fmt == "table":
            _emit(traversal_table(result), out)
        elif fmt == "dot":
            _emit(dot(result.edges, highlight=[asset]), out)
        else:
            _png(dot(result.edges, highlight=[asset]), out)

    command.__doc__ = (f"Every asset {'reached from' if direction == 'downstream' else 'feeding'}"
                       " ASSET, with the edges followed.")
    return command


@click.command("path")
@common_options
@click.argument("src")
@click.argument("dst")
@query_options
@click.option("--format", "fmt", type=click.Choice(["json", "table", "dot", "png"]),
              default="json", show_default=True)
def path_command(settings: Settings, src: str, dst: str, min_confidence: str,
                 max_hops: int | None, kinds: tuple[str, ...], max_nodes: int, timeout_s: float,
                 out: Path | None, offline: bool, fmt: str) -> None:
    """How SRC reaches DST: fewest hops, then the strongest weakest edge, with evidence.

    Exits 1 when there is no path (the answer is still printed).
    """
    with synced_graph(settings, offline=offline) as graph:
        try:
            path = find_path(graph, src, dst, edge_filter=EdgeFilter.of(min_confidence, kinds),
                             max_hops=max_hops,
                             limits=Limits(max_nodes=max_nodes, time_budget_s=timeout_s))
        except TraversalError as exc:
            raise fail(str(exc)) from exc
        doc = path_json(path, src, dst, graph)
    if fmt == "json":
        _emit(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n", out)
    elif fmt == "table":
        _emit(path_table(doc), out)
    elif fmt == "dot":
        _emit(dot(doc["edges"], highlight=[src, dst]), out)
    else:
        _png(dot(doc["edges"], highlight=[src, dst]), out)
    if path is None:
        raise fail(f"no path from {src} to {dst}")


@click.command("export")
@common_options
@click.option("--format", "fmt",
              type=click.Choice(["json", "dot", "graphml", "parquet", "png"]),
              default="json", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file (required for parquet and png; else stdout).")
@click.option("--min-confidence", type=CONFIDENCE, default="low", show_default=True,
              help="Export only edges at least this confident.")
@click.option("--offline", is_flag=True,
              help="Export the local replica as last synced, without Kafka.")
def export_command(settings: Settings, fmt: str, out: Path | None, min_confidence: str,
                   offline: bool) -> None:
    """Every live edge with its attributes and evidence."""
    if fmt in ("parquet", "png") and out is None:
        raise fail(f"--format {fmt} needs --out FILE")
    floor = CONFIDENCE_RANK[min_confidence]
    with synced_graph(settings, offline=offline) as graph:
        edges = [e for e in graph.edges() if CONFIDENCE_RANK.get(e["confidence"], 0) >= floor]
    if fmt == "json":
        _emit(export_json(edges), out)
    elif fmt == "dot":
        _emit(dot(edges), out)
    elif fmt == "graphml":
        _emit(export_graphml(edges), out)
    elif fmt == "parquet":
        assert out is not None
        rows = export_parquet(edges, out)
        click.echo(f"wrote {rows} edges to {out}", err=True)
    else:
        _png(dot(edges), out)


for _command in (_traversal_command("downstream"), _traversal_command("upstream"),
                 path_command, export_command):
    graph_group.add_command(_command)
