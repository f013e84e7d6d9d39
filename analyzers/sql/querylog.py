"""A query log as entries: one logged statement each, with its line number.

Two forms, told apart by the first non-blank character of the text:

- JSON lines (``{``): one object per line, ``{"query": ..., "engine": ...,
  "default_schema": ..., "namespace": ...}``; only ``query`` is required, the
  others default to the command's options. A line that is not such an object
  is an entry with an ``error`` (and no query), never a crash.
- plain SQL: statements separated by ``;`` at the end of a line (a ``;`` then
  a newline); a statement may span lines. A ``;`` followed by a newline inside
  a string literal would split it: logs hold one statement per line.

>>> [(e.line, e.query) for e in log_entries("SELECT a FROM t;\\n\\nSELECT b\\nFROM u;\\n")]
[(1, 'SELECT a FROM t'), (3, 'SELECT b\\nFROM u')]
>>> e = log_entries('{"query": "SELECT 1", "engine": "trino"}\\n[1]\\n')
>>> (e[0].query, e[0].engine), (e[1].line, e[1].error)
(('SELECT 1', 'trino'), (2, 'not a JSON object with a string "query"'))
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson

_SEPARATOR = re.compile(r";[ \t]*\r?\n")


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One logged statement (or the reason its line cannot be read)."""

    line: int
    query: str = ""
    engine: str | None = None
    namespace: str | None = None
    default_schema: str | None = None
    error: str | None = None


def log_entries(text: str) -> list[LogEntry]:
    """The entries of a query log, in order (see the module docstring)."""
    if text.lstrip()[:1] == "{":
        return _json_lines(text)
    return _plain(text)


def _plain(text: str) -> list[LogEntry]:
    entries = []
    line = 1
    pos = 0
    for m in [*_SEPARATOR.finditer(text), None]:
        end = m.start() if m is not None else len(text)
        chunk = text[pos:end]
        query = chunk.strip()
        if query.endswith(";"):
            query = query[:-1].rstrip()
        if query:
            lead = len(chunk) - len(chunk.lstrip())
            entries.append(LogEntry(line + chunk.count("\n", 0, lead), query))
        if m is None:
            break
        line += text.count("\n", pos, m.end())
        pos = m.end()
    return entries


_FIELDS = ("engine", "namespace", "default_schema")


def _json_lines(text: str) -> list[LogEntry]:
    entries = []
    # Logs repeat lines verbatim: each distinct line is decoded once.
    seen: dict[str, tuple[str | None, ...]] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        fields = seen.get(raw)
        if fields is None:
            if not raw.strip():
                continue
            fields = _decode(raw)
            if len(seen) < _SEEN_CAP:
                seen[raw] = fields
        query, error = fields[0], fields[-1]
        if error is not None or query is None:
            entries.append(LogEntry(number, error=error))
        else:
            entries.append(LogEntry(number, query, fields[1], fields[2], fields[3]))
    return entries


_SEEN_CAP = 100_000


def _decode(raw: str) -> tuple[str | None, ...]:
    """(query, engine, namespace, default_schema, error) of one JSON line."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        obj = None
    if not isinstance(obj, dict) or not isinstance(obj.get("query"), str):
        return (None, None, None, None, 'not a JSON object with a string "query"')
    extra = [obj.get(k) for k in _FIELDS]
    if not all(v is None or isinstance(v, str) for v in extra):
        return (None, None, None, None, f"{', '.join(_FIELDS)} must be strings")
    return (obj["query"], *extra, None)
