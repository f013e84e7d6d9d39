"""A DB-API statement reduced to what the probes need: table, columns, parameter slots.

Parsed once per distinct statement text (sqlglot, imported on first use;
`lineage-probes[sql]`), so a service running the same few statements pays
for parsing a few times in its life.

>>> p = plan("INSERT INTO users (name, email) VALUES (?, ?)", "sqlite")
>>> (p.kind, p.table, p.columns)
('write', 'users', (('name', 0), ('email', 1)))
>>> p.bind(("Ada", "ada@example.com"))
{'name': 'Ada', 'email': 'ada@example.com'}
>>> plan("UPDATE users SET city = %(city)s WHERE id = %(id)s", "postgres").columns
(('city', 'city'),)
>>> q = plan("SELECT name FROM app.users WHERE id = ?", "sqlite")
>>> (q.kind, q.schema, q.table)
('read', 'app', 'users')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

Slot = int | str  # a positional index or a parameter name


@dataclass(frozen=True, slots=True)
class Plan:
    kind: str  # "write", "read" or "other"
    table: str | None = None
    schema: str | None = None
    columns: tuple[tuple[str, Slot], ...] = ()

    def bind(self, params: Any) -> dict[str, Any]:
        """Column -> the parameter value written to it (a write's payload)."""
        out: dict[str, Any] = {}
        for column, slot in self.columns:
            if isinstance(slot, int):
                if isinstance(params, Sequence) and not isinstance(params, str | bytes) \
                        and slot < len(params):
                    out[column] = params[slot]
            elif isinstance(params, Mapping) and slot in params:
                out[column] = params[slot]
        return out


OTHER = Plan("other")


@lru_cache(maxsize=1024)
def plan(sql: str, dialect: str) -> Plan:
    """The plan of one statement text; OTHER when it is neither a write nor a read we map."""
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except Exception:  # a statement sqlglot cannot read is not captured, never an error
        return OTHER
    slots: dict[int, Slot] = {}
    position = 0
    for node in tree.find_all(exp.Placeholder, bfs=False):
        this = node.this
        name = (this if isinstance(this, str) else getattr(this, "name", None)) or None
        slots[id(node)] = name if name is not None else position
        if name is None:
            position += 1
    if isinstance(tree, exp.Insert):
        return _insert(tree, slots, exp)
    if isinstance(tree, exp.Update):
        table = tree.this if isinstance(tree.this, exp.Table) else tree.find(exp.Table)
        columns = tuple(
            (eq.this.name.lower(), slots[id(eq.expression)])
            for eq in tree.expressions
            if isinstance(eq, exp.EQ) and id(eq.expression) in slots
        )
        return _named("write", table, columns)
    if isinstance(tree, exp.Select):
        return _named("read", tree.find(exp.Table), ())
    return OTHER


def _insert(tree: Any, slots: dict[int, Slot], exp: Any) -> Plan:
    target = tree.this
    names: list[str] = []
    if isinstance(target, exp.Schema):
        names = [c.name.lower() for c in target.expressions]
        target = target.this
    values = tree.expression
    columns: list[tuple[str, Slot]] = []
    if isinstance(values, exp.Values) and values.expressions and names:
        row = values.expressions[0]
        for column, value in zip(names, row.expressions, strict=False):
            if id(value) in slots:
                columns.append((column, slots[id(value)]))
    return _named("write", target, tuple(columns))


def _named(kind: str, table: Any, columns: tuple[tuple[str, Slot], ...]) -> Plan:
    if table is None or not getattr(table, "name", ""):
        return OTHER
    return Plan(kind, table.name.lower(), (table.db or None) and table.db.lower(), columns)
