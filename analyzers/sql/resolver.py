"""Name resolution: which source of a scope a column reference reads, and its columns.

Kept apart from the walk (:mod:`analyzers.sql.lineage`), as sqlglot keeps
``resolver.py`` apart from ``qualify_columns.py``. A source is a base table
(``exp.Table``: known columns from the schema or a temp view of the script,
else unknown) or a derived relation (a ``Scope``: its columns are those of the
:class:`Relation` the walk computes for it, reached through ``relation_of``).

>>> import sqlglot
>>> from sqlglot.optimizer.scope import build_scope
>>> scope = build_scope(sqlglot.parse_one("SELECT name FROM people p JOIN pets q ON p.id = q.o"))
>>> r = Resolver("default", {"default.people": ("id", "name")}, {}, lambda s: Relation())
>>> src, col, nested = r.resolve(scope, scope.expression.expressions[0])
>>> r.key(src), col, nested
('default.people', 'name', False)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlglot import exp
from sqlglot.optimizer.scope import Scope

from analyzers.sql.naming import table_key_of
from analyzers.sql.relation import Relation

#: (source, column name, nested?): ``nested`` when the reference reads a field of a
#: struct column (``t.col.field`` or ``col.field``).
Hit = tuple[Any, str, bool]


class Resolver:
    """Places column references of one query in its sources; memoised per query.

    Args:
        default_schema: Schema applied to tables named without one.
        schema: ``{"db.table": ("col", ...)}`` known columns.
        temps: Temp views and tables defined earlier in the script, by table key.
        relation_of: The walk's relation of a derived source (memoised there).
    """

    def __init__(
        self,
        default_schema: str | None,
        schema: Mapping[str, tuple[str, ...]],
        temps: Mapping[str, Relation],
        relation_of: Callable[[Scope], Relation],
    ) -> None:
        self.default_schema = default_schema
        self.schema = schema
        self.temps = temps
        self.relation_of = relation_of
        #: table node id -> table key (read directly on the hot path)
        self.table_keys: dict[int, str] = {}
        self._sources: dict[int, dict[str, Any]] = {}
        self._resolved: dict[int, tuple[exp.Column, Scope, Hit | None]] = {}
        self._index: dict[int, tuple[list[tuple[Any, Any]], Any, dict[str, Any]]] = {}
        self._colsets: dict[str, frozenset[str] | None] = {}

    def key(self, table: exp.Table) -> str:
        """The table key of a base-table source (memoised per node)."""
        key = self.table_keys.get(id(table))
        if key is None:
            key = self.table_keys[id(table)] = table_key_of(table, self.default_schema)
        return key

    def sources(self, scope: Scope) -> dict[str, Any]:
        """The scope's sources by lower-case alias, in FROM/JOIN order.

        sqlglot's ``scope.sources`` also holds every CTE visible from the scope, first
        and whether the FROM clause names it or not; only the ones it names are
        sources here (else ``*`` would expand them and unqualified names would be
        placed in them).
        """
        srcs = self._sources.get(id(scope))
        if srcs is None:
            ctes = scope.cte_sources
            if not ctes:
                srcs = {k.lower(): v for k, v in scope.sources.items()}
            else:
                rank: dict[str, int] = {}
                for name, _ in scope.references:
                    rank.setdefault(name, len(rank))
                lateral = scope.lateral_sources
                last = len(rank)
                kept = sorted(  # stable: sources no reference names keep their order, last
                    (
                        (k, v)
                        for k, v in scope.sources.items()
                        if k in rank or k in lateral or k not in ctes
                    ),
                    key=lambda kv: rank.get(kv[0], last),
                )
                srcs = {k.lower(): v for k, v in kept}
            self._sources[id(scope)] = srcs
        return srcs

    def source_names(self, src: Any) -> list[str] | None:
        """The columns of a source in order, or None when unknown."""
        if isinstance(src, Scope):
            rel = self.relation_of(src)
            return rel.names if rel.complete else None
        if isinstance(src, exp.Table):
            key = self.key(src)
            temp = self.temps.get(key)
            if temp is not None:
                return temp.names if temp.complete else None
            cols = self.schema.get(key)
            return list(cols) if cols is not None else None
        return None

    def resolve(self, scope: Scope, col: exp.Column) -> Hit | None:
        """(source, column name, nested?) for a column reference, or None."""
        memo = self._resolved.get(id(col))
        if memo is not None and memo[0] is col and memo[1] is scope:
            return memo[2]
        hit = self._resolve_uncached(scope, col)
        self._resolved[id(col)] = (col, scope, hit)  # holds col: its id is not reused
        return hit

    def _resolve_uncached(self, scope: Scope, col: exp.Column) -> Hit | None:
        name = col.name.lower()
        table = col.table.lower()
        db = col.db.lower()
        current: Scope | None = scope
        while current is not None:
            srcs = self.sources(current)
            if table:
                if table in srcs:
                    return srcs[table], name, False
                if db and db in srcs:
                    return srcs[db], table, True
            else:
                hit = self._find_unqualified(current, name)
                if hit is not None:
                    return hit, name, False
            current = current.parent if (current.is_subquery or current.is_udtf) else None
        if table:
            hit = self._find_unqualified(scope, table)
            if hit is not None:
                return hit, table, True
        return None

    def _find_unqualified(self, scope: Scope, name: str) -> Any:
        known, unknown, memo = self._column_index(scope)
        hit = memo.get(name, False)
        if hit is False:
            hit = unknown
            for src, cols in known:
                if name in cols:
                    hit = src
                    break
            memo[name] = hit
        return hit

    def _column_index(self, scope: Scope) -> tuple[list[tuple[Any, Any]], Any, dict[str, Any]]:
        """Per scope, once: its sources with their column sets, the one source of unknown
        columns (if exactly one), and a memo of unqualified names already placed."""
        index = self._index.get(id(scope))
        if index is None:
            known: list[tuple[Any, Any]] = []
            unknown: list[Any] = []
            for src in self.sources(scope).values():
                cols = self._colset(src)
                if cols is None:
                    unknown.append(src)
                else:
                    known.append((src, cols))
            index = (known, unknown[0] if len(unknown) == 1 else None, {})
            self._index[id(scope)] = index
        return index

    def _colset(self, src: Any) -> Any:
        """The columns of a source as a set (or a name -> position dict), None when unknown."""
        if isinstance(src, exp.Table):
            key = self.key(src)
            temp = self.temps.get(key)
            if temp is None:
                cols = self._colsets.get(key, False)
                if cols is False:
                    names = self.schema.get(key)
                    cols = self._colsets[key] = frozenset(names) if names is not None else None
                return cols
            rel = temp
        elif isinstance(src, Scope):
            rel = self.relation_of(src)
        else:
            return None
        if not rel.complete:
            return None
        rel.position("")  # builds the name index
        return rel._index
