"""Per statement kind: which query feeds which target columns, and temp views.

Each handler returns a :class:`Outcome` (table keys, no namespace yet); a temp
view or table is recorded in :class:`ScriptState` and resolved by the
statements that read it, never reported as an input or output.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from analyzers.sql.errors import UnsupportedStatement
from analyzers.sql.kinds import CONDITIONAL, DIRECT_RANK
from analyzers.sql.lineage import Entry, Relation
from analyzers.sql.naming import table_key_of
from analyzers.sql.outcome import Outcome, ScriptState, finish, target, unwrap, walker, write
from analyzers.sql.transfers import TRANSFER_HANDLERS, insert_directory


def analyze_statement(stmt: exp.Expr, state: ScriptState, deadline: float | None) -> Outcome:
    """The lineage of one parsed statement; updates ``state`` for temps and ``USE``."""
    handler = _HANDLERS.get(type(stmt))
    if handler is None:
        if isinstance(stmt, exp.Query):
            return _select(stmt, state, deadline)
        if not isinstance(stmt, _OTHER_STATEMENTS):
            raise UnsupportedStatement(f"not a SQL statement ({type(stmt).__name__})")
        return Outcome(kind=type(stmt).__name__.lower())
    return handler(stmt, state, deadline)


def _select(stmt: exp.Expr, state: ScriptState, deadline: float | None) -> Outcome:
    q = walker(state, deadline)
    rel = q.run(unwrap(stmt))
    out = Outcome(kind="select")
    write(out, None, rel.names, rel, state)
    return finish(out, q)


def _move_with(stmt: exp.Expr, query: exp.Expr) -> None:
    """``WITH c AS (...) INSERT INTO t SELECT ... FROM c``: hang the CTEs on the query."""
    with_ = stmt.args.get("with_")
    if isinstance(with_, exp.With) and isinstance(query, exp.Query) and not query.args.get("with_"):
        stmt.set("with_", None)
        query.set("with_", with_)


def _insert(stmt: exp.Expr, state: ScriptState, deadline: float | None) -> Outcome:
    if isinstance(stmt.this, exp.Directory):
        return insert_directory(stmt, state, deadline)
    table, cols = target(stmt.this)
    key = table_key_of(table, state.default_schema)
    static: list[str] = []
    dynamic: list[str] = []
    part = table.args.get("partition") or stmt.args.get("partition")
    if isinstance(part, exp.Expr):
        for e in part.expressions:
            if isinstance(e, (exp.EQ, exp.PropertyEQ)):
                static.append(e.this.name.lower())
            else:
                dynamic.append(e.name.lower())
    query = unwrap(stmt.expression)
    out = Outcome(kind="insert")
    temp = state.temps.get(key)
    if temp is None:
        out.outputs = [key]
    if not isinstance(query, exp.Query):
        q = walker(state, deadline)
        if isinstance(query, exp.Expr):
            for sub in query.find_all(exp.Query):
                if not isinstance(sub.parent, exp.Query):
                    q.run(sub)
        return finish(out, q)
    _move_with(stmt, query)
    q = walker(state, deadline)
    rel = q.run(query)
    if cols:
        targets = cols
    elif temp is not None and temp.complete:
        targets = list(temp.names)
    elif key in state.schema:  # by position, as engines map an INSERT without a column list
        targets = [c for c in state.schema[key] if c not in static]
    else:
        targets = list(rel.names)
        if dynamic and len(targets) >= len(dynamic):
            targets[len(targets) - len(dynamic) :] = dynamic
    if temp is not None:
        pairs = [(t, rel.entries(i)) for i, t in enumerate(targets[: len(rel.names)])]
        _merge_into_temp(temp, pairs, q.inputs)
    else:
        write(out, key, targets, rel, state)
    return finish(out, q)


def _multi_insert(stmt: exp.Expr, state: ScriptState, deadline: float | None) -> Outcome:
    """Hive/Spark ``FROM src INSERT ... SELECT ... INSERT ... SELECT ...``: one statement,
    each INSERT's SELECT reading the shared FROM clause."""
    source = stmt.args.get("source")
    out = Outcome(kind="multi_insert")
    for insert in stmt.expressions:
        if not isinstance(insert, exp.Insert):
            continue
        query = unwrap(insert.expression)
        if isinstance(query, exp.Select) and not query.args.get("from_") and source is not None:
            query.from_(source.copy(), copy=False)
        one = analyze_statement(insert, state, deadline)
        out.inputs |= one.inputs
        out.outputs += [o for o in one.outputs if o not in out.outputs]
        out.columns += one.columns
        out.unresolved |= one.unresolved
        out.stars |= one.stars
        out.literal_dependent |= one.literal_dependent
        for key, entries in one.dataset.items():
            out.dataset.setdefault(key, set()).update(entries)
    return out


