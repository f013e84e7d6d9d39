"""A query log as entries: one logged statement each, with its line number.

Two forms, told apart by the first non-blank character of the text:

- JSON lines (``{``): one object per line (lines end at ``\\n``, as JSON Lines
  says: a U+2028 inside a query does not end one), ``{"query": ..., "engine":
  ..., "default_schema": ..., "namespace": ...}``; only ``query`` is required,
  the others default to the command's options. A line that is not such an
  object is an entry with an ``error`` (and no query), never a crash.
- plain SQL: statements separated by ``;`` at the end of a line (a ``;`` then
  a newline); a statement may span lines. A ``;`` followed by a newline inside
  a string literal would split it: logs hold one statement per line.

Logs repeat lines verbatim: each distinct JSON line is decoded once, and its
repeats yield the same :class:`LogEntry` (equal entries are the same logged
statement in the same context, whatever their line).

>>> [(n, e.query) for n, e in log_entries("SELECT a FROM t;\\n\\nSELECT b\\nFROM u;\\n")]
[(1, 'SELECT a FROM t'), (3, 'SELECT b\\nFROM u')]
>>> e = list(log_entries('{"query": "SELECT 1", "engine": "trino"}\\n[1]\\n'))
>>> (e[0][1].query, e[0][1].engine), (e[1][0], e[1][1].error)
(('SELECT 1', 'trino'), (2, 'not a JSON object with a string "query"'))
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, NamedTuple

import orjson

if TYPE_CHECKING:
    from mmap import mmap

_SEPARATOR = re.compile(r";[ \t]*\r?\n")


class LogEntry(NamedTuple):
    """One logged statement (or the reason its line cannot be read). A tuple: hashed in C
    (a log's 20,000 entries are looked up twice each)."""

    query: str = ""
    engine: str | None = None
    namespace: str | None = None
    default_schema: str | None = None
    error: str | None = None


def log_entries(log: str | bytes | mmap) -> Iterator[tuple[int, LogEntry]]:
    """(line number, entry) of each entry of a query log, in order (see the module
    docstring).

    ``log`` is the text, or its UTF-8 bytes as a file holds them (bytes or an mmap),
    read as a text-mode read would: each ``\\r\\n`` and ``\\r`` is a newline, and
    :class:`UnicodeDecodeError` when it is not UTF-8. A JSON-lines buffer is read
    without decoding it whole: only its distinct lines are (each is checked).
    """
    if isinstance(log, str):
        text = log
    else:
        if _JSON_START.match(log) and log.find(b"\r") < 0:
            return _json_lines(_buffer_lines(log))
        text = str(log, "utf-8")
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.lstrip()[:1] == "{":
        return _json_lines(text.split("\n"))
    return _plain(text)


# JSON lines: "{" after ASCII white space only (a text's other white space, e.g. U+00A0,
# is left to the text path, which strips it as `str.lstrip` does).
_JSON_START = re.compile(rb"[ \t\n\x0b\x0c]*\{")


def _plain(text: str) -> Iterator[tuple[int, LogEntry]]:
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
            yield line + chunk.count("\n", 0, lead), LogEntry(query)
        if m is None:
            break
        line += text.count("\n", pos, m.end())
        pos = m.end()


_FIELDS = ("engine", "namespace", "default_schema")
_SEEN_CAP = 100_000


def _json_lines(lines: Iterable[str | bytes]) -> Iterator[tuple[int, LogEntry]]:
    """The entries of JSON lines given as text or as UTF-8 bytes."""
    seen: dict[str | bytes, LogEntry | None] = {}  # None: a blank line
    for number, raw in enumerate(lines, 1):
        entry = seen.get(raw)
        if entry is None:
            if raw in seen:
                continue
            # as a text-mode read: not UTF-8 is an error
            text = raw if isinstance(raw, str) else raw.decode("utf-8")
            entry = _decode(text) if text.strip() else None
            if len(seen) < _SEEN_CAP:
                seen[raw] = entry
            if entry is None:
                continue
        yield number, entry


def _buffer_lines(log: bytes | mmap) -> Iterator[bytes]:
    """The lines of a buffer, each copied: a copy and a bytes key's lookup cost a fifth
    of looking a memoryview slice up (compared with the keys item by item)."""
    find = log.find
    size = len(log)
    pos = 0
    while pos < size:
        end = find(b"\n", pos)
        if end < 0:
            end = size
        yield log[pos:end]
        pos = end + 1


def _decode(raw: str) -> LogEntry:
    """The entry of one JSON line."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        obj = None
    if not isinstance(obj, dict) or not isinstance(obj.get("query"), str):
        return LogEntry(error='not a JSON object with a string "query"')
    extra = [obj.get(k) for k in _FIELDS]
    if not all(v is None or isinstance(v, str) for v in extra):
        return LogEntry(error=f"{', '.join(_FIELDS)} must be strings")
    return LogEntry(obj["query"], *extra)
