"""OpenLineage dataset names <-> our asset URIs, both ways.

OpenLineage names a dataset by `namespace` (scheme + authority, e.g.
`postgres://db:5432`) and `name` (e.g. `shop.public.orders`); our asset is
`NAMESPACE/NAME[#FIELD]`. A name that is itself a path (`/tmp/x` in the
`file` namespace) joins without a second slash, so `file` + `/tmp/x` is
`file:/tmp/x` and `hdfs://nn:8020` + `/w/t` is `hdfs://nn:8020/w/t`.
Datasets of SQL engines are case-insensitive: their names and fields are
lower-cased, as the SQL analyzer does; other names keep their case.

>>> field_asset("postgres://db:5432", "Shop.Public.Orders", "Email")
'postgres://db:5432/shop.public.orders#email'
>>> split_asset("file:/tmp/export_test")
('file', '/tmp/export_test', None)
>>> split_asset("hive://warehouse/default.t#location")
('hive://warehouse', 'default.t', 'location')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Schemes of SQL engines (OpenLineage naming spec): identifiers are case-insensitive.
SQL_SCHEMES = frozenset({
    "athena", "awsathena", "azuresynapse", "bigquery", "cassandra", "clickhouse",
    "databricks", "db2", "duckdb", "hive", "impala", "mssql", "mysql", "oracle",
    "postgres", "postgresql", "presto", "redshift", "snowflake", "spark", "sqlite",
    "sqlserver", "teradata", "trino", "vertica",
})


def _scheme(namespace: str) -> str:
    return namespace.split(":", 1)[0].lower()


def is_sql_namespace(namespace: str) -> bool:
    return _scheme(namespace) in SQL_SCHEMES


def dataset_asset(namespace: str, name: str) -> str:
    """The asset URI of an OpenLineage dataset (no field)."""
    if is_sql_namespace(namespace):
        name = name.lower()
    if name.startswith("/"):
        return namespace + name if "://" in namespace else f"{namespace}:{name}"
    return f"{namespace.rstrip('/')}/{name}"


def field_name(namespace: str, field: str) -> str:
    """A field as our assets spell it: lower-cased for SQL datasets."""
    return field.lower() if is_sql_namespace(namespace) else field


def field_asset(namespace: str, name: str, field: str) -> str:
    return f"{dataset_asset(namespace, name)}#{field_name(namespace, field)}"


def split_asset(asset: str) -> tuple[str, str, str | None]:
    """(namespace, name, field or None) of an asset URI: the inverse of `field_asset`."""
    table, _, field = asset.partition("#")
    scheme, sep, rest = table.partition("://")
    if sep:
        authority, slash, name = rest.partition("/")
        namespace = f"{scheme}://{authority}"
        if not slash:
            return namespace, "", field or None
        return namespace, name, field or None
    scheme, colon, path = table.partition(":")
    if colon and path.startswith("/"):
        return scheme, path, field or None
    namespace, _, name = table.partition("/")
    return namespace, name, field or None


def canonical_name(dataset: Mapping[str, Any]) -> tuple[str, str]:
    """(namespace, name) a dataset is known by: its `symlinks` TABLE identifier if any.

    Spark names a table by its storage path and lists the metastore table as a
    symlink; naming both by the table makes them one asset, the one SQL logs
    and other engines use.
    """
    facets = dataset.get("facets") or {}
    symlinks = facets.get("symlinks") if isinstance(facets, dict) else None
    identifiers = symlinks.get("identifiers") if isinstance(symlinks, dict) else None
    for ident in identifiers or ():
        if str(ident.get("type", "")).upper() == "TABLE":
            return str(ident["namespace"]), str(ident["name"])
    return str(dataset["namespace"]), str(dataset["name"])
