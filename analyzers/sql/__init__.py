"""SQL lineage: statements and scripts to inputs, outputs and kinded column lineage.

>>> r = analyze("INSERT INTO dst SELECT location AS user_location FROM src",
...             engine="spark", namespace="hive://warehouse", default_schema="default")
>>> r.statements[0].columns[0].sources[0].field
'hive://warehouse/default.src#location'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from analyzers.sql.cache import SqlAnalyzer, fingerprint
from analyzers.sql.errors import (
    TIME_CAP_S,
    SqlAnalysisError,
    StatementTimeout,
    StatementTooLarge,
    UnsupportedStatement,
)
from analyzers.sql.model import (
    AnalysisResult,
    ColumnLineage,
    SourceField,
    StatementError,
    StatementLineage,
)
from analyzers.sql.naming import dialect_for, normalize_schema
from analyzers.sql.schemas import SchemaCatalog

__all__ = [
    "AnalysisResult",
    "ColumnLineage",
    "SchemaCatalog",
    "SourceField",
    "SqlAnalysisError",
    "SqlAnalyzer",
    "StatementError",
    "StatementLineage",
    "StatementTimeout",
    "StatementTooLarge",
    "UnsupportedStatement",
    "analyze",
    "dialect_for",
    "fingerprint",
]


def analyze(
    sql: str,
    *,
    engine: str,
    namespace: str = "",
    default_schema: str | None = None,
    schema: Mapping[str, Iterable[str]] | None = None,
    time_cap_s: float = TIME_CAP_S,
) -> AnalysisResult:
    """The lineage of ``sql`` (uncached); ``.to_json()`` gives the contract's shape."""
    from analyzers.sql.script import analyze_script  # imports sqlglot: only when needed

    return analyze_script(
        sql,
        engine=engine,
        namespace=namespace,
        default_schema=default_schema,
        schema=normalize_schema(schema, default_schema),
        time_cap_s=time_cap_s,
    )
