"""Known table columns: given ones, and ones learned from DDL or OpenLineage schema facets.

The analyzer needs a table's columns to expand ``*``, to place unqualified
names and to map an INSERT without a column list by position. They come from:

- a static schema (``--schema``, ``SqlAnalyzer(schema=...)``), valid in every
  namespace;
- :meth:`SchemaCatalog.learn`, per namespace: the SQL agent calls it with the
  tables a ``CREATE TABLE`` defined, an OpenLineage intake with a dataset's
  ``schema`` facet. Learned tables are bounded (least recently learned go
  first) and each change bumps the namespace's version, which is part of the
  cache key of every analysis in that namespace (a cached answer never mixes
  two versions of a schema).

>>> c = SchemaCatalog({"default.t": ["a", "b"]})
>>> c.schema_for("hive://w", "default")["default.t"]
('a', 'b')
>>> c.learn("hive://w", "db.u", ["ID", "Name"]), c.version("hive://w")
(True, 1)
>>> c.learn("hive://w", "db.u", ["id", "name"]), c.version("hive://w")
(False, 1)
>>> sorted(c.schema_for("hive://w", "default")), "db.u" in c.schema_for("pg://x", None)
(['db.u', 'default.t'], False)
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping

from analyzers.sql.naming import normalize_schema


class SchemaCatalog:
    """Static and learned table columns, by namespace; bounded and versioned.

    Args:
        static: ``{"db.table": ["col", ...]}`` known in every namespace (a key
            without a db takes the default schema of each analysis).
        max_tables: learned tables kept over all namespaces.
    """

    def __init__(
        self, static: Mapping[str, Iterable[str]] | None = None, *, max_tables: int = 50_000
    ) -> None:
        self._static = {k: tuple(v) for k, v in (static or {}).items()}
        self.max_tables = max_tables
        self._learned: OrderedDict[tuple[str, str], tuple[str, ...]] = OrderedDict()
        self._by_namespace: dict[str, dict[str, tuple[str, ...]]] = {}
        self._static_by_ds: dict[str | None, dict[str, tuple[str, ...]]] = {}
        self._versions: dict[str, int] = {}
        #: Rises with every change in any namespace: a cheap "has anything changed?".
        self.generation = 0
        self._views: dict[tuple[str, str | None], tuple[int, dict[str, tuple[str, ...]]]] = {}

    def version(self, namespace: str) -> int:
        """How many times the learned tables of ``namespace`` changed."""
        return self._versions.get(namespace, 0)

    def learn(self, namespace: str, table: str, columns: Iterable[str]) -> bool:
        """Record ``table`` (``[catalog.]db.table``) with ``columns``; True if that changed it."""
        key = (namespace, table.lower())
        cols = tuple(str(c).lower() for c in columns)
        if not cols or self._learned.get(key) == cols:
            if key in self._learned:
                self._learned.move_to_end(key)
            return False
        self._learned[key] = cols
        self._learned.move_to_end(key)
        self._by_namespace.setdefault(namespace, {})[key[1]] = cols
        self._bump(namespace)
        while len(self._learned) > self.max_tables:
            (old_ns, old_table), _ = self._learned.popitem(last=False)
            self._by_namespace[old_ns].pop(old_table, None)
            self._bump(old_ns)
        return True

    def forget(self, namespace: str, table: str) -> bool:
        """Drop a learned table (``DROP TABLE``); True if it was known."""
        if self._learned.pop((namespace, table.lower()), None) is None:
            return False
        self._by_namespace[namespace].pop(table.lower(), None)
        self._bump(namespace)
        return True

    def _bump(self, namespace: str) -> None:
        self._versions[namespace] = self._versions.get(namespace, 0) + 1
        self.generation += 1

    def schema_for(self, namespace: str, default_schema: str | None) -> dict[str, tuple[str, ...]]:
        """``{"db.table": (cols)}`` for analyses in ``namespace``: static, then learned."""
        version = self.version(namespace)
        view = self._views.get((namespace, default_schema))
        if view is not None and view[0] == version:
            return view[1]
        static = self._static_by_ds.get(default_schema)
        if static is None:
            static = self._static_by_ds[default_schema] = normalize_schema(
                self._static, default_schema
            )
        learned = self._by_namespace.get(namespace)
        schema = {**static, **learned} if learned else static
        if len(self._views) >= 1024:
            self._views.clear()
        self._views[(namespace, default_schema)] = (version, schema)
        return schema
