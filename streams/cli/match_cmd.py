"""`lineage match FILE.json`: payload matching of one request, offline."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import orjson

from analyzers.payload_match import PayloadMatchError, match_document
from matcher_rs import DEFAULT_MIN_LENGTH, transform_names
from streams.cli.common import common_options, fail


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise fail(f"cannot read {path}: {e.strerror or e.__class__.__name__}") from None


@click.command("match")
@click.argument("file")
@click.option(
    "--min-length",
    type=click.IntRange(min=1),
    default=DEFAULT_MIN_LENGTH,
    show_default=True,
    help="Minimum length of a source value, in characters.",
)
@click.option(
    "--transform",
    "transforms",
    multiple=True,
    type=click.Choice(transform_names()),
    help="Transform to try (repeatable); default: all.",
)
@common_options
def match_command(
    file: str, min_length: int, transforms: tuple[str, ...], settings: Any
) -> None:
    """Match the payloads of FILE.json ('-' for stdin): which sink carries which source value.

    FILE holds {"sources": [{"asset", "payload"}], "sinks": [...]}; prints
    {"matches": [...], "nomatch": [...]} as JSON.
    """
    del settings  # offline: no Kafka, no state
    try:
        doc = orjson.loads(_read(file))
    except orjson.JSONDecodeError:
        raise fail(f"{file} is not valid JSON") from None
    try:
        result = match_document(doc, min_length=min_length, transforms=list(transforms) or None)
    except PayloadMatchError as e:
        raise fail(f"{file}: {e}") from None
    click.echo(orjson.dumps(result).decode())
