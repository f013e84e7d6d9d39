"""A small pre-parser for the data-moving statements sqlglot 30 does not parse.

Tried only when sqlglot fails on a statement or falls back to a bare
``Command``, so the common path pays nothing. Each form is one anchored
regular expression over the statement text; a form it does not match stays
sqlglot's error. Table names and queries found inside are parsed by sqlglot in
the statement's dialect.

- Hive ``EXPORT TABLE t [PARTITION (k=v, ...)] TO 'path'``
- Hive ``IMPORT [[EXTERNAL] TABLE t [PARTITION (k=v, ...)]] FROM 'path' [LOCATION 'p']``
- Redshift ``UNLOAD ('query') TO 'path' ...`` (quotes doubled inside the query)
- Spark ``INSERT OVERWRITE [LOCAL] DIRECTORY ['path'] USING fmt [OPTIONS (...)] query``
  (``path`` may be given as the ``path`` option)
- MySQL ``LOAD DATA [LOW_PRIORITY|CONCURRENT] [LOCAL] INFILE 'file' [REPLACE|IGNORE]
  INTO TABLE t [PARTITION (...)] ... [(col, ...)] [SET ...]``

>>> t = preparse("EXPORT TABLE db.t PARTITION (ds='1') TO '/tmp/x'", "hive")
>>> t.kind, t.location, t.table.sql(), t.partition, t.into_table
('export', '/tmp/x', 'db.t', ['ds'], False)
>>> preparse("UNLOAD ('select a from t where b = ''x''') TO 's3://b/p/' IAM_ROLE 'r'",
...          "redshift").query.sql()
"SELECT a FROM t WHERE b = 'x'"
"""

from __future__ import annotations

import re
from collections.abc import Callable

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

from analyzers.sql.transfers import Transfer

_STR = r"'((?:[^'\\]|\\.|'')*)'"
_NAME = r"((?:`[^`]+`|[\w$]+)(?:\.(?:`[^`]+`|[\w$]+)){0,2})"
_PART = r"(?:PARTITION\s*\(([^)]*)\))?"
_FLAGS = re.IGNORECASE | re.DOTALL
DialectLike = str | Dialect

_EXPORT = re.compile(rf"\s*EXPORT\s+TABLE\s+{_NAME}\s*{_PART}\s*TO\s+{_STR}", _FLAGS)
_IMPORT = re.compile(
    rf"\s*IMPORT\s+(?:(?:EXTERNAL\s+)?TABLE\s+{_NAME}\s*{_PART}\s*)?FROM\s+{_STR}", _FLAGS
)
_UNLOAD = re.compile(rf"\s*UNLOAD\s*\(\s*{_STR}\s*\)\s*TO\s+{_STR}", _FLAGS)
_DIRECTORY = re.compile(
    rf"\s*INSERT\s+OVERWRITE\s+(?:LOCAL\s+)?DIRECTORY\s+(?:{_STR}\s+)?USING\s+\w+\s*"
    r"(?:OPTIONS\s*\(((?:[^()']|'(?:[^'\\]|\\.)*')*)\)\s*)?(.*)",
    _FLAGS,
)
_PATH_OPTION = re.compile(rf"(?:^|,)\s*'?path'?\s*=?\s*{_STR}", _FLAGS)
_INFILE = re.compile(
    rf"\s*LOAD\s+DATA\s+(?:(?:LOW_PRIORITY|CONCURRENT)\s+)?(?:LOCAL\s+)?INFILE\s+{_STR}\s*"
    rf"(?:(?:REPLACE|IGNORE)\s+)?INTO\s+TABLE\s+{_NAME}(.*)",
    _FLAGS,
)
# The column list of LOAD DATA INFILE: the last parenthesised list before SET (if any).
_COLUMN_LIST = re.compile(r"\(([^()]*)\)\s*(?:SET\b.*)?\Z", _FLAGS)


def _unquote(s: str) -> str:
    return s.replace("''", "'")


def _table(name: str, dialect: DialectLike) -> exp.Table:
    return exp.to_table(name, dialect=dialect)


def _partition(spec: str | None) -> list[str]:
    if not spec:
        return []
    return [p.split("=", 1)[0].strip().strip("`").lower() for p in spec.split(",") if p.strip()]


def _export(m: re.Match[str], dialect: DialectLike) -> Transfer:
    return Transfer(
        "export", _unquote(m.group(3)), _table(m.group(1), dialect), into_table=False,
        partition=_partition(m.group(2)),
    )  # fmt: skip


def _import(m: re.Match[str], dialect: DialectLike) -> Transfer:
    table = _table(m.group(1), dialect) if m.group(1) else None
    return Transfer("import", _unquote(m.group(3)), table, partition=_partition(m.group(2)))


def _unload(m: re.Match[str], dialect: DialectLike) -> Transfer:
    query = sqlglot.parse_one(_unquote(m.group(1)), read=dialect)
    return Transfer("unload", _unquote(m.group(2)), into_table=False, query=query)


def _directory(m: re.Match[str], dialect: DialectLike) -> Transfer | None:
    path = m.group(1)
    if path is None and m.group(2):
        option = _PATH_OPTION.search(m.group(2))
        path = option.group(1) if option else None
    query = sqlglot.parse_one(m.group(3), read=dialect)
    if not isinstance(query, exp.Query):
        return None
    location = _unquote(path) if path is not None else None
    return Transfer("insert_directory", location, into_table=False, query=query)


def _infile(m: re.Match[str], dialect: DialectLike) -> Transfer:
    columns: list[str] = []
    cols = _COLUMN_LIST.search(m.group(3))
    if cols is not None:
        columns = [c.strip().strip("`").lower() for c in cols.group(1).split(",") if c.strip()]
        columns = [c for c in columns if not c.startswith("@")]  # user variables
    return Transfer("load_data", _unquote(m.group(1)), _table(m.group(2), dialect), columns=columns)


_Build = Callable[[re.Match[str], DialectLike], Transfer | None]
_FORMS: tuple[tuple[re.Pattern[str], _Build], ...] = (
    (_EXPORT, _export),
    (_IMPORT, _import),
    (_UNLOAD, _unload),
    (_DIRECTORY, _directory),
    (_INFILE, _infile),
)


def preparse(sql: str, dialect: DialectLike) -> Transfer | None:
    """The :class:`Transfer` of a statement in one of the forms above, else None."""
    head = sql.lstrip()[:6].upper()
    if head not in ("EXPORT", "IMPORT", "UNLOAD", "INSERT", "LOAD D", "LOAD\tD"):
        return None
    for pattern, build in _FORMS:
        m = pattern.match(sql)
        if m is not None:
            return build(m, dialect)
    return None
