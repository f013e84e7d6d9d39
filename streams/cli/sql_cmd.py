"""`lineage analyze-sql`: SQL lineage as JSON (or a table), offline."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from analyzers.sql import AnalysisResult, analyze
from streams.cli.common import common_options, fail


def _read_text(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise fail(f"cannot read {path}: {e.__class__.__name__}") from None


def _read_schema(path: str | None) -> dict[str, list[str]] | None:
    if path is None:
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise fail(f"cannot read schema {path}: {e.__class__.__name__}") from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(c, str) for c in v)
        for k, v in data.items()
    ):
        raise fail(f'schema {path} must be {{"db.table": ["col", ...]}}')
    return data


def _table(result: AnalysisResult) -> str:
    lines: list[str] = []
    for st in result.statements:
        lines.append(
            f"[{st.index}] {st.kind}  inputs={','.join(st.inputs) or '-'}  "
            f"outputs={','.join(st.outputs) or '-'}"
        )
        for col in st.columns:
            for src in col.sources or ():
                mask = " masked" if src.masking else ""
                lines.append(f"    {col.target} <- {src.field}  {src.type}/{src.subtype}{mask}")
            if not col.sources:
                lines.append(f"    {col.target} <- (no source column)")
    for err in result.errors:
        lines.append(f"[{err.index}] error: {err.message}")
    return "\n".join(lines)


@click.command("analyze-sql")
@click.argument("file")
@click.option("--engine", required=True, help="Engine that ran the SQL; picks the dialect.")
@click.option("--namespace", default=None, help="Asset namespace [default: ENGINE://default].")
@click.option("--default-schema", default=None, help="Schema for tables named without one.")
@click.option("--schema", "schema_file", default=None, help='JSON {"db.table": ["col", ...]}.')
@click.option(
    "--format", "fmt", type=click.Choice(["json", "table"]), default="json", show_default=True
)
@common_options
def analyze_sql_command(
    file: str,
    engine: str,
    namespace: str | None,
    default_schema: str | None,
    schema_file: str | None,
    fmt: str,
    **_: Any,
) -> None:
    """SQL lineage of FILE ('-' for stdin): inputs, outputs and kinded column lineage."""
    sql = _read_text(file)
    schema = _read_schema(schema_file)
    ns = namespace if namespace is not None else f"{engine.lower()}://default"
    result = analyze(sql, engine=engine, namespace=ns, default_schema=default_schema, schema=schema)
    if (
        result.errors
        and not result.statements
        and result.errors[0].message.startswith("unknown engine")
    ):
        raise fail(result.errors[0].message)
    if fmt == "table":
        click.echo(_table(result))
    else:
        click.echo(json.dumps(result.to_json()))
