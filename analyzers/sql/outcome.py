"""What one statement yields before naming (:class:`Outcome`), and the script's state.

Shared by the statement handlers (:mod:`analyzers.sql.statements`,
:mod:`analyzers.sql.transfers`): table keys, no namespace yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from analyzers.sql.errors import UnsupportedStatement
from analyzers.sql.lineage import Entry, QueryLineage, Relation


@dataclass(slots=True)
class ScriptState:
    """What a script has set up so far: default schema (``USE``), known columns, temps.

    ``schema`` is shared with the caller until the script defines a table
    (``CREATE TABLE t (cols)`` or ``AS SELECT``): :meth:`learn` copies it then.
    """

    default_schema: str | None
    schema: dict[str, tuple[str, ...]]
    temps: dict[str, Relation] = field(default_factory=dict)
    learned: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def learn(self, key: str, columns: list[str]) -> None:
        """Record the columns of a table the script defines, for the statements after it."""
        if not columns:
            return
        if not self.learned:
            self.schema = dict(self.schema)
        self.schema[key] = self.learned[key] = tuple(columns)


@dataclass(slots=True)
class Outcome:
    """One statement's lineage before naming: table keys and per-target entries."""

    kind: str
    inputs: set[str] = field(default_factory=set)
    outputs: list[str] = field(default_factory=list)
    # (target table key or None for a bare SELECT, column name, entries)
    columns: list[tuple[str | None, str, set[Entry]]] = field(default_factory=list)
    unresolved: set[str] = field(default_factory=set)
    # Entries in every column's set (the relation-wide ones): lets naming do them once.
    shared: set[Entry] = field(default_factory=set)
    # Per output key, the relation-wide indirect entries (dataset-level lineage).
    dataset: dict[str, set[Entry]] = field(default_factory=dict)
    # (base table key, output key or None): a `*` over a table of unknown columns.
    stars: set[tuple[str, str | None]] = field(default_factory=set)
    # The lineage depends on literal values (a location): cache by exact text only.
    literal_dependent: bool = False


def walker(state: ScriptState, deadline: float | None) -> QueryLineage:
    """A query walker over what the script knows so far."""
    return QueryLineage(state.default_schema, state.schema, state.temps, deadline)


def finish(outcome: Outcome, q: QueryLineage) -> Outcome:
    """Add the tables the walk read and the names it could not place."""
    outcome.inputs |= q.inputs
    outcome.unresolved |= q.unresolved
    return outcome


def unwrap(query: exp.Expr) -> exp.Expr:
    """``((SELECT ...))`` -> ``SELECT ...``."""
    while isinstance(query, exp.Subquery) and isinstance(query.this, exp.Query):
        query = query.this
    return query


def star_tables(rel: Relation, state: ScriptState) -> list[str]:
    """The base tables behind a relation's unexpanded ``*`` (through temp views)."""
    out: list[str] = []
    for key in rel.star_tables:
        temp = state.temps.get(key)
        out.extend(temp.star_tables if temp is not None else (key,))
    return out


def write(
    out: Outcome, key: str | None, names: list[str], rel: Relation, state: ScriptState
) -> None:
    """Columns ``names`` of output ``key`` take ``rel``'s columns by position."""
    out.columns += [(key, n, rel.entries(i)) for i, n in enumerate(names[: len(rel.names)])]
    out.shared = rel.indirect
    if key is not None and rel.indirect:
        out.dataset.setdefault(key, set()).update(rel.indirect)
    out.stars.update((t, key) for t in star_tables(rel, state))


def target(node: exp.Expr | None) -> tuple[exp.Table, list[str] | None]:
    """The table of an INSERT/CREATE target and its column list, if any."""
    cols: list[str] | None = None
    if isinstance(node, exp.Schema):
        cols = [
            c.name.lower()
            for c in node.expressions
            if isinstance(c, (exp.Identifier, exp.Column, exp.ColumnDef))
        ]
        node = node.this
    if not isinstance(node, exp.Table) or not node.name:
        raise UnsupportedStatement("the target is not a table")
    return node, cols
