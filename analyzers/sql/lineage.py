"""Column lineage of one query: walk its scopes once, resolve every column yourself.

No ``qualify`` pass and no ``sqlglot.lineage`` per column: the scope tree is
built once, every relation (CTE, derived table, UNNEST, temp view) is turned
into a :class:`Relation` once (memoised), and outer columns compose the kinds
of the inner ones.

Entries and relations are defined in :mod:`analyzers.sql.relation`; which
source a column reference reads is :mod:`analyzers.sql.resolver`'s job.

>>> import sqlglot
>>> q = QueryLineage("default", {}, {})
>>> rel = q.run(sqlglot.parse_one("SELECT upper(name) AS n FROM people WHERE age > 3"))
>>> sorted(rel.entries(0))
[('default.people', 'age', 'FILTER', False), ('default.people', 'name', 'TRANSFORMATION', False)]
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any, cast

from sqlglot import exp
from sqlglot.optimizer.scope import Scope, build_scope

from analyzers.sql.errors import StatementTimeout, UnsupportedStatement
from analyzers.sql.kinds import (
    AGGREGATION,
    CONDITIONAL,
    DIRECT_RANK,
    FILTER,
    GROUP_BY,
    HASH_FUNCTIONS,
    IDENTITY,
    JOIN,
    NO_SOURCE,
    PASSTHROUGH,
    SORT,
    TRANSFORMATION,
    WINDOW,
    compose,
    is_masking,
)
from analyzers.sql.relation import Entry, Relation
from analyzers.sql.resolver import Resolver

__all__ = ["Entry", "QueryLineage", "Relation"]

# Window functions that pick a row's value rather than aggregate: TRANSFORMATION.
_VALUE_WINDOW_FUNCS: tuple[type[exp.Expr], ...] = tuple(
    getattr(exp, n)
    for n in ("Lag", "Lead", "FirstValue", "LastValue", "NthValue")
    if hasattr(exp, n)
)


# How _walk treats a node type, computed once per type (the same tests, in the same order,
# as isinstance checks on each node would make).
_COLUMN, _NO_SOURCE, _QUERY, _SPECIAL = 1, 2, 3, 4
_PLAIN = 8  # walk the children; the flags below refine it
_AGG, _PASS, _MASKS, _MAYBE_MASKS = 16, 32, 64, 128
_SPECIAL_TYPES: tuple[type, ...] = (exp.Case, exp.If, exp.Window, exp.Filter, exp.Lambda)
_NODE_CODES: dict[type, int] = {}


def _node_code(t: type) -> int:
    if issubclass(t, exp.Column):
        code = _COLUMN
    elif issubclass(t, NO_SOURCE):
        code = _NO_SOURCE
    elif issubclass(t, exp.Query):
        code = _QUERY
    elif t in _SPECIAL_TYPES:
        code = _SPECIAL
    else:
        code = _PLAIN
        if issubclass(t, exp.AggFunc) and not issubclass(t, _VALUE_WINDOW_FUNCS):
            code |= _AGG
        elif issubclass(t, PASSTHROUGH):
            code |= _PASS
        if issubclass(t, exp.Anonymous):
            code |= _MAYBE_MASKS
        elif issubclass(t, exp.Func) and t.__name__.lower() in HASH_FUNCTIONS:
            code |= _MASKS
    _NODE_CODES[t] = code
    return code


def _output_name(proj: exp.Expr, i: int) -> str:
    """The output column name of a projection; ``_col_i`` for an unnamed expression."""
    if isinstance(proj, exp.Alias):
        return proj.alias.lower()
    if isinstance(proj, (exp.Column, exp.Dot)):
        return proj.name.lower() or f"_col_{i}"
    return f"_col_{i}"


class QueryLineage:
    """Resolves one query's columns against its sources, known tables and temp views.

    Args:
        default_schema: Schema applied to tables named without one.
        schema: ``{"db.table": ("col", ...)}`` known columns, for ``*`` and unqualified names.
        temps: Temp views and tables defined earlier in the script, by table key.
        deadline: ``time.perf_counter()`` value past which the walk stops.
    """

    def __init__(
        self,
        default_schema: str | None,
        schema: Mapping[str, tuple[str, ...]],
        temps: Mapping[str, Relation],
        deadline: float | None = None,
    ) -> None:
        self.default_schema = default_schema
        self.schema = schema
        self.temps = temps
        self.deadline = deadline
        self.inputs: set[str] = set()
        self.unresolved: set[str] = set()
        self._memo: dict[int, Relation] = {}
        self._by_expr: dict[int, Scope] = {}
        self.resolver = resolver = Resolver(default_schema, schema, temps, self.relation)
        self.key = resolver.key
        self._keys = resolver.table_keys
        self.sources = resolver.sources
        self.source_names = resolver.source_names
        self._resolve = resolver.resolve
        self._lambda_vars: set[str] = set()
        self._alias_env: dict[str, set[Entry]] | None = None
        self._prefer_alias = False

    # -- entry point ---------------------------------------------------------------
    def run(self, query: exp.Expr) -> Relation:
        """The relation computed by ``query`` (a SELECT, set operation or DDL/DML around one)."""
        root = build_scope(query)
        if root is None:
            raise UnsupportedStatement(f"cannot build a scope for {type(query).__name__}")
        for scope in root.traverse():
            self._by_expr[id(scope.expression)] = scope
            for src in scope.sources.values():
                if isinstance(src, exp.Table) and src.name:
                    key = self.key(src)
                    temp = self.temps.get(key)
                    if temp is not None:
                        self.inputs.update(temp.inputs)
                    else:
                        self.inputs.add(key)
        return self.relation(root)

    # -- relations -------------------------------------------------------------------
    def relation(self, scope: Scope) -> Relation:
        rel = self._memo.get(id(scope))
        if rel is not None:
            return rel
        if self.deadline is not None and time.perf_counter() > self.deadline:
            raise StatementTimeout("statement ran past the time cap")
        expr = scope.expression
        if isinstance(expr, exp.SetOperation):
            rel = self._set_operation(scope)
        elif isinstance(expr, exp.Select):
            rel = self._select(scope)
        elif isinstance(expr, (exp.Lateral, exp.Unnest)) or scope.is_udtf:
            rel = self._udtf(scope)
        elif isinstance(expr, exp.Subquery) and isinstance(expr.this, exp.Query):
            inner = self._by_expr.get(id(expr.this))
            rel = self.relation(inner) if inner is not None else Relation()
        else:
            rel = Relation()
        self._memo[id(scope)] = rel
        return rel

    def _set_operation(self, scope: Scope) -> Relation:
        branches = [self.relation(s) for s in scope.set_operation_scopes]
        if not branches:
            return Relation()
        first = branches[0]
        rel = Relation(names=list(first.names), by_pos=[set(e) for e in first.by_pos])
        for other in branches:
            rel.indirect |= other.indirect
            if other is first:
                continue
            for i, entries in enumerate(other.by_pos[: len(rel.by_pos)]):
                rel.by_pos[i] |= entries
        rel.star_tables = tuple(t for b in branches for t in b.star_tables)
        return rel

    def _udtf(self, scope: Scope) -> Relation:
        expr = scope.expression
        alias = expr.args.get("alias")
        fn = expr.this if isinstance(expr, exp.Lateral) else expr
        names: list[str] = []
        if isinstance(alias, exp.TableAlias):
            names = [c.name.lower() for c in alias.columns] or (
                [alias.name.lower()] if alias.name else []
            )
        out: set[Entry] = set()
        self._walk(fn, scope, TRANSFORMATION, False, None, out)
        return Relation(names=names, by_pos=[set(out) for _ in names])

    def _select(self, scope: Scope) -> Relation:
        select = scope.expression
        srcs = self.sources(scope)
        rel = Relation()
        star_tables: list[str] = []
        for i, proj in enumerate(select.expressions):
            if isinstance(proj, exp.Star) or (
                isinstance(proj, exp.Column) and isinstance(proj.this, exp.Star)
            ):
                self._expand_star(scope, proj, rel, star_tables)
                continue
            out: set[Entry] = set()
            self._walk(proj, scope, IDENTITY, False, None, out)
            rel.names.append(_output_name(proj, i))
            rel.by_pos.append(out)
        rel.star_tables = tuple(star_tables)
        self._clauses(scope, select, rel)
        for src in srcs.values():
            if isinstance(src, Scope):
                rel.indirect |= self.relation(src).indirect
            elif isinstance(src, exp.Table):
                temp = self.temps.get(self.key(src))
                if temp is not None:
                    rel.indirect |= temp.indirect
        return rel

    def _expand_star(
        self, scope: Scope, proj: exp.Expr, rel: Relation, star_tables: list[str]
    ) -> None:
        only = proj.table.lower() if isinstance(proj, exp.Column) else ""
        # a SEMI/ANTI join's right side is not in the output
        hidden = {n.lower() for n in scope.semi_or_anti_join_tables}
        for alias, src in self.sources(scope).items():
            if (only and alias != only) or (hidden and alias in hidden):
                continue
            names = self.source_names(src)
            if names is None:
                self.unresolved.add(f"{alias}.*")
                if isinstance(src, exp.Table):
                    star_tables.append(self.key(src))
                elif isinstance(src, Scope):
                    star_tables.extend(self.relation(src).star_tables)
                    names = self.relation(src).names
                if not names:
                    continue
            # A derived relation's columns go by position: its select list may repeat a name.
            if isinstance(src, Scope):
                inner: Relation | None = self.relation(src)
            elif isinstance(src, exp.Table):
                inner = self.temps.get(self.key(src))
            else:
                inner = None
            for i, name in enumerate(names):
                out: set[Entry] = set()
                if inner is not None:
                    self._absorb(inner.by_pos[i], IDENTITY, False, None, out)
                else:
                    self._emit(src, name, IDENTITY, False, None, out)
                rel.names.append(name)
                rel.by_pos.append(out)

    # -- clauses ------------------------------------------------------------------------
    def _clauses(self, scope: Scope, select: exp.Expr, rel: Relation) -> None:
        ind = rel.indirect
        srcs = self.sources(scope)
        for join in select.args.get("joins") or ():
            on = join.args.get("on")
            if on is not None:
                self._walk(on, scope, IDENTITY, False, JOIN, ind)
            for ident in join.args.get("using") or ():
                for alias in srcs:
                    self._walk(
                        exp.column(ident.name, table=alias), scope, IDENTITY, False, JOIN, ind
                    )
        where = select.args.get("where")
        if where is not None:
            for cond in where.this.flatten() if isinstance(where.this, exp.And) else [where.this]:
                sub = JOIN if self._is_join_condition(scope, cond) else FILTER
                self._walk(cond, scope, IDENTITY, False, sub, ind)
        self._alias_env = {n: rel.by_pos[i] for i, n in enumerate(rel.names)}
        try:
            group = select.args.get("group")
            if group is not None:
                for e in group.expressions:
                    self._clause_item(e, scope, rel, GROUP_BY)
            for key in ("having", "qualify"):
                node = select.args.get(key)
                if node is not None:
                    self._walk(node.this, scope, IDENTITY, False, FILTER, ind)
            order = select.args.get("order")
            if order is not None:
                self._prefer_alias = True  # ORDER BY sees the output columns first
                for o in order.expressions:
                    self._clause_item(o.this if isinstance(o, exp.Ordered) else o, scope, rel, SORT)
        finally:
            self._alias_env = None
            self._prefer_alias = False

    def _clause_item(self, e: exp.Expr, scope: Scope, rel: Relation, sub: str) -> None:
        if isinstance(e, exp.Literal) and e.is_int:
            i = int(e.name) - 1
            if 0 <= i < len(rel.by_pos):
                self._absorb(rel.by_pos[i], IDENTITY, False, sub, rel.indirect)
            return
        self._walk(e, scope, IDENTITY, False, sub, rel.indirect)

    def _is_join_condition(self, scope: Scope, cond: exp.Expr) -> bool:
        """``a.x = b.y`` between two different sources (an implicit, comma join)."""
        if not isinstance(cond, exp.EQ):
            return False
        left, right = cond.this, cond.expression
        if not (isinstance(left, exp.Column) and isinstance(right, exp.Column)):
            return False
        a, b = self._resolve(scope, left), self._resolve(scope, right)
        return a is not None and b is not None and a[0] is not b[0]

    # -- expressions ------------------------------------------------------------------
    def _walk(
        self,
        node: exp.Expr,
        scope: Scope,
        kind: str,
        masked: bool,
        sub: str | None,
        out: set[Entry],
    ) -> None:
        t = type(node)
        code = _NODE_CODES.get(t)
        if code is None:
            code = _node_code(t)
        if code == _COLUMN:
            self._column(cast(exp.Column, node), scope, kind, masked, sub, out)
            return
        if code == _NO_SOURCE:
            return
        if code == _QUERY:
            if isinstance(node, exp.Subquery):
                inner = self._by_expr.get(id(node.this)) or self._by_expr.get(id(node))
            else:
                inner = self._by_expr.get(id(node))
            if inner is not None:
                rel = self.relation(inner)
                for entries in rel.by_pos:
                    self._absorb(entries, kind, masked, sub, out)
                out |= rel.indirect
            return
        if code >= _PLAIN:
            if sub is None:
                if code & _AGG:
                    kind = AGGREGATION
                elif not code & _PASS and kind != AGGREGATION:
                    kind = TRANSFORMATION
                if not masked and (code & _MASKS or (code & _MAYBE_MASKS and is_masking(node))):
                    masked = True
            walk = self._walk
            for child in node.iter_expressions():
                walk(child, scope, kind, masked, sub, out)
            return
        t = type(node)
        if t is exp.Case:
            cond_sub = sub or CONDITIONAL
            if node.this is not None:
                self._walk(node.this, scope, kind, masked, cond_sub, out)
            # A branch value is copied as it is when its branch is taken: a bare column
            # there keeps the outer kind (IDENTITY), as engines report it; a computed
            # branch value is a transformation by its own node.
            for branch in node.args.get("ifs") or ():
                self._walk(branch.this, scope, kind, masked, cond_sub, out)
                self._walk(branch.args["true"], scope, kind, masked, sub, out)
            default = node.args.get("default")
            if default is not None:
                self._walk(default, scope, kind, masked, sub, out)
            return
        if t is exp.If:
            self._walk(node.this, scope, kind, masked, sub or CONDITIONAL, out)
            for key in ("true", "false"):
                value = node.args.get(key)
                if value is not None:
                    self._walk(value, scope, kind, masked, sub, out)
            return
        if t is exp.Window:
            self._walk(node.this, scope, kind, masked, sub, out)
            for part in node.args.get("partition_by") or ():
                self._walk(part, scope, kind, masked, sub or WINDOW, out)
            order = node.args.get("order")
            if order is not None:
                self._walk(order, scope, kind, masked, sub or WINDOW, out)
            return
        if t is exp.Filter:
            self._walk(node.this, scope, kind, masked, sub, out)
            self._walk(node.expression, scope, kind, masked, sub or FILTER, out)
            return
        if t is exp.Lambda:
            params = {p.name.lower() for p in node.expressions}
            added = params - self._lambda_vars
            self._lambda_vars |= added
            try:
                self._walk(node.this, scope, kind, masked, sub, out)
            finally:
                self._lambda_vars -= added
            return
        raise AssertionError(f"unhandled node code {code}")  # pragma: no cover

    def _column(
        self,
        node: exp.Column,
        scope: Scope,
        kind: str,
        masked: bool,
        sub: str | None,
        out: set[Entry],
    ) -> None:
        if isinstance(node.this, exp.Star):
            return
        name = node.name.lower()
        if not node.table:
            if name in self._lambda_vars:
                return
            env = self._alias_env
            if env is not None and self._prefer_alias and name in env:
                self._absorb(env[name], kind, masked, sub, out)
                return
        hit = self._resolve(scope, node)
        if hit is None:
            env = self._alias_env
            if env is not None and not node.table and name in env:
                self._absorb(env[name], kind, masked, sub, out)
            else:
                self.unresolved.add(".".join(p.name.lower() for p in node.parts))
            return
        src, col, nested = hit
        if nested and sub is None:
            kind = compose(kind, TRANSFORMATION)
        self._emit(src, col, kind, masked, sub, out)

    def _emit(
        self, src: Any, col: str, kind: str, masked: bool, sub: str | None, out: set[Entry]
    ) -> None:
        """Add what column ``col`` of source ``src`` contributes through ``kind``/``sub``."""
        if isinstance(src, exp.Table):
            key = self._keys.get(id(src)) or self.key(src)
            rel = self.temps.get(key)
            if rel is None:
                out.add((key, col, sub, False) if sub else (key, col, kind, masked))
                return
        else:
            rel = self.relation(src)
        pos = rel.position(col)
        if pos is not None:
            self._absorb(rel.by_pos[pos], kind, masked, sub, out)
        elif len(rel.star_tables) == 1:
            key = rel.star_tables[0]
            out.add((key, col, sub, False) if sub else (key, col, kind, masked))
        else:
            self.unresolved.add(col)

    @staticmethod
    def _absorb(
        entries: Iterable[Entry], kind: str, masked: bool, sub: str | None, out: set[Entry]
    ) -> None:
        for table, col, k, m in entries:
            if k not in DIRECT_RANK:
                out.add((table, col, k, m))
            elif sub:
                out.add((table, col, sub, False))
            else:
                out.add((table, col, compose(kind, k), m or masked))