def _merge_into_temp(temp: Relation, pairs: list[tuple[str, set[Entry]]], inputs: set[str]) -> None:
    for name, entries in pairs:
        pos = temp.position(name)
        if pos is None:
            temp.names.append(name)
            temp.by_pos.append(set(entries))
            temp._index = None
        else:
            temp.by_pos[pos] |= entries
    temp.inputs = temp.inputs | frozenset(inputs)


def _is_temporary(stmt: exp.Expr) -> bool:
    props = stmt.args.get("properties")
    if isinstance(props, exp.Properties):
        return any(isinstance(p, exp.TemporaryProperty) for p in props.expressions)
    return False


def _create(stmt: exp.Expr, state: ScriptState, deadline: float | None) -> Outcome:
    table, cols = target(stmt.this)
    key = table_key_of(table, state.default_schema)
    what = str(stmt.args.get("kind") or "table").lower()
    temp = _is_temporary(stmt) or isinstance(stmt, exp.Cache)
    if what not in ("table", "view"):
        return Outcome(kind=f"create_{what}")
    kind = f"create_temp_{what}" if temp else f"create_{what}"
    query = unwrap(stmt.expression) if stmt.expression is not None else None
    out = Outcome(kind=kind)
    if not isinstance(query, exp.Query):
        if temp:
            names = cols or []
            state.temps[key] = Relation(names=list(names), by_pos=[set() for _ in names])
        else:
            out.outputs = [key]
            if what == "table" and cols:
                state.learn(key, cols)
        return out
    _move_with(stmt, query)
    q = walker(state, deadline)
    rel = q.run(query)
    names = cols[: len(rel.names)] if cols else list(rel.names)
    if temp:
        state.temps[key] = Relation(
            names=list(names),
            by_pos=[set(rel.by_pos[i]) for i in range(len(names))],
            indirect=set(rel.indirect),
            star_tables=rel.star_tables,
            inputs=frozenset(q.inputs),
        )
    else:
        out.outputs = [key]
        write(out, key, names, rel, state)
        if what == "table" and rel.complete:
            state.learn(key, names)
    return finish(out, q)


def _direct_reads(columns: list[tuple[str | None, str, set[Entry]]], key: str) -> bool:
    return any(t == key and k in DIRECT_RANK for _, _, es in columns for t, _, k, _ in es)


def _update(stmt: exp.Expr, state: ScriptState, deadline: float | None) -> Outcome:
    table, _ = target(stmt.this)
    key = table_key_of(table, state.default_schema)
    joins = list(table.args.get("joins") or [])
    table.set("joins", None)
    names: list[str] = []
    projections: list[exp.Expr] = []
    for i, eq in enumerate(stmt.expressions):
        if isinstance(eq, exp.EQ) and isinstance(eq.this, exp.Column):
            names.append(eq.this.name.lower())
            projections.append(exp.alias_(eq.expression, f"_c{i}"))
    select = exp.Select(expressions=projections).from_(table, copy=False)
    from_ = stmt.args.get("from_")
    extra: list[exp.Expr] = []
    if isinstance(from_, exp.From):
        extra.append(exp.Join(this=from_.this))
    extra += joins + list(stmt.args.get("joins") or [])
    if extra:
        select.set("joins", extra)
    where = stmt.args.get("where")
    if where is not None:
        select.set("where", where)
    q = walker(state, deadline)
    rel = q.run(select)
    out = Outcome(kind="update", outputs=[key])
    write(out, key, names, rel, state)
    finish(out, q)
    if not _direct_reads(out.columns, key):
        out.inputs.discard(key)
    return out


