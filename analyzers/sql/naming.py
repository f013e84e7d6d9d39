"""Asset names: engine -> dialect, tables -> ``db.table``, fields -> ``NS/db.table#col``.

>>> table_key("Photos", "DEFAULT", None, "hive_db")
'default.photos'
>>> field_uri("hive://warehouse", "default.photos", "location")
'hive://warehouse/default.photos#location'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlglot import exp

# Engines whose name is not a sqlglot dialect name.
_ENGINE_ALIASES = {
    "sparksql": "spark",
    "spark2": "spark2",
    "pyspark": "spark",
    "databricks": "databricks",
    "impala": "hive",
    "postgresql": "postgres",
    "redshift": "redshift",
    "athena": "athena",
    "mariadb": "mysql",
    "bq": "bigquery",
    "sqlserver": "tsql",
    "mssql": "tsql",
}


def dialect_for(engine: str) -> str:
    """The sqlglot dialect name for an engine name (case-insensitive).

    >>> dialect_for("Trino"), dialect_for("postgresql")
    ('trino', 'postgres')
    """
    name = engine.strip().lower()
    return _ENGINE_ALIASES.get(name, name)


def table_key(name: str, db: str | None, catalog: str | None, default_schema: str | None) -> str:
    """``[catalog.]db.table`` lower-cased, with the default schema when no db is named."""
    db = db or default_schema
    parts = [p for p in (catalog if db else None, db, name) if p]
    return ".".join(parts).lower()


def table_key_of(table: exp.Table, default_schema: str | None) -> str:
    """The key of a parsed table reference."""
    return table_key(table.name, table.db, table.catalog, default_schema)


#: Marks a dataset key that is already a full URI (a file or object-store location),
#: named outside the statement's namespace. No table key starts with it.
LOCATION_MARK = "\x00"


def location_key(uri: str) -> str:
    """The dataset key of a location URI (see :mod:`analyzers.sql.locations`)."""
    return LOCATION_MARK + uri


def field_uri(namespace: str, table: str, column: str) -> str:
    """``NAMESPACE/table#column`` (``URI#column`` for a location)."""
    if table.startswith(LOCATION_MARK):
        return f"{table[1:]}#{column}"
    return f"{namespace}/{table}#{column}"


def table_uri(namespace: str, table: str) -> str:
    """``NAMESPACE/table`` (the URI itself for a location)."""
    if table.startswith(LOCATION_MARK):
        return table[1:]
    return f"{namespace}/{table}"


def normalize_schema(
    schema: Mapping[str, Iterable[str]] | None, default_schema: str | None
) -> dict[str, tuple[str, ...]]:
    """``{"db.table": ["col", ...]}`` -> ``{"db.table": ("col", ...)}``, keys and columns lowered.

    A key without a db gets the default schema.

    >>> normalize_schema({"Photos": ["ID", "Location"]}, "default")
    {'default.photos': ('id', 'location')}
    """
    out: dict[str, tuple[str, ...]] = {}
    for key, cols in (schema or {}).items():
        parts = key.split(".")
        name = parts[-1]
        db = parts[-2] if len(parts) > 1 else None
        catalog = ".".join(parts[:-2]) if len(parts) > 2 else None
        out[table_key(name, db, catalog, default_schema)] = tuple(str(c).lower() for c in cols)
    return out
