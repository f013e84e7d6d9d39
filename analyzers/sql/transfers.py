"""Statements that move data between tables and locations (files, object stores, stages).

A location is a dataset of its own (:mod:`analyzers.sql.locations`). Column
level when the table's columns are known (a column list, ``--schema``, an
earlier ``CREATE`` of the script) or a query names them: a file's fields take
the table's column names, each ``DIRECT IDENTITY``. Reading one partition
(``EXPORT TABLE t PARTITION (ds='x')``) adds the partition columns as
``INDIRECT FILTER``, per field and per dataset.

What reads what (the table lists every dialect in docs/SQL.md):

- files into a table: Hive ``LOAD DATA [LOCAL] INPATH p INTO TABLE t``, MySQL
  ``LOAD DATA [LOCAL] INFILE``, BigQuery ``LOAD DATA INTO t FROM FILES(uris=[...])``,
  Hive ``IMPORT TABLE t FROM p``, ``COPY INTO t FROM p`` (Snowflake, Databricks),
  ``COPY t FROM p`` (Redshift, Postgres, DuckDB);
- a table or query out to files: Hive ``EXPORT TABLE t [PARTITION (...)] TO p``,
  ``INSERT OVERWRITE [LOCAL] DIRECTORY p query``, Snowflake ``COPY INTO p FROM t``,
  ``COPY t|(query) TO p`` (Postgres, DuckDB), Redshift ``UNLOAD ('query') TO p``,
  BigQuery ``EXPORT DATA OPTIONS(uri=p) AS query``.

The forms sqlglot does not parse are read by :mod:`analyzers.sql.preparse`
into a :class:`Transfer`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlglot import exp

from analyzers.sql.kinds import FILTER, IDENTITY
from analyzers.sql.lineage import Entry
from analyzers.sql.locations import location_uri
from analyzers.sql.naming import location_key, table_key_of
from analyzers.sql.outcome import Outcome, ScriptState, finish, target, unwrap, walker, write


@dataclass(slots=True)
class Transfer:
    """A statement the pre-parser read: a table or query to a location, or back."""

    kind: str
    location: str | None  #: as written; None when the statement names none (STDIN)
    table: exp.Table | None = None
    into_table: bool = True  #: location -> table (else table/query -> location)
    columns: list[str] = field(default_factory=list)  #: an explicit column list
    partition: list[str] = field(default_factory=list)  #: partition spec columns
    query: exp.Expr | None = None


def analyze_transfer(t: Transfer, state: ScriptState, deadline: float | None) -> Outcome:
    """The lineage of a pre-parsed :class:`Transfer`."""
    loc = location_key(location_uri(t.location)) if t.location else None
    key = table_key_of(t.table, state.default_schema) if t.table is not None else None
    if t.query is not None:
        return _query_to(t.kind, t.query, loc, state, deadline)
    if t.into_table:
        return _location_to_table(t.kind, [loc] if loc else [], key, t.columns, t.partition, state)
    return _table_to_location(t.kind, key, loc, t.partition, state)


def _names(key: str | None, columns: list[str], skip: list[str], state: ScriptState) -> list[str]:
    if columns:
        return columns
    known = state.schema.get(key) if key is not None else None
    return [c for c in known if c not in skip] if known else []


def _location_to_table(
    kind: str,
    locs: list[str],
    key: str | None,
    columns: list[str],
    partition: list[str],
    state: ScriptState,
    *,
    columns_known: bool = True,
) -> Outcome:
    """Files into a table: each known column of the table from the same field of each file."""
    out = Outcome(kind=kind, inputs=set(locs), literal_dependent=True)
    if key is None:
        return out
    out.outputs = [key]
    for name in _names(key, columns, partition, state) if columns_known else ():
        out.columns.append((key, name, {(loc, name, IDENTITY, False) for loc in locs}))
    return out


def _table_to_location(
    kind: str, key: str | None, loc: str | None, partition: list[str], state: ScriptState
) -> Outcome:
    """A table (or some of its partitions) written out to files."""
    out = Outcome(kind=kind, literal_dependent=True)
    if key is not None:
        out.inputs.add(key)
    if loc is None:
        return out
    out.outputs = [loc]
    if key is None:
        return out
    filters: set[Entry] = {(key, p, FILTER, False) for p in partition}
    for name in _names(key, [], [], state):
        out.columns.append((loc, name, {(key, name, IDENTITY, False)} | filters))
    if filters:
        out.dataset[loc] = filters
        out.shared = filters
    return out


def _query_to(
    kind: str, query: exp.Expr, loc: str | None, state: ScriptState, deadline: float | None
) -> Outcome:
    """A query's result written out to files: the files' fields are its output columns."""
    out = Outcome(kind=kind, outputs=[loc] if loc else [], literal_dependent=True)
    q = walker(state, deadline)
    rel = q.run(unwrap(query))
    write(out, loc, rel.names if loc else [], rel, state)
    return finish(out, q)


def _literal(node: object) -> str | None:
    return node.name if isinstance(node, exp.Literal) and node.is_string else None


def _partition_columns(node: object) -> list[str]:
    if not isinstance(node, exp.Expr):
        return []
    out = []
    for e in node.expressions:
        col = e.this if isinstance(e, (exp.EQ, exp.PropertyEQ)) else e
        if isinstance(col, exp.Expr) and col.name:
            out.append(col.name.lower())
    return out


def insert_directory(stmt: exp.Expr, state: ScriptState, deadline: float | None) -> Outcome:
    """``INSERT OVERWRITE [LOCAL] DIRECTORY 'path' [ROW FORMAT ...] query``."""
    directory = stmt.this
    path = _literal(directory.this) if isinstance(directory, exp.Expr) else None
    return _query_to(
        "insert_directory",
        stmt.expression,
        location_key(location_uri(path)) if path else None,
        state,
        deadline,
    )


def _load_data(stmt: exp.Expr, state: ScriptState, deadline: float | None) -> Outcome:
    """Hive ``LOAD DATA [LOCAL] INPATH`` and BigQuery ``LOAD DATA INTO t FROM FILES(...)``."""
    table, cols = target(stmt.this)
    key = table_key_of(table, state.default_schema)
    paths: list[str] = []
    inpath = _literal(stmt.args.get("inpath"))
    if inpath is not None:
        paths.append(inpath)
    files = stmt.args.get("files")
    if isinstance(files, exp.Expr):
        for prop in files.find_all(exp.Property):
            if prop.name.lower() == "uris" and isinstance(prop.args.get("value"), exp.Expr):
                paths += [p for p in map(_literal, prop.args["value"].expressions) if p]
    locs = [location_key(location_uri(p)) for p in paths]
    part = _partition_columns(stmt.args.get("partition"))
    return _location_to_table("load_data", locs, key, cols or [], part, state)


def _location_of(node: object) -> str | None:
    """A COPY operand that is a location: a string, or a ``@stage/path`` (named in the
    statement's namespace, the stage being an object of the database)."""
    if isinstance(node, exp.Table) and not isinstance(node.this, exp.Identifier):
        node = node.this
    text = _literal(node)
    if text is not None:
        return location_key(location_uri(text))
    if isinstance(node, exp.Var) and node.name.startswith("@"):
        return node.name.rstrip("/")
    return None


def _copy(stmt: exp.Expr, state: ScriptState, deadline: float | None) -> Outcome:
    """``COPY`` in its dialects: into a table from files, or from a table/query to files."""
    this = stmt.this
    files = list(stmt.args.get("files") or [])
    this_loc = _location_of(this)
    if this_loc is not None:  # Snowflake COPY INTO <location> FROM <table or query>
        source = files[0] if files else None
        return _copy_out(source, this_loc, state, deadline)
    if not stmt.args.get("kind"):  # Postgres/DuckDB COPY <table or query> TO <file>
        outs = [x for x in map(_location_of, files) if x]
        return _copy_out(this, outs[0] if outs else None, state, deadline)
    table, cols = target(this)
    key = table_key_of(table, state.default_schema)
    locs: list[str] = []
    transforming = False  # Snowflake COPY INTO t FROM (SELECT $1, ... FROM @stage)
    for f in files:
        loc = _location_of(f)
        if loc is not None:
            locs.append(loc)
        elif isinstance(f, exp.Query | exp.Subquery):
            transforming = True
            locs += [x for x in map(_location_of, f.find_all(exp.Table)) if x]
    if transforming:  # which file field feeds which column is in the `$n` of the query
        return _location_to_table("copy", locs, key, [], [], state, columns_known=False)
    return _location_to_table("copy", locs, key, cols or [], [], state)


def _copy_out(
    source: object, loc: str | None, state: ScriptState, deadline: float | None
) -> Outcome:
    if isinstance(source, exp.Table) and source.name:
        key = table_key_of(source, state.default_schema)
        return _table_to_location("copy", key, loc, [], state)
    if isinstance(source, exp.Expr):
        query = unwrap(source)
        if isinstance(query, exp.Query):
            return _query_to("copy", query, loc, state, deadline)
    return Outcome(kind="copy", outputs=[loc] if loc else [], literal_dependent=True)


def _export(stmt: exp.Expr, state: ScriptState, deadline: float | None) -> Outcome:
    """BigQuery ``EXPORT DATA OPTIONS(uri='gs://...') AS query``."""
    uri = None
    options = stmt.args.get("options")
    if isinstance(options, exp.Expr):
        for prop in options.find_all(exp.Property):
            if prop.name.lower() == "uri":
                uri = _literal(prop.args.get("value"))
    loc = location_key(location_uri(uri)) if uri else None
    return _query_to("export", stmt.this, loc, state, deadline)


_Handler = Callable[[exp.Expr, ScriptState, "float | None"], Outcome]
TRANSFER_HANDLERS: dict[type, _Handler] = {
    exp.LoadData: _load_data,
    exp.Copy: _copy,
    exp.Export: _export,
}