def _merge(stmt: exp.Expr, state: ScriptState, deadline: float | None) -> Outcome:
    table, _ = target(stmt.this)
    key = table_key_of(table, state.default_schema)
    using = stmt.args.get("using")
    if not isinstance(using, exp.Expr):
        raise UnsupportedStatement("MERGE without USING")
    using_alias = using.alias_or_name
    names: list[str] = []
    conds: list[int | None] = []
    projections: list[exp.Expr] = []
    conditions: list[exp.Expr] = []
    star_conds: list[int | None] = []
    whens = stmt.args.get("whens")
    for when in whens.expressions if isinstance(whens, exp.Whens) else ():
        cond = when.args.get("condition")
        ci: int | None = None
        if isinstance(cond, exp.Expr):
            ci = len(conditions)
            conditions.append(cond)
        then = when.args.get("then")
        pairs: list[tuple[str, exp.Expr]] = []
        if isinstance(then, exp.Update):
            for eq in then.expressions:
                if isinstance(eq, exp.Star):
                    star_conds.append(ci)
                elif isinstance(eq, exp.EQ) and isinstance(eq.this, exp.Column):
                    pairs.append((eq.this.name.lower(), eq.expression))
        elif isinstance(then, exp.Insert):
            if isinstance(then.this, exp.Star):
                star_conds.append(ci)
            elif isinstance(then.this, exp.Tuple) and isinstance(then.expression, exp.Tuple):
                pairs = [
                    (c.name.lower(), v)
                    for c, v in zip(
                        then.this.expressions, then.expression.expressions, strict=False
                    )
                ]
        for name, value in pairs:
            names.append(name)
            conds.append(ci)
            projections.append(exp.alias_(value, f"_c{len(projections)}"))
    n_fixed = len(projections)
    for j, cond in enumerate(conditions):
        projections.append(exp.alias_(cond, f"_w{j}"))
    if star_conds:
        projections.append(exp.Column(this=exp.Star(), table=exp.to_identifier(using_alias)))
    select = exp.Select(expressions=projections).from_(table, copy=False)
    select.set("joins", [exp.Join(this=using, on=stmt.args.get("on"))])
    q = walker(state, deadline)
    rel = q.run(select)
    cond_entries = [
        {(t, c, CONDITIONAL, False) for t, c, _, _ in rel.by_pos[n_fixed + j]}
        for j in range(len(conditions))
    ]
    merged: dict[str, set[Entry]] = {}

    def add(name: str, i: int, ci_list: list[int | None]) -> None:
        entries = merged.setdefault(name, set())
        entries |= rel.entries(i)
        for ci in ci_list:
            if ci is not None:
                entries |= cond_entries[ci]

    for i, name in enumerate(names):
        add(name, i, [conds[i]])
    for i in range(n_fixed + len(conditions), len(rel.names)):
        add(rel.names[i], i, star_conds)
    out = Outcome(kind="merge", outputs=[key])
    out.columns = [(key, n, e) for n, e in merged.items()]
    finish(out, q)
    if not _direct_reads(out.columns, key):
        out.inputs.discard(key)
    return out


def _delete(stmt: exp.Expr, state: ScriptState, deadline: float | None) -> Outcome:
    table, _ = target(stmt.this)
    key = table_key_of(table, state.default_schema)
    select = exp.Select(expressions=[exp.Star()]).from_(table, copy=False)
    using = stmt.args.get("using")
    if isinstance(using, exp.Expr):
        select.set("joins", [exp.Join(this=using)])
    where = stmt.args.get("where")
    if where is not None:
        select.set("where", where)
    q = walker(state, deadline)
    q.run(select)
    out = Outcome(kind="delete", outputs=[key])
    finish(out, q)
    out.inputs.discard(key)
    out.unresolved.clear()
    return out


def _use(stmt: exp.Expr, state: ScriptState, deadline: float | None) -> Outcome:
    target = stmt.this
    if isinstance(target, exp.Expr) and target.name:
        state.default_schema = target.name.lower()
    return Outcome(kind="use")


def _drop(stmt: exp.Expr, state: ScriptState, deadline: float | None) -> Outcome:
    target = stmt.this
    if isinstance(target, exp.Table) and target.name:
        state.temps.pop(table_key_of(target, state.default_schema), None)
    return Outcome(kind="drop")


_OTHER_STATEMENTS: tuple[type, ...] = tuple(
    getattr(exp, name)
    for name in (
        "DDL",
        "DML",
        "Command",
        "Set",
        "Transaction",
        "Commit",
        "Rollback",
        "Describe",
        "Show",
        "Pragma",
        "Analyze",
        "Grant",
        "Uncache",
        "Refresh",
        "TruncateTable",
        "Comment",
        "LoadData",
        "Declare",
        "Execute",
        "Kill",
        "Summarize",
        "Alter",
    )
    if hasattr(exp, name)
)

_Handler = Callable[[exp.Expr, ScriptState, "float | None"], Outcome]
_HANDLERS: dict[type, _Handler] = {
    exp.Insert: _insert,
    exp.MultitableInserts: _multi_insert,
    exp.Create: _create,
    exp.Cache: _create,
    exp.Update: _update,
    exp.Merge: _merge,
    exp.Delete: _delete,
    exp.Use: _use,
    exp.Drop: _drop,
    **TRANSFER_HANDLERS,
}
